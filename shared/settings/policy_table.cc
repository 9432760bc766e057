#include "shared/settings/policy_table.h"

#include "absl/strings/str_cat.h"
#include "shared/settings/parameter_rules.h"
#include "shared/text_table.h"

namespace fleetbond::settings {
namespace {

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

}  // namespace

std::string RenderPolicyText(const ResolvedPolicy& p, const v1::Policy* written) {
  const v1::Policy none;
  const v1::Policy& w = written != nullptr ? *written : none;
  auto mark = [](bool has) { return has ? "" : " (default)"; };
  KeyValueList kv;
  kv.Add("Policy", p.name);
  kv.Add("Base", std::string(BasePolicyName(p.base)));
  kv.Add("Failover Interval (ms)",
         absl::StrCat(Ms(p.failover_interval), mark(w.has_failover_interval())));
  kv.Add("Up Delay (ms)", absl::StrCat(Ms(p.up_delay), mark(w.has_up_delay())));
  kv.Add("Down Delay (ms)", absl::StrCat(Ms(p.down_delay), mark(w.has_down_delay())));
  if (p.base == BasePolicy::kActiveBackup) {
    const char* why = w.has_link_select_method() ? ""
                      : GivesFailoverGuidance(w)
                          ? " (default when links name a primary or a failoverTo)"
                          : " (default without failover guidance)";
    kv.Add("Link Select Method", absl::StrCat(LinkSelectMethodName(p.link_select_method), why));
  }
  if (p.base == BasePolicy::kBalanceRr) {
    kv.Add("Packets Per Link", absl::StrCat(p.packets_per_link, mark(w.has_packets_per_link())));
  }
  if (p.base == BasePolicy::kBalanceAware) {
    const LinkQualitySpec& q = p.link_quality;
    const v1::LinkQuality& wq = w.link_quality();
    kv.Add("Latency Max (ms)", absl::StrCat(FormatNumber(q.lat_max_ms), mark(wq.has_lat_max())));
    kv.Add("PDV Max (ms)", absl::StrCat(FormatNumber(q.pdv_max_ms), mark(wq.has_pdv_max())));
    kv.Add("Loss Ratio Max", absl::StrCat(FormatNumber(q.plr_max), mark(wq.has_plr_max())));
    kv.Add("Error Ratio Max", absl::StrCat(FormatNumber(q.per_max), mark(wq.has_per_max())));
    const int given =
        wq.has_lat_weight() + wq.has_pdv_weight() + wq.has_plr_weight() + wq.has_per_weight();
    kv.Add("Weights lat/pdv/plr/per",
           absl::StrCat(FormatNumber(q.lat_weight), " / ", FormatNumber(q.pdv_weight), " / ",
                        FormatNumber(q.plr_weight), " / ", FormatNumber(q.per_weight),
                        given == 4   ? ""
                        : given == 0 ? " (default)"
                                     : " (unwritten weights share the rest)"));
  }
  kv.Add("Links", p.links.empty() ? "all interfaces" : absl::StrCat(p.links.size()));
  std::string out = kv.Render();
  if (!p.links.empty()) {
    TextTable t({"link", "ipvPref", "capacity", "failoverTo", "mode"});
    for (const LinkPolicy& l : p.links) {
      t.AddRow({l.name, absl::StrCat(static_cast<int>(l.ipv_pref)),
                l.capacity ? absl::StrCat(*l.capacity) : "-",
                l.failover_to.empty() ? "-" : l.failover_to,
                l.mode == LinkMode::kNone ? "-" : std::string(LinkModeName(l.mode))});
    }
    out += "\n" + t.Render();
  }
  return out;
}

std::string RenderPolicyTableText(const PolicyResolver& resolver) {
  KeyValueList head;
  head.Add("Default Policy", resolver.default_policy()
                                 ? *resolver.default_policy()
                                 : "none (peers without a specific bond use a single path)");
  if (resolver.peer_specific_bonds().empty()) {
    head.Add("Peer-Specific Bonds", "none");
  } else {
    bool first = true;
    for (const auto& [peer, name] : resolver.peer_specific_bonds()) {
      head.Add(first ? "Peer-Specific Bonds" : "", absl::StrCat(peer, " -> ", name));
      first = false;
    }
  }
  std::string out = head.Render();
  for (const ResolvedPolicy& p : resolver.policies()) {
    out += "\n" + RenderPolicyText(p, resolver.Written(p.name));
  }
  return out;
}

nlohmann::json PolicyToJson(const ResolvedPolicy& p) {
  nlohmann::json j = {
      {"name", p.name},
      {"basePolicy", std::string(BasePolicyName(p.base))},
      {"failoverInterval", absl::ToInt64Milliseconds(p.failover_interval)},
      {"upDelay", absl::ToInt64Milliseconds(p.up_delay)},
      {"downDelay", absl::ToInt64Milliseconds(p.down_delay)},
  };
  if (p.base == BasePolicy::kActiveBackup) {
    j["linkSelectMethod"] = std::string(LinkSelectMethodName(p.link_select_method));
  }
  if (p.base == BasePolicy::kBalanceRr) j["packetsPerLink"] = p.packets_per_link;
  if (p.base == BasePolicy::kBalanceAware) {
    const LinkQualitySpec& q = p.link_quality;
    j["linkQuality"] = {{"lat_max", q.lat_max_ms},    {"pdv_max", q.pdv_max_ms},
                        {"plr_max", q.plr_max},       {"per_max", q.per_max},
                        {"lat_weight", q.lat_weight}, {"pdv_weight", q.pdv_weight},
                        {"plr_weight", q.plr_weight}, {"per_weight", q.per_weight}};
  }
  nlohmann::json links = nlohmann::json::array();
  for (const LinkPolicy& l : p.links) {
    nlohmann::json link = {{"name", l.name}, {"ipvPref", static_cast<int>(l.ipv_pref)}};
    link["capacity"] = l.capacity ? nlohmann::json(*l.capacity) : nlohmann::json(nullptr);
    link["failoverTo"] =
        l.failover_to.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.failover_to);
    link["mode"] = l.mode == LinkMode::kNone ? nlohmann::json(nullptr)
                                             : nlohmann::json(std::string(LinkModeName(l.mode)));
    links.push_back(std::move(link));
  }
  j["links"] = std::move(links);
  return j;
}

nlohmann::json PolicyTableJson(const PolicyResolver& resolver) {
  nlohmann::json j;
  j["defaultBondingPolicy"] = resolver.default_policy() ? nlohmann::json(*resolver.default_policy())
                                                        : nlohmann::json(nullptr);
  j["peerSpecificBonds"] = nlohmann::json::object();
  for (const auto& [peer, name] : resolver.peer_specific_bonds()) {
    j["peerSpecificBonds"][peer] = name;
  }
  j["policies"] = nlohmann::json::array();
  for (const ResolvedPolicy& p : resolver.policies()) j["policies"].push_back(PolicyToJson(p));
  return j;
}

}  // namespace fleetbond::settings
