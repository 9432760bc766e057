// etcd_store.h
//
// EtcdStore is the Store of a controller that runs as one of several replicas: everything lives
// in etcd under a key prefix (/fleetbond/v1/ by default; docs/scale-out.md lists the keys), and
// every change is an etcd transaction that compares the revisions it read, so two replicas (or two
// operators) can never both win a race: the loser's transaction fails and is either retried on
// fresh data (PutSettings with expected version 0, ReserveVersions, LeaseOverlays) or reported
// (PutSettings with an expected version: ABORTED "settings are at version N, not M", as
// SqliteStore says it).
//
// It makes the same choices as SqliteStore (sqlite_store.h) where the Store interface leaves room,
// with two differences that etcd's limits force:
//   - LeaseOverlays and SaveNodes write in transactions of at most kBatch nodes (etcd refuses
//     transactions of more than 128 operations by default). Each batch is atomic and an address is
//     still never handed out twice (its "taken" key is created with a compare that it does not
//     exist); a call that fails midway has recorded the batches before the failure. A prefix too
//     full for the whole call is still refused before anything is written.
//   - SaveNodes is durable on return (etcd commits every transaction to its log).
// ReclaimOverlay, which SqliteStore has not, frees the address of a node that expired (see
// etcd_singleton_jobs.h).
//
// Example:
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> etcd, EtcdClient::Create(options));
//   EtcdStore store(*etcd);
//   FB_ASSIGN_OR_RETURN(uint64_t version, store.PutSettings("", settings, 0, "alice"));
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/etcd_client.h"
#include "controller/store/store.h"
#include "shared/clock.h"

namespace fleetbond::controller {

class EtcdStore final : public Store {
 public:
  static constexpr char kDefaultPrefix[] = "/fleetbond/v1/";
  // kBatch is the most nodes one transaction writes (2 operations each, see the banner).
  static constexpr size_t kBatch = 60;

  // `etcd` and `clock` must outlive the store. `prefix` ends with "/".
  explicit EtcdStore(EtcdClient& etcd, std::string prefix = kDefaultPrefix,
                     const Clock& clock = SystemClock::Get());
  ~EtcdStore() override;
  EtcdStore(const EtcdStore&) = delete;
  EtcdStore& operator=(const EtcdStore&) = delete;

  absl::StatusOr<SettingsDocuments> LoadSettings() override;
  absl::StatusOr<uint64_t> PutSettings(absl::string_view scope,
                                       const std::optional<v1::Settings>& settings,
                                       uint64_t expected_version,
                                       absl::string_view author) override;
  absl::StatusOr<std::vector<SettingsChange>> SettingsHistory(size_t limit) override;

  absl::StatusOr<std::vector<NodeRecord>> LoadNodes() override;
  absl::Status SaveNodes(const std::vector<NodeRecord>& nodes) override;
  absl::Status DeleteNode(absl::string_view id) override;

  absl::StatusOr<std::map<std::string, std::string>> LeaseOverlays(
      absl::string_view prefix, const std::vector<std::string>& node_ids) override;
  absl::StatusOr<std::map<std::string, std::string>> Leases() override;

  absl::StatusOr<uint64_t> ReserveVersions(uint64_t count) override;

  // WatchSettings: every version stored by any replica on this etcd, from a watch on the version
  // key (see Store).
  absl::Status WatchSettings(std::function<void(uint64_t version)> on_change) override;
  void StopWatchingSettings() override;
  // WatchNodes: every change of nodes/ and overlay/leases/ by any replica on this etcd, from one
  // watch over the key range holding both (see Store). The first report is read at one revision
  // and the watch starts right after it; after a compaction the registry is read again and
  // reported `full`.
  absl::Status WatchNodes(std::function<void(const RegistryUpdate& update)> on_update) override;
  void StopWatchingNodes() override;

  // ReclaimOverlay drops the node's overlay lease and makes its address free again (the lowest
  // free address of every prefix holding it moves down to it). NOT_FOUND when it holds none.
  // Only for nodes gone for good: a node that comes back gets a new address.
  absl::Status ReclaimOverlay(absl::string_view node_id);

  // Key returns prefix + suffix: where this store keeps `suffix`.
  std::string Key(absl::string_view suffix) const;
  EtcdClient& etcd() { return etcd_; }

 private:
  struct VersionKey {
    uint64_t value = 0;
    int64_t mod_revision = 0;  // 0: the key does not exist
  };
  // ReadUintKey reads a decimal counter key; DATA_LOSS if it holds something else.
  absl::StatusOr<VersionKey> ReadUintKey(const std::string& key, int64_t revision = 0);
  int64_t NowUnixMs() const;
  // RegistryWatch is what the node watch remembers between reports (etcd_store.cc).
  struct RegistryWatch;
  // ReadRegistry reads every record and lease at one revision into `watch` and returns them as a
  // full update.
  absl::StatusOr<RegistryUpdate> ReadRegistry(RegistryWatch& watch);
  // OnRegistryEvents turns the watch's events into changes (see RegistryWatch).
  void OnRegistryEvents(RegistryWatch& watch, const std::vector<mvccpb::Event>& events,
                        bool resync);

  EtcdClient& etcd_;
  const std::string prefix_;
  const Clock& clock_;
  absl::Mutex watch_mu_;
  std::unique_ptr<EtcdWatch> watch_ ABSL_GUARDED_BY(watch_mu_);
  std::unique_ptr<EtcdWatch> node_watch_ ABSL_GUARDED_BY(watch_mu_);
};

}  // namespace fleetbond::controller
