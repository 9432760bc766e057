#include "controller/replica/etcd_replica.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {

absl::StatusOr<std::unique_ptr<EtcdReplica>> EtcdReplica::Open(
    EtcdReplicaOptions options, const std::function<void(const absl::Status&)>& progress) {
  std::unique_ptr<EtcdReplica> replica(new EtcdReplica(std::move(options)));
  const EtcdReplicaOptions& o = replica->options_;
  FB_ASSIGN_OR_RETURN(replica->client_, EtcdClient::Create(o.etcd));
  if (absl::Status reachable = replica->client_->WaitReachable(o.wait, progress); !reachable.ok()) {
    return absl::UnavailableError(
        absl::StrCat("etcd (", absl::StrJoin(o.etcd.endpoints, ", "), ") did not answer within ",
                     absl::FormatDuration(o.wait), ": ", reachable.message()));
  }
  replica->store_ = std::make_unique<EtcdStore>(*replica->client_, o.prefix);
  FB_ASSIGN_OR_RETURN(replica->session_, EtcdSession::Create(*replica->client_, o.lease_ttl));
  FB_ASSIGN_OR_RETURN(replica->ownership_, EtcdOwnership::Create(*replica->session_, o.prefix,
                                                                 o.replica_id, o.advertise));
  replica->owners_ = std::make_unique<EtcdNodeOwners>(*replica->ownership_);
  replica->election_ = std::make_unique<LeaderElection>(
      *replica->session_, absl::StrCat(o.prefix, "leader"), o.replica_id, absl::Seconds(3));
  return replica;
}

EtcdReplica::~EtcdReplica() {
  jobs_.reset();
  election_.reset();  // resigns
  owners_.reset();
  ownership_.reset();
  if (session_ != nullptr) session_->Close();
}

void EtcdReplica::StartSingletonJobs(const Clock& clock) {
  if (jobs_ != nullptr) return;
  jobs_ = std::make_unique<SingletonJobs>(*election_, *store_, *ownership_, clock, options_.jobs);
  jobs_->Start();
}

}  // namespace fleetbond::controller
