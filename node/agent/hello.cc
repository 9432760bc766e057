#include "node/agent/hello.h"

#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/daemon/path_planner.h"

namespace fleetbond::agent {
namespace {

bool CarriesPaths(const daemon::InterfaceAddress& a) {
  if (a.family == AF_INET) return a.address.rfind("127.", 0) != 0;
  return a.address != "::1" && !daemon::PrefixContains("fe80::", 10, a.address);
}

}  // namespace

std::vector<v1::Interface> HelloInterfaces(const std::vector<daemon::InterfaceState>& interfaces,
                                           const std::string& tun, uint16_t port) {
  std::vector<v1::Interface> out;
  for (const daemon::InterfaceState& i : interfaces) {
    if (i.name == "lo" || i.name == tun) continue;
    v1::Interface iface;
    iface.set_name(i.name);
    for (const daemon::InterfaceAddress& a : i.addresses) {
      if (!CarriesPaths(a)) continue;
      iface.add_addresses(absl::StrCat(a.address, "/", a.prefix_len));
      iface.add_endpoints(absl::StrCat(a.address, "/", port));
    }
    if (iface.addresses_size() > 0) out.push_back(std::move(iface));
  }
  std::sort(out.begin(), out.end(),
            [](const v1::Interface& a, const v1::Interface& b) { return a.name() < b.name(); });
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& values) {
  std::map<std::string, std::string> labels;
  for (const std::string& value : values) {
    for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      item = absl::StripAsciiWhitespace(item);
      const size_t eq = item.find('=');
      const absl::string_view key =
          eq == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(item.substr(0, eq));
      if (key.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--label \"", item, "\" is not key=value (e.g. --label site=fra1,rack=r12)"));
      }
      labels[std::string(key)] = std::string(absl::StripAsciiWhitespace(item.substr(eq + 1)));
    }
  }
  return labels;
}

v1::Hello BuildHello(const HelloFacts& facts, const std::vector<daemon::InterfaceState>& interfaces,
                     uint64_t last_acked_version) {
  v1::Hello hello;
  hello.set_node_id(facts.id.ToString());
  hello.set_public_key(std::string(facts.public_key.begin(), facts.public_key.end()));
  hello.set_software_version(facts.software_version);
  for (v1::Interface& i : HelloInterfaces(interfaces, facts.tun, facts.port)) {
    *hello.add_interfaces() = std::move(i);
  }
  for (const auto& [k, v] : facts.labels) (*hello.mutable_labels())[k] = v;
  hello.set_last_acked_version(last_acked_version);
  return hello;
}

}  // namespace fleetbond::agent
