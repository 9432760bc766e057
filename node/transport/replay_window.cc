#include "node/transport/replay_window.h"

namespace fleetbond::transport {
namespace {

constexpr size_t BlockIndex(uint64_t counter) {
  return static_cast<size_t>((counter / ReplayWindow::kBlockBits) % ReplayWindow::kBlocks);
}
constexpr uint64_t BitMask(uint64_t counter) {
  return uint64_t{1} << (counter % ReplayWindow::kBlockBits);
}

}  // namespace

ReplayWindow::Verdict ReplayWindow::Check(uint64_t counter) const {
  if (!any_accepted_ || counter > highest_) return Verdict::kFresh;
  if (highest_ - counter >= kWindowSize) return Verdict::kTooOld;
  if (bitmap_[BlockIndex(counter)] & BitMask(counter)) return Verdict::kDuplicate;
  return Verdict::kFresh;
}

void ReplayWindow::Accept(uint64_t counter) {
  if (!any_accepted_) {
    any_accepted_ = true;
    highest_ = counter;
  } else if (counter > highest_) {
    // Clear the blocks the window slides over; a jump of a whole ring or more clears them all.
    uint64_t from_block = highest_ / kBlockBits;
    uint64_t to_block = counter / kBlockBits;
    uint64_t steps = to_block - from_block;
    if (steps > kBlocks) steps = kBlocks;
    for (uint64_t i = 1; i <= steps; ++i) bitmap_[BlockIndex((from_block + i) * kBlockBits)] = 0;
    highest_ = counter;
  }
  bitmap_[BlockIndex(counter)] |= BitMask(counter);
}

}  // namespace fleetbond::transport
