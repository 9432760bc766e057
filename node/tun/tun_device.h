// tun_device.h
//
// TunDevice owns a Linux TUN interface: the overlay side of fleetbond. IP packets the host routes
// to the overlay are read from it; packets from peers are written to it. The device disappears
// when the TunDevice is destroyed (the kernel removes a non-persistent TUN when its fd closes).
//
// Example:
//   absl::StatusOr<TunDevice> tun = TunDevice::Create({.name = "fb0", .mtu = 1420});
//   FB_RETURN_IF_ERROR(tun->AddAddress("10.147.0.1/24"));
//   FB_RETURN_IF_ERROR(tun->SetUp());
//   ssize_t n = tun->Read(buffer);  // one IP packet, or -1 with errno EAGAIN
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::tun {

class TunDevice {
 public:
  struct Options {
    std::string name = "fb0";  // at most 15 characters (IFNAMSIZ - 1)
    uint32_t mtu = 1420;
    // Packets the kernel queues for us to read. The kernel's default (500) overflows while the
    // forwarding thread is busy with a batch, and every overflow is a TCP retransmit; 1000 is
    // about 11 ms at 1 Gbit/s of full-size packets.
    uint32_t tx_queue_len = 1000;
  };

  // Create opens /dev/net/tun and creates the interface (needs CAP_NET_ADMIN). The fd is
  // non-blocking and close-on-exec; packets carry no extra header (IFF_NO_PI).
  static absl::StatusOr<TunDevice> Create(const Options& options);

  TunDevice(TunDevice&& other) noexcept;
  TunDevice& operator=(TunDevice&& other) noexcept;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  ~TunDevice();

  // AddAddress assigns "ip/prefixlen" (IPv4 or IPv6); the kernel adds the connected route for
  // the prefix, which is the overlay route.
  absl::Status AddAddress(absl::string_view cidr);
  // SetUp brings the interface up.
  absl::Status SetUp();

  // Read reads one packet into `buffer`; returns its length, or -1 with errno set (EAGAIN when
  // none is waiting).
  ssize_t Read(std::span<uint8_t> buffer);
  // Write writes one IP packet; returns the length written, or -1 with errno set.
  ssize_t Write(std::span<const uint8_t> packet);

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  uint32_t mtu() const { return mtu_; }
  int ifindex() const { return ifindex_; }

 private:
  TunDevice(int fd, std::string name, uint32_t mtu, int ifindex)
      : fd_(fd), name_(std::move(name)), mtu_(mtu), ifindex_(ifindex) {}

  int fd_ = -1;
  std::string name_;
  uint32_t mtu_ = 0;
  int ifindex_ = 0;
};

}  // namespace fleetbond::tun
