// path_set.h
//
// PathSet is a set of PathIds as a 64-bit mask: what Bond::Select returns for one packet (one
// path for most policies, every usable link's path for broadcast). A bond holds at most
// kMaxPaths paths, and at most kMaxLinks links, so that every per-packet set operation is a
// single machine word.
//
// Example:
//   PathSet paths = bond.Select(meta);
//   for (PathId p : paths) socket_for[p].Send(packet);
#pragma once

#include <bit>
#include <cstdint>

#include "node/bond/flow_key.h"

namespace fleetbond::bond {

// kMaxPaths bounds the paths of one bond (ids are 0..63). 64 is far above any real host (a few
// interfaces × two address families × a few remote endpoints) and keeps sets in one word.
inline constexpr uint32_t kMaxPaths = 64;

// LinkId names a link (local interface) inside one bond; kMaxLinks bounds them.
using LinkId = uint32_t;
inline constexpr LinkId kNoLink = 0xffffffffu;
inline constexpr uint32_t kMaxLinks = 64;

// LinkMask is a set of LinkIds, one bit per link.
using LinkMask = uint64_t;

inline constexpr uint64_t Bit(uint32_t i) { return uint64_t{1} << i; }

// PathSet is a set of PathIds.
class PathSet {
 public:
  constexpr PathSet() = default;
  constexpr explicit PathSet(uint64_t bits) : bits_(bits) {}
  static constexpr PathSet Of(PathId p) { return PathSet(Bit(p)); }

  constexpr bool empty() const { return bits_ == 0; }
  constexpr int size() const { return std::popcount(bits_); }
  constexpr bool contains(PathId p) const { return p < kMaxPaths && ((bits_ >> p) & 1) != 0; }
  constexpr void insert(PathId p) { bits_ |= Bit(p); }
  constexpr void erase(PathId p) { bits_ &= ~Bit(p); }
  constexpr uint64_t bits() const { return bits_; }
  // first returns the lowest id in the set, or kNoPath when empty.
  constexpr PathId first() const {
    return bits_ == 0 ? kNoPath : static_cast<PathId>(std::countr_zero(bits_));
  }

  class Iterator {
   public:
    constexpr explicit Iterator(uint64_t bits) : bits_(bits) {}
    constexpr PathId operator*() const { return static_cast<PathId>(std::countr_zero(bits_)); }
    constexpr Iterator& operator++() {
      bits_ &= bits_ - 1;
      return *this;
    }
    constexpr bool operator!=(const Iterator& o) const { return bits_ != o.bits_; }

   private:
    uint64_t bits_;
  };
  constexpr Iterator begin() const { return Iterator(bits_); }
  constexpr Iterator end() const { return Iterator(0); }

  friend constexpr bool operator==(PathSet a, PathSet b) = default;

 private:
  uint64_t bits_ = 0;
};

}  // namespace fleetbond::bond
