#include "shared/settings/policy_resolver.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/settings/defaults.h"
#include "shared/settings/proto_enums.h"
#include "shared/settings/settings_validator.h"

namespace fleetbond::settings {
namespace {

// ResolveLinkQuality overlays the given limits on the defaults. When no weight is given the
// defaults' equal weights stand; otherwise the weights left out share what the given ones
// leave of 1.0, equally.
LinkQualitySpec ResolveLinkQuality(LinkQualitySpec q, const v1::LinkQuality& p) {
  if (p.has_lat_max()) q.lat_max_ms = p.lat_max();
  if (p.has_pdv_max()) q.pdv_max_ms = p.pdv_max();
  if (p.has_plr_max()) q.plr_max = p.plr_max();
  if (p.has_per_max()) q.per_max = p.per_max();
  struct Weight {
    bool has;
    double given;
    double* out;
  };
  Weight weights[] = {{p.has_lat_weight(), p.lat_weight(), &q.lat_weight},
                      {p.has_pdv_weight(), p.pdv_weight(), &q.pdv_weight},
                      {p.has_plr_weight(), p.plr_weight(), &q.plr_weight},
                      {p.has_per_weight(), p.per_weight(), &q.per_weight}};
  int given = 0;
  double sum = 0;
  for (const Weight& w : weights) {
    if (w.has) {
      ++given;
      sum += w.given;
    }
  }
  if (given == 0) return q;
  const double share = given == 4 ? 0 : std::max(0.0, 1.0 - sum) / (4 - given);
  for (Weight& w : weights) *w.out = w.has ? w.given : share;
  return q;
}

}  // namespace

bool GivesFailoverGuidance(const v1::Policy& policy) {
  return std::any_of(policy.links().begin(), policy.links().end(), [](const auto& entry) {
    return entry.second.has_failover_to() || entry.second.mode() == v1::LINK_MODE_PRIMARY;
  });
}

absl::StatusOr<ResolvedPolicy> ResolvePolicy(const v1::Settings& settings, absl::string_view name) {
  auto it = settings.policies().find(std::string(name));
  if (it == settings.policies().end()) {
    if (std::optional<BasePolicy> base = ParseBasePolicy(name)) return DefaultPolicy(*base);
    return absl::NotFoundError(absl::StrCat("policy \"", name, "\" is not defined"));
  }
  const v1::Policy& p = it->second;
  std::optional<BasePolicy> base = FromProto(p.base_policy());
  if (!base) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy \"", name, "\" has no valid basePolicy"));
  }
  ResolvedPolicy r = DefaultPolicy(*base);
  r.name = std::string(name);
  if (p.has_failover_interval()) r.failover_interval = absl::Milliseconds(p.failover_interval());
  if (p.has_up_delay()) r.up_delay = absl::Milliseconds(p.up_delay());
  if (p.has_down_delay()) r.down_delay = absl::Milliseconds(p.down_delay());
  if (*base == BasePolicy::kActiveBackup && GivesFailoverGuidance(p)) {
    r.link_select_method = LinkSelectMethod::kAlways;
  }
  if (p.has_link_select_method()) {
    if (auto m = FromProto(p.link_select_method())) r.link_select_method = *m;
  }
  if (p.has_packets_per_link()) r.packets_per_link = p.packets_per_link();
  if (p.has_link_quality()) r.link_quality = ResolveLinkQuality(r.link_quality, p.link_quality());
  std::vector<std::string> names;
  for (const auto& [ifname, link] : p.links()) names.push_back(ifname);
  std::sort(names.begin(), names.end());
  for (const std::string& ifname : names) {
    const v1::LinkSettings& l = p.links().at(ifname);
    LinkPolicy link;
    link.name = ifname;
    if (l.has_ipv_pref()) link.ipv_pref = ParseIpvPref(l.ipv_pref()).value_or(IpvPref::kAny);
    if (l.has_capacity()) link.capacity = l.capacity();
    link.failover_to = l.failover_to();
    link.mode = FromProto(l.mode()).value_or(LinkMode::kNone);
    r.links.push_back(std::move(link));
  }
  return r;
}

absl::StatusOr<PolicyResolver> PolicyResolver::Create(const v1::Settings& settings) {
  std::vector<std::string> errors;
  for (const Issue& issue : ValidateSettings(settings)) {
    if (issue.severity == Severity::kError) {
      errors.push_back(absl::StrCat(issue.path, ": ", issue.message));
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("settings are not valid: ", absl::StrJoin(errors, "; ")));
  }
  PolicyResolver r;
  if (settings.has_default_bonding_policy()) {
    r.default_policy_ = settings.default_bonding_policy();
  }
  for (const auto& [peer, name] : settings.peer_specific_bonds()) {
    r.peer_bonds_[absl::AsciiStrToLower(peer)] = name;
  }
  std::set<std::string> names;
  for (const auto& [name, policy] : settings.policies()) names.insert(name);
  if (r.default_policy_) names.insert(*r.default_policy_);
  for (const auto& [peer, name] : r.peer_bonds_) names.insert(name);
  for (const std::string& name : names) {
    absl::StatusOr<ResolvedPolicy> p = ResolvePolicy(settings, name);
    if (!p.ok()) return p.status();
    r.policies_.push_back(*std::move(p));
  }
  for (BasePolicy base : kStandardPolicies) r.standard_.push_back(DefaultPolicy(base));
  r.written_.insert(settings.policies().begin(), settings.policies().end());
  return r;
}

std::optional<ResolvedPolicy> PolicyResolver::ForPeer(absl::string_view peer_id) const {
  auto it = peer_bonds_.find(absl::AsciiStrToLower(peer_id));
  const std::optional<std::string>& name =
      it != peer_bonds_.end() ? std::optional<std::string>(it->second) : default_policy_;
  if (!name) return std::nullopt;
  const ResolvedPolicy* p = Find(*name);
  if (p == nullptr) return std::nullopt;  // cannot happen: Create checked every reference
  return *p;
}

const ResolvedPolicy* PolicyResolver::Find(absl::string_view name) const {
  for (const auto* list : {&policies_, &standard_}) {
    for (const ResolvedPolicy& p : *list) {
      if (p.name == name) return &p;
    }
  }
  return nullptr;
}

}  // namespace fleetbond::settings

namespace fleetbond::settings {

const v1::Policy* PolicyResolver::Written(absl::string_view name) const {
  auto it = written_.find(std::string(name));
  return it == written_.end() ? nullptr : &it->second;
}

}  // namespace fleetbond::settings
