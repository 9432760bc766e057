#include "node/bond/link_quality.h"

#include <algorithm>

namespace fleetbond::bond {
namespace {

// Ratio of a metric to its limit; a zero limit makes any positive value enormous.
double Ratio(double value, double limit) {
  if (limit > 0) return value / limit;
  return value > 0 ? 1e6 : 0.0;
}

}  // namespace

double QualityScore(const PathMetrics& m, const LinkQualitySpec& spec) {
  if (!m.measured) return 0.0;
  return spec.lat_weight * Ratio(m.latency_ms, spec.lat_max_ms) +
         spec.pdv_weight * Ratio(m.pdv_ms, spec.pdv_max_ms) +
         spec.plr_weight * Ratio(m.plr, spec.plr_max) +
         spec.per_weight * Ratio(m.per, spec.per_max);
}

bool WithinLimits(const PathMetrics& m, const LinkQualitySpec& spec, double fraction) {
  if (!m.measured) return true;
  return m.latency_ms <= fraction * spec.lat_max_ms && m.pdv_ms <= fraction * spec.pdv_max_ms &&
         m.plr <= fraction * spec.plr_max && m.per <= fraction * spec.per_max;
}

double QualityWeight(double score) { return 1.0 - std::clamp(score, 0.0, 1.0) / 2.0; }

void LimitState::Update(const PathMetrics& m, const LinkQualitySpec& spec, absl::Time now,
                        absl::Duration hold) {
  if (!breaking_) {
    if (!WithinLimits(m, spec)) {
      breaking_ = true;
      clearing_ = false;
      ++transitions_;
    }
    return;
  }
  if (!WithinLimits(m, spec, kClearFraction)) {
    clearing_ = false;
    return;
  }
  if (!clearing_) {
    clearing_ = true;
    clear_since_ = now;
  }
  if (now - clear_since_ >= hold) {
    breaking_ = false;
    clearing_ = false;
    ++transitions_;
  }
}

}  // namespace fleetbond::bond
