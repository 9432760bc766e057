#include "shared/settings/effective_settings.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "shared/settings/policy_table.h"

namespace fleetbond::settings {
namespace {

// Written tells, for a key of PolicyToJson's output, whether the policy document wrote it.
bool PolicyWrites(const v1::Policy& w, const std::string& key) {
  if (key == "basePolicy") return w.has_base_policy();
  if (key == "failoverInterval") return w.has_failover_interval();
  if (key == "upDelay") return w.has_up_delay();
  if (key == "downDelay") return w.has_down_delay();
  if (key == "linkSelectMethod") return w.has_link_select_method();
  if (key == "packetsPerLink") return w.has_packets_per_link();
  return false;
}

bool QualityWrites(const v1::LinkQuality& q, const std::string& key) {
  if (key == "lat_max") return q.has_lat_max();
  if (key == "pdv_max") return q.has_pdv_max();
  if (key == "plr_max") return q.has_plr_max();
  if (key == "per_max") return q.has_per_max();
  if (key == "lat_weight") return q.has_lat_weight();
  if (key == "pdv_weight") return q.has_pdv_weight();
  if (key == "plr_weight") return q.has_plr_weight();
  if (key == "per_weight") return q.has_per_weight();
  return false;
}

bool LinkWrites(const v1::LinkSettings& l, const std::string& key) {
  if (key == "ipvPref") return l.has_ipv_pref();
  if (key == "capacity") return l.has_capacity();
  if (key == "failoverTo") return l.has_failover_to();
  if (key == "mode") return l.has_mode();
  return false;
}

}  // namespace

const char* SourceName(Source source) {
  switch (source) {
    case Source::kDefault:
      return "default";
    case Source::kLocalConf:
      return "local.conf";
    case Source::kController:
      return "controller";
  }
  return "default";
}

v1::SettingSource ToProto(Source source) {
  switch (source) {
    case Source::kDefault:
      return v1::SETTING_SOURCE_DEFAULT;
    case Source::kLocalConf:
      return v1::SETTING_SOURCE_LOCAL_CONF;
    case Source::kController:
      return v1::SETTING_SOURCE_CONTROLLER;
  }
  return v1::SETTING_SOURCE_UNSPECIFIED;
}

Source SourceMap::For(const std::string& path) const {
  Source source = fallback;
  size_t longest = 0;
  for (const auto& [prefix, s] : prefixes) {
    if (prefix.size() >= longest && path.compare(0, prefix.size(), prefix) == 0) {
      longest = prefix.size();
      source = s;
    }
  }
  return source;
}

std::vector<EffectiveValue> EffectiveSettings(const v1::Settings& written,
                                              const PolicyResolver& resolver,
                                              Source written_source) {
  return EffectiveSettings(written, resolver, SourceMap{.fallback = written_source});
}

std::vector<EffectiveValue> EffectiveSettings(const v1::Settings& written,
                                              const PolicyResolver& resolver,
                                              const SourceMap& sources) {
  std::vector<EffectiveValue> out;
  auto add = [&](std::string path, const nlohmann::json& value, bool was_written) {
    const Source source = was_written ? sources.For(path) : Source::kDefault;
    out.push_back({std::move(path), value.dump(), source});
  };
  add("settings.defaultBondingPolicy",
      resolver.default_policy() ? nlohmann::json(*resolver.default_policy())
                                : nlohmann::json(nullptr),
      written.has_default_bonding_policy());
  for (const auto& [peer, name] : resolver.peer_specific_bonds()) {
    add(absl::StrCat("settings.peerSpecificBonds.", peer), name, true);
  }
  for (const ResolvedPolicy& p : resolver.policies()) {
    auto it = written.policies().find(p.name);
    const v1::Policy* w = it == written.policies().end() ? nullptr : &it->second;
    const std::string base = absl::StrCat("settings.policies.", p.name, ".");
    const nlohmann::json j = PolicyToJson(p);
    for (const char* k : {"basePolicy", "failoverInterval", "upDelay", "downDelay",
                          "linkSelectMethod", "packetsPerLink", "linkQuality"}) {
      const std::string key = k;
      if (!j.contains(key)) continue;
      const nlohmann::json& value = j[key];
      if (key == "linkQuality") {
        for (const char* q : {"lat_max", "pdv_max", "plr_max", "per_max", "lat_weight",
                              "pdv_weight", "plr_weight", "per_weight"}) {
          const std::string qk = q;
          add(absl::StrCat(base, "linkQuality.", qk), value[qk],
              w != nullptr && w->has_link_quality() && QualityWrites(w->link_quality(), qk));
        }
        continue;
      }
      add(base + key, value, w != nullptr && PolicyWrites(*w, key));
    }
    for (const nlohmann::json& link : j["links"]) {
      const std::string name = link["name"].get<std::string>();
      const v1::LinkSettings* wl = nullptr;
      if (w != nullptr) {
        auto l = w->links().find(name);
        if (l != w->links().end()) wl = &l->second;
      }
      for (const char* k : {"ipvPref", "capacity", "failoverTo", "mode"}) {
        const std::string key = k;
        add(absl::StrCat(base, "links.", name, ".", key), link[key],
            wl != nullptr && LinkWrites(*wl, key));
      }
    }
  }
  return out;
}

}  // namespace fleetbond::settings
