// etcd_session.h
//
// EtcdSession keeps one etcd lease alive for as long as this controller replica lives: keys put
// under it (the replica's registration, the nodes it owns, its leadership) vanish by themselves
// when the replica dies, within the lease's TTL. A thread renews the lease every TTL/3. When the
// lease is lost anyway (etcd unreachable for longer than the TTL, or the lease revoked), the
// session grants a new one and tells its listeners, which put their keys again.
//
// Alive() says whether the lease is certainly still held: renewed within the TTL it was granted
// with. Work that must not run twice (the leader's) checks it.
//
// Example:
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<EtcdSession> session,
//                       EtcdSession::Create(etcd, absl::Seconds(10)));
//   put.set_lease(session->lease());
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/etcd_client.h"

namespace fleetbond::controller {

class EtcdSession {
 public:
  // Create grants the first lease (whole seconds, at least 2).
  static absl::StatusOr<std::unique_ptr<EtcdSession>> Create(EtcdClient& etcd, absl::Duration ttl);
  // The destructor revokes the lease (Close) unless Abandon was called.
  ~EtcdSession();
  EtcdSession(const EtcdSession&) = delete;
  EtcdSession& operator=(const EtcdSession&) = delete;

  // lease is the ID of the current lease.
  int64_t lease() const;
  bool Alive() const;
  absl::Duration ttl() const { return ttl_; }
  EtcdClient& etcd() { return etcd_; }

  // OnNewLease registers `listener`, called with the new ID (on the session's thread) whenever
  // a lost lease was replaced. Listeners live as long as the session.
  void OnNewLease(std::function<void(int64_t lease)> listener);

  // Close stops renewing and revokes the lease: every key under it is deleted now.
  void Close();
  // Abandon stops renewing and leaves the lease to expire, as a crashed replica's would.
  void Abandon();

 private:
  EtcdSession(EtcdClient& etcd, absl::Duration ttl, int64_t lease);
  void Run();
  void StopThread();

  EtcdClient& etcd_;
  const absl::Duration ttl_;
  mutable absl::Mutex mu_;
  int64_t lease_ ABSL_GUARDED_BY(mu_);
  absl::Time renewed_ ABSL_GUARDED_BY(mu_);  // the lease holds until renewed_ + ttl_
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void(int64_t)>> listeners_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace fleetbond::controller
