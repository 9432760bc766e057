// bond_policy.h
//
// BondPolicy is the strategy interface behind a Bond: one implementation per standard policy of
// the spec (active_backup.h, broadcast.h, balance_rr.h, balance_xor.h, balance_aware.h). A policy
// chooses among *links*; the Bond owns the paths, runs their monitors, decides which path each
// link currently sends on, and keeps the LinkTable below up to date for the policy to read.
//
// The split keeps the per-packet work small: Refresh (called whenever a link's state, quality
// or the policy changes, and on every monitor tick) precomputes whatever Select needs, and
// Select (once per packet) only reads it.
//
// Example (inside Bond):
//   std::unique_ptr<BondPolicy> p = CreateBondPolicy(links_, previous_active);
//   p->Refresh(now);
//   LinkMask send_on = p->Select(meta, now);
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/bond/flow_key.h"
#include "node/bond/flow_table.h"
#include "node/bond/link_quality.h"
#include "node/bond/path_set.h"
#include "node/bond/prng.h"
#include "shared/settings/policy.h"

namespace fleetbond::bond {

// PacketMeta is what path choice needs to know about one outgoing packet.
struct PacketMeta {
  std::optional<FlowKey> flow;  // nullopt for portless traffic (ICMP, fragments, ...)
  uint32_t size = 0;            // bytes, for accounting
};

// LinkInfo is one link as a policy sees it.
struct LinkInfo {
  std::string name;
  LinkMode mode = LinkMode::kNone;
  std::optional<uint32_t> capacity;
  LinkId failover_to = kNoLink;  // resolved failoverTo, kNoLink when unset or unknown
  // Position of the link in the policy's links list (or of its first path when the policy lists
  // none); the final tie-breaker of every ordering.
  uint32_t order = 0;
  bool usable = false;    // one of its allowed paths is usable
  PathMetrics metrics;    // of the path it sends on (or would send on)
  double score = 0;       // QualityScore(metrics)
  bool breaking = false;  // LimitState::breaking()
};

// LinkTable is the state a Bond shares with its policy. Policies read it; only the Bond writes.
struct LinkTable {
  const ResolvedPolicy* policy = nullptr;
  std::array<LinkInfo, kMaxLinks> links;
  uint32_t link_count = 0;  // links[0, link_count) exist
  LinkMask usable = 0;      // links with a usable path
  // sendable applies the spare rule to `usable`: the usable non-spare links, or, while every
  // non-spare link is down, the usable spares.
  LinkMask sendable = 0;
  FlowTable* flows = nullptr;
  Prng* rng = nullptr;
  // Minimum time between quality-driven changes (optimize switches, clearing a limit breach).
  absl::Duration hold = absl::Seconds(5);
};

// Rotation reports a manual active-backup rotation.
struct LinkRotation {
  LinkId from = kNoLink;
  LinkId to = kNoLink;
};

class BondPolicy {
 public:
  virtual ~BondPolicy() = default;

  // Refresh recomputes what Select needs from the LinkTable. Called after every change of link
  // state, quality or policy, and on every monitor tick.
  virtual void Refresh(absl::Time now) = 0;
  // Select returns the links to send one packet on (empty when no link is usable). Hot path: no
  // allocation, no locks.
  virtual LinkMask Select(const PacketMeta& packet, absl::Time now) = 0;
  // Maintain does periodic flow work (moving flows off links that break limits, rebalancing).
  virtual void Maintain(absl::Time /*now*/) {}
  // Bonded returns the links currently in the sending set (the `bonded` column).
  virtual LinkMask Bonded() const = 0;
  // TargetShare returns the share of traffic the policy intends `link` to carry (0..1).
  virtual double TargetShare(LinkId link) const = 0;
  // Active returns the active link of active-backup, kNoLink otherwise.
  virtual LinkId Active() const { return kNoLink; }
  // Rotate moves active-backup to the next link; other policies refuse.
  virtual absl::StatusOr<LinkRotation> Rotate(absl::Time now) = 0;
};

// RotateRefused is the error every policy but active-backup returns from Rotate.
absl::Status RotateRefused(const ResolvedPolicy& policy);

// CreateBondPolicy makes the policy for `links.policy->base`. `previous_active` lets a live policy
// update keep the active-backup link that is already carrying traffic.
std::unique_ptr<BondPolicy> CreateBondPolicy(const LinkTable& links, LinkId previous_active);

}  // namespace fleetbond::bond
