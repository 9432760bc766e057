#include "node/bond/path_monitor.h"

#include <algorithm>
#include <cmath>

namespace fleetbond::bond {

absl::Duration ProbeInterval(absl::Duration failover_interval) {
  return std::clamp(failover_interval / 4, absl::Milliseconds(1), absl::Seconds(10));
}

absl::Duration MonitorTickInterval(absl::Duration failover_interval) {
  return std::min(ProbeInterval(failover_interval), absl::Milliseconds(50));
}

const char* PathStateName(PathState s) {
  switch (s) {
    case PathState::kDown:
      return "down";
    case PathState::kGoingUp:
      return "going-up";
    case PathState::kUp:
      return "up";
    case PathState::kGoingDown:
      return "going-down";
  }
  return "unknown";
}

PathMonitor::PathMonitor(const Config& config, absl::Time now)
    : next_probe_(now), bucket_start_(now), state_since_(now) {
  Reconfigure(config);
}

void PathMonitor::Reconfigure(const Config& config) {
  config_ = config;
  if (config_.window == 0) config_.window = 1;
  probe_interval_ = ProbeInterval(config_.failover_interval);
  // Enough slots for every probe that can be in flight before it times out.
  size_t in_flight = static_cast<size_t>(absl::Ceil(config_.failover_interval, probe_interval_) /
                                         probe_interval_) +
                     2;
  in_flight = std::max<size_t>(in_flight, 8);
  if (in_flight != probes_.size()) {
    // Probes still in flight are forgotten: a resize only happens on a policy change.
    probes_.assign(in_flight, ProbeSlot{});
  }
  if (outcomes_.size() != config_.window) {
    outcomes_.assign(config_.window, 0.0);
    outcome_next_ = 0;
    outcome_count_ = 0;
  }
  next_probe_ = std::min(next_probe_, last_tx_ + probe_interval_);
}

uint32_t PathMonitor::StartProbe(absl::Time now) {
  uint32_t seq = next_seq_++;
  if (next_seq_ == 0) next_seq_ = 1;
  ProbeSlot& slot = probes_[seq % probes_.size()];
  if (slot.pending) RecordLost(slot.sent);  // overwritten before it timed out: lost
  slot = ProbeSlot{.seq = seq, .sent = now, .pending = true};
  next_probe_ = now + probe_interval_;
  last_tx_ = now;
  ++probes_sent_;
  return seq;
}

bool PathMonitor::OnProbeReply(uint32_t seq, absl::Time now) {
  ProbeSlot& slot = probes_[seq % probes_.size()];
  if (!slot.pending || slot.seq != seq) return false;
  slot.pending = false;
  RecordOutcome(true, absl::ToDoubleMilliseconds(now - slot.sent));
  Heard(now);
  Recompute();
  return true;
}

void PathMonitor::OnReceive(absl::Time now, uint32_t bytes) {
  ++rx_packets_;
  rx_bytes_ += bytes;
  ++good_cur_;
  Heard(now);
}

void PathMonitor::OnBadPacket() {
  ++bad_cur_;
  ++bad_total_;
}

void PathMonitor::Heard(absl::Time now) {
  if (now > last_rx_) last_rx_ = now;
  if (!ever_heard_) first_heard_ = now;
  ever_heard_ = true;
}

void PathMonitor::RecordLost(absl::Time sent) {
  // Before the peer first answered, a lost probe says the peer was not running yet (nodes start
  // one after the other), not that the path loses packets; counting it would judge every new
  // path lossy for a whole window.
  if (!ever_heard_ || sent < first_heard_) return;
  RecordOutcome(false, 0);
}

void PathMonitor::SetCarrier(bool up, absl::Time now) {
  if (up == carrier_) return;
  carrier_ = up;
  if (up) {
    carrier_up_at_ = now;
  } else {
    state_ = PathState::kDown;
    state_since_ = now;
  }
}

void PathMonitor::RecordOutcome(bool answered, double rtt_ms) {
  outcomes_[outcome_next_] = answered ? rtt_ms : -1.0;
  outcome_next_ = (outcome_next_ + 1) % outcomes_.size();
  outcome_count_ = std::min(outcome_count_ + 1, outcomes_.size());
}

void PathMonitor::Recompute() {
  size_t answered = 0;
  double sum = 0;
  for (size_t i = 0; i < outcome_count_; ++i) {
    if (outcomes_[i] >= 0) {
      ++answered;
      sum += outcomes_[i];
    }
  }
  if (outcome_count_ > 0) metrics_.plr = double(outcome_count_ - answered) / outcome_count_;
  if (answered > 0) {
    double mean = sum / answered;
    double sq = 0;
    for (size_t i = 0; i < outcome_count_; ++i) {
      if (outcomes_[i] >= 0) sq += (outcomes_[i] - mean) * (outcomes_[i] - mean);
    }
    metrics_.measured = true;
    metrics_.latency_ms = mean;
    metrics_.pdv_ms = std::sqrt(sq / answered);
  }
  uint64_t good = good_cur_ + good_prev_;
  uint64_t bad = bad_cur_ + bad_prev_;
  metrics_.per = good + bad == 0 ? 0.0 : double(bad) / double(good + bad);
}

bool PathMonitor::Healthy(absl::Time now) const {
  return carrier_ && ever_heard_ && last_rx_ >= carrier_up_at_ &&
         now - last_rx_ < config_.failover_interval;
}

bool PathMonitor::Update(absl::Time now) {
  bool was_usable = usable();
  for (ProbeSlot& slot : probes_) {
    if (slot.pending && now - slot.sent >= config_.failover_interval) {
      slot.pending = false;
      RecordLost(slot.sent);
    }
  }
  absl::Duration half_window = probe_interval_ * static_cast<int64_t>(config_.window) / 2;
  if (now - bucket_start_ >= half_window) {
    // Two or more half-windows without a roll leave nothing worth keeping in the older bucket.
    bool skipped = now - bucket_start_ >= 2 * half_window;
    good_prev_ = skipped ? 0 : good_cur_;
    bad_prev_ = skipped ? 0 : bad_cur_;
    good_cur_ = bad_cur_ = 0;
    bucket_start_ = now;
  }
  Recompute();

  bool healthy = Healthy(now);
  switch (state_) {
    case PathState::kUp:
      if (!healthy) {
        if (carrier_ && config_.down_delay > absl::ZeroDuration()) {
          state_ = PathState::kGoingDown;
        } else {
          state_ = PathState::kDown;
        }
        state_since_ = now;
      }
      break;
    case PathState::kGoingDown:
      if (healthy) {
        state_ = PathState::kUp;
        state_since_ = now;
      } else if (!carrier_ || now - state_since_ >= config_.down_delay) {
        state_ = PathState::kDown;
        state_since_ = now;
      }
      break;
    case PathState::kDown:
      if (healthy) {
        // The first time a path comes up it is used at once; upDelay is for recoveries.
        state_ = (!ever_up_ || config_.up_delay <= absl::ZeroDuration()) ? PathState::kUp
                                                                         : PathState::kGoingUp;
        state_since_ = now;
      }
      break;
    case PathState::kGoingUp:
      if (!healthy) {
        state_ = PathState::kDown;
        state_since_ = now;
      } else if (now - state_since_ >= config_.up_delay) {
        state_ = PathState::kUp;
        state_since_ = now;
      }
      break;
  }
  if (state_ == PathState::kUp) ever_up_ = true;
  return usable() != was_usable;
}

absl::Duration PathMonitor::rx_age(absl::Time now) const {
  return last_rx_ == absl::InfinitePast() ? absl::InfiniteDuration() : now - last_rx_;
}

absl::Duration PathMonitor::tx_age(absl::Time now) const {
  return last_tx_ == absl::InfinitePast() ? absl::InfiniteDuration() : now - last_tx_;
}

}  // namespace fleetbond::bond
