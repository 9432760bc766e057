#include "node/transport/replay_window.h"

#include <cstdint>
#include <random>
#include <set>

#include "gtest/gtest.h"

namespace fleetbond::transport {
namespace {

using Verdict = ReplayWindow::Verdict;

// CheckAndAccept is what the data plane does after authentication.
Verdict CheckAndAccept(ReplayWindow& window, uint64_t counter) {
  Verdict verdict = window.Check(counter);
  if (verdict == Verdict::kFresh) window.Accept(counter);
  return verdict;
}

TEST(ReplayWindow, AcceptsAnyFirstCounter) {
  ReplayWindow window;
  EXPECT_TRUE(window.empty());
  EXPECT_EQ(CheckAndAccept(window, 1'700'000'000'000'000'000u), Verdict::kFresh);
  EXPECT_FALSE(window.empty());
  EXPECT_EQ(window.highest(), 1'700'000'000'000'000'000u);
}

TEST(ReplayWindow, RejectsRepeatedCounter) {
  ReplayWindow window;
  EXPECT_EQ(CheckAndAccept(window, 0), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, 0), Verdict::kDuplicate);
  EXPECT_EQ(CheckAndAccept(window, 5), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, 5), Verdict::kDuplicate);
  EXPECT_EQ(CheckAndAccept(window, 0), Verdict::kDuplicate);
}

TEST(ReplayWindow, AcceptsReorderingWithinWindow) {
  ReplayWindow window;
  EXPECT_EQ(CheckAndAccept(window, 1000), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, 998), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, 1001), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, 999), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, 999), Verdict::kDuplicate);
  EXPECT_EQ(window.highest(), 1001u);
}

TEST(ReplayWindow, TracksExactlyWindowSizeCountersBehindHighest) {
  ReplayWindow window;
  const uint64_t top = 100'000;
  ASSERT_EQ(CheckAndAccept(window, top), Verdict::kFresh);
  EXPECT_EQ(window.Check(top - (ReplayWindow::kWindowSize - 1)), Verdict::kFresh);
  EXPECT_EQ(window.Check(top - ReplayWindow::kWindowSize), Verdict::kTooOld);
  EXPECT_EQ(window.Check(0), Verdict::kTooOld);
}

TEST(ReplayWindow, RejectsTooOldCounterAfterWindowMoves) {
  ReplayWindow window;
  ASSERT_EQ(CheckAndAccept(window, 10), Verdict::kFresh);
  ASSERT_EQ(CheckAndAccept(window, 10 + ReplayWindow::kWindowSize), Verdict::kFresh);
  EXPECT_EQ(window.Check(10), Verdict::kTooOld);
  EXPECT_EQ(window.Check(11), Verdict::kFresh);
}

TEST(ReplayWindow, CheckChangesNothing) {
  ReplayWindow window;
  ASSERT_EQ(CheckAndAccept(window, 50), Verdict::kFresh);
  EXPECT_EQ(window.Check(60), Verdict::kFresh);
  EXPECT_EQ(window.Check(60), Verdict::kFresh);
  EXPECT_EQ(window.highest(), 50u);
  EXPECT_EQ(window.Check(40), Verdict::kFresh);
}

TEST(ReplayWindow, LargeJumpForgetsOldBitsButStaysCorrect) {
  ReplayWindow window;
  for (uint64_t c = 0; c < 300; ++c) ASSERT_EQ(CheckAndAccept(window, c), Verdict::kFresh);
  const uint64_t far = 1'000'000'000;
  ASSERT_EQ(CheckAndAccept(window, far), Verdict::kFresh);
  // Counters just behind the new top were never seen, though their ring slots held old bits.
  for (uint64_t c = far - 300; c < far; ++c) EXPECT_EQ(window.Check(c), Verdict::kFresh) << c;
  EXPECT_EQ(window.Check(far), Verdict::kDuplicate);
}

TEST(ReplayWindow, WorksAtTheTopOfTheCounterSpace) {
  ReplayWindow window;
  const uint64_t max = ~uint64_t{0};
  ASSERT_EQ(CheckAndAccept(window, max - 1), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, max), Verdict::kFresh);
  EXPECT_EQ(CheckAndAccept(window, max - 1), Verdict::kDuplicate);
  EXPECT_EQ(CheckAndAccept(window, max - 2), Verdict::kFresh);
}

// The window must behave exactly like the obvious model: a set of every accepted counter, with
// counters kWindowSize or more behind the highest refused.
TEST(ReplayWindow, MatchesReferenceModelOnRandomTraffic) {
  std::mt19937_64 rng(20261125);
  for (int round = 0; round < 20; ++round) {
    ReplayWindow window;
    std::set<uint64_t> seen;
    uint64_t highest = 0;
    uint64_t base = rng() >> 8;
    for (int i = 0; i < 20'000; ++i) {
      // Mostly near the top (reordering, duplicates), sometimes jumps ahead or far behind.
      uint64_t counter;
      switch (rng() % 8) {
        case 0:
          counter = base + highest + rng() % 20'000;
          break;
        case 1:
          counter = base + (highest > 20'000 ? highest - rng() % 20'000 : rng() % 20'000);
          break;
        default:
          counter = base + (highest > 64 ? highest - 64 + rng() % 128 : rng() % 128);
      }
      Verdict expected;
      if (!seen.empty() && seen.count(counter)) {
        expected = Verdict::kDuplicate;
      } else if (!seen.empty() && counter + ReplayWindow::kWindowSize <= base + highest) {
        expected = Verdict::kTooOld;
      } else {
        expected = Verdict::kFresh;
      }
      // A duplicate that has also fallen out of the window is reported as too old.
      if (expected == Verdict::kDuplicate && counter + ReplayWindow::kWindowSize <= base + highest)
        expected = Verdict::kTooOld;
      ASSERT_EQ(CheckAndAccept(window, counter), expected) << "round " << round << " step " << i;
      if (expected == Verdict::kFresh) {
        seen.insert(counter);
        if (counter - base > highest || seen.size() == 1) highest = counter - base;
      }
    }
  }
}

}  // namespace
}  // namespace fleetbond::transport
