// policy_table.h
//
// The effective policy table: every resolved policy with all of its parameters and links, the
// default policy and the peer-specific bonds, as text (for people) and as JSON (for scripts).
// check-config prints it; the node API and the CLI reuse it.
//
// Example:
//   std::cout << RenderPolicyTableText(resolver);
//   nlohmann::json j = PolicyTableJson(resolver);  // {"defaultBondingPolicy": ..., "policies":
//   [...]}
#pragma once

#include <string>

#include "nlohmann/json.hpp"
#include "shared/settings/policy.h"
#include "shared/settings/policy_resolver.h"

namespace fleetbond::settings {

// RenderPolicyText renders one policy: its parameters as "Key : value" lines (only those its
// base policy takes), then its links as a table, or "all interfaces" when it lists none. With
// `written` (the policy as the settings wrote it), values it does not write are marked
// "(default)"; without it, every value is a default (a standard policy).
std::string RenderPolicyText(const ResolvedPolicy& policy, const v1::Policy* written = nullptr);

// RenderPolicyTableText renders the default policy, the peer-specific bonds, then every policy.
std::string RenderPolicyTableText(const PolicyResolver& resolver);

// PolicyToJson uses local.conf's key names: name, basePolicy, failoverInterval, upDelay,
// downDelay (milliseconds), linkSelectMethod (active-backup), packetsPerLink (balance-rr),
// linkQuality (balance-aware), links: [{name, ipvPref, capacity (null: no hint), failoverTo
// (null: none), mode ("primary", "spare" or null)}].
nlohmann::json PolicyToJson(const ResolvedPolicy& policy);

// PolicyTableJson is {"defaultBondingPolicy": name or null, "peerSpecificBonds": {peer: name},
// "policies": [PolicyToJson...]}.
nlohmann::json PolicyTableJson(const PolicyResolver& resolver);

}  // namespace fleetbond::settings
