// bond_families.h
//
// BondFamilies renders bonds, as the node API and the controller session carry them
// (fleetbond.v1.Bond), as Prometheus metric families. It is the one renderer behind the node's own
// /metrics (NodeMetrics) and the controller's fleet export (FleetMetrics), so both name, label and
// compute every bond series alike. docs/metrics.md is the reference of what it exports.
//
// Per peer (the default), each link (interface) of each bond gives one series per path family,
// labelled {link, node, peer}; a link with several paths (IPv4 and IPv6) reports the gauges of
// the path it sends on and its counters summed over its paths. Each bond gives its own series
// labelled {node, peer}.
//
// Without the peer label (`per_peer` false, for fleets too large for node x peer series), a
// node's bonds are summed up per link, labelled {link, node}, so that the result equals what
// `sum by (node, link)` or `avg by (node, link)` computes over the per-peer series: counters are
// summed; latency and PDV are the mean over the bonds that measured the link; loss, error and
// allocation ratios the mean over the bonds that have the link; eligible, bonded, quality_breaking
// and active_link count bonds. Bond series become node series: failovers and link counts summed,
// and fleetbond_bond_info{policy, base_policy} counts the node's bonds of each policy.
//
// Families always appear, in a fixed order, even with no sample.
//
// Example:
//   BondFamilies families({.per_peer = true});
//   families.Reserve(/*nodes=*/1, report.bonds_size(), /*links=*/8);
//   families.AddNode("1111111111", report.bonds());
//   std::vector<prometheus::MetricFamily> out;
//   families.MoveTo(out);
#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <string>
#include <vector>

#include "fleetbond/v1/node.pb.h"

namespace fleetbond::metrics {

class BondFamilies {
 public:
  struct Options {
    // false: drop the peer label and aggregate each node's bonds per link (see above).
    bool per_peer = true;
  };

  explicit BondFamilies(Options options);

  // Reserve makes room for `nodes` nodes with `bonds` bonds and `links` links (of bonds) in all,
  // so that rendering a large fleet does not grow the sample vectors as it goes.
  void Reserve(size_t nodes, size_t bonds, size_t links);

  // AddNode renders the bonds of node `node`. Call it once per node: two calls for one node give
  // duplicate series.
  void AddNode(const std::string& node, const google::protobuf::RepeatedPtrField<v1::Bond>& bonds);

  // MoveTo appends the families to `out` and leaves this renderer empty.
  void MoveTo(std::vector<prometheus::MetricFamily>& out);

 private:
  // The families, in the order they are exported.
  enum Family : size_t {
    kLatency,
    kPdv,
    kLoss,
    kError,
    kAllocation,
    kEligible,
    kBonded,
    kBreaking,
    kTxBytes,
    kRxBytes,
    kTxPackets,
    kRxPackets,
    kActiveLink,
    kFailovers,
    kLinksUsable,
    kLinks,
    kInfo,
    kFamilyCount,
  };
  using Labels = std::vector<prometheus::ClientMetric::Label>;

  void AddBond(const std::string& node, const v1::Bond& bond);
  void AddNodeTotals(const std::string& node,
                     const google::protobuf::RepeatedPtrField<v1::Bond>& bonds);
  // Put adds a sample to family `f`, as a counter or a gauge by the family's type.
  void Put(Family f, Labels labels, double value);

  const Options options_;
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace fleetbond::metrics
