#include "node/metrics/node_metrics.h"

#include <map>
#include <string>

#include "node/transport/wire_format.h"
#include "shared/settings/policy.h"

namespace fleetbond::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Families keeps the families of one scrape in a fixed order, created on first use.
class Families {
 public:
  void Gauge(const std::string& name, const std::string& help, std::vector<ClientMetric::Label> l,
             double value) {
    ClientMetric m;
    m.label = std::move(l);
    m.gauge.value = value;
    Family(name, help, MetricType::Gauge).metric.push_back(std::move(m));
  }
  void Counter(const std::string& name, const std::string& help, std::vector<ClientMetric::Label> l,
               double value) {
    ClientMetric m;
    m.label = std::move(l);
    m.counter.value = value;
    Family(name, help, MetricType::Counter).metric.push_back(std::move(m));
  }
  // Declare makes a family appear (with HELP and TYPE) even with no sample yet.
  void Declare(const std::string& name, const std::string& help, MetricType type) {
    Family(name, help, type);
  }
  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  MetricFamily& Family(const std::string& name, const std::string& help, MetricType type) {
    auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    index_[name] = families_.size();
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }

  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

// LinkView is one link of a bond: the path it sends on (for gauges) and its summed counters.
struct LinkView {
  const bond::PathSnapshot* path = nullptr;
  uint64_t tx_bytes = 0, rx_bytes = 0, tx_packets = 0, rx_packets = 0;
};

}  // namespace

std::vector<MetricFamily> NodeMetrics::Collect() const {
  Families f;
  // Families in a stable order, so that every scrape lists them alike.
  f.Declare("fleetbond_path_latency_seconds", "Mean round-trip latency of probes on the path.",
            MetricType::Gauge);
  f.Declare("fleetbond_path_pdv_seconds", "Packet delay variation of probes on the path.",
            MetricType::Gauge);
  f.Declare("fleetbond_path_loss_ratio", "Share of probes unanswered over the sample window (0-1).",
            MetricType::Gauge);
  f.Declare("fleetbond_path_error_ratio",
            "Share of datagrams that failed authentication or parsing (0-1).", MetricType::Gauge);
  f.Declare("fleetbond_path_allocation_ratio",
            "Share of the bond's traffic the link carried over the last window (0-1).",
            MetricType::Gauge);
  f.Declare("fleetbond_path_eligible", "1 when the policy allows the link and it is usable.",
            MetricType::Gauge);
  f.Declare("fleetbond_path_bonded", "1 when the link is carrying the bond's traffic now.",
            MetricType::Gauge);

  for (const bond::BondSnapshot& b : backend_.Snapshots()) {
    std::map<std::string, LinkView> links;
    for (const bond::PathSnapshot& p : b.paths) {
      LinkView& v = links[p.spec.link];
      // The path a link sends on is the one with an allocation or flows, else an eligible one.
      const bool sends = p.bonded || p.alloc > 0 || p.flows > 0;
      if (v.path == nullptr || (sends && !(v.path->bonded || v.path->alloc > 0)) ||
          (p.eligible && !v.path->eligible)) {
        v.path = &p;
      }
      v.tx_bytes += p.tx_bytes;
      v.rx_bytes += p.rx_bytes;
      v.tx_packets += p.tx_packets;
      v.rx_packets += p.rx_packets;
    }
    const std::vector<ClientMetric::Label> bond_labels = {{"node", node_id_}, {"peer", b.peer}};
    for (const auto& [link, v] : links) {
      const bond::PathSnapshot& p = *v.path;
      std::vector<ClientMetric::Label> l = {{"link", link}, {"node", node_id_}, {"peer", b.peer}};
      if (p.metrics.measured) {
        f.Gauge("fleetbond_path_latency_seconds", "", l, p.metrics.latency_ms / 1000.0);
        f.Gauge("fleetbond_path_pdv_seconds", "", l, p.metrics.pdv_ms / 1000.0);
      }
      f.Gauge("fleetbond_path_loss_ratio", "", l, p.metrics.plr);
      f.Gauge("fleetbond_path_error_ratio", "", l, p.metrics.per);
      f.Gauge("fleetbond_path_allocation_ratio", "", l, p.alloc);
      f.Gauge("fleetbond_path_eligible", "", l, p.eligible ? 1 : 0);
      f.Gauge("fleetbond_path_bonded", "", l, p.bonded ? 1 : 0);
      f.Counter("fleetbond_path_tx_bytes_total", "Bytes sent to the peer on the link.", l,
                static_cast<double>(v.tx_bytes));
      f.Counter("fleetbond_path_rx_bytes_total", "Bytes received from the peer on the link.", l,
                static_cast<double>(v.rx_bytes));
      f.Counter("fleetbond_path_tx_packets_total", "Packets sent to the peer on the link.", l,
                static_cast<double>(v.tx_packets));
      f.Counter("fleetbond_path_rx_packets_total", "Packets received from the peer on the link.", l,
                static_cast<double>(v.rx_packets));
      if (b.active_path != bond::kNoPath && p.id == b.active_path) {
        f.Gauge("fleetbond_bond_active_link", "1 for the active link of an active-backup bond.", l,
                1);
      }
    }
    f.Counter("fleetbond_bond_failovers_total", "Times a link carrying the bond's traffic failed.",
              bond_labels, static_cast<double>(b.failovers));
    f.Gauge("fleetbond_bond_links_usable", "Links of the bond that can carry traffic now.",
            bond_labels, b.usable_links);
    f.Gauge("fleetbond_bond_links", "Links the bond's policy uses.", bond_labels, b.total_links);
    f.Gauge("fleetbond_bond_info", "The bond's policy (value always 1).",
            {{"base_policy", std::string(BasePolicyName(b.base))},
             {"node", node_id_},
             {"peer", b.peer},
             {"policy", b.policy_name}},
            1);
  }

  const daemon::DataPlane::DropCounters d = backend_.Drops();
  const std::string drops = "fleetbond_dataplane_drops_total";
  const std::string help = "Datagrams and packets the data plane dropped, by reason.";
  auto drop = [&](const std::string& reason, uint64_t n) {
    f.Counter(drops, help, {{"node", node_id_}, {"reason", reason}}, static_cast<double>(n));
  };
  for (size_t r = 1; r < transport::kDropReasonCount; ++r) {
    drop(std::string(transport::DropReasonName(static_cast<transport::DropReason>(r))),
         d.by_reason[r]);
  }
  drop("unknown_path", d.unknown_path);
  drop("no_route", d.no_route);
  drop("no_usable_path", d.no_usable_path);
  drop("duplicate", d.duplicates);
  drop("seal_failure", d.seal_failures);
  return f.Take();
}

}  // namespace fleetbond::metrics
