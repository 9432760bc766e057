// etcd_singleton_jobs.h
//
// The work exactly one controller replica does, on the leader of a LeaderElection:
//
//   - Expiring stale nodes: a node of the registry not seen for `node_expiry` (30 days by
//     default; --node-expiry) and connected to no replica (no owner key) is removed from the
//     registry.
//   - Reclaiming overlay addresses: the expired node's overlay address is freed for the next new
//     node (EtcdStore::ReclaimOverlay). Should the node ever come back it registers anew and gets
//     a fresh address.
//
// A pass runs every `interval` while this replica leads; a replica that is not the leader does
// nothing. Expiry compares against last_seen_unix_ms as stored; replicas flush it every second
// for their connected nodes, so a node is never expired while connected.
//
// Example:
//   SingletonJobs jobs(election, store, ownership, SystemClock::Get(), {});
//   jobs.Start();
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/etcd_election.h"
#include "controller/store/etcd_ownership.h"
#include "controller/store/etcd_store.h"
#include "shared/clock.h"

namespace fleetbond::controller {

struct SingletonJobOptions {
  absl::Duration node_expiry = absl::Hours(24 * 30);
  absl::Duration interval = absl::Minutes(10);
};

// ExpireStaleNodes is one pass of the expiry job over `store`, whoever runs it: every node last
// seen before `now - expiry` for which `connected` is false is deleted and `reclaim` is called for
// it. Returns the ids it expired. A node another writer deleted meanwhile is skipped.
absl::StatusOr<std::vector<std::string>> ExpireStaleNodes(
    Store& store, absl::Time now, absl::Duration expiry,
    const std::function<absl::StatusOr<bool>(const std::string&)>& connected,
    const std::function<absl::Status(const std::string&)>& reclaim);

class SingletonJobs {
 public:
  // Every argument must outlive the object.
  SingletonJobs(LeaderElection& election, EtcdStore& store, EtcdOwnership& ownership,
                const Clock& clock, SingletonJobOptions options);
  ~SingletonJobs();
  SingletonJobs(const SingletonJobs&) = delete;
  SingletonJobs& operator=(const SingletonJobs&) = delete;

  // RunOnce runs every job once if this replica leads (and returns the expired nodes), else
  // does nothing and returns none.
  absl::StatusOr<std::vector<std::string>> RunOnce();
  // Start runs RunOnce every `interval` on a thread of its own until Stop or destruction.
  void Start();
  void Stop();

 private:
  LeaderElection& election_;
  EtcdStore& store_;
  EtcdOwnership& ownership_;
  const Clock& clock_;
  const SingletonJobOptions options_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fleetbond::controller
