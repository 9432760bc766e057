// allocation.h
//
// AllocationTracker measures what share of a bond's traffic each link actually carried over the
// last complete window (the `alloc` column of `bond <peer> show`, printed next to the policy's
// target share). Shares are by bytes (by packets when the window carried no bytes), relative to
// the traffic the bond was asked to send: under broadcast every sending link carries ~1.0.
//
// Example:
//   AllocationTracker alloc(absl::Seconds(1), now);
//   alloc.Record(links, packet_bytes);  // per packet
//   alloc.Roll(now);                    // per tick
//   double share = alloc.Share(link);
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include "absl/time/time.h"
#include "node/bond/path_set.h"

namespace fleetbond::bond {

class AllocationTracker {
 public:
  AllocationTracker(absl::Duration window, absl::Time now) : window_(window), start_(now) {}

  // Record counts one packet of `bytes` sent on each link of `links`. Hot path.
  void Record(LinkMask links, uint32_t bytes) {
    ++packets_;
    bytes_ += bytes;
    while (links != 0) {
      int l = std::countr_zero(links);
      links &= links - 1;
      ++link_packets_[l];
      link_bytes_[l] += bytes;
    }
  }

  // Roll closes the window once it has lasted `window`, publishing its shares.
  void Roll(absl::Time now);
  // SetWindow changes the window length from the next roll on.
  void SetWindow(absl::Duration window) { window_ = window; }

  // Share returns the share `link` carried over the last complete window (0 before the first).
  double Share(LinkId link) const { return link < kMaxLinks ? share_[link] : 0.0; }
  absl::Duration window() const { return window_; }

 private:
  absl::Duration window_;
  absl::Time start_;
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;
  std::array<uint64_t, kMaxLinks> link_packets_{};
  std::array<uint64_t, kMaxLinks> link_bytes_{};
  std::array<double, kMaxLinks> share_{};
};

}  // namespace fleetbond::bond
