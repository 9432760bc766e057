#include "node/metrics/bond_families.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "shared/settings/policy.h"
#include "shared/settings/proto_enums.h"

namespace fleetbond::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

struct FamilySpec {
  const char* name;
  MetricType type;
  const char* help;           // per peer
  const char* help_per_link;  // aggregated over a node's bonds
};

// kSpecs is indexed by BondFamilies::Family.
constexpr std::array<FamilySpec, 17> kSpecs = {{
    {"fleetbond_path_latency_seconds", MetricType::Gauge,
     "Mean round-trip latency of probes on the path.",
     "Mean over the node's bonds that measured the link of the probes' round-trip latency."},
    {"fleetbond_path_pdv_seconds", MetricType::Gauge,
     "Packet delay variation of probes on the path.",
     "Mean over the node's bonds that measured the link of the probes' delay variation."},
    {"fleetbond_path_loss_ratio", MetricType::Gauge,
     "Share of probes unanswered over the sample window (0-1).",
     "Mean over the node's bonds of the share of probes unanswered on the link (0-1)."},
    {"fleetbond_path_error_ratio", MetricType::Gauge,
     "Share of datagrams that failed authentication or parsing (0-1).",
     "Mean over the node's bonds of the share of datagrams on the link that failed "
     "authentication or parsing (0-1)."},
    {"fleetbond_path_allocation_ratio", MetricType::Gauge,
     "Share of the bond's traffic the link carried over the last window (0-1).",
     "Mean over the node's bonds of the share of a bond's traffic the link carried (0-1)."},
    {"fleetbond_path_eligible", MetricType::Gauge,
     "1 when the policy allows the link and it is usable.",
     "Bonds of the node whose policy allows the link and for which it is usable."},
    {"fleetbond_path_bonded", MetricType::Gauge,
     "1 when the link is carrying the bond's traffic now.",
     "Bonds of the node whose traffic the link is carrying now."},
    {"fleetbond_path_quality_breaking", MetricType::Gauge,
     "1 when the link breaks a linkQuality limit of the bond's policy (lat_max, pdv_max, plr_max, "
     "per_max).",
     "Bonds of the node for which the link breaks a linkQuality limit of the bond's policy."},
    {"fleetbond_path_tx_bytes_total", MetricType::Counter, "Bytes sent to the peer on the link.",
     "Bytes sent to all peers on the link."},
    {"fleetbond_path_rx_bytes_total", MetricType::Counter,
     "Bytes received from the peer on the link.", "Bytes received from all peers on the link."},
    {"fleetbond_path_tx_packets_total", MetricType::Counter,
     "Packets sent to the peer on the link.", "Packets sent to all peers on the link."},
    {"fleetbond_path_rx_packets_total", MetricType::Counter,
     "Packets received from the peer on the link.", "Packets received from all peers on the link."},
    {"fleetbond_bond_active_link", MetricType::Gauge,
     "1 for the active link of an active-backup bond.",
     "Active-backup bonds of the node whose active link this is."},
    {"fleetbond_bond_failovers_total", MetricType::Counter,
     "Times a link carrying the bond's traffic failed.",
     "Times a link carrying traffic failed, summed over the node's bonds."},
    {"fleetbond_bond_links_usable", MetricType::Gauge,
     "Links of the bond that can carry traffic now.",
     "Links that can carry traffic now, summed over the node's bonds."},
    {"fleetbond_bond_links", MetricType::Gauge, "Links the bond's policy uses.",
     "Links the policies use, summed over the node's bonds."},
    {"fleetbond_bond_info", MetricType::Gauge, "The bond's policy (value always 1).",
     "Bonds of the node with this policy."},
}};

// A node has a handful of links; most fleets stay within this many.
constexpr size_t kTypicalLinksPerNode = 4;

// LinkOfBond is one link of a bond: the path whose gauges it reports and its summed counters.
struct LinkOfBond {
  const v1::Path* path = nullptr;
  uint64_t tx_bytes = 0, rx_bytes = 0, tx_packets = 0, rx_packets = 0;
};
using BondLinks = absl::InlinedVector<LinkOfBond, 4>;

bool Carries(const v1::Path& p) { return p.bonded() || p.allocation() > 0; }

// GroupByLink gives the links of a bond, sorted by name. A link reports the path it sends on
// (bonded, with an allocation or flows), else an eligible one, else its first. Sorting rather
// than searching keeps a report with many paths from costing the square of their number.
BondLinks GroupByLink(const v1::Bond& bond) {
  const google::protobuf::RepeatedPtrField<v1::Path>& paths = bond.paths();
  absl::InlinedVector<int, 8> order(static_cast<size_t>(paths.size()));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const int c = paths[a].interface().compare(paths[b].interface());
    return c != 0 ? c < 0 : a < b;
  });
  BondLinks links;
  for (int i : order) {
    const v1::Path& p = paths[i];
    if (links.empty() || links.back().path->interface() != p.interface()) {
      links.push_back(LinkOfBond{.path = &p});
    } else if (((Carries(p) || p.flows() > 0) && !Carries(*links.back().path)) ||
               (p.eligible() && !links.back().path->eligible())) {
      links.back().path = &p;
    }
    LinkOfBond& link = links.back();
    link.tx_bytes += p.tx_bytes();
    link.rx_bytes += p.rx_bytes();
    link.tx_packets += p.tx_packets();
    link.rx_packets += p.rx_packets();
  }
  return links;
}

bool IsActive(const v1::Bond& bond, const v1::Path& path) {
  return bond.has_active_path() && path.idx() == bond.active_path();
}

std::string BasePolicyLabel(v1::BasePolicy p) {
  const std::optional<BasePolicy> base = settings::FromProto(p);
  return base.has_value() ? std::string(BasePolicyName(*base)) : "unspecified";
}

// LinkTotals sums one link over a node's bonds.
struct LinkTotals {
  const std::string* link = nullptr;
  uint64_t bonds = 0, measured = 0;
  double latency_ms = 0, pdv_ms = 0, loss = 0, error = 0, allocation = 0;
  uint64_t eligible = 0, bonded = 0, breaking = 0, active = 0;
  uint64_t tx_bytes = 0, rx_bytes = 0, tx_packets = 0, rx_packets = 0;

  LinkTotals(const v1::Bond& bond, const LinkOfBond& l) : link(&l.path->interface()), bonds(1) {
    const v1::Path& p = *l.path;
    if (p.measured()) {
      measured = 1;
      latency_ms = p.latency_ms();
      pdv_ms = p.pdv_ms();
    }
    loss = p.loss_ratio();
    error = p.error_ratio();
    allocation = p.allocation();
    eligible = p.eligible() ? 1 : 0;
    bonded = p.bonded() ? 1 : 0;
    breaking = p.breaking() ? 1 : 0;
    active = IsActive(bond, p) ? 1 : 0;
    tx_bytes = l.tx_bytes;
    rx_bytes = l.rx_bytes;
    tx_packets = l.tx_packets;
    rx_packets = l.rx_packets;
  }
  LinkTotals& operator+=(const LinkTotals& o) {
    bonds += o.bonds;
    measured += o.measured;
    latency_ms += o.latency_ms;
    pdv_ms += o.pdv_ms;
    loss += o.loss;
    error += o.error;
    allocation += o.allocation;
    eligible += o.eligible;
    bonded += o.bonded;
    breaking += o.breaking;
    active += o.active;
    tx_bytes += o.tx_bytes;
    rx_bytes += o.rx_bytes;
    tx_packets += o.tx_packets;
    rx_packets += o.rx_packets;
    return *this;
  }
};

// PolicyCount counts a node's bonds of one policy.
struct PolicyCount {
  const std::string* name = nullptr;
  v1::BasePolicy base = v1::BasePolicy();
  uint64_t bonds = 0;

  bool operator<(const PolicyCount& o) const {
    return std::tie(*name, base) < std::tie(*o.name, o.base);
  }
  bool operator==(const PolicyCount& o) const { return base == o.base && *name == *o.name; }
};

// MergeRuns sorts `v` and folds runs of equal elements (by `same`) into their first with `add`.
template <typename Vector, typename Less, typename Same, typename Add>
void MergeRuns(Vector& v, Less less, Same same, Add add) {
  std::sort(v.begin(), v.end(), less);
  size_t kept = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (kept > 0 && same(v[kept - 1], v[i])) {
      add(v[kept - 1], v[i]);
    } else {
      v[kept++] = v[i];
    }
  }
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(kept), v.end());
}

}  // namespace

BondFamilies::BondFamilies(Options options) : options_(options) {
  families_.reserve(kFamilyCount);
  for (const FamilySpec& spec : kSpecs) {
    families_.push_back(
        MetricFamily{spec.name, options_.per_peer ? spec.help : spec.help_per_link, spec.type, {}});
  }
}

void BondFamilies::Reserve(size_t nodes, size_t bonds, size_t links) {
  if (!options_.per_peer) {
    links = std::min(links, nodes * kTypicalLinksPerNode);
    bonds = nodes;
  }
  for (size_t f = kLatency; f <= kRxPackets; ++f) families_[f].metric.reserve(links);
  for (size_t f = kActiveLink; f < kFamilyCount; ++f) families_[f].metric.reserve(bonds);
}

void BondFamilies::AddNode(const std::string& node,
                           const google::protobuf::RepeatedPtrField<v1::Bond>& bonds) {
  if (options_.per_peer) {
    for (const v1::Bond& bond : bonds) AddBond(node, bond);
  } else {
    AddNodeTotals(node, bonds);
  }
}

void BondFamilies::MoveTo(std::vector<MetricFamily>& out) {
  for (MetricFamily& f : families_) out.push_back(std::move(f));
  families_.clear();
}

void BondFamilies::Put(Family f, Labels labels, double value) {
  MetricFamily& family = families_[f];
  ClientMetric& m = family.metric.emplace_back();
  m.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
}

void BondFamilies::AddBond(const std::string& node, const v1::Bond& bond) {
  const std::string& peer = bond.summary().peer();
  for (const LinkOfBond& link : GroupByLink(bond)) {
    const v1::Path& p = *link.path;
    Labels l = {{"link", p.interface()}, {"node", node}, {"peer", peer}};
    if (p.measured()) {
      Put(kLatency, l, p.latency_ms() / 1000.0);
      Put(kPdv, l, p.pdv_ms() / 1000.0);
    }
    Put(kLoss, l, p.loss_ratio());
    Put(kError, l, p.error_ratio());
    Put(kAllocation, l, p.allocation());
    Put(kEligible, l, p.eligible() ? 1 : 0);
    Put(kBonded, l, p.bonded() ? 1 : 0);
    Put(kBreaking, l, p.breaking() ? 1 : 0);
    Put(kTxBytes, l, static_cast<double>(link.tx_bytes));
    Put(kRxBytes, l, static_cast<double>(link.rx_bytes));
    Put(kTxPackets, l, static_cast<double>(link.tx_packets));
    if (IsActive(bond, p)) Put(kActiveLink, l, 1);
    Put(kRxPackets, std::move(l), static_cast<double>(link.rx_packets));
  }
  Labels b = {{"node", node}, {"peer", peer}};
  Put(kFailovers, b, static_cast<double>(bond.failovers()));
  Put(kLinksUsable, b, bond.summary().usable_links());
  Put(kLinks, std::move(b), bond.summary().total_links());
  Put(kInfo,
      {{"base_policy", BasePolicyLabel(bond.summary().base_policy())},
       {"node", node},
       {"peer", peer},
       {"policy", bond.summary().policy_name()}},
      1);
}

void BondFamilies::AddNodeTotals(const std::string& node,
                                 const google::protobuf::RepeatedPtrField<v1::Bond>& bonds) {
  // One entry per link of each bond, merged by link name; one per bond, merged by policy.
  absl::InlinedVector<LinkTotals, 2 * kTypicalLinksPerNode> links;
  absl::InlinedVector<PolicyCount, 4> policies;
  uint64_t failovers = 0, usable = 0, total = 0;
  for (const v1::Bond& bond : bonds) {
    for (const LinkOfBond& link : GroupByLink(bond)) links.emplace_back(bond, link);
    failovers += bond.failovers();
    usable += bond.summary().usable_links();
    total += bond.summary().total_links();
    policies.push_back(
        {.name = &bond.summary().policy_name(), .base = bond.summary().base_policy(), .bonds = 1});
  }
  MergeRuns(
      links, [](const LinkTotals& a, const LinkTotals& b) { return *a.link < *b.link; },
      [](const LinkTotals& a, const LinkTotals& b) { return *a.link == *b.link; },
      [](LinkTotals& into, const LinkTotals& from) { into += from; });
  MergeRuns(policies, std::less<PolicyCount>(), std::equal_to<PolicyCount>(),
            [](PolicyCount& into, const PolicyCount& from) { into.bonds += from.bonds; });

  for (const LinkTotals& t : links) {
    const double n = static_cast<double>(t.bonds);
    Labels l = {{"link", *t.link}, {"node", node}};
    if (t.measured > 0) {
      const double m = static_cast<double>(t.measured);
      Put(kLatency, l, t.latency_ms / m / 1000.0);
      Put(kPdv, l, t.pdv_ms / m / 1000.0);
    }
    Put(kLoss, l, t.loss / n);
    Put(kError, l, t.error / n);
    Put(kAllocation, l, t.allocation / n);
    Put(kEligible, l, static_cast<double>(t.eligible));
    Put(kBonded, l, static_cast<double>(t.bonded));
    Put(kBreaking, l, static_cast<double>(t.breaking));
    Put(kTxBytes, l, static_cast<double>(t.tx_bytes));
    Put(kRxBytes, l, static_cast<double>(t.rx_bytes));
    Put(kTxPackets, l, static_cast<double>(t.tx_packets));
    if (t.active > 0) Put(kActiveLink, l, static_cast<double>(t.active));
    Put(kRxPackets, std::move(l), static_cast<double>(t.rx_packets));
  }
  if (bonds.empty()) return;
  Put(kFailovers, {{"node", node}}, static_cast<double>(failovers));
  Put(kLinksUsable, {{"node", node}}, static_cast<double>(usable));
  Put(kLinks, {{"node", node}}, static_cast<double>(total));
  for (const PolicyCount& c : policies) {
    Put(kInfo, {{"base_policy", BasePolicyLabel(c.base)}, {"node", node}, {"policy", *c.name}},
        static_cast<double>(c.bonds));
  }
}

}  // namespace fleetbond::metrics
