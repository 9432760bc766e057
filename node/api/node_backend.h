// node_backend.h
//
// NodeBackend is what the local API needs from a running node: bond snapshots, rotate, live
// settings and drop counters. DataPlane provides it in fleetbond-node (DataPlaneBackend); tests
// give the API service and the metrics collector a fake. Every call is safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/bond/bond.h"
#include "node/daemon/data_plane.h"
#include "shared/settings/effective_settings.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::api {

// ControllerView is what the local API shows of a node's controller session (controller mode).
struct ControllerView {
  bool connected = false;
  // Set while the node runs on a controller's push: who wrote each value of the settings in
  // force (the controller, or local.conf for a policy's links). Unset before the first push.
  std::optional<settings::SourceMap> sources;
  // The warnings of the settings in force (what of local.conf the push overrode, ...).
  std::vector<settings::Issue> warnings;
  // The overlay address and peers in force.
  daemon::StandaloneConfig directory;
};

class NodeBackend {
 public:
  virtual ~NodeBackend() = default;

  // Snapshots returns every bond, ordered by peer id.
  virtual std::vector<bond::BondSnapshot> Snapshots() = 0;
  // Snapshot returns one peer's bond; NOT_FOUND for a peer that is not configured.
  virtual absl::StatusOr<bond::BondSnapshot> Snapshot(absl::string_view peer) = 0;
  // Rotate rotates an active-backup bond: NOT_FOUND, or FAILED_PRECONDITION with the reason.
  virtual absl::StatusOr<bond::Rotation> Rotate(absl::string_view peer) = 0;
  // ApplySettings replaces the bonding settings of every bond, live. `settings` is valid.
  virtual void ApplySettings(settings::LoadedLocalConf settings) = 0;
  // CurrentSettings returns the settings in force.
  virtual settings::LocalConf CurrentSettings() = 0;
  // Drops returns the data plane's drop counters.
  virtual daemon::DataPlane::DropCounters Drops() = 0;
  // Controller returns the controller session's state; nullopt for a standalone node.
  virtual std::optional<ControllerView> Controller() { return std::nullopt; }
  // SetDirectory replaces a standalone node's overlay address and static peers live (`settings
  // apply` of a local.conf): a peer that is gone is cut off at once. Never called on a node that
  // has a controller (its directory comes from the controller's pushes).
  virtual void SetDirectory(daemon::StandaloneConfig directory) = 0;
};

// DataPlaneBackend is NodeBackend over a DataPlane that outlives it.
class DataPlaneBackend : public NodeBackend {
 public:
  explicit DataPlaneBackend(daemon::DataPlane& data_plane) : dp_(data_plane) {}

  std::vector<bond::BondSnapshot> Snapshots() override { return dp_.Snapshots(); }
  absl::StatusOr<bond::BondSnapshot> Snapshot(absl::string_view peer) override {
    return dp_.Snapshot(peer);
  }
  absl::StatusOr<bond::Rotation> Rotate(absl::string_view peer) override {
    return dp_.Rotate(peer);
  }
  void ApplySettings(settings::LoadedLocalConf settings) override {
    dp_.ApplySettings(std::move(settings));
  }
  settings::LocalConf CurrentSettings() override { return dp_.CurrentSettings(); }
  daemon::DataPlane::DropCounters Drops() override { return dp_.Drops(); }
  void SetDirectory(daemon::StandaloneConfig directory) override {
    dp_.SetDirectory(std::move(directory));
  }

 private:
  daemon::DataPlane& dp_;
};

}  // namespace fleetbond::api
