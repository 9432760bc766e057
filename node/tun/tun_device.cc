#include "node/tun/tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "node/netlink/rtnetlink.h"

namespace fleetbond::tun {
namespace {

// Runs one interface ioctl on a throwaway datagram socket.
absl::Status InterfaceIoctl(unsigned long request, ifreq& ifr, absl::string_view what) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return absl::ErrnoToStatus(errno, "socket");
  absl::Cleanup close_sock = [sock] { close(sock); };
  if (ioctl(sock, request, &ifr) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(what, " on ", ifr.ifr_name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TunDevice> TunDevice::Create(const Options& options) {
  if (options.name.empty() || options.name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("TUN name \"", options.name, "\" must be 1 to ", IFNAMSIZ - 1, " characters"));
  }
  if (options.mtu < 576 || options.mtu > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("TUN MTU ", options.mtu, " is outside 576..65535"));
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, "open /dev/net/tun (fleetbond-node needs CAP_NET_ADMIN)");
  }
  absl::Cleanup close_fd = [fd] { close(fd); };

  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, options.name.data(), options.name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("create TUN interface ", options.name));
  }
  const std::string actual_name = ifr.ifr_name;

  ifreq mtu_req{};
  std::memcpy(mtu_req.ifr_name, actual_name.data(), actual_name.size());
  mtu_req.ifr_mtu = static_cast<int>(options.mtu);
  absl::Status s = InterfaceIoctl(SIOCSIFMTU, mtu_req, "set MTU");
  if (!s.ok()) return s;

  ifreq qlen_req{};
  std::memcpy(qlen_req.ifr_name, actual_name.data(), actual_name.size());
  qlen_req.ifr_qlen = static_cast<int>(options.tx_queue_len);
  s = InterfaceIoctl(SIOCSIFTXQLEN, qlen_req, "set queue length");
  if (!s.ok()) return s;

  ifreq index_req{};
  std::memcpy(index_req.ifr_name, actual_name.data(), actual_name.size());
  s = InterfaceIoctl(SIOCGIFINDEX, index_req, "read interface index");
  if (!s.ok()) return s;
  const int ifindex = index_req.ifr_ifindex;

  std::move(close_fd).Cancel();
  return TunDevice(fd, actual_name, options.mtu, ifindex);
}

TunDevice::TunDevice(TunDevice&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      mtu_(other.mtu_),
      ifindex_(other.ifindex_) {}

TunDevice& TunDevice::operator=(TunDevice&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    mtu_ = other.mtu_;
    ifindex_ = other.ifindex_;
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) close(fd_);
}

absl::Status TunDevice::AddAddress(absl::string_view cidr) {
  return netlink::AddAddress(ifindex_, cidr);
}

absl::Status TunDevice::SetUp() {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  absl::Status s = InterfaceIoctl(SIOCGIFFLAGS, ifr, "read flags");
  if (!s.ok()) return s;
  ifr.ifr_flags |= IFF_UP;
  return InterfaceIoctl(SIOCSIFFLAGS, ifr, "bring up");
}

ssize_t TunDevice::Read(std::span<uint8_t> buffer) {
  return read(fd_, buffer.data(), buffer.size());
}

ssize_t TunDevice::Write(std::span<const uint8_t> packet) {
  return write(fd_, packet.data(), packet.size());
}

}  // namespace fleetbond::tun
