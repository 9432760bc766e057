// path_planner.h
//
// PlanPaths decides which (local link, local address, remote endpoint) triples form a bond's
// paths. A remote endpoint that lies inside a prefix of some local interface is reached only
// through the interfaces on that subnet (sending it out of another link would go nowhere); an
// endpoint on no local subnet is routed, and is paired with every link that has an address of
// its family. Loopback, link-local IPv6 addresses and the excluded interfaces (the overlay TUN)
// never carry paths, and a policy that lists links restricts the plan to them. ipvPref is applied
// by the bond engine, which also orders a link's paths by it.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "node/daemon/interface_table.h"
#include "shared/settings/policy.h"

namespace fleetbond::daemon {

struct PlannedPath {
  std::string interface;
  std::string local_address;
  std::string remote_endpoint;  // "ip/port"
  int family = 0;
  friend bool operator==(const PlannedPath&, const PlannedPath&) = default;
  friend void PrintTo(const PlannedPath& p, std::ostream* os) {
    *os << p.interface << " " << p.local_address << " -> " << p.remote_endpoint;
  }
};

// PlanPaths returns the paths for one peer, ordered by interface name, then by endpoint order.
// Endpoints that do not parse are skipped (the settings validator reports them).
std::vector<PlannedPath> PlanPaths(const std::vector<const InterfaceState*>& interfaces,
                                   const ResolvedPolicy* policy,
                                   const std::vector<std::string>& remote_endpoints,
                                   const std::vector<std::string>& excluded_interfaces);

// PrefixContains is true when `address` lies in `network`/`prefix_len` (same family only).
bool PrefixContains(absl::string_view network, uint8_t prefix_len, absl::string_view address);

}  // namespace fleetbond::daemon
