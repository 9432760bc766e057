// active_backup.h
//
// ActiveBackup sends everything on one active link; the others wait in a queue (spec,
// "active-backup"). The rules, each tested in tests/unit/node/bond/active_backup_test.cc:
//
// - Failover queue, when the active link fails: first the failoverTo chain that starts at the
//   failed link (its failoverTo, that link's failoverTo, ...), then the remaining links with the
//   primary before ordinary links before spares, then by quality (lower QualityScore first; links
//   not yet measured after measured ones), then by the order of the policy's links list. The first
//   sendable link of the queue becomes active. Spares are sendable only while every non-spare
//   link is down, so a spare in a failoverTo chain is skipped while a non-spare is usable.
// - linkSelectMethod decides when the primary (mode: primary) takes the active role back:
//     always   as soon as it is usable again (that is, after upDelay);
//     better   while it is usable and scores strictly better than the active link (checked every
//              tick, so "better" may come true a while after the primary came back);
//     failure  only when the active link fails; then the primary goes first in the queue;
//     optimize the primary is only the first choice; afterwards the active link moves to a
//              clearly superior link: score <= 0.75 x the active link's and at least 0.02 lower,
//              continuously for the hold time (failoverInterval), at most once per hold time.
// - Rotate moves to the next sendable link after the active one in the canonical queue (the
//   primary or first link, its failoverTo chain, then the rest by mode and order) and pins it:
//   automatic returns (always, better, optimize) are suspended until that link fails, so an
//   operator's rotation is not undone at the next tick.
//
// Example:
//   ActiveBackup ab(table, kNoLink);
//   ab.Refresh(now);
//   LinkId active = ab.Active();
#pragma once

#include <vector>

#include "node/bond/bond_policy.h"

namespace fleetbond::bond {

class ActiveBackup final : public BondPolicy {
 public:
  // Optimize switches only to a link scoring at most kOptimizeRatio x the active link's score
  // and at least kOptimizeMargin lower.
  static constexpr double kOptimizeRatio = 0.75;
  static constexpr double kOptimizeMargin = 0.02;

  ActiveBackup(const LinkTable& links, LinkId previous_active);

  void Refresh(absl::Time now) override;
  LinkMask Select(const PacketMeta& /*packet*/, absl::Time /*now*/) override {
    return active_mask_;
  }
  LinkMask Bonded() const override { return active_mask_; }
  double TargetShare(LinkId link) const override { return link == active_ ? 1.0 : 0.0; }
  LinkId Active() const override { return active_; }
  absl::StatusOr<LinkRotation> Rotate(absl::Time now) override;

  // FailoverQueue returns every other link in the order in which they would take over from
  // `from` (kNoLink: the order for a bond with no active link yet).
  std::vector<LinkId> FailoverQueue(LinkId from) const;
  // CanonicalQueue returns the order Rotate walks through.
  std::vector<LinkId> CanonicalQueue() const;

 private:
  LinkId Primary() const;
  LinkId PickAfter(LinkId failed) const;
  LinkId BestMeasured() const;
  bool ClearlyBetter(LinkId candidate, LinkId active) const;
  void SetActive(LinkId link, absl::Time now);

  const LinkTable& t_;
  LinkId active_ = kNoLink;
  LinkMask active_mask_ = 0;
  bool pinned_ = false;
  LinkId candidate_ = kNoLink;
  absl::Time candidate_since_;
  absl::Time last_switch_ = absl::InfinitePast();
};

}  // namespace fleetbond::bond
