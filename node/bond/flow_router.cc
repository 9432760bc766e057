#include "node/bond/flow_router.h"

#include <algorithm>
#include <bit>

namespace fleetbond::bond {

FlowRouter::FlowRouter(FlowTable& flows) : flows_(flows) {
  const size_t entries =
      std::clamp<size_t>(std::bit_ceil(std::max<size_t>(flows.capacity(), 1)), 64, kMaxEntries);
  set_mask_ = entries / kWays - 1;
  entries_.assign(entries, Entry{});
  const int64_t idle = absl::ToInt64Nanoseconds(flows.idle_timeout()) >> 30;
  idle_seconds_ = static_cast<uint16_t>(std::clamp<int64_t>(idle, 0, 0x7fff));
}

void FlowRouter::Invalidate() { std::fill(entries_.begin(), entries_.end(), Entry{}); }

LinkId FlowRouter::Slow(const FlowKey& key, uint64_t hash, uint32_t tag, uint16_t second,
                        Entry* set, uint32_t size, absl::Time now, LinkMask sendable,
                        const FlowPlacement& placement, uint64_t* moved) {
  // The cache's memory of this flow, if any (possibly from an earlier second).
  Entry* mine = nullptr;
  for (size_t w = 0; w < kWays; ++w) {
    if (set[w].tag == tag) mine = &set[w];
  }
  LinkId link;
  FlowEntry* e = flows_.Find(key, now);
  if (e != nullptr && (sendable & Bit(e->path)) != 0) {
    link = e->path;
  } else if (e == nullptr && mine != nullptr && (sendable & Bit(mine->link)) != 0 &&
             static_cast<uint16_t>(second - mine->second) < idle_seconds_) {
    // Evicted from the table while live: keep its link.
    link = mine->link;
    e = flows_.Insert(key, link, now);
  } else {
    link = placement.Pick(hash);
    if (e == nullptr) {
      e = flows_.Insert(key, link, now);
    } else {
      e->path = link;
      ++*moved;
    }
  }
  e->Touch(now, size);
  if (mine == nullptr) {
    // Replace an empty way, else the one confirmed longest ago.
    mine = &set[0];
    for (size_t w = 0; w < kWays; ++w) {
      if (set[w].tag == 0) {
        mine = &set[w];
        break;
      }
      if (static_cast<uint16_t>(second - set[w].second) >
          static_cast<uint16_t>(second - mine->second)) {
        mine = &set[w];
      }
    }
  }
  *mine = Entry{.tag = tag, .second = second, .link = static_cast<uint8_t>(link)};
  return link;
}

}  // namespace fleetbond::bond
