#include "node/bond/bond.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/node/bond/simulator.h"
#include "tests/unit/node/bond/test_policy.h"

namespace fleetbond::bond {
namespace {

using ::fleetbond::bond::sim::Simulator;
using ::fleetbond::bond::sim::Traffic;
using ::fleetbond::bond::testing::Link;
using ::fleetbond::bond::testing::TestPolicy;
using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kMs = absl::Milliseconds(1);

TEST(Bond, AddPathRefusesDuplicatesAndMoreThan64Paths) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBalanceXor), clock);
  PathSpec spec{.link = "eth0", .local = "10.0.0.1", .remote = "10.0.0.2/9800"};
  ASSERT_THAT(bond.AddPath(spec), IsOk());
  EXPECT_THAT(bond.AddPath(spec), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("eth0")));
  for (int i = 1; i < 64; ++i) {
    spec.remote = "10.0.0." + std::to_string(i + 2) + "/9800";
    ASSERT_THAT(bond.AddPath(spec), IsOk());
  }
  spec.remote = "10.0.1.1/9800";
  EXPECT_THAT(bond.AddPath(spec),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("64 paths")));
  EXPECT_THAT(bond.RemovePath(5), IsOk());
  EXPECT_THAT(bond.RemovePath(5), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no path 5")));
  EXPECT_THAT(bond.AddPath(spec), IsOk());
}

TEST(Bond, NoPathMeansNoSendAndNothingBreaks) {
  FakeClock clock;
  for (BasePolicy base : kStandardPolicies) {
    Bond bond("peer", TestPolicy(base), clock);
    EXPECT_TRUE(bond.Select({.flow = Simulator::FlowKeyFor(1), .size = 10}).empty());
    EXPECT_TRUE(bond.Select({.size = 10}).empty());
    EXPECT_TRUE(bond.Tick().probes.empty());
  }
}

TEST(Bond, TickReturnsProbesAtTheProbeInterval) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kActiveBackup, 1000), clock);
  ASSERT_THAT(bond.AddPath({.link = "eth0", .local = "a", .remote = "b"}), IsOk());
  EXPECT_EQ(bond.probe_interval(), absl::Milliseconds(250));
  EXPECT_EQ(bond.tick_interval(), absl::Milliseconds(50));
  int probes = 0;
  uint32_t last_seq = 0;
  for (int i = 0; i < 100; ++i) {  // 5 s of ticks
    TickResult t = bond.Tick();
    for (const Probe& p : t.probes) {
      EXPECT_GT(p.seq, last_seq);
      EXPECT_EQ(p.sent_at, clock.Now());
      last_seq = p.seq;
      ++probes;
    }
    EXPECT_EQ(t.next_tick, clock.Now() + absl::Milliseconds(50));
    clock.Advance(absl::Milliseconds(50));
  }
  EXPECT_EQ(probes, 20);
}

TEST(Bond, PoliciesLinksOnlyAreUsedAndProbed) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBalanceXor, 1000, {Link("eth0")}), clock);
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId w = sim.AddPath("wlan0", {});
  sim.Settle();
  sim.SetTraffic(Traffic{.flows = 100, .packets_per_step = 5});
  sim.Run(absl::Seconds(2));
  EXPECT_EQ(sim.stats(w).packets, 0u);
  BondSnapshot s = bond.Snapshot();
  EXPECT_EQ(s.paths[w].probes_sent, 0u);
  EXPECT_FALSE(s.paths[w].eligible);
  EXPECT_TRUE(s.paths[a].eligible);
  EXPECT_EQ(s.total_links, 1);
  EXPECT_EQ(s.usable_links, 1);
}

TEST(Bond, IpvPrefOrdersAndFiltersALinksPaths) {
  FakeClock clock;
  Bond bond("peer",
            TestPolicy(BasePolicy::kActiveBackup, 1000,
                       {Link("eth0", LinkMode::kPrimary, "", {}, IpvPref::kPrefer6),
                        Link("eth1", LinkMode::kNone, "", {}, IpvPref::kOnly4)}),
            clock);
  Simulator sim(clock, bond);
  PathId v4 = sim.AddPath("eth0", {}, IpFamily::kV4);
  PathId v6 = sim.AddPath("eth0", {}, IpFamily::kV6);
  PathId e1v6 = sim.AddPath("eth1", {}, IpFamily::kV6);
  PathId e1v4 = sim.AddPath("eth1", {}, IpFamily::kV4);
  sim.Settle();
  EXPECT_EQ(bond.active_path(), v6);  // 64: IPv6 first
  sim.SetUp(v6, false);
  sim.Run(absl::Seconds(2));
  EXPECT_EQ(bond.active_path(), v4);  // then IPv4 on the same link, no failover
  EXPECT_EQ(bond.failovers(), 0u);
  sim.SetCarrier("eth0", false);
  EXPECT_EQ(bond.active_path(), e1v4);  // 4: IPv6 paths never used
  BondSnapshot s = bond.Snapshot();
  EXPECT_FALSE(s.paths[e1v6].eligible);
  EXPECT_EQ(s.paths[e1v6].probes_sent, 0u);
}

TEST(Bond, MeasuresLatencyPdvLossAndErrorsWithinTolerance) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBalanceXor, 1000), clock,
            {.sample_window = 1024, .seed = 1});
  Simulator sim(clock, bond, 77);
  // RTT uniform in 40 +- 10 ms: mean 40, standard deviation 10 / sqrt(3) = 5.77 ms.
  PathId a = sim.AddPath("eth0", {.rtt = 40 * kMs, .jitter = 10 * kMs, .loss = 0.1});
  PathId b = sim.AddPath("eth1", {.rtt = 5 * kMs});
  sim.SetInboundPerStep(1);
  sim.SetBadFraction(b, 0.05);
  sim.Settle();
  sim.Run(absl::Seconds(300));
  BondSnapshot s = bond.Snapshot();
  EXPECT_NEAR(s.paths[a].metrics.latency_ms, 40.0, 1.0);
  EXPECT_NEAR(s.paths[a].metrics.pdv_ms, 5.77, 0.5);
  // A probe and its reply share one loss draw in the simulator.
  EXPECT_NEAR(s.paths[a].metrics.plr, 0.1, 0.025);
  EXPECT_NEAR(s.paths[b].metrics.latency_ms, 5.0, 1e-6);
  EXPECT_NEAR(s.paths[b].metrics.pdv_ms, 0.0, 1e-6);
  EXPECT_DOUBLE_EQ(s.paths[b].metrics.plr, 0.0);
  EXPECT_NEAR(s.paths[b].metrics.per, 0.05, 0.01);
  EXPECT_DOUBLE_EQ(s.paths[a].metrics.per, 0.0);
  EXPECT_LT(s.paths[b].rx_age, absl::Milliseconds(2));
}

TEST(Bond, SnapshotShowsWhatBondShowPrints) {
  FakeClock clock;
  ResolvedPolicy p = TestPolicy(BasePolicy::kBalanceXor, 500,
                                {Link("eth0", LinkMode::kNone, "", 1000),
                                 Link("eth1", LinkMode::kNone, "", 5000), Link("eth2")});
  p.up_delay = absl::Milliseconds(100);
  Bond bond("77dcbe7120", p, clock, {.seed = 1});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId b = sim.AddPath("eth1", {});
  sim.Settle();
  sim.SetTraffic(Traffic{.flows = 1000, .packets_per_step = 10, .size = 500});
  sim.Run(absl::Seconds(3));
  BondSnapshot s = bond.Snapshot();
  EXPECT_EQ(s.peer, "77dcbe7120");
  EXPECT_EQ(s.base, BasePolicy::kBalanceXor);
  EXPECT_EQ(s.failover_interval, absl::Milliseconds(500));
  EXPECT_EQ(s.up_delay, absl::Milliseconds(100));
  EXPECT_EQ(s.total_links, 3);  // eth2 is listed but has no path
  EXPECT_EQ(s.usable_links, 2);
  EXPECT_EQ(s.active_path, kNoPath);
  EXPECT_EQ(s.flows, 1000u);
  ASSERT_EQ(s.paths.size(), 2u);
  EXPECT_EQ(s.paths[a].speed, 1000u);
  EXPECT_EQ(s.paths[b].speed, 5000u);
  EXPECT_NEAR(s.paths[a].alloc, 0.5, 0.05);
  EXPECT_DOUBLE_EQ(s.paths[a].target, 0.5);
  EXPECT_EQ(s.paths[a].flows + s.paths[b].flows, 1000u);
  EXPECT_EQ(s.paths[a].tx_packets + s.paths[b].tx_packets, 30000u);
  EXPECT_EQ(s.paths[a].tx_bytes + s.paths[b].tx_bytes, 30000u * 500);
  EXPECT_TRUE(s.paths[a].eligible && s.paths[a].bonded);
  EXPECT_LE(s.paths[a].tx_age, absl::Milliseconds(1));
  EXPECT_LT(s.paths[a].rx_age, absl::Milliseconds(200));
  EXPECT_EQ(s.paths[a].state, PathState::kUp);
}

TEST(Bond, UpdatePolicyLiveKeepsActiveLinkAndTraffic) {
  FakeClock clock;
  ResolvedPolicy p = TestPolicy(BasePolicy::kActiveBackup, 1000, {Link("eth0"), Link("eth1")});
  p.link_select_method = LinkSelectMethod::kFailure;
  Bond bond("peer", p, clock, {.seed = 1});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId b = sim.AddPath("eth1", {});
  sim.Settle();
  sim.SetCarrier("eth0", false);
  sim.SetCarrier("eth0", true);
  sim.SetTraffic(Traffic{.flows = 10, .packets_per_step = 2});
  sim.Run(absl::Seconds(2));
  ASSERT_EQ(bond.active_path(), b);
  // A faster failoverInterval, same links: the active link stays and nothing is lost.
  ResolvedPolicy faster = p;
  faster.failover_interval = absl::Milliseconds(200);
  bond.UpdatePolicy(faster);
  EXPECT_EQ(bond.active_path(), b);
  EXPECT_EQ(bond.probe_interval(), absl::Milliseconds(50));
  sim.Run(absl::Seconds(2));
  EXPECT_EQ(sim.lost_packets(), 0u);
  // The new interval is in force: a silent failure is detected within 200 ms + one tick.
  const absl::Time cut = clock.Now();
  sim.SetUp(b, false);
  sim.Run(absl::Seconds(1));
  EXPECT_EQ(bond.active_path(), a);
  EXPECT_LE(sim.stats(b).longest_down_use, absl::Milliseconds(200) + bond.tick_interval());
  (void)cut;
  // Making eth0 the primary with "always" (it is already active): nothing changes.
  ResolvedPolicy with_primary = faster;
  with_primary.links = {Link("eth0", LinkMode::kPrimary), Link("eth1")};
  with_primary.link_select_method = LinkSelectMethod::kAlways;
  bond.UpdatePolicy(with_primary);
  EXPECT_EQ(bond.active_path(), a);
}

TEST(Bond, UpdatePolicyFromXorToAwareKeepsFlowsOnTheirLinks) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBalanceXor), clock, {.seed = 1});
  Simulator sim(clock, bond);
  sim.AddPath("eth0", {});
  sim.AddPath("eth1", {});
  sim.Settle();
  std::vector<PathId> before;
  for (int i = 0; i < 1000; ++i) {
    before.push_back(bond.Select({.flow = Simulator::FlowKeyFor(i), .size = 1}).first());
  }
  bond.UpdatePolicy(TestPolicy(BasePolicy::kBalanceAware));
  EXPECT_EQ(bond.policy().base, BasePolicy::kBalanceAware);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(bond.Select({.flow = Simulator::FlowKeyFor(i), .size = 1}).first(), before[i]);
  }
  // And to active-backup: one link, immediately.
  bond.UpdatePolicy(TestPolicy(BasePolicy::kActiveBackup));
  PathId active = bond.active_path();
  ASSERT_NE(active, kNoPath);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(bond.Select({.flow = Simulator::FlowKeyFor(i), .size = 1}).first(), active);
  }
}

TEST(Bond, FlowsExpireAfterTheIdleTimeoutAndTheTableIsBounded) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kBalanceXor), clock,
            {.max_flows = 1024, .flow_idle_timeout = absl::Seconds(10), .seed = 1});
  Simulator sim(clock, bond);
  sim.AddPath("eth0", {});
  sim.AddPath("eth1", {});
  sim.Settle();
  for (int i = 0; i < 5000; ++i) bond.Select({.flow = Simulator::FlowKeyFor(i), .size = 1});
  EXPECT_LE(bond.flows().size(), 1024u);
  EXPECT_GT(bond.Snapshot().flow_evictions, 0u);
  sim.Run(absl::Seconds(5));
  EXPECT_GT(bond.flows().size(), 0u);
  sim.Run(absl::Seconds(6));
  EXPECT_EQ(bond.flows().size(), 0u);
  EXPECT_EQ(bond.Snapshot().flows, 0u);
}

TEST(Bond, FailedActivePathKeepsItsRoleForDownDelay) {
  FakeClock clock;
  ResolvedPolicy p =
      TestPolicy(BasePolicy::kActiveBackup, 1000, {Link("eth0", LinkMode::kPrimary), Link("eth1")});
  p.down_delay = absl::Milliseconds(2000);
  // (optimize would leave the lossy primary on quality grounds before downDelay ends)
  p.link_select_method = LinkSelectMethod::kAlways;
  Bond bond("peer", p, clock, {.seed = 1});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId b = sim.AddPath("eth1", {});
  sim.Settle();
  sim.SetTraffic(Traffic{.packets_per_step = 1});
  const absl::Time cut = clock.Now();
  sim.SetUp(a, false);
  sim.Run(absl::Seconds(5));
  // Detected after ~1 s of silence, kept for 2 s more, then failed over.
  ASSERT_EQ(sim.active_changes().back().path, b);
  const absl::Duration moved = sim.active_changes().back().at - cut;
  EXPECT_GE(moved, absl::Milliseconds(2700));
  EXPECT_LE(moved, absl::Milliseconds(3000) + bond.tick_interval());
  // Carrier loss does not wait for downDelay.
  sim.SetUp(a, true);
  sim.Run(absl::Seconds(2));
  ASSERT_EQ(bond.active_path(), a);
  sim.SetCarrier("eth0", false);
  EXPECT_EQ(bond.active_path(), b);
}

TEST(Bond, RotateIsRefusedOnEveryPolicyButActiveBackup) {
  for (BasePolicy base : {BasePolicy::kBroadcast, BasePolicy::kBalanceRr, BasePolicy::kBalanceXor,
                          BasePolicy::kBalanceAware}) {
    FakeClock clock;
    ResolvedPolicy p = TestPolicy(base);
    p.name = "my-custom";
    Bond bond("peer", p, clock, {.seed = 1});
    Simulator sim(clock, bond);
    sim.AddPath("eth0", {});
    sim.AddPath("eth1", {});
    sim.Settle();
    EXPECT_THAT(bond.Rotate(),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(absl::StrCat("my-custom (based on ", BasePolicyName(base)))));
  }
}

TEST(Bond, CarrierEventForUnknownInterfaceIsIgnored) {
  FakeClock clock;
  Bond bond("peer", TestPolicy(BasePolicy::kActiveBackup), clock);
  bond.SetCarrier("docker0", false);
  EXPECT_EQ(bond.Snapshot().total_links, 0);
}

}  // namespace
}  // namespace fleetbond::bond
