#include "node/bond/active_backup.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/bond/bond.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/node/bond/simulator.h"
#include "tests/unit/node/bond/test_policy.h"

namespace fleetbond::bond {
namespace {

using ::fleetbond::bond::sim::PathModel;
using ::fleetbond::bond::sim::Simulator;
using ::fleetbond::bond::sim::Traffic;
using ::fleetbond::bond::testing::Link;
using ::fleetbond::bond::testing::TestPolicy;
using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kMs = absl::Milliseconds(1);

struct Rig {
  explicit Rig(ResolvedPolicy policy, size_t window = 16)
      : bond("77dcbe7120", std::move(policy), clock,
             Bond::Options{.sample_window = window, .seed = 7}),
        sim(clock, bond, 11) {
    sim.SetTraffic(Traffic{.flows = 10, .packets_per_step = 1});
  }
  // FirstChangeAfter returns the first active-path change at or after `t`.
  const sim::ActiveChange* FirstChangeAfter(absl::Time t) {
    for (const auto& c : sim.active_changes()) {
      if (c.at >= t) return &c;
    }
    return nullptr;
  }
  int ChangesAfter(absl::Time t) {
    int n = 0;
    for (const auto& c : sim.active_changes()) n += c.at >= t;
    return n;
  }
  FakeClock clock;
  Bond bond;
  Simulator sim;
};

ResolvedPolicy TwoLinkAlways(int up_delay_ms = 0) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kActiveBackup, 1000,
                                {Link("eth0", LinkMode::kPrimary, "eth1"), Link("eth1")});
  p.link_select_method = LinkSelectMethod::kAlways;
  p.up_delay = absl::Milliseconds(up_delay_ms);
  return p;
}

TEST(ActiveBackup, SendsEverythingOnOneLink) {
  Rig rig(TwoLinkAlways());
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  rig.sim.ResetStats();
  rig.sim.Run(absl::Seconds(2));
  EXPECT_EQ(rig.bond.active_path(), a);
  EXPECT_EQ(rig.sim.stats(a).packets, 2000u);
  EXPECT_EQ(rig.sim.stats(b).packets, 0u);
}

TEST(ActiveBackup, SilentFailureFailsOverWithinFailoverIntervalPlusOneTick) {
  Rig rig(TwoLinkAlways());
  PathId a = rig.sim.AddPath("eth0", {.rtt = 10 * kMs});
  PathId b = rig.sim.AddPath("eth1", {.rtt = 10 * kMs});
  rig.sim.Settle();
  rig.sim.Run(absl::Seconds(2));
  ASSERT_EQ(rig.bond.active_path(), a);
  // Try failure times at several phases of the probe and tick cycle.
  for (int phase : {0, 13, 77, 131, 199, 241}) {
    rig.sim.Run(phase * kMs);
    const absl::Time cut = rig.clock.Now();
    rig.sim.SetUp(a, false);
    rig.sim.Run(absl::Seconds(2));
    const sim::ActiveChange* c = rig.FirstChangeAfter(cut);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->path, b);
    EXPECT_LE(c->at - cut, absl::Milliseconds(1000) + rig.bond.tick_interval()) << phase;
    // No packet on the failed path after detection.
    EXPECT_LT(rig.sim.stats(a).last_sent_while_down, c->at);
    EXPECT_LE(rig.sim.stats(a).longest_down_use,
              absl::Milliseconds(1000) + rig.bond.tick_interval());
    rig.sim.SetUp(a, true);  // always: back to the primary
    rig.sim.Run(absl::Seconds(2));
    ASSERT_EQ(rig.bond.active_path(), a);
  }
  EXPECT_EQ(rig.bond.failovers(), 6u);
}

TEST(ActiveBackup, CarrierLossFailsOverImmediately) {
  Rig rig(TwoLinkAlways());
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  rig.sim.Run(absl::Seconds(1));
  ASSERT_EQ(rig.bond.active_path(), a);
  rig.sim.ResetStats();
  const absl::Time cut = rig.clock.Now();
  rig.sim.SetCarrier("eth0", false);
  // Traffic moved before SetCarrier returned: the very next packet goes to eth1.
  EXPECT_EQ(rig.bond.active_path(), b);
  rig.sim.Run(absl::Seconds(1));
  EXPECT_EQ(rig.FirstChangeAfter(cut)->at, cut);
  EXPECT_EQ(rig.sim.stats(a).packets_while_down, 0u);
  EXPECT_EQ(rig.sim.lost_packets(), 0u);
}

TEST(ActiveBackup, StandbyLinkDyingLosesNoTraffic) {
  Rig rig(TwoLinkAlways());
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  rig.sim.ResetStats();
  rig.sim.SetUp(b, false);
  rig.sim.Run(absl::Seconds(3));
  rig.sim.SetCarrier("eth1", false);
  rig.sim.Run(absl::Seconds(3));
  EXPECT_EQ(rig.bond.active_path(), a);
  EXPECT_EQ(rig.sim.lost_packets(), 0u);
  EXPECT_EQ(rig.sim.sent_packets(), 6000u);
  EXPECT_EQ(rig.bond.failovers(), 0u);
  // `bonded` marks only the link carrying traffic.
  BondSnapshot s = rig.bond.Snapshot();
  EXPECT_TRUE(s.paths[a].bonded);
  EXPECT_FALSE(s.paths[b].bonded);
}

TEST(ActiveBackup, AlwaysReturnsToPrimaryAfterUpDelay) {
  Rig rig(TwoLinkAlways(/*up_delay_ms=*/2000));
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  rig.sim.SetUp(a, false);
  rig.sim.Run(absl::Seconds(2));
  ASSERT_EQ(rig.bond.active_path(), b);
  const absl::Time back = rig.clock.Now();
  rig.sim.SetUp(a, true);
  rig.sim.Run(absl::Seconds(4));
  const sim::ActiveChange* c = rig.FirstChangeAfter(back);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->path, a);
  EXPECT_GE(c->at - back, absl::Milliseconds(2000));
  // At most one probe interval + RTT + tick after upDelay.
  EXPECT_LE(c->at - back, absl::Milliseconds(2000 + 250 + 10 + 50));
  EXPECT_EQ(rig.sim.stats(b).packets_while_down, 0u);
}

TEST(ActiveBackup, BetterReturnsToPrimaryOnlyWhileItIsBetter) {
  ResolvedPolicy p = TwoLinkAlways();
  p.link_select_method = LinkSelectMethod::kBetter;
  Rig rig(p);
  PathId a = rig.sim.AddPath("eth0", {.rtt = 10 * kMs});
  PathId b = rig.sim.AddPath("eth1", {.rtt = 20 * kMs});
  rig.sim.Settle();
  rig.sim.Run(absl::Seconds(1));
  ASSERT_EQ(rig.bond.active_path(), a);
  rig.sim.SetUp(a, false);
  rig.sim.Run(absl::Seconds(2));
  ASSERT_EQ(rig.bond.active_path(), b);
  // The primary comes back worse than the active link: stay.
  rig.sim.model(a).rtt = 200 * kMs;
  rig.sim.SetUp(a, true);
  rig.sim.Run(absl::Seconds(10));
  EXPECT_EQ(rig.bond.active_path(), b);
  // Once it measures better, it takes the active role back.
  rig.sim.model(a).rtt = 5 * kMs;
  const absl::Time improved = rig.clock.Now();
  rig.sim.Run(absl::Seconds(10));
  const sim::ActiveChange* c = rig.FirstChangeAfter(improved);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->path, a);
  EXPECT_EQ(rig.ChangesAfter(improved), 1);
}

TEST(ActiveBackup, FailureReturnsToPrimaryOnlyWhenActiveFails) {
  ResolvedPolicy p = TestPolicy(
      BasePolicy::kActiveBackup, 1000,
      {Link("eth0", LinkMode::kPrimary), Link("eth1", LinkMode::kNone, "eth2"), Link("eth2")});
  p.link_select_method = LinkSelectMethod::kFailure;
  Rig rig(p);
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.AddPath("eth2", {});
  rig.sim.Settle();
  ASSERT_EQ(rig.bond.active_path(), a);
  rig.sim.SetUp(a, false);
  rig.sim.Run(absl::Seconds(2));
  ASSERT_EQ(rig.bond.active_path(), b);
  rig.sim.SetUp(a, true);
  rig.sim.Run(absl::Seconds(5));
  EXPECT_EQ(rig.bond.active_path(), b);  // the primary is back but the active link is fine
  // The active link fails: the primary regains the role (ahead of eth1's failoverTo eth2).
  rig.sim.SetCarrier("eth1", false);
  EXPECT_EQ(rig.bond.active_path(), a);
}

TEST(ActiveBackup, OptimizeMovesToClearlySuperiorLinkAfterHold) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kActiveBackup, 1000, {Link("eth0"), Link("eth1")});
  p.link_select_method = LinkSelectMethod::kOptimize;
  Rig rig(p);
  PathId a = rig.sim.AddPath("eth0", {.rtt = 100 * kMs});
  PathId b = rig.sim.AddPath("eth1", {.rtt = 100 * kMs});
  rig.sim.Settle();
  rig.sim.Run(absl::Seconds(5));
  ASSERT_EQ(rig.bond.active_path(), a);
  // eth1 becomes clearly superior (5 ms against 100 ms round trip).
  rig.sim.model(b).rtt = 5 * kMs;
  const absl::Time improved = rig.clock.Now();
  rig.sim.Run(absl::Seconds(10));
  const sim::ActiveChange* c = rig.FirstChangeAfter(improved);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->path, b);
  EXPECT_GE(c->at - improved, absl::Milliseconds(1000));  // held for the hold time
  EXPECT_EQ(rig.ChangesAfter(improved), 1);
}

TEST(ActiveBackup, OptimizeDoesNotFlapBetweenSimilarNoisyLinks) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kActiveBackup, 1000, {Link("eth0"), Link("eth1")});
  p.link_select_method = LinkSelectMethod::kOptimize;
  Rig rig(p);
  rig.sim.AddPath("eth0", {.rtt = 40 * kMs, .jitter = 35 * kMs, .loss = 0.001});
  rig.sim.AddPath("eth1", {.rtt = 40 * kMs, .jitter = 35 * kMs, .loss = 0.001});
  rig.sim.Settle();
  const absl::Time t0 = rig.clock.Now();
  rig.sim.Run(absl::Seconds(120));
  EXPECT_EQ(rig.ChangesAfter(t0), 0);
}

TEST(ActiveBackup, QueueFollowsFailoverToChainThenModeThenQuality) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kActiveBackup, 1000,
                                {Link("eth0", LinkMode::kPrimary, "eth2"), Link("eth1"),
                                 Link("eth2"), Link("eth3"), Link("lte0", LinkMode::kSpare)});
  p.link_select_method = LinkSelectMethod::kFailure;
  Rig rig(p);
  PathId e0 = rig.sim.AddPath("eth0", {.rtt = 10 * kMs});
  rig.sim.AddPath("eth1", {.rtt = 80 * kMs});
  PathId e2 = rig.sim.AddPath("eth2", {.rtt = 90 * kMs});
  PathId e3 = rig.sim.AddPath("eth3", {.rtt = 20 * kMs});
  PathId lte = rig.sim.AddPath("lte0", {.rtt = 1 * kMs});
  rig.sim.Settle();
  rig.sim.Run(absl::Seconds(5));
  ASSERT_EQ(rig.bond.active_path(), e0);
  // (Before any non-spare link was heard, the spare alone was up and briefly carried traffic.)
  rig.sim.ResetStats();

  const auto& ab = dynamic_cast<const ActiveBackup&>(rig.bond.bond_policy());
  const LinkId l0 = rig.bond.FindLink("eth0"), l1 = rig.bond.FindLink("eth1"),
               l2 = rig.bond.FindLink("eth2"), l3 = rig.bond.FindLink("eth3"),
               ls = rig.bond.FindLink("lte0");
  // From eth0: its failoverTo first, then by mode (spare last), then quality (eth3 beats eth1).
  EXPECT_THAT(ab.FailoverQueue(l0), ::testing::ElementsAre(l2, l3, l1, ls));
  // From eth2 (no failoverTo): primary first, then by quality, spare last.
  EXPECT_THAT(ab.FailoverQueue(l2), ::testing::ElementsAre(l0, l3, l1, ls));

  rig.sim.SetCarrier("eth0", false);
  EXPECT_EQ(rig.bond.active_path(), e2);  // the chain, although eth3 is better
  rig.sim.SetCarrier("eth2", false);
  EXPECT_EQ(rig.bond.active_path(), e3);  // then by quality
  EXPECT_EQ(rig.sim.stats(lte).packets, 0u);
}

TEST(ActiveBackup, SpareCarriesTrafficOnlyWhileEveryOtherLinkIsDown) {
  ResolvedPolicy p = TestPolicy(
      BasePolicy::kActiveBackup, 1000,
      {Link("eth0", LinkMode::kPrimary, "lte0"), Link("eth1"), Link("lte0", LinkMode::kSpare)});
  p.link_select_method = LinkSelectMethod::kAlways;
  p.up_delay = absl::Milliseconds(1500);
  Rig rig(p);
  PathId e0 = rig.sim.AddPath("eth0", {});
  PathId e1 = rig.sim.AddPath("eth1", {});
  PathId lte = rig.sim.AddPath("lte0", {});
  rig.sim.Settle();
  rig.sim.ResetStats();
  rig.sim.SetCarrier("eth0", false);
  // eth0's failoverTo names the spare, but a non-spare link is still up.
  EXPECT_EQ(rig.bond.active_path(), e1);
  rig.sim.Run(absl::Seconds(2));
  EXPECT_EQ(rig.sim.stats(lte).packets, 0u);
  rig.sim.SetUp(e1, false);  // the last non-spare link dies silently
  rig.sim.Run(absl::Seconds(2));
  EXPECT_EQ(rig.bond.active_path(), lte);
  EXPECT_GT(rig.sim.stats(lte).packets, 0u);
  // eth1 recovers: the spare leaves after upDelay.
  const absl::Time back = rig.clock.Now();
  rig.sim.SetUp(e1, true);
  rig.sim.Run(absl::Seconds(3));
  const sim::ActiveChange* c = rig.FirstChangeAfter(back);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->path, e1);
  EXPECT_GE(c->at - back, absl::Milliseconds(1500));
  EXPECT_EQ(rig.sim.lost_packets(), rig.sim.stats(e1).packets_while_down);
  (void)e0;
}

TEST(ActiveBackup, RotateMovesToNextLinkAndStaysThere) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kActiveBackup, 1000,
                                {Link("eth0", LinkMode::kPrimary, "eth1"),
                                 Link("eth1", LinkMode::kNone, "eth2"), Link("eth2")});
  p.link_select_method = LinkSelectMethod::kAlways;
  Rig rig(p);
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  PathId c = rig.sim.AddPath("eth2", {});
  rig.sim.Settle();
  ASSERT_EQ(rig.bond.active_path(), a);
  absl::StatusOr<Rotation> r = rig.bond.Rotate();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->from, a);
  EXPECT_EQ(r->to, b);
  EXPECT_THAT(r->from_description, HasSubstr("eth0/"));
  EXPECT_THAT(r->to_description, HasSubstr("eth1/"));
  // The rotation holds although "always" would prefer the primary.
  rig.sim.Run(absl::Seconds(3));
  EXPECT_EQ(rig.bond.active_path(), b);
  ASSERT_THAT(rig.bond.Rotate(), IsOk());
  EXPECT_EQ(rig.bond.active_path(), c);
  r = rig.bond.Rotate();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->to, a);  // wraps around the queue
  // Only one usable link left: refused with the reason.
  rig.sim.SetCarrier("eth1", false);
  rig.sim.SetCarrier("eth2", false);
  EXPECT_THAT(rig.bond.Rotate(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no other usable link")));
}

TEST(ActiveBackup, RotateDoesNotPickASpareWhileAnotherLinkIsUp) {
  Rig rig(TestPolicy(BasePolicy::kActiveBackup, 1000,
                     {Link("eth0", LinkMode::kPrimary), Link("lte0", LinkMode::kSpare)}));
  PathId a = rig.sim.AddPath("eth0", {});
  rig.sim.AddPath("lte0", {});
  rig.sim.Settle();
  ASSERT_EQ(rig.bond.active_path(), a);
  EXPECT_THAT(rig.bond.Rotate(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                          HasSubstr("spare links carry traffic only while")));
  EXPECT_EQ(rig.bond.active_path(), a);
}

TEST(ActiveBackup, RotatedLinkFailingRestoresNormalRules) {
  Rig rig(TwoLinkAlways());
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  ASSERT_THAT(rig.bond.Rotate(), IsOk());
  ASSERT_EQ(rig.bond.active_path(), b);
  rig.sim.SetCarrier("eth1", false);
  EXPECT_EQ(rig.bond.active_path(), a);
  rig.sim.SetCarrier("eth1", true);
  rig.sim.Run(absl::Seconds(2));
  EXPECT_EQ(rig.bond.active_path(), a);
}

TEST(ActiveBackup, WithoutPrimaryPicksFirstUsableAndFailsOverByOrder) {
  Rig rig(TestPolicy(BasePolicy::kActiveBackup, 1000));
  PathId a = rig.sim.AddPath("wlan0", {});
  PathId b = rig.sim.AddPath("eth0", {});
  rig.sim.Settle();
  EXPECT_EQ(rig.bond.active_path(), a);
  rig.sim.SetCarrier("wlan0", false);
  EXPECT_EQ(rig.bond.active_path(), b);
}

}  // namespace
}  // namespace fleetbond::bond
