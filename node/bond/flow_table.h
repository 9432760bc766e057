// flow_table.h
//
// FlowTable remembers which path each flow was put on, so a flow keeps its link for its life.
// It is bounded (a fixed number of slots allocated once; no allocation per packet) and forgets
// flows that were idle for longer than the idle timeout. See docs/engine.md for the bound and the
// eviction rule when it is full.
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
    // Hard bound on remembered flows (rounded up to a power of two internally).
    size_t max_flows = 65536;
    // A flow with no packet for this long is forgotten.
    absl::Duration idle_timeout = absl::Seconds(60);
  };

  explicit FlowTable(Options options);

  // Find returns the live entry for `key`, or nullptr if there is none or it went idle.
  FlowEntry* Find(const FlowKey& key, absl::Time now);
  // Insert remembers `key` on `path` (replacing any entry for it) and returns the entry. When
  // the table is full, the least recently seen flow among the slots probed is evicted (and
  // counted in evictions()). Never fails.
  FlowEntry* Insert(const FlowKey& key, PathId path, absl::Time now);
  // Erase forgets `key`.
  void Erase(const FlowKey& key);
  // ExpireIdle forgets every flow idle at `now` and returns how many.
  size_t ExpireIdle(absl::Time now);
  // ForEach visits every live entry; `fn` may change entry.path (to move a flow).
  void ForEach(absl::FunctionRef<void(FlowEntry&)> fn);
  // CountOnPath returns how many live flows are on `path`.
  size_t CountOnPath(PathId path) const;
  // Clear forgets every flow.
  void Clear();

  size_t size() const { return size_; }
  size_t capacity() const { return max_flows_; }
  uint64_t evictions() const { return evictions_; }
  absl::Duration idle_timeout() const { return idle_timeout_; }

 private:
  size_t max_flows_;
  absl::Duration idle_timeout_;
  std::vector<FlowEntry> slots_;
  std::vector<uint8_t> used_;
  size_t size_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace fleetbond::bond
