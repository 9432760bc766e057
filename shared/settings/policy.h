// policy.h
//
// ResolvedPolicy is a bonding policy with every parameter decided: a standard policy's defaults
// overlaid with a custom policy's overrides. It is what the bond engine consumes; the engine never
// sees local.conf or protobuf. shared/settings/resolver.h produces it from validated Settings.
//
// Example:
//   ResolvedPolicy p = DefaultPolicy(BasePolicy::kBalanceRr);
//   p.packets_per_link;  // 64
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fleetbond {

// BasePolicy names the standard policies of the spec.
enum class BasePolicy { kActiveBackup, kBroadcast, kBalanceRr, kBalanceXor, kBalanceAware };

// LinkSelectMethod decides when active-backup returns to its primary link.
enum class LinkSelectMethod { kOptimize, kAlways, kBetter, kFailure };

// LinkMode: kNone is an ordinary link; kPrimary the preferred active-backup link; kSpare a link
// used only while every non-spare link is down.
enum class LinkMode { kNone, kPrimary, kSpare };

// IpvPref filters and orders a link's paths by IP family.
enum class IpvPref { kAny = 0, kOnly4 = 4, kOnly6 = 6, kPrefer4 = 46, kPrefer6 = 64 };

// LinkQualitySpec holds linkQuality with every key decided. Limits are in milliseconds
// (latency, pdv) and ratios 0..1 (loss, error); the weights sum to 1.
struct LinkQualitySpec {
  double lat_max_ms;
  double pdv_max_ms;
  double plr_max;
  double per_max;
  double lat_weight;
  double pdv_weight;
  double plr_weight;
  double per_weight;
};

// LinkPolicy is one entry of a policy's "links".
struct LinkPolicy {
  std::string name;  // system interface name, e.g. "eth0"
  IpvPref ipv_pref = IpvPref::kAny;
  std::optional<uint32_t> capacity;  // relative units; absent means "no hint"
  std::string failover_to;           // empty: none
  LinkMode mode = LinkMode::kNone;
};

// ResolvedPolicy is what a bond runs.
struct ResolvedPolicy {
  std::string name;  // the name used in settings, e.g. "rapid-active-backup" or "balance-xor"
  BasePolicy base = BasePolicy::kActiveBackup;
  absl::Duration failover_interval;
  absl::Duration up_delay;
  absl::Duration down_delay;
  LinkSelectMethod link_select_method = LinkSelectMethod::kOptimize;
  uint32_t packets_per_link = 0;
  LinkQualitySpec link_quality{};
  // When non-empty, only these links are used, in this order (sorted by name, since local.conf's
  // links object is unordered). When empty, every interface is used with default link settings.
  std::vector<LinkPolicy> links;

  // FindLink returns the entry for `interface`, or nullptr when the policy does not list it.
  const LinkPolicy* FindLink(absl::string_view interface) const;
  // UsesInterface is true when the policy lists no links, or lists `interface`.
  bool UsesInterface(absl::string_view interface) const {
    return links.empty() || FindLink(interface) != nullptr;
  }
};

// Spellings used in local.conf and in every output.
absl::string_view BasePolicyName(BasePolicy p);
absl::string_view LinkSelectMethodName(LinkSelectMethod m);
absl::string_view LinkModeName(LinkMode m);
std::optional<BasePolicy> ParseBasePolicy(absl::string_view name);
std::optional<LinkSelectMethod> ParseLinkSelectMethod(absl::string_view name);
std::optional<LinkMode> ParseLinkMode(absl::string_view name);
std::optional<IpvPref> ParseIpvPref(int64_t value);

// The standard policies, in the spec's order.
inline constexpr BasePolicy kStandardPolicies[] = {
    BasePolicy::kActiveBackup, BasePolicy::kBroadcast, BasePolicy::kBalanceRr,
    BasePolicy::kBalanceXor, BasePolicy::kBalanceAware};

}  // namespace fleetbond
