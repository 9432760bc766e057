// hello.h
//
// The node's half of a session's opening: the Hello it sends, and the interfaces it reports in
// it. The controller gives the node's peers these endpoints, so only what can carry a path is
// reported: no loopback, no TUN, no IPv6 link-local address.
//
// Example:
//   v1::Hello hello = BuildHello(facts, control.Interfaces(), acked_version);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fleetbond/v1/session.pb.h"
#include "node/daemon/interface_table.h"
#include "shared/identity/identity.h"

namespace fleetbond::agent {

// HelloFacts are what a Hello says about the node that does not change while it runs.
struct HelloFacts {
  NodeId id;
  PublicKey public_key{};
  std::string software_version;
  uint16_t port = 0;  // the data plane's UDP port
  std::string tun;    // the overlay interface, never reported
  std::map<std::string, std::string> labels;
};

// HelloInterfaces lists the bondable interfaces (by name) with their addresses ("ip/prefixlen")
// and data-plane endpoints ("ip/port"); interfaces left with no address are left out.
std::vector<v1::Interface> HelloInterfaces(const std::vector<daemon::InterfaceState>& interfaces,
                                           const std::string& tun, uint16_t port);

// ParseLabels reads `--label` values, each "key=value" or a comma list of them; a later key
// replaces an earlier one. InvalidArgument names the item without "=" or with an empty key.
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& values);

// BuildHello assembles the Hello.
v1::Hello BuildHello(const HelloFacts& facts, const std::vector<daemon::InterfaceState>& interfaces,
                     uint64_t last_acked_version);

}  // namespace fleetbond::agent
