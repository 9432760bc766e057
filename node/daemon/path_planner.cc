#include "node/daemon/path_planner.h"

#include <sys/socket.h>

#include <algorithm>

#include "node/netlink/rtnetlink.h"

namespace fleetbond::daemon {
namespace {

struct RemoteEndpoint {
  std::string text;     // as configured, "ip/port"
  std::string address;  // "ip"
  int family = 0;
};

bool IsLoopbackOrLinkLocal(const InterfaceAddress& a) {
  if (a.family == AF_INET) return a.address.rfind("127.", 0) == 0;
  return a.address == "::1" || PrefixContains("fe80::", 10, a.address);
}

}  // namespace

bool PrefixContains(absl::string_view network, uint8_t prefix_len, absl::string_view address) {
  absl::StatusOr<netlink::ParsedCidr> net = netlink::ParseCidr(network);
  absl::StatusOr<netlink::ParsedCidr> addr = netlink::ParseCidr(address);
  if (!net.ok() || !addr.ok() || net->family != addr->family) return false;
  const int bits = std::min<int>(prefix_len, net->family == AF_INET ? 32 : 128);
  for (int i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((net->address[i / 8] & mask) != (addr->address[i / 8] & mask)) return false;
  }
  return true;
}

std::vector<PlannedPath> PlanPaths(const std::vector<const InterfaceState*>& interfaces,
                                   const ResolvedPolicy* policy,
                                   const std::vector<std::string>& remote_endpoints,
                                   const std::vector<std::string>& excluded_interfaces) {
  std::vector<RemoteEndpoint> remotes;
  for (const std::string& text : remote_endpoints) {
    size_t slash = text.rfind('/');
    if (slash == std::string::npos) continue;
    absl::StatusOr<netlink::ParsedCidr> parsed = netlink::ParseCidr(text.substr(0, slash));
    if (!parsed.ok()) continue;
    remotes.push_back({text, text.substr(0, slash), parsed->family});
  }

  std::vector<const InterfaceState*> links;
  for (const InterfaceState* i : interfaces) {
    if (i->name == "lo") continue;
    if (std::find(excluded_interfaces.begin(), excluded_interfaces.end(), i->name) !=
        excluded_interfaces.end()) {
      continue;
    }
    if (policy != nullptr && !policy->UsesInterface(i->name)) continue;
    links.push_back(i);
  }
  std::sort(links.begin(), links.end(),
            [](const InterfaceState* a, const InterfaceState* b) { return a->name < b->name; });

  std::vector<PlannedPath> plan;
  for (const InterfaceState* link : links) {
    for (const RemoteEndpoint& remote : remotes) {
      // Is the endpoint on some local subnet? Then only links on that subnet reach it.
      // Every interface but loopback counts here, not only the policy's: an endpoint on the subnet
      // of a link the policy leaves out is still not reachable through the others.
      bool on_some_link = false;
      for (const InterfaceState* other : interfaces) {
        if (other->name == "lo") continue;
        for (const InterfaceAddress& a : other->addresses) {
          if (!IsLoopbackOrLinkLocal(a) &&
              PrefixContains(a.address, a.prefix_len, remote.address)) {
            on_some_link = true;
          }
        }
      }
      for (const InterfaceAddress& a : link->addresses) {
        if (a.family != remote.family || IsLoopbackOrLinkLocal(a)) continue;
        if (on_some_link && !PrefixContains(a.address, a.prefix_len, remote.address)) continue;
        plan.push_back({link->name, a.address, remote.text, a.family});
        break;  // one local address per (link, endpoint)
      }
    }
  }
  return plan;
}

}  // namespace fleetbond::daemon
