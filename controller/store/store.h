// store.h
//
// Store is where the controller keeps what must survive it: the fleet's settings documents with
// their version history, the node registry, overlay address leases and the push-version counter.
// SqliteStore (sqlite_store.h) is the embedded default; EtcdStore (etcd_store.h) implements the
// same interface for several controller replicas sharing one etcd. MemoryStore (memory_store.h)
// serves tests and the load benchmark.
//
// Every call is atomic and safe from any thread. A call that returned OK is durable (SqliteStore:
// committed and fsynced), except SaveNodes, whose callers batch registry updates on purpose.
//
// A store several controller replicas share (EtcdStore) also reports what the others write:
// WatchSettings the settings version, WatchNodes the node registry with its overlay leases. Each
// replica's Fleet feeds them into its nodes' views, so every replica pushes the same settings and
// the same peer directory. A store only one controller writes needs neither (the defaults do
// nothing).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fleetbond/v1/settings.pb.h"

namespace fleetbond::controller {

// SettingsDocuments is every settings document of the fleet at one version. Scope "" is the
// fleet-wide document; other scopes are label selectors ("site=berlin,role=edge").
struct SettingsDocuments {
  uint64_t version = 0;  // 0: nothing was ever stored
  std::map<std::string, v1::Settings> scopes;
};

// SettingsChange is one entry of the history: the document of `scope` as it became at `version`
// (absent: the scope was deleted).
struct SettingsChange {
  uint64_t version = 0;
  std::string scope;
  std::optional<v1::Settings> settings;
  int64_t unix_ms = 0;
  std::string author;  // operator name, "" unknown
};

// NodeRecord is one node of the registry.
struct NodeRecord {
  std::string id;          // 10 hex digits
  std::string public_key;  // 32 raw bytes
  std::map<std::string, std::string> labels;
  std::vector<std::string> endpoints;  // data-plane "ip/port"
  std::string software_version;
  uint64_t acked_version = 0;
  uint64_t nacked_version = 0;
  std::string last_nack_error;
  int64_t first_seen_unix_ms = 0;
  int64_t last_seen_unix_ms = 0;

  friend bool operator==(const NodeRecord&, const NodeRecord&) = default;
};

// NodeChange is one change of the registry as Store::WatchNodes reports it.
struct NodeChange {
  std::string id;
  // The record as stored now; nullopt: the node was deleted from the registry.
  std::optional<NodeRecord> record;
  // The node's overlay address as leased now (a bare IP); "" when it holds none. Leases are
  // written apart from records: a lease stored after its record is reported as a change of the
  // record with the new address.
  std::string overlay;
};

// RegistryUpdate is one report of Store::WatchNodes: changes in the order they were stored (a
// node may change more than once). When `full`, the changes hold every node of the registry, and
// a node not among them is no longer in it: the first report of a watch, and any report after the
// watch had to read the registry again (etcd compacted the history it needed).
struct RegistryUpdate {
  bool full = false;
  std::vector<NodeChange> changes;
};

class Store {
 public:
  virtual ~Store() = default;

  // LoadSettings returns the current documents and version.
  virtual absl::StatusOr<SettingsDocuments> LoadSettings() = 0;
  // PutSettings sets (or, with nullopt, deletes) the document of `scope` and bumps the version by
  // one, in one transaction. expected_version 0 accepts any current version; otherwise a current
  // version other than it fails with ABORTED ("settings are at version N, not M") and changes
  // nothing. Returns the new version.
  virtual absl::StatusOr<uint64_t> PutSettings(absl::string_view scope,
                                               const std::optional<v1::Settings>& settings,
                                               uint64_t expected_version,
                                               absl::string_view author) = 0;
  // SettingsHistory returns the last `limit` changes, newest first.
  virtual absl::StatusOr<std::vector<SettingsChange>> SettingsHistory(size_t limit) = 0;

  // LoadNodes returns every node of the registry, ordered by id.
  virtual absl::StatusOr<std::vector<NodeRecord>> LoadNodes() = 0;
  // SaveNodes inserts or replaces the given records in one transaction.
  virtual absl::Status SaveNodes(const std::vector<NodeRecord>& nodes) = 0;
  // DeleteNode removes a node from the registry (its overlay lease stays: see LeaseOverlay).
  virtual absl::Status DeleteNode(absl::string_view id) = 0;

  // LeaseOverlays returns, for each node id, its overlay address (a bare IP inside `prefix`,
  // "10.147.0.0/16"): the one it already holds, or the lowest address of the prefix never handed
  // out before (the network and broadcast addresses excluded), recorded in one transaction before
  // this returns. An address once leased is never leased to another node. RESOURCE_EXHAUSTED when
  // the prefix is full; INVALID_ARGUMENT for a bad prefix. IPv4 and IPv6 prefixes both work.
  virtual absl::StatusOr<std::map<std::string, std::string>> LeaseOverlays(
      absl::string_view prefix, const std::vector<std::string>& node_ids) = 0;
  // Leases returns every lease: node id -> address.
  virtual absl::StatusOr<std::map<std::string, std::string>> Leases() = 0;

  // ReserveVersions reserves `count` push versions and returns the first: the range
  // [first, first + count) is above every version reserved before, also across restarts.
  virtual absl::StatusOr<uint64_t> ReserveVersions(uint64_t count) = 0;

  // WatchSettings makes the store call `on_change` with the settings version whenever settings
  // are stored by anyone sharing the store (another controller replica on the same etcd), this
  // store object included, and once with the current version when the watch starts. Calls come
  // from a thread of the store (or from WatchSettings itself), one at a time; a version may be
  // reported more than once. A store nobody else writes (SqliteStore, MemoryStore) needs no
  // watch: the default does nothing. StopWatchingSettings ends the watch; once it returns,
  // `on_change` is not called any more.
  virtual absl::Status WatchSettings(std::function<void(uint64_t version)> on_change) {
    (void)on_change;
    return absl::OkStatus();
  }
  virtual void StopWatchingSettings() {}

  // WatchNodes makes the store call `on_update` with changes of the node registry and of overlay
  // leases made by anyone sharing the store, this store object included (a writer hears its own
  // writes back). The first call, from WatchNodes itself before it returns, reports the whole
  // registry (`full`); later ones come from a thread of the store, one at a time, and together
  // miss no change made after the first (a watch broken by a restarting etcd resumes where it
  // stopped). The default does nothing, as for WatchSettings. StopWatchingNodes ends the watch;
  // once it returns, `on_update` is not called any more.
  virtual absl::Status WatchNodes(std::function<void(const RegistryUpdate& update)> on_update) {
    (void)on_update;
    return absl::OkStatus();
  }
  virtual void StopWatchingNodes() {}
};

}  // namespace fleetbond::controller
