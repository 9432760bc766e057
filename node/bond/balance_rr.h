// balance_rr.h
//
// BalanceRr stripes packets over the sendable links (spec, "balance-rr"): exactly
// packetsPerLink packets on one link, then the next sendable link in link order, round and round.
// packetsPerLink 0 picks a uniformly random sendable link for every packet. When the set of
// links changes, the current link keeps its stripe if it is still sendable; otherwise the next
// sendable link starts a fresh stripe.
#pragma once

#include <array>

#include "node/bond/bond_policy.h"

namespace fleetbond::bond {

class BalanceRr final : public BondPolicy {
 public:
  explicit BalanceRr(const LinkTable& links) : t_(links) {}

  void Refresh(absl::Time now) override;
  LinkMask Select(const PacketMeta& /*packet*/, absl::Time /*now*/) override {
    if (n_ == 0) return 0;
    if (per_link_ == 0) return Bit(links_[t_.rng->Below(n_)]);
    if (sent_ >= per_link_) {
      index_ = index_ + 1 == n_ ? 0 : index_ + 1;
      sent_ = 0;
    }
    ++sent_;
    return Bit(links_[index_]);
  }
  LinkMask Bonded() const override { return send_; }
  double TargetShare(LinkId link) const override {
    return (send_ & Bit(link)) && n_ > 0 ? 1.0 / n_ : 0.0;
  }
  absl::StatusOr<LinkRotation> Rotate(absl::Time now) override;

 private:
  const LinkTable& t_;
  std::array<LinkId, kMaxLinks> links_{};
  uint32_t n_ = 0;
  uint32_t index_ = 0;
  uint32_t sent_ = 0;
  uint32_t per_link_ = 0;
  LinkMask send_ = 0;
};

}  // namespace fleetbond::bond
