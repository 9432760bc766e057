#include "node/daemon/interface_table.h"

#include <algorithm>

namespace fleetbond::daemon {

InterfaceState* InterfaceTable::FindByIndex(int ifindex) {
  for (auto& [name, state] : by_name_) {
    if (state.ifindex == ifindex) return &state;
  }
  return nullptr;
}

const InterfaceState* InterfaceTable::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

std::vector<const InterfaceState*> InterfaceTable::interfaces() const {
  std::vector<const InterfaceState*> out;
  out.reserve(by_name_.size());
  for (const auto& [name, state] : by_name_) out.push_back(&state);
  return out;
}

std::vector<InterfaceChange> InterfaceTable::Apply(const netlink::Events& events) {
  using Kind = InterfaceChange::Kind;
  std::vector<InterfaceChange> changes;
  for (const netlink::LinkEvent& ev : events.links) {
    InterfaceState* state = FindByIndex(ev.ifindex);
    if (!ev.exists) {
      if (state == nullptr) continue;
      for (const InterfaceAddress& a : state->addresses) {
        changes.push_back({Kind::kAddressRemoved, state->name, a});
      }
      changes.push_back({Kind::kVanished, state->name, {}});
      by_name_.erase(state->name);
      continue;
    }
    if (ev.name.empty()) continue;
    if (state != nullptr && state->name != ev.name) {
      // Renamed: the old name is gone, the new one appears (with its addresses).
      InterfaceState moved = std::move(*state);
      for (const InterfaceAddress& a : moved.addresses) {
        changes.push_back({Kind::kAddressRemoved, moved.name, a});
      }
      changes.push_back({Kind::kVanished, moved.name, {}});
      by_name_.erase(moved.name);
      moved.name = ev.name;
      state = &by_name_.emplace(ev.name, std::move(moved)).first->second;
      changes.push_back({Kind::kAppeared, ev.name, {}});
      for (const InterfaceAddress& a : state->addresses) {
        changes.push_back({Kind::kAddressAdded, ev.name, a});
      }
    }
    const bool was_up = state != nullptr && state->admin_up && state->carrier;
    if (state == nullptr) {
      state = &by_name_[ev.name];
      state->ifindex = ev.ifindex;
      state->name = ev.name;
      changes.push_back({Kind::kAppeared, ev.name, {}});
    }
    state->admin_up = ev.admin_up;
    state->carrier = ev.carrier;
    const bool is_up = ev.admin_up && ev.carrier;
    if (is_up && !was_up) changes.push_back({Kind::kCarrierUp, ev.name, {}});
    if (!is_up && was_up) changes.push_back({Kind::kCarrierDown, ev.name, {}});
  }
  for (const netlink::AddressEvent& ev : events.addresses) {
    InterfaceState* state = FindByIndex(ev.ifindex);
    if (state == nullptr) continue;  // an address event can precede its link's first event
    InterfaceAddress addr{ev.family, ev.address, ev.prefix_len};
    auto it = std::find(state->addresses.begin(), state->addresses.end(), addr);
    if (ev.added && it == state->addresses.end()) {
      state->addresses.push_back(addr);
      changes.push_back({Kind::kAddressAdded, state->name, addr});
    } else if (!ev.added && it != state->addresses.end()) {
      state->addresses.erase(it);
      changes.push_back({Kind::kAddressRemoved, state->name, addr});
    }
  }
  return changes;
}

}  // namespace fleetbond::daemon
