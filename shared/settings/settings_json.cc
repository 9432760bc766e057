#include "shared/settings/settings_json.h"

#include <string>

#include "shared/settings/policy.h"
#include "shared/settings/proto_enums.h"

namespace fleetbond::settings {
namespace {

nlohmann::json LinkToJson(const v1::LinkSettings& l) {
  nlohmann::json j = nlohmann::json::object();
  if (l.has_ipv_pref()) j["ipvPref"] = l.ipv_pref();
  if (l.has_capacity()) j["capacity"] = l.capacity();
  if (l.has_failover_to()) j["failoverTo"] = l.failover_to();
  if (l.has_mode()) {
    if (std::optional<LinkMode> m = FromProto(l.mode())) j["mode"] = std::string(LinkModeName(*m));
  }
  return j;
}

nlohmann::json PolicyToLocalConf(const v1::Policy& p) {
  nlohmann::json j = nlohmann::json::object();
  if (p.has_base_policy()) {
    if (std::optional<BasePolicy> b = FromProto(p.base_policy())) {
      j["basePolicy"] = std::string(BasePolicyName(*b));
    }
  }
  if (p.has_failover_interval()) j["failoverInterval"] = p.failover_interval();
  if (p.has_up_delay()) j["upDelay"] = p.up_delay();
  if (p.has_down_delay()) j["downDelay"] = p.down_delay();
  if (p.has_link_select_method()) {
    if (std::optional<LinkSelectMethod> m = FromProto(p.link_select_method())) {
      j["linkSelectMethod"] = std::string(LinkSelectMethodName(*m));
    }
  }
  if (p.has_packets_per_link()) j["packetsPerLink"] = p.packets_per_link();
  if (p.has_link_quality()) {
    const v1::LinkQuality& q = p.link_quality();
    nlohmann::json lq = nlohmann::json::object();
    if (q.has_lat_max()) lq["lat_max"] = q.lat_max();
    if (q.has_pdv_max()) lq["pdv_max"] = q.pdv_max();
    if (q.has_plr_max()) lq["plr_max"] = q.plr_max();
    if (q.has_per_max()) lq["per_max"] = q.per_max();
    if (q.has_lat_weight()) lq["lat_weight"] = q.lat_weight();
    if (q.has_pdv_weight()) lq["pdv_weight"] = q.pdv_weight();
    if (q.has_plr_weight()) lq["plr_weight"] = q.plr_weight();
    if (q.has_per_weight()) lq["per_weight"] = q.per_weight();
    j["linkQuality"] = std::move(lq);
  }
  if (!p.links().empty()) {
    nlohmann::json links = nlohmann::json::object();
    for (const auto& [name, link] : p.links()) links[name] = LinkToJson(link);
    j["links"] = std::move(links);
  }
  return j;
}

}  // namespace

nlohmann::json SettingsToJson(const v1::Settings& s) {
  nlohmann::json j = nlohmann::json::object();
  if (s.has_default_bonding_policy()) j["defaultBondingPolicy"] = s.default_bonding_policy();
  if (!s.policies().empty()) {
    nlohmann::json policies = nlohmann::json::object();
    for (const auto& [name, policy] : s.policies()) policies[name] = PolicyToLocalConf(policy);
    j["policies"] = std::move(policies);
  }
  if (!s.peer_specific_bonds().empty()) {
    nlohmann::json bonds = nlohmann::json::object();
    for (const auto& [peer, name] : s.peer_specific_bonds()) bonds[peer] = name;
    j["peerSpecificBonds"] = std::move(bonds);
  }
  return j;
}

}  // namespace fleetbond::settings
