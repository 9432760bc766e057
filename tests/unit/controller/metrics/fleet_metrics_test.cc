#include "controller/metrics/fleet_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/controller/metrics/exposition.h"

namespace fleetbond::metrics {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;

constexpr char kNode[] = "1111111111";
constexpr char kAbPeer[] = "2222222222";
constexpr char kRrPeer[] = "3333333333";

class VectorFleetView : public FleetView {
 public:
  std::vector<NodeView> nodes;
  std::vector<NodeView> Nodes() override { return nodes; }
};

v1::Path* AddPath(v1::Bond& bond, uint32_t idx, const std::string& link,
                  const std::string& remote) {
  v1::Path* p = bond.add_paths();
  p->set_idx(idx);
  p->set_interface(link);
  p->set_remote_endpoint(remote);
  return p;
}

void Measure(v1::Path& p, double latency_ms, double pdv_ms, double loss, double error) {
  p.set_measured(true);
  p.set_latency_ms(latency_ms);
  p.set_pdv_ms(pdv_ms);
  p.set_loss_ratio(loss);
  p.set_error_ratio(error);
}

// ActiveBackupBond: eth0 (IPv4, active and measured; IPv6, unmeasured) and eth1 (unmeasured).
v1::Bond ActiveBackupBond(const std::string& peer) {
  v1::Bond b;
  b.mutable_summary()->set_peer(peer);
  b.mutable_summary()->set_policy_name("fast-ab");
  b.mutable_summary()->set_base_policy(v1::BASE_POLICY_ACTIVE_BACKUP);
  b.mutable_summary()->set_usable_links(2);
  b.mutable_summary()->set_total_links(2);
  b.set_failovers(3);
  b.set_active_path(0);
  v1::Path* v4 = AddPath(b, 0, "eth0", "10.201.0.2/9800");
  Measure(*v4, 12.5, 1.25, 0.1, 0.02);
  v4->set_eligible(true);
  v4->set_bonded(true);
  v4->set_allocation(1);
  v4->set_tx_bytes(1500);
  v4->set_rx_bytes(700);
  v4->set_tx_packets(3);
  v4->set_rx_packets(2);
  v1::Path* v6 = AddPath(b, 1, "eth0", "fd20::2/9800");
  v6->set_loss_ratio(0.5);
  v6->set_tx_bytes(500);
  v6->set_tx_packets(1);
  v1::Path* eth1 = AddPath(b, 2, "eth1", "10.202.0.2/9800");
  eth1->set_eligible(true);
  eth1->set_tx_packets(4);
  return b;
}

// RoundRobinBond: eth0 and eth1, both measured and carrying a share.
v1::Bond RoundRobinBond(const std::string& peer) {
  v1::Bond b;
  b.mutable_summary()->set_peer(peer);
  b.mutable_summary()->set_policy_name("rr");
  b.mutable_summary()->set_base_policy(v1::BASE_POLICY_BALANCE_RR);
  b.mutable_summary()->set_usable_links(2);
  b.mutable_summary()->set_total_links(2);
  b.set_failovers(1);
  v1::Path* eth0 = AddPath(b, 0, "eth0", "10.201.0.3/9800");
  Measure(*eth0, 20, 2, 0.3, 0);
  eth0->set_eligible(true);
  eth0->set_bonded(true);
  eth0->set_allocation(0.25);
  eth0->set_tx_bytes(100);
  v1::Path* eth1 = AddPath(b, 1, "eth1", "10.202.0.3/9800");
  Measure(*eth1, 4, 0.5, 0, 0.1);
  eth1->set_eligible(true);
  eth1->set_bonded(true);
  eth1->set_allocation(0.75);
  eth1->set_tx_bytes(300);
  return b;
}

std::shared_ptr<const v1::MetricsReport> Report(std::vector<v1::Bond> bonds) {
  auto r = std::make_shared<v1::MetricsReport>();
  r->set_unix_time_ms(1'700'000'000'500);
  for (v1::Bond& b : bonds) *r->add_bonds() = std::move(b);
  r->mutable_counters()->set_drops_no_route(7);
  r->mutable_counters()->set_drops_bad_packets(3);
  return r;
}

NodeView Connected(const std::string& id, std::shared_ptr<const v1::MetricsReport> report) {
  return NodeView{.id = id,
                  .connected = true,
                  .software_version = "0.4.0",
                  .acked_version = 41,
                  .desired_version = 42,
                  .nacks_total = 2,
                  .report = std::move(report)};
}

LabelMap PathLabels(const std::string& link, const std::string& peer) {
  return {{"link", link}, {"node", kNode}, {"peer", peer}};
}

class FleetMetricsTest : public ::testing::Test {
 protected:
  FleetMetricsTest() {
    view_.nodes = {Connected(kNode, Report({ActiveBackupBond(kAbPeer), RoundRobinBond(kRrPeer)}))};
  }
  std::vector<prometheus::MetricFamily> Collect(bool per_peer) {
    return FleetMetrics(view_, {.per_peer = per_peer}).Collect();
  }

  VectorFleetView view_;
};

TEST_F(FleetMetricsTest, ExportsEveryFamilyInAFixedOrderWithTypeAndHelp) {
  const std::vector<prometheus::MetricFamily> families = Collect(true);
  std::vector<std::tuple<std::string, prometheus::MetricType>> got;
  for (const auto& f : families) {
    EXPECT_THAT(f.help, Not(IsEmpty())) << f.name;
    got.emplace_back(f.name, f.type);
  }
  using T = prometheus::MetricType;
  EXPECT_THAT(got, ElementsAre(std::tuple("fleetbond_node_connected", T::Gauge),
                               std::tuple("fleetbond_node_info", T::Gauge),
                               std::tuple("fleetbond_node_settings_version_acked", T::Gauge),
                               std::tuple("fleetbond_node_settings_version_desired", T::Gauge),
                               std::tuple("fleetbond_node_nacks_total", T::Counter),
                               std::tuple("fleetbond_node_last_report_timestamp_seconds", T::Gauge),
                               std::tuple("fleetbond_path_latency_seconds", T::Gauge),
                               std::tuple("fleetbond_path_pdv_seconds", T::Gauge),
                               std::tuple("fleetbond_path_loss_ratio", T::Gauge),
                               std::tuple("fleetbond_path_error_ratio", T::Gauge),
                               std::tuple("fleetbond_path_allocation_ratio", T::Gauge),
                               std::tuple("fleetbond_path_eligible", T::Gauge),
                               std::tuple("fleetbond_path_bonded", T::Gauge),
                               std::tuple("fleetbond_path_quality_breaking", T::Gauge),
                               std::tuple("fleetbond_path_tx_bytes_total", T::Counter),
                               std::tuple("fleetbond_path_rx_bytes_total", T::Counter),
                               std::tuple("fleetbond_path_tx_packets_total", T::Counter),
                               std::tuple("fleetbond_path_rx_packets_total", T::Counter),
                               std::tuple("fleetbond_bond_active_link", T::Gauge),
                               std::tuple("fleetbond_bond_failovers_total", T::Counter),
                               std::tuple("fleetbond_bond_links_usable", T::Gauge),
                               std::tuple("fleetbond_bond_links", T::Gauge),
                               std::tuple("fleetbond_bond_info", T::Gauge),
                               std::tuple("fleetbond_dataplane_drops_total", T::Counter)));
}

TEST_F(FleetMetricsTest, PathSeriesAreLabelledNodePeerLinkInBaseUnits) {
  const auto f = Collect(true);
  const LabelMap eth0 = PathLabels("eth0", kAbPeer);
  EXPECT_THAT(Value(f, "fleetbond_path_latency_seconds", eth0),
              Optional(DoubleNear(0.0125, 1e-12)));
  EXPECT_THAT(Value(f, "fleetbond_path_pdv_seconds", eth0), Optional(DoubleNear(0.00125, 1e-12)));
  EXPECT_THAT(Value(f, "fleetbond_path_loss_ratio", eth0), Optional(0.1));
  EXPECT_THAT(Value(f, "fleetbond_path_error_ratio", eth0), Optional(0.02));
  EXPECT_THAT(Value(f, "fleetbond_path_allocation_ratio", eth0), Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_path_eligible", eth0), Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_path_bonded", eth0), Optional(1.0));
  // Counters of a link add up over its paths (IPv4 and IPv6).
  EXPECT_THAT(Value(f, "fleetbond_path_tx_bytes_total", eth0), Optional(2000.0));
  EXPECT_THAT(Value(f, "fleetbond_path_rx_bytes_total", eth0), Optional(700.0));
  EXPECT_THAT(Value(f, "fleetbond_path_tx_packets_total", eth0), Optional(4.0));
  EXPECT_THAT(Value(f, "fleetbond_path_rx_packets_total", eth0), Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_active_link", eth0), Optional(1.0));

  // eth1 of the active-backup bond was never measured: no latency or PDV, but the rest.
  const LabelMap eth1 = PathLabels("eth1", kAbPeer);
  EXPECT_EQ(Value(f, "fleetbond_path_latency_seconds", eth1), std::nullopt);
  EXPECT_EQ(Value(f, "fleetbond_path_pdv_seconds", eth1), std::nullopt);
  EXPECT_THAT(Value(f, "fleetbond_path_loss_ratio", eth1), Optional(0.0));
  EXPECT_THAT(Value(f, "fleetbond_path_eligible", eth1), Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_path_bonded", eth1), Optional(0.0));
  EXPECT_THAT(Value(f, "fleetbond_path_tx_packets_total", eth1), Optional(4.0));
  EXPECT_EQ(Value(f, "fleetbond_bond_active_link", eth1), std::nullopt);

  EXPECT_THAT(Value(f, "fleetbond_path_latency_seconds", PathLabels("eth1", kRrPeer)),
              Optional(DoubleNear(0.004, 1e-12)));
  EXPECT_EQ(FindFamily(f, "fleetbond_path_loss_ratio")->metric.size(), 4u);
  EXPECT_EQ(FindFamily(f, "fleetbond_bond_active_link")->metric.size(), 1u);
}

TEST_F(FleetMetricsTest, BondSeriesAreLabelledNodePeer) {
  const auto f = Collect(true);
  const LabelMap ab = {{"node", kNode}, {"peer", kAbPeer}};
  EXPECT_THAT(Value(f, "fleetbond_bond_failovers_total", ab), Optional(3.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_links_usable", ab), Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_links", ab), Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_info",
                    {{"base_policy", "active-backup"},
                     {"node", kNode},
                     {"peer", kAbPeer},
                     {"policy", "fast-ab"}}),
              Optional(1.0));
  EXPECT_THAT(
      Value(f, "fleetbond_bond_info",
            {{"base_policy", "balance-rr"}, {"node", kNode}, {"peer", kRrPeer}, {"policy", "rr"}}),
      Optional(1.0));
}

TEST_F(FleetMetricsTest, NodeSeriesCarryTheRegistryAndTheReportCounters) {
  const auto f = Collect(true);
  const LabelMap node = {{"node", kNode}};
  EXPECT_THAT(Value(f, "fleetbond_node_connected", node), Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_node_info", {{"node", kNode}, {"version", "0.4.0"}}),
              Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_node_settings_version_acked", node), Optional(41.0));
  EXPECT_THAT(Value(f, "fleetbond_node_settings_version_desired", node), Optional(42.0));
  EXPECT_THAT(Value(f, "fleetbond_node_nacks_total", node), Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_node_last_report_timestamp_seconds", node),
              Optional(1'700'000'000.5));
  EXPECT_THAT(
      Value(f, "fleetbond_dataplane_drops_total", {{"node", kNode}, {"reason", "no_route"}}),
      Optional(7.0));
  EXPECT_THAT(
      Value(f, "fleetbond_dataplane_drops_total", {{"node", kNode}, {"reason", "bad_packet"}}),
      Optional(3.0));
  EXPECT_THAT(
      Value(f, "fleetbond_dataplane_drops_total", {{"node", kNode}, {"reason", "duplicate"}}),
      Optional(0.0));
}

TEST_F(FleetMetricsTest, DisconnectedNodeExportsOnlyItsNodeSeries) {
  view_.nodes[0].connected = false;
  const auto f = Collect(true);
  EXPECT_THAT(Value(f, "fleetbond_node_connected", {{"node", kNode}}), Optional(0.0));
  EXPECT_THAT(Value(f, "fleetbond_node_settings_version_acked", {{"node", kNode}}), Optional(41.0));
  for (const prometheus::MetricFamily& family : f) {
    if (family.name.starts_with("fleetbond_node_")) {
      EXPECT_THAT(family.metric, Not(IsEmpty())) << family.name;
    } else {
      EXPECT_THAT(family.metric, IsEmpty()) << family.name;
    }
  }
}

TEST_F(FleetMetricsTest, NodeWithoutReportExportsNoReportSeries) {
  view_.nodes[0].report = nullptr;
  const auto f = Collect(true);
  EXPECT_THAT(Value(f, "fleetbond_node_connected", {{"node", kNode}}), Optional(1.0));
  EXPECT_EQ(Value(f, "fleetbond_node_last_report_timestamp_seconds", {{"node", kNode}}),
            std::nullopt);
  EXPECT_EQ(SeriesWith(f, "peer", kAbPeer), 0);
  EXPECT_THAT(FindFamily(f, "fleetbond_dataplane_drops_total")->metric, IsEmpty());
}

TEST_F(FleetMetricsTest, NodeRemovedFromTheViewLeavesTheExposition) {
  view_.nodes.push_back(Connected("4444444444", Report({RoundRobinBond(kNode)})));
  FleetMetrics metrics(view_, {});
  ASSERT_GT(SeriesWith(metrics.Collect(), "node", "4444444444"), 10);

  view_.nodes.pop_back();
  const auto f = metrics.Collect();
  EXPECT_EQ(SeriesWith(f, "node", "4444444444"), 0);
  EXPECT_GT(SeriesWith(f, "node", kNode), 10);
}

TEST_F(FleetMetricsTest, QualityBreakingIsPerLinkAndCountsBondsWithoutPeerLabel) {
  v1::Bond rr = RoundRobinBond(kRrPeer);
  rr.mutable_paths(0)->set_breaking(true);  // eth0
  v1::Bond rr2 = RoundRobinBond("5555555555");
  rr2.mutable_paths(0)->set_breaking(true);
  view_.nodes[0].report = Report({ActiveBackupBond(kAbPeer), rr, rr2});
  const auto per_peer = Collect(true);
  EXPECT_THAT(Value(per_peer, "fleetbond_path_quality_breaking", PathLabels("eth0", kRrPeer)),
              Optional(1.0));
  EXPECT_THAT(Value(per_peer, "fleetbond_path_quality_breaking", PathLabels("eth1", kRrPeer)),
              Optional(0.0));
  EXPECT_THAT(Value(per_peer, "fleetbond_path_quality_breaking", PathLabels("eth0", kAbPeer)),
              Optional(0.0));
  const auto per_link = Collect(false);
  EXPECT_THAT(
      Value(per_link, "fleetbond_path_quality_breaking", {{"link", "eth0"}, {"node", kNode}}),
      Optional(2.0));
  EXPECT_THAT(
      Value(per_link, "fleetbond_path_quality_breaking", {{"link", "eth1"}, {"node", kNode}}),
      Optional(0.0));
}

TEST_F(FleetMetricsTest, WithoutPeerLabelLinksAreAggregatedPerNode) {
  view_.nodes[0].report =
      Report({ActiveBackupBond(kAbPeer), RoundRobinBond(kRrPeer), RoundRobinBond("5555555555")});
  const auto f = Collect(false);
  EXPECT_EQ(SeriesWith(f, "peer", kAbPeer) + SeriesWith(f, "peer", kRrPeer), 0);
  const LabelMap eth0 = {{"link", "eth0"}, {"node", kNode}};
  const LabelMap eth1 = {{"link", "eth1"}, {"node", kNode}};
  // Counters summed over the bonds.
  EXPECT_THAT(Value(f, "fleetbond_path_tx_bytes_total", eth0), Optional(2000.0 + 100 + 100));
  EXPECT_THAT(Value(f, "fleetbond_path_tx_bytes_total", eth1), Optional(0.0 + 300 + 300));
  // Latency and PDV: the mean over the bonds that measured the link.
  EXPECT_THAT(Value(f, "fleetbond_path_latency_seconds", eth0),
              Optional(DoubleNear((0.0125 + 0.020 + 0.020) / 3, 1e-12)));
  EXPECT_THAT(Value(f, "fleetbond_path_latency_seconds", eth1), Optional(DoubleNear(0.004, 1e-12)));
  EXPECT_THAT(Value(f, "fleetbond_path_pdv_seconds", eth1), Optional(DoubleNear(0.0005, 1e-12)));
  // Ratios: the mean over the bonds that have the link.
  EXPECT_THAT(Value(f, "fleetbond_path_loss_ratio", eth0),
              Optional(DoubleNear((0.1 + 0.3 + 0.3) / 3, 1e-12)));
  EXPECT_THAT(Value(f, "fleetbond_path_error_ratio", eth1),
              Optional(DoubleNear((0 + 0.1 + 0.1) / 3, 1e-12)));
  EXPECT_THAT(Value(f, "fleetbond_path_allocation_ratio", eth1),
              Optional(DoubleNear((0 + 0.75 + 0.75) / 3, 1e-12)));
  // Eligible, bonded and the active link count bonds.
  EXPECT_THAT(Value(f, "fleetbond_path_eligible", eth1), Optional(3.0));
  EXPECT_THAT(Value(f, "fleetbond_path_bonded", eth1), Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_active_link", eth0), Optional(1.0));
  EXPECT_EQ(Value(f, "fleetbond_bond_active_link", eth1), std::nullopt);
  // Bond series become node series.
  const LabelMap node = {{"node", kNode}};
  EXPECT_THAT(Value(f, "fleetbond_bond_failovers_total", node), Optional(5.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_links", node), Optional(6.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_info",
                    {{"base_policy", "balance-rr"}, {"node", kNode}, {"policy", "rr"}}),
              Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_bond_info",
                    {{"base_policy", "active-backup"}, {"node", kNode}, {"policy", "fast-ab"}}),
              Optional(1.0));
  EXPECT_EQ(FindFamily(f, "fleetbond_path_loss_ratio")->metric.size(), 2u);
  // The help says what the aggregate is.
  EXPECT_THAT(FindFamily(f, "fleetbond_path_eligible")->help, testing::HasSubstr("Bonds"));
}

// The aggregate is what PromQL's sum by / avg by (node, link) computes over the per-peer series,
// so that dashboards work with either export.
TEST_F(FleetMetricsTest, AggregateEqualsSumOrAvgByNodeAndLinkOfPerPeerSeries) {
  view_.nodes.push_back(Connected(
      "4444444444",
      Report({RoundRobinBond(kNode), ActiveBackupBond(kRrPeer), ActiveBackupBond(kAbPeer)})));
  const auto per_peer = Collect(true);
  const auto per_link = Collect(false);
  for (const prometheus::MetricFamily& family : per_peer) {
    if (!family.name.starts_with("fleetbond_path_") &&
        family.name != "fleetbond_bond_active_link") {
      continue;
    }
    const bool avg = family.name.ends_with("_seconds") || family.name.ends_with("_ratio");
    std::map<LabelMap, std::pair<double, int>> groups;
    for (const prometheus::ClientMetric& m : family.metric) {
      LabelMap l = Labels(m);
      l.erase("peer");
      auto& [sum, n] = groups[l];
      sum += family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      ++n;
    }
    ASSERT_EQ(FindFamily(per_link, family.name)->metric.size(), groups.size()) << family.name;
    for (const auto& [labels, sum_n] : groups) {
      const double want = avg ? sum_n.first / sum_n.second : sum_n.first;
      EXPECT_THAT(Value(per_link, family.name, labels), Optional(DoubleNear(want, 1e-12)))
          << family.name << " " << labels.at("node") << " " << labels.at("link");
    }
  }
}

TEST_F(FleetMetricsTest, OddReportsExportWithoutCrashing) {
  v1::Bond empty;  // no peer, no policy, no paths
  v1::Bond unknown_policy = RoundRobinBond(kRrPeer);
  unknown_policy.mutable_summary()->set_base_policy(static_cast<v1::BasePolicy>(99));
  unknown_policy.set_active_path(77);  // no such path
  view_.nodes[0].report = Report({empty, unknown_policy});
  for (bool per_peer : {true, false}) {
    const auto f = Collect(per_peer);
    EXPECT_EQ(FindFamily(f, "fleetbond_bond_active_link")->metric.size(), 0u);
    EXPECT_EQ(FindFamily(f, "fleetbond_bond_info")->metric.size(), 2u);
    EXPECT_GT(SeriesWith(f, "base_policy", "unspecified"), 0);
  }
}

TEST_F(FleetMetricsTest, PathsOfOneLinkAreGroupedWhateverTheirOrder) {
  v1::Bond b = RoundRobinBond(kRrPeer);
  v1::Path* late = AddPath(b, 2, "eth0", "fd20::3/9800");  // eth0 again, after eth1
  late->set_tx_bytes(11);
  b.mutable_paths()->SwapElements(0, 1);  // eth1 first
  view_.nodes[0].report = Report({b});
  for (bool per_peer : {true, false}) {
    const auto f = Collect(per_peer);
    LabelMap eth0 = {{"link", "eth0"}, {"node", kNode}};
    if (per_peer) eth0["peer"] = kRrPeer;
    EXPECT_THAT(Value(f, "fleetbond_path_tx_bytes_total", eth0), Optional(111.0));
    // The gauges are those of the path that carries traffic, not of the later one.
    EXPECT_THAT(Value(f, "fleetbond_path_bonded", eth0), Optional(1.0));
    const prometheus::MetricFamily* tx = FindFamily(f, "fleetbond_path_tx_bytes_total");
    ASSERT_EQ(tx->metric.size(), 2u);
    EXPECT_EQ(Labels(tx->metric[0]).at("link"), "eth0");
    EXPECT_EQ(Labels(tx->metric[1]).at("link"), "eth1");
  }
}

// A report is input from the network: thousands of links must neither crash nor stall a scrape.
TEST_F(FleetMetricsTest, ReportWithThousandsOfLinksExportsEveryLink) {
  v1::Bond b = RoundRobinBond(kRrPeer);
  for (uint32_t i = 0; i < 5000; ++i) AddPath(b, i + 2, "if" + std::to_string(i), "10.9.0.1/9800");
  view_.nodes[0].report = Report({b, b});
  EXPECT_EQ(FindFamily(Collect(true), "fleetbond_path_loss_ratio")->metric.size(), 2u * 5002);
  EXPECT_EQ(FindFamily(Collect(false), "fleetbond_path_loss_ratio")->metric.size(), 5002u);
}

TEST(FleetMetrics, EmptyFleetExportsFamiliesWithoutSamples) {
  VectorFleetView view;
  const auto f = FleetMetrics(view, {}).Collect();
  EXPECT_EQ(f.size(), 24u);
  for (const auto& family : f) EXPECT_THAT(family.metric, IsEmpty()) << family.name;
}

}  // namespace
}  // namespace fleetbond::metrics
