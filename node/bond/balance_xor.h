// balance_xor.h
//
// BalanceXor hashes flows onto links and keeps them there (spec, "balance-xor"):
// - a new flow goes to the sendable link its FlowHash picks (equal shares, FlowPlacement);
// - the flow table remembers it, so the flow stays on that link for its life;
// - a portless packet goes to a random sendable link;
// - when a link fails, only its flows move: each is re-hashed over the links still sendable, the
//   moment its next packet is sent (so no packet goes out on a failed link);
// - moved flows do not move back when their link recovers. Moving them back would reorder each
//   of those flows a second time to restore a balance that new flows restore on their own (new
//   flows hash over the recovered link at once). balance-aware is the policy that rebalances.
#pragma once

#include "node/bond/bond_policy.h"
#include "node/bond/flow_placement.h"
#include "node/bond/flow_router.h"

namespace fleetbond::bond {

class BalanceXor final : public BondPolicy {
 public:
  explicit BalanceXor(const LinkTable& links) : t_(links), router_(*links.flows) {}

  void Refresh(absl::Time now) override;
  LinkMask Select(const PacketMeta& packet, absl::Time now) override {
    if (placement_.empty()) return 0;
    if (!packet.flow) return Bit(placement_.Pick(t_.rng->Next()));
    return Bit(router_.Route(*packet.flow, packet.size, now, send_, placement_, &moved_));
  }
  LinkMask Bonded() const override { return send_; }
  double TargetShare(LinkId link) const override { return placement_.Share(link); }
  absl::StatusOr<LinkRotation> Rotate(absl::Time now) override;

  // moved counts flows that left a failed link.
  uint64_t moved() const { return moved_; }

 private:
  const LinkTable& t_;
  FlowPlacement placement_;
  FlowRouter router_;
  LinkMask send_ = 0;
  uint64_t moved_ = 0;
};

}  // namespace fleetbond::bond
