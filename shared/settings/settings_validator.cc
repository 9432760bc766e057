#include "shared/settings/settings_validator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "shared/settings/defaults.h"
#include "shared/settings/did_you_mean.h"
#include "shared/settings/parameter_rules.h"
#include "shared/settings/proto_enums.h"

namespace fleetbond::settings {
namespace {

template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [k, v] : map) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

class Validator {
 public:
  Validator(const v1::Settings& settings, const ValidationContext& context)
      : settings_(settings), context_(context) {}

  std::vector<Issue> Run() {
    for (const std::string& name : SortedKeys(settings_.policies())) {
      ValidatePolicy(name, settings_.policies().at(name));
    }
    ValidateReferences();
    return std::move(issues_);
  }

 private:
  void Fail(std::string path, std::string message) {
    issues_.push_back(Error(std::move(path), std::move(message)));
  }
  void Warn(std::string path, std::string message) {
    issues_.push_back(Warning(std::move(path), std::move(message)));
  }

  void ValidatePolicy(const std::string& name, const v1::Policy& p) {
    const std::string path = absl::StrCat("settings.policies.", name);
    if (name.empty()) Fail("settings.policies", "a policy name must not be empty");
    if (ParseBasePolicy(name)) {
      Fail(path, absl::StrCat("\"", name,
                              "\" is a standard policy name and cannot be redefined; give the "
                              "custom policy its own name (e.g. \"my-",
                              name, "\") and set \"basePolicy\": \"", name, "\""));
    }
    std::optional<BasePolicy> base;
    if (!p.has_base_policy()) {
      Fail(absl::StrCat(path, ".basePolicy"),
           absl::StrCat("missing: a custom policy must name the standard policy it customizes (",
                        QuotedList(StandardPolicyNames()), ")"));
    } else if (base = FromProto(p.base_policy()); !base) {
      Fail(absl::StrCat(path, ".basePolicy"),
           absl::StrCat("expected one of ", QuotedList(StandardPolicyNames())));
    }

    auto check_whole = [&](bool has, uint32_t value, const WholeRange& range, const char* key) {
      if (!has) return;
      if (auto problem = CheckWhole(range, value)) Fail(absl::StrCat(path, ".", key), *problem);
    };
    check_whole(p.has_failover_interval(), p.failover_interval(), kFailoverIntervalRange,
                "failoverInterval");
    check_whole(p.has_up_delay(), p.up_delay(), kDelayRange, "upDelay");
    check_whole(p.has_down_delay(), p.down_delay(), kDelayRange, "downDelay");
    check_whole(p.has_packets_per_link(), p.packets_per_link(), kPacketsPerLinkRange,
                "packetsPerLink");
    if (p.has_link_select_method() && !FromProto(p.link_select_method())) {
      Fail(absl::StrCat(path, ".linkSelectMethod"),
           absl::StrCat("expected one of ", QuotedList(LinkSelectMethodNames())));
    }

    if (base) {
      auto only_for = [&](bool has, const char* key) {
        if (has && OnlyBaseFor(key) != base) {
          Fail(absl::StrCat(path, ".", key), NotAParameterOf(key, *base));
        }
      };
      only_for(p.has_link_select_method(), "linkSelectMethod");
      only_for(p.has_packets_per_link(), "packetsPerLink");
      only_for(p.has_link_quality(), "linkQuality");
    }

    if (p.has_failover_interval() &&
        p.failover_interval() >= static_cast<uint32_t>(kFailoverIntervalRange.min) &&
        p.failover_interval() < defaults::kWarnFailoverIntervalBelowMs) {
      Warn(absl::StrCat(path, ".failoverInterval"),
           absl::StrCat(p.failover_interval(), " ms is below ",
                        defaults::kWarnFailoverIntervalBelowMs,
                        " ms: every link is probed more often the shorter the interval, which "
                        "costs bandwidth on every link; use ",
                        defaults::kWarnFailoverIntervalBelowMs,
                        " or more unless you need failover that fast"));
    }
    if (p.has_packets_per_link() && p.packets_per_link() == 0 && base == BasePolicy::kBalanceRr) {
      Warn(absl::StrCat(path, ".packetsPerLink"),
           absl::StrCat("0 sends every packet on a randomly chosen link, which the spec calls "
                        "inefficient; the default is ",
                        defaults::kPacketsPerLink));
    }
    if (p.has_link_quality()) ValidateLinkQuality(path, p.link_quality());
    ValidateLinks(name, path, base, p);
  }

  void ValidateLinkQuality(const std::string& policy_path, const v1::LinkQuality& q) {
    const std::string path = absl::StrCat(policy_path, ".linkQuality");
    struct Value {
      const char* key;
      bool has;
      double value;
    };
    const Value values[] = {
        {"lat_max", q.has_lat_max(), q.lat_max()},
        {"pdv_max", q.has_pdv_max(), q.pdv_max()},
        {"plr_max", q.has_plr_max(), q.plr_max()},
        {"per_max", q.has_per_max(), q.per_max()},
        {"lat_weight", q.has_lat_weight(), q.lat_weight()},
        {"pdv_weight", q.has_pdv_weight(), q.pdv_weight()},
        {"plr_weight", q.has_plr_weight(), q.plr_weight()},
        {"per_weight", q.has_per_weight(), q.per_weight()},
    };
    bool weights_ok = true;
    int given = 0;
    double sum = 0;
    for (int i = 0; i < 8; ++i) {
      const Value& v = values[i];
      if (!v.has) continue;
      if (auto problem = CheckLinkQuality(v.key, v.value)) {
        Fail(absl::StrCat(path, ".", v.key), *problem);
        if (i >= 4) weights_ok = false;
        continue;
      }
      if (i >= 4) {
        ++given;
        sum += v.value;
      }
    }
    if (!weights_ok || given == 0) return;
    if (given == 4 && std::fabs(sum - 1.0) > defaults::kWeightSumTolerance) {
      Fail(path, absl::StrCat("the weights sum to ", FormatNumber(sum),
                              "; lat_weight, pdv_weight, plr_weight and per_weight must sum to "
                              "1.0"));
    } else if (given < 4 && sum > 1.0 + defaults::kWeightSumTolerance) {
      Fail(path, absl::StrCat("the given weights sum to ", FormatNumber(sum),
                              ", more than 1.0; all four weights must sum to 1.0 (the ones left "
                              "out share what the given ones leave)"));
    }
  }

  void ValidateLinks(const std::string& name, const std::string& policy_path,
                     std::optional<BasePolicy> base, const v1::Policy& p) {
    if (p.links().empty()) return;
    const std::string links_path = absl::StrCat(policy_path, ".links");
    const std::vector<std::string> names = SortedKeys(p.links());
    const absl::string_view base_name = base ? BasePolicyName(*base) : "";
    std::optional<std::string> primary;
    int spares = 0;
    for (const std::string& ifname : names) {
      const v1::LinkSettings& link = p.links().at(ifname);
      const std::string path = absl::StrCat(links_path, ".", ifname);
      if (ifname.empty()) {
        Fail(links_path, "an interface name must not be empty");
      } else if (!IsValidInterfaceName(ifname)) {
        Fail(path, absl::StrCat("\"", ifname,
                                "\" is not an interface name: Linux names have 1 to 15 "
                                "characters and no \"/\" or white space, so no link would ever "
                                "match it"));
      }
      if (link.has_ipv_pref()) {
        if (auto problem = CheckIpvPref(link.ipv_pref())) {
          Fail(absl::StrCat(path, ".ipvPref"), *problem);
        }
      }
      if (link.has_capacity()) {
        if (auto problem = CheckWhole(kCapacityRange, link.capacity())) {
          Fail(absl::StrCat(path, ".capacity"), *problem);
        }
      }
      const std::string mode_path = absl::StrCat(path, ".mode");
      std::optional<LinkMode> mode;
      if (link.has_mode()) {
        mode = FromProto(link.mode());
        if (!mode) Fail(mode_path, absl::StrCat("expected ", QuotedList(LinkModeNames())));
      }
      if (mode == LinkMode::kSpare) ++spares;
      if (mode == LinkMode::kPrimary && base == BasePolicy::kActiveBackup) {
        if (primary) {
          Fail(mode_path, absl::StrCat("policy \"", name, "\" already has primary link \"",
                                       *primary, "\"; active-backup allows only one primary link"));
        } else {
          primary = ifname;
        }
      } else if (mode == LinkMode::kPrimary && base) {
        Warn(mode_path, absl::StrCat("\"primary\" has no effect in a ", base_name,
                                     " policy (only active-backup has a primary link); remove it"));
      }
      if (mode == LinkMode::kSpare && base == BasePolicy::kBroadcast) {
        Fail(mode_path,
             "broadcast sends on every link at once, so it has no spare links; remove "
             "\"mode\": \"spare\" (or use active-backup if this link should wait)");
      }
      if (link.has_failover_to()) {
        const std::string fpath = absl::StrCat(path, ".failoverTo");
        std::vector<std::string> others;
        for (const std::string& n : names) {
          if (n != ifname) others.push_back(n);
        }
        if (link.failover_to().empty()) {
          Fail(fpath, "expected a link name, got \"\"");
        } else if (!p.links().contains(link.failover_to())) {
          Fail(fpath, absl::StrCat("link \"", link.failover_to(), "\" is not defined in policy \"",
                                   name, "\"", DidYouMean(link.failover_to(), others)));
        } else if (base && base != BasePolicy::kActiveBackup) {
          Warn(fpath, absl::StrCat("failoverTo has no effect in a ", base_name,
                                   " policy (only active-backup follows failover chains); remove "
                                   "it"));
        }
      }
    }
    FindFailoverLoops(links_path, names, p);
    if (names.size() == 1) {
      Warn(links_path,
           absl::StrCat("policy \"", name, "\" lists only one link (\"", names[0],
                        "\"): every other interface is ignored, so the bond has nothing to fail "
                        "over or balance to"));
    } else if (spares == static_cast<int>(names.size()) && base && base != BasePolicy::kBroadcast) {
      Warn(links_path,
           absl::StrCat("every link of policy \"", name,
                        "\" is a spare, so none is preferred: a spare is meant to wait until "
                        "every other link is down; remove \"mode\": \"spare\" from the links that "
                        "should carry traffic normally"));
    }
  }

  // FindFailoverLoops reports each cycle of failoverTo once, at its alphabetically first link.
  void FindFailoverLoops(const std::string& links_path, const std::vector<std::string>& names,
                         const v1::Policy& p) {
    absl::flat_hash_set<std::string> done;
    for (const std::string& start : names) {
      std::vector<std::string> walk;
      absl::flat_hash_map<std::string, size_t> position;
      std::string at = start;
      bool loops = false;
      while (!done.contains(at)) {
        if (position.contains(at)) {
          loops = true;
          break;
        }
        position[at] = walk.size();
        walk.push_back(at);
        auto it = p.links().find(at);
        if (it == p.links().end() || !it->second.has_failover_to() ||
            !p.links().contains(it->second.failover_to())) {
          break;
        }
        at = it->second.failover_to();
      }
      if (loops) {
        std::vector<std::string> cycle(walk.begin() + position[at], walk.end());
        auto first = std::min_element(cycle.begin(), cycle.end());
        std::rotate(cycle.begin(), first, cycle.end());
        cycle.push_back(cycle.front());
        Fail(absl::StrCat(links_path, ".", cycle.front(), ".failoverTo"),
             absl::StrCat("failover chain loops: ", absl::StrJoin(cycle, " -> "),
                          "; end the chain at a link without failoverTo"));
      }
      for (const std::string& n : walk) done.insert(n);
    }
  }

  bool PolicyExists(const std::string& name) const {
    return ParseBasePolicy(name).has_value() || settings_.policies().contains(name);
  }

  void CheckReference(const std::string& path, const std::string& name) {
    if (name.empty()) {
      Fail(path, "expected a policy name, got \"\"");
      return;
    }
    if (PolicyExists(name)) return;
    if (std::find(context_.misplaced_policies.begin(), context_.misplaced_policies.end(), name) !=
        context_.misplaced_policies.end()) {
      Fail(path, absl::StrCat("policy \"", name,
                              "\" is not defined under settings.policies (it is written directly "
                              "under settings; move it into settings.policies)"));
      return;
    }
    std::vector<std::string> known = StandardPolicyNames();
    for (const std::string& n : SortedKeys(settings_.policies())) known.push_back(n);
    Fail(path, absl::StrCat("policy \"", name,
                            "\" is not defined; define it under settings.policies or use a "
                            "standard policy (",
                            QuotedList(StandardPolicyNames()), ")", DidYouMean(name, known)));
  }

  void ValidateReferences() {
    absl::flat_hash_set<std::string> used;
    if (settings_.has_default_bonding_policy()) {
      CheckReference("settings.defaultBondingPolicy", settings_.default_bonding_policy());
      used.insert(settings_.default_bonding_policy());
    }
    std::map<std::string, std::string> seen;  // lowercase id -> id as written
    for (const std::string& peer : SortedKeys(settings_.peer_specific_bonds())) {
      const std::string path = absl::StrCat("settings.peerSpecificBonds.", peer);
      const std::string& name = settings_.peer_specific_bonds().at(peer);
      if (!IsValidPeerId(peer)) {
        Fail(path, absl::StrCat("a peer id is 10 hex digits, e.g. \"f6203a2db3\"; got \"", peer,
                                "\" (", peer.size(), " characters)"));
      } else if (auto [it, inserted] = seen.emplace(absl::AsciiStrToLower(peer), peer); !inserted) {
        Fail(path, absl::StrCat("the same peer as \"", it->second,
                                "\" (peer ids ignore case); keep one entry"));
      }
      CheckReference(path, name);
      used.insert(name);
    }
    for (const std::string& name : SortedKeys(settings_.policies())) {
      if (!used.contains(name) && !ParseBasePolicy(name)) {
        Warn(absl::StrCat("settings.policies.", name),
             absl::StrCat("policy \"", name,
                          "\" is not used: neither defaultBondingPolicy nor any entry of "
                          "peerSpecificBonds names it"));
      }
    }
  }

  const v1::Settings& settings_;
  const ValidationContext& context_;
  std::vector<Issue> issues_;
};

}  // namespace

bool IsValidInterfaceName(absl::string_view name) {
  // IFNAMSIZ is 16 with the terminating NUL; the kernel refuses "/", white space, "." and "..".
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '\0';
  });
}

bool IsValidPeerId(absl::string_view peer_id) {
  return peer_id.size() == 10 && std::all_of(peer_id.begin(), peer_id.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

std::vector<Issue> ValidateSettings(const v1::Settings& settings,
                                    const ValidationContext& context) {
  return Validator(settings, context).Run();
}

}  // namespace fleetbond::settings
