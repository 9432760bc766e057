// fleet_metrics.h
//
// FleetMetrics is the controller's Prometheus export of the fleet: a prometheus-cpp Collectable
// that reads a FleetView at scrape time, so a scrape shows the fleet as it is and a node that
// left the view leaves the exposition with it. docs/metrics.md lists every family.
//
//   per node (label node): fleetbond_node_connected, fleetbond_node_info{version},
//     fleetbond_node_settings_version_acked, fleetbond_node_settings_version_desired,
//     fleetbond_node_nacks_total, fleetbond_node_last_report_timestamp_seconds
//   per bond and link of a connected node, from its latest report: the node's own families
//     (BondFamilies, node/metrics/bond_families.h), labels node, peer, link
//   per connected node: fleetbond_dataplane_drops_total{node, reason}
//
// ExportOptions::per_peer false drops the peer label and aggregates each node's bonds per link,
// which bounds the series to nodes x links on a fleet whose nodes all bond to each other.
//
// Example:
//   prometheus::Exposer exposer("0.0.0.0:9902");
//   auto fleet = std::make_shared<FleetMetrics>(registry, ExportOptions{.per_peer = false});
//   exposer.RegisterCollectable(fleet);
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "controller/metrics/fleet_view.h"

namespace fleetbond::metrics {

struct ExportOptions {
  // false: drop the peer label and aggregate per link (docs/metrics.md, "Cardinality").
  bool per_peer = true;
};

class FleetMetrics : public prometheus::Collectable {
 public:
  // `view` must outlive this collectable (and the Exposer it is registered with).
  FleetMetrics(FleetView& view, ExportOptions options) : view_(view), options_(options) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  FleetView& view_;
  const ExportOptions options_;
};

}  // namespace fleetbond::metrics
