#include "node/bond/flow_table.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace fleetbond::bond {
namespace {

constexpr size_t kMaxFlowsLimit = size_t{1} << 28;
constexpr size_t kNone = std::numeric_limits<size_t>::max();

uint8_t TagOf(uint64_t hash) { return static_cast<uint8_t>(0x80 | (hash >> 57)); }

}  // namespace

FlowTable::FlowTable(Options options)
    : max_flows_(std::bit_ceil(std::clamp<size_t>(options.max_flows, 1, kMaxFlowsLimit))),
      idle_timeout_(options.idle_timeout),
      idle_timeout_ns_(absl::ToInt64Nanoseconds(options.idle_timeout)),
      mask_(2 * max_flows_ - 1),
      window_(std::min(kProbeWindow, 2 * max_flows_)),
      sample_(std::min(kEvictionSample, 2 * max_flows_)),
      slots_(2 * max_flows_),
      tags_(2 * max_flows_, kEmpty) {}

size_t FlowTable::Home(const FlowKey& key) const { return FlowHash(key) & mask_; }

FlowEntry* FlowTable::Fill(size_t slot, uint8_t tag, const FlowKey& key, PathId path,
                           int64_t now_ns) {
  tags_[slot] = tag;
  slots_[slot] = FlowEntry{.key = key, .path = path, .last_seen_ns = now_ns};
  return &slots_[slot];
}

FlowEntry* FlowTable::Find(const FlowKey& key, absl::Time now) {
  const uint64_t hash = FlowHash(key);
  const uint8_t tag = TagOf(hash);
  size_t slot = hash & mask_;
  for (size_t i = 0; i < window_; ++i, slot = (slot + 1) & mask_) {
    const uint8_t t = tags_[slot];
    if (t == kEmpty) return nullptr;
    if (t != tag || !(slots_[slot].key == key)) continue;
    if (IsIdle(slots_[slot], absl::ToUnixNanos(now))) {
      RemoveAt(slot);
      --size_;
      ++expirations_;
      return nullptr;
    }
    return &slots_[slot];
  }
  return nullptr;
}

FlowEntry* FlowTable::Insert(const FlowKey& key, PathId path, absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  const uint64_t hash = FlowHash(key);
  const uint8_t tag = TagOf(hash);
  const size_t home = hash & mask_;

  // A flow can only live in the probe chain from its home slot up to the first empty slot.
  size_t first_empty = kNone;
  size_t chain = 0;  // occupied slots before first_empty
  for (size_t slot = home; chain < window_; ++chain, slot = (slot + 1) & mask_) {
    const uint8_t t = tags_[slot];
    if (t == kEmpty) {
      first_empty = slot;
      break;
    }
    if (t == tag && slots_[slot].key == key) return Fill(slot, tag, key, path, now_ns);
  }
  if (first_empty != kNone && size_ < max_flows_) {
    ++size_;
    return Fill(first_empty, tag, key, path, now_ns);
  }

  // No room: full, or the probe window is taken. Replace the least recently seen flow nearby.
  // (The sampled slots are a prefix of the window, so with a full window the victim is in it.)
  const size_t victim = Victim(home);
  if (IsIdle(slots_[victim], now_ns)) {
    ++expirations_;
  } else {
    ++evictions_;
  }
  // In the chain before first_empty (or anywhere in a window with no empty slot) the new flow can
  // take the victim's slot directly; elsewhere that slot would be unreachable from `home`.
  if (((victim - home) & mask_) < chain) return Fill(victim, tag, key, path, now_ns);
  RemoveAt(victim);
  // Backward shift only moves entries towards their home slots, so the first empty slot from
  // `home` is now at or before first_empty, still inside the window.
  size_t slot = home;
  while (tags_[slot] != kEmpty) slot = (slot + 1) & mask_;
  return Fill(slot, tag, key, path, now_ns);
}

size_t FlowTable::Victim(size_t home) const {
  size_t victim = kNone;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (size_t i = 0, slot = home; i < sample_; ++i, slot = (slot + 1) & mask_) {
    if (tags_[slot] != kEmpty && slots_[slot].last_seen_ns < oldest) {
      oldest = slots_[slot].last_seen_ns;
      victim = slot;
    }
  }
  if (victim != kNone) return victim;
  // The sampled slots are empty, so the table is full and holds flows elsewhere: take the next.
  size_t slot = (home + sample_) & mask_;
  while (tags_[slot] == kEmpty) slot = (slot + 1) & mask_;
  return slot;
}

void FlowTable::RemoveAt(size_t slot) {
  tags_[slot] = kEmpty;
  size_t hole = slot;
  for (size_t next = (slot + 1) & mask_; tags_[next] != kEmpty; next = (next + 1) & mask_) {
    // `next` may fill the hole unless its home lies cyclically in (hole, next]: moving it before
    // its home would hide it from Find.
    const size_t home = Home(slots_[next].key);
    if (((next - home) & mask_) >= ((next - hole) & mask_)) {
      slots_[hole] = slots_[next];
      tags_[hole] = tags_[next];
      tags_[next] = kEmpty;
      hole = next;
    }
  }
}

void FlowTable::Erase(const FlowKey& key) {
  const uint64_t hash = FlowHash(key);
  const uint8_t tag = TagOf(hash);
  size_t slot = hash & mask_;
  for (size_t i = 0; i < window_; ++i, slot = (slot + 1) & mask_) {
    const uint8_t t = tags_[slot];
    if (t == kEmpty) return;
    if (t == tag && slots_[slot].key == key) {
      RemoveAt(slot);
      --size_;
      return;
    }
  }
}

size_t FlowTable::ExpireIdle(absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  size_t expired = 0;
  for (size_t slot = 0; slot < slots_.size();) {
    if (tags_[slot] != kEmpty && IsIdle(slots_[slot], now_ns)) {
      RemoveAt(slot);
      --size_;
      ++expired;
      continue;  // a later entry may have shifted into `slot`: look at it again
    }
    ++slot;
  }
  expirations_ += expired;
  return expired;
}

void FlowTable::ForEach(absl::FunctionRef<void(FlowEntry&)> fn) {
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    if (tags_[slot] != kEmpty) fn(slots_[slot]);
  }
}

size_t FlowTable::CountOnPath(PathId path) const {
  size_t count = 0;
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    if (tags_[slot] != kEmpty && slots_[slot].path == path) ++count;
  }
  return count;
}

void FlowTable::Clear() {
  std::fill(tags_.begin(), tags_.end(), kEmpty);
  size_ = 0;
}

}  // namespace fleetbond::bond
