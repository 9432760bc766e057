// fleet_view.h
//
// The text of fleetbond-cli's commands against the controller (docs/cli.md, "Against the
// controller"), from the Fleet API's messages:
//   RenderFleetSettings   `settings show`            the version and each document, local.conf JSON
//   RenderSettingsChange  `settings apply`, `policy ...`, `peer-bond ...`   "settings version N"
//   RenderValidation      `settings check`           "settings valid" or every error
//   RenderNodes           `nodes`                    one row per node
//   RenderNode            `node ID`                  every field of one node
//   RenderEvent           `events`                   one line per event
//   RenderDrain           `drain`                    sessions ended and where they were sent
// Bonds of a node print with bond_view.h's renderers, exactly as the node's own CLI prints them.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fleetbond/v1/controller.pb.h"
#include "fleetbond/v1/replica.pb.h"

namespace fleetbond::cli {

// RenderFleetSettings prints the version, then the document of `scope` when one was asked for,
// else the fleet-wide document and every scoped one.
std::string RenderFleetSettings(const v1::FleetSettings& settings, const std::string& scope,
                                bool scope_given);

// RenderSettingsChange is "settings version N" and a line per warning.
std::string RenderSettingsChange(const v1::FleetSettings& settings,
                                 const std::vector<v1::SettingsIssue>& warnings);

// RenderValidation is "settings valid" or "settings invalid: N error(s)", then every issue.
std::string RenderValidation(const v1::ValidateSettingsResponse& validation);

// RenderIssue is "error: PATH: MESSAGE" or "warning: PATH: MESSAGE".
std::string RenderIssue(const v1::SettingsIssue& issue);

// RenderNodes is the `nodes` table; ages are counted up to `now`.
std::string RenderNodes(const v1::ListNodesResponse& nodes, absl::Time now);

// RenderNode is `node ID`: every field of the node's status.
std::string RenderNode(const v1::NodeStatus& node, absl::Time now);

// RenderEvent is one line: "TIME  NODE  KIND  DETAIL" (UTC time, kind in lower case).
std::string RenderEvent(const v1::FleetEvent& event);

// RenderDrain is one line: the replica at `address` drains, how many node sessions it ended and
// where it sent them.
std::string RenderDrain(const v1::DrainResponse& drain, const std::string& address);

// FormatAge is "12s ago", "3m 4s ago", ...; "never" for 0 (never seen).
std::string FormatAge(int64_t unix_ms, absl::Time now);

// FormatLabels is "k=v,k2=v2" in key order; "-" for none.
std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace fleetbond::cli
