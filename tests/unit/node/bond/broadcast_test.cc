#include "node/bond/broadcast.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/bond/bond.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/node/bond/simulator.h"
#include "tests/unit/node/bond/test_policy.h"

namespace fleetbond::bond {
namespace {

using ::fleetbond::bond::sim::Simulator;
using ::fleetbond::bond::sim::Traffic;
using ::fleetbond::bond::testing::Link;
using ::fleetbond::bond::testing::TestPolicy;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kMs = absl::Milliseconds(1);

TEST(Broadcast, SendsEveryPacketOnEveryUsableLink) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBroadcast), clock, {.seed = 1});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId b = sim.AddPath("eth1", {});
  PathId c = sim.AddPath("eth2", {});
  sim.Settle();
  sim.ResetStats();
  sim.SetTraffic(Traffic{.flows = 5, .packets_per_step = 3, .portless_fraction = 0.3});
  sim.Run(absl::Seconds(1));
  EXPECT_EQ(sim.stats(a).packets, 3000u);
  EXPECT_EQ(sim.stats(b).packets, 3000u);
  EXPECT_EQ(sim.stats(c).packets, 3000u);
  BondSnapshot s = bond.Snapshot();
  for (const PathSnapshot& p : s.paths) {
    EXPECT_TRUE(p.bonded);
    EXPECT_DOUBLE_EQ(p.target, 1.0);
  }
}

TEST(Broadcast, ReceiverSeesEachPacketExactlyOnceWhenALinkDies) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBroadcast), clock, {.seed = 1});
  Simulator sim(clock, bond, 5);
  sim.EnableDelivery();
  PathId a = sim.AddPath("eth0", {.rtt = 10 * kMs, .loss = 0.02});
  PathId b = sim.AddPath("eth1", {.rtt = 30 * kMs, .loss = 0.0});
  sim.Settle();
  sim.ResetStats();
  sim.SetTraffic(Traffic{.flows = 20, .packets_per_step = 2});
  sim.At(absl::Seconds(3), [&] { sim.SetUp(a, false); });  // eth0 dies silently
  sim.Run(absl::Seconds(10));
  EXPECT_EQ(sim.lost_packets(), 0u);
  EXPECT_EQ(sim.delivered_unique(), sim.sent_packets());
  EXPECT_GT(sim.delivered_duplicates(), 0u);
  // After detection nothing more goes to the dead link.
  EXPECT_LE(sim.stats(a).longest_down_use, absl::Milliseconds(1000) + bond.tick_interval());
  (void)b;
}

TEST(Broadcast, NeverUsesSparesEvenWhenEverythingElseIsDown) {
  FakeClock clock;
  Bond bond(
      "peer",
      TestPolicy(BasePolicy::kBroadcast, 1000, {Link("eth0"), Link("lte0", LinkMode::kSpare)}),
      clock, {.seed = 1});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId s = sim.AddPath("lte0", {});
  sim.Settle();
  sim.SetTraffic(Traffic{.packets_per_step = 1});
  sim.Run(absl::Seconds(1));
  sim.SetCarrier("eth0", false);
  sim.Run(absl::Seconds(1));
  EXPECT_EQ(sim.stats(s).packets, 0u);
  EXPECT_GT(sim.stats(a).packets, 0u);
}

TEST(Broadcast, RotateIsRefusedWithTheReason) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBroadcast), clock, {.seed = 1});
  EXPECT_THAT(bond.Rotate(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("rotate applies only to active-backup")));
}

}  // namespace
}  // namespace fleetbond::bond
