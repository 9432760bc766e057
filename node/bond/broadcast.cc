#include "node/bond/broadcast.h"

namespace fleetbond::bond {

void Broadcast::Refresh(absl::Time /*now*/) {
  LinkMask spares = 0;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if (t_.links[l].mode == LinkMode::kSpare) spares |= Bit(l);
  }
  send_ = t_.usable & ~spares;
}

absl::StatusOr<LinkRotation> Broadcast::Rotate(absl::Time /*now*/) {
  return RotateRefused(*t_.policy);
}

}  // namespace fleetbond::bond
