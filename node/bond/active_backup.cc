#include "node/bond/active_backup.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fleetbond::bond {
namespace {

int ModeRank(LinkMode mode) {
  switch (mode) {
    case LinkMode::kPrimary:
      return 0;
    case LinkMode::kNone:
      return 1;
    case LinkMode::kSpare:
      return 2;
  }
  return 1;
}

}  // namespace

ActiveBackup::ActiveBackup(const LinkTable& links, LinkId previous_active) : t_(links) {
  if (previous_active != kNoLink && previous_active < t_.link_count &&
      (t_.sendable & Bit(previous_active)) != 0) {
    active_ = previous_active;
    active_mask_ = Bit(active_);
  }
}

LinkId ActiveBackup::Primary() const {
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if (t_.links[l].mode == LinkMode::kPrimary) return l;
  }
  return kNoLink;
}

std::vector<LinkId> ActiveBackup::FailoverQueue(LinkId from) const {
  std::vector<LinkId> queue;
  LinkMask seen = from == kNoLink ? 0 : Bit(from);
  if (from != kNoLink) {
    for (LinkId l = t_.links[from].failover_to; l != kNoLink && (seen & Bit(l)) == 0;
         l = t_.links[l].failover_to) {
      queue.push_back(l);
      seen |= Bit(l);
    }
  }
  std::vector<LinkId> rest;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if ((seen & Bit(l)) == 0) rest.push_back(l);
  }
  std::stable_sort(rest.begin(), rest.end(), [&](LinkId a, LinkId b) {
    const LinkInfo& x = t_.links[a];
    const LinkInfo& y = t_.links[b];
    if (ModeRank(x.mode) != ModeRank(y.mode)) return ModeRank(x.mode) < ModeRank(y.mode);
    if (x.metrics.measured != y.metrics.measured) return x.metrics.measured;
    if (x.metrics.measured && x.score != y.score) return x.score < y.score;
    return x.order < y.order;
  });
  queue.insert(queue.end(), rest.begin(), rest.end());
  return queue;
}

std::vector<LinkId> ActiveBackup::CanonicalQueue() const {
  std::vector<LinkId> all;
  for (LinkId l = 0; l < t_.link_count; ++l) all.push_back(l);
  std::stable_sort(all.begin(), all.end(), [&](LinkId a, LinkId b) {
    const LinkInfo& x = t_.links[a];
    const LinkInfo& y = t_.links[b];
    if (ModeRank(x.mode) != ModeRank(y.mode)) return ModeRank(x.mode) < ModeRank(y.mode);
    return x.order < y.order;
  });
  if (all.empty()) return all;
  std::vector<LinkId> queue;
  LinkMask seen = 0;
  for (LinkId l = all.front(); l != kNoLink && (seen & Bit(l)) == 0; l = t_.links[l].failover_to) {
    queue.push_back(l);
    seen |= Bit(l);
  }
  for (LinkId l : all) {
    if ((seen & Bit(l)) == 0) queue.push_back(l);
  }
  return queue;
}

LinkId ActiveBackup::PickAfter(LinkId failed) const {
  const LinkMask send = t_.sendable;
  if (t_.policy->link_select_method == LinkSelectMethod::kFailure) {
    LinkId p = Primary();
    if (p != kNoLink && p != failed && (send & Bit(p)) != 0) return p;
  }
  for (LinkId l : FailoverQueue(failed)) {
    if ((send & Bit(l)) != 0) return l;
  }
  return kNoLink;
}

LinkId ActiveBackup::BestMeasured() const {
  LinkId best = kNoLink;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    if ((t_.sendable & Bit(l)) == 0 || !t_.links[l].metrics.measured) continue;
    if (best == kNoLink || t_.links[l].score < t_.links[best].score ||
        (t_.links[l].score == t_.links[best].score && t_.links[l].order < t_.links[best].order)) {
      best = l;
    }
  }
  return best;
}

bool ActiveBackup::ClearlyBetter(LinkId candidate, LinkId active) const {
  const LinkInfo& c = t_.links[candidate];
  const LinkInfo& a = t_.links[active];
  if (!c.metrics.measured || !a.metrics.measured) return false;
  return c.score <= kOptimizeRatio * a.score && a.score - c.score >= kOptimizeMargin;
}

void ActiveBackup::SetActive(LinkId link, absl::Time now) {
  if (link != active_) {
    active_ = link;
    last_switch_ = now;
  }
  active_mask_ = active_ == kNoLink ? 0 : Bit(active_);
  candidate_ = kNoLink;
}

void ActiveBackup::Refresh(absl::Time now) {
  const LinkMask send = t_.sendable;
  if (active_ != kNoLink && (active_ >= t_.link_count || (send & Bit(active_)) == 0)) {
    // The active link failed (or a non-spare recovered while a spare was active).
    pinned_ = false;
    SetActive(PickAfter(active_ < t_.link_count ? active_ : kNoLink), now);
    return;
  }
  if (active_ == kNoLink) {
    SetActive(PickAfter(kNoLink), now);
    return;
  }
  if (pinned_) return;
  const LinkId primary = Primary();
  const bool primary_ready = primary != kNoLink && primary != active_ && (send & Bit(primary));
  switch (t_.policy->link_select_method) {
    case LinkSelectMethod::kAlways:
      if (primary_ready) SetActive(primary, now);
      break;
    case LinkSelectMethod::kBetter:
      if (primary_ready && t_.links[primary].metrics.measured &&
          t_.links[active_].metrics.measured && t_.links[primary].score < t_.links[active_].score) {
        SetActive(primary, now);
      }
      break;
    case LinkSelectMethod::kFailure:
      break;
    case LinkSelectMethod::kOptimize: {
      LinkId best = BestMeasured();
      if (best == kNoLink || best == active_ || !ClearlyBetter(best, active_)) {
        candidate_ = kNoLink;
        break;
      }
      if (best != candidate_) {
        candidate_ = best;
        candidate_since_ = now;
      }
      if (now - candidate_since_ >= t_.hold && now - last_switch_ >= t_.hold) {
        SetActive(best, now);
      }
      break;
    }
  }
}

absl::StatusOr<LinkRotation> ActiveBackup::Rotate(absl::Time now) {
  if (active_ == kNoLink) {
    return absl::FailedPreconditionError(
        "cannot rotate: the bond has no active link (no link is usable)");
  }
  std::vector<LinkId> queue = CanonicalQueue();
  auto it = std::find(queue.begin(), queue.end(), active_);
  size_t start = it == queue.end() ? 0 : static_cast<size_t>(it - queue.begin());
  for (size_t i = 1; i < queue.size(); ++i) {
    LinkId l = queue[(start + i) % queue.size()];
    if (l == active_ || (t_.sendable & Bit(l)) == 0) continue;
    LinkRotation r{.from = active_, .to = l};
    SetActive(l, now);
    pinned_ = true;
    return r;
  }
  int usable = 0;
  bool idle_spare = false;
  for (LinkId l = 0; l < t_.link_count; ++l) {
    usable += (t_.usable & Bit(l)) != 0;
    idle_spare |= (t_.usable & ~t_.sendable & Bit(l)) != 0;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot rotate: no other usable link to rotate to (", usable, " of ", t_.link_count,
      " links usable; active link is ", t_.links[active_].name, ")",
      idle_spare ? "; spare links carry traffic only while every other link is down" : ""));
}

}  // namespace fleetbond::bond
