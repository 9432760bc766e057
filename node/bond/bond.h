// bond.h
//
// Bond is the bond engine for one peer: the peer's paths (link x local address x remote
// endpoint), a PathMonitor per path, the resolved policy and its BondPolicy, the flow table, and
// the per-path counters that `bond <peer> show` prints. It is pure logic: no sockets, no threads,
// time only from the injected Clock. The daemon owns the I/O and calls in:
//
//   - AddPath / RemovePath as interfaces, addresses and peer endpoints come and go;
//   - SetCarrier on rtnetlink link events: losing carrier fails the interface's paths at once;
//   - Tick every tick_interval(): returns the probes to send now (sequence number, timestamp);
//   - OnProbeReply, OnReceive (any authenticated packet), OnBadPacket (authentication/parse
//     failure) from the receive path;
//   - Select for every outgoing packet: the path(s) to send it on (the caller must send on
//     them; Select counts them as sent);
//   - Rotate, UpdatePolicy, Snapshot for the API.
//
// Links and paths. Policies choose among links (interfaces); each link sends on one path at a
// time: its first usable allowed path in ipvPref order (46: IPv4 paths first, 64: IPv6 first,
// 4/6: only that family, 0: in the order they were added). A link is usable while one of its
// paths is. If the policy lists links, paths on other interfaces are kept but never used or
// probed. Limits: kMaxPaths (64) paths and kMaxLinks (64) links per bond.
//
// The flow table stores a LinkId (not a PathId) in FlowEntry::path: a flow belongs to a link, and
// keeps it when the link changes address family or endpoint.
//
// Not thread-safe: one bond belongs to one data-plane thread.
//
// Example:
//   Bond bond("77dcbe7120", policy, clock);
//   PathId p = *bond.AddPath({.link = "eth0", .family = IpFamily::kV4,
//                             .local = "192.168.1.2", .remote = "203.0.113.7/9800"});
//   for (const Probe& probe : bond.Tick().probes) SendProbe(probe);
//   PathSet out = bond.Select({.flow = ClassifyPacket(packet), .size = n});
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/bond/allocation.h"
#include "node/bond/bond_policy.h"
#include "node/bond/flow_table.h"
#include "node/bond/link_quality.h"
#include "node/bond/path_monitor.h"
#include "node/bond/path_set.h"
#include "node/bond/prng.h"
#include "shared/clock.h"
#include "shared/settings/policy.h"

namespace fleetbond::bond {

enum class IpFamily { kV4 = 4, kV6 = 6 };

// PathSpec describes a path when it is added. Addresses are for display and matching only.
struct PathSpec {
  std::string link;  // local interface name, e.g. "eth0"
  IpFamily family = IpFamily::kV4;
  std::string local;   // local address, e.g. "192.168.1.2"
  std::string remote;  // remote endpoint, e.g. "203.0.113.7/9800"
};

// Probe is one probe the daemon must send now.
struct Probe {
  PathId path = kNoPath;
  uint32_t seq = 0;
  absl::Time sent_at;
};

struct TickResult {
  std::vector<Probe> probes;
  absl::Time next_tick;  // when Tick should run again
};

// Rotation reports a successful `bond <peer> rotate`.
struct Rotation {
  PathId from = kNoPath;
  PathId to = kNoPath;
  std::string from_description;  // "eth0/192.168.1.2 -> 203.0.113.7/9800"
  std::string to_description;
};

// PathSnapshot is one row of `bond <peer> show`.
struct PathSnapshot {
  PathId id = kNoPath;
  PathSpec spec;
  PathState state = PathState::kDown;
  bool carrier = true;
  PathMetrics metrics;            // lat (ms), pdv (ms), plr, per
  std::optional<uint32_t> speed;  // the link's capacity hint
  double alloc = 0;               // share carried over the last allocation window
  double target = 0;              // share the policy intends for it
  absl::Duration rx_age = absl::InfiniteDuration();
  absl::Duration tx_age = absl::InfiniteDuration();
  bool eligible = false;  // allowed by the policy and usable
  bool bonded = false;    // in the set traffic is being sent on right now
  bool breaking = false;  // its link breaks a linkQuality limit
  size_t flows = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, rx_packets = 0, rx_bytes = 0;
  uint64_t bad_packets = 0;
  uint64_t probes_sent = 0;
};

// BondSnapshot is everything `bond <peer> show` prints.
struct BondSnapshot {
  std::string peer;
  std::string policy_name;
  BasePolicy base = BasePolicy::kActiveBackup;
  LinkSelectMethod link_select_method = LinkSelectMethod::kOptimize;
  absl::Duration failover_interval, up_delay, down_delay, probe_interval;
  uint32_t packets_per_link = 0;
  int usable_links = 0;  // links with a usable path
  int total_links = 0;   // links the policy uses (listed, or with a path when none are listed)
  PathId active_path = kNoPath;  // active-backup's active path; kNoPath otherwise
  uint64_t failovers = 0;        // times a link carrying traffic failed
  size_t flows = 0;
  uint64_t flow_evictions = 0;
  std::vector<PathSnapshot> paths;  // by PathId
};

class Bond {
 public:
  struct Options {
    // Flow table bound and idle expiry (see docs/engine.md, "Flows").
    size_t max_flows = 65536;
    absl::Duration flow_idle_timeout = absl::Seconds(60);
    // Probes in each path's metric window.
    size_t sample_window = 128;
    // How often flow maintenance (expiry, balance-aware moves) runs, at most.
    absl::Duration maintenance_interval = absl::Milliseconds(100);
    // The `alloc` column's window.
    absl::Duration allocation_window = absl::Seconds(1);
    // Randomness seed (balance-rr packetsPerLink 0, portless packets); random when unset.
    std::optional<uint64_t> seed;
  };

  Bond(std::string peer, ResolvedPolicy policy, Clock& clock);
  Bond(std::string peer, ResolvedPolicy policy, Clock& clock, Options options);
  Bond(const Bond&) = delete;
  Bond& operator=(const Bond&) = delete;

  // AddPath adds a path; ALREADY_EXISTS for a duplicate (same link, local and remote),
  // RESOURCE_EXHAUSTED beyond kMaxPaths paths or kMaxLinks links. A new path is usable as soon
  // as it hears from the peer (a first probe reply); upDelay applies to recoveries only.
  absl::StatusOr<PathId> AddPath(PathSpec spec);
  // RemovePath forgets a path; its link's flows move at their next packet if the link is left
  // with no usable path.
  absl::Status RemovePath(PathId path);

  // SetCarrier reports an interface's carrier (rtnetlink). Down fails its paths at once and moves
  // traffic before this returns; up lets them recover once the peer is heard again (then upDelay).
  // Ignored for an interface with no path.
  void SetCarrier(absl::string_view link, bool up);

  // Tick runs the monitors (probe timeouts, failure detection, up/down delays, quality limits),
  // lets the policy react, runs flow maintenance when due, and returns the probes to send.
  TickResult Tick();

  // OnProbeReply matches a reply to a probe Tick returned; false if it matches none (unknown
  // path or sequence, duplicate, or older than failoverInterval).
  bool OnProbeReply(PathId path, uint32_t seq);
  // OnReceive records an authenticated packet of `bytes` from the peer on `path`.
  void OnReceive(PathId path, uint32_t bytes);
  // OnBadPacket records a packet on `path` that failed authentication or parsing.
  void OnBadPacket(PathId path);

  // Select returns the path(s) to send one packet on, empty when no path is usable. Hot path:
  // no allocation; the overload without `now` reads the clock.
  PathSet Select(const PacketMeta& packet, absl::Time now) {
    LinkMask links = strategy_->Select(packet, now);
    alloc_.Record(links, packet.size);
    PathSet out;
    while (links != 0) {
      const LinkId l = static_cast<LinkId>(std::countr_zero(links));
      links &= links - 1;
      const PathId p = link_path_[l];
      if (p >= kMaxPaths) continue;  // cannot happen: policies choose only links with a path
      out.insert(p);
      TxCounters& tx = tx_[p];
      ++tx.packets;
      tx.bytes += packet.size;
      tx.last = now;
    }
    return out;
  }
  PathSet Select(const PacketMeta& packet) { return Select(packet, clock_.Now()); }

  // Rotate moves an active-backup bond to the next usable link of its queue; FAILED_PRECONDITION
  // with the reason on other policies or when no other link is usable.
  absl::StatusOr<Rotation> Rotate();

  // UpdatePolicy applies a new resolved policy live: paths, their measurements and the flow
  // table are kept (flows stay on their links when the new policy also keeps flows), and the
  // active-backup link stays active if the new policy lets it.
  void UpdatePolicy(ResolvedPolicy policy);

  BondSnapshot Snapshot() const;

  const std::string& peer() const { return peer_; }
  const ResolvedPolicy& policy() const { return policy_; }
  // active_path is active-backup's active path (kNoPath otherwise or when none is usable).
  PathId active_path() const;
  uint64_t failovers() const { return failovers_; }
  absl::Duration tick_interval() const { return MonitorTickInterval(policy_.failover_interval); }
  absl::Duration probe_interval() const { return ProbeInterval(policy_.failover_interval); }
  // The state shared with the policy, and the policy itself (for tests and diagnostics).
  const LinkTable& links() const { return table_; }
  const BondPolicy& bond_policy() const { return *strategy_; }
  const FlowTable& flows() const { return flows_; }
  // LinkOf returns the link a path belongs to; PathOf the path a link sends on.
  LinkId LinkOf(PathId path) const;
  PathId PathOf(LinkId link) const { return link < kMaxLinks ? link_path_[link] : kNoPath; }
  // FindLink returns the id of the link named `name`, or kNoLink.
  LinkId FindLink(absl::string_view name) const;

 private:
  struct PathRecord {
    bool in_use = false;
    PathSpec spec;
    LinkId link = kNoLink;
    bool allowed = false;
    std::optional<PathMonitor> monitor;
  };
  struct LinkRecord {
    std::vector<PathId> paths;  // in preference order
    LimitState limits;
    bool listed = false;  // the policy lists it (or lists no links and it has a path)
    bool carrier = true;
  };
  struct TxCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    absl::Time last = absl::InfinitePast();
  };

  PathMonitor::Config MonitorConfig() const;
  absl::StatusOr<LinkId> FindOrAddLink(absl::string_view name);
  void ApplyPolicyToLinks();
  void SortLinkPaths(LinkId link);
  // UpdateLinkTable recomputes every link's path, usability and quality and the sendable set;
  // `quality_tick` also feeds the limit hysteresis (once per Tick, so its hold time is real).
  void UpdateLinkTable(absl::Time now, bool quality_tick);
  // Refresh updates the link table, lets the policy react, and counts failovers.
  void Refresh(absl::Time now, bool quality_tick);
  std::string Describe(PathId path) const;

  std::string peer_;
  ResolvedPolicy policy_;
  Clock& clock_;
  Options options_;
  Prng rng_;
  FlowTable flows_;
  LinkTable table_;
  std::array<PathRecord, kMaxPaths> paths_;
  std::array<LinkRecord, kMaxLinks> link_records_;
  std::array<PathId, kMaxLinks> link_path_;
  std::array<TxCounters, kMaxPaths> tx_;
  std::unique_ptr<BondPolicy> strategy_;
  AllocationTracker alloc_;
  absl::Time next_maintenance_;
  LinkMask bonded_ = 0;
  uint64_t failovers_ = 0;
};

}  // namespace fleetbond::bond
