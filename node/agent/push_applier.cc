#include "node/agent/push_applier.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "shared/settings/policy_resolver.h"
#include "shared/settings/settings_validator.h"

namespace fleetbond::agent {
namespace {

using google::protobuf::util::MessageDifferencer;
using settings::Error;
using settings::Issue;
using settings::Warning;

std::string PolicyPath(const std::string& name) { return absl::StrCat("settings.policies.", name); }

// IgnoredParameters lists what a local.conf policy writes besides links: the controller's
// same-named policy decides those.
std::vector<std::string> IgnoredParameters(const v1::Policy& p) {
  std::vector<std::string> out;
  if (p.has_base_policy()) out.push_back("basePolicy");
  if (p.has_failover_interval()) out.push_back("failoverInterval");
  if (p.has_up_delay()) out.push_back("upDelay");
  if (p.has_down_delay()) out.push_back("downDelay");
  if (p.has_link_select_method()) out.push_back("linkSelectMethod");
  if (p.has_packets_per_link()) out.push_back("packetsPerLink");
  if (p.has_link_quality()) out.push_back("linkQuality");
  return out;
}

// SortedPeers is the directory as a map id -> entry (the order of the proto does not matter).
std::map<std::string, v1::PeerEntry> ById(
    const google::protobuf::RepeatedPtrField<v1::PeerEntry>& peers) {
  std::map<std::string, v1::PeerEntry> out;
  for (const v1::PeerEntry& p : peers) out[p.id()] = p;
  return out;
}

bool SameDirectory(const google::protobuf::RepeatedPtrField<v1::PeerEntry>& a,
                   const google::protobuf::RepeatedPtrField<v1::PeerEntry>& b) {
  if (a.size() != b.size()) return false;
  std::map<std::string, v1::PeerEntry> x = ById(a);
  std::map<std::string, v1::PeerEntry> y = ById(b);
  if (x.size() != y.size()) return false;
  for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
    if (!MessageDifferencer::Equals(i->second, j->second)) return false;
  }
  return true;
}

// SameContent tells whether `push` repeats the acked push (whose directory is materialised).
bool SameContent(const v1::ConfigPush& push, const v1::ConfigPush& acked) {
  if (!MessageDifferencer::Equals(push.settings(), acked.settings()) ||
      push.overlay_address() != acked.overlay_address() ||
      push.metrics_interval_ms() != acked.metrics_interval_ms()) {
    return false;
  }
  // A relative directory cannot be compared without its base; the version vouches for it.
  return push.peers_mode() != v1::ConfigPush::PEERS_FULL ||
         SameDirectory(push.peers(), acked.peers());
}

// DirectoryOf builds the whole directory the push describes, or says why it cannot.
struct Directory {
  std::vector<v1::PeerEntry> peers;  // sorted by id
  std::vector<Issue> errors;
};

Directory Materialise(const v1::ConfigPush& push, const v1::ConfigPush* acked) {
  Directory out;
  std::map<std::string, v1::PeerEntry> peers;
  std::set<std::string> listed;
  for (const v1::PeerEntry& p : push.peers()) {
    if (!listed.insert(p.id()).second) {
      out.errors.push_back(
          Error(absl::StrCat("peers.", p.id()), "listed more than once in the push's peers"));
    }
  }
  if (push.peers_mode() != v1::ConfigPush::PEERS_FULL && acked != nullptr) {
    for (const v1::PeerEntry& p : acked->peers()) peers[p.id()] = p;
  }
  if (push.peers_mode() == v1::ConfigPush::PEERS_DELTA) {
    for (const std::string& id : push.removed_peers()) peers.erase(id);
  }
  if (push.peers_mode() != v1::ConfigPush::PEERS_UNCHANGED) {
    for (const v1::PeerEntry& p : push.peers()) peers[p.id()] = p;
  }
  for (auto& [id, p] : peers) out.peers.push_back(std::move(p));
  return out;
}

// JudgeDirectory checks every entry (the id is the hash of the key, the overlay address lies in
// the pushed prefix and is unique, the endpoints parse) with the standalone parser's rules, so a
// push is held to what local.conf's peers are.
daemon::ParsedStandaloneConfig JudgeDirectory(const std::string& overlay,
                                              const std::vector<v1::PeerEntry>& peers, NodeId self,
                                              std::vector<Issue>& errors) {
  settings::LocalConf conf;
  if (!overlay.empty()) conf.overlay = overlay;
  conf.peers = nlohmann::json::object();
  for (const v1::PeerEntry& p : peers) {
    const std::string path = absl::StrCat("peers.", p.id());
    if (p.id() == self.ToString()) {
      errors.push_back(Error(path, "is this node itself; the directory lists the other nodes"));
      continue;
    }
    nlohmann::json endpoints = nlohmann::json::array();
    for (const std::string& e : p.endpoints()) endpoints.push_back(e);
    conf.peers[p.id()] = {{"publicKey", absl::Base64Escape(p.public_key())},
                          {"overlay", p.overlay_address()},
                          {"endpoints", endpoints}};
  }
  daemon::ParsedStandaloneConfig parsed = daemon::ParseStandaloneConfig(conf);
  for (Issue& i : parsed.issues) {
    if (i.path == "overlay") {
      if (overlay.empty()) {
        // The standalone parser's advice is about local.conf; say it as the push's problem.
        i.message = "the push lists peers but assigns this node no overlay address";
      }
      i.path = "overlay_address";
    }
    if (i.severity == settings::Severity::kError) errors.push_back(std::move(i));
  }
  return parsed;
}

}  // namespace

MergedSettings MergeSettings(const v1::Settings& pushed, const v1::Settings& local) {
  MergedSettings out;
  out.settings = pushed;
  out.sources.fallback = settings::Source::kController;
  if (local.has_default_bonding_policy()) {
    out.ignored.push_back(Warning("settings.defaultBondingPolicy",
                                  "ignored: with a controller the fleet's defaultBondingPolicy "
                                  "applies"));
  }
  if (!local.peer_specific_bonds().empty()) {
    out.ignored.push_back(
        Warning("settings.peerSpecificBonds",
                "ignored: with a controller the fleet's peerSpecificBonds apply"));
  }
  // Sorted, so the warnings come out in a stable order.
  std::map<std::string, const v1::Policy*> local_policies;
  for (const auto& [name, policy] : local.policies()) local_policies[name] = &policy;
  for (const auto& [name, policy] : local_policies) {
    auto it = out.settings.mutable_policies()->find(name);
    if (it == out.settings.mutable_policies()->end()) {
      (*out.settings.mutable_policies())[name] = *policy;
      out.sources.prefixes.push_back({PolicyPath(name) + ".", settings::Source::kLocalConf});
      continue;
    }
    for (const std::string& param : IgnoredParameters(*policy)) {
      out.ignored.push_back(Warning(absl::StrCat(PolicyPath(name), ".", param),
                                    absl::StrCat("ignored: the controller defines policy \"", name,
                                                 "\"; local.conf supplies only its links")));
    }
    if (!policy->links().empty()) {
      *it->second.mutable_links() = policy->links();
      out.sources.prefixes.push_back({PolicyPath(name) + ".links.", settings::Source::kLocalConf});
    }
  }
  return out;
}

PushVerdict JudgePush(const v1::ConfigPush& push, const settings::LocalConf& local, NodeId self,
                      const v1::ConfigPush* acked) {
  PushVerdict verdict;
  const uint64_t acked_version = acked == nullptr ? 0 : acked->version();
  if (push.version() == 0) {
    verdict.kind = PushVerdict::Kind::kNack;
    verdict.errors.push_back(Error("version", "a push's version starts at 1; got 0"));
    return verdict;
  }
  if (acked != nullptr && push.version() == acked_version) {
    if (SameContent(push, *acked)) {
      verdict.kind = PushVerdict::Kind::kReAck;
      verdict.reason = absl::StrCat("push ", push.version(), " again, unchanged: acked again");
    } else {
      verdict.kind = PushVerdict::Kind::kIgnore;
      verdict.reason = absl::StrCat("push ", push.version(),
                                    " differs from the push acked under that version; ignored");
    }
    return verdict;
  }
  if (push.version() < acked_version) {
    verdict.kind = PushVerdict::Kind::kIgnore;
    verdict.reason = absl::StrCat("push ", push.version(), " is older than the acked push ",
                                  acked_version, "; ignored");
    return verdict;
  }

  std::vector<Issue> errors;
  std::vector<Issue> warnings;
  const bool base_ok =
      push.peers_mode() == v1::ConfigPush::PEERS_FULL || push.base_version() == acked_version;
  if (!base_ok) {
    errors.push_back(
        Error("peers", absl::StrCat("the push's directory is relative to version ",
                                    push.base_version(), ", but this node runs on ",
                                    acked_version == 0 ? std::string("no push")
                                                       : absl::StrCat("version ", acked_version),
                                    "; send the whole directory (PEERS_FULL)")));
  }

  MergedSettings merged = MergeSettings(push.settings(), local.settings);
  warnings = merged.ignored;
  if (!local.overlay.is_null()) {
    warnings.push_back(Warning("overlay", "ignored: the controller assigns the overlay address"));
  }
  if (!local.peers.is_null()) {
    warnings.push_back(Warning("peers", "ignored: the controller's directory lists the peers"));
  }
  for (Issue& i : settings::ValidateSettings(merged.settings)) {
    (i.severity == settings::Severity::kError ? errors : warnings).push_back(std::move(i));
  }
  std::optional<settings::PolicyResolver> resolver;
  if (!settings::HasErrors(errors)) {
    absl::StatusOr<settings::PolicyResolver> r = settings::PolicyResolver::Create(merged.settings);
    if (r.ok()) {
      resolver = *std::move(r);
    } else {
      errors.push_back(Error("settings", std::string(r.status().message())));
    }
  }

  Directory directory;
  daemon::ParsedStandaloneConfig parsed;
  if (base_ok) {
    directory = Materialise(push, acked);
    errors.insert(errors.end(), directory.errors.begin(), directory.errors.end());
    parsed = JudgeDirectory(push.overlay_address(), directory.peers, self, errors);
  }

  if (!errors.empty() || !resolver.has_value()) {
    std::stable_sort(errors.begin(), errors.end(),
                     [](const Issue& a, const Issue& b) { return a.path < b.path; });
    verdict.kind = PushVerdict::Kind::kNack;
    verdict.errors = std::move(errors);
    return verdict;
  }

  v1::ConfigPush materialised = push;
  materialised.clear_peers();
  for (v1::PeerEntry& p : directory.peers) *materialised.add_peers() = std::move(p);
  materialised.set_peers_mode(v1::ConfigPush::PEERS_FULL);
  materialised.clear_removed_peers();
  materialised.clear_base_version();
  std::stable_sort(warnings.begin(), warnings.end(),
                   [](const Issue& a, const Issue& b) { return a.path < b.path; });
  settings::LocalConf conf;
  conf.settings = std::move(merged.settings);
  verdict.applied.emplace(AppliedPush{
      .push = std::move(materialised),
      .settings = settings::LoadedLocalConf{std::move(conf), *std::move(resolver), warnings},
      .sources = std::move(merged.sources),
      .directory = std::move(parsed.config)});
  verdict.kind = PushVerdict::Kind::kApply;
  return verdict;
}

}  // namespace fleetbond::agent
