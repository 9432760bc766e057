#include "node/cli/bond_view.h"

#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "node/api/bond_proto.h"
#include "node/bond/bond.h"

namespace fleetbond::cli {
namespace {

// A two-link active-backup bond as the engine reports it: eth0 active and measured, eth1 a
// standby that was never heard from.
bond::BondSnapshot TwoLinkBond() {
  bond::BondSnapshot s;
  s.peer = "77dcbe7120";
  s.policy_name = "fast-ab";
  s.base = BasePolicy::kActiveBackup;
  s.link_select_method = LinkSelectMethod::kAlways;
  s.failover_interval = absl::Milliseconds(500);
  s.up_delay = absl::Milliseconds(0);
  s.down_delay = absl::Milliseconds(200);
  s.probe_interval = absl::Milliseconds(125);
  s.packets_per_link = 64;
  s.usable_links = 1;
  s.total_links = 2;
  s.active_path = 0;
  s.failovers = 3;
  s.flows = 5;
  bond::PathSnapshot a;
  a.id = 0;
  a.spec = {.link = "eth0", .local = "10.201.0.1", .remote = "10.201.0.2/9800"};
  a.state = bond::PathState::kUp;
  a.metrics = {.measured = true, .latency_ms = 0.25, .pdv_ms = 0.15, .plr = 0.1, .per = 0};
  a.speed = 1000;
  a.alloc = 1.0;
  a.target = 1.0;
  a.rx_age = absl::Milliseconds(62);
  a.tx_age = absl::Milliseconds(66);
  a.eligible = true;
  a.bonded = true;
  a.flows = 5;
  a.tx_packets = 10;
  a.tx_bytes = 1000;
  bond::PathSnapshot b;
  b.id = 10;
  b.spec = {.link = "wlan0", .local = "10.201.1.1", .remote = "10.201.1.2/9800"};
  s.paths = {a, b};
  return s;
}

TEST(BondView, ShowPrintsTheSpecHeaderBlockAndBothTables) {
  EXPECT_EQ(
      RenderBondShow(api::BondToProto(TwoLinkBond(), 9800)),
      "Peer                   : 77dcbe7120\n"
      "Bond                   : fast-ab (active-backup)\n"
      "Link Select Method     : always\n"
      "Links                  : 1/2\n"
      "Failover Interval (ms) : 500\n"
      "Up Delay (ms)          : 0\n"
      "Down Delay (ms)        : 200\n"
      "Packets Per Link       : 64\n"
      "Active Link            : 0: eth0/10.201.0.2/9800\n"
      "Failovers              : 3\n"
      "Flows                  : 5\n"
      "\n"
      "idx  interface             path           socket\n"
      "------------------------------------------------\n"
      " 0:       eth0  10.201.0.2/9800  10.201.0.1/9800\n"
      "10:      wlan0  10.201.1.2/9800  10.201.1.1/9800\n"
      "\n"
      "\n"
      "idx   lat   pdv     plr     per  speed  alloc  rx_age  tx_age  eligible  bonded  flows\n"
      "--------------------------------------------------------------------------------------\n"
      " 0:  0.25  0.15  0.1000  0.0000   1000   1.00      62      66         1       1      5\n"
      "10:     -     -       -  0.0000      -   0.00       -       -         0       0      0\n");
}

TEST(BondView, ListNamesCustomPoliciesWithTheirBase) {
  v1::ListBondsResponse list;
  bond::BondSnapshot custom = TwoLinkBond();
  bond::BondSnapshot standard = TwoLinkBond();
  standard.peer = "2f33b459c1";
  standard.policy_name = "balance-xor";
  standard.base = BasePolicy::kBalanceXor;
  standard.usable_links = 18;
  standard.total_links = 18;
  *list.add_bonds() = api::SummaryToProto(standard);
  *list.add_bonds() = api::SummaryToProto(custom);
  EXPECT_EQ(RenderBondList(list),
            "<peer>                   <bondtype>  <links>\n"
            "--------------------------------------------\n"
            "2f33b459c1              balance-xor    18/18\n"
            "77dcbe7120  fast-ab (active-backup)      1/2\n");
}

TEST(BondView, RotationSaysFromWhereToWhere) {
  v1::RotateBondResponse r;
  r.set_from("eth0/10.201.0.2/9800");
  r.set_to("eth1/10.201.1.2/9800");
  EXPECT_EQ(RenderRotation(r),
            "active link rotated from eth0/10.201.0.2/9800 to eth1/10.201.1.2/9800\n");
}

TEST(BondProto, LeavesWhatWasNeverMeasuredUnset) {
  v1::Bond bond = api::BondToProto(TwoLinkBond(), 9800);
  ASSERT_EQ(bond.paths_size(), 2);
  const v1::Path& never = bond.paths(1);
  EXPECT_FALSE(never.measured());
  EXPECT_FALSE(never.has_rx_age_ms());
  EXPECT_FALSE(never.has_tx_age_ms());
  EXPECT_FALSE(never.has_capacity());
  EXPECT_EQ(never.state(), "down");
  EXPECT_TRUE(bond.paths(0).active());
  EXPECT_FALSE(bond.paths(1).active());
  EXPECT_EQ(bond.active_path(), 0u);
}

}  // namespace
}  // namespace fleetbond::cli
