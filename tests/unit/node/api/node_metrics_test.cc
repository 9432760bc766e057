#include "node/metrics/node_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "node/transport/wire_format.h"
#include "tests/unit/node/api/fake_backend.h"

namespace fleetbond::metrics {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(NodeMetrics, ExportsPathGaugesAndCountersPerLinkInBaseUnits) {
  api::FakeBackend backend;
  bond::BondSnapshot b;
  b.peer = "77dcbe7120";
  b.policy_name = "active-backup";
  b.failovers = 2;
  bond::PathSnapshot p;
  p.id = 0;
  p.spec = {.link = "eth0", .local = "10.201.0.1", .remote = "10.201.0.2/9800"};
  p.metrics = {.measured = true, .latency_ms = 12.5, .pdv_ms = 1, .plr = 0.1, .per = 0};
  p.eligible = true;
  p.bonded = true;
  p.tx_bytes = 1500;
  bond::PathSnapshot v6 = p;  // a second path of the same link: counters add up
  v6.id = 1;
  v6.spec.remote = "fd20::2/9800";
  v6.eligible = false;
  v6.bonded = false;
  v6.tx_bytes = 500;
  b.paths = {p, v6};
  b.active_path = 0;
  backend.bonds = {b};
  backend.drops.no_route = 7;

  NodeMetrics metrics(backend, "1111111111");
  const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_THAT(text,
              HasSubstr("fleetbond_path_latency_seconds{link=\"eth0\",node=\"1111111111\",peer="
                        "\"77dcbe7120\"} 0.0125"));
  EXPECT_THAT(text, HasSubstr("fleetbond_path_loss_ratio{link=\"eth0\""));
  EXPECT_THAT(text, HasSubstr("fleetbond_path_tx_bytes_total{link=\"eth0\",node=\"1111111111\","
                              "peer=\"77dcbe7120\"} 2000"));
  EXPECT_THAT(text, HasSubstr("fleetbond_path_bonded{link=\"eth0\",node=\"1111111111\",peer="
                              "\"77dcbe7120\"} 1"));
  EXPECT_THAT(text, HasSubstr("fleetbond_bond_failovers_total{node=\"1111111111\",peer="
                              "\"77dcbe7120\"} 2"));
  EXPECT_THAT(text, HasSubstr("fleetbond_dataplane_drops_total{node=\"1111111111\",reason="
                              "\"no_route\"} 7"));
  EXPECT_THAT(text, HasSubstr("# TYPE fleetbond_path_rx_packets_total counter"));
  EXPECT_THAT(text, Not(HasSubstr("link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} 0.0125\n"
                                  "fleetbond_path_latency_seconds{link=\"eth0\"")));
}

// SampleLines is the text exposition without comments, sorted: the series and their values.
std::vector<std::string> SampleLines(const std::vector<prometheus::MetricFamily>& families) {
  std::vector<std::string> lines =
      absl::StrSplit(prometheus::TextSerializer().Serialize(families), '\n', absl::SkipEmpty());
  std::erase_if(lines, [](const std::string& l) { return l.starts_with("#"); });
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Two bonds, one per kind of link reporting: an active-backup bond whose eth0 has an IPv4 path
// (active, measured) and an IPv6 one (neither), and an unmeasured eth1; a balance-rr bond, listed
// first, with no active link.
std::vector<bond::BondSnapshot> TwoBonds() {
  bond::BondSnapshot ab;
  ab.peer = "77dcbe7120";
  ab.policy_name = "fast-ab";
  ab.base = BasePolicy::kActiveBackup;
  ab.failovers = 3;
  ab.usable_links = 2;
  ab.total_links = 2;
  bond::PathSnapshot p;
  p.id = 0;
  p.spec = {.link = "eth0", .local = "10.201.0.1", .remote = "10.201.0.2/9800"};
  p.metrics = {.measured = true, .latency_ms = 12.5, .pdv_ms = 1.25, .plr = 0.1, .per = 0.02};
  p.eligible = true;
  p.bonded = true;
  p.alloc = 1;
  p.tx_bytes = 1500;
  p.rx_bytes = 700;
  p.tx_packets = 3;
  p.rx_packets = 2;
  bond::PathSnapshot v6 = p;
  v6.id = 1;
  v6.spec.remote = "fd20::2/9800";
  v6.eligible = false;
  v6.bonded = false;
  v6.alloc = 0;
  v6.metrics = {.measured = false, .latency_ms = 0, .pdv_ms = 0, .plr = 0.5, .per = 0};
  v6.tx_bytes = 500;
  v6.rx_bytes = 0;
  v6.tx_packets = 1;
  v6.rx_packets = 0;
  bond::PathSnapshot e1;
  e1.id = 2;
  e1.spec = {.link = "eth1", .local = "10.202.0.1", .remote = "10.202.0.2/9800"};
  e1.eligible = true;
  e1.tx_packets = 4;
  ab.paths = {p, v6, e1};
  ab.active_path = 0;

  bond::BondSnapshot rr;
  rr.peer = "2222222222";
  rr.policy_name = "rr";
  rr.base = BasePolicy::kBalanceRr;
  rr.usable_links = 1;
  rr.total_links = 2;
  bond::PathSnapshot r1 = e1;
  r1.id = 0;
  r1.bonded = true;
  r1.alloc = 0.75;
  r1.metrics = {.measured = true, .latency_ms = 3, .pdv_ms = 0.5, .plr = 0, .per = 0};
  bond::PathSnapshot r0 = p;
  r0.id = 1;
  r0.alloc = 0.25;
  rr.paths = {r1, r0};
  return {rr, ab};
}

// The series and values below are what the node exported before it rendered through the
// renderer it shares with the controller (BondFamilies); they must not change.
TEST(NodeMetrics, ExportsEverySeriesOfItsBondsAndDrops) {
  api::FakeBackend backend;
  backend.bonds = TwoBonds();
  backend.drops.no_route = 7;
  backend.drops.by_reason[static_cast<size_t>(transport::DropReason::kAuthenticationFailed)] = 3;

  NodeMetrics metrics(backend, "1111111111");
  EXPECT_THAT(
      SampleLines(metrics.Collect()),
      ElementsAreArray(std::vector<std::string>{
          "fleetbond_bond_active_link{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} 1",
          "fleetbond_bond_failovers_total{node=\"1111111111\",peer=\"2222222222\"} 0",
          "fleetbond_bond_failovers_total{node=\"1111111111\",peer=\"77dcbe7120\"} 3",
          "fleetbond_bond_info{base_policy=\"active-backup\",node=\"1111111111\",peer="
          "\"77dcbe7120\",policy=\"fast-ab\"} 1",
          "fleetbond_bond_info{base_policy=\"balance-rr\",node=\"1111111111\",peer=\"2222222222\","
          "policy=\"rr\"} 1",
          "fleetbond_bond_links_usable{node=\"1111111111\",peer=\"2222222222\"} 1",
          "fleetbond_bond_links_usable{node=\"1111111111\",peer=\"77dcbe7120\"} 2",
          "fleetbond_bond_links{node=\"1111111111\",peer=\"2222222222\"} 2",
          "fleetbond_bond_links{node=\"1111111111\",peer=\"77dcbe7120\"} 2",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"authentication_failed\"} 3",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"bad_body_length\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"bad_version\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"duplicate\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"handshake_rate_limited\"} "
          "0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"handshake_unexpected\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"no_route\"} 7",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"no_session\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"no_usable_path\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"replayed\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"reserved_bits_set\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"seal_failure\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"too_long\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"too_old\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"too_short\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"unknown_key_epoch\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"unknown_path\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"unknown_peer\"} 0",
          "fleetbond_dataplane_drops_total{node=\"1111111111\",reason=\"unknown_type\"} 0",
          "fleetbond_dataplane_handshakes_total{event=\"completed\",node=\"1111111111\"} 0",
          "fleetbond_dataplane_handshakes_total{event=\"expired\",node=\"1111111111\"} 0",
          "fleetbond_dataplane_handshakes_total{event=\"failed\",node=\"1111111111\"} 0",
          "fleetbond_dataplane_handshakes_total{event=\"initiated\",node=\"1111111111\"} 0",
          "fleetbond_dataplane_handshakes_total{event=\"rekeyed\",node=\"1111111111\"} 0",
          "fleetbond_dataplane_handshakes_total{event=\"responded\",node=\"1111111111\"} 0",
          "fleetbond_path_allocation_ratio{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "0.25",
          "fleetbond_path_allocation_ratio{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "1",
          "fleetbond_path_allocation_ratio{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} "
          "0.75",
          "fleetbond_path_allocation_ratio{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "0",
          "fleetbond_path_bonded{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} 1",
          "fleetbond_path_bonded{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} 1",
          "fleetbond_path_bonded{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} 1",
          "fleetbond_path_bonded{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} 0",
          "fleetbond_path_eligible{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} 1",
          "fleetbond_path_eligible{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} 1",
          "fleetbond_path_eligible{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} 1",
          "fleetbond_path_eligible{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} 1",
          "fleetbond_path_error_ratio{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} 0.02",
          "fleetbond_path_error_ratio{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} 0.02",
          "fleetbond_path_error_ratio{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} 0",
          "fleetbond_path_error_ratio{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} 0",
          "fleetbond_path_latency_seconds{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "0.0125",
          "fleetbond_path_latency_seconds{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "0.0125",
          "fleetbond_path_latency_seconds{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} "
          "0.003",
          "fleetbond_path_loss_ratio{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} 0.1",
          "fleetbond_path_loss_ratio{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} 0.1",
          "fleetbond_path_loss_ratio{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} 0",
          "fleetbond_path_loss_ratio{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} 0",
          "fleetbond_path_pdv_seconds{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "0.00125",
          "fleetbond_path_pdv_seconds{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "0.00125",
          "fleetbond_path_pdv_seconds{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} "
          "0.0005",
          "fleetbond_path_quality_breaking{link=\"eth0\",node=\"1111111111\",peer="
          "\"2222222222\"} 0",
          "fleetbond_path_quality_breaking{link=\"eth0\",node=\"1111111111\",peer="
          "\"77dcbe7120\"} 0",
          "fleetbond_path_quality_breaking{link=\"eth1\",node=\"1111111111\",peer="
          "\"2222222222\"} 0",
          "fleetbond_path_quality_breaking{link=\"eth1\",node=\"1111111111\",peer="
          "\"77dcbe7120\"} 0",
          "fleetbond_path_rx_bytes_total{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "700",
          "fleetbond_path_rx_bytes_total{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "700",
          "fleetbond_path_rx_bytes_total{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} 0",
          "fleetbond_path_rx_bytes_total{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} 0",
          "fleetbond_path_rx_packets_total{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "2",
          "fleetbond_path_rx_packets_total{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "2",
          "fleetbond_path_rx_packets_total{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} "
          "0",
          "fleetbond_path_rx_packets_total{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "0",
          "fleetbond_path_tx_bytes_total{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "1500",
          "fleetbond_path_tx_bytes_total{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "2000",
          "fleetbond_path_tx_bytes_total{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} 0",
          "fleetbond_path_tx_bytes_total{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} 0",
          "fleetbond_path_tx_packets_total{link=\"eth0\",node=\"1111111111\",peer=\"2222222222\"} "
          "3",
          "fleetbond_path_tx_packets_total{link=\"eth0\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "4",
          "fleetbond_path_tx_packets_total{link=\"eth1\",node=\"1111111111\",peer=\"2222222222\"} "
          "4",
          "fleetbond_path_tx_packets_total{link=\"eth1\",node=\"1111111111\",peer=\"77dcbe7120\"} "
          "4",
      }));
}

TEST(NodeMetrics, ExportsWhetherALinkBreaksItsPolicysQualityLimits) {
  api::FakeBackend backend;
  std::vector<bond::BondSnapshot> bonds = TwoBonds();
  bonds[0].paths[0].breaking = true;  // the rr bond's eth1
  backend.bonds = bonds;

  NodeMetrics metrics(backend, "1111111111");
  const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_THAT(text, HasSubstr("# TYPE fleetbond_path_quality_breaking gauge"));
  EXPECT_THAT(text, HasSubstr("fleetbond_path_quality_breaking{link=\"eth1\",node=\"1111111111\","
                              "peer=\"2222222222\"} 1"));
  EXPECT_THAT(text, HasSubstr("fleetbond_path_quality_breaking{link=\"eth0\",node=\"1111111111\","
                              "peer=\"2222222222\"} 0"));
}

TEST(NodeMetrics, WithoutBondsExportsTheFamiliesAndDrops) {
  api::FakeBackend backend;
  NodeMetrics metrics(backend, "1111111111");
  const std::vector<prometheus::MetricFamily> families = metrics.Collect();
  const std::string text = prometheus::TextSerializer().Serialize(families);
  EXPECT_THAT(text, HasSubstr("# TYPE fleetbond_path_latency_seconds gauge"));
  EXPECT_THAT(text, Not(HasSubstr("fleetbond_path_latency_seconds{")));
  EXPECT_THAT(text, HasSubstr("fleetbond_dataplane_drops_total{node=\"1111111111\",reason="
                              "\"no_route\"} 0"));
}

}  // namespace
}  // namespace fleetbond::metrics
