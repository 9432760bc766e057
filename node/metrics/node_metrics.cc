#include "node/metrics/node_metrics.h"

#include <string>
#include <utility>

#include "node/api/bond_proto.h"
#include "node/metrics/bond_families.h"
#include "node/transport/wire_format.h"

namespace fleetbond::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<MetricFamily> NodeMetrics::Collect() const {
  // The bonds go through the API's messages, as they reach the controller, so that both render
  // them with one BondFamilies. The port only names the local socket, which is not exported.
  google::protobuf::RepeatedPtrField<v1::Bond> bonds;
  size_t paths = 0;
  for (const bond::BondSnapshot& snapshot : backend_.Snapshots()) {
    *bonds.Add() = api::BondToProto(snapshot, /*port=*/0);
    paths += snapshot.paths.size();
  }
  BondFamilies families({.per_peer = true});
  families.Reserve(/*nodes=*/1, static_cast<size_t>(bonds.size()), paths);
  families.AddNode(node_id_, bonds);
  std::vector<MetricFamily> out;
  families.MoveTo(out);

  MetricFamily& drops =
      out.emplace_back(MetricFamily{"fleetbond_dataplane_drops_total",
                                    "Datagrams and packets the data plane dropped, by reason.",
                                    MetricType::Counter,
                                    {}});
  auto drop = [&](absl::string_view reason, uint64_t n) {
    ClientMetric& m = drops.metric.emplace_back();
    m.label = {{"node", node_id_}, {"reason", std::string(reason)}};
    m.counter.value = static_cast<double>(n);
  };
  const daemon::DataPlane::DropCounters d = backend_.Drops();
  for (size_t r = 1; r < transport::kDropReasonCount; ++r) {
    drop(transport::DropReasonName(static_cast<transport::DropReason>(r)), d.by_reason[r]);
  }
  drop("unknown_path", d.unknown_path);
  drop("no_route", d.no_route);
  drop("no_usable_path", d.no_usable_path);
  drop("duplicate", d.duplicates);
  drop("seal_failure", d.seal_failures);

  MetricFamily& handshakes = out.emplace_back(
      MetricFamily{"fleetbond_dataplane_handshakes_total",
                   "Data-plane key handshakes with all peers, by event (docs/wire-format.md).",
                   MetricType::Counter,
                   {}});
  auto handshake = [&](absl::string_view event, uint64_t n) {
    ClientMetric& m = handshakes.metric.emplace_back();
    m.label = {{"event", std::string(event)}, {"node", node_id_}};
    m.counter.value = static_cast<double>(n);
  };
  handshake("initiated", d.handshakes.initiated);
  handshake("responded", d.handshakes.responded);
  handshake("completed", d.handshakes.completed);
  handshake("rekeyed", d.handshakes.rekeys);
  handshake("failed", d.handshakes.failed);
  handshake("expired", d.handshakes.expired);
  return out;
}

}  // namespace fleetbond::metrics
