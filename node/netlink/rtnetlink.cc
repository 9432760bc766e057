#include "node/netlink/rtnetlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleetbond::netlink {
namespace {

// Appends one rtattr to the message in `buf`, which holds a nlmsghdr.
void AddAttr(std::vector<uint8_t>& buf, uint16_t type, const void* data, size_t len) {
  const size_t attr_len = RTA_LENGTH(len);
  const size_t offset = NLMSG_ALIGN(buf.size());
  buf.resize(offset + RTA_ALIGN(attr_len), 0);
  rtattr attr{};
  attr.rta_len = static_cast<unsigned short>(attr_len);
  attr.rta_type = type;
  std::memcpy(buf.data() + offset, &attr, sizeof(attr));
  std::memcpy(buf.data() + offset + RTA_LENGTH(0), data, len);
  nlmsghdr hdr;
  std::memcpy(&hdr, buf.data(), sizeof(hdr));
  hdr.nlmsg_len = static_cast<uint32_t>(buf.size());
  std::memcpy(buf.data(), &hdr, sizeof(hdr));
}

// Sends `request` and reads until the kernel's ACK (or error) for it.
absl::Status Transact(std::vector<uint8_t>& request) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return absl::ErrnoToStatus(errno, "netlink socket");
  absl::Cleanup close_fd = [fd] { close(fd); };
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof(kernel)) < 0) {
    return absl::ErrnoToStatus(errno, "netlink send");
  }
  alignas(nlmsghdr) uint8_t reply[8192];
  for (int attempt = 0; attempt < 16; ++attempt) {
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    if (n < 0) return absl::ErrnoToStatus(errno, "netlink receive");
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
        return absl::InternalError("netlink: truncated error message");
      }
      const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      if (err->error == 0) return absl::OkStatus();
      return absl::ErrnoToStatus(-err->error, "netlink request");
    }
  }
  return absl::InternalError("netlink: no acknowledgement from the kernel");
}

}  // namespace

absl::StatusOr<ParsedCidr> ParseCidr(absl::string_view cidr) {
  ParsedCidr out;
  absl::string_view addr = cidr;
  absl::string_view prefix;
  if (size_t slash = cidr.find('/'); slash != absl::string_view::npos) {
    addr = cidr.substr(0, slash);
    prefix = cidr.substr(slash + 1);
  }
  const std::string addr_str(addr);
  if (inet_pton(AF_INET, addr_str.c_str(), out.address) == 1) {
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, addr_str.c_str(), out.address) == 1) {
    out.family = AF_INET6;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", cidr, "\" is not an IPv4 or IPv6 address"));
  }
  const int max_len = out.family == AF_INET ? 32 : 128;
  int len = max_len;
  if (!prefix.empty() && (!absl::SimpleAtoi(prefix, &len) || len < 0 || len > max_len)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", cidr, "\": prefix length must be 0 to ", max_len));
  }
  out.prefix_len = static_cast<uint8_t>(len);
  return out;
}

namespace {

// AddressRequest sends RTM_NEWADDR or RTM_DELADDR for `cidr` on `ifindex` and waits for the ack.
absl::Status AddressRequest(int ifindex, absl::string_view cidr, uint16_t type, uint16_t flags) {
  absl::StatusOr<ParsedCidr> parsed = ParseCidr(cidr);
  if (!parsed.ok()) return parsed.status();
  std::vector<uint8_t> buf(NLMSG_LENGTH(sizeof(ifaddrmsg)), 0);
  nlmsghdr hdr{};
  hdr.nlmsg_len = static_cast<uint32_t>(buf.size());
  hdr.nlmsg_type = type;
  hdr.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  hdr.nlmsg_seq = 1;
  std::memcpy(buf.data(), &hdr, sizeof(hdr));
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(parsed->family);
  ifa.ifa_prefixlen = parsed->prefix_len;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  std::memcpy(buf.data() + NLMSG_LENGTH(0), &ifa, sizeof(ifa));
  const size_t addr_len = parsed->family == AF_INET ? 4 : 16;
  AddAttr(buf, IFA_LOCAL, parsed->address, addr_len);
  AddAttr(buf, IFA_ADDRESS, parsed->address, addr_len);
  return Transact(buf);
}

}  // namespace

absl::Status AddAddress(int ifindex, absl::string_view cidr) {
  return AddressRequest(ifindex, cidr, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
}

absl::Status RemoveAddress(int ifindex, absl::string_view cidr) {
  return AddressRequest(ifindex, cidr, RTM_DELADDR, 0);
}

Events ParseEvents(std::span<const uint8_t> datagram) {
  Events events;
  // Copy into aligned storage: the NLMSG macros assume alignment.
  std::vector<nlmsghdr> aligned((datagram.size() + sizeof(nlmsghdr) - 1) / sizeof(nlmsghdr) + 1);
  std::memcpy(aligned.data(), datagram.data(), datagram.size());
  int len = static_cast<int>(datagram.size());
  for (auto* h = aligned.data(); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
      const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
      LinkEvent ev;
      ev.ifindex = ifi->ifi_index;
      ev.exists = h->nlmsg_type == RTM_NEWLINK;
      ev.admin_up = (ifi->ifi_flags & IFF_UP) != 0;
      ev.carrier = (ifi->ifi_flags & IFF_LOWER_UP) != 0 && (ifi->ifi_flags & IFF_RUNNING) != 0;
      int attr_len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
      for (auto* a = IFLA_RTA(ifi); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
        if (a->rta_type == IFLA_IFNAME) {
          const char* name = static_cast<const char*>(RTA_DATA(a));
          ev.name.assign(name, strnlen(name, RTA_PAYLOAD(a)));
        }
      }
      events.links.push_back(std::move(ev));
    } else if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
      const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
      if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) continue;
      AddressEvent ev;
      ev.ifindex = static_cast<int>(ifa->ifa_index);
      ev.added = h->nlmsg_type == RTM_NEWADDR;
      ev.family = ifa->ifa_family;
      ev.prefix_len = ifa->ifa_prefixlen;
      const size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
      const void* local = nullptr;
      const void* address = nullptr;
      int attr_len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(ifaddrmsg)));
      for (auto* a = IFA_RTA(ifa); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
        if (RTA_PAYLOAD(a) < want) continue;
        if (a->rta_type == IFA_LOCAL) local = RTA_DATA(a);
        if (a->rta_type == IFA_ADDRESS) address = RTA_DATA(a);
      }
      // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours when present.
      const void* ours = local != nullptr ? local : address;
      if (ours == nullptr) continue;
      char text[INET6_ADDRSTRLEN] = {};
      if (inet_ntop(ifa->ifa_family, ours, text, sizeof(text)) == nullptr) continue;
      ev.address = text;
      events.addresses.push_back(std::move(ev));
    }
  }
  return events;
}

absl::StatusOr<int> OpenMonitorSocket() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return absl::ErrnoToStatus(errno, "netlink socket");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "netlink bind");
  }
  return fd;
}

absl::StatusOr<Events> DumpLinksAndAddresses() {
  Events all;
  for (uint16_t type : {RTM_GETLINK, RTM_GETADDR}) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return absl::ErrnoToStatus(errno, "netlink socket");
    absl::Cleanup close_fd = [fd] { close(fd); };
    struct {
      nlmsghdr hdr;
      rtgenmsg gen;
    } req{};
    req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(rtgenmsg));
    req.hdr.nlmsg_type = type;
    req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.hdr.nlmsg_seq = 1;
    req.gen.rtgen_family = AF_UNSPEC;
    if (send(fd, &req, req.hdr.nlmsg_len, 0) < 0) return absl::ErrnoToStatus(errno, "netlink dump");
    alignas(nlmsghdr) uint8_t buf[32768];
    // A dump ends with NLMSG_DONE; bound the reads so a misbehaving kernel cannot hang us.
    for (int reads = 0; reads < 4096; ++reads) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n < 0) return absl::ErrnoToStatus(errno, "netlink dump receive");
      bool done = false;
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) done = true;
      }
      Events part = ParseEvents(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
      all.links.insert(all.links.end(), part.links.begin(), part.links.end());
      all.addresses.insert(all.addresses.end(), part.addresses.begin(), part.addresses.end());
      if (done) break;
    }
  }
  return all;
}

}  // namespace fleetbond::netlink
