#include "controller/metrics/fleet_metrics.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "node/metrics/bond_families.h"

namespace fleetbond::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The per-node families, in the order they are exported.
enum NodeFamily : size_t {
  kConnected,
  kInfo,
  kAcked,
  kDesired,
  kNacks,
  kLastReport,
  kNodeFamilyCount,
};

struct FamilySpec {
  const char* name;
  MetricType type;
  const char* help;
};

constexpr std::array<FamilySpec, kNodeFamilyCount> kNodeSpecs = {{
    {"fleetbond_node_connected", MetricType::Gauge,
     "1 while the node has a session to this controller."},
    {"fleetbond_node_info", MetricType::Gauge,
     "The node's software version, from its last Hello (value always 1)."},
    {"fleetbond_node_settings_version_acked", MetricType::Gauge,
     "Settings version the node acknowledged last."},
    {"fleetbond_node_settings_version_desired", MetricType::Gauge,
     "Settings version the controller wants the node on."},
    {"fleetbond_node_nacks_total", MetricType::Counter, "Settings pushes the node refused (NACK)."},
    {"fleetbond_node_last_report_timestamp_seconds", MetricType::Gauge,
     "Unix time, by the node's clock, of the node's latest metrics report."},
}};

// The drop reasons of a report's NodeCounters, as fleetbond_dataplane_drops_total labels them.
constexpr std::array<const char*, 5> kDropReasons = {"unknown_path", "no_route", "no_usable_path",
                                                     "duplicate", "bad_packet"};

std::array<uint64_t, kDropReasons.size()> Drops(const v1::NodeCounters& c) {
  return {c.drops_unknown_path(), c.drops_no_route(), c.drops_no_usable_path(),
          c.drops_duplicates(), c.drops_bad_packets()};
}

void Put(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric& m = family.metric.emplace_back();
  m.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
}

// Reports says whether the node's bonds are exported: only a connected node's, so that the path
// series of a node that left vanish with its session.
bool Reports(const NodeView& node) { return node.connected && node.report != nullptr; }

}  // namespace

std::vector<MetricFamily> FleetMetrics::Collect() const {
  const std::vector<NodeView> nodes = view_.Nodes();

  size_t reporting = 0, bonds = 0, links = 0;
  for (const NodeView& n : nodes) {
    if (!Reports(n)) continue;
    ++reporting;
    bonds += static_cast<size_t>(n.report->bonds_size());
    // Paths bound the links from above (a link with an IPv4 and an IPv6 path is one).
    for (const v1::Bond& b : n.report->bonds()) links += static_cast<size_t>(b.paths_size());
  }

  std::vector<MetricFamily> out;
  out.reserve(kNodeFamilyCount + 17);
  for (const FamilySpec& spec : kNodeSpecs) {
    MetricFamily& f = out.emplace_back(MetricFamily{spec.name, spec.help, spec.type, {}});
    f.metric.reserve(nodes.size());
  }
  MetricFamily drops{"fleetbond_dataplane_drops_total",
                     "Datagrams and packets the data plane dropped, by reason.",
                     MetricType::Counter,
                     {}};
  drops.metric.reserve(reporting * kDropReasons.size());
  BondFamilies families({.per_peer = options_.per_peer});
  families.Reserve(reporting, bonds, links);

  for (const NodeView& n : nodes) {
    const std::vector<ClientMetric::Label> l = {{"node", n.id}};
    Put(out[kConnected], l, n.connected ? 1 : 0);
    Put(out[kInfo], {{"node", n.id}, {"version", n.software_version}}, 1);
    Put(out[kAcked], l, static_cast<double>(n.acked_version));
    Put(out[kDesired], l, static_cast<double>(n.desired_version));
    Put(out[kNacks], l, static_cast<double>(n.nacks_total));
    if (n.report != nullptr) {
      Put(out[kLastReport], l, static_cast<double>(n.report->unix_time_ms()) / 1000.0);
    }
    if (!Reports(n)) continue;
    families.AddNode(n.id, n.report->bonds());
    const auto counts = Drops(n.report->counters());
    for (size_t r = 0; r < kDropReasons.size(); ++r) {
      Put(drops, {{"node", n.id}, {"reason", kDropReasons[r]}}, static_cast<double>(counts[r]));
    }
  }
  families.MoveTo(out);
  out.push_back(std::move(drops));
  return out;
}

}  // namespace fleetbond::metrics
