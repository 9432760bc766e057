// fleet_view.h
//
// FleetView is what the controller's Prometheus export reads of the fleet at scrape time: one
// NodeView per node the controller knows. The session manager implements it over its registry;
// tests implement it with a vector.
//
// Example:
//   class Registry : public metrics::FleetView {
//    public:
//     std::vector<metrics::NodeView> Nodes() override {
//       absl::MutexLock lock(&mu_);
//       ... one NodeView per node, sharing the latest report rather than copying it ...
//     }
//   };
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fleetbond/v1/session.pb.h"

namespace fleetbond::metrics {

// NodeView is one registry node as the exporter sees it.
struct NodeView {
  std::string id;  // 10 hex digits
  bool connected = false;
  std::string software_version;  // from the node's Hello; empty: not known
  uint64_t acked_version = 0;    // settings version the node acked last
  uint64_t desired_version = 0;  // settings version the controller wants it on
  uint64_t nacks_total = 0;      // pushes the node refused
  // The latest metrics report; null: none. Its bonds are exported only while `connected`.
  std::shared_ptr<const v1::MetricsReport> report;
};

class FleetView {
 public:
  virtual ~FleetView() = default;
  // Nodes returns every node to export, in a stable order (the order of the exposition). Called
  // once per scrape, from the scraping thread.
  virtual std::vector<NodeView> Nodes() = 0;
};

}  // namespace fleetbond::metrics
