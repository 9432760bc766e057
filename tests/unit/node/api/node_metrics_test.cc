#include "node/metrics/node_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "tests/unit/node/api/fake_backend.h"

namespace fleetbond::metrics {
namespace {

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

}  // namespace
}  // namespace fleetbond::metrics
