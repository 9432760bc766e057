// etcd_replica.h
//
// EtcdReplica is everything a controller replica on etcd runs besides its Fleet
// (docs/scale-out.md): the etcd client and store, the replica's lease (EtcdSession), its
// registration and node ownership (EtcdOwnership, also answering NodeOwners for command
// forwarding), the leader election and the leader's singleton jobs. main opens one for
// `--store etcd://...` and feeds it the Fleet's session hooks.
//
// Example:
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<EtcdReplica> replica,
//                       EtcdReplica::Open(options, [](const absl::Status& s) { Log(s); }));
//   Fleet::Create(replica->store(), clock, fleet_options);
//   replica->StartSingletonJobs();
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/replica/etcd_node_owners.h"
#include "controller/store/etcd_client.h"
#include "controller/store/etcd_election.h"
#include "controller/store/etcd_ownership.h"
#include "controller/store/etcd_session.h"
#include "controller/store/etcd_singleton_jobs.h"
#include "controller/store/etcd_store.h"
#include "shared/clock.h"

namespace fleetbond::controller {

struct EtcdReplicaOptions {
  EtcdOptions etcd;
  std::string prefix = EtcdStore::kDefaultPrefix;
  std::string replica_id;  // unique per replica, no "/"
  std::string advertise;   // HOST:PORT other replicas reach this one at
  absl::Duration lease_ttl = absl::Seconds(10);
  absl::Duration wait = absl::Seconds(60);  // for etcd at start
  SingletonJobOptions jobs;
};

class EtcdReplica {
 public:
  // Open waits (up to options.wait, calling `progress` with the last error every second or so)
  // until etcd answers, then takes the lease and registers the replica. UNAVAILABLE naming the
  // endpoints when etcd never answered.
  static absl::StatusOr<std::unique_ptr<EtcdReplica>> Open(
      EtcdReplicaOptions options, const std::function<void(const absl::Status&)>& progress);
  // The destructor stops the jobs, resigns and revokes the lease: this replica's ownership
  // records vanish at once.
  ~EtcdReplica();

  EtcdStore& store() { return *store_; }
  NodeOwners& owners() { return *owners_; }
  EtcdOwnership& ownership() { return *ownership_; }
  LeaderElection& election() { return *election_; }
  const EtcdReplicaOptions& options() const { return options_; }

  // The Fleet's session hooks (FleetObserver::OnSessionOpened/Closed): quick, they only queue.
  void OnSessionOpened(const std::string& node_id) { ownership_->Own(node_id); }
  void OnSessionClosed(const std::string& node_id) { ownership_->Disown(node_id); }

  // StartSingletonJobs runs the leader's jobs (they do nothing while this replica is not leader).
  void StartSingletonJobs(const Clock& clock = SystemClock::Get());

 private:
  explicit EtcdReplica(EtcdReplicaOptions options) : options_(std::move(options)) {}

  const EtcdReplicaOptions options_;
  std::unique_ptr<EtcdClient> client_;
  std::unique_ptr<EtcdStore> store_;
  std::unique_ptr<EtcdSession> session_;
  std::unique_ptr<EtcdOwnership> ownership_;
  std::unique_ptr<LeaderElection> election_;
  std::unique_ptr<EtcdNodeOwners> owners_;
  std::unique_ptr<SingletonJobs> jobs_;
};

}  // namespace fleetbond::controller
