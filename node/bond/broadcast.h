// broadcast.h
//
// Broadcast sends every packet on every usable link (spec, "broadcast"). Spares are never used:
// the spec does not allow them with broadcast (the validator rejects them), and should one reach
// the engine anyway it stays idle even when every other link is down. The receiver drops the
// extra copies with a DuplicateFilter (duplicate_filter.h).
#pragma once

#include "node/bond/bond_policy.h"

namespace fleetbond::bond {

class Broadcast final : public BondPolicy {
 public:
  explicit Broadcast(const LinkTable& links) : t_(links) {}

  void Refresh(absl::Time now) override;
  LinkMask Select(const PacketMeta& /*packet*/, absl::Time /*now*/) override { return send_; }
  LinkMask Bonded() const override { return send_; }
  // TargetShare is 1 for every sending link: each carries all the traffic.
  double TargetShare(LinkId link) const override { return (send_ & Bit(link)) ? 1.0 : 0.0; }
  absl::StatusOr<LinkRotation> Rotate(absl::Time now) override;

 private:
  const LinkTable& t_;
  LinkMask send_ = 0;
};

}  // namespace fleetbond::bond
