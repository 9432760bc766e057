#include "node/bond/allocation.h"

namespace fleetbond::bond {

void AllocationTracker::Roll(absl::Time now) {
  if (now - start_ < window_) return;
  for (uint32_t l = 0; l < kMaxLinks; ++l) {
    if (bytes_ > 0) {
      share_[l] = static_cast<double>(link_bytes_[l]) / static_cast<double>(bytes_);
    } else if (packets_ > 0) {
      share_[l] = static_cast<double>(link_packets_[l]) / static_cast<double>(packets_);
    } else {
      share_[l] = 0.0;
    }
  }
  link_packets_.fill(0);
  link_bytes_.fill(0);
  packets_ = bytes_ = 0;
  start_ = now;
}

}  // namespace fleetbond::bond
