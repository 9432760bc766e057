// etcd_election.h
//
// LeaderElection elects one controller replica for singleton work (expiring stale nodes,
// reclaiming their overlay addresses): whoever creates the election key first holds it, under its
// EtcdSession lease. Campaigning is a transaction "create the key if it does not exist" (compare
// create_revision == 0); the others watch the key and campaign again as soon as it is deleted —
// by Resign, or by etcd when the leader's lease expires because the leader died.
//
// IsLeader is true only while the key holds this candidate's lease AND the session's lease is
// certainly alive (renewed within its TTL): a leader cut off from etcd stops acting as leader
// before etcd can have handed the key to another replica.
//
// Example:
//   LeaderElection election(*session, "/fleetbond/v1/leader", "ctl-1");
//   if (election.IsLeader()) ExpireStaleNodes();
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/etcd_client.h"
#include "controller/store/etcd_session.h"

namespace fleetbond::controller {

class LeaderElection {
 public:
  // Starts campaigning at once for `key` with `value` (the replica id) on a thread of its own;
  // `recheck` bounds how long a missed deletion event can delay taking over.
  LeaderElection(EtcdSession& session, std::string key, std::string value,
                 absl::Duration recheck = absl::Seconds(1));
  // The destructor resigns.
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  bool IsLeader() const;
  // Leader returns the value of the current leader, "" when there is none.
  absl::StatusOr<std::string> Leader();
  // Resign gives up leadership (deleting the key if it is ours) and stops campaigning.
  void Resign();

 private:
  void Run();
  // Campaign tries to take the key once; updates leader_.
  void Campaign();

  EtcdSession& session_;
  EtcdClient& etcd_;
  const std::string key_;
  const std::string value_;
  const absl::Duration recheck_;

  mutable absl::Mutex mu_;
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  int64_t leader_lease_ ABSL_GUARDED_BY(mu_) = 0;  // the lease we hold the key under
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;  // the watch saw the key change
  std::unique_ptr<EtcdWatch> watch_;
  std::thread thread_;
};

}  // namespace fleetbond::controller
