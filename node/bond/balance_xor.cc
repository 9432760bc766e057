#include "node/bond/balance_xor.h"

#include <utility>
#include <vector>

namespace fleetbond::bond {

void BalanceXor::Refresh(absl::Time /*now*/) {
  if (t_.sendable == send_ && !placement_.empty()) return;
  send_ = t_.sendable;
  std::vector<std::pair<LinkId, double>> weights;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if (send_ & Bit(l)) weights.emplace_back(l, 1.0);
  }
  placement_.Build(weights);
}

absl::StatusOr<LinkRotation> BalanceXor::Rotate(absl::Time /*now*/) {
  return RotateRefused(*t_.policy);
}

}  // namespace fleetbond::bond
