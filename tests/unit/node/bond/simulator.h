// simulator.h
//
// Simulator drives one Bond with simulated paths and simulated traffic on a FakeClock, and
// records who carried what and when the bond failed over. Each simulated path has a model
// (round-trip latency, jitter, loss, up/down); the simulator answers the bond's probes according
// to it, and can feed inbound traffic and bad packets. Time moves in fixed steps; in each step the
// simulator delivers due probe replies, runs Bond::Tick when due, then sends the step's packets.
//
// Example:
//   FakeClock clock;
//   Bond bond("peer", policy, clock, {.seed = 1});
//   Simulator sim(clock, bond);
//   PathId a = sim.AddPath("eth0", {.rtt = absl::Milliseconds(10)});
//   sim.SetTraffic({.flows = 100, .packets_per_step = 2});
//   sim.Run(absl::Seconds(5));
//   sim.At(absl::Seconds(1), [&] { sim.SetUp(a, false); });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "node/bond/bond.h"
#include "node/bond/duplicate_filter.h"
#include "node/bond/prng.h"
#include "shared/clock.h"

namespace fleetbond::bond::sim {

// PathModel is how a simulated path behaves.
struct PathModel {
  absl::Duration rtt = absl::Milliseconds(10);   // mean round-trip time
  absl::Duration jitter = absl::ZeroDuration();  // RTT is uniform in rtt +- jitter
  double loss = 0;                               // probability a probe (or a packet) is lost
  bool up = true;                                // false: silently drops everything
  // Data packets per second the path carries (0: unlimited), through a token bucket of 20
  // packets; packets beyond it are dropped and counted in PathStats::dropped_over_rate.
  double rate_pps = 0;
};

// Traffic is the simulated outgoing load, per step.
struct Traffic {
  int flows = 0;                 // distinct flows (src ports 10000..), 0: portless only
  int packets_per_step = 0;      // packets sent per step
  double portless_fraction = 0;  // share of packets without a flow
  uint32_t size = 1000;          // bytes per packet
};

// PathStats is what one path carried.
struct PathStats {
  uint64_t packets = 0;
  uint64_t packets_while_down = 0;  // sent while its model was down (lost)
  absl::Time last_sent_while_down = absl::InfinitePast();
  absl::Time down_since = absl::InfinitePast();
  absl::Duration longest_down_use = absl::ZeroDuration();  // max (send time - down_since)
  uint64_t dropped_over_rate = 0;                          // beyond the path's rate
};

// ActiveChange is one change of the bond's active path (active-backup).
struct ActiveChange {
  absl::Time at;
  PathId path;
};

class Simulator {
 public:
  Simulator(FakeClock& clock, Bond& bond, uint64_t seed = 1);

  // AddPath adds a path on `link` to the bond and models it; fails the test on error.
  PathId AddPath(const std::string& link, PathModel model, IpFamily family = IpFamily::kV4);
  PathModel& model(PathId path) { return models_.at(path); }

  // SetUp makes a path silently dead (false) or alive (true); the bond is not told.
  void SetUp(PathId path, bool up);
  // SetCarrier tells the bond about a carrier change on `link` and sets its paths' models.
  void SetCarrier(const std::string& link, bool up);

  void SetTraffic(const Traffic& traffic) { traffic_ = traffic; }
  // At runs `fn` once when simulated time reaches start + `after`.
  void At(absl::Duration after, std::function<void()> fn);
  // Run advances time by `duration` in steps.
  void Run(absl::Duration duration);
  // SettleUntilUsable runs until every modelled path that is up is usable (at most `limit`).
  void Settle(absl::Duration limit = absl::Seconds(2));

  // Inbound data per step on each up path (refreshes liveness; counts for the error ratio).
  void SetInboundPerStep(int packets) { inbound_per_step_ = packets; }
  // Fraction of inbound packets that fail authentication on `path`.
  void SetBadFraction(PathId path, double fraction) { bad_fraction_[path] = fraction; }

  // Broadcast check: when enabled, every packet gets a sequence number and each copy sent on a
  // path that is up and does not lose it reaches a DuplicateFilter, like the receiving node.
  void EnableDelivery() { delivery_ = true; }
  uint64_t sent_packets() const { return sent_; }
  uint64_t delivered_unique() const { return filter_.accepted(); }
  uint64_t delivered_duplicates() const { return filter_.duplicates(); }
  // packets_without_path counts Select calls that returned no path.
  uint64_t packets_without_path() const { return no_path_; }
  // lost_packets counts packets none of whose copies could arrive (every chosen path down or
  // every copy lost).
  uint64_t lost_packets() const { return lost_; }

  const PathStats& stats(PathId path) { return stats_[path]; }
  void ResetStats();
  const std::vector<ActiveChange>& active_changes() const { return active_changes_; }
  absl::Time start() const { return start_; }
  absl::Duration step() const { return step_; }
  void set_step(absl::Duration step) { step_ = step; }
  // FlowKeyFor returns the key of simulated flow `i`.
  static FlowKey FlowKeyFor(int i);

 private:
  struct Reply {
    absl::Time at;
    PathId path;
    uint32_t seq;
    bool operator>(const Reply& o) const { return at > o.at; }
  };

  void StepOnce();
  absl::Duration SampleRtt(const PathModel& m);
  bool Lost(const PathModel& m);
  void SendTraffic(absl::Time now);

  FakeClock& clock_;
  Bond& bond_;
  Prng rng_;
  absl::Time start_;
  absl::Duration step_ = absl::Milliseconds(1);
  absl::Time next_tick_;
  std::map<PathId, PathModel> models_;
  std::map<PathId, std::string> links_;
  std::map<PathId, PathStats> stats_;
  std::map<PathId, double> bad_fraction_;
  std::map<PathId, double> tokens_;
  std::priority_queue<Reply, std::vector<Reply>, std::greater<Reply>> replies_;
  std::multimap<absl::Time, std::function<void()>> events_;
  Traffic traffic_;
  int inbound_per_step_ = 0;
  uint64_t flow_cursor_ = 0;
  bool delivery_ = false;
  uint64_t next_sequence_ = 1;
  DuplicateFilter filter_;
  uint64_t sent_ = 0;
  uint64_t no_path_ = 0;
  uint64_t lost_ = 0;
  std::vector<ActiveChange> active_changes_;
  PathId last_active_ = kNoPath;
};

}  // namespace fleetbond::bond::sim
