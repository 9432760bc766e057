#include "shared/settings/local_conf_parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/settings/did_you_mean.h"
#include "shared/settings/parameter_rules.h"
#include "shared/settings/proto_enums.h"

namespace fleetbond::settings {
namespace {

using nlohmann::json;

std::string Join(absl::string_view path, absl::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

bool Contains(const std::vector<std::string>& v, absl::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Describe renders a JSON value for "got ..." in messages: scalars as written, containers by kind.
std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::null:
      return "null";
    default:
      return v.dump();
  }
}

// UnknownKey is the message for a key that is not one of `known`.
std::string UnknownKey(absl::string_view key, const std::vector<std::string>& known) {
  std::string suggestion = DidYouMean(key, known);
  if (!suggestion.empty()) return absl::StrCat("unknown key", suggestion);
  return absl::StrCat("unknown key; expected ", QuotedList(known));
}

// DuplicateKeyFinder is a parser callback that records the path of every key written twice in
// one object: nlohmann keeps only the last, which silently drops the operator's first value.
class DuplicateKeyFinder {
 public:
  bool OnEvent(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack_.push_back(Frame{.object = true});
        break;
      case json::parse_event_t::array_start:
        stack_.push_back(Frame{.object = false});
        break;
      case json::parse_event_t::key: {
        if (stack_.empty() || !parsed.is_string()) break;
        std::string key = parsed.get<std::string>();
        Frame& top = stack_.back();
        if (!top.keys.insert(key).second) duplicates_.push_back(Join(ParentPath(), key));
        top.segment = std::move(key);
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack_.empty()) stack_.pop_back();
        AdvanceArray();
        break;
      case json::parse_event_t::value:
        AdvanceArray();
        break;
    }
    return true;
  }

  const std::vector<std::string>& duplicates() const { return duplicates_; }

 private:
  struct Frame {
    bool object = true;
    absl::flat_hash_set<std::string> keys;
    std::string segment;  // the current key of an object
    size_t index = 0;     // the current element of an array
  };

  void AdvanceArray() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().index;
  }

  // ParentPath is the path of the object on top of the stack.
  std::string ParentPath() const {
    std::string path;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      if (stack_[i].object) {
        path = Join(path, stack_[i].segment);
      } else {
        absl::StrAppend(&path, "[", stack_[i].index, "]");
      }
    }
    return path;
  }

  std::vector<Frame> stack_;
  std::vector<std::string> duplicates_;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t SkipSpace(absl::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// HasRange finds `: 0-65535` (a value position holding a range).
bool HasRange(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != ':') continue;
    size_t j = SkipSpace(s, i + 1);
    if (j < s.size() && s[j] == '-') ++j;
    size_t digits = j;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j > digits && j + 1 < s.size() && s[j] == '-' && IsDigit(s[j + 1])) return true;
  }
  return false;
}

// HasAlternatives finds `"primary"|"spare"`.
bool HasAlternatives(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '|') continue;
    size_t before = s.substr(0, i).find_last_not_of(" \t");
    size_t after = SkipSpace(s, i + 1);
    if (before != absl::string_view::npos && s[before] == '"' && after < s.size() &&
        s[after] == '"') {
      return true;
    }
  }
  return false;
}

bool HasComments(absl::string_view s) {
  if (s.find("/*") != absl::string_view::npos) return true;
  for (size_t i = s.find("//"); i != absl::string_view::npos; i = s.find("//", i + 2)) {
    if (i == 0 || IsSpace(s[i - 1])) return true;
  }
  return false;
}

bool HasEllipsis(absl::string_view s) {
  for (size_t i = s.find("..."); i != absl::string_view::npos; i = s.find("...", i + 3)) {
    if ((i == 0 || IsSpace(s[i - 1])) && (i + 3 == s.size() || IsSpace(s[i + 3]))) return true;
  }
  return false;
}

bool HasTrailingComma(absl::string_view s) {
  for (size_t i = s.find(','); i != absl::string_view::npos; i = s.find(',', i + 1)) {
    size_t j = SkipSpace(s, i + 1);
    if (j < s.size() && (s[j] == '}' || s[j] == ']')) return true;
  }
  return false;
}

constexpr char kHintComments[] = "remove the comments (JSON has none)";
constexpr char kHintEllipsis[] =
    "remove \"...\" (the spec's placeholder for text it left out) or write the entries";
constexpr char kHintTrailingComma[] =
    "remove the comma after the last entry (JSON does not allow it)";
constexpr char kHintRange[] = "write one number where the spec shows a range such as 0-65535";
constexpr char kHintAlternatives[] =
    "write one value where the spec lists alternatives such as \"primary\"|\"spare\"";

// SyntaxHint explains the common ways a hand-edited local.conf stops being JSON, most of them
// copied from the spec, which writes ranges, alternatives, comments and "..." where values go.
// The mistake at the error position comes first; other such mistakes anywhere in the text
// follow, so that one round of fixes is enough.
std::string SyntaxHint(absl::string_view text, size_t pos) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == absl::string_view::npos) {
    return " (the file is empty: the smallest valid local.conf is {})";
  }
  std::vector<std::string> hints;
  auto add = [&](const std::string& hint) {
    if (std::find(hints.begin(), hints.end(), hint) == hints.end()) hints.push_back(hint);
  };
  if (text[first] != '{') {
    add("local.conf must be one JSON object: wrap what you have as "
        "{ \"settings\": { \"policies\": { \"NAME\": { ... } } } }");
  }
  pos = std::min(pos, text.size());
  absl::string_view rest = text.substr(pos);
  size_t before = text.substr(0, pos).find_last_not_of(" \t\r\n");
  size_t line_start = text.substr(0, pos).rfind('\n');
  line_start = line_start == absl::string_view::npos ? 0 : line_start + 1;
  size_t line_end = text.find('\n', pos);
  absl::string_view line =
      text.substr(line_start, line_end == absl::string_view::npos ? absl::string_view::npos
                                                                  : line_end - line_start);
  if (rest.substr(0, 2) == "/*" || rest.substr(0, 2) == "//") {
    add(kHintComments);
  } else if (rest.substr(0, 3) == "...") {
    add(kHintEllipsis);
  } else if (before != absl::string_view::npos && text[before] == ',' && !rest.empty() &&
             (rest[0] == '}' || rest[0] == ']')) {
    add(kHintTrailingComma);
  } else if (HasRange(line)) {
    add(kHintRange);
  } else if (HasAlternatives(line)) {
    add(kHintAlternatives);
  }
  if (HasComments(text)) add(kHintComments);
  if (HasEllipsis(text)) add(kHintEllipsis);
  if (HasTrailingComma(text)) add(kHintTrailingComma);
  if (HasRange(text)) add(kHintRange);
  if (HasAlternatives(text)) add(kHintAlternatives);
  if (hints.empty()) return "";
  return absl::StrCat(" (", absl::StrJoin(hints, "; "), ")");
}

// kMaxDepth bounds how deeply objects and arrays may nest. local.conf needs 5 levels; nlohmann
// parses, copies and destroys deep documents recursively, so a hostile or corrupt file with
// thousands of '[' would overflow the stack instead of being refused.
constexpr int kMaxDepth = 64;

// FindTooDeep returns the offset of the first '{' or '[' nested deeper than kMaxDepth outside
// strings, or npos.
size_t FindTooDeep(absl::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return i;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return absl::string_view::npos;
}

std::string Position(absl::string_view text, size_t pos) {
  size_t line = 1 + std::count(text.begin(), text.begin() + pos, '\n');
  size_t last_newline = text.substr(0, pos).rfind('\n');
  size_t column = last_newline == absl::string_view::npos ? pos + 1 : pos - last_newline;
  return absl::StrCat("line ", line, ", column ", column);
}

Issue SyntaxError(absl::string_view text, const json::exception& e, size_t byte) {
  // nlohmann's byte is 1-based: the position of the character it could not accept.
  size_t pos = byte == 0 ? 0 : std::min(byte - 1, text.size());
  // nlohmann stops at the last character of the token it rejects; people look for the token's
  // start (for "upDelay": 0-65535 that is the 0).
  auto in_literal = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-';
  };
  if (pos < text.size() && in_literal(text[pos])) {
    while (pos > 0 && in_literal(text[pos - 1])) --pos;
  }
  std::string reason = e.what();
  // Drop nlohmann's own prefix ("[json.exception.parse_error.101] parse error at line 1,
  // column 2: "): we report our own position.
  if (size_t col = reason.find("column"); col != std::string::npos) {
    if (size_t colon = reason.find(": ", col); colon != std::string::npos) {
      reason = reason.substr(colon + 2);
    }
  } else if (size_t bracket = reason.find("] "); bracket != std::string::npos) {
    reason = reason.substr(bracket + 2);
  }
  return Error(
      "", absl::StrCat(Position(text, pos), ": not valid JSON: ", reason, SyntaxHint(text, pos)));
}

class Parser {
 public:
  explicit Parser(ParsedLocalConf& out) : out_(out) {}

  void ParseRoot(const json& root) {
    if (!root.is_object()) {
      Fail("", absl::StrCat("local.conf must be a JSON object, got ", Describe(root)));
      return;
    }
    for (const auto& [key, value] : root.items()) {
      if (key == "settings") {
        ParseSettings(value);
      } else if (key == "overlay") {
        out_.conf.overlay = value;
      } else if (key == "peers") {
        out_.conf.peers = value;
      } else if (Contains(SettingsKeys(), key)) {
        Fail(key, absl::StrCat("unknown key; \"", key, "\" belongs inside \"settings\": write ",
                               "{ \"settings\": { \"", key, "\": ... } }"));
      } else {
        Fail(key, UnknownKey(key, TopLevelKeys()));
      }
    }
  }

 private:
  void Fail(std::string path, std::string message) {
    out_.issues.push_back(Error(std::move(path), std::move(message)));
  }

  // ReadWhole reads a whole number within `range`; 1000.0 counts as whole.
  std::optional<int64_t> ReadWhole(const json& v, const WholeRange& range, const std::string& path,
                                   bool ipv_pref = false) {
    std::optional<int64_t> n;
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      n = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
              ? std::numeric_limits<int64_t>::max()
              : static_cast<int64_t>(u);
    } else if (v.is_number_integer()) {
      n = v.get<int64_t>();
    } else if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
        n = static_cast<int64_t>(d);
      }
    }
    const bool ok =
        n && (ipv_pref ? !CheckIpvPref(*n).has_value() : *n >= range.min && *n <= range.max);
    if (!ok) {
      Fail(path,
           absl::StrCat(ipv_pref ? ExpectIpvPref() : ExpectWhole(range), ", got ", Describe(v)));
      return std::nullopt;
    }
    return n;
  }

  // ReadName reads one of `names`, e.g. a standard policy or a linkSelectMethod.
  std::optional<std::string> ReadName(const json& v, const std::vector<std::string>& names,
                                      const std::string& path) {
    if (v.is_string() && Contains(names, v.get<std::string>())) return v.get<std::string>();
    std::string message = absl::StrCat("expected ", names.size() > 2 ? "one of " : "",
                                       QuotedList(names), ", got ", Describe(v));
    if (v.is_string()) absl::StrAppend(&message, DidYouMean(v.get<std::string>(), names));
    Fail(path, std::move(message));
    return std::nullopt;
  }

  std::optional<std::string> ReadString(const json& v, absl::string_view what,
                                        const std::string& path) {
    if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
    Fail(path, absl::StrCat("expected ", what, " (a non-empty string), got ", Describe(v)));
    return std::nullopt;
  }

  void ParseSettings(const json& s) {
    if (!s.is_object()) {
      Fail("settings", absl::StrCat("expected an object, got ", Describe(s)));
      return;
    }
    v1::Settings& settings = out_.conf.settings;
    for (const auto& [key, value] : s.items()) {
      const std::string path = Join("settings", key);
      if (key == "defaultBondingPolicy") {
        if (auto name = ReadString(value, "a policy name", path)) {
          settings.set_default_bonding_policy(*name);
        }
      } else if (key == "policies") {
        if (!value.is_object()) {
          Fail(path, absl::StrCat("expected an object of policies by name, got ", Describe(value)));
          continue;
        }
        for (const auto& [name, policy] : value.items()) {
          (*settings.mutable_policies())[name] = ParsePolicy(policy, Join(path, name));
        }
      } else if (key == "peerSpecificBonds") {
        if (!value.is_object()) {
          Fail(path,
               absl::StrCat("expected an object of peer id to policy name, got ", Describe(value)));
          continue;
        }
        for (const auto& [peer, name] : value.items()) {
          if (auto n = ReadString(name, "a policy name", Join(path, peer))) {
            (*settings.mutable_peer_specific_bonds())[peer] = *n;
          }
        }
      } else if (LooksLikePolicy(value)) {
        out_.conf.misplaced_policies.push_back(key);
        Fail(path, MisplacedPolicy(key, value));
      } else if (Contains(PolicyKeys(), key)) {
        Fail(path, absl::StrCat("unknown key; \"", key,
                                "\" is a policy parameter: write it inside a policy under "
                                "settings.policies"));
      } else {
        Fail(path, UnknownKey(key, SettingsKeys()));
      }
    }
  }

  static bool LooksLikePolicy(const json& v) {
    if (!v.is_object()) return false;
    return std::any_of(PolicyKeys().begin(), PolicyKeys().end(),
                       [&](const std::string& k) { return v.contains(k); });
  }

  static std::string MisplacedPolicy(const std::string& name, const json& v) {
    std::string message = absl::StrCat(
        "a policy must be defined inside settings.policies, not directly under settings: move "
        "it to settings.policies.",
        name);
    if (!v.contains("basePolicy")) {
      std::optional<BasePolicy> implied;
      std::string because;
      for (const char* key : {"linkSelectMethod", "packetsPerLink", "linkQuality"}) {
        if (v.contains(key)) {
          implied = OnlyBaseFor(key);
          because = key;
          break;
        }
      }
      if (implied) {
        absl::StrAppend(&message, " and add \"basePolicy\": \"", BasePolicyName(*implied),
                        "\" (it sets ", because, ", which only ", BasePolicyName(*implied),
                        " takes)");
      } else {
        absl::StrAppend(&message, " and add a \"basePolicy\" (", QuotedList(StandardPolicyNames()),
                        ")");
      }
    }
    return message;
  }

  v1::Policy ParsePolicy(const json& p, const std::string& path) {
    v1::Policy policy;
    if (!p.is_object()) {
      Fail(path, absl::StrCat("expected a policy object, got ", Describe(p)));
      return policy;
    }
    for (const auto& [key, value] : p.items()) {
      const std::string vpath = Join(path, key);
      if (key == "basePolicy") {
        if (auto name = ReadName(value, StandardPolicyNames(), vpath)) {
          policy.set_base_policy(ToProto(*ParseBasePolicy(*name)));
        }
      } else if (key == "failoverInterval") {
        if (auto n = ReadWhole(value, kFailoverIntervalRange, vpath)) {
          policy.set_failover_interval(static_cast<uint32_t>(*n));
        }
      } else if (key == "upDelay") {
        if (auto n = ReadWhole(value, kDelayRange, vpath)) {
          policy.set_up_delay(static_cast<uint32_t>(*n));
        }
      } else if (key == "downDelay") {
        if (auto n = ReadWhole(value, kDelayRange, vpath)) {
          policy.set_down_delay(static_cast<uint32_t>(*n));
        }
      } else if (key == "linkSelectMethod") {
        if (auto name = ReadName(value, LinkSelectMethodNames(), vpath)) {
          policy.set_link_select_method(ToProto(*ParseLinkSelectMethod(*name)));
        }
      } else if (key == "packetsPerLink") {
        if (auto n = ReadWhole(value, kPacketsPerLinkRange, vpath)) {
          policy.set_packets_per_link(static_cast<uint32_t>(*n));
        }
      } else if (key == "linkQuality") {
        ParseLinkQuality(value, vpath, *policy.mutable_link_quality());
      } else if (key == "links") {
        if (!value.is_object()) {
          Fail(vpath, absl::StrCat("expected an object of links by interface name, got ",
                                   Describe(value)));
          continue;
        }
        for (const auto& [ifname, link] : value.items()) {
          (*policy.mutable_links())[ifname] = ParseLink(link, Join(vpath, ifname));
        }
      } else if (Contains(LinkKeys(), key)) {
        Fail(vpath, absl::StrCat("unknown key; \"", key,
                                 "\" is a link setting: write it inside links.INTERFACE"));
      } else if (Contains(LinkQualityKeys(), key)) {
        Fail(vpath, absl::StrCat("unknown key; \"", key, "\" belongs inside linkQuality"));
      } else {
        Fail(vpath, UnknownKey(key, PolicyKeys()));
      }
    }
    return policy;
  }

  void ParseLinkQuality(const json& q, const std::string& path, v1::LinkQuality& out) {
    if (!q.is_object()) {
      Fail(path, absl::StrCat("expected an object of limits and weights, got ", Describe(q)));
      return;
    }
    using Setter = void (v1::LinkQuality::*)(double);
    static const std::pair<const char*, Setter> kSetters[] = {
        {"lat_max", &v1::LinkQuality::set_lat_max},
        {"pdv_max", &v1::LinkQuality::set_pdv_max},
        {"plr_max", &v1::LinkQuality::set_plr_max},
        {"per_max", &v1::LinkQuality::set_per_max},
        {"lat_weight", &v1::LinkQuality::set_lat_weight},
        {"pdv_weight", &v1::LinkQuality::set_pdv_weight},
        {"plr_weight", &v1::LinkQuality::set_plr_weight},
        {"per_weight", &v1::LinkQuality::set_per_weight},
    };
    for (const auto& [key, value] : q.items()) {
      const std::string vpath = Join(path, key);
      auto it = std::find_if(std::begin(kSetters), std::end(kSetters),
                             [&k = key](const auto& s) { return k == s.first; });
      if (it == std::end(kSetters)) {
        Fail(vpath, UnknownKey(key, LinkQualityKeys()));
        continue;
      }
      if (!value.is_number()) {
        Fail(vpath, absl::StrCat(ExpectLinkQuality(key), ", got ", Describe(value)));
        continue;
      }
      double d = value.get<double>();
      if (auto problem = CheckLinkQuality(key, d)) {
        Fail(vpath, *problem);
        continue;
      }
      (out.*(it->second))(d);
    }
  }

  v1::LinkSettings ParseLink(const json& l, const std::string& path) {
    v1::LinkSettings link;
    if (!l.is_object()) {
      Fail(path, absl::StrCat("expected an object of link settings, got ", Describe(l)));
      return link;
    }
    for (const auto& [key, value] : l.items()) {
      const std::string vpath = Join(path, key);
      if (key == "ipvPref") {
        if (auto n = ReadWhole(value, {}, vpath, /*ipv_pref=*/true)) {
          link.set_ipv_pref(static_cast<uint32_t>(*n));
        }
      } else if (key == "capacity") {
        if (auto n = ReadWhole(value, kCapacityRange, vpath)) {
          link.set_capacity(static_cast<uint32_t>(*n));
        }
      } else if (key == "failoverTo") {
        if (auto name = ReadString(value, "a link name", vpath)) link.set_failover_to(*name);
      } else if (key == "mode") {
        if (auto name = ReadName(value, LinkModeNames(), vpath)) {
          link.set_mode(ToProto(*ParseLinkMode(*name)));
        }
      } else if (Contains(PolicyKeys(), key)) {
        Fail(vpath, absl::StrCat("unknown key; \"", key,
                                 "\" is a policy parameter: write it in the policy, next to "
                                 "\"links\""));
      } else {
        Fail(vpath, UnknownKey(key, LinkKeys()));
      }
    }
    return link;
  }

  ParsedLocalConf& out_;
};

}  // namespace

ParsedLocalConf ParseLocalConf(absl::string_view text) {
  ParsedLocalConf out;
  if (size_t deep = FindTooDeep(text); deep != absl::string_view::npos) {
    out.issues.push_back(
        Error("", absl::StrCat(Position(text, deep), ": objects and arrays nest more than ",
                               kMaxDepth, " levels deep; local.conf needs at most 5")));
    return out;
  }
  DuplicateKeyFinder duplicates;
  json root;
  try {
    root = json::parse(
        text.begin(), text.end(),
        [&duplicates](int, json::parse_event_t event, json& parsed) {
          return duplicates.OnEvent(event, parsed);
        },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    out.issues.push_back(SyntaxError(text, e, e.byte));
    return out;
  } catch (const json::exception& e) {
    out.issues.push_back(SyntaxError(text, e, text.size()));
    return out;
  }
  for (const std::string& path : duplicates.duplicates()) {
    out.issues.push_back(
        Error(path,
              "duplicate key: JSON keeps only the last of them, so the earlier value "
              "would be silently ignored; write the key once"));
  }
  Parser(out).ParseRoot(root);
  return out;
}

}  // namespace fleetbond::settings
