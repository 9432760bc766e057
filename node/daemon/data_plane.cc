#include "node/daemon/data_plane.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "node/bond/flow_key.h"
#include "node/daemon/path_planner.h"
#include "node/netlink/rtnetlink.h"
#include "shared/settings/defaults.h"

namespace fleetbond::daemon {

using transport::DropReason;
using transport::MessageType;

// LinkSocket is the socket of one (interface, local address).
struct DataPlane::LinkSocket {
  std::string interface;
  std::string address;
  int family = 0;
  transport::UdpSocket socket;
  bool dirty = false;  // has queued datagrams to flush
};

// PeerPath is the I/O side of one Bond path.
struct DataPlane::PeerPath {
  bool in_use = false;
  LinkSocket* socket = nullptr;
  transport::Endpoint remote;
  uint32_t next_path_seq = 0;
  // What we received from the peer on this path, echoed in probe replies.
  uint32_t highest_rx_path_seq = 0;
  uint64_t rx_packets = 0;
};

struct DataPlane::Peer {
  StaticPeer config;
  // The peer's keys: handshake state and the codecs of its live epochs.
  std::optional<transport::PeerSession> session;
  absl::Time next_session_tick = absl::InfinitePast();
  std::unique_ptr<bond::Bond> bond;  // null when the peer is not bonded (single best path)
  bond::DuplicateFilter dedup;
  uint64_t next_bond_seq = 1;
  std::array<PeerPath, bond::kMaxPaths> paths;
  absl::Time next_tick = absl::InfinitePast();
};

namespace {

// Datagram buffers: a TUN packet is read straight to where the codec seals it in place.
constexpr size_t kBufferSize = transport::UdpSocket::kBufferSize;
constexpr size_t kTunBatch = 64;
// How often each peer's handshake timers run (rekey by time and volume, retries, expiry).
constexpr absl::Duration kSessionTickInterval = absl::Milliseconds(100);

// TestingRekeyInterval reads FLEETBOND_TESTING_REKEY_SECONDS (integration tests only).
std::optional<absl::Duration> TestingRekeyInterval() {
  const char* text = std::getenv("FLEETBOND_TESTING_REKEY_SECONDS");
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds >= 0.5 && seconds <= 86400)) return std::nullopt;
  return absl::Seconds(seconds);
}

// MakeOverlayKey builds the 16-byte key of an IPv6 address, or of an IPv4 one v4-mapped.
std::array<uint8_t, 16> MakeOverlayKey(const uint8_t* addr, size_t len) {
  std::array<uint8_t, 16> key{};
  if (len == 16) {
    std::memcpy(key.data(), addr, 16);
  } else {
    key[10] = key[11] = 0xff;
    std::memcpy(key.data() + 12, addr, 4);
  }
  return key;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataPlane>> DataPlane::Create(const Options& options,
                                                             Identity identity,
                                                             settings::LoadedLocalConf settings,
                                                             StandaloneConfig standalone,
                                                             Clock& clock) {
  const uint32_t mtu = static_cast<uint32_t>(transport::InnerMtu(options.link_mtu));
  absl::StatusOr<tun::TunDevice> tun =
      tun::TunDevice::Create({.name = options.tun_name, .mtu = mtu});
  if (!tun.ok()) return tun.status();
  if (!standalone.overlay.empty()) {
    absl::Status s = tun->AddAddress(standalone.overlay);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("overlay address ", standalone.overlay, " on ",
                                                 tun->name(), ": ", s.message()));
    }
  }
  absl::Status up = tun->SetUp();
  if (!up.ok()) return up;
  Options effective = options;
  if (std::optional<absl::Duration> rekey = TestingRekeyInterval()) {
    effective.handshake = effective.handshake.WithRekeyInterval(*rekey);
    std::cerr << "fleetbond-node: testing: rekeying every " << absl::FormatDuration(*rekey) << "\n";
  }
  std::unique_ptr<DataPlane> dp(new DataPlane(effective, std::move(identity), std::move(settings),
                                              std::move(standalone), clock, *std::move(tun)));
  absl::Status started = dp->Start();
  if (!started.ok()) return started;
  return dp;
}

DataPlane::DataPlane(const Options& options, Identity identity, settings::LoadedLocalConf settings,
                     StandaloneConfig standalone, Clock& clock, tun::TunDevice tun)
    : options_(options),
      identity_(std::move(identity)),
      settings_(std::move(settings)),
      standalone_(std::move(standalone)),
      clock_(clock),
      tun_(std::move(tun)) {}

DataPlane::~DataPlane() {
  for (int fd : {epoll_fd_, netlink_fd_, signal_fd_, wake_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::Status DataPlane::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd");

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return absl::ErrnoToStatus(errno, "signalfd");

  absl::StatusOr<int> nl = netlink::OpenMonitorSocket();
  if (!nl.ok()) return nl.status();
  netlink_fd_ = *nl;

  // Tags in epoll data: small integers for the fixed fds, 1000+i for socket i.
  auto watch = [&](int fd, uint64_t tag) -> absl::Status {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0)
      return absl::ErrnoToStatus(errno, "epoll_ctl");
    return absl::OkStatus();
  };
  for (auto [fd, tag] :
       {std::pair{tun_.fd(), 1}, {netlink_fd_, 2}, {signal_fd_, 3}, {wake_fd_, 4}}) {
    absl::Status s = watch(fd, static_cast<uint64_t>(tag));
    if (!s.ok()) return s;
  }

  for (const StaticPeer& sp : standalone_.peers) {
    absl::Status added = AddPeer(sp);
    if (!added.ok()) return added;
  }

  absl::StatusOr<netlink::Events> now = netlink::DumpLinksAndAddresses();
  if (!now.ok()) return now.status();
  ApplyInterfaceChanges(interfaces_.Apply(*now));
  return absl::OkStatus();
}

namespace {

// OverlayKeyOf is the lookup key of a bare overlay address ("10.147.0.2", "fd47::2").
std::array<uint8_t, 16> OverlayKeyOf(const std::string& address) {
  uint8_t addr[16] = {};
  const bool v6 = address.find(':') != std::string::npos;
  inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), addr);
  return MakeOverlayKey(addr, v6 ? 16 : 4);
}

}  // namespace

absl::Status DataPlane::AddPeer(const StaticPeer& sp) {
  auto peer = std::make_unique<Peer>();
  peer->config = sp;
  absl::StatusOr<transport::PeerSession> session =
      transport::PeerSession::Create(identity_, sp.id, sp.public_key, options_.handshake, clock_);
  if (!session.ok()) {
    return absl::Status(session.status().code(),
                        absl::StrCat("peer ", sp.id.ToString(), ": ", session.status().message()));
  }
  peer->session.emplace(*std::move(session));
  // Bond sequence numbers start at the wall clock (ns), so a restarted node's numbers are above
  // its previous run's and the peer's duplicate filter accepts the new run at once. (Nonce
  // counters need no such care: every session has fresh keys and starts them at 0.)
  peer->next_bond_seq = transport::InitialSendCounter(absl::Now());
  std::optional<ResolvedPolicy> policy = settings_.resolver.ForPeer(sp.id.ToString());
  // A peer with no bonding policy still gets a bond: active-backup over whatever paths exist
  // is "a plain single path" that also survives the loss of one.
  ResolvedPolicy effective =
      policy.has_value() ? *policy : DefaultPolicy(BasePolicy::kActiveBackup);
  peer->bond = std::make_unique<bond::Bond>(sp.id.ToString(), std::move(effective), clock_);
  peers_by_overlay_[OverlayKeyOf(sp.overlay_address)] = peer.get();
  peers_by_id_[sp.id.value()] = peer.get();
  peers_.push_back(std::move(peer));
  return absl::OkStatus();
}

void DataPlane::RemovePeer(NodeId id) {
  auto it = std::find_if(peers_.begin(), peers_.end(),
                         [&](const std::unique_ptr<Peer>& p) { return p->config.id == id; });
  if (it == peers_.end()) return;
  // Its keys go with it (wiped as they are destroyed); its counters stay in the node's totals.
  retired_handshakes_ += (*it)->session->counters();
  auto overlay = peers_by_overlay_.find(OverlayKeyOf((*it)->config.overlay_address));
  if (overlay != peers_by_overlay_.end() && overlay->second == it->get()) {
    peers_by_overlay_.erase(overlay);
  }
  peers_by_id_.erase(id.value());
  peers_.erase(it);
}

void DataPlane::SetOverlay(const std::string& overlay) {
  if (overlay == standalone_.overlay) return;
  if (!standalone_.overlay.empty()) {
    absl::Status s = netlink::RemoveAddress(tun_.ifindex(), standalone_.overlay);
    if (!s.ok()) {
      std::cerr << "fleetbond-node: cannot remove overlay address " << standalone_.overlay
                << " from " << tun_.name() << ": " << s.message() << "\n";
    }
  }
  if (!overlay.empty()) {
    absl::Status s = tun_.AddAddress(overlay);
    if (!s.ok()) {
      std::cerr << "fleetbond-node: cannot put overlay address " << overlay << " on " << tun_.name()
                << ": " << s.message() << "\n";
    }
  }
  std::cerr << "fleetbond-node: overlay address " << (overlay.empty() ? "(none)" : overlay) << "\n";
  standalone_.overlay = overlay;
}

DataPlane::LinkSocket* DataPlane::SocketFor(const std::string& interface,
                                            const std::string& address, int family) {
  for (auto& s : sockets_) {
    if (s && s->interface == interface && s->address == address) return s.get();
  }
  absl::StatusOr<transport::UdpSocket> sock = transport::UdpSocket::Bind(
      {.interface = interface, .address = address, .port = options_.port, .family = family});
  if (!sock.ok()) {
    std::cerr << "fleetbond-node: cannot open link socket: " << sock.status().message() << "\n";
    return nullptr;
  }
  size_t index = 0;
  while (index < sockets_.size() && sockets_[index] != nullptr) ++index;
  if (index == sockets_.size()) sockets_.emplace_back();
  sockets_[index] =
      std::make_unique<LinkSocket>(LinkSocket{interface, address, family, *std::move(sock), false});
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 1000 + index;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sockets_[index]->socket.fd(), &ev);
  std::cerr << "fleetbond-node: link " << interface << " " << address << "/" << options_.port
            << " open\n";
  return sockets_[index].get();
}

void DataPlane::CloseSocketsFor(const std::string& interface, const std::string* address) {
  for (auto& s : sockets_) {
    if (!s || s->interface != interface || (address != nullptr && s->address != *address)) {
      continue;
    }
    for (auto& peer : peers_) {
      for (size_t p = 0; p < peer->paths.size(); ++p) {
        if (peer->paths[p].in_use && peer->paths[p].socket == s.get()) {
          (void)peer->bond->RemovePath(static_cast<bond::PathId>(p));
          peer->paths[p] = PeerPath{};
        }
      }
    }
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s->socket.fd(), nullptr);
    std::cerr << "fleetbond-node: link " << s->interface << " " << s->address << " closed\n";
    s.reset();
  }
}

void DataPlane::ApplyInterfaceChanges(const std::vector<InterfaceChange>& changes) {
  bool replan = false;
  for (const InterfaceChange& c : changes) {
    switch (c.kind) {
      case InterfaceChange::Kind::kCarrierDown:
      case InterfaceChange::Kind::kCarrierUp:
        // A local link event: every bond hears it now, without waiting for probes.
        for (auto& peer : peers_) {
          peer->bond->SetCarrier(c.name, c.kind == InterfaceChange::Kind::kCarrierUp);
        }
        break;
      case InterfaceChange::Kind::kAddressAdded:
      case InterfaceChange::Kind::kAppeared:
        replan = true;
        break;
      case InterfaceChange::Kind::kAddressRemoved:
        CloseSocketsFor(c.name, &c.address.address);
        break;
      case InterfaceChange::Kind::kVanished:
        CloseSocketsFor(c.name, nullptr);
        break;
    }
  }
  if (replan) PlanAllPeers();
}

void DataPlane::PlanAllPeers() {
  for (auto& peer : peers_) PlanPeer(*peer);
}

void DataPlane::PlanPeer(Peer& peer) {
  const std::vector<PlannedPath> plan = PlanPaths(interfaces_.interfaces(), &peer.bond->policy(),
                                                  peer.config.endpoints, {tun_.name()});
  for (const PlannedPath& pp : plan) {
    bool known = false;
    for (const PeerPath& existing : peer.paths) {
      if (existing.in_use && existing.socket->interface == pp.interface &&
          existing.socket->address == pp.local_address &&
          existing.remote.ToString() == pp.remote_endpoint) {
        known = true;
      }
    }
    if (known) continue;
    LinkSocket* socket = SocketFor(pp.interface, pp.local_address, pp.family);
    if (socket == nullptr) continue;
    absl::StatusOr<transport::Endpoint> remote = transport::Endpoint::Parse(pp.remote_endpoint);
    if (!remote.ok()) continue;
    absl::StatusOr<bond::PathId> id = peer.bond->AddPath(
        {.link = pp.interface,
         .family = pp.family == AF_INET6 ? bond::IpFamily::kV6 : bond::IpFamily::kV4,
         .local = pp.local_address,
         .remote = pp.remote_endpoint});
    if (!id.ok()) {
      std::cerr << "fleetbond-node: peer " << peer.config.id.ToString() << ": "
                << id.status().message() << "\n";
      continue;
    }
    PeerPath& path = peer.paths[*id];
    path = PeerPath{};
    path.in_use = true;
    path.socket = socket;
    path.remote = *remote;
    const InterfaceState* iface = interfaces_.Find(pp.interface);
    if (iface != nullptr && !(iface->admin_up && iface->carrier)) {
      peer.bond->SetCarrier(pp.interface, false);
    }
  }
  peer.next_tick = absl::InfinitePast();
}

absl::Status DataPlane::Run() {
  {
    absl::MutexLock lock(&tasks_mu_);
    running_ = true;
  }
  absl::Status status = Loop();
  absl::MutexLock lock(&tasks_mu_);
  running_ = false;
  // Callers still waiting are served here, so none waits forever.
  for (Task& t : tasks_) {
    t.fn();
    t.done->Notify();
  }
  tasks_.clear();
  return status;
}

absl::Status DataPlane::Loop() {
  std::array<epoll_event, 64> events;
  std::cerr << "fleetbond-node: " << identity_.id().ToString() << " forwarding on " << tun_.name()
            << " (mtu " << tun_.mtu() << "), " << peers_.size() << " peer(s)\n";
  while (!stop_.load(std::memory_order_relaxed)) {
    // Sleep until the earliest bond tick is due (bounded, so a clock jump cannot stall us).
    absl::Time now = clock_.Now();
    absl::Duration wait = absl::Milliseconds(200);
    for (const auto& peer : peers_) {
      wait = std::min({wait, peer->next_tick - now, peer->next_session_tick - now});
    }
    const int timeout_ms =
        wait <= absl::ZeroDuration() ? 0 : static_cast<int>(absl::ToInt64Milliseconds(wait)) + 1;
    int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == 1) {
        OnTunReadable();
      } else if (tag == 2) {
        OnNetlinkReadable();
      } else if (tag == 3) {
        signalfd_siginfo info;
        while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
          std::cerr << "fleetbond-node: " << strsignal(static_cast<int>(info.ssi_signo))
                    << ", stopping\n";
          stop_ = true;
        }
      } else if (tag == 4) {
        uint64_t value;
        (void)!read(wake_fd_, &value, sizeof(value));
        DrainTasks();
      } else if (tag >= 1000 && tag - 1000 < sockets_.size() && sockets_[tag - 1000]) {
        OnSocketReadable(tag - 1000);
      }
    }
    RunTicks();
    FlushSockets();
  }
  return absl::OkStatus();
}

void DataPlane::Stop() {
  stop_ = true;
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

DataPlane::Peer* DataPlane::PeerForDestination(const uint8_t* packet, size_t size) {
  if (size >= 20 && (packet[0] >> 4) == 4) {
    auto it = peers_by_overlay_.find(MakeOverlayKey(packet + 16, 4));
    return it == peers_by_overlay_.end() ? nullptr : it->second;
  }
  if (size >= 40 && (packet[0] >> 4) == 6) {
    auto it = peers_by_overlay_.find(MakeOverlayKey(packet + 24, 16));
    return it == peers_by_overlay_.end() ? nullptr : it->second;
  }
  return nullptr;
}

void DataPlane::SendOnPath(Peer& peer, bond::PathId path, const uint8_t* datagram, size_t size) {
  PeerPath& pp = peer.paths[path];
  if (!pp.in_use || pp.socket == nullptr) return;
  pp.socket->socket.Send(pp.remote, std::span<const uint8_t>(datagram, size));
  pp.socket->dirty = true;
}

void DataPlane::OnTunReadable() {
  alignas(16) static thread_local uint8_t buf[kBufferSize];
  alignas(16) static thread_local uint8_t copy[kBufferSize];
  uint8_t* inner = buf + transport::kDataPayloadOffset;
  const size_t max_inner = kBufferSize - transport::kDataOverhead;
  const absl::Time now = clock_.Now();
  for (size_t i = 0; i < kTunBatch; ++i) {
    ssize_t n = tun_.Read(std::span<uint8_t>(inner, max_inner));
    if (n <= 0) break;
    const size_t len = static_cast<size_t>(n);
    Peer* peer = PeerForDestination(inner, len);
    if (peer == nullptr) {
      ++drops_.no_route;
      continue;
    }
    bond::PathSet paths =
        peer->bond->Select({.flow = bond::ClassifyPacket(std::span<const uint8_t>(inner, len)),
                            .size = static_cast<uint32_t>(len)},
                           now);
    if (paths.empty()) {
      ++drops_.no_usable_path;
      continue;
    }
    transport::PacketCodec* codec = peer->session->SendCodec();
    if (codec == nullptr) {
      // No session keys yet (the first handshake is under way) or any more (rekeying failed).
      ++drops_.by_reason[static_cast<size_t>(DropReason::kNoSession)];
      continue;
    }
    const uint64_t bond_seq = peer->next_bond_seq++;
    const bool several = paths.size() > 1;
    if (several) std::memcpy(copy, inner, len);
    for (bond::PathId p : paths) {
      // Sealing is in place; a second path re-seals from the saved plaintext.
      if (several) std::memcpy(inner, copy, len);
      transport::SealResult r =
          codec->SealData(peer->paths[p].next_path_seq++, bond_seq,
                          std::span<const uint8_t>(inner, len), std::span<uint8_t>(buf));
      if (!r.ok()) {
        ++drops_.seal_failures;
        continue;
      }
      SendOnPath(*peer, p, buf, r.size);
    }
  }
  FlushSockets();
}

void DataPlane::OnSocketReadable(size_t socket_index) {
  LinkSocket& ls = *sockets_[socket_index];
  const absl::Time now = clock_.Now();
  for (int round = 0; round < 4; ++round) {
    transport::UdpSocket::Batch& batch = ls.socket.Receive();
    if (batch.count() == 0) break;
    for (size_t i = 0; i < batch.count(); ++i) {
      // Open decrypts in place; the batch buffer is ours until the next Receive.
      std::span<uint8_t> datagram = batch.Datagram(i);
      const size_t datagram_size = datagram.size();
      const transport::Endpoint& from = batch.Source(i);

      transport::Header header;
      DropReason why =
          batch.Truncated(i) ? DropReason::kTooLong : transport::ParseHeader(datagram, &header);
      Peer* peer = nullptr;
      if (why == DropReason::kNone) {
        auto it = peers_by_id_.find(header.sender.value());
        if (it == peers_by_id_.end()) {
          why = DropReason::kUnknownPeer;
        } else {
          peer = it->second;
        }
      }
      // The path this datagram came in on, if it is one of the peer's.
      bond::PathId path = bond::kNoPath;
      if (peer != nullptr) {
        for (size_t p = 0; p < peer->paths.size(); ++p) {
          const PeerPath& pp = peer->paths[p];
          if (pp.in_use && pp.socket == &ls && pp.remote == from) {
            path = static_cast<bond::PathId>(p);
            break;
          }
        }
      }
      if (why == DropReason::kNone && (header.type == MessageType::kHandshakeInitiation ||
                                       header.type == MessageType::kHandshakeResponse)) {
        why = OnHandshakeMessage(*peer, path, datagram, now);
        if (why != DropReason::kNone) {
          ++drops_.by_reason[static_cast<size_t>(why)];
          if (path != bond::kNoPath && why == DropReason::kAuthenticationFailed) {
            peer->bond->OnBadPacket(path);
          }
        }
        continue;
      }
      transport::OpenedPacket packet;
      if (why == DropReason::kNone) why = peer->session->Open(datagram, &packet);
      if (why != DropReason::kNone) {
        ++drops_.by_reason[static_cast<size_t>(why)];
        // Packets under an epoch we no longer (or do not yet) hold are a key transition, not a
        // sign of a bad path.
        if (path != bond::kNoPath && why != DropReason::kNoSession &&
            why != DropReason::kUnknownKeyEpoch) {
          peer->bond->OnBadPacket(path);
        }
        continue;
      }
      if (path == bond::kNoPath) {
        ++drops_.unknown_path;
        continue;
      }
      PeerPath& pp = peer->paths[path];
      ++pp.rx_packets;
      if (static_cast<int32_t>(packet.path_seq - pp.highest_rx_path_seq) > 0) {
        pp.highest_rx_path_seq = packet.path_seq;
      }
      peer->bond->OnReceive(path, static_cast<uint32_t>(datagram_size));
      switch (packet.header.type) {
        case MessageType::kData:
          if (peer->dedup.Check(packet.bond_seq) != bond::DuplicateFilter::Verdict::kNew) {
            ++drops_.duplicates;
            break;
          }
          (void)tun_.Write(packet.inner_packet);
          break;
        case MessageType::kProbe: {
          transport::ProbeReply reply{.probe_seq = packet.probe.probe_seq,
                                      .echoed_timestamp_ns = packet.probe.sender_timestamp_ns,
                                      .hold_time_ns = 0,
                                      .highest_path_seq = pp.highest_rx_path_seq,
                                      .received_on_path = pp.rx_packets};
          transport::PacketCodec* codec = peer->session->SendCodec();
          if (codec == nullptr) break;
          uint8_t out[128];
          transport::SealResult r =
              codec->SealProbeReply(pp.next_path_seq++, reply, std::span<uint8_t>(out));
          if (r.ok()) SendOnPath(*peer, path, out, r.size);
          break;
        }
        case MessageType::kProbeReply:
          peer->bond->OnProbeReply(path, packet.probe_reply.probe_seq);
          break;
        default:
          break;
      }
    }
  }
}

void DataPlane::OnNetlinkReadable() {
  alignas(8) static uint8_t buf[32768];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = recv(netlink_fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno == ENOBUFS) {
        // The kernel dropped notifications: resynchronise from a dump.
        absl::StatusOr<netlink::Events> all = netlink::DumpLinksAndAddresses();
        if (all.ok()) ApplyInterfaceChanges(interfaces_.Apply(*all));
        continue;
      }
      break;
    }
    ApplyInterfaceChanges(
        interfaces_.Apply(netlink::ParseEvents(std::span<const uint8_t>(buf, n))));
  }
}

void DataPlane::RunTicks() {
  const absl::Time now = clock_.Now();
  for (auto& peer : peers_) {
    if (now >= peer->next_session_tick) TickSession(*peer, now);
    if (now < peer->next_tick) continue;
    bond::TickResult tick = peer->bond->Tick();
    peer->next_tick = tick.next_tick;
    for (const bond::Probe& probe : tick.probes) {
      PeerPath& pp = peer->paths[probe.path];
      if (!pp.in_use) continue;
      // Without session keys the probe is not sent (the bond counts it lost, which is the truth:
      // nothing can cross this path until the handshake completes).
      transport::PacketCodec* codec = peer->session->SendCodec();
      if (codec == nullptr) continue;
      uint8_t out[128];
      transport::SealResult r = codec->SealProbe(
          pp.next_path_seq++,
          {.probe_seq = probe.seq,
           .sender_timestamp_ns = static_cast<uint64_t>(absl::ToUnixNanos(probe.sent_at))},
          std::span<uint8_t>(out));
      if (r.ok()) SendOnPath(*peer, probe.path, out, r.size);
    }
  }
}

void DataPlane::TickSession(Peer& peer, absl::Time now) {
  peer.next_session_tick = now + kSessionTickInterval;
  const bool had_session = peer.session->established();
  std::optional<transport::PeerSession::Outgoing> out = peer.session->Tick();
  if (had_session && !peer.session->established()) {
    std::cerr << "fleetbond-node: peer " << peer.config.id.ToString()
              << ": session keys expired without a new handshake; sending stops until one "
                 "completes\n";
  }
  if (out.has_value()) SendHandshake(peer, *out, now);
}

void DataPlane::SendHandshake(Peer& peer, const transport::PeerSession::Outgoing& message,
                              absl::Time now) {
  std::array<bond::PathId, bond::kMaxPaths> usable{};
  size_t count = 0;
  for (size_t p = 0; p < peer.paths.size(); ++p) {
    if (peer.paths[p].in_use && peer.paths[p].socket != nullptr) {
      usable[count++] = static_cast<bond::PathId>(p);
    }
  }
  if (count == 0) return;
  // The path the bond would choose first; each retry moves one path further.
  size_t first = 0;
  bond::PathSet chosen =
      peer.bond->Select({.flow = std::nullopt, .size = transport::kHandshakeMessageSize}, now);
  if (!chosen.empty()) {
    const bond::PathId want = chosen.first();
    for (size_t i = 0; i < count; ++i) {
      if (usable[i] == want) first = i;
    }
  }
  const bond::PathId path = usable[(first + static_cast<size_t>(message.attempt)) % count];
  SendOnPath(peer, path, message.message.data(), message.message.size());
}

DropReason DataPlane::OnHandshakeMessage(Peer& peer, bond::PathId path, std::span<uint8_t> datagram,
                                         absl::Time now) {
  if (static_cast<MessageType>(datagram[transport::kTypeOffset]) ==
      MessageType::kHandshakeInitiation) {
    // Every initiation costs an X25519 before its tag can be judged: bound them over all peers.
    const double rate = options_.max_initiations_per_second;
    if (initiation_tokens_at_ == absl::InfinitePast()) {
      initiation_tokens_ = rate;
    } else {
      initiation_tokens_ = std::min(
          rate, initiation_tokens_ + rate * absl::ToDoubleSeconds(now - initiation_tokens_at_));
    }
    initiation_tokens_at_ = now;
    if (initiation_tokens_ < 1) return DropReason::kHandshakeRateLimited;
    initiation_tokens_ -= 1;
  }
  const bool had_session = peer.session->established();
  std::optional<transport::PeerSession::Outgoing> reply;
  const DropReason why = peer.session->OnHandshake(datagram, &reply);
  if (why != DropReason::kNone) return why;
  if (!had_session && peer.session->established()) {
    std::cerr << "fleetbond-node: peer " << peer.config.id.ToString() << ": session keys "
              << "established (epoch " << static_cast<int>(peer.session->current_epoch()) << ")\n";
  }
  if (reply.has_value()) {
    if (path != bond::kNoPath) {
      SendOnPath(peer, path, reply->message.data(), reply->message.size());
    } else {
      ++drops_.unknown_path;
    }
  }
  return DropReason::kNone;
}

void DataPlane::FlushSockets() {
  for (auto& s : sockets_) {
    if (s && s->dirty) {
      s->socket.Flush();
      s->dirty = false;
    }
  }
}

void DataPlane::RunInLoop(absl::AnyInvocable<void()> fn) {
  absl::Notification done;
  {
    absl::MutexLock lock(&tasks_mu_);
    if (!running_) {
      fn();
      return;
    }
    tasks_.push_back({std::move(fn), &done});
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  done.WaitForNotification();
}

void DataPlane::DrainTasks() {
  std::vector<Task> tasks;
  {
    absl::MutexLock lock(&tasks_mu_);
    tasks.swap(tasks_);
  }
  for (Task& t : tasks) {
    t.fn();
    t.done->Notify();
  }
}

namespace {

// PeerNotFound is the answer for a peer id that is none of this node's peers.
absl::Status PeerNotFound(absl::string_view peer_id) {
  return absl::NotFoundError(
      absl::StrCat("no bond to peer \"", peer_id, "\": it is not one of this node's peers"));
}

}  // namespace

DataPlane::Peer* DataPlane::FindPeer(absl::string_view peer_id) {
  absl::StatusOr<NodeId> id = NodeId::Parse(peer_id);
  if (!id.ok()) return nullptr;
  auto it = peers_by_id_.find(id->value());
  return it == peers_by_id_.end() ? nullptr : it->second;
}

std::vector<bond::BondSnapshot> DataPlane::Snapshots() {
  std::vector<bond::BondSnapshot> out;
  RunInLoop([&] {
    for (const auto& peer : peers_) out.push_back(peer->bond->Snapshot());
  });
  return out;
}

absl::StatusOr<bond::BondSnapshot> DataPlane::Snapshot(absl::string_view peer_id) {
  absl::StatusOr<bond::BondSnapshot> out = PeerNotFound(peer_id);
  RunInLoop([&] {
    if (Peer* p = FindPeer(peer_id)) out = p->bond->Snapshot();
  });
  return out;
}

absl::StatusOr<bond::Rotation> DataPlane::Rotate(absl::string_view peer_id) {
  absl::StatusOr<bond::Rotation> out = PeerNotFound(peer_id);
  RunInLoop([&] {
    if (Peer* p = FindPeer(peer_id)) out = p->bond->Rotate();
  });
  return out;
}

void DataPlane::ApplySettings(settings::LoadedLocalConf settings) {
  RunInLoop([&] {
    settings_ = std::move(settings);
    for (auto& peer : peers_) {
      std::optional<ResolvedPolicy> policy = settings_.resolver.ForPeer(peer->config.id.ToString());
      peer->bond->UpdatePolicy(policy.has_value() ? *policy
                                                  : DefaultPolicy(BasePolicy::kActiveBackup));
      PlanPeer(*peer);
    }
  });
}

void DataPlane::SetDirectory(StandaloneConfig directory) {
  RunInLoop([&] {
    const DirectoryChange change = DiffDirectory(standalone_, directory);
    if (change.empty()) return;
    SetOverlay(directory.overlay);
    for (NodeId id : change.removed) {
      RemovePeer(id);
      std::cerr << "fleetbond-node: peer " << id.ToString() << " removed\n";
    }
    std::vector<NodeId> unusable;
    auto add = [&](const StaticPeer& sp) {
      absl::Status s = AddPeer(sp);
      if (!s.ok()) {
        std::cerr << "fleetbond-node: peer " << sp.id.ToString() << " left out: " << s.message()
                  << "\n";
        unusable.push_back(sp.id);
        return;
      }
      PlanPeer(*peers_.back());
    };
    for (const StaticPeer& sp : change.replaced) {
      RemovePeer(sp.id);
      add(sp);
    }
    for (const StaticPeer& sp : change.added) add(sp);
    for (const StaticPeer& sp : change.moved) {
      Peer* peer = FindPeer(sp.id.ToString());
      if (peer == nullptr) continue;
      // Paths to endpoints that are gone go; those that remain keep their measurements.
      for (size_t p = 0; p < peer->paths.size(); ++p) {
        PeerPath& path = peer->paths[p];
        if (!path.in_use) continue;
        const std::string remote = path.remote.ToString();
        if (std::find(sp.endpoints.begin(), sp.endpoints.end(), remote) == sp.endpoints.end()) {
          (void)peer->bond->RemovePath(static_cast<bond::PathId>(p));
          path = PeerPath{};
        }
      }
      peer->config = sp;
      PlanPeer(*peer);
    }
    std::sort(peers_.begin(), peers_.end(),
              [](const std::unique_ptr<Peer>& a, const std::unique_ptr<Peer>& b) {
                return a->config.id < b->config.id;
              });
    standalone_.peers.clear();
    for (const StaticPeer& sp : directory.peers) {
      if (std::find(unusable.begin(), unusable.end(), sp.id) == unusable.end()) {
        standalone_.peers.push_back(sp);
      }
    }
    std::cerr << "fleetbond-node: directory: " << peers_.size() << " peer(s), "
              << change.added.size() << " added, " << change.removed.size() << " removed, "
              << change.replaced.size() << " replaced, " << change.moved.size() << " moved\n";
  });
}

StandaloneConfig DataPlane::CurrentDirectory() {
  StandaloneConfig out;
  RunInLoop([&] { out = standalone_; });
  return out;
}

std::vector<InterfaceState> DataPlane::Interfaces() {
  std::vector<InterfaceState> out;
  RunInLoop([&] {
    for (const InterfaceState* i : interfaces_.interfaces()) out.push_back(*i);
  });
  return out;
}

settings::LocalConf DataPlane::CurrentSettings() {
  settings::LocalConf out;
  RunInLoop([&] { out = settings_.conf; });
  return out;
}

DataPlane::DropCounters DataPlane::Drops() {
  DropCounters out;
  RunInLoop([&] {
    out = drops_;
    out.handshakes = retired_handshakes_;
    for (const auto& peer : peers_) out.handshakes += peer->session->counters();
  });
  return out;
}

}  // namespace fleetbond::daemon
