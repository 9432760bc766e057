// replay_window.h
//
// ReplayWindow rejects packets whose nonce counter was already accepted or is too far behind the
// highest accepted counter. It is the sliding bitmap of RFC 6479: a ring of 64-bit blocks, where
// advancing the window clears whole blocks instead of shifting bits, so each packet costs O(1)
// (and a large jump at most one pass over the ring).
//
// Multipath reorders by design: packets of one peer direction share one counter but travel over
// links with different delays, so the window must be deep. It is 8192 bits, of which 8128
// counters behind the highest are always tracked (docs/wire-format.md says why this size).
//
// Check is const and Accept mutates: the caller checks only after the AEAD has proven the packet
// authentic, and accepts only then, so forged packets can neither be counted as replays nor move
// the window.
//
// Example:
//   if (opener.Open(counter, header, sealed, out) != AeadError::kOk) return Drop(kAuth);
//   if (window.Check(counter) != ReplayWindow::Verdict::kFresh) return Drop(kReplay);
//   window.Accept(counter);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fleetbond::transport {

class ReplayWindow {
 public:
  static constexpr size_t kBlockBits = 64;
  static constexpr size_t kBlocks = 128;
  static constexpr size_t kBitmapBits = kBlockBits * kBlocks;
  // kWindowSize counters behind the highest accepted one are always tracked; older ones are
  // rejected as too old. One block is the slack the ring needs to advance without shifting.
  static constexpr uint64_t kWindowSize = kBitmapBits - kBlockBits;

  enum class Verdict : uint8_t {
    kFresh,      // never seen and within (or ahead of) the window
    kDuplicate,  // already accepted
    kTooOld,     // kWindowSize or more behind the highest accepted counter
  };

  // Check says whether `counter` may be accepted. It changes nothing.
  Verdict Check(uint64_t counter) const;
  // Accept records `counter` as seen, advancing the window if it is the new highest. Call it
  // only for authenticated packets for which Check returned kFresh.
  void Accept(uint64_t counter);

  // highest is the highest accepted counter (0 while empty()).
  uint64_t highest() const { return highest_; }
  bool empty() const { return !any_accepted_; }

 private:
  std::array<uint64_t, kBlocks> bitmap_{};
  uint64_t highest_ = 0;
  bool any_accepted_ = false;
};

}  // namespace fleetbond::transport
