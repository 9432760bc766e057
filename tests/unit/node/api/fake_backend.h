// fake_backend.h: a NodeBackend with bonds and answers set by the test.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/api/node_backend.h"

namespace fleetbond::api {

class FakeBackend : public NodeBackend {
 public:
  std::vector<bond::BondSnapshot> bonds;
  absl::StatusOr<bond::Rotation> rotation = absl::FailedPreconditionError("not set");
  settings::LocalConf conf;
  int applied = 0;
  daemon::DataPlane::DropCounters drops;

  std::vector<bond::BondSnapshot> Snapshots() override { return bonds; }
  absl::StatusOr<bond::BondSnapshot> Snapshot(absl::string_view peer) override {
    for (const bond::BondSnapshot& b : bonds) {
      if (b.peer == peer) return b;
    }
    return absl::NotFoundError(absl::StrCat("no bond to peer \"", peer, "\""));
  }
  absl::StatusOr<bond::Rotation> Rotate(absl::string_view peer) override {
    absl::StatusOr<bond::BondSnapshot> b = Snapshot(peer);
    if (!b.ok()) return b.status();
    return rotation;
  }
  void ApplySettings(settings::LoadedLocalConf settings) override {
    conf = std::move(settings.conf);
    ++applied;
  }
  settings::LocalConf CurrentSettings() override { return conf; }
  daemon::DataPlane::DropCounters Drops() override { return drops; }
  void SetDirectory(daemon::StandaloneConfig d) override { directories.push_back(std::move(d)); }

  std::vector<daemon::StandaloneConfig> directories;  // every SetDirectory, in order
};

}  // namespace fleetbond::api
