// node_metrics.h
//
// NodeMetrics is a prometheus-cpp Collectable that reads the node's bonds at scrape time (so
// every scrape is current and nothing is kept in between). It renders them with BondFamilies
// (bond_families.h), the renderer the controller's export shares, so the node's series are named
// and labelled as the controller exports them; docs/metrics.md lists them:
//
//   per link of each bond (labels node, peer, link):
//     fleetbond_path_latency_seconds, fleetbond_path_pdv_seconds (only once measured),
//     fleetbond_path_loss_ratio, fleetbond_path_error_ratio, fleetbond_path_allocation_ratio,
//     fleetbond_path_eligible, fleetbond_path_bonded (0 or 1),
//     fleetbond_path_{tx,rx}_{bytes,packets}_total
//   per bond (labels node, peer): fleetbond_bond_failovers_total, fleetbond_bond_links_usable,
//     fleetbond_bond_links, fleetbond_bond_info{policy, base_policy} 1,
//     fleetbond_bond_active_link{link} 1 (active-backup)
//   per node (labels node, reason): fleetbond_dataplane_drops_total, every reason the data plane
//     counts (the controller only gets them summed into fewer reasons)
//   per node (labels node, event): fleetbond_dataplane_handshakes_total, the data-plane key
//     handshakes (initiated, responded, completed, rekeyed, failed, expired)
//
// When a link has several paths (IPv4 and IPv6), gauges are those of the path it sends on and
// counters are summed.
//
// Example:
//   prometheus::Exposer exposer("127.0.0.1:9802");
//   auto metrics = std::make_shared<NodeMetrics>(backend, node_id);
//   exposer.RegisterCollectable(metrics);
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "node/api/node_backend.h"

namespace fleetbond::metrics {

class NodeMetrics : public prometheus::Collectable {
 public:
  // `backend` must outlive this collectable (and the Exposer it is registered with).
  NodeMetrics(api::NodeBackend& backend, std::string node_id)
      : backend_(backend), node_id_(std::move(node_id)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  api::NodeBackend& backend_;
  const std::string node_id_;
};

}  // namespace fleetbond::metrics
