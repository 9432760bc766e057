// parameter_rules.h
//
// What local.conf may contain: the keys of each object, which basePolicy takes each
// policy-specific parameter, and the legal range of every value, with the sentence that explains
// a violation. The parser (JSON values) and the validator (Settings from any source, e.g. a
// controller push) both judge values here, so a rule and its message exist exactly once.
//
// Example:
//   CheckWhole(kDelayRange, 70000);  // "expected a whole number from 0 to 65535, got 70000"
//   NotAParameterOf("packetsPerLink", BasePolicy::kActiveBackup);
//       // "not a parameter of basePolicy active-backup (only balance-rr takes it)"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "shared/settings/policy.h"

namespace fleetbond::settings {

// Known keys of each object, in the order the spec introduces them.
const std::vector<std::string>& TopLevelKeys();     // settings, overlay, peers
const std::vector<std::string>& SettingsKeys();     // defaultBondingPolicy, policies, ...
const std::vector<std::string>& PolicyKeys();       // basePolicy, failoverInterval, ...
const std::vector<std::string>& LinkKeys();         // ipvPref, capacity, failoverTo, mode
const std::vector<std::string>& LinkQualityKeys();  // lat_max, ..., per_weight
const std::vector<std::string>& StandardPolicyNames();
const std::vector<std::string>& LinkSelectMethodNames();
const std::vector<std::string>& LinkModeNames();

// QuotedList renders {"a", "b", "c"} as `"a", "b" or "c"`.
std::string QuotedList(const std::vector<std::string>& words);

// OnlyBaseFor returns the one basePolicy that takes a policy-specific key (linkSelectMethod:
// active-backup, packetsPerLink: balance-rr, linkQuality: balance-aware), or nullopt for keys
// every policy takes.
std::optional<BasePolicy> OnlyBaseFor(absl::string_view policy_key);

// NotAParameterOf is the message for a policy-specific key under another base.
std::string NotAParameterOf(absl::string_view policy_key, BasePolicy base);

// An inclusive range of whole numbers.
struct WholeRange {
  int64_t min;
  int64_t max;
};
extern const WholeRange kFailoverIntervalRange;  // milliseconds
extern const WholeRange kDelayRange;             // upDelay, downDelay: milliseconds
extern const WholeRange kPacketsPerLinkRange;
extern const WholeRange kCapacityRange;

// ExpectWhole is "expected a whole number from MIN to MAX".
std::string ExpectWhole(const WholeRange& range);
// CheckWhole returns "expected a whole number from MIN to MAX, got V" when `value` is outside.
std::optional<std::string> CheckWhole(const WholeRange& range, int64_t value);

// ExpectIpvPref is "expected one of 0, 4, 6, 46, 64".
std::string ExpectIpvPref();
std::optional<std::string> CheckIpvPref(int64_t value);

// ExpectLinkQuality says what linkQuality key `key` accepts: maxima of latency and pdv are
// milliseconds above 0, maxima of loss and error ratios are in (0, 1], weights are in [0, 1].
std::string ExpectLinkQuality(absl::string_view key);
std::optional<std::string> CheckLinkQuality(absl::string_view key, double value);

// FormatNumber prints a double the way a person wrote it (0.0001, 400, 1.5).
std::string FormatNumber(double value);

}  // namespace fleetbond::settings
