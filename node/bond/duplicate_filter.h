// duplicate_filter.h
//
// DuplicateFilter is the receiving half of the broadcast policy. The sender stamps every packet of
// a bond with a 64-bit sequence number and sends a copy on every link; the receiver passes each
// arriving sequence number through the filter and delivers the packet only when the filter says
// it is new, so the application sees each packet once.
//
// The filter remembers the highest sequence number seen and a sliding bitmap of the kWindow
// numbers up to it. A number inside the window is new unless its bit is set; a number above it
// slides the window forward; a number that fell out of the window is rejected as too old (counted
// apart from duplicates: a duplicate is the normal fate of the slower copy, a too-old packet is
// one that arrived later than the window allows and is lost to the application).
//
// Window size: kWindow = 16,384 sequence numbers (a 2 KiB bitmap per bond). With broadcast the
// window decides one thing: whether the first copy of a packet that arrives late (because its
// copy on the fast link was lost, so only the slow link delivers it) is still accepted. That copy
// lags the newest packet by rate x (latency of the slow link - latency of the fast link). Every
// link carries all the traffic, so the rate is at most what the slowest link can carry: 100,000
// packets/s (about 1.1 Gbit/s of 1,400-byte packets) against a 150 ms latency gap (fibre next to
// LTE or a congested DSL uplink) is 15,000 packets, inside 16,384; lower rates allow larger gaps
// (10,000 packets/s tolerates 1.6 s). The cost is memory and the bound on the work done by one
// jump forward (clearing at most kWindow / 64 = 256 words); the usual step of one number clears
// one bit.
//
// Sequence numbers compare in serial-number arithmetic (RFC 1982) modulo 2^64: a number up to
// 2^63 - 1 ahead of the highest is forward, so crossing 2^64 - 1 -> 0 is an ordinary step. 64 bits
// never wrap in practice, so this only matters for senders that start near the top. A number
// 2^63 or more ahead counts as too old. The filter trusts every number it is given: feed it only
// packets that passed authentication, or a forged far-ahead number would make the window skip.
// Call Reset when the peer's sequence restarts (new session).
//
// Example:
//   DuplicateFilter filter;
//   if (filter.Check(header.sequence) == DuplicateFilter::Verdict::kNew) Deliver(packet);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fleetbond::bond {

class DuplicateFilter {
 public:
  // kWindow is how many sequence numbers, counting back from the highest seen, are remembered.
  static constexpr uint64_t kWindow = 16384;

  enum class Verdict {
    kNew,        // first sighting: deliver
    kDuplicate,  // seen before: drop
    kTooOld,     // kWindow or more below the highest seen: drop, cannot tell if it was seen
  };

  DuplicateFilter() { Reset(); }

  // Check records `sequence` and says whether it is new. O(1), no allocation.
  Verdict Check(uint64_t sequence);

  // Reset forgets everything (for a new session whose numbering starts over). Counters stay.
  void Reset();

  // highest returns the highest sequence number accepted so far (0 before the first).
  uint64_t highest() const { return highest_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t too_old() const { return too_old_; }

 private:
  static constexpr size_t kWords = kWindow / 64;
  static_assert(kWindow % 64 == 0 && (kWindow & (kWindow - 1)) == 0);

  bool TestAndSet(uint64_t sequence);
  // ClearAfter clears the bits of the `count` sequence numbers after `from` (count < kWindow).
  void ClearAfter(uint64_t from, uint64_t count);

  // Bit (sequence % kWindow) stands for the one sequence number in (highest_ - kWindow, highest_]
  // with that remainder.
  std::array<uint64_t, kWords> bits_;
  uint64_t highest_ = 0;
  bool empty_ = true;
  uint64_t accepted_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t too_old_ = 0;
};

}  // namespace fleetbond::bond
