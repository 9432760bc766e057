// balance_aware.h
//
// BalanceAware places flows by capacity and quality and moves them when that pays (spec,
// "balance-aware", "Link Quality", "Asymmetric links"):
// - Target share of a link = capacity x QualityWeight(score), over the sendable links that break
//   no linkQuality limit. Links without a capacity hint count as the mean of the hinted links
//   (all equal when none is hinted); capacity 0 gets no new flows while another link can take
//   them. 10000/1000/100 gives 90.09/9.01/0.90 % of new flows on healthy links.
// - New flows are placed by FlowHash in proportion to the target shares (FlowPlacement); a
//   portless packet goes to a random link drawn with the same proportions.
// - A link that breaks a limit (LimitState: enters above the limit, clears only after staying at
//   or below 80 % of every limit for the hold time) gets no new flows, and its flows are moved to
//   links that break none, at most max(64, flows / 16) flows per maintenance round.
// - When every sendable link breaks a limit, the single best link by QualityScore gets the new
//   flows; existing flows stay where they are (there is no better link to move them to).
// - Rebalancing ("move back"): when a link carries more than its target share by over
//   kRebalanceTrigger of all flows, flows move from it to the links furthest below target until
//   it is at target, within the same per-round budget. This returns flows to a link that
//   recovered; the 5-point trigger keeps quality noise from moving anything.
// - A flow whose link fails moves at its next packet, like balance-xor.
#pragma once

#include <array>

#include "node/bond/bond_policy.h"
#include "node/bond/flow_placement.h"
#include "node/bond/flow_router.h"

namespace fleetbond::bond {

class BalanceAware final : public BondPolicy {
 public:
  static constexpr double kRebalanceTrigger = 0.05;
  static constexpr size_t kMinMovesPerRound = 64;

  explicit BalanceAware(const LinkTable& links) : t_(links), router_(*links.flows) {}

  void Refresh(absl::Time now) override;
  LinkMask Select(const PacketMeta& packet, absl::Time now) override {
    if (placement_.empty()) return 0;
    if (!packet.flow) return Bit(placement_.Pick(t_.rng->Next()));
    return Bit(router_.Route(*packet.flow, packet.size, now, send_, placement_, &moved_));
  }
  void Maintain(absl::Time now) override;
  LinkMask Bonded() const override { return send_; }
  double TargetShare(LinkId link) const override { return placement_.Share(link); }
  absl::StatusOr<LinkRotation> Rotate(absl::Time now) override;

  // moved counts flows moved (off failed or limit-breaking links, and by rebalancing).
  uint64_t moved() const { return moved_; }

 private:
  // MoveFlows does Maintain's work; Maintain then drops the router's cache if a flow moved.
  void MoveFlows(absl::Time now);

  const LinkTable& t_;
  FlowPlacement placement_;
  FlowRouter router_;
  LinkMask send_ = 0;
  uint64_t moved_ = 0;
};

}  // namespace fleetbond::bond
