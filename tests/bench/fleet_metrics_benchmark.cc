// fleet_metrics_benchmark.cc: one whole controller scrape (FleetMetrics::Collect and the text
// serialization) of a fleet of 1,000 and 10,000 nodes with 2 bonds of 2 links each (4 paths per
// node), with and without the peer label.
#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "controller/metrics/fleet_metrics.h"

namespace fleetbond::metrics {
namespace {

std::string NodeId(int i) { return absl::StrFormat("%010x", i + 1); }

std::shared_ptr<const v1::MetricsReport> Report(int node, int nodes) {
  auto report = std::make_shared<v1::MetricsReport>();
  report->set_unix_time_ms(1'700'000'000'000);
  for (int b = 1; b <= 2; ++b) {
    v1::Bond* bond = report->add_bonds();
    bond->mutable_summary()->set_peer(NodeId((node + b) % nodes));
    bond->mutable_summary()->set_policy_name(b == 1 ? "fast-ab" : "rr");
    bond->mutable_summary()->set_base_policy(b == 1 ? v1::BASE_POLICY_ACTIVE_BACKUP
                                                    : v1::BASE_POLICY_BALANCE_RR);
    bond->mutable_summary()->set_usable_links(2);
    bond->mutable_summary()->set_total_links(2);
    bond->set_failovers(3);
    if (b == 1) bond->set_active_path(0);
    for (uint32_t l = 0; l < 2; ++l) {
      v1::Path* p = bond->add_paths();
      p->set_idx(l);
      p->set_interface(l == 0 ? "eth0" : "eth1");
      p->set_measured(true);
      p->set_latency_ms(12.5 + l);
      p->set_pdv_ms(1.5);
      p->set_loss_ratio(0.01);
      p->set_allocation(0.5);
      p->set_eligible(true);
      p->set_bonded(true);
      p->set_tx_bytes(123'456'789);
      p->set_rx_bytes(98'765'432);
      p->set_tx_packets(123'456);
      p->set_rx_packets(98'765);
    }
  }
  return report;
}

// Fleet copies its nodes on every call, as a registry behind a mutex would.
class Fleet : public FleetView {
 public:
  explicit Fleet(int n) {
    for (int i = 0; i < n; ++i) {
      nodes_.push_back(NodeView{.id = NodeId(i),
                                .connected = true,
                                .software_version = "0.4.0",
                                .acked_version = 42,
                                .desired_version = 42,
                                .report = Report(i, n)});
    }
  }
  std::vector<NodeView> Nodes() override { return nodes_; }

 private:
  std::vector<NodeView> nodes_;
};

void BM_Scrape(benchmark::State& state) {
  Fleet fleet(static_cast<int>(state.range(0)));
  FleetMetrics metrics(fleet, {.per_peer = state.range(1) != 0});
  const prometheus::TextSerializer serializer;
  size_t bytes = 0, series = 0;
  for (auto _ : state) {
    const std::vector<prometheus::MetricFamily> families = metrics.Collect();
    const std::string text = serializer.Serialize(families);
    bytes = text.size();
    series = 0;
    for (const auto& f : families) series += f.metric.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape)
    ->ArgNames({"nodes", "per_peer"})
    ->ArgsProduct({{1'000, 10'000}, {1, 0}})
    ->Unit(benchmark::kMillisecond);

// Collect alone: the exporter's own share of a scrape.
void BM_Collect(benchmark::State& state) {
  Fleet fleet(static_cast<int>(state.range(0)));
  FleetMetrics metrics(fleet, {.per_peer = state.range(1) != 0});
  for (auto _ : state) benchmark::DoNotOptimize(metrics.Collect());
}
BENCHMARK(BM_Collect)
    ->ArgNames({"nodes", "per_peer"})
    ->ArgsProduct({{1'000, 10'000}, {1, 0}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fleetbond::metrics

BENCHMARK_MAIN();
