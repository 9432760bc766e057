#include "node/agent/backoff.h"

#include <gtest/gtest.h>

#include <random>

namespace fleetbond::agent {
namespace {

TEST(BackoffTest, CeilingDoublesFromHalfASecondToThirtySeconds) {
  const BackoffPolicy p;
  EXPECT_EQ(BackoffCeiling(p, 0), absl::Milliseconds(500));
  EXPECT_EQ(BackoffCeiling(p, 1), absl::Seconds(1));
  EXPECT_EQ(BackoffCeiling(p, 2), absl::Seconds(2));
  EXPECT_EQ(BackoffCeiling(p, 5), absl::Seconds(16));
  EXPECT_EQ(BackoffCeiling(p, 6), absl::Seconds(30));
  EXPECT_EQ(BackoffCeiling(p, 1000), absl::Seconds(30));  // no overflow
}

TEST(BackoffTest, DelayIsFullJitterUnderTheCeiling) {
  const BackoffPolicy p;
  std::mt19937_64 gen(42);  // fixed seed: the same draws every run
  absl::Duration smallest = absl::InfiniteDuration();
  absl::Duration largest = absl::ZeroDuration();
  for (int i = 0; i < 2000; ++i) {
    const absl::Duration d = ReconnectDelay(p, 3, gen);
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Seconds(4));
    smallest = std::min(smallest, d);
    largest = std::max(largest, d);
  }
  // Spread over the whole range, not bunched: a fleet does not come back at once.
  EXPECT_LT(smallest, absl::Milliseconds(100));
  EXPECT_GT(largest, absl::Milliseconds(3900));
}

TEST(BackoffTest, SameSeedSameDelays) {
  const BackoffPolicy p;
  std::mt19937_64 a(7), b(7);
  for (int attempt = 0; attempt < 10; ++attempt) {
    EXPECT_EQ(ReconnectDelay(p, attempt, a), ReconnectDelay(p, attempt, b));
  }
}

TEST(BackoffTest, ZeroPolicyNeverWaits) {
  std::mt19937_64 gen(1);
  EXPECT_EQ(ReconnectDelay({.initial = absl::ZeroDuration(), .max = absl::ZeroDuration()}, 4, gen),
            absl::ZeroDuration());
}

}  // namespace
}  // namespace fleetbond::agent
