#include "controller/store/etcd_ownership.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {

absl::StatusOr<std::unique_ptr<EtcdOwnership>> EtcdOwnership::Create(EtcdSession& session,
                                                                     std::string prefix,
                                                                     std::string replica_id,
                                                                     std::string address) {
  if (replica_id.empty() || replica_id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("replica id \"%s\": give a non-empty name without \"/\"", replica_id));
  }
  std::unique_ptr<EtcdOwnership> ownership(
      new EtcdOwnership(session, std::move(prefix), std::move(replica_id), std::move(address)));
  FB_RETURN_IF_ERROR(ownership->Register(session.lease()));
  EtcdOwnership* self = ownership.get();
  session.OnNewLease([self](int64_t) {
    absl::MutexLock lock(&self->mu_);
    self->relisted_ = true;
  });
  ownership->thread_ = std::thread([self] { self->Run(); });
  return ownership;
}

EtcdOwnership::EtcdOwnership(EtcdSession& session, std::string prefix, std::string replica_id,
                             std::string address)
    : session_(session),
      etcd_(session.etcd()),
      prefix_(std::move(prefix)),
      replica_id_(std::move(replica_id)),
      address_(std::move(address)) {}

EtcdOwnership::~EtcdOwnership() {
  Flush();
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

absl::Status EtcdOwnership::Register(int64_t lease) {
  etcdserverpb::PutRequest put;
  put.set_key(absl::StrCat(prefix_, "replicas/", replica_id_));
  put.set_value(address_);
  put.set_lease(lease);
  return etcd_.Put(put).status();
}

void EtcdOwnership::Own(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  queue_.emplace_back(node_id, true);
  ++queued_;
}

void EtcdOwnership::Disown(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  queue_.emplace_back(node_id, false);
  ++queued_;
}

void EtcdOwnership::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = queued_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return written_ >= target; };
  mu_.Await(absl::Condition(&done));
}

absl::Status EtcdOwnership::Write(const std::string& node_id, bool own, int64_t lease) {
  const std::string key = absl::StrCat(prefix_, "owners/", node_id);
  if (own) {
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value(replica_id_);
    put.set_lease(lease);
    return etcd_.Put(put).status();
  }
  // Only our own record: the node may already be owned by the replica it moved to.
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* same = txn.add_compare();
  same->set_result(etcdserverpb::Compare::EQUAL);
  same->set_target(etcdserverpb::Compare::VALUE);
  same->set_key(key);
  same->set_value(replica_id_);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  return etcd_.Txn(txn).status();
}

void EtcdOwnership::Run() {
  while (true) {
    std::pair<std::string, bool> item;
    bool relist = false;
    std::vector<std::string> owned;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || relisted_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (relisted_) {
        relisted_ = false;
        relist = true;
        owned.assign(owned_.begin(), owned_.end());
      } else if (!queue_.empty()) {
        item = queue_.front();
        queue_.pop_front();
      } else {
        return;  // stopped with nothing queued
      }
    }
    const int64_t lease = session_.lease();
    if (relist) {
      // Keep at it until etcd takes it: without these keys, commands cannot find this replica.
      while (!Register(lease).ok()) {
        absl::SleepFor(absl::Milliseconds(500));
        absl::MutexLock lock(&mu_);
        if (stop_) return;
      }
      for (const std::string& node : owned) (void)Write(node, true, lease);
      continue;
    }
    // A failed write is retried a few times; past that the record is wrong until the node's next
    // connect (or the lease's end), which is logged by the caller's metrics, not fatal.
    absl::Status status;
    for (int attempt = 0; attempt < 5; ++attempt) {
      status = Write(item.first, item.second, lease);
      if (status.ok()) break;
      absl::SleepFor(absl::Milliseconds(200) * (attempt + 1));
    }
    absl::MutexLock lock(&mu_);
    if (item.second) {
      owned_.insert(item.first);
    } else {
      owned_.erase(item.first);
    }
    ++written_;
  }
}

absl::StatusOr<EtcdOwnership::Owner> EtcdOwnership::OwnerOf(const std::string& node_id) {
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse owner,
                      etcd_.Get(absl::StrCat(prefix_, "owners/", node_id)));
  if (owner.kvs_size() == 0) {
    return absl::NotFoundError(
        absl::StrFormat("node %s is connected to no controller replica", node_id));
  }
  Owner result;
  result.replica_id = owner.kvs(0).value();
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse replica,
                      etcd_.Get(absl::StrCat(prefix_, "replicas/", result.replica_id)));
  if (replica.kvs_size() > 0) result.address = replica.kvs(0).value();
  return result;
}

absl::StatusOr<std::map<std::string, std::string>> EtcdOwnership::Replicas() {
  const std::string prefix = absl::StrCat(prefix_, "replicas/");
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse replicas, etcd_.RangePrefix(prefix));
  std::map<std::string, std::string> result;
  for (const mvccpb::KeyValue& kv : replicas.kvs()) {
    result[kv.key().substr(prefix.size())] = kv.value();
  }
  return result;
}

}  // namespace fleetbond::controller
