// backoff.h
//
// How long a node waits before it dials its controller again: exponential backoff with full
// jitter. The ceiling starts at `initial` and doubles with every failed attempt up to `max`; the
// wait is drawn uniformly from [0, ceiling], so a fleet that lost its controller at once does
// not return at once. The agent starts again from attempt 0 once a session has acked a push.
//
// Example (the defaults: 0.5 s doubling to 30 s):
//   absl::BitGen gen;
//   absl::Duration wait = ReconnectDelay(BackoffPolicy{}, attempt++, gen);
#pragma once

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"

namespace fleetbond::agent {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(500);
  absl::Duration max = absl::Seconds(30);
};

// BackoffCeiling is min(max, initial * 2^attempt), attempt counting from 0.
absl::Duration BackoffCeiling(const BackoffPolicy& policy, int attempt);

// ReconnectDelay draws the wait before attempt `attempt + 1`: uniform in [0, BackoffCeiling].
absl::Duration ReconnectDelay(const BackoffPolicy& policy, int attempt, absl::BitGenRef gen);

}  // namespace fleetbond::agent
