// link_quality.h
//
// Link quality as the spec's linkQuality object defines it: four limits (lat_max, pdv_max,
// plr_max, per_max) and four weights summing to 1.
//
//   QualityScore = lat_weight * lat / lat_max + pdv_weight * pdv / pdv_max
//                + plr_weight * plr / plr_max + per_weight * per / per_max
//
// Lower is better: 0 is a perfect link, 1 a link sitting exactly at every weighted limit. The
// score is the "weighted ranking" used by active-backup (queue order, better, optimize) and by
// balance-aware when every link breaks a limit. A limit of 0 makes any non-zero value of that
// metric count as 1e6 times over.
//
// LimitState adds hysteresis to "does this link break a limit", so that a metric hovering near
// its limit cannot make a link flap: a link starts breaking the limits as soon as one metric is
// above its limit, and stops only after every metric stayed at or below kClearFraction of its
// limit for a hold time.
//
// Example:
//   double s = QualityScore(metrics, policy.link_quality);
//   limits.Update(metrics, policy.link_quality, now, hold);
//   if (limits.breaking()) ...
#pragma once

#include "absl/time/time.h"
#include "node/bond/path_monitor.h"
#include "shared/settings/policy.h"

namespace fleetbond::bond {

// QualityScore returns the weighted ranking of `m` under `spec` (see above). An unmeasured path
// scores 0 (nothing known against it); callers that rank check `m.measured` first.
double QualityScore(const PathMetrics& m, const LinkQualitySpec& spec);

// WithinLimits is true when every metric of `m` is at most `fraction` times its limit.
bool WithinLimits(const PathMetrics& m, const LinkQualitySpec& spec, double fraction = 1.0);

// QualityWeight turns a score into the factor balance-aware multiplies a link's capacity with:
// 1 - score / 2, so a perfect link counts fully and one at its limits counts half. Only links
// within their limits get new flows, so the factor stays in [0.5, 1].
double QualityWeight(double score);

// LimitState tracks, with hysteresis, whether one link breaks its quality limits.
class LimitState {
 public:
  // kClearFraction: a breaking link must come back to this fraction of every limit to clear.
  static constexpr double kClearFraction = 0.8;

  // Update feeds the current metrics. An unmeasured link never breaks a limit.
  void Update(const PathMetrics& m, const LinkQualitySpec& spec, absl::Time now,
              absl::Duration hold);
  bool breaking() const { return breaking_; }
  // transitions counts changes of breaking() (for tests and metrics: flapping shows here).
  uint64_t transitions() const { return transitions_; }

 private:
  bool breaking_ = false;
  bool clearing_ = false;
  absl::Time clear_since_;
  uint64_t transitions_ = 0;
};

}  // namespace fleetbond::bond
