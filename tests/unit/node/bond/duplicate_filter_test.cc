#include "node/bond/duplicate_filter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace fleetbond::bond {
namespace {

using Verdict = DuplicateFilter::Verdict;
constexpr uint64_t kWindow = DuplicateFilter::kWindow;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(DuplicateFilter, AcceptsEveryNumberOfAnInOrderStream) {
  DuplicateFilter filter;
  for (uint64_t seq = 0; seq < 5 * kWindow; ++seq) {
    ASSERT_EQ(filter.Check(seq), Verdict::kNew) << seq;
  }
  EXPECT_EQ(filter.accepted(), 5 * kWindow);
  EXPECT_EQ(filter.duplicates(), 0u);
  EXPECT_EQ(filter.too_old(), 0u);
  EXPECT_EQ(filter.highest(), 5 * kWindow - 1);
}

TEST(DuplicateFilter, RejectsEverySecondSightingAsDuplicate) {
  DuplicateFilter filter;
  for (uint64_t seq = 1000; seq < 1100; ++seq) {
    ASSERT_EQ(filter.Check(seq), Verdict::kNew);
    ASSERT_EQ(filter.Check(seq), Verdict::kDuplicate);
  }
  for (uint64_t seq = 1000; seq < 1100; ++seq) ASSERT_EQ(filter.Check(seq), Verdict::kDuplicate);
  EXPECT_EQ(filter.accepted(), 100u);
  EXPECT_EQ(filter.duplicates(), 200u);
  EXPECT_EQ(filter.too_old(), 0u);
}

TEST(DuplicateFilter, AcceptsReorderedNumbersOnceWithinTheWindow) {
  std::vector<uint64_t> order(kWindow);
  for (uint64_t i = 0; i < kWindow; ++i) order[i] = 500 + i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  DuplicateFilter filter;
  filter.Check(500 + kWindow - 1);  // the newest arrives first: the whole window is behind it
  for (uint64_t seq : order) {
    const Verdict expected = seq == 500 + kWindow - 1 ? Verdict::kDuplicate : Verdict::kNew;
    ASSERT_EQ(filter.Check(seq), expected) << seq;
  }
  for (uint64_t seq : order) ASSERT_EQ(filter.Check(seq), Verdict::kDuplicate) << seq;
  EXPECT_EQ(filter.accepted(), kWindow);
}

TEST(DuplicateFilter, RejectsNumbersOutsideTheWindowAsTooOldNotDuplicate) {
  DuplicateFilter filter;
  filter.Check(100000);
  EXPECT_EQ(filter.Check(100000 - (kWindow - 1)), Verdict::kNew);
  EXPECT_EQ(filter.Check(100000 - kWindow), Verdict::kTooOld);
  EXPECT_EQ(filter.Check(0), Verdict::kTooOld);
  EXPECT_EQ(filter.too_old(), 2u);
  EXPECT_EQ(filter.duplicates(), 0u);
}

TEST(DuplicateFilter, AcceptsNumbersBelowTheFirstOneSeenWithinTheWindow) {
  DuplicateFilter filter;
  EXPECT_EQ(filter.Check(7), Verdict::kNew);
  EXPECT_EQ(filter.Check(3), Verdict::kNew);
  EXPECT_EQ(filter.Check(0), Verdict::kNew);
  EXPECT_EQ(filter.Check(3), Verdict::kDuplicate);
  EXPECT_EQ(filter.highest(), 7u);
}

TEST(DuplicateFilter, RemembersSeenNumbersAcrossAJumpShorterThanTheWindow) {
  DuplicateFilter filter;
  filter.Check(100);
  filter.Check(101);
  EXPECT_EQ(filter.Check(100 + kWindow - 1), Verdict::kNew);
  EXPECT_EQ(filter.Check(100), Verdict::kDuplicate);
  EXPECT_EQ(filter.Check(101), Verdict::kDuplicate);
  EXPECT_EQ(filter.Check(102), Verdict::kNew);
  EXPECT_EQ(filter.Check(99), Verdict::kTooOld);
}

// After the window slides, bits that stood for old numbers stand for new ones: they must read as
// unseen, whatever the step size that moved the window.
TEST(DuplicateFilter, TreatsNumbersThatReuseOldBitsAsNew) {
  for (uint64_t step :
       std::vector<uint64_t>{1, 63, 64, 65, 1000, kWindow - 1, kWindow, kWindow + 1}) {
    SCOPED_TRACE(step);
    DuplicateFilter filter;
    for (uint64_t seq = 0; seq < kWindow; ++seq) filter.Check(seq);
    uint64_t highest = kWindow - 1;
    for (int jumps = 0; jumps < 5; ++jumps) {
      highest += step;
      ASSERT_EQ(filter.Check(highest), Verdict::kNew);
    }
    // In the window, only the first stream's numbers and the jump targets were seen.
    for (uint64_t seq = highest - (kWindow - 1); seq < highest; ++seq) {
      const bool target =
          seq >= kWindow && (seq - (kWindow - 1)) % step == 0 && (seq - (kWindow - 1)) / step <= 5;
      const Verdict verdict = filter.Check(seq);
      if (seq < kWindow || target) {
        ASSERT_EQ(verdict, Verdict::kDuplicate) << seq;
      } else {
        ASSERT_EQ(verdict, Verdict::kNew) << seq;
      }
    }
  }
}

TEST(DuplicateFilter, ForgetsTheWholeWindowOnAJumpFarAhead) {
  DuplicateFilter filter;
  for (uint64_t seq = 0; seq < 100; ++seq) filter.Check(seq);
  const uint64_t far = 1'000'000'000;
  EXPECT_EQ(filter.Check(far), Verdict::kNew);
  EXPECT_EQ(filter.highest(), far);
  EXPECT_EQ(filter.Check(far - 1), Verdict::kNew);
  EXPECT_EQ(filter.Check(far - (kWindow - 1)), Verdict::kNew);
  EXPECT_EQ(filter.Check(99), Verdict::kTooOld);
  EXPECT_EQ(filter.Check(far), Verdict::kDuplicate);
}

TEST(DuplicateFilter, StepsAcrossTheTopOfTheSequenceSpace) {
  DuplicateFilter filter;
  for (uint64_t seq = kMax - 9; seq != 10; ++seq) {
    ASSERT_EQ(filter.Check(seq), Verdict::kNew) << seq;
  }
  EXPECT_EQ(filter.highest(), 9u);
  EXPECT_EQ(filter.Check(kMax), Verdict::kDuplicate);
  EXPECT_EQ(filter.Check(kMax - 9), Verdict::kDuplicate);
  EXPECT_EQ(filter.Check(kMax - 20), Verdict::kNew);       // within the window, never seen
  EXPECT_EQ(filter.Check(9 - kWindow), Verdict::kTooOld);  // wraps to just below the window
  EXPECT_EQ(filter.Check(10 + kWindow), Verdict::kNew);
  EXPECT_EQ(filter.Check(kMax), Verdict::kTooOld);
}

TEST(DuplicateFilter, TreatsNumbersHalfTheSpaceAheadAsTooOld) {
  DuplicateFilter filter;
  filter.Check(5);
  EXPECT_EQ(filter.Check(5 + (uint64_t{1} << 63)), Verdict::kTooOld);
  EXPECT_EQ(filter.Check(5 + (uint64_t{1} << 63) - 1), Verdict::kNew);
}

TEST(DuplicateFilter, ResetStartsOverButKeepsCounters) {
  DuplicateFilter filter;
  filter.Check(1'000'000);
  filter.Check(1'000'000);
  filter.Reset();
  EXPECT_EQ(filter.Check(1), Verdict::kNew);
  EXPECT_EQ(filter.Check(1'000'000), Verdict::kNew);
  EXPECT_EQ(filter.duplicates(), 1u);
  EXPECT_EQ(filter.accepted(), 3u);
}

// Broadcast end to end: every packet goes on a fast and a slow link (the slow one 8,000 numbers
// behind, inside the window), the fast link loses 5 % of them. The receiver must hand each
// packet up exactly once and lose none.
TEST(DuplicateFilter, DeliversEachBroadcastPacketOnceFromLinksOfDifferentLatency) {
  constexpr uint64_t kPackets = 200000;
  constexpr uint64_t kLag = 8000;
  std::mt19937_64 rng(5);
  DuplicateFilter filter;
  std::vector<int> delivered(kPackets, 0);
  auto receive = [&](uint64_t seq) {
    if (filter.Check(seq) == Verdict::kNew) ++delivered[seq];
  };
  for (uint64_t t = 0; t < kPackets + kLag; ++t) {
    if (t < kPackets && rng() % 100 >= 5) receive(t);  // fast link
    if (t >= kLag) receive(t - kLag);                  // slow link
  }
  EXPECT_TRUE(std::all_of(delivered.begin(), delivered.end(), [](int n) { return n == 1; }));
  EXPECT_EQ(filter.accepted(), kPackets);
  EXPECT_EQ(filter.too_old(), 0u);
}

}  // namespace
}  // namespace fleetbond::bond
