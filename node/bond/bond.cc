#include "node/bond/bond.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace fleetbond::bond {
namespace {

uint64_t SeedFrom(const std::optional<uint64_t>& seed) {
  if (seed) return *seed;
  absl::BitGen gen;
  return absl::Uniform<uint64_t>(gen);
}

// FamilyRank orders a link's paths by its ipvPref (lower first); -1 excludes the path.
int FamilyRank(IpvPref pref, IpFamily family) {
  switch (pref) {
    case IpvPref::kAny:
      return 0;
    case IpvPref::kOnly4:
      return family == IpFamily::kV4 ? 0 : -1;
    case IpvPref::kOnly6:
      return family == IpFamily::kV6 ? 0 : -1;
    case IpvPref::kPrefer4:
      return family == IpFamily::kV4 ? 0 : 1;
    case IpvPref::kPrefer6:
      return family == IpFamily::kV6 ? 0 : 1;
  }
  return 0;
}

}  // namespace

Bond::Bond(std::string peer, ResolvedPolicy policy, Clock& clock)
    : Bond(std::move(peer), std::move(policy), clock, Options()) {}

Bond::Bond(std::string peer, ResolvedPolicy policy, Clock& clock, Options options)
    : peer_(std::move(peer)),
      policy_(std::move(policy)),
      clock_(clock),
      options_(options),
      rng_(SeedFrom(options.seed)),
      flows_(FlowTable::Options{.max_flows = options.max_flows,
                                .idle_timeout = options.flow_idle_timeout}),
      alloc_(options.allocation_window, clock.Now()),
      next_maintenance_(clock.Now()) {
  link_path_.fill(kNoPath);
  table_.policy = &policy_;
  table_.flows = &flows_;
  table_.rng = &rng_;
  table_.hold = policy_.failover_interval;
  ApplyPolicyToLinks();
  UpdateLinkTable(clock_.Now(), false);
  strategy_ = CreateBondPolicy(table_, kNoLink);
  Refresh(clock_.Now(), false);
}

PathMonitor::Config Bond::MonitorConfig() const {
  return PathMonitor::Config{.failover_interval = policy_.failover_interval,
                             .up_delay = policy_.up_delay,
                             .down_delay = policy_.down_delay,
                             .window = options_.sample_window};
}

LinkId Bond::FindLink(absl::string_view name) const {
  for (LinkId l = 0; l < table_.link_count; ++l) {
    if (table_.links[l].name == name) return l;
  }
  return kNoLink;
}

absl::StatusOr<LinkId> Bond::FindOrAddLink(absl::string_view name) {
  LinkId l = FindLink(name);
  if (l != kNoLink) return l;
  if (table_.link_count >= kMaxLinks) {
    return absl::ResourceExhaustedError(
        absl::StrCat("bond ", peer_, " already has ", kMaxLinks,
                     " links, the most a bond can hold; cannot add ", name));
  }
  l = table_.link_count++;
  table_.links[l] = LinkInfo{};
  table_.links[l].name = std::string(name);
  table_.links[l].order = 1000 + l;
  link_records_[l] = LinkRecord{};
  return l;
}

void Bond::ApplyPolicyToLinks() {
  // Every link the policy lists exists, with or without paths, so failoverTo can name it.
  for (const LinkPolicy& lp : policy_.links) {
    if (!FindOrAddLink(lp.name).ok()) break;
  }
  for (LinkId l = 0; l < table_.link_count; ++l) {
    LinkInfo& info = table_.links[l];
    const LinkPolicy* lp = policy_.FindLink(info.name);
    LinkRecord& rec = link_records_[l];
    rec.listed = lp != nullptr || (policy_.links.empty() && !rec.paths.empty());
    info.mode = lp ? lp->mode : LinkMode::kNone;
    info.capacity = lp ? lp->capacity : std::nullopt;
    info.failover_to = lp && !lp->failover_to.empty() ? FindLink(lp->failover_to) : kNoLink;
    info.order = 1000 + l;
    if (lp) info.order = static_cast<uint32_t>(lp - policy_.links.data());
    const IpvPref pref = lp ? lp->ipv_pref : IpvPref::kAny;
    for (PathId p : rec.paths) {
      PathRecord& path = paths_[p];
      path.allowed = policy_.UsesInterface(info.name) && FamilyRank(pref, path.spec.family) >= 0;
    }
    SortLinkPaths(l);
  }
}

void Bond::SortLinkPaths(LinkId link) {
  const LinkPolicy* lp = policy_.FindLink(table_.links[link].name);
  const IpvPref pref = lp ? lp->ipv_pref : IpvPref::kAny;
  std::vector<PathId>& ps = link_records_[link].paths;
  std::stable_sort(ps.begin(), ps.end(), [&](PathId a, PathId b) {
    int ra = FamilyRank(pref, paths_[a].spec.family);
    int rb = FamilyRank(pref, paths_[b].spec.family);
    if (ra != rb) return ra < rb;
    return a < b;
  });
}

absl::StatusOr<PathId> Bond::AddPath(PathSpec spec) {
  for (PathId p = 0; p < kMaxPaths; ++p) {
    const PathRecord& r = paths_[p];
    if (r.in_use && r.spec.link == spec.link && r.spec.local == spec.local &&
        r.spec.remote == spec.remote) {
      return absl::AlreadyExistsError(
          absl::StrCat("bond ", peer_, " already has path ", p, " (", Describe(p), ")"));
    }
  }
  PathId id = kNoPath;
  for (PathId p = 0; p < kMaxPaths; ++p) {
    if (!paths_[p].in_use) {
      id = p;
      break;
    }
  }
  if (id == kNoPath) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "bond ", peer_, " already has ", kMaxPaths, " paths, the most a bond can hold; cannot add ",
        spec.link, "/", spec.local, " -> ", spec.remote));
  }
  absl::StatusOr<LinkId> link = FindOrAddLink(spec.link);
  if (!link.ok()) return link.status();
  const absl::Time now = clock_.Now();
  PathRecord& r = paths_[id];
  r.in_use = true;
  r.spec = std::move(spec);
  r.link = *link;
  r.monitor.emplace(MonitorConfig(), now);
  if (!link_records_[*link].carrier) r.monitor->SetCarrier(false, now);
  tx_[id] = TxCounters{};
  link_records_[*link].paths.push_back(id);
  ApplyPolicyToLinks();
  Refresh(now, false);
  return id;
}

absl::Status Bond::RemovePath(PathId path) {
  if (path >= kMaxPaths || !paths_[path].in_use) {
    return absl::NotFoundError(absl::StrCat("bond ", peer_, " has no path ", path));
  }
  PathRecord& r = paths_[path];
  std::vector<PathId>& ps = link_records_[r.link].paths;
  ps.erase(std::remove(ps.begin(), ps.end(), path), ps.end());
  r = PathRecord{};
  ApplyPolicyToLinks();
  Refresh(clock_.Now(), false);
  return absl::OkStatus();
}

void Bond::SetCarrier(absl::string_view link, bool up) {
  LinkId l = FindLink(link);
  if (l == kNoLink) return;
  const absl::Time now = clock_.Now();
  link_records_[l].carrier = up;
  for (PathId p : link_records_[l].paths) {
    paths_[p].monitor->SetCarrier(up, now);
    paths_[p].monitor->Update(now);
  }
  Refresh(now, false);
}

TickResult Bond::Tick() {
  const absl::Time now = clock_.Now();
  TickResult result;
  for (PathId p = 0; p < kMaxPaths; ++p) {
    PathRecord& r = paths_[p];
    if (!r.in_use) continue;
    if (r.allowed && r.monitor->carrier() && r.monitor->ProbeDue(now)) {
      result.probes.push_back(Probe{.path = p, .seq = r.monitor->StartProbe(now), .sent_at = now});
    }
    r.monitor->Update(now);
  }
  Refresh(now, true);
  if (now >= next_maintenance_) {
    flows_.ExpireIdle(now);
    strategy_->Maintain(now);
    next_maintenance_ = now + options_.maintenance_interval;
  }
  alloc_.Roll(now);
  result.next_tick = now + tick_interval();
  return result;
}

bool Bond::OnProbeReply(PathId path, uint32_t seq) {
  if (path >= kMaxPaths || !paths_[path].in_use) return false;
  const absl::Time now = clock_.Now();
  PathMonitor& m = *paths_[path].monitor;
  if (!m.OnProbeReply(seq, now)) return false;
  if (!m.usable() && m.Update(now)) Refresh(now, false);
  return true;
}

void Bond::OnReceive(PathId path, uint32_t bytes) {
  if (path >= kMaxPaths || !paths_[path].in_use) return;
  const absl::Time now = clock_.Now();
  PathMonitor& m = *paths_[path].monitor;
  m.OnReceive(now, bytes);
  if (!m.usable() && m.Update(now)) Refresh(now, false);
}

void Bond::OnBadPacket(PathId path) {
  if (path >= kMaxPaths || !paths_[path].in_use) return;
  paths_[path].monitor->OnBadPacket();
}

void Bond::UpdateLinkTable(absl::Time now, bool quality_tick) {
  LinkMask usable = 0;
  LinkMask spares = 0;
  for (LinkId l = 0; l < table_.link_count; ++l) {
    LinkInfo& info = table_.links[l];
    LinkRecord& rec = link_records_[l];
    PathId chosen = kNoPath;
    PathId shown = kNoPath;
    if (rec.listed) {
      for (PathId p : rec.paths) {
        if (!paths_[p].allowed) continue;
        if (shown == kNoPath) shown = p;
        if (paths_[p].monitor->usable()) {
          chosen = p;
          break;
        }
      }
    }
    link_path_[l] = chosen;
    info.usable = chosen != kNoPath;
    const PathId measured = chosen != kNoPath ? chosen : shown;
    info.metrics = measured != kNoPath ? paths_[measured].monitor->metrics() : PathMetrics{};
    info.score = QualityScore(info.metrics, policy_.link_quality);
    if (quality_tick) {
      rec.limits.Update(info.metrics, policy_.link_quality, now, table_.hold);
    }
    info.breaking = rec.limits.breaking();
    if (info.usable) usable |= Bit(l);
    if (info.mode == LinkMode::kSpare) spares |= Bit(l);
  }
  table_.usable = usable;
  table_.sendable = (usable & ~spares) != 0 ? (usable & ~spares) : (usable & spares);
}

void Bond::Refresh(absl::Time now, bool quality_tick) {
  UpdateLinkTable(now, quality_tick);
  strategy_->Refresh(now);
  const LinkMask bonded = strategy_->Bonded();
  // A failover: a link that was carrying traffic is no longer usable.
  failovers_ += std::popcount(bonded_ & ~table_.usable);
  bonded_ = bonded;
}

absl::StatusOr<Rotation> Bond::Rotate() {
  const absl::Time now = clock_.Now();
  absl::StatusOr<LinkRotation> r = strategy_->Rotate(now);
  if (!r.ok()) return r.status();
  bonded_ = strategy_->Bonded();
  Rotation out;
  out.from = link_path_[r->from];
  out.to = link_path_[r->to];
  out.from_description = Describe(out.from);
  out.to_description = Describe(out.to);
  return out;
}

void Bond::UpdatePolicy(ResolvedPolicy policy) {
  const absl::Time now = clock_.Now();
  const LinkId previous_active = strategy_->Active();
  auto keeps_flows = [](BasePolicy b) {
    return b == BasePolicy::kBalanceXor || b == BasePolicy::kBalanceAware;
  };
  if (!keeps_flows(policy.base)) flows_.Clear();
  policy_ = std::move(policy);
  table_.hold = policy_.failover_interval;
  alloc_.SetWindow(options_.allocation_window);
  for (PathRecord& r : paths_) {
    if (r.in_use) r.monitor->Reconfigure(MonitorConfig());
  }
  ApplyPolicyToLinks();
  // The new policy starts from the link table as the new link settings make it.
  UpdateLinkTable(now, false);
  strategy_ = CreateBondPolicy(table_, previous_active);
  Refresh(now, false);
}

PathId Bond::active_path() const {
  LinkId l = strategy_->Active();
  return l == kNoLink ? kNoPath : link_path_[l];
}

LinkId Bond::LinkOf(PathId path) const {
  return path < kMaxPaths && paths_[path].in_use ? paths_[path].link : kNoLink;
}

std::string Bond::Describe(PathId path) const {
  if (path >= kMaxPaths || !paths_[path].in_use) return "none";
  const PathSpec& s = paths_[path].spec;
  return absl::StrCat(s.link, "/", s.local, " -> ", s.remote);
}

BondSnapshot Bond::Snapshot() const {
  const absl::Time now = clock_.Now();
  BondSnapshot s;
  s.peer = peer_;
  s.policy_name = policy_.name;
  s.base = policy_.base;
  s.link_select_method = policy_.link_select_method;
  s.failover_interval = policy_.failover_interval;
  s.up_delay = policy_.up_delay;
  s.down_delay = policy_.down_delay;
  s.probe_interval = probe_interval();
  s.packets_per_link = policy_.packets_per_link;
  for (LinkId l = 0; l < table_.link_count; ++l) {
    if (!link_records_[l].listed) continue;
    ++s.total_links;
    if (table_.usable & Bit(l)) ++s.usable_links;
  }
  s.active_path = active_path();
  s.failovers = failovers_;
  s.flows = flows_.size();
  s.flow_evictions = flows_.evictions();
  const LinkMask bonded = strategy_->Bonded();
  for (PathId p = 0; p < kMaxPaths; ++p) {
    const PathRecord& r = paths_[p];
    if (!r.in_use) continue;
    const PathMonitor& m = *r.monitor;
    const bool sends = link_path_[r.link] == p;
    PathSnapshot row;
    row.id = p;
    row.spec = r.spec;
    row.state = m.state();
    row.carrier = m.carrier();
    row.metrics = m.metrics();
    row.speed = table_.links[r.link].capacity;
    row.alloc = sends ? alloc_.Share(r.link) : 0.0;
    row.target = sends ? strategy_->TargetShare(r.link) : 0.0;
    row.rx_age = m.rx_age(now);
    row.tx_age =
        std::min(m.tx_age(now), tx_[p].last == absl::InfinitePast() ? absl::InfiniteDuration()
                                                                    : now - tx_[p].last);
    row.eligible = r.allowed && link_records_[r.link].listed && m.usable();
    row.bonded = sends && (bonded & Bit(r.link)) != 0;
    row.breaking = table_.links[r.link].breaking;
    row.flows = sends ? flows_.CountOnPath(r.link) : 0;
    row.tx_packets = tx_[p].packets;
    row.tx_bytes = tx_[p].bytes;
    row.rx_packets = m.rx_packets();
    row.rx_bytes = m.rx_bytes();
    row.bad_packets = m.bad_packets();
    row.probes_sent = m.probes_sent();
    s.paths.push_back(std::move(row));
  }
  return s;
}

}  // namespace fleetbond::bond
