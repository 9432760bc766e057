// udp_socket.h
//
// UdpSocket is one link's data-plane socket: bound to one interface (SO_BINDTODEVICE) and one of
// its addresses, non-blocking, moving datagrams in batches so that a busy path costs few system
// calls and few passes through the kernel's network stack:
//   - sending, Flush hands every queued datagram to sendmmsg, and runs of equal-sized datagrams
//     to one destination go as one UDP GSO super-datagram (UDP_SEGMENT): the kernel walks its
//     stack once for the run and splits it at the last moment (or never, on veth);
//   - receiving, the socket asks for UDP GRO, so the kernel may hand over a run of datagrams from
//     one sender as one buffer, which Receive splits back into datagrams.
// Kernels or devices without GSO/GRO fall back to one datagram per message by themselves.
// Buffers are allocated once, at construction; the hot path allocates nothing.
//
// Example:
//   absl::StatusOr<UdpSocket> s = UdpSocket::Bind({.interface = "eth0", .address = "10.0.0.1",
//                                                  .port = 9800});
//   UdpSocket::Batch& in = s->Receive();
//   for (size_t i = 0; i < in.count(); ++i) Handle(in.Datagram(i), in.Source(i));
//   s->Send(to, sealed);  ...  s->Flush();
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
  // Datagrams queued for sending before Flush runs by itself.
  static constexpr size_t kBatch = 64;
  // Largest datagram Send takes (a sealed inner packet of a 1500-byte link fits with room).
  static constexpr size_t kBufferSize = 2048;
  // Receive: messages per recvmmsg, each large enough for a GRO run of up to 64 KiB.
  static constexpr size_t kRxMessages = 32;
  static constexpr size_t kRxMessageSize = 65536;
  static constexpr size_t kMaxRxDatagrams = kRxMessages * 64;

  struct Options {
    std::string interface;  // empty: not bound to a device
    std::string address;    // local address; empty: the wildcard of `family`
    uint16_t port = 9800;   // 0: any
    int family = AF_INET;   // used only when address is empty
    int receive_buffer_bytes = 4 << 20;
    int send_buffer_bytes = 4 << 20;
    bool offload = true;  // use UDP GSO and GRO where the kernel has them
  };

  // Batch holds received datagrams. Datagram views are writable (the codec decrypts in place) and
  // stay valid until the next Receive.
  class Batch {
   public:
    size_t count() const { return count_; }
    std::span<uint8_t> Datagram(size_t i) const { return {data_[i], length_[i]}; }
    const Endpoint& Source(size_t i) const;
    bool Truncated(size_t i) const { return truncated_[i]; }

   private:
    friend class UdpSocket;
    size_t count_ = 0;
    std::array<uint8_t*, kMaxRxDatagrams> data_{};
    std::array<uint32_t, kMaxRxDatagrams> length_{};
    std::array<uint8_t, kMaxRxDatagrams> message_{};  // which message (and so source) it came in
    std::array<bool, kMaxRxDatagrams> truncated_{};
    const Endpoint* sources_ = nullptr;
  };

  // Bind creates the socket. Binding to a device needs CAP_NET_RAW (or CAP_NET_ADMIN).
  static absl::StatusOr<UdpSocket> Bind(const Options& options);

  UdpSocket(UdpSocket&&) noexcept;
  UdpSocket& operator=(UdpSocket&&) noexcept;
  ~UdpSocket();

  // Receive reads the waiting datagrams without blocking (up to kRxMessages messages). An empty
  // batch means none were waiting; a socket error is reported through last_error().
  Batch& Receive();

  // Send queues one datagram for the next Flush; flushes by itself when the queue is full. The
  // payload is copied. Datagrams larger than kBufferSize are dropped and counted.
  void Send(const Endpoint& to, std::span<const uint8_t> payload);
  // Flush sends every queued datagram; returns how many the kernel took. Datagrams the kernel
  // refused (buffer full, unreachable) are dropped and counted in send_drops().
  size_t Flush();

  int fd() const { return fd_; }
  uint16_t local_port() const { return local_port_; }
  int last_error() const { return last_error_; }
  uint64_t send_drops() const { return send_drops_; }
  bool gso() const { return gso_; }
  bool gro() const { return gro_; }

 private:
  struct Buffers;
  UdpSocket(int fd, uint16_t port);

  int fd_ = -1;
  uint16_t local_port_ = 0;
  int last_error_ = 0;
  uint64_t send_drops_ = 0;
  size_t queued_ = 0;
  bool gso_ = false;
  bool gro_ = false;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace fleetbond::transport
