// controller_metrics.h
//
// ControllerMetrics are the controller's own instruments (how its sessions and pushes are doing),
// registered in a prometheus::Registry and updated by the session manager as things happen. All
// methods are thread-safe (prometheus-cpp's instruments are atomic). docs/metrics.md lists them.
//
//   fleetbond_controller_push_to_ack_seconds   histogram, 1 ms .. 10 s
//   fleetbond_controller_pushes_total, fleetbond_controller_nacks_total,
//   fleetbond_controller_metrics_reports_total counters
//   fleetbond_controller_sessions, fleetbond_controller_settings_version,
//   fleetbond_controller_pending_pushes        gauges
//
// Example:
//   auto registry = std::make_shared<prometheus::Registry>();
//   ControllerMetrics metrics(*registry);
//   exposer.RegisterCollectable(registry);
//   metrics.CountPush();
//   ...
//   metrics.ObservePushToAck(absl::ToDoubleSeconds(clock.Now() - pushed_at));
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>

namespace fleetbond::metrics {

class ControllerMetrics {
 public:
  // `registry` must outlive this object.
  explicit ControllerMetrics(prometheus::Registry& registry);

  // PushToAckBuckets are the histogram's upper bounds in seconds: 1-2.5-5 steps from 1 ms to 10 s.
  static const prometheus::Histogram::BucketBoundaries& PushToAckBuckets();

  // ObservePushToAck records the time from sending a push to receiving its ACK or NACK.
  void ObservePushToAck(double seconds) { push_to_ack_.Observe(seconds); }
  // CountPush counts a settings push sent to a node.
  void CountPush() { pushes_.Increment(); }
  // CountNack counts a push a node refused.
  void CountNack() { nacks_.Increment(); }
  // CountMetricsReport counts a metrics report received from a node.
  void CountMetricsReport() { reports_.Increment(); }
  // SetSessions sets the number of node sessions open now.
  void SetSessions(int64_t n) { sessions_.Set(static_cast<double>(n)); }
  // SetSettingsVersion sets the version of the fleet's desired settings.
  void SetSettingsVersion(uint64_t v) { settings_version_.Set(static_cast<double>(v)); }
  // SetPendingPushes sets the pushes waiting for the push rate limit.
  void SetPendingPushes(int64_t n) { pending_pushes_.Set(static_cast<double>(n)); }

 private:
  prometheus::Histogram& push_to_ack_;
  prometheus::Counter& pushes_;
  prometheus::Counter& nacks_;
  prometheus::Counter& reports_;
  prometheus::Gauge& sessions_;
  prometheus::Gauge& settings_version_;
  prometheus::Gauge& pending_pushes_;
};

}  // namespace fleetbond::metrics
