// path_monitor.h
//
// PathMonitor watches one path of a bond: it decides when to probe, matches probe replies to the
// probes sent, measures latency, packet delay variation (PDV), packet loss ratio (PLR) and packet
// error ratio (PER) over a sliding window, and runs the path's up/down state machine with the
// policy's upDelay and downDelay. It never sends anything itself: Bond::Tick collects the probes
// that are due and the daemon sends them.
//
// Timing (see docs/engine.md, "Probing"):
//   probe interval   = clamp(failoverInterval / 4, 1 ms, 10 s)
//   monitor tick     = min(probe interval, 50 ms)
//   a path that heard nothing (probe reply or any authenticated packet) for failoverInterval is
//   failed; a probe unanswered for failoverInterval is lost.
// With four probes per failoverInterval a healthy path is only declared failed when four
// consecutive probes (and all data) go missing, and a dead path is detected at most
// failoverInterval + one monitor tick after the last packet it delivered.
//
// Metrics (over the last `window` probes; see docs/engine.md, "Quality metrics"):
//   latency  mean round-trip time of the answered probes, in ms
//   pdv      population standard deviation of those round-trip times, in ms
//   plr      lost probes / decided probes
//   per      bad packets / (good + bad packets) received over the same span of time
//
// Example:
//   PathMonitor m({.failover_interval = absl::Seconds(1)}, clock.Now());
//   if (m.ProbeDue(now)) send(m.StartProbe(now));
//   m.OnProbeReply(seq, now);
//   m.Update(now);
//   if (m.usable()) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace fleetbond::bond {

// ProbeInterval returns how often a path is probed for a given failoverInterval.
absl::Duration ProbeInterval(absl::Duration failover_interval);
// MonitorTickInterval returns how often Bond::Tick should run for a given failoverInterval.
absl::Duration MonitorTickInterval(absl::Duration failover_interval);

// PathState is the up/down state of a path.
enum class PathState {
  kDown,       // not heard from within failoverInterval (or carrier down): carries nothing
  kGoingUp,    // healthy again, waiting out upDelay: carries nothing yet
  kUp,         // healthy: usable
  kGoingDown,  // failure detected, keeping its role for downDelay: still usable
};
const char* PathStateName(PathState s);

// PathMetrics are a path's measured qualities. `measured` is false until a probe was answered.
struct PathMetrics {
  bool measured = false;
  double latency_ms = 0;
  double pdv_ms = 0;
  double plr = 0;
  double per = 0;
};

class PathMonitor {
 public:
  struct Config {
    absl::Duration failover_interval = absl::Seconds(5);
    absl::Duration up_delay = absl::ZeroDuration();
    absl::Duration down_delay = absl::ZeroDuration();
    // Samples (probes) in the sliding window for latency, PDV and loss.
    size_t window = 128;
  };

  PathMonitor(const Config& config, absl::Time now);

  // Reconfigure applies new timing (a policy update) without forgetting samples or state.
  void Reconfigure(const Config& config);

  // ProbeDue says whether a probe should be sent at `now`.
  bool ProbeDue(absl::Time now) const { return now >= next_probe_; }
  // StartProbe records a probe sent at `now` and returns its sequence number.
  uint32_t StartProbe(absl::Time now);
  // OnProbeReply matches the reply to probe `seq`; returns false (and changes nothing) for an
  // unknown, already answered or already-lost sequence number. A match also counts as traffic
  // heard on the path.
  bool OnProbeReply(uint32_t seq, absl::Time now);
  // OnReceive records an authenticated packet of `bytes` heard on the path.
  void OnReceive(absl::Time now, uint32_t bytes);
  // OnBadPacket records a packet that failed authentication or parsing.
  void OnBadPacket();
  // OnTransmit records a packet sent on the path (probes are recorded by StartProbe).
  void OnTransmit(absl::Time now) { last_tx_ = now; }
  // SetCarrier records the interface's carrier. Losing it fails the path at once (no downDelay:
  // a down interface cannot transmit, so keeping its role would only black-hole traffic).
  void SetCarrier(bool up, absl::Time now);

  // Update times out probes, rolls the error window and advances the state machine. Returns
  // true when usable() changed.
  bool Update(absl::Time now);

  PathState state() const { return state_; }
  // usable is true while the path may carry traffic (kUp or kGoingDown).
  bool usable() const { return state_ == PathState::kUp || state_ == PathState::kGoingDown; }
  bool carrier() const { return carrier_; }
  // metrics returns the metrics as of the last Update (or reply).
  const PathMetrics& metrics() const { return metrics_; }
  // Ages since the last packet heard / sent; InfiniteDuration if never.
  absl::Duration rx_age(absl::Time now) const;
  absl::Duration tx_age(absl::Time now) const;
  uint64_t rx_packets() const { return rx_packets_; }
  uint64_t rx_bytes() const { return rx_bytes_; }
  uint64_t bad_packets() const { return bad_total_; }
  uint64_t probes_sent() const { return probes_sent_; }
  absl::Duration probe_interval() const { return probe_interval_; }

 private:
  struct ProbeSlot {
    uint32_t seq = 0;
    absl::Time sent;
    bool pending = false;
  };

  bool Healthy(absl::Time now) const;
  void Heard(absl::Time now);
  void RecordOutcome(bool answered, double rtt_ms);
  // RecordLost counts a probe sent at `sent` that was never answered.
  void RecordLost(absl::Time sent);
  void Recompute();

  Config config_;
  absl::Duration probe_interval_;
  absl::Time next_probe_;
  uint32_t next_seq_ = 1;

  // In-flight probes, indexed by seq % size.
  std::vector<ProbeSlot> probes_;
  // Outcome ring: rtt_ms >= 0 for an answered probe, -1 for a lost one.
  std::vector<double> outcomes_;
  size_t outcome_next_ = 0;
  size_t outcome_count_ = 0;

  // Error ratio: two buckets of half the window's time span each.
  uint64_t good_cur_ = 0, bad_cur_ = 0, good_prev_ = 0, bad_prev_ = 0;
  absl::Time bucket_start_;

  bool carrier_ = true;
  absl::Time carrier_up_at_ = absl::InfinitePast();
  bool ever_heard_ = false;
  // When the peer was first heard on this path: probes sent before it measure the peer's start-up,
  // not the path, and are not counted as lost.
  absl::Time first_heard_ = absl::InfiniteFuture();
  bool ever_up_ = false;
  absl::Time last_rx_ = absl::InfinitePast();
  absl::Time last_tx_ = absl::InfinitePast();
  PathState state_ = PathState::kDown;
  absl::Time state_since_;

  PathMetrics metrics_;
  uint64_t rx_packets_ = 0;
  uint64_t rx_bytes_ = 0;
  uint64_t bad_total_ = 0;
  uint64_t probes_sent_ = 0;
};

}  // namespace fleetbond::bond
