// udp_socket.h
//
// UdpSocket is one link's data-plane socket: bound to one interface (SO_BINDTODEVICE) and one of
// its addresses, non-blocking, moving datagrams in batches with recvmmsg/sendmmsg so a busy path
// costs one system call per batch rather than per packet. Buffers are allocated once, at
// construction; the hot path allocates nothing.
//
// Example:
//   absl::StatusOr<UdpSocket> s = UdpSocket::Bind({.interface = "eth0", .address = "10.0.0.1",
//                                                  .port = 9800});
//   UdpSocket::Batch& in = s->Receive();   // up to kBatch datagrams
//   for (size_t i = 0; i < in.count; ++i) Handle(in.Datagram(i), in.source[i]);
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::transport {

// Endpoint is an IPv4 or IPv6 address and port, in sockaddr form for the system calls.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  // Parse reads "ip/port" (the format of local.conf endpoints) or "ip:port" / "[ip6]:port".
  static absl::StatusOr<Endpoint> Parse(absl::string_view text);
  // ToString renders "ip/port".
  std::string ToString() const;
  int family() const { return addr.ss_family; }
  friend bool operator==(const Endpoint& a, const Endpoint& b);
};

class UdpSocket {
 public:
  // Datagrams per system call. 64 keeps a batch of 1500-byte packets inside 96 KiB.
  static constexpr size_t kBatch = 64;
  static constexpr size_t kMaxDatagram = 65535;
  // Receive buffers are sized for a link MTU, not the UDP maximum: larger datagrams are truncated
  // by the kernel and counted as such (MSG_TRUNC), which the caller treats as malformed.
  static constexpr size_t kBufferSize = 2048;

  struct Options {
    std::string interface;  // empty: not bound to a device
    std::string address;    // local address; empty: the wildcard of `family`
    uint16_t port = 9800;   // 0: any
    int family = AF_INET;   // used only when address is empty
    int receive_buffer_bytes = 4 << 20;
    int send_buffer_bytes = 4 << 20;
  };

  // Batch holds received datagrams.
  struct Batch {
    size_t count = 0;
    std::array<Endpoint, kBatch> source;
    std::array<uint32_t, kBatch> length{};
    std::array<bool, kBatch> truncated{};
    std::span<const uint8_t> Datagram(size_t i) const {
      return {buffers_ + i * kBufferSize, length[i]};
    }
    uint8_t* buffers_ = nullptr;  // kBatch * kBufferSize bytes, owned by the socket
  };

  // Bind creates the socket. Binding to a device needs CAP_NET_RAW (or CAP_NET_ADMIN).
  static absl::StatusOr<UdpSocket> Bind(const Options& options);

  UdpSocket(UdpSocket&&) noexcept;
  UdpSocket& operator=(UdpSocket&&) noexcept;
  ~UdpSocket();

  // Receive reads up to kBatch waiting datagrams without blocking. An empty batch means none were
  // waiting; a socket error is reported through last_error().
  Batch& Receive();

  // Send queues one datagram for the next Flush; flushes by itself when the queue is full. The
  // payload is copied.
  void Send(const Endpoint& to, std::span<const uint8_t> payload);
  // Flush sends every queued datagram; returns how many the kernel took. Datagrams the kernel
  // refused (buffer full) are dropped and counted in send_drops().
  size_t Flush();

  int fd() const { return fd_; }
  uint16_t local_port() const { return local_port_; }
  int last_error() const { return last_error_; }
  uint64_t send_drops() const { return send_drops_; }

 private:
  struct Buffers;
  UdpSocket(int fd, uint16_t port);

  int fd_ = -1;
  uint16_t local_port_ = 0;
  int last_error_ = 0;
  uint64_t send_drops_ = 0;
  size_t queued_ = 0;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace fleetbond::transport
