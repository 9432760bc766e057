#include "tests/unit/node/bond/simulator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fleetbond::bond::sim {

Simulator::Simulator(FakeClock& clock, Bond& bond, uint64_t seed)
    : clock_(clock), bond_(bond), rng_(seed), start_(clock.Now()), next_tick_(clock.Now()) {}

FlowKey Simulator::FlowKeyFor(int i) {
  return FlowKey{.src_port = static_cast<uint16_t>(10000 + i % 50000),
                 .dst_port = static_cast<uint16_t>(443 + i / 50000),
                 .protocol = 6};
}

PathId Simulator::AddPath(const std::string& link, PathModel model, IpFamily family) {
  const int n = static_cast<int>(models_.size());
  absl::StatusOr<PathId> id = bond_.AddPath(
      PathSpec{.link = link,
               .family = family,
               .local = family == IpFamily::kV4 ? absl::StrCat("10.0.", n, ".1")
                                                : absl::StrCat("fd00::", n, ":1"),
               .remote = family == IpFamily::kV4 ? absl::StrCat("10.0.", n, ".2/9800")
                                                 : absl::StrCat("[fd00::", n, ":2]/9800")});
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return kNoPath;
  models_[*id] = model;
  links_[*id] = link;
  stats_[*id] = PathStats{};
  if (!model.up) stats_[*id].down_since = clock_.Now();
  return *id;
}

void Simulator::SetUp(PathId path, bool up) {
  PathModel& m = models_.at(path);
  if (m.up == up) return;
  m.up = up;
  stats_[path].down_since = up ? absl::InfinitePast() : clock_.Now();
}

void Simulator::SetCarrier(const std::string& link, bool up) {
  for (auto& [path, name] : links_) {
    if (name == link) SetUp(path, up);
  }
  bond_.SetCarrier(link, up);
}

void Simulator::At(absl::Duration after, std::function<void()> fn) {
  events_.emplace(start_ + after, std::move(fn));
}

void Simulator::ResetStats() {
  for (auto& [path, s] : stats_) {
    absl::Time down = s.down_since;
    s = PathStats{};
    s.down_since = down;
  }
  sent_ = no_path_ = lost_ = 0;
  active_changes_.clear();
}

absl::Duration Simulator::SampleRtt(const PathModel& m) {
  if (m.jitter <= absl::ZeroDuration()) return m.rtt;
  // Uniform in [rtt - jitter, rtt + jitter].
  double u = static_cast<double>(rng_.Next() >> 11) / static_cast<double>(uint64_t{1} << 53);
  return m.rtt + (2 * u - 1) * m.jitter;
}

bool Simulator::Lost(const PathModel& m) {
  if (m.loss <= 0) return false;
  double u = static_cast<double>(rng_.Next() >> 11) / static_cast<double>(uint64_t{1} << 53);
  return u < m.loss;
}

void Simulator::Run(absl::Duration duration) {
  const absl::Time end = clock_.Now() + duration;
  while (clock_.Now() < end) {
    StepOnce();
    clock_.Advance(step_);
  }
}

void Simulator::Settle(absl::Duration limit) {
  const absl::Time end = clock_.Now() + limit;
  while (clock_.Now() < end) {
    StepOnce();
    clock_.Advance(step_);
    bool all = true;
    BondSnapshot s = bond_.Snapshot();
    for (const PathSnapshot& p : s.paths) {
      auto it = models_.find(p.id);
      if (it != models_.end() && it->second.up && p.state != PathState::kUp) all = false;
    }
    if (all) return;
  }
}

void Simulator::StepOnce() {
  const absl::Time now = clock_.Now();
  // Scripted events due now.
  while (!events_.empty() && events_.begin()->first <= now) {
    auto fn = std::move(events_.begin()->second);
    events_.erase(events_.begin());
    fn();
  }
  // Probe replies due now (a path that died meanwhile loses them).
  while (!replies_.empty() && replies_.top().at <= now) {
    Reply r = replies_.top();
    replies_.pop();
    auto it = models_.find(r.path);
    if (it != models_.end() && it->second.up) bond_.OnProbeReply(r.path, r.seq);
  }
  // Inbound data.
  for (int i = 0; i < inbound_per_step_; ++i) {
    for (auto& [path, m] : models_) {
      if (!m.up || Lost(m)) continue;
      auto bad = bad_fraction_.find(path);
      double u = static_cast<double>(rng_.Next() >> 11) / static_cast<double>(uint64_t{1} << 53);
      if (bad != bad_fraction_.end() && u < bad->second) {
        bond_.OnBadPacket(path);
      } else {
        bond_.OnReceive(path, 1000);
      }
    }
  }
  if (now >= next_tick_) {
    TickResult t = bond_.Tick();
    for (const Probe& p : t.probes) {
      auto it = models_.find(p.path);
      if (it == models_.end() || !it->second.up || Lost(it->second)) continue;
      replies_.push(Reply{.at = now + SampleRtt(it->second), .path = p.path, .seq = p.seq});
    }
    next_tick_ = t.next_tick;
  }
  for (auto& [path, m] : models_) {
    if (m.rate_pps <= 0) continue;
    double& t = tokens_[path];
    t = std::min(20.0, t + m.rate_pps * absl::ToDoubleSeconds(step_));
  }
  SendTraffic(now);
  PathId active = bond_.active_path();
  if (active != last_active_) {
    active_changes_.push_back({now, active});
    last_active_ = active;
  }
}

void Simulator::SendTraffic(absl::Time now) {
  for (int i = 0; i < traffic_.packets_per_step; ++i) {
    PacketMeta meta{.size = traffic_.size};
    double u = static_cast<double>(rng_.Next() >> 11) / static_cast<double>(uint64_t{1} << 53);
    if (traffic_.flows > 0 && u >= traffic_.portless_fraction) {
      meta.flow = FlowKeyFor(static_cast<int>(flow_cursor_++ % traffic_.flows));
    }
    PathSet paths = bond_.Select(meta, now);
    ++sent_;
    if (paths.empty()) {
      ++no_path_;
      ++lost_;
      continue;
    }
    const uint64_t seq = next_sequence_++;
    // Copies arrive fastest path first.
    std::vector<std::pair<absl::Duration, PathId>> arrivals;
    for (PathId p : paths) {
      PathStats& s = stats_[p];
      ++s.packets;
      const PathModel& m = models_.at(p);
      if (!m.up) {
        ++s.packets_while_down;
        s.last_sent_while_down = now;
        s.longest_down_use = std::max(s.longest_down_use, now - s.down_since);
        continue;
      }
      if (m.rate_pps > 0) {
        double& t = tokens_[p];
        if (t < 1.0) {
          ++s.dropped_over_rate;
          continue;
        }
        t -= 1.0;
      }
      if (Lost(m)) continue;
      arrivals.emplace_back(m.rtt / 2, p);
    }
    if (arrivals.empty()) {
      ++lost_;
      continue;
    }
    if (delivery_) {
      std::sort(arrivals.begin(), arrivals.end());
      for (size_t c = 0; c < arrivals.size(); ++c) filter_.Check(seq);
    }
  }
}

}  // namespace fleetbond::bond::sim
