#include "node/bond/balance_rr.h"

#include <vector>

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

ResolvedPolicy Rr(uint32_t packets_per_link) {
  ResolvedPolicy p = TestPolicy(BasePolicy::kBalanceRr);
  p.packets_per_link = packets_per_link;
  return p;
}

// Sends `n` packets and returns the path of each.
std::vector<PathId> Send(Bond& bond, int n) {
  std::vector<PathId> out;
  for (int i = 0; i < n; ++i) {
    PathSet s = bond.Select(PacketMeta{.size = 100});
    EXPECT_EQ(s.size(), 1);
    out.push_back(s.first());
  }
  return out;
}

TEST(BalanceRr, SendsExactlyPacketsPerLinkOnALinkThenTheNext) {
  for (uint32_t ppl : {1u, 3u, 64u}) {
    FakeClock clock;
    Bond bond("peer", Rr(ppl), clock, {.seed = 1});
    Simulator sim(clock, bond);
    PathId a = sim.AddPath("eth0", {});
    PathId b = sim.AddPath("eth1", {});
    PathId c = sim.AddPath("eth2", {});
    sim.Settle();
    std::vector<PathId> got = Send(bond, static_cast<int>(ppl) * 9);
    const PathId order[] = {a, b, c};
    // The stripe may start on any link; from there it is exact.
    size_t first = 0;
    while (order[first] != got[0]) ++first;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], order[(first + i / ppl) % 3]) << "ppl " << ppl << " packet " << i;
    }
  }
}

TEST(BalanceRr, DefaultIs64) {
  EXPECT_EQ(TestPolicy(BasePolicy::kBalanceRr).packets_per_link, 64u);
}

TEST(BalanceRr, ZeroPicksARandomLinkPerPacket) {
  FakeClock clock;
  Bond bond("peer", Rr(0), clock, {.seed = 3});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId b = sim.AddPath("eth1", {});
  sim.Settle();
  std::vector<PathId> got = Send(bond, 20000);
  int on_a = 0, switches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    on_a += got[i] == a;
    if (i > 0 && got[i] != got[i - 1]) ++switches;
  }
  EXPECT_NEAR(on_a / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(switches / 20000.0, 0.5, 0.02);  // independent draws switch half the time
  (void)b;
}

TEST(BalanceRr, SkipsAFailedLinkAndResumesStripingOverTheRest) {
  FakeClock clock;
  Bond bond("peer", Rr(4), clock, {.seed = 1});
  Simulator sim(clock, bond);
  PathId a = sim.AddPath("eth0", {});
  PathId b = sim.AddPath("eth1", {});
  PathId c = sim.AddPath("eth2", {});
  sim.Settle();
  sim.SetCarrier("eth1", false);
  std::vector<PathId> got = Send(bond, 40);
  for (PathId p : got) EXPECT_NE(p, b);
  // Exact stripes of 4 over the two remaining links.
  for (size_t i = 4; i < got.size(); i += 4) {
    for (size_t j = 1; j < 4 && i + j < got.size(); ++j) EXPECT_EQ(got[i + j], got[i]);
    EXPECT_NE(got[i], got[i - 1]);
  }
  (void)a;
  (void)c;
}

TEST(BalanceRr, SparesStayIdleUntilEveryOtherLinkIsDown) {
  FakeClock clock;
  ResolvedPolicy p = TestPolicy(BasePolicy::kBalanceRr, 1000,
                                {Link("eth0"), Link("eth1"), Link("lte0", LinkMode::kSpare)});
  p.packets_per_link = 2;
  Bond bond("peer", p, clock, {.seed = 1});
  Simulator sim(clock, bond);
  sim.AddPath("eth0", {});
  sim.AddPath("eth1", {});
  PathId s = sim.AddPath("lte0", {});
  sim.Settle();
  sim.SetTraffic(Traffic{.packets_per_step = 1});
  sim.Run(absl::Seconds(1));
  EXPECT_EQ(sim.stats(s).packets, 0u);
  sim.SetCarrier("eth0", false);
  sim.Run(absl::Seconds(1));
  EXPECT_EQ(sim.stats(s).packets, 0u);
  sim.SetCarrier("eth1", false);
  sim.Run(absl::Seconds(1));
  EXPECT_EQ(sim.stats(s).packets, 1000u);
  EXPECT_EQ(sim.lost_packets(), 0u);
}

}  // namespace
}  // namespace fleetbond::bond
