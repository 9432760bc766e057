#include "node/bond/duplicate_filter.h"

#include <algorithm>

namespace fleetbond::bond {
namespace {

constexpr uint64_t kHalfRange = uint64_t{1} << 63;

}  // namespace

void DuplicateFilter::Reset() {
  bits_.fill(0);
  highest_ = 0;
  empty_ = true;
}

bool DuplicateFilter::TestAndSet(uint64_t sequence) {
  const uint64_t bit = sequence % kWindow;
  uint64_t& word = bits_[bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  const bool seen = (word & mask) != 0;
  word |= mask;
  return seen;
}

void DuplicateFilter::ClearAfter(uint64_t from, uint64_t count) {
  uint64_t bit = (from + 1) % kWindow;
  while (count > 0) {
    const uint64_t offset = bit % 64;
    const uint64_t n = std::min<uint64_t>(64 - offset, count);
    const uint64_t mask = n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1) << offset;
    bits_[bit / 64] &= ~mask;
    bit = (bit + n) % kWindow;
    count -= n;
  }
}

DuplicateFilter::Verdict DuplicateFilter::Check(uint64_t sequence) {
  if (empty_) {
    empty_ = false;
    highest_ = sequence;
    TestAndSet(sequence);
    ++accepted_;
    return Verdict::kNew;
  }
  const uint64_t ahead = sequence - highest_;  // modulo 2^64
  if (ahead != 0 && ahead < kHalfRange) {
    if (ahead >= kWindow) {
      bits_.fill(0);
    } else {
      ClearAfter(highest_, ahead);
    }
    highest_ = sequence;
    TestAndSet(sequence);
    ++accepted_;
    return Verdict::kNew;
  }
  const uint64_t behind = highest_ - sequence;
  if (behind >= kWindow) {
    ++too_old_;
    return Verdict::kTooOld;
  }
  if (TestAndSet(sequence)) {
    ++duplicates_;
    return Verdict::kDuplicate;
  }
  ++accepted_;
  return Verdict::kNew;
}

}  // namespace fleetbond::bond
