// sqlite_store.h
//
// SqliteStore is the controller's embedded Store: one SQLite database, DIR/fleet.db, in WAL mode
// with synchronous=FULL, so every call that returned OK has been fsynced (SaveNodes excepted, as
// Store documents: its commits reach the disk with the next other write or checkpoint). The
// directory is created with mode 0700 and the database with 0600.
//
// Every call is one transaction on one connection behind a mutex. Values are always bound to
// prepared statements. The schema carries its version in PRAGMA user_version; a database written
// by a newer controller is refused, not guessed at. Damaged rows give DATA_LOSS. A write that the
// disk cannot take (full: RESOURCE_EXHAUSTED; read-only or failing: UNAVAILABLE) is rolled back and
// changes nothing; reads keep working, and writes work again once the disk does.
//
// Choices the Store interface leaves open:
//   - Deleting a settings scope that has no document is NOT_FOUND and changes nothing (no version
//     is spent on it); so is DeleteNode of a node that is not in the registry.
//   - A lease whose address lies outside the prefix LeaseOverlays is called with (the overlay
//     prefix was changed) is retired and the node gets a fresh address inside the new prefix. A
//     retired address stays recorded, so it is never handed to another node either, even if the
//     prefix is changed back. Leases() shows only current leases.
//   - ReserveVersions(0) is INVALID_ARGUMENT; versions start at 1.
//
// Example:
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
//   SqliteStore::Open("/var/lib/fleetbond")); FB_ASSIGN_OR_RETURN(uint64_t version,
//   store->PutSettings("", settings, 0, "alice"));
#pragma once

#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/overlay_prefix.h"
#include "controller/store/sqlite_statement.h"
#include "controller/store/store.h"
#include "shared/clock.h"

namespace fleetbond::controller {

class SqliteStore final : public Store {
 public:
  // kSchemaVersion is the PRAGMA user_version this code writes and understands.
  static constexpr int kSchemaVersion = 1;
  // kDatabaseFile is the name of the database inside the store's directory.
  static constexpr char kDatabaseFile[] = "fleet.db";

  // Open opens (or creates) the store in `dir`. History and lease times come from `clock`, which
  // must outlive the store. FAILED_PRECONDITION for a schema newer than kSchemaVersion, DATA_LOSS
  // for a file that is not a healthy database.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& dir);
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& dir,
                                                           const Clock& clock);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // path is DIR/fleet.db.
  const std::string& path() const { return path_; }

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

 private:
  enum class Access { kRead, kWrite };

  SqliteStore(sqlite3* db, std::string path, const Clock& clock);

  // OpenSchema creates the tables of a new database or checks the version of an existing one.
  absl::Status OpenSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // InTransaction runs `body` in one transaction (BEGIN IMMEDIATE for writes) and commits if it
  // returned OK, rolls back otherwise.
  absl::Status InTransaction(absl::string_view operation, Access access,
                             const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // StorageFailure turns a failed write of SQLite's (disk full, read-only file system, I/O error)
  // into RESOURCE_EXHAUSTED or UNAVAILABLE with a sentence that names the store and says that
  // nothing was stored; any other status is returned as it is.
  absl::Status StorageFailure(absl::string_view operation, Access access, absl::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Statement returns the cached prepared statement for `sql`, reset and unbound.
  absl::StatusOr<SqliteStatement*> Statement(absl::string_view sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResetStatements() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Meta values: integers stored as int64 (uint64 values keep their bits), blobs as they are.
  absl::StatusOr<uint64_t> ReadMetaUint(absl::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<std::string>> ReadMetaBlob(absl::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteMetaUint(absl::string_view key, uint64_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteMetaBlob(absl::string_view key, absl::string_view value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // AllocateAddresses returns the `count` lowest host keys of `prefix` that were never leased
  // and moves the prefix's lease cursor past them; the caller records the leases in the same
  // transaction.
  absl::StatusOr<std::vector<absl::uint128>> AllocateAddresses(const OverlayPrefix& prefix,
                                                               size_t count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int64_t NowUnixMs() const;

  const std::string path_;
  const Clock& clock_;
  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<SqliteStatement>, std::less<>> statements_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace fleetbond::controller
