// flow_table.h
//
// FlowTable remembers which path each flow was put on, so a flow keeps its link for its life.
// It is bounded (a fixed number of slots allocated once; no allocation per packet) and forgets
// flows that were idle for longer than the idle timeout. See docs/engine.md for the bound and the
// eviction rule when it is full.
//
// Layout: open addressing with linear probing over 2 * capacity() slots (load factor at most 1/2),
// a one-byte tag per slot (empty, or 7 bits of the flow's hash) scanned before any entry is
// touched, and backward-shift deletion, so there are no tombstones and a miss stops at the first
// empty slot. A flow lives at most kProbeWindow slots after its home slot, which bounds every
// Find and Insert.
//
// Eviction rule: when the table already holds capacity() flows, or the kProbeWindow slots from the
// new flow's home slot are all taken, Insert replaces the least recently seen flow among the
// kEvictionSample slots starting at the home slot (an idle one first, as it is the oldest). When
// full those slots hold about kEvictionSample / 2 flows at random positions, so this samples
// "least recently seen overall" in O(1) (like Redis' sampled LRU); 8 rather than all 16 slots of
// the window halves the cache lines an insert into a full table reads (measured: ~190 -> ~110 ns).
// Should the sampled slots hold no flow (only possible when full; about 1 insert in 60), the
// first flow after them is evicted. Idle flows reclaimed this way count in expirations(), others
// in evictions().
//
// Entry pointers: a FlowEntry* from Find or Insert stays valid only until the next call that can
// remove a flow (Insert, Erase, ExpireIdle, Clear, and Find itself, which forgets an idle flow it
// meets): removal shifts other entries back along their probe chain. Use the pointer for the
// packet at hand; never keep it.
//
// Not thread-safe: one table belongs to one bond, driven by one thread.
//
// Example:
//   FlowTable table({.max_flows = 65536, .idle_timeout = absl::Seconds(60)});
//   FlowEntry* e = table.Find(key, now);
//   if (e == nullptr) e = table.Insert(key, ChoosePath(key), now);
//   e->Touch(now, packet_bytes);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "node/bond/flow_key.h"

namespace fleetbond::bond {

// FlowEntry is one remembered flow.
struct FlowEntry {
  FlowKey key;
  PathId path = kNoPath;
  int64_t last_seen_ns = 0;  // absl::ToUnixNanos of the last packet
  uint64_t packets = 0;
  uint64_t bytes = 0;

  void Touch(absl::Time now, uint32_t packet_bytes) {
    last_seen_ns = absl::ToUnixNanos(now);
    ++packets;
    bytes += packet_bytes;
  }
};

class FlowTable {
 public:
  struct Options {
    // Hard bound on remembered flows (rounded up to a power of two, at least 1, at most 2^28).
    // Memory: 2 slots per flow of sizeof(FlowEntry) + 1 bytes, about 5.4 MB for 65,536.
    size_t max_flows = 65536;
    // A flow with no packet for this long is forgotten.
    absl::Duration idle_timeout = absl::Seconds(60);
  };

  explicit FlowTable(Options options);

  // kProbeWindow is how far from its home slot a flow may live (see the eviction rule above).
  static constexpr size_t kProbeWindow = 16;
  // kEvictionSample is how many slots from the home slot Insert weighs when it must evict.
  static constexpr size_t kEvictionSample = 8;

  // Find returns the live entry for `key`, or nullptr if there is none or it went idle (an idle
  // entry is forgotten on the spot). A flow is idle once now - last_seen >= idle_timeout.
  FlowEntry* Find(const FlowKey& key, absl::Time now);
  // Insert remembers `key` on `path` (replacing any entry for it) and returns the entry. When
  // the table is full, the least recently seen flow among the slots probed is evicted (and
  // counted in evictions()). Never fails.
  FlowEntry* Insert(const FlowKey& key, PathId path, absl::Time now);
  // Erase forgets `key`.
  void Erase(const FlowKey& key);
  // ExpireIdle forgets every flow idle at `now` and returns how many.
  size_t ExpireIdle(absl::Time now);
  // ForEach visits every remembered entry (call ExpireIdle first to skip idle ones); `fn` may
  // change entry.path (to move a flow) and its counters, never entry.key. O(slots).
  void ForEach(absl::FunctionRef<void(FlowEntry&)> fn);
  // CountOnPath returns how many remembered flows are on `path`. O(slots): for control decisions,
  // not per packet.
  size_t CountOnPath(PathId path) const;
  // Clear forgets every flow.
  void Clear();

  size_t size() const { return size_; }
  size_t capacity() const { return max_flows_; }
  uint64_t evictions() const { return evictions_; }
  // expirations counts flows forgotten for being idle (by Find, Insert or ExpireIdle).
  uint64_t expirations() const { return expirations_; }
  absl::Duration idle_timeout() const { return idle_timeout_; }

 private:
  static constexpr uint8_t kEmpty = 0;

  bool IsIdle(const FlowEntry& entry, int64_t now_ns) const {
    return now_ns - entry.last_seen_ns >= idle_timeout_ns_;
  }
  size_t Home(const FlowKey& key) const;
  // RemoveAt empties `slot` and shifts the rest of its cluster back so no probe chain breaks.
  void RemoveAt(size_t slot);
  // Victim picks the slot Insert evicts for a flow whose home slot is `home`.
  size_t Victim(size_t home) const;
  FlowEntry* Fill(size_t slot, uint8_t tag, const FlowKey& key, PathId path, int64_t now_ns);

  size_t max_flows_;
  absl::Duration idle_timeout_;
  int64_t idle_timeout_ns_;
  size_t mask_;    // slots_.size() - 1
  size_t window_;  // min(kProbeWindow, slots_.size())
  size_t sample_;  // min(kEvictionSample, slots_.size())
  std::vector<FlowEntry> slots_;
  std::vector<uint8_t> tags_;  // kEmpty, or 0x80 | the top 7 bits of the flow's hash
  size_t size_ = 0;
  uint64_t evictions_ = 0;
  uint64_t expirations_ = 0;
};

}  // namespace fleetbond::bond
