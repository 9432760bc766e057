// data_plane.h
//
// DataPlane is fleetbond-node's forwarding loop: it carries IP packets between the overlay TUN and
// the node's peers, over every bonded link at once, as each peer's Bond decides.
//
//   TUN --read--> peer by destination overlay address --Bond::Select--> path(s)
//       --PacketCodec::SealData--> the path's UdpSocket --sendmmsg--> peer
//   UdpSocket --recvmmsg--> PeerSession::Open (header, peer, epoch, tag, replay) --> data:
//       de-duplicate by bond sequence, write to the TUN; probe: answer on the same path; reply:
//       Bond; handshake message: PeerSession::OnHandshake, response on the same path
//   rtnetlink --> InterfaceTable --> carrier events to every Bond at once; sockets and paths
//       opened and closed as interfaces and addresses come and go
//   timer --> Bond::Tick --> probes; PeerSession::Tick --> handshake initiations and rekeys
//
// Every peer's keys are a PeerSession: data is sealed only under forward-secret session keys
// (never under the static epoch 0), so nothing goes to a peer until the first handshake with it
// has completed; such packets are dropped and counted as no_session.
// One thread runs it all (epoll); nothing blocks, and nothing on the per-packet path allocates.
// The peer directory and the overlay address may change while it runs (SetDirectory, from the
// controller agent); a node in controller mode starts with neither.
// Packets that fail any check are dropped and counted per path (the `per` metric) or, when no
// path can be named, per reason in DropCounters; they never reach the TUN.
//
// Example:
//   absl::StatusOr<std::unique_ptr<DataPlane>> dp = DataPlane::Create(options, std::move(id),
//                                                                     loaded, standalone);
//   FB_RETURN_IF_ERROR((*dp)->Run());  // until SIGTERM or SIGINT
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "node/bond/bond.h"
#include "node/bond/duplicate_filter.h"
#include "node/daemon/interface_table.h"
#include "node/daemon/standalone_config.h"
#include "node/transport/packet_codec.h"
#include "node/transport/peer_session.h"
#include "node/transport/udp_socket.h"
#include "node/tun/tun_device.h"
#include "shared/clock.h"
#include "shared/identity/identity.h"
#include "shared/settings/local_conf_loader.h"

namespace fleetbond::daemon {

class DataPlane {
 public:
  struct Options {
    std::string tun_name = "fb0";
    uint16_t port = 9800;
    // Link MTU assumed for the overlay MTU arithmetic (transport::InnerMtu).
    uint32_t link_mtu = 1500;
    // Handshake timers and rekey limits (docs/wire-format.md). The environment variable
    // FLEETBOND_TESTING_REKEY_SECONDS, when set, overrides the rekey interval: integration tests
    // use it to force rekeys within seconds.
    transport::HandshakeSettings handshake;
    // At most this many handshake initiations per second are verified, over all peers (each
    // costs an X25519 before its tag can be checked); more are dropped as handshake_rate_limited.
    uint32_t max_initiations_per_second = 1000;
  };

  // DropCounters count datagrams that could not be attributed to a path, by reason, and the
  // handshakes of all peers (those of removed peers included).
  struct DropCounters {
    std::array<uint64_t, transport::kDropReasonCount> by_reason{};
    uint64_t unknown_path = 0;    // authentic, but from an endpoint that is no path of the peer
    uint64_t no_route = 0;        // TUN packets for an overlay address of no peer
    uint64_t no_usable_path = 0;  // TUN packets for a peer with no usable path
    uint64_t duplicates = 0;      // broadcast copies removed before the TUN
    uint64_t seal_failures = 0;
    transport::HandshakeCounters handshakes;
  };

  static absl::StatusOr<std::unique_ptr<DataPlane>> Create(const Options& options,
                                                           Identity identity,
                                                           settings::LoadedLocalConf settings,
                                                           StandaloneConfig standalone,
                                                           Clock& clock);
  ~DataPlane();

  // Run forwards until SIGTERM or SIGINT arrives (or Stop is called), then returns OK. The
  // signals are blocked in the calling thread and read through a signalfd.
  absl::Status Run();
  // Stop asks Run to return; safe from any thread.
  void Stop();

  // The calls below are safe from any thread (the local API's): each runs on the forwarding
  // thread between two batches (RunInLoop) and waits for it.

  // Snapshots returns every bond's snapshot, ordered by peer id.
  std::vector<bond::BondSnapshot> Snapshots();
  // Snapshot returns one peer's bond; NOT_FOUND for a peer that is not configured.
  absl::StatusOr<bond::BondSnapshot> Snapshot(absl::string_view peer_id);
  // Rotate rotates one peer's active-backup bond (FAILED_PRECONDITION with the engine's reason
  // otherwise; NOT_FOUND for an unknown peer).
  absl::StatusOr<bond::Rotation> Rotate(absl::string_view peer_id);
  // ApplySettings replaces the bonding settings live: every bond gets its newly resolved policy
  // (UpdatePolicy keeps paths, measurements and flows) and paths are re-planned. Static peers
  // and the overlay address are not changed by it.
  void ApplySettings(settings::LoadedLocalConf settings);
  // CurrentSettings returns the settings in force.
  settings::LocalConf CurrentSettings();
  // SetDirectory replaces this node's overlay address and its peers live (a controller's push):
  // peers that are gone lose their bond, paths and overlay route at once (their datagrams are
  // then refused as from an unknown peer); new peers get a bond; a peer whose key or overlay
  // address changed gets a fresh bond; a peer whose endpoints alone changed keeps its bond and
  // the measurements of the paths that remain. A new overlay replaces the TUN's address (and so
  // its route). A peer whose key cannot be used is logged and left out. `directory` is valid
  // (ParseStandaloneConfig or the controller agent judged it).
  void SetDirectory(StandaloneConfig directory);
  // CurrentDirectory returns the overlay address and peers in force.
  StandaloneConfig CurrentDirectory();
  // Interfaces returns the host's interfaces as the data plane sees them (rtnetlink).
  std::vector<InterfaceState> Interfaces();
  // Drops returns a copy of the drop counters.
  DropCounters Drops();

  NodeId id() const { return identity_.id(); }
  const PublicKey& public_key() const { return identity_.public_key(); }
  // overlay is this node's "ip/prefixlen" on the overlay; empty while it has none.
  std::string overlay() { return CurrentDirectory().overlay; }
  uint16_t port() const { return options_.port; }
  const tun::TunDevice& tun() const { return tun_; }

  // RunInLoop runs `fn` on the forwarding thread and returns when it has run. While Run is not
  // running, `fn` runs at once on the calling thread (serialised with other callers).
  void RunInLoop(absl::AnyInvocable<void()> fn);

 private:
  struct LinkSocket;
  struct PeerPath;
  struct Peer;

  DataPlane(const Options& options, Identity identity, settings::LoadedLocalConf settings,
            StandaloneConfig standalone, Clock& clock, tun::TunDevice tun);

  absl::Status Start();
  // AddPeer builds the codec and bond of one peer and enters it in the lookup tables.
  absl::Status AddPeer(const StaticPeer& config);
  // RemovePeer drops a peer, its bond and its lookup entries.
  void RemovePeer(NodeId id);
  // SetOverlay moves the TUN's address from the current overlay to `overlay` (either may be
  // empty).
  void SetOverlay(const std::string& overlay);
  absl::Status Loop();
  void ApplyInterfaceChanges(const std::vector<InterfaceChange>& changes);
  void PlanAllPeers();
  void PlanPeer(Peer& peer);
  LinkSocket* SocketFor(const std::string& interface, const std::string& address, int family);
  void CloseSocketsFor(const std::string& interface, const std::string* address);

  void DrainTasks();
  Peer* FindPeer(absl::string_view peer_id);
  void OnTunReadable();
  void OnSocketReadable(size_t socket_index);
  void OnNetlinkReadable();
  void RunTicks();
  void FlushSockets();
  void SendOnPath(Peer& peer, bond::PathId path, const uint8_t* datagram, size_t size);
  // SendHandshake sends an initiation on the path the bond would use, or on another one for a
  // retry (`attempt` > 0), so that one dead path cannot stall the handshake.
  void SendHandshake(Peer& peer, const transport::PeerSession::Outgoing& message, absl::Time now);
  // OnHandshakeMessage takes an initiation or response from `peer` that arrived on `path`.
  transport::DropReason OnHandshakeMessage(Peer& peer, bond::PathId path,
                                           std::span<uint8_t> datagram, absl::Time now);
  // TickSession runs one peer's handshake timers.
  void TickSession(Peer& peer, absl::Time now);
  Peer* PeerForDestination(const uint8_t* packet, size_t size);

  Options options_;
  Identity identity_;
  settings::LoadedLocalConf settings_;
  StandaloneConfig standalone_;
  Clock& clock_;
  tun::TunDevice tun_;
  InterfaceTable interfaces_;

  int epoll_fd_ = -1;
  int netlink_fd_ = -1;
  int signal_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};

  struct Task {
    absl::AnyInvocable<void()> fn;
    absl::Notification* done;
  };
  absl::Mutex tasks_mu_;
  std::vector<Task> tasks_ ABSL_GUARDED_BY(tasks_mu_);
  bool running_ ABSL_GUARDED_BY(tasks_mu_) = false;

  std::vector<std::unique_ptr<LinkSocket>> sockets_;
  std::vector<std::unique_ptr<Peer>> peers_;
  absl::flat_hash_map<uint64_t, Peer*> peers_by_id_;
  // Overlay address -> peer. IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d), so one fixed
  // 16-byte key serves both families and a lookup allocates nothing.
  using OverlayKey = std::array<uint8_t, 16>;
  absl::flat_hash_map<OverlayKey, Peer*> peers_by_overlay_;
  DropCounters drops_;
  // Handshake counters of peers that were removed (so the node's totals never go down).
  transport::HandshakeCounters retired_handshakes_;
  // Global budget of initiation verifications (token bucket, refilled per second).
  double initiation_tokens_ = 0;
  absl::Time initiation_tokens_at_ = absl::InfinitePast();
};

}  // namespace fleetbond::daemon
