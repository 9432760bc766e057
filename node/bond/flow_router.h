// flow_router.h
//
// FlowRouter is the per-packet half of the flow policies (balance-xor, balance-aware): it returns
// the link a flow is kept on, placing new flows with a FlowPlacement and remembering them in the
// bond's FlowTable.
//
// In front of the FlowTable sits a small 4-way set-associative cache (at most 65,536 entries of
// 8 bytes = 512 KiB, sized to stay in L2): hash tag, link, and the coarse second (2^30 ns) it
// was last confirmed against the table. A packet whose flow hits the cache, was confirmed this
// second, and whose link is still sendable never touches the 5 MB table — at 65,536 flows in
// random order that is the difference between an L2 and an L3 access. Everything else takes the
// slow path through the table, which is the source of truth:
// - the table is touched at least once per flow per coarse second, so idle expiry (60 s) is
//   exact to about a second; FlowEntry::packets/bytes count those touches, not every packet;
// - a flow on a link that is no longer sendable always takes the slow path (and moves);
// - a flow the table evicted keeps the link the cache remembers if it was seen within the idle
//   timeout, so eviction does not move live flows;
// - whoever moves flows in the table (balance-aware's maintenance) calls Invalidate().
//
// Example:
//   FlowRouter router(flows);
//   LinkId link = router.Route(key, size, now, sendable, placement, &moved);
#pragma once

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "node/bond/flow_placement.h"
#include "node/bond/flow_table.h"

namespace fleetbond::bond {

class FlowRouter {
 public:
  static constexpr size_t kWays = 4;
  static constexpr size_t kMaxEntries = 65536;

  explicit FlowRouter(FlowTable& flows);

  // Route returns the link for a packet of flow `key` (placing the flow when new or when its
  // link is not in `sendable`, counting such moves of known flows in *moved).
  LinkId Route(const FlowKey& key, uint32_t size, absl::Time now, LinkMask sendable,
               const FlowPlacement& placement, uint64_t* moved) {
    const uint64_t hash = FlowHash(key);
    const int64_t now_ns = absl::ToUnixNanos(now);
    const uint16_t second = static_cast<uint16_t>(now_ns >> 30);
    const uint32_t tag = static_cast<uint32_t>(hash >> 32) | 1u;  // never 0 (= empty)
    Entry* set = &entries_[(hash & set_mask_) * kWays];
    for (size_t w = 0; w < kWays; ++w) {
      Entry& e = set[w];
      if (e.tag == tag && e.second == second && (sendable & Bit(e.link)) != 0) return e.link;
    }
    return Slow(key, hash, tag, second, set, size, now, sendable, placement, moved);
  }

  // Invalidate forgets the cache (after flows were moved in the table).
  void Invalidate();

 private:
  struct Entry {
    uint32_t tag = 0;
    uint16_t second = 0;
    uint8_t link = 0;
    uint8_t unused = 0;
  };
  static_assert(sizeof(Entry) == 8);

  LinkId Slow(const FlowKey& key, uint64_t hash, uint32_t tag, uint16_t second, Entry* set,
              uint32_t size, absl::Time now, LinkMask sendable, const FlowPlacement& placement,
              uint64_t* moved);

  FlowTable& flows_;
  uint16_t idle_seconds_;  // idle timeout in coarse seconds (saturated)
  size_t set_mask_;
  std::vector<Entry> entries_;
};

}  // namespace fleetbond::bond
