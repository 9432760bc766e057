// fake_node.h: the node an agent drives in tests: a NodeBackend and NodeControl that record what
// they were given, thread-safe (the agent calls from its own threads).
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "node/agent/agent.h"

namespace fleetbond::agent {

class FakeNode : public api::NodeBackend, public NodeControl {
 public:
  FakeNode() {
    daemon::InterfaceState eth0{.ifindex = 2, .name = "eth0", .admin_up = true, .carrier = true};
    eth0.addresses = {
        {AF_INET, "10.201.0.1", 24}, {AF_INET6, "fe80::1", 64}, {AF_INET6, "fd20:1::1", 64}};
    daemon::InterfaceState lo{.ifindex = 1, .name = "lo", .admin_up = true, .carrier = true};
    lo.addresses = {{AF_INET, "127.0.0.1", 8}};
    daemon::InterfaceState tun{.ifindex = 9, .name = "fb0", .admin_up = true, .carrier = true};
    tun.addresses = {{AF_INET, "10.147.0.1", 24}};
    daemon::InterfaceState empty{.ifindex = 3, .name = "eth1", .admin_up = false};
    interfaces_ = {lo, eth0, tun, empty};
  }

  // What the test sets.
  void SetBonds(std::vector<bond::BondSnapshot> bonds) {
    absl::MutexLock lock(&mu_);
    bonds_ = std::move(bonds);
  }
  void SetRotation(absl::StatusOr<bond::Rotation> rotation) {
    absl::MutexLock lock(&mu_);
    rotation_ = std::move(rotation);
  }
  void SetDrops(daemon::DataPlane::DropCounters drops) {
    absl::MutexLock lock(&mu_);
    drops_ = drops;
  }

  // What the agent did.
  int applied() {
    absl::MutexLock lock(&mu_);
    return applied_;
  }
  daemon::StandaloneConfig directory() {
    absl::MutexLock lock(&mu_);
    return directory_;
  }

  std::vector<bond::BondSnapshot> Snapshots() override {
    absl::MutexLock lock(&mu_);
    return bonds_;
  }
  absl::StatusOr<bond::BondSnapshot> Snapshot(absl::string_view peer) override {
    absl::MutexLock lock(&mu_);
    for (const bond::BondSnapshot& b : bonds_) {
      if (b.peer == peer) return b;
    }
    return absl::NotFoundError(absl::StrCat("no bond to peer \"", peer, "\""));
  }
  absl::StatusOr<bond::Rotation> Rotate(absl::string_view peer) override {
    absl::StatusOr<bond::BondSnapshot> b = Snapshot(peer);
    if (!b.ok()) return b.status();
    absl::MutexLock lock(&mu_);
    return rotation_;
  }
  void ApplySettings(settings::LoadedLocalConf settings) override {
    absl::MutexLock lock(&mu_);
    conf_ = std::move(settings.conf);
    ++applied_;
  }
  settings::LocalConf CurrentSettings() override {
    absl::MutexLock lock(&mu_);
    return conf_;
  }
  daemon::DataPlane::DropCounters Drops() override {
    absl::MutexLock lock(&mu_);
    return drops_;
  }
  void SetDirectory(daemon::StandaloneConfig directory) override {
    absl::MutexLock lock(&mu_);
    directory_ = std::move(directory);
  }
  std::vector<daemon::InterfaceState> Interfaces() override {
    absl::MutexLock lock(&mu_);
    return interfaces_;
  }

 private:
  absl::Mutex mu_;
  std::vector<bond::BondSnapshot> bonds_ ABSL_GUARDED_BY(mu_);
  absl::StatusOr<bond::Rotation> rotation_ ABSL_GUARDED_BY(mu_) =
      absl::FailedPreconditionError("not set");
  daemon::DataPlane::DropCounters drops_ ABSL_GUARDED_BY(mu_);
  settings::LocalConf conf_ ABSL_GUARDED_BY(mu_);
  int applied_ ABSL_GUARDED_BY(mu_) = 0;
  daemon::StandaloneConfig directory_ ABSL_GUARDED_BY(mu_);
  std::vector<daemon::InterfaceState> interfaces_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fleetbond::agent
