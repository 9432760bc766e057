#include "controller/metrics/controller_metrics.h"

namespace fleetbond::metrics {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const char* name,
                                const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& ControllerMetrics::PushToAckBuckets() {
  // A push on a healthy LAN is acked in a few ms; one that waits for a node busy applying it, or
  // for a congested link, takes seconds. Beyond 10 s lands in +Inf.
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

ControllerMetrics::ControllerMetrics(prometheus::Registry& registry)
    : push_to_ack_(prometheus::BuildHistogram()
                       .Name("fleetbond_controller_push_to_ack_seconds")
                       .Help("Time from sending a settings push to its ACK or NACK.")
                       .Register(registry)
                       .Add({}, PushToAckBuckets())),
      pushes_(NewCounter(registry, "fleetbond_controller_pushes_total",
                         "Settings pushes sent to nodes.")),
      nacks_(NewCounter(registry, "fleetbond_controller_nacks_total",
                        "Settings pushes nodes refused (NACK).")),
      reports_(NewCounter(registry, "fleetbond_controller_metrics_reports_total",
                          "Metrics reports received from nodes.")),
      sessions_(NewGauge(registry, "fleetbond_controller_sessions", "Node sessions open now.")),
      settings_version_(NewGauge(registry, "fleetbond_controller_settings_version",
                                 "Version of the fleet's desired settings.")),
      pending_pushes_(NewGauge(registry, "fleetbond_controller_pending_pushes",
                               "Pushes waiting for the push rate limit.")) {}

}  // namespace fleetbond::metrics
