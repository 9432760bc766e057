// local_conf_parser.h
//
// ParseLocalConf turns the text of a local.conf into the typed Settings model. It judges what
// only the JSON shows: syntax (with line and column), unknown or duplicated keys (with a "did
// you mean" suggestion), value types and ranges, and the spelling of enum values. Whatever it
// cannot read is reported and left unset, so one pass reports every problem. Rules between
// values (failover chains, references to policies, ...) belong to ValidateSettings.
//
// Example:
//   ParsedLocalConf parsed = ParseLocalConf(R"({"settings": {"defaultBondingPolicy":
//   "broadcast"}})"); parsed.issues.empty();                                     // true
//   parsed.conf.settings.default_bonding_policy();             // "broadcast"
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "fleetbond/v1/settings.pb.h"
#include "nlohmann/json.hpp"
#include "shared/settings/settings_issue.h"

namespace fleetbond::settings {

// LocalConf is everything a local.conf holds.
struct LocalConf {
  v1::Settings settings;
  // Top-level keys owned by the data plane ("overlay", "peers"): kept as written, judged there.
  // Null when absent.
  nlohmann::json overlay;
  nlohmann::json peers;
  // Names of policy objects written directly under "settings" instead of "settings.policies"
  // (the spec's own active-backup example does this). They are reported, and not in `settings`.
  std::vector<std::string> misplaced_policies;
};

// ParsedLocalConf is the parse result: the model and every problem found while reading it.
struct ParsedLocalConf {
  LocalConf conf;
  std::vector<Issue> issues;
};

// ParseLocalConf never throws. Malformed JSON yields one issue with an empty path whose message
// starts "line L, column C: not valid JSON: ...", with a hint where the mistake is a common one.
ParsedLocalConf ParseLocalConf(absl::string_view text);

}  // namespace fleetbond::settings
