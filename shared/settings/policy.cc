#include "shared/settings/policy.h"

#include <algorithm>

namespace fleetbond {

const LinkPolicy* ResolvedPolicy::FindLink(absl::string_view interface) const {
  auto it = std::find_if(links.begin(), links.end(),
                         [&](const LinkPolicy& l) { return l.name == interface; });
  return it == links.end() ? nullptr : &*it;
}

absl::string_view BasePolicyName(BasePolicy p) {
  switch (p) {
    case BasePolicy::kActiveBackup:
      return "active-backup";
    case BasePolicy::kBroadcast:
      return "broadcast";
    case BasePolicy::kBalanceRr:
      return "balance-rr";
    case BasePolicy::kBalanceXor:
      return "balance-xor";
    case BasePolicy::kBalanceAware:
      return "balance-aware";
  }
  return "unknown";
}

absl::string_view LinkSelectMethodName(LinkSelectMethod m) {
  switch (m) {
    case LinkSelectMethod::kOptimize:
      return "optimize";
    case LinkSelectMethod::kAlways:
      return "always";
    case LinkSelectMethod::kBetter:
      return "better";
    case LinkSelectMethod::kFailure:
      return "failure";
  }
  return "unknown";
}

absl::string_view LinkModeName(LinkMode m) {
  switch (m) {
    case LinkMode::kNone:
      return "";
    case LinkMode::kPrimary:
      return "primary";
    case LinkMode::kSpare:
      return "spare";
  }
  return "unknown";
}

std::optional<BasePolicy> ParseBasePolicy(absl::string_view name) {
  for (BasePolicy p : kStandardPolicies) {
    if (BasePolicyName(p) == name) return p;
  }
  return std::nullopt;
}

std::optional<LinkSelectMethod> ParseLinkSelectMethod(absl::string_view name) {
  for (LinkSelectMethod m : {LinkSelectMethod::kOptimize, LinkSelectMethod::kAlways,
                             LinkSelectMethod::kBetter, LinkSelectMethod::kFailure}) {
    if (LinkSelectMethodName(m) == name) return m;
  }
  return std::nullopt;
}

std::optional<LinkMode> ParseLinkMode(absl::string_view name) {
  if (name == "primary") return LinkMode::kPrimary;
  if (name == "spare") return LinkMode::kSpare;
  return std::nullopt;
}

std::optional<IpvPref> ParseIpvPref(int64_t value) {
  switch (value) {
    case 0:
      return IpvPref::kAny;
    case 4:
      return IpvPref::kOnly4;
    case 6:
      return IpvPref::kOnly6;
    case 46:
      return IpvPref::kPrefer4;
    case 64:
      return IpvPref::kPrefer6;
    default:
      return std::nullopt;
  }
}

}  // namespace fleetbond
