#include "shared/settings/parameter_rules.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "shared/settings/defaults.h"

namespace fleetbond::settings {

const WholeRange kFailoverIntervalRange{defaults::kMinFailoverIntervalMs,
                                        defaults::kMaxFailoverIntervalMs};
const WholeRange kDelayRange{0, defaults::kMaxDelayMs};
const WholeRange kPacketsPerLinkRange{0, defaults::kMaxPacketsPerLink};
const WholeRange kCapacityRange{0, defaults::kMaxCapacity};

const std::vector<std::string>& TopLevelKeys() {
  static const auto* keys = new std::vector<std::string>{"settings", "overlay", "peers"};
  return *keys;
}

const std::vector<std::string>& SettingsKeys() {
  static const auto* keys =
      new std::vector<std::string>{"defaultBondingPolicy", "policies", "peerSpecificBonds"};
  return *keys;
}

const std::vector<std::string>& PolicyKeys() {
  static const auto* keys = new std::vector<std::string>{
      "basePolicy",       "failoverInterval", "upDelay",     "downDelay",
      "linkSelectMethod", "packetsPerLink",   "linkQuality", "links"};
  return *keys;
}

const std::vector<std::string>& LinkKeys() {
  static const auto* keys =
      new std::vector<std::string>{"ipvPref", "capacity", "failoverTo", "mode"};
  return *keys;
}

const std::vector<std::string>& LinkQualityKeys() {
  static const auto* keys =
      new std::vector<std::string>{"lat_max",    "pdv_max",    "plr_max",    "per_max",
                                   "lat_weight", "pdv_weight", "plr_weight", "per_weight"};
  return *keys;
}

const std::vector<std::string>& StandardPolicyNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (BasePolicy p : kStandardPolicies) v->emplace_back(BasePolicyName(p));
    return v;
  }();
  return *names;
}

const std::vector<std::string>& LinkSelectMethodNames() {
  static const auto* names =
      new std::vector<std::string>{"optimize", "always", "better", "failure"};
  return *names;
}

const std::vector<std::string>& LinkModeNames() {
  static const auto* names = new std::vector<std::string>{"primary", "spare"};
  return *names;
}

std::string QuotedList(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    absl::StrAppend(&out, "\"", words[i], "\"");
  }
  return out;
}

std::optional<BasePolicy> OnlyBaseFor(absl::string_view policy_key) {
  if (policy_key == "linkSelectMethod") return BasePolicy::kActiveBackup;
  if (policy_key == "packetsPerLink") return BasePolicy::kBalanceRr;
  if (policy_key == "linkQuality") return BasePolicy::kBalanceAware;
  return std::nullopt;
}

std::string NotAParameterOf(absl::string_view policy_key, BasePolicy base) {
  std::optional<BasePolicy> only = OnlyBaseFor(policy_key);
  return absl::StrCat("not a parameter of basePolicy ", BasePolicyName(base), " (only ",
                      only ? BasePolicyName(*only) : "another policy", " takes it)");
}

std::string ExpectWhole(const WholeRange& range) {
  return absl::StrCat("expected a whole number from ", range.min, " to ", range.max);
}

std::optional<std::string> CheckWhole(const WholeRange& range, int64_t value) {
  if (value >= range.min && value <= range.max) return std::nullopt;
  return absl::StrCat(ExpectWhole(range), ", got ", value);
}

std::string ExpectIpvPref() { return "expected one of 0, 4, 6, 46, 64"; }

std::optional<std::string> CheckIpvPref(int64_t value) {
  if (ParseIpvPref(value)) return std::nullopt;
  return absl::StrCat(ExpectIpvPref(), ", got ", value);
}

std::string ExpectLinkQuality(absl::string_view key) {
  if (key == "lat_max" || key == "pdv_max") return "expected a number of milliseconds above 0";
  if (key == "plr_max" || key == "per_max") return "expected a ratio above 0 and at most 1";
  return "expected a weight from 0 to 1";
}

std::optional<std::string> CheckLinkQuality(absl::string_view key, double value) {
  bool ok = std::isfinite(value);
  if (key == "lat_max" || key == "pdv_max") {
    ok = ok && value > 0;
  } else if (key == "plr_max" || key == "per_max") {
    ok = ok && value > 0 && value <= 1;
  } else {
    ok = ok && value >= 0 && value <= 1;
  }
  if (ok) return std::nullopt;
  return absl::StrCat(ExpectLinkQuality(key), ", got ", FormatNumber(value));
}

std::string FormatNumber(double value) { return absl::StrFormat("%.10g", value); }

}  // namespace fleetbond::settings
