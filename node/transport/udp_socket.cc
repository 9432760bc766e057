#include "node/transport/udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleetbond::transport {

struct UdpSocket::Buffers {
  Batch batch;
  std::array<uint8_t, kBatch * kBufferSize> rx{};
  std::array<iovec, kBatch> rx_iov{};
  std::array<mmsghdr, kBatch> rx_msgs{};
  std::array<uint8_t, kBatch * kBufferSize> tx{};
  std::array<iovec, kBatch> tx_iov{};
  std::array<mmsghdr, kBatch> tx_msgs{};
  std::array<Endpoint, kBatch> tx_to;
};

absl::StatusOr<Endpoint> Endpoint::Parse(absl::string_view text) {
  std::string host;
  absl::string_view port_text;
  if (size_t slash = text.rfind('/'); slash != absl::string_view::npos) {
    host = std::string(text.substr(0, slash));
    port_text = text.substr(slash + 1);
  } else if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("endpoint \"", text, "\": expected [ip6]:port"));
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':');
             colon != absl::string_view::npos && text.find(':') == colon) {
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", text, "\": expected ip/port, e.g. 10.0.0.2/9800"));
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", text, "\": port must be 1 to 65535"));
  }
  Endpoint ep;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ep.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ep.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    ep.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    ep.len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", text, "\": \"", host, "\" is not an IPv4 or IPv6 address"));
  }
  return ep;
}

std::string Endpoint::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return absl::StrCat(text, "/", ntohs(v4->sin_port));
  }
  if (family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return absl::StrCat(text, "/", ntohs(v6->sin6_port));
  }
  return "-";
}

bool operator==(const Endpoint& a, const Endpoint& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a.addr);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b.addr);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.addr);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.addr);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

absl::StatusOr<UdpSocket> UdpSocket::Bind(const Options& options) {
  Endpoint local;
  if (!options.address.empty()) {
    absl::StatusOr<Endpoint> ep = Endpoint::Parse(absl::StrCat(options.address, "/1"));
    if (!ep.ok()) return ep.status();
    local = *ep;
  } else {
    local.addr.ss_family = static_cast<sa_family_t>(options.family);
    local.len = options.family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  if (local.family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&local.addr)->sin_port = htons(options.port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&local.addr)->sin6_port = htons(options.port);
  }

  const std::string where =
      absl::StrCat(options.interface.empty() ? "" : options.interface + " ",
                   options.address.empty() ? "*" : options.address, "/", options.port);
  int fd = socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("UDP socket for ", where));
  UdpSocket sock(fd, options.port);

  if (local.family() == AF_INET6) {
    int only6 = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only6, sizeof(only6));
  }
  // Larger buffers absorb bursts between batches; the kernel caps them at rmem_max/wmem_max.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer_bytes,
             sizeof(options.receive_buffer_bytes));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options.send_buffer_bytes,
             sizeof(options.send_buffer_bytes));
  if (!options.interface.empty() &&
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, options.interface.data(),
                 static_cast<socklen_t>(options.interface.size())) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind UDP socket to device ", where));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local.addr), local.len) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind UDP ", where));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  sock.local_port_ =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return sock;
}

UdpSocket::UdpSocket(int fd, uint16_t port)
    : fd_(fd), local_port_(port), buffers_(std::make_unique<Buffers>()) {
  Buffers& b = *buffers_;
  b.batch.buffers_ = b.rx.data();
  for (size_t i = 0; i < kBatch; ++i) {
    b.rx_iov[i] = {b.rx.data() + i * kBufferSize, kBufferSize};
    b.tx_iov[i] = {b.tx.data() + i * kBufferSize, 0};
  }
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      local_port_(other.local_port_),
      last_error_(other.last_error_),
      send_drops_(other.send_drops_),
      queued_(std::exchange(other.queued_, 0)),
      buffers_(std::move(other.buffers_)) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    local_port_ = other.local_port_;
    last_error_ = other.last_error_;
    send_drops_ = other.send_drops_;
    queued_ = std::exchange(other.queued_, 0);
    buffers_ = std::move(other.buffers_);
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

UdpSocket::Batch& UdpSocket::Receive() {
  Buffers& b = *buffers_;
  for (size_t i = 0; i < kBatch; ++i) {
    mmsghdr& m = b.rx_msgs[i];
    m = {};
    m.msg_hdr.msg_name = &b.batch.source[i].addr;
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    m.msg_hdr.msg_iov = &b.rx_iov[i];
    m.msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(fd_, b.rx_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) last_error_ = errno;
    n = 0;
  }
  b.batch.count = static_cast<size_t>(n);
  for (int i = 0; i < n; ++i) {
    b.batch.source[i].len = b.rx_msgs[i].msg_hdr.msg_namelen;
    b.batch.length[i] = std::min<uint32_t>(b.rx_msgs[i].msg_len, kBufferSize);
    b.batch.truncated[i] = (b.rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
  }
  return b.batch;
}

void UdpSocket::Send(const Endpoint& to, std::span<const uint8_t> payload) {
  if (payload.size() > kBufferSize) {
    ++send_drops_;
    return;
  }
  if (queued_ == kBatch) Flush();
  Buffers& b = *buffers_;
  std::memcpy(b.tx.data() + queued_ * kBufferSize, payload.data(), payload.size());
  b.tx_iov[queued_].iov_len = payload.size();
  b.tx_to[queued_] = to;
  ++queued_;
}

size_t UdpSocket::Flush() {
  Buffers& b = *buffers_;
  size_t sent = 0;
  size_t accepted = 0;
  while (sent < queued_) {
    for (size_t i = sent; i < queued_; ++i) {
      mmsghdr& m = b.tx_msgs[i];
      m = {};
      m.msg_hdr.msg_name = &b.tx_to[i].addr;
      m.msg_hdr.msg_namelen = b.tx_to[i].len;
      m.msg_hdr.msg_iov = &b.tx_iov[i];
      m.msg_hdr.msg_iovlen = 1;
    }
    int n =
        sendmmsg(fd_, b.tx_msgs.data() + sent, static_cast<unsigned>(queued_ - sent), MSG_DONTWAIT);
    if (n <= 0) {
      // The datagram at `sent` was refused (buffer full, unreachable): drop it, try the rest.
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) last_error_ = errno;
      ++send_drops_;
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(n);
    accepted += static_cast<size_t>(n);
  }
  queued_ = 0;
  return accepted;
}

}  // namespace fleetbond::transport
