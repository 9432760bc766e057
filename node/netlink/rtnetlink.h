// rtnetlink.h
//
// A minimal rtnetlink client: the few requests fleetbond-node makes to the kernel (address an
// interface) and the parsing of link/address notifications that tell it when interfaces and
// addresses appear, disappear, lose or regain carrier. Written against <linux/rtnetlink.h>; no
// library, since what we need is a few dozen lines of message layout.
//
// Example:
//   FB_RETURN_IF_ERROR(rtnetlink::AddAddress(ifindex, "10.147.0.1/24"));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::netlink {

// ParsedCidr is "ip/prefixlen" in binary form.
struct ParsedCidr {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t address[16] = {};
  uint8_t prefix_len = 0;
};

// ParseCidr reads "10.1.2.3/24" or "fd00::1/64"; a bare address gets the full-length prefix.
absl::StatusOr<ParsedCidr> ParseCidr(absl::string_view cidr);

// AddAddress assigns `cidr` to the interface with index `ifindex` (RTM_NEWADDR) and waits for the
// kernel's acknowledgement. Needs CAP_NET_ADMIN.
absl::Status AddAddress(int ifindex, absl::string_view cidr);
// RemoveAddress removes `cidr` from the interface (RTM_DELADDR), and with it the connected route.
absl::Status RemoveAddress(int ifindex, absl::string_view cidr);

// LinkEvent is a change of one interface, from RTM_NEWLINK / RTM_DELLINK.
struct LinkEvent {
  int ifindex = 0;
  std::string name;
  bool exists = true;     // false on RTM_DELLINK
  bool admin_up = false;  // IFF_UP
  bool carrier = false;   // IFF_LOWER_UP / IFF_RUNNING: the link can pass traffic
};

// AddressEvent is an address that appeared or disappeared, from RTM_NEWADDR / RTM_DELADDR.
struct AddressEvent {
  int ifindex = 0;
  bool added = true;
  int family = 0;
  std::string address;  // textual, without prefix
  uint8_t prefix_len = 0;
};

// Events parsed from one datagram read from a NETLINK_ROUTE socket.
struct Events {
  std::vector<LinkEvent> links;
  std::vector<AddressEvent> addresses;
};

// ParseEvents decodes the messages in `datagram`. Malformed or truncated messages are skipped,
// never read past the buffer. Unrelated message types are ignored.
Events ParseEvents(std::span<const uint8_t> datagram);

// OpenMonitorSocket returns a non-blocking NETLINK_ROUTE socket subscribed to link and IPv4/IPv6
// address notifications.
absl::StatusOr<int> OpenMonitorSocket();

// DumpLinksAndAddresses asks the kernel for every link and address now, so a monitor can start
// from the current state before it reads notifications.
absl::StatusOr<Events> DumpLinksAndAddresses();

}  // namespace fleetbond::netlink
