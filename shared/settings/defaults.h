// defaults.h
//
// Every default and every limit of the bonding settings, in one place. docs/settings.md gives the
// reason for each number; change them together.
#pragma once

#include <cstdint>

#include "shared/settings/policy.h"

namespace fleetbond::defaults {

// Probing and failure detection. 5 s is the spec reference implementation's default; it is
// conservative on purpose (it bounds probe traffic on metered links). Fast failover is opt-in.
inline constexpr int64_t kFailoverIntervalMs = 5000;
inline constexpr int64_t kMinFailoverIntervalMs = 10;
inline constexpr int64_t kMaxFailoverIntervalMs = 3'600'000;
// Below this a failoverInterval is legal but earns a warning (probe traffic grows as 1/interval).
inline constexpr int64_t kWarnFailoverIntervalBelowMs = 100;

inline constexpr int64_t kUpDelayMs = 0;
inline constexpr int64_t kDownDelayMs = 0;
inline constexpr int64_t kMaxDelayMs = 65535;

inline constexpr uint32_t kPacketsPerLink = 64;
// packetsPerLink has no upper bound in the spec; 1,000,000 packets on one link before moving on
// is already "never stripe", so larger values are refused as likely typos.
inline constexpr uint32_t kMaxPacketsPerLink = 1'000'000;

inline constexpr uint32_t kMaxCapacity = 1'000'000;

// linkQuality limits when a key is not given. They are loose on purpose: a link is only judged
// unfit on evidence an operator would call broken (half a second of latency, 1 % loss).
inline constexpr double kLatMaxMs = 500.0;
inline constexpr double kPdvMaxMs = 100.0;
inline constexpr double kPlrMax = 0.01;
inline constexpr double kPerMax = 0.01;
// Weights: missing weights share what the given ones leave of 1.0, equally.
inline constexpr double kWeightSumTolerance = 1e-6;

}  // namespace fleetbond::defaults

namespace fleetbond {

// DefaultPolicy returns a standard policy with every parameter at its default. Its
// linkSelectMethod is optimize (the spec's default when the user gives no failover guidance).
ResolvedPolicy DefaultPolicy(BasePolicy base);

}  // namespace fleetbond
