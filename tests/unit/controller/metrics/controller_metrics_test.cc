#include "controller/metrics/controller_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/unit/controller/metrics/exposition.h"

namespace fleetbond::metrics {
namespace {

using ::testing::Optional;

TEST(ControllerMetrics, PushToAckBucketsSpanOneMillisecondToTenSecondsInIncreasingOrder) {
  const auto& b = ControllerMetrics::PushToAckBuckets();
  ASSERT_GE(b.size(), 8u);
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(std::adjacent_find(b.begin(), b.end()), b.end());
  // No decade is left with a single bucket: each step is at most a factor of 2.5.
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LE(b[i] / b[i - 1], 2.5 + 1e-9) << b[i];
}

TEST(ControllerMetrics, PushToAckObservationsLandInTheirBuckets) {
  prometheus::Registry registry;
  ControllerMetrics metrics(registry);
  metrics.ObservePushToAck(0.0005);  // <= 1 ms
  metrics.ObservePushToAck(0.003);   // <= 5 ms
  metrics.ObservePushToAck(20);      // beyond 10 s: +Inf only

  const auto families = registry.Collect();
  const prometheus::MetricFamily* f =
      FindFamily(families, "fleetbond_controller_push_to_ack_seconds");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, prometheus::MetricType::Histogram);
  ASSERT_EQ(f->metric.size(), 1u);
  const prometheus::ClientMetric::Histogram& h = f->metric[0].histogram;
  EXPECT_EQ(h.sample_count, 3u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 20.0035);
  auto count_at = [&](double le) -> uint64_t {
    for (const auto& bucket : h.bucket) {
      if (bucket.upper_bound == le) return bucket.cumulative_count;
    }
    ADD_FAILURE() << "no bucket " << le;
    return 0;
  };
  EXPECT_EQ(count_at(0.001), 1u);
  EXPECT_EQ(count_at(0.0025), 1u);
  EXPECT_EQ(count_at(0.005), 2u);
  EXPECT_EQ(count_at(10), 2u);
  EXPECT_EQ(h.bucket.back().cumulative_count, 3u);  // +Inf
}

TEST(ControllerMetrics, CountersAndGaugesFollowTheCalls) {
  prometheus::Registry registry;
  ControllerMetrics metrics(registry);
  metrics.CountPush();
  metrics.CountPush();
  metrics.CountNack();
  metrics.CountMetricsReport();
  metrics.SetSessions(12);
  metrics.SetSessions(11);
  metrics.SetSettingsVersion(42);
  metrics.SetPendingPushes(5);

  const auto f = registry.Collect();
  EXPECT_THAT(Value(f, "fleetbond_controller_pushes_total", {}), Optional(2.0));
  EXPECT_THAT(Value(f, "fleetbond_controller_nacks_total", {}), Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_controller_metrics_reports_total", {}), Optional(1.0));
  EXPECT_THAT(Value(f, "fleetbond_controller_sessions", {}), Optional(11.0));
  EXPECT_THAT(Value(f, "fleetbond_controller_settings_version", {}), Optional(42.0));
  EXPECT_THAT(Value(f, "fleetbond_controller_pending_pushes", {}), Optional(5.0));
  for (const auto& family : f) EXPECT_FALSE(family.help.empty()) << family.name;
}

}  // namespace
}  // namespace fleetbond::metrics
