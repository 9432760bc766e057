// test_policy.h
//
// Small builders for the resolved policies the bond tests run.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include "shared/settings/defaults.h"
#include "shared/settings/policy.h"

namespace fleetbond::bond::testing {

// TestPolicy returns the standard `base` policy with failoverInterval `failover_ms` and the given
// links (none: every interface).
inline ResolvedPolicy TestPolicy(BasePolicy base, int failover_ms = 1000,
                                 std::initializer_list<LinkPolicy> links = {}) {
  ResolvedPolicy p = DefaultPolicy(base);
  p.failover_interval = absl::Milliseconds(failover_ms);
  p.links.assign(links.begin(), links.end());
  return p;
}

inline LinkPolicy Link(std::string name, LinkMode mode = LinkMode::kNone,
                       std::string failover_to = "", std::optional<uint32_t> capacity = {},
                       IpvPref pref = IpvPref::kAny) {
  return LinkPolicy{.name = std::move(name),
                    .ipv_pref = pref,
                    .capacity = capacity,
                    .failover_to = std::move(failover_to),
                    .mode = mode};
}

}  // namespace fleetbond::bond::testing
