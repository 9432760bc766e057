// interface_table.h
//
// InterfaceTable is the node's view of the host's interfaces: which exist, which have carrier,
// which addresses they hold. rtnetlink events (a dump at start, then notifications) update it;
// every update returns what changed, so the daemon can fail paths at once on carrier loss and
// open or close sockets as addresses come and go, without a restart.
//
// Example:
//   InterfaceTable table;
//   for (const InterfaceChange& c : table.Apply(netlink::ParseEvents(datagram))) { ... }
#pragma once

#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/string_view.h"
#include "node/netlink/rtnetlink.h"

namespace fleetbond::daemon {

// InterfaceAddress is one address of an interface.
struct InterfaceAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::string address;
  uint8_t prefix_len = 0;
  friend bool operator==(const InterfaceAddress&, const InterfaceAddress&) = default;
};

struct InterfaceState {
  int ifindex = 0;
  std::string name;
  bool admin_up = false;
  bool carrier = false;
  std::vector<InterfaceAddress> addresses;

  // Usable: up, with carrier, and with at least one address.
  bool usable() const { return admin_up && carrier && !addresses.empty(); }
};

// InterfaceChange says what happened to one interface in an update.
struct InterfaceChange {
  enum class Kind {
    kAppeared,     // a new interface
    kVanished,     // the interface was deleted
    kCarrierUp,    // carrier (and admin up) returned
    kCarrierDown,  // carrier lost or set down: a local link event
    kAddressAdded,
    kAddressRemoved,
  };
  Kind kind;
  std::string name;
  InterfaceAddress address;  // for the address kinds
};

class InterfaceTable {
 public:
  // Apply folds `events` into the table and returns the changes, links before addresses.
  std::vector<InterfaceChange> Apply(const netlink::Events& events);

  // Find returns the interface called `name`, or nullptr.
  const InterfaceState* Find(absl::string_view name) const;
  // interfaces lists every known interface, by name.
  std::vector<const InterfaceState*> interfaces() const;

 private:
  InterfaceState* FindByIndex(int ifindex);

  absl::btree_map<std::string, InterfaceState> by_name_;
};

}  // namespace fleetbond::daemon
