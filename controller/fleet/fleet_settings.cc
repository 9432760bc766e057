#include "controller/fleet/fleet_settings.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "shared/settings/local_conf_parser.h"
#include "shared/settings/settings_json.h"
#include "shared/settings/settings_validator.h"

namespace fleetbond::controller {
namespace {

bool IsLabelText(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == '/';
  });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTerms(
    absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> terms;
  for (absl::string_view term : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    term = absl::StripAsciiWhitespace(term);
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(term, absl::MaxSplits('=', 1));
    kv.first = absl::StripAsciiWhitespace(kv.first);
    kv.second = absl::StripAsciiWhitespace(kv.second);
    if (term.find('=') == absl::string_view::npos || !IsLabelText(kv.first) ||
        !IsLabelText(kv.second)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad label term \"", term,
                       "\": want key=value, each 1-63 characters of letters, digits, . _ - /"));
    }
    for (const auto& [k, v] : terms) {
      if (k == kv.first) {
        return absl::InvalidArgumentError(absl::StrCat("label \"", k, "\" given twice"));
      }
    }
    terms.emplace_back(std::string(kv.first), std::string(kv.second));
  }
  std::sort(terms.begin(), terms.end());
  return terms;
}

void PrefixIssues(std::vector<settings::Issue>& issues, const std::string& scope,
                  std::vector<settings::Issue>& out) {
  for (settings::Issue& issue : issues) {
    if (!scope.empty()) issue.path = absl::StrCat("scopes[", scope, "].", issue.path);
    out.push_back(std::move(issue));
  }
}

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::Parse(absl::string_view text) {
  LabelSelector selector;
  auto terms = ParseTerms(text);
  if (!terms.ok()) return terms.status();
  selector.terms_ = *std::move(terms);
  return selector;
}

bool LabelSelector::Matches(const Labels& labels) const {
  for (const auto& [k, v] : terms_) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string LabelSelector::ToString() const {
  return absl::StrJoin(terms_, ",", absl::PairFormatter("="));
}

absl::StatusOr<Labels> ParseLabels(absl::string_view text) {
  auto terms = ParseTerms(text);
  if (!terms.ok()) return terms.status();
  return Labels(terms->begin(), terms->end());
}

v1::Settings SettingsForNode(const std::map<std::string, v1::Settings>& scopes,
                             const Labels& labels) {
  v1::Settings merged;
  if (auto it = scopes.find(""); it != scopes.end()) merged = it->second;
  for (const auto& [scope, doc] : scopes) {
    if (scope.empty()) continue;
    absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(scope);
    if (!selector.ok() || !selector->Matches(labels)) continue;
    if (doc.has_default_bonding_policy()) {
      merged.set_default_bonding_policy(doc.default_bonding_policy());
    }
    for (const auto& [name, policy] : doc.policies()) (*merged.mutable_policies())[name] = policy;
    for (const auto& [peer, policy] : doc.peer_specific_bonds()) {
      (*merged.mutable_peer_specific_bonds())[peer] = policy;
    }
  }
  return merged;
}

std::vector<settings::Issue> ValidateDocuments(const std::map<std::string, v1::Settings>& scopes) {
  std::vector<settings::Issue> out;
  v1::Settings base;
  if (auto it = scopes.find(""); it != scopes.end()) base = it->second;
  std::vector<settings::Issue> issues = settings::ValidateSettings(base);
  PrefixIssues(issues, "", out);
  for (const auto& [scope, doc] : scopes) {
    if (scope.empty()) continue;
    absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(scope);
    if (!selector.ok()) {
      out.push_back(settings::Error(absl::StrCat("scopes[", scope, "]"),
                                    std::string(selector.status().message())));
      continue;
    }
    // The scope laid over the fleet-wide document, as a node it matches would see it; issues of
    // the fleet-wide document itself were reported above.
    std::map<std::string, v1::Settings> pair = {{"", base}, {scope, doc}};
    std::vector<settings::Issue> scoped =
        settings::ValidateSettings(SettingsForNode(pair, Labels(*ParseLabels(scope))));
    std::erase_if(scoped, [&](const settings::Issue& i) {
      return std::find(issues.begin(), issues.end(), i) != issues.end();
    });
    PrefixIssues(scoped, scope, out);
  }
  return out;
}

std::pair<v1::Settings, std::vector<settings::Issue>> ParseDocument(absl::string_view json) {
  settings::ParsedLocalConf parsed = settings::ParseLocalConf(json);
  if (!parsed.conf.overlay.is_null()) {
    parsed.issues.push_back(settings::Error(
        "overlay",
        "the controller assigns overlay addresses; remove \"overlay\" from the document"));
  }
  if (!parsed.conf.peers.is_null()) {
    parsed.issues.push_back(settings::Error(
        "peers", "the controller builds the peer directory; remove \"peers\" from the document"));
  }
  for (const std::string& name : parsed.conf.misplaced_policies) {
    parsed.issues.push_back(
        settings::Error(absl::StrCat("settings.", name),
                        absl::StrCat("policy \"", name, "\" belongs under settings.policies")));
  }
  return {std::move(parsed.conf.settings), std::move(parsed.issues)};
}

std::pair<v1::Policy, std::vector<settings::Issue>> ParsePolicy(absl::string_view name,
                                                                absl::string_view json) {
  nlohmann::json policy = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (policy.is_discarded() || !policy.is_object()) {
    // Let the parser produce its own line/column message for malformed text.
    settings::ParsedLocalConf parsed = settings::ParseLocalConf(json);
    std::vector<settings::Issue> issues = std::move(parsed.issues);
    if (issues.empty()) {
      issues.push_back(
          settings::Error(absl::StrCat("settings.policies.", name), "a policy is a JSON object"));
    }
    return {v1::Policy(), std::move(issues)};
  }
  nlohmann::json doc = {{"settings", {{"policies", {{std::string(name), policy}}}}}};
  settings::ParsedLocalConf parsed = settings::ParseLocalConf(doc.dump());
  v1::Policy out;
  if (auto it = parsed.conf.settings.policies().find(std::string(name));
      it != parsed.conf.settings.policies().end()) {
    out = it->second;
  }
  return {std::move(out), std::move(parsed.issues)};
}

std::string DocumentJson(const v1::Settings& settings) {
  return nlohmann::json{{"settings", settings::SettingsToJson(settings)}}.dump(2);
}

std::string IssuesMessage(const std::vector<settings::Issue>& issues) {
  std::vector<std::string> parts;
  for (const settings::Issue& issue : issues) {
    if (issue.severity != settings::Severity::kError) continue;
    parts.push_back(issue.path.empty() ? issue.message
                                       : absl::StrCat(issue.path, ": ", issue.message));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace fleetbond::controller
