#include "node/bond/flow_placement.h"

#include <algorithm>
#include <cmath>

namespace fleetbond::bond {

void FlowPlacement::Build(const std::vector<std::pair<LinkId, double>>& weights) {
  counts_.fill(0);
  links_ = 0;
  empty_ = true;
  if (weights.empty()) return;
  std::vector<std::pair<LinkId, double>> w;
  w.reserve(weights.size());
  for (const auto& [link, weight] : weights) {
    if (weight > 0) w.emplace_back(link, weight);
  }
  if (w.empty()) {
    for (const auto& [link, weight] : weights) w.emplace_back(link, 1.0);
  }
  double total = 0;
  for (const auto& [link, weight] : w) total += weight;

  // Largest remainder: floor every quota, then hand the leftover buckets to the largest
  // fractional parts (ties to the lower link id, so the result is deterministic).
  struct Quota {
    LinkId link;
    uint32_t whole;
    double fraction;
  };
  std::vector<Quota> quotas;
  uint32_t assigned = 0;
  for (const auto& [link, weight] : w) {
    double q = weight / total * kBuckets;
    uint32_t whole = static_cast<uint32_t>(std::floor(q));
    quotas.push_back({link, whole, q - whole});
    assigned += whole;
  }
  std::vector<size_t> order(quotas.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (quotas[a].fraction != quotas[b].fraction) return quotas[a].fraction > quotas[b].fraction;
    return quotas[a].link < quotas[b].link;
  });
  for (size_t i = 0; assigned < kBuckets; i = (i + 1) % order.size(), ++assigned) {
    ++quotas[order[i]].whole;
  }

  // Fill contiguous runs in link order: a small change of weights then moves only the buckets at
  // the edges of the runs, so few hashes change link between rebuilds.
  uint32_t b = 0;
  for (const Quota& q : quotas) {
    counts_[q.link] = q.whole;
    if (q.whole > 0) links_ |= Bit(q.link);
    for (uint32_t i = 0; i < q.whole; ++i) buckets_[b++] = static_cast<uint8_t>(q.link);
  }
  empty_ = false;
}

double FlowPlacement::Share(LinkId link) const {
  if (empty_ || link >= kMaxLinks) return 0.0;
  return static_cast<double>(counts_[link]) / kBuckets;
}

}  // namespace fleetbond::bond
