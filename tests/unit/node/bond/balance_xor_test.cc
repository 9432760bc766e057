#include "node/bond/balance_xor.h"

#include <map>

#include "gtest/gtest.h"
#include "node/bond/bond.h"
#include "tests/unit/node/bond/simulator.h"
#include "tests/unit/node/bond/test_policy.h"

namespace fleetbond::bond {
namespace {

using ::fleetbond::bond::sim::Simulator;
using ::fleetbond::bond::sim::Traffic;
using ::fleetbond::bond::testing::Link;
using ::fleetbond::bond::testing::TestPolicy;

struct Rig {
  explicit Rig(ResolvedPolicy p = TestPolicy(BasePolicy::kBalanceXor))
      : bond("peer", std::move(p), clock, {.seed = 9}), sim(clock, bond) {}
  std::map<int, PathId> SendFlows(int n) {
    std::map<int, PathId> out;
    for (int i = 0; i < n; ++i) {
      PathSet s = bond.Select({.flow = Simulator::FlowKeyFor(i), .size = 100});
      EXPECT_EQ(s.size(), 1);
      out[i] = s.first();
    }
    return out;
  }
  FakeClock clock;
  Bond bond;
  Simulator sim;
};

TEST(BalanceXor, EachFlowStaysOnItsLink) {
  Rig rig;
  rig.sim.AddPath("eth0", {});
  rig.sim.AddPath("eth1", {});
  rig.sim.AddPath("eth2", {});
  rig.sim.Settle();
  std::map<int, PathId> first = rig.SendFlows(3000);
  for (int round = 0; round < 5; ++round) {
    rig.sim.Run(absl::Seconds(1));
    EXPECT_EQ(rig.SendFlows(3000), first);
  }
}

TEST(BalanceXor, FlowsHashEvenlyOverUsableLinks) {
  Rig rig;
  PathId p[3] = {rig.sim.AddPath("eth0", {}), rig.sim.AddPath("eth1", {}),
                 rig.sim.AddPath("eth2", {})};
  rig.sim.Settle();
  std::map<PathId, int> count;
  for (auto& [flow, path] : rig.SendFlows(60000)) ++count[path];
  for (PathId id : p) EXPECT_NEAR(count[id] / 60000.0, 1.0 / 3, 0.01);
}

TEST(BalanceXor, PortlessPacketsAreSpreadAtRandom) {
  Rig rig;
  PathId a = rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  int on_a = 0, switches = 0;
  PathId last = kNoPath;
  for (int i = 0; i < 20000; ++i) {
    PathId got = rig.bond.Select({.size = 64}).first();
    on_a += got == a;
    switches += last != kNoPath && got != last;
    last = got;
  }
  EXPECT_NEAR(on_a / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(switches / 20000.0, 0.5, 0.02);
  EXPECT_EQ(rig.bond.flows().size(), 0u);  // portless traffic makes no flows
  (void)b;
}

TEST(BalanceXor, OnlyTheDeadLinksFlowsMoveAndTheyDoNotMoveBack) {
  Rig rig;
  rig.sim.AddPath("eth0", {});
  PathId b = rig.sim.AddPath("eth1", {});
  rig.sim.AddPath("eth2", {});
  rig.sim.Settle();
  std::map<int, PathId> before = rig.SendFlows(3000);
  rig.sim.SetCarrier("eth1", false);
  std::map<int, PathId> during = rig.SendFlows(3000);
  int moved = 0;
  for (auto& [flow, path] : before) {
    if (path == b) {
      EXPECT_NE(during[flow], b);
      ++moved;
    } else {
      EXPECT_EQ(during[flow], path) << "flow " << flow << " moved off a live link";
    }
  }
  EXPECT_GT(moved, 800);
  // eth1 recovers: moved flows stay where they are; new flows use eth1 again.
  rig.sim.SetCarrier("eth1", true);
  rig.sim.Run(absl::Seconds(1));
  EXPECT_EQ(rig.SendFlows(3000), during);
  int new_on_b = 0;
  for (int i = 3000; i < 6000; ++i) {
    new_on_b += rig.bond.Select({.flow = Simulator::FlowKeyFor(i), .size = 100}).first() == b;
  }
  EXPECT_NEAR(new_on_b / 3000.0, 1.0 / 3, 0.03);
}

TEST(BalanceXor, NoPacketOnASilentlyFailedLinkAfterDetection) {
  Rig rig;
  PathId a = rig.sim.AddPath("eth0", {});
  rig.sim.AddPath("eth1", {});
  rig.sim.Settle();
  rig.sim.SetTraffic(Traffic{.flows = 500, .packets_per_step = 10, .portless_fraction = 0.2});
  rig.sim.Run(absl::Seconds(1));
  rig.sim.SetUp(a, false);
  rig.sim.Run(absl::Seconds(3));
  EXPECT_GT(rig.sim.stats(a).packets_while_down, 0u);  // before detection
  EXPECT_LE(rig.sim.stats(a).longest_down_use, absl::Milliseconds(1000) + rig.bond.tick_interval());
}

TEST(BalanceXor, SparesCarryTrafficOnlyWhileEveryOtherLinkIsDownAndLeaveAfterUpDelay) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kBalanceXor, 1000,
                                {Link("eth0"), Link("eth1"), Link("lte0", LinkMode::kSpare)});
  p.up_delay = absl::Milliseconds(2000);
  Rig rig(p);
  PathId e0 = rig.sim.AddPath("eth0", {});
  PathId e1 = rig.sim.AddPath("eth1", {});
  PathId s = rig.sim.AddPath("lte0", {});
  rig.sim.Settle();
  rig.sim.SetTraffic(Traffic{.flows = 200, .packets_per_step = 5, .portless_fraction = 0.1});
  rig.sim.Run(absl::Seconds(2));
  rig.sim.SetCarrier("eth0", false);
  rig.sim.Run(absl::Seconds(2));
  EXPECT_EQ(rig.sim.stats(s).packets, 0u);
  rig.sim.SetCarrier("eth1", false);
  rig.sim.Run(absl::Seconds(2));
  EXPECT_EQ(rig.sim.stats(s).packets, 2u * 1000 * 5);
  rig.sim.SetCarrier("eth0", true);
  rig.sim.Run(absl::Milliseconds(1900));  // upDelay not over: the spare still carries
  const uint64_t spare_before = rig.sim.stats(s).packets;
  EXPECT_GT(spare_before, 2u * 1000 * 5);
  rig.sim.Run(absl::Milliseconds(500));
  rig.sim.ResetStats();
  rig.sim.Run(absl::Seconds(1));
  EXPECT_EQ(rig.sim.stats(s).packets, 0u);
  EXPECT_EQ(rig.sim.stats(e0).packets, 5000u);
  EXPECT_EQ(rig.sim.lost_packets(), 0u);
  (void)e1;
}

}  // namespace
}  // namespace fleetbond::bond
