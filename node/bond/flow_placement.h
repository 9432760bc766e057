// flow_placement.h
//
// FlowPlacement maps a 64-bit hash (a flow's FlowHash, or a random draw for portless packets) to
// a link, in proportion to per-link weights. It is a table of kBuckets buckets, each naming one
// link, filled by largest-remainder apportionment of the weights; a pick is one shift and one
// load. With 4096 buckets a link's share is exact to 1/8192 (0.012 percentage points).
//
// balance-xor builds it with equal weights over the usable links ("hash flows onto links");
// balance-aware with capacity x quality weights.
//
// Example:
//   FlowPlacement placement;
//   placement.Build({{0, 10000.0}, {1, 1000.0}, {2, 100.0}});
//   LinkId link = placement.Pick(FlowHash(key));
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "node/bond/path_set.h"

namespace fleetbond::bond {

class FlowPlacement {
 public:
  static constexpr int kBucketBits = 12;
  static constexpr uint32_t kBuckets = 1u << kBucketBits;

  // Build fills the table from (link, weight) pairs. Links with weight <= 0 get no bucket, unless
  // every weight is <= 0, in which case the links share equally. An empty list empties the table.
  void Build(const std::vector<std::pair<LinkId, double>>& weights);

  // Pick returns the link for `hash` (uses its top bits), or kNoLink when the table is empty.
  LinkId Pick(uint64_t hash) const {
    if (empty_) return kNoLink;
    return buckets_[hash >> (64 - kBucketBits)];
  }
  bool empty() const { return empty_; }
  // Share returns the fraction of buckets that name `link`.
  double Share(LinkId link) const;
  // Links returns the set of links that own at least one bucket.
  LinkMask links() const { return links_; }

 private:
  std::array<uint8_t, kBuckets> buckets_{};
  std::array<uint32_t, kMaxLinks> counts_{};
  LinkMask links_ = 0;
  bool empty_ = true;
};

}  // namespace fleetbond::bond
