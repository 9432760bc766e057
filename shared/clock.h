// clock.h
//
// Clock is the one source of time for timing logic. The bond engine and the session protocol
// take a Clock& so that tests drive time by hand (FakeClock) instead of sleeping.
//
// Example:
//   FakeClock clock;
//   PathMonitor monitor(clock, ...);
//   clock.Advance(absl::Milliseconds(500));
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fleetbond {

// Clock returns the current time. Implementations must be cheap: the data plane calls Now() per
// batch of packets.
class Clock {
 public:
  virtual ~Clock() = default;
  // Now returns the current time; successive calls never go backwards.
  virtual absl::Time Now() const = 0;
};

// SystemClock reads the real time.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // Get returns a process-wide instance.
  static SystemClock& Get() {
    static SystemClock clock;
    return clock;
  }
};

// FakeClock only moves when told to. Not thread-safe; tests own it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}
  absl::Time Now() const override { return now_; }
  // Advance moves time forward by `d` (negative durations are ignored: time never goes back).
  void Advance(absl::Duration d) {
    if (d > absl::ZeroDuration()) now_ += d;
  }
  void Set(absl::Time t) {
    if (t > now_) now_ = t;
  }

 private:
  absl::Time now_;
};

}  // namespace fleetbond
