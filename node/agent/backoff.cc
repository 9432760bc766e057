#include "node/agent/backoff.h"

#include <algorithm>

#include "absl/random/distributions.h"

namespace fleetbond::agent {

absl::Duration BackoffCeiling(const BackoffPolicy& policy, int attempt) {
  absl::Duration ceiling = policy.initial;
  for (int i = 0; i < attempt && ceiling < policy.max; ++i) ceiling *= 2;
  return std::min(ceiling, policy.max);
}

absl::Duration ReconnectDelay(const BackoffPolicy& policy, int attempt, absl::BitGenRef gen) {
  const int64_t ceiling_us = absl::ToInt64Microseconds(BackoffCeiling(policy, attempt));
  if (ceiling_us <= 0) return absl::ZeroDuration();
  return absl::Microseconds(absl::Uniform<int64_t>(absl::IntervalClosed, gen, 0, ceiling_us));
}

}  // namespace fleetbond::agent
