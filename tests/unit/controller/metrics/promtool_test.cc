// The exposition passes `promtool check metrics`, Prometheus's own lint of names, units, types
// and help: this guards the naming practice (base units, _total on counters only, ...).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "controller/metrics/controller_metrics.h"
#include "controller/metrics/fleet_metrics.h"
#include "node/metrics/node_metrics.h"
#include "tests/unit/node/api/fake_backend.h"

namespace fleetbond::metrics {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

class OneNodeView : public FleetView {
 public:
  std::vector<NodeView> Nodes() override {
    auto report = std::make_shared<v1::MetricsReport>();
    report->set_unix_time_ms(1'700'000'000'000);
    v1::Bond* bond = report->add_bonds();
    bond->mutable_summary()->set_peer("2222222222");
    bond->mutable_summary()->set_policy_name("fast-ab");
    bond->mutable_summary()->set_base_policy(v1::BASE_POLICY_ACTIVE_BACKUP);
    bond->set_active_path(0);
    for (const char* link : {"eth0", "eth1"}) {
      v1::Path* p = bond->add_paths();
      p->set_idx(static_cast<uint32_t>(bond->paths_size() - 1));
      p->set_interface(link);
      p->set_measured(true);
      p->set_latency_ms(3);
    }
    return {NodeView{.id = "1111111111",
                     .connected = true,
                     .software_version = "0.4.0",
                     .report = std::move(report)},
            NodeView{.id = "3333333333"}};
  }
};

struct Lint {
  int status = -1;
  std::string output;
};

// Promtool runs `promtool check metrics` on `exposition`.
Lint Promtool(const std::string& exposition) {
  const std::string out = ::testing::TempDir() + "promtool_output.txt";
  const std::string command = std::string(kPromtool) + " check metrics > " + out + " 2>&1";
  FILE* pipe = popen(command.c_str(), "w");
  if (pipe == nullptr) return {};
  fwrite(exposition.data(), 1, exposition.size(), pipe);
  Lint lint;
  lint.status = pclose(pipe);
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  lint.output = text.str();
  return lint;
}

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::ifstream(kPromtool).fail()) GTEST_SKIP() << kPromtool << " not installed";
  }
};

TEST_F(PromtoolTest, FleetAndControllerExpositionsPassTheLint) {
  OneNodeView view;
  prometheus::Registry registry;
  ControllerMetrics controller(registry);
  controller.ObservePushToAck(0.02);
  controller.CountPush();
  for (bool per_peer : {true, false}) {
    std::vector<prometheus::MetricFamily> families =
        FleetMetrics(view, {.per_peer = per_peer}).Collect();
    for (auto& f : registry.Collect()) families.push_back(std::move(f));
    const std::string text = prometheus::TextSerializer().Serialize(families);
    ASSERT_THAT(text, ::testing::HasSubstr("fleetbond_path_latency_seconds{"));
    const Lint lint = Promtool(text);
    EXPECT_EQ(lint.status, 0) << "per_peer=" << per_peer << "\n" << lint.output << "\n" << text;
    EXPECT_EQ(lint.output, "") << "per_peer=" << per_peer;
  }
}

// The node's own /metrics renders its bonds with the same renderer, and its drops by reason.
TEST_F(PromtoolTest, NodeExpositionPassesTheLint) {
  api::FakeBackend backend;
  bond::BondSnapshot b;
  b.peer = "2222222222";
  b.policy_name = "fast-ab";
  b.active_path = 0;
  bond::PathSnapshot p;
  p.id = 0;
  p.spec = {.link = "eth0", .local = "10.201.0.1", .remote = "10.201.0.2/9800"};
  p.metrics = {.measured = true, .latency_ms = 3, .pdv_ms = 1, .plr = 0, .per = 0};
  b.paths = {p};
  backend.bonds = {b};
  const std::string text =
      prometheus::TextSerializer().Serialize(NodeMetrics(backend, "1111111111").Collect());
  ASSERT_THAT(text, ::testing::HasSubstr("fleetbond_bond_active_link{"));
  const Lint lint = Promtool(text);
  EXPECT_EQ(lint.status, 0) << lint.output << "\n" << text;
  EXPECT_EQ(lint.output, "");
}

// The lint does find what it guards against, so a pass above means something.
TEST_F(PromtoolTest, LintRejectsACounterWithoutTotal) {
  const Lint lint = Promtool(
      "# HELP fleetbond_path_tx_bytes Bytes.\n# TYPE fleetbond_path_tx_bytes counter\n"
      "fleetbond_path_tx_bytes 1\n");
  EXPECT_NE(lint.status, 0);
  EXPECT_THAT(lint.output, ::testing::HasSubstr("_total"));
}

}  // namespace
}  // namespace fleetbond::metrics
