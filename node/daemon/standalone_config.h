// standalone_config.h
//
// Standalone mode: a node that runs without a controller reads its overlay address and its
// static peers from local.conf, beside "settings":
//
//   {"settings": {...},
//    "overlay": "10.147.0.1/24",
//    "peers": {"<10-hex id>": {"publicKey": "<base64>", "overlay": "10.147.0.2",
//                              "endpoints": ["10.201.0.2/9800", "fd20:1::2/9800"]}}}
//
// ParseStandaloneConfig judges those two keys with the same kind of issues the settings validator
// gives (path + sentence), so `--check-config` reports every problem of the whole file at once.
// docs/standalone.md has a complete two-node example.
#pragma once

#include <string>
#include <vector>

#include "shared/identity/identity.h"
#include "shared/settings/local_conf_parser.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::daemon {

struct StaticPeer {
  NodeId id;
  PublicKey public_key{};
  std::string overlay_address;         // bare IP, inside the node's overlay prefix
  std::vector<std::string> endpoints;  // "ip/port", as written

  friend bool operator==(const StaticPeer&, const StaticPeer&) = default;
};

struct StandaloneConfig {
  std::string overlay;            // "ip/prefixlen" of this node; empty when absent
  std::vector<StaticPeer> peers;  // sorted by id

  friend bool operator==(const StandaloneConfig&, const StandaloneConfig&) = default;
};

// DirectoryChange is what it takes to go from one peer directory to the next (a controller's
// push changes it while the node runs; DataPlane::SetDirectory applies it).
struct DirectoryChange {
  std::vector<NodeId> removed;       // gone: cut off at once
  std::vector<StaticPeer> added;     // new: a new bond
  std::vector<StaticPeer> replaced;  // new key or overlay address: a fresh bond
  std::vector<StaticPeer> moved;     // only the endpoints changed: the bond is kept
  bool overlay_changed = false;

  bool empty() const {
    return removed.empty() && added.empty() && replaced.empty() && moved.empty() &&
           !overlay_changed;
  }
};

// DiffDirectory compares two directories (their peers sorted by id, as ParseStandaloneConfig
// leaves them); each list comes out ordered by id.
DirectoryChange DiffDirectory(const StandaloneConfig& from, const StandaloneConfig& to);

struct ParsedStandaloneConfig {
  StandaloneConfig config;
  std::vector<settings::Issue> issues;
};

// ParseStandaloneConfig reads conf.overlay and conf.peers. Absent keys are fine (a node with a
// controller has neither); peers without an overlay address is an error.
ParsedStandaloneConfig ParseStandaloneConfig(const settings::LocalConf& conf);

// StandaloneIssues returns only the issues: the settings::ExtraCheck that --check-config and
// `fleetbond-cli config check` run, so that both judge the whole file.
std::vector<settings::Issue> StandaloneIssues(const settings::LocalConf& conf);

}  // namespace fleetbond::daemon
