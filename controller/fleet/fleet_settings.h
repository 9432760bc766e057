// fleet_settings.h
//
// The fleet's settings are documents in local.conf's format: one fleet-wide (scope "") and any
// number of scoped ones, each applying to the nodes its label selector matches. A node's settings
// are the fleet-wide document with every matching scope laid over it, in scope order (scopes
// sorted as strings): a scope's defaultBondingPolicy replaces the one below it, its policies
// replace same-named policies whole, its peerSpecificBonds replace same-peer entries.
//
// Every change is judged by the node's own validator (shared/settings) before it is stored: the
// fleet-wide document alone, and every scope laid over the fleet-wide document, must be valid.
//
// Example:
//   FB_ASSIGN_OR_RETURN(LabelSelector s, LabelSelector::Parse("site=berlin,role=edge"));
//   s.ToString();                                   // "role=edge,site=berlin" (canonical)
//   v1::Settings mine = SettingsForNode(documents, {{"site", "berlin"}, {"role", "edge"}});
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/store/store.h"
#include "fleetbond/v1/settings.pb.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::controller {

using Labels = std::map<std::string, std::string>;

// LabelSelector is a conjunction of key=value terms; the empty selector matches every node.
class LabelSelector {
 public:
  // Parse accepts "k=v,k2=v2" (spaces around terms ignored). Keys and values are 1-63 characters
  // of [A-Za-z0-9._-/]; a key may appear once. INVALID_ARGUMENT otherwise, quoting the term.
  static absl::StatusOr<LabelSelector> Parse(absl::string_view text);

  bool Matches(const Labels& labels) const;
  bool empty() const { return terms_.empty(); }
  // ToString is the canonical form: terms sorted by key, joined by ",".
  std::string ToString() const;

 private:
  std::vector<std::pair<std::string, std::string>> terms_;  // sorted by key
};

// ParseLabels parses "k=v,k2=v2" into labels, with LabelSelector's rules.
absl::StatusOr<Labels> ParseLabels(absl::string_view text);

// SettingsForNode merges the documents that apply to a node with `labels`.
v1::Settings SettingsForNode(const std::map<std::string, v1::Settings>& scopes,
                             const Labels& labels);

// ValidateDocuments judges a whole set of documents as stored: every issue (errors and warnings)
// with its path; a scope's issues have paths prefixed "scopes[<scope>]." .
std::vector<settings::Issue> ValidateDocuments(const std::map<std::string, v1::Settings>& scopes);

// ParseDocument reads a local.conf-format document ({"settings": {...}}); keys other than
// "settings" are refused (the fleet's overlay and peers belong to the controller). Returns the
// settings and every parse issue; callers refuse it when any is an error.
std::pair<v1::Settings, std::vector<settings::Issue>> ParseDocument(absl::string_view json);

// ParsePolicy reads one policy object ({"basePolicy": ...}) as it would appear at
// settings.policies.<name>; issues carry that path.
std::pair<v1::Policy, std::vector<settings::Issue>> ParsePolicy(absl::string_view name,
                                                                absl::string_view json);

// DocumentJson renders a document in local.conf form, pretty-printed.
std::string DocumentJson(const v1::Settings& settings);

// IssuesMessage joins the errors of `issues` as "PATH: MESSAGE; PATH: MESSAGE".
std::string IssuesMessage(const std::vector<settings::Issue>& issues);

}  // namespace fleetbond::controller
