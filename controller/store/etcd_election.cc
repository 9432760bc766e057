#include "controller/store/etcd_election.h"

#include <utility>
#include <vector>

namespace fleetbond::controller {

LeaderElection::LeaderElection(EtcdSession& session, std::string key, std::string value,
                               absl::Duration recheck)
    : session_(session),
      etcd_(session.etcd()),
      key_(std::move(key)),
      value_(std::move(value)),
      recheck_(recheck) {
  // Any change of the key (above all its deletion) wakes the campaign at once.
  watch_ = etcd_.Watch(key_, "", 0, [this](const std::vector<mvccpb::Event>&, int64_t, bool) {
    absl::MutexLock lock(&mu_);
    changed_ = true;
  });
  thread_ = std::thread([this] { Run(); });
}

LeaderElection::~LeaderElection() { Resign(); }

bool LeaderElection::IsLeader() const {
  absl::MutexLock lock(&mu_);
  return leader_ && leader_lease_ == session_.lease() && session_.Alive();
}

absl::StatusOr<std::string> LeaderElection::Leader() {
  absl::StatusOr<etcdserverpb::RangeResponse> current = etcd_.Get(key_);
  if (!current.ok()) return current.status();
  return current->kvs_size() > 0 ? current->kvs(0).value() : std::string();
}

void LeaderElection::Campaign() {
  const int64_t lease = session_.lease();
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* absent = txn.add_compare();
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_key(key_);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key_);
  put->set_value(value_);
  put->set_lease(lease);
  txn.add_failure()->mutable_request_range()->set_key(key_);
  absl::StatusOr<etcdserverpb::TxnResponse> response = etcd_.Txn(txn);
  absl::MutexLock lock(&mu_);
  if (!response.ok()) {
    leader_ = false;  // cannot tell: not leader until etcd says so
    return;
  }
  if (response->succeeded()) {
    leader_ = true;
    leader_lease_ = lease;
    return;
  }
  // Taken: by us (under our current lease, from an earlier campaign) or by someone else.
  const etcdserverpb::RangeResponse& held = response->responses(0).response_range();
  leader_ = held.kvs_size() > 0 && held.kvs(0).lease() == lease && held.kvs(0).value() == value_;
  if (leader_) leader_lease_ = lease;
}

void LeaderElection::Run() {
  while (true) {
    Campaign();
    absl::MutexLock lock(&mu_);
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || changed_; };
    mu_.AwaitWithTimeout(absl::Condition(&wake), recheck_);
    if (stop_) return;
    changed_ = false;
  }
}

void LeaderElection::Resign() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  thread_.join();
  watch_.reset();
  bool was_leader = false;
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    was_leader = leader_;
    lease = leader_lease_;
    leader_ = false;
  }
  if (!was_leader) return;
  // Delete the key only if it is still ours.
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* ours = txn.add_compare();
  ours->set_result(etcdserverpb::Compare::EQUAL);
  ours->set_target(etcdserverpb::Compare::LEASE);
  ours->set_key(key_);
  ours->set_lease(lease);
  txn.add_success()->mutable_request_delete_range()->set_key(key_);
  (void)etcd_.Txn(txn);
}

}  // namespace fleetbond::controller
