#include "node/bond/balance_aware.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace fleetbond::bond {

void BalanceAware::Refresh(absl::Time /*now*/) {
  send_ = t_.sendable;
  LinkMask fit = 0;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if ((send_ & Bit(l)) && !t_.links[l].breaking) fit |= Bit(l);
  }
  std::vector<std::pair<LinkId, double>> weights;
  if (fit != 0) {
    double hinted_sum = 0;
    int hinted = 0;
    for (LinkId l = 0; l < t_.link_count; ++l) {
      if ((fit & Bit(l)) && t_.links[l].capacity) {
        hinted_sum += *t_.links[l].capacity;
        ++hinted;
      }
    }
    const double unhinted = hinted > 0 ? hinted_sum / hinted : 1.0;
    for (LinkId l = 0; l < t_.link_count; ++l) {
      if ((fit & Bit(l)) == 0) continue;
      const LinkInfo& link = t_.links[l];
      double capacity = link.capacity ? static_cast<double>(*link.capacity) : unhinted;
      weights.emplace_back(l, capacity * QualityWeight(link.score));
    }
  } else if (send_ != 0) {
    // Every link breaks a limit: the best by the weighted ranking takes the new flows.
    LinkId best = kNoLink;
    for (LinkId l = 0; l < t_.link_count; ++l) {
      if ((send_ & Bit(l)) == 0) continue;
      if (best == kNoLink || t_.links[l].score < t_.links[best].score) best = l;
    }
    weights.emplace_back(best, 1.0);
  }
  placement_.Build(weights);
}

void BalanceAware::Maintain(absl::Time now) {
  const uint64_t moved_before = moved_;
  MoveFlows(now);
  if (moved_ != moved_before) router_.Invalidate();
}

void BalanceAware::MoveFlows(absl::Time /*now*/) {
  FlowTable& flows = *t_.flows;
  if (placement_.empty() || flows.size() == 0) return;
  std::array<int64_t, kMaxLinks> count{};
  int64_t total = 0;
  flows.ForEach([&](FlowEntry& e) {
    if (e.path < kMaxLinks && (send_ & Bit(e.path))) {
      ++count[e.path];
      ++total;
    }
  });
  if (total == 0) return;
  size_t budget = std::max(kMinMovesPerRound, flows.size() / 16);
  const LinkMask takers = placement_.links();

  // 1. Links that break a limit (so own no bucket) while another link is fit: drain them.
  LinkMask drain = 0;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if ((send_ & Bit(l)) && t_.links[l].breaking && (takers & Bit(l)) == 0 && count[l] > 0) {
      drain |= Bit(l);
    }
  }
  bool all_breaking = true;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if ((send_ & Bit(l)) && !t_.links[l].breaking) all_breaking = false;
  }
  if (drain != 0 && !all_breaking) {
    flows.ForEach([&](FlowEntry& e) {
      if (budget == 0 || e.path >= kMaxLinks || (drain & Bit(e.path)) == 0) return;
      --count[e.path];
      e.path = placement_.Pick(FlowHash(e.key));
      ++count[e.path];
      ++moved_;
      --budget;
    });
    return;
  }
  if (all_breaking) return;

  // 2. Rebalance links far above their target share towards the links below theirs.
  std::array<int64_t, kMaxLinks> excess{};
  bool trigger = false;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if ((send_ & Bit(l)) == 0) continue;
    double target = placement_.Share(l) * static_cast<double>(total);
    excess[l] = count[l] - static_cast<int64_t>(target + 0.5);
    if (static_cast<double>(excess[l]) > kRebalanceTrigger * static_cast<double>(total)) {
      trigger = true;
    }
  }
  if (!trigger) return;
  flows.ForEach([&](FlowEntry& e) {
    if (budget == 0 || e.path >= kMaxLinks || (send_ & Bit(e.path)) == 0) return;
    if (excess[e.path] <= 0) return;
    LinkId dest = kNoLink;
    for (LinkId l = 0; l < t_.link_count; ++l) {
      if ((takers & Bit(l)) && excess[l] < 0 && (dest == kNoLink || excess[l] < excess[dest])) {
        dest = l;
      }
    }
    if (dest == kNoLink) {
      budget = 0;
      return;
    }
    --excess[e.path];
    ++excess[dest];
    e.path = dest;
    ++moved_;
    --budget;
  });
}

absl::StatusOr<LinkRotation> BalanceAware::Rotate(absl::Time /*now*/) {
  return RotateRefused(*t_.policy);
}

}  // namespace fleetbond::bond
