#include "node/transport/udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleetbond::transport {

namespace {

// Room for one int-sized control message (UDP_SEGMENT out, UDP_GRO in).
constexpr size_t kCmsgSpace = CMSG_SPACE(sizeof(int));
// A GSO run: at most this many segments, and at most this many bytes (an IP packet's limit, less
// the outer headers).
constexpr size_t kMaxGsoSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;

}  // namespace

struct UdpSocket::Buffers {
  Batch batch;
  // Receive side.
  std::array<uint8_t, kRxMessages * kRxMessageSize> rx{};
  std::array<iovec, kRxMessages> rx_iov{};
  std::array<mmsghdr, kRxMessages> rx_msgs{};
  std::array<Endpoint, kRxMessages> rx_from;
  std::array<std::array<uint8_t, kCmsgSpace>, kRxMessages> rx_cmsg{};
  // Send side: one slot per queued datagram; a message covers a run of slots.
  std::array<uint8_t, kBatch * kBufferSize> tx{};
  std::array<iovec, kBatch> tx_iov{};
  std::array<Endpoint, kBatch> tx_to;
  std::array<mmsghdr, kBatch> tx_msgs{};
  std::array<size_t, kBatch> tx_first{};  // first slot of each message
  std::array<std::array<uint8_t, kCmsgSpace>, kBatch> tx_cmsg{};
};

const Endpoint& UdpSocket::Batch::Source(size_t i) const { return sources_[message_[i]]; }

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
  if (options.offload) {
    int on = 1;
    sock.gro_ = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
    // GSO needs no socket option (it is asked per message); probe that the kernel knows it.
    int probe = 0;
    socklen_t probe_len = sizeof(probe);
    sock.gso_ = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &probe, &probe_len) == 0;
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
  b.batch.sources_ = b.rx_from.data();
  for (size_t i = 0; i < kRxMessages; ++i) {
    b.rx_iov[i] = {b.rx.data() + i * kRxMessageSize, kRxMessageSize};
  }
  for (size_t i = 0; i < kBatch; ++i) b.tx_iov[i] = {b.tx.data() + i * kBufferSize, 0};
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      local_port_(other.local_port_),
      last_error_(other.last_error_),
      send_drops_(other.send_drops_),
      queued_(std::exchange(other.queued_, 0)),
      gso_(other.gso_),
      gro_(other.gro_),
      buffers_(std::move(other.buffers_)) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    local_port_ = other.local_port_;
    last_error_ = other.last_error_;
    send_drops_ = other.send_drops_;
    queued_ = std::exchange(other.queued_, 0);
    gso_ = other.gso_;
    gro_ = other.gro_;
    buffers_ = std::move(other.buffers_);
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

UdpSocket::Batch& UdpSocket::Receive() {
  Buffers& b = *buffers_;
  for (size_t i = 0; i < kRxMessages; ++i) {
    mmsghdr& m = b.rx_msgs[i];
    m = {};
    m.msg_hdr.msg_name = &b.rx_from[i].addr;
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    m.msg_hdr.msg_iov = &b.rx_iov[i];
    m.msg_hdr.msg_iovlen = 1;
    m.msg_hdr.msg_control = b.rx_cmsg[i].data();
    m.msg_hdr.msg_controllen = kCmsgSpace;
  }
  int n = recvmmsg(fd_, b.rx_msgs.data(), kRxMessages, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) last_error_ = errno;
    n = 0;
  }
  Batch& batch = b.batch;
  batch.count_ = 0;
  for (int i = 0; i < n; ++i) {
    msghdr& h = b.rx_msgs[i].msg_hdr;
    b.rx_from[i].len = h.msg_namelen;
    const size_t len = std::min<size_t>(b.rx_msgs[i].msg_len, kRxMessageSize);
    const bool truncated = (h.msg_flags & MSG_TRUNC) != 0;
    // A GRO run carries the size of its segments; the last one may be shorter.
    size_t segment = len;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int gso_size = 0;
        std::memcpy(&gso_size, CMSG_DATA(c), sizeof(gso_size));
        if (gso_size > 0) segment = static_cast<size_t>(gso_size);
      }
    }
    uint8_t* base = b.rx.data() + static_cast<size_t>(i) * kRxMessageSize;
    for (size_t off = 0; off < len || (len == 0 && off == 0); off += segment) {
      if (batch.count_ == kMaxRxDatagrams) break;
      const size_t k = batch.count_++;
      batch.data_[k] = base + off;
      batch.length_[k] = static_cast<uint32_t>(std::min(segment, len - off));
      batch.message_[k] = static_cast<uint8_t>(i);
      batch.truncated_[k] = truncated;
      if (len == 0) break;
    }
  }
  return batch;
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
  size_t accepted = 0;
  size_t slot = 0;
  while (slot < queued_) {
    // Group the queue from `slot` into messages: a run of datagrams to one destination whose
    // sizes are all equal but the last goes as one GSO message.
    size_t messages = 0;
    for (size_t i = slot; i < queued_;) {
      const size_t first = i;
      const size_t gso_size = b.tx_iov[i].iov_len;
      size_t bytes = gso_size;
      ++i;
      while (gso_ && i < queued_ && i - first < kMaxGsoSegments && b.tx_to[i] == b.tx_to[first] &&
             b.tx_iov[i - 1].iov_len == gso_size && b.tx_iov[i].iov_len <= gso_size &&
             bytes + b.tx_iov[i].iov_len <= kMaxGsoBytes) {
        bytes += b.tx_iov[i].iov_len;
        ++i;
      }
      mmsghdr& m = b.tx_msgs[messages];
      m = {};
      m.msg_hdr.msg_name = &b.tx_to[first].addr;
      m.msg_hdr.msg_namelen = b.tx_to[first].len;
      m.msg_hdr.msg_iov = &b.tx_iov[first];
      m.msg_hdr.msg_iovlen = i - first;
      if (i - first > 1) {
        m.msg_hdr.msg_control = b.tx_cmsg[messages].data();
        m.msg_hdr.msg_controllen = kCmsgSpace;
        cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t size16 = static_cast<uint16_t>(gso_size);
        std::memcpy(CMSG_DATA(c), &size16, sizeof(size16));
        m.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      }
      b.tx_first[messages] = first;
      ++messages;
    }
    int n = sendmmsg(fd_, b.tx_msgs.data(), static_cast<unsigned>(messages), MSG_DONTWAIT);
    if (n > 0) {
      const size_t sent = static_cast<size_t>(n);
      const size_t end = sent < messages ? b.tx_first[sent] : queued_;
      accepted += end - slot;
      slot = end;
      continue;
    }
    // The first message was refused.
    const int err = errno;
    const size_t end = messages > 1 ? b.tx_first[1] : queued_;
    if (b.tx_msgs[0].msg_hdr.msg_iovlen > 1 && (err == EIO || err == EINVAL || err == ENOTSUP)) {
      // The device or kernel cannot segment for us: stop asking, send this run again plainly.
      gso_ = false;
      continue;
    }
    if (err != EAGAIN && err != EWOULDBLOCK) last_error_ = err;
    send_drops_ += end - slot;
    slot = end;
  }
  queued_ = 0;
  return accepted;
}

}  // namespace fleetbond::transport
