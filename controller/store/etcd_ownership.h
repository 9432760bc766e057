// etcd_ownership.h
//
// EtcdOwnership records in etcd which controller replica holds which node's session, so that a
// command for a node reaching another replica can be forwarded to its owner:
//
//   PREFIX/replicas/<replica id> -> the address other replicas reach it at (--advertise)
//   PREFIX/owners/<node id>      -> the id of the replica holding the node's session
//
// Both are put under the replica's EtcdSession lease: when the replica dies, its registration
// and every ownership it recorded expire with the lease. Own and Disown only queue (Fleet calls
// them with its lock held); a thread of the object writes them in order. Disown deletes the key
// only while it still names this replica (a transaction comparing the value), so a node that has
// moved on to another replica keeps that one's record. When the session replaces a lost lease,
// the registration and every owned node are put again.
//
// Example:
//   FB_ASSIGN_OR_RETURN(auto owners, EtcdOwnership::Create(*session, "/fleetbond/v1/", "ctl-1",
//                                                          "10.0.0.5:9903"));
//   owners->Own("0123456789");
//   FB_ASSIGN_OR_RETURN(EtcdOwnership::Owner owner, owners->OwnerOf("0123456789"));
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/etcd_session.h"

namespace fleetbond::controller {

class EtcdOwnership {
 public:
  struct Owner {
    std::string replica_id;
    std::string address;  // "" when the replica's registration is gone
  };

  // Create registers the replica (INVALID_ARGUMENT for an empty or "/"-holding id).
  static absl::StatusOr<std::unique_ptr<EtcdOwnership>> Create(EtcdSession& session,
                                                               std::string prefix,
                                                               std::string replica_id,
                                                               std::string address);
  // The destructor writes what is queued, then stops; keys stay until the lease ends.
  ~EtcdOwnership();
  EtcdOwnership(const EtcdOwnership&) = delete;
  EtcdOwnership& operator=(const EtcdOwnership&) = delete;

  // Own records that this replica holds `node_id`'s session; Disown that it no longer does.
  void Own(const std::string& node_id);
  void Disown(const std::string& node_id);
  // Flush waits until everything queued before it was written (or failed); tests use it.
  void Flush();

  // OwnerOf returns the replica that holds the node's session; NOT_FOUND when none does.
  absl::StatusOr<Owner> OwnerOf(const std::string& node_id);
  // Replicas returns every registered replica: id -> address.
  absl::StatusOr<std::map<std::string, std::string>> Replicas();

  const std::string& replica_id() const { return replica_id_; }

 private:
  EtcdOwnership(EtcdSession& session, std::string prefix, std::string replica_id,
                std::string address);
  absl::Status Register(int64_t lease);
  absl::Status Write(const std::string& node_id, bool own, int64_t lease);
  void Run();

  EtcdSession& session_;
  EtcdClient& etcd_;
  const std::string prefix_;
  const std::string replica_id_;
  const std::string address_;

  absl::Mutex mu_;
  std::deque<std::pair<std::string, bool>> queue_ ABSL_GUARDED_BY(mu_);  // node, own?
  std::set<std::string> owned_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool relisted_ ABSL_GUARDED_BY(mu_) = false;  // a new lease: put everything again
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fleetbond::controller
