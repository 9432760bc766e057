#include "node/bond/balance_rr.h"

namespace fleetbond::bond {

void BalanceRr::Refresh(absl::Time /*now*/) {
  per_link_ = t_.policy->packets_per_link;
  if (t_.sendable == send_) return;
  LinkId current = n_ > 0 ? links_[index_] : kNoLink;
  send_ = t_.sendable;
  n_ = 0;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if (send_ & Bit(l)) links_[n_++] = l;
  }
  if (n_ == 0) {
    index_ = sent_ = 0;
    return;
  }
  // Keep the current stripe if its link survived; else start a fresh one on the next link.
  for (uint32_t i = 0; i < n_; ++i) {
    if (links_[i] == current) {
      index_ = i;
      return;
    }
  }
  index_ = 0;
  for (uint32_t i = 0; i < n_; ++i) {
    if (current != kNoLink && links_[i] > current) {
      index_ = i;
      break;
    }
  }
  sent_ = 0;
}

absl::StatusOr<LinkRotation> BalanceRr::Rotate(absl::Time /*now*/) {
  return RotateRefused(*t_.policy);
}

}  // namespace fleetbond::bond
