#include "controller/store/etcd_singleton_jobs.h"

#include <iostream>
#include <utility>

#include "shared/status_macros.h"

namespace fleetbond::controller {

absl::StatusOr<std::vector<std::string>> ExpireStaleNodes(
    Store& store, absl::Time now, absl::Duration expiry,
    const std::function<absl::StatusOr<bool>(const std::string&)>& connected,
    const std::function<absl::Status(const std::string&)>& reclaim) {
  FB_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, store.LoadNodes());
  const int64_t cutoff_ms = absl::ToUnixMillis(now - expiry);
  std::vector<std::string> expired;
  for (const NodeRecord& node : nodes) {
    if (node.last_seen_unix_ms >= cutoff_ms) continue;
    FB_ASSIGN_OR_RETURN(const bool online, connected(node.id));
    if (online) continue;
    const absl::Status deleted = store.DeleteNode(node.id);
    if (absl::IsNotFound(deleted)) continue;
    FB_RETURN_IF_ERROR(deleted);
    const absl::Status reclaimed = reclaim(node.id);
    if (!reclaimed.ok() && !absl::IsNotFound(reclaimed)) return reclaimed;
    expired.push_back(node.id);
  }
  return expired;
}

SingletonJobs::SingletonJobs(LeaderElection& election, EtcdStore& store, EtcdOwnership& ownership,
                             const Clock& clock, SingletonJobOptions options)
    : election_(election), store_(store), ownership_(ownership), clock_(clock), options_(options) {}

SingletonJobs::~SingletonJobs() { Stop(); }

absl::StatusOr<std::vector<std::string>> SingletonJobs::RunOnce() {
  if (!election_.IsLeader()) return std::vector<std::string>();
  return ExpireStaleNodes(
      store_, clock_.Now(), options_.node_expiry,
      [this](const std::string& id) -> absl::StatusOr<bool> {
        absl::StatusOr<EtcdOwnership::Owner> owner = ownership_.OwnerOf(id);
        if (absl::IsNotFound(owner.status())) return false;
        if (!owner.ok()) return owner.status();
        return true;
      },
      [this](const std::string& id) { return store_.ReclaimOverlay(id); });
}

void SingletonJobs::Start() {
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval);
        if (stop_) return;
      }
      absl::StatusOr<std::vector<std::string>> expired = RunOnce();
      if (!expired.ok()) {
        std::cerr << "fleetbond-controller: expiring stale nodes: " << expired.status().message()
                  << "\n";
      } else if (!expired->empty()) {
        std::cerr << "fleetbond-controller: expired " << expired->size() << " node(s) not seen for "
                  << absl::FormatDuration(options_.node_expiry)
                  << " and reclaimed their overlay addresses\n";
      }
    }
  });
}

void SingletonJobs::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace fleetbond::controller
