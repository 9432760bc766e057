#include "controller/store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/store/overlay_prefix.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {
namespace {

constexpr char kSettingsVersionKey[] = "settings_version";
constexpr char kPushVersionHighKey[] = "push_version_high";
// kLeaseCursorKeyPrefix + canonical prefix: the key below which every host address of that
// prefix is known to be taken (leases are never freed, so it only moves up).
constexpr char kLeaseCursorKeyPrefix[] = "lease_cursor ";

constexpr int kBusyTimeoutMs = 5000;

// kSchemaV1 is the whole schema of version 1. Labels and endpoints live in tables of their own,
// so any bytes round-trip without an encoding of ours.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE settings_documents (
  scope TEXT PRIMARY KEY NOT NULL,
  settings BLOB NOT NULL  -- serialized fleetbond.v1.Settings
);
CREATE TABLE settings_history (
  version INTEGER PRIMARY KEY NOT NULL,
  scope TEXT NOT NULL,
  settings BLOB,  -- NULL: the scope was deleted
  unix_ms INTEGER NOT NULL,
  author TEXT NOT NULL
);
CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value NOT NULL
);
CREATE TABLE nodes (
  id TEXT PRIMARY KEY NOT NULL,
  public_key BLOB NOT NULL,
  software_version TEXT NOT NULL,
  acked_version INTEGER NOT NULL,
  nacked_version INTEGER NOT NULL,
  last_nack_error TEXT NOT NULL,
  first_seen_unix_ms INTEGER NOT NULL,
  last_seen_unix_ms INTEGER NOT NULL
);
CREATE TABLE node_labels (
  node_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (node_id, key)
) WITHOUT ROWID;
CREATE TABLE node_endpoints (
  node_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  endpoint TEXT NOT NULL,
  PRIMARY KEY (node_id, position)
) WITHOUT ROWID;
CREATE TABLE leases (
  node_id TEXT PRIMARY KEY NOT NULL,
  address TEXT NOT NULL UNIQUE,
  address_key BLOB NOT NULL UNIQUE,  -- 16 bytes big-endian, IPv4 mapped: orders like addresses
  leased_unix_ms INTEGER NOT NULL
);
CREATE TABLE retired_leases (
  address_key BLOB PRIMARY KEY NOT NULL,
  address TEXT NOT NULL,
  node_id TEXT NOT NULL,
  retired_unix_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// CreateDirectory creates `dir` (and its parents) if missing; the store's own directory gets
// mode 0700.
absl::Status CreateDirectory(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::path path(dir);
  if (std::filesystem::is_directory(path, ec)) return absl::OkStatus();
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrFormat("cannot create %s: %s", path.parent_path().string(), ec.message()));
    }
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", dir));
  }
  return absl::OkStatus();
}

// CreateDatabaseFile creates `path` with mode 0600 before SQLite opens it (SQLite would create it
// 0644); SQLite gives its -wal and -shm files the mode of the database.
absl::Status CreateDatabaseFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  close(fd);
  return absl::OkStatus();
}

int64_t ToInt64(uint64_t value) { return static_cast<int64_t>(value); }
uint64_t ToUint64(int64_t value) { return static_cast<uint64_t>(value); }

absl::StatusOr<v1::Settings> ParseSettings(absl::string_view bytes, absl::string_view what) {
  v1::Settings settings;
  if (!settings.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        absl::StrFormat("sqlite: %s does not parse as fleetbond.v1.Settings (the database is "
                        "damaged)",
                        what));
  }
  return settings;
}

std::string ScopeName(absl::string_view scope) {
  return scope.empty() ? std::string("the fleet-wide scope")
                       : absl::StrFormat("scope \"%s\"", absl::CHexEscape(scope));
}

}  // namespace

SqliteStore::SqliteStore(sqlite3* db, std::string path, const Clock& clock)
    : path_(std::move(path)), clock_(clock), db_(db) {}

SqliteStore::~SqliteStore() {
  absl::MutexLock lock(&mu_);
  statements_.clear();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& dir) {
  return Open(dir, SystemClock::Get());
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& dir,
                                                               const Clock& clock) {
  if (dir.empty()) return absl::InvalidArgumentError("the store directory is empty");
  FB_RETURN_IF_ERROR(CreateDirectory(dir));
  const std::string path = (std::filesystem::path(dir) / kDatabaseFile).string();
  FB_RETURN_IF_ERROR(CreateDatabaseFile(path));

  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(db, rc, absl::StrCat("opening ", path));
    sqlite3_close_v2(db);
    return status;
  }
  // The constructor is private, so make_unique cannot reach it.
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path, clock));
  absl::MutexLock lock(&store->mu_);
  if (absl::Status status = store->OpenSchema(); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  }
  return store;
}

absl::Status SqliteStore::OpenSchema() {
  constexpr absl::string_view operation = "opening the store";
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // The first statement reads the file: a file that is not a database fails here.
  FB_ASSIGN_OR_RETURN(SqliteStatement * journal, Statement("PRAGMA journal_mode=WAL"));
  FB_ASSIGN_OR_RETURN(bool row, journal->Step(operation));
  std::string mode;
  if (row) {
    FB_ASSIGN_OR_RETURN(mode, journal->ColumnText(0));
  }
  journal->Reset();
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrFormat("cannot use write-ahead logging (journal mode is \"%s\")", mode));
  }
  FB_RETURN_IF_ERROR(SqliteExec(db_, "PRAGMA synchronous=FULL", operation));

  return InTransaction(operation, Access::kWrite, [&]() -> absl::Status {
    FB_ASSIGN_OR_RETURN(SqliteStatement * version, Statement("PRAGMA user_version"));
    FB_ASSIGN_OR_RETURN(bool row, version->Step(operation));
    int64_t schema_version = 0;
    if (row) {
      FB_ASSIGN_OR_RETURN(schema_version, version->ColumnInt64(0));
    }
    version->Reset();
    if (schema_version == kSchemaVersion) return absl::OkStatus();
    if (schema_version != 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "schema version %d; this controller understands version %d only (was the store "
          "written by a newer fleetbond-controller?)",
          schema_version, kSchemaVersion));
    }
    // A database without a version must also be empty: refuse to mix our tables into a foreign
    // one.
    FB_ASSIGN_OR_RETURN(SqliteStatement * tables,
                        Statement("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"));
    FB_ASSIGN_OR_RETURN(row, tables->Step(operation));
    int64_t table_count = 0;
    if (row) {
      FB_ASSIGN_OR_RETURN(table_count, tables->ColumnInt64(0));
    }
    if (table_count != 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "holds %d tables but no fleetbond schema version; it is not a fleetbond store",
          table_count));
    }
    FB_RETURN_IF_ERROR(SqliteExec(db_, kSchemaV1, "creating the schema"));
    return SqliteExec(db_, "PRAGMA user_version = 1", "setting the schema version");
  });
}

absl::Status SqliteStore::InTransaction(absl::string_view operation, Access access,
                                        const std::function<absl::Status()>& body) {
  absl::Status status = SqliteExec(db_, access == Access::kWrite ? "BEGIN IMMEDIATE" : "BEGIN",
                                   absl::StrCat("beginning ", operation));
  if (!status.ok()) return StorageFailure(operation, access, std::move(status));
  status = body();
  // Statements still stepping would hold the read snapshot open past the transaction.
  ResetStatements();
  if (status.ok()) {
    status = SqliteExec(db_, "COMMIT", absl::StrCat("committing ", operation));
    if (status.ok()) return status;
  }
  // Read before the rollback, which sets an error code of its own.
  status = StorageFailure(operation, access, std::move(status));
  // After some errors SQLite has already rolled back; then there is nothing left to undo.
  if (!sqlite3_get_autocommit(db_)) {
    SqliteExec(db_, "ROLLBACK", absl::StrCat("rolling back ", operation)).IgnoreError();
  }
  return status;
}

absl::Status SqliteStore::StorageFailure(absl::string_view operation, Access access,
                                         absl::Status status) {
  // Only SQLite's own failures carry an error code worth reading; a refusal of ours (ABORTED,
  // NOT_FOUND, ...) is passed on as it is.
  if (status.ok() || access != Access::kWrite ||
      (status.code() != absl::StatusCode::kInternal &&
       status.code() != absl::StatusCode::kResourceExhausted &&
       status.code() != absl::StatusCode::kFailedPrecondition)) {
    return status;
  }
  const int code = sqlite3_extended_errcode(db_);
  const char* cause = nullptr;
  absl::StatusCode kind = absl::StatusCode::kUnavailable;
  switch (code & 0xff) {
    case SQLITE_FULL:
      cause = "its disk is full";
      kind = absl::StatusCode::kResourceExhausted;
      break;
    case SQLITE_READONLY:
      cause = "it is read-only";
      break;
    case SQLITE_IOERR:
      // A file system remounted read-only after an error answers writes with EROFS, which SQLite
      // reports as an I/O error.
      cause = "writing to it fails (an I/O error, or its file system went read-only)";
      break;
    case SQLITE_CANTOPEN:
      cause = "a file of it cannot be opened for writing";
      break;
    default:
      return status;
  }
  return absl::Status(
      kind, absl::StrFormat("the store %s cannot take changes now (%s): %s failed and changed "
                            "nothing; reads are still served (%s)",
                            path_, cause, operation, status.message()));
}

absl::StatusOr<SqliteStatement*> SqliteStore::Statement(absl::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    FB_ASSIGN_OR_RETURN(SqliteStatement statement, SqliteStatement::Prepare(db_, sql));
    it = statements_
             .emplace(std::string(sql), std::make_unique<SqliteStatement>(std::move(statement)))
             .first;
  }
  it->second->Reset();
  return it->second.get();
}

void SqliteStore::ResetStatements() {
  for (auto& [sql, statement] : statements_) statement->Reset();
}

absl::StatusOr<uint64_t> SqliteStore::ReadMetaUint(absl::string_view key) {
  FB_ASSIGN_OR_RETURN(SqliteStatement * get, Statement("SELECT value FROM meta WHERE key = ?1"));
  get->BindText(1, key);
  FB_ASSIGN_OR_RETURN(bool row, get->Step(absl::StrCat("reading ", key)));
  if (!row) return 0;
  FB_ASSIGN_OR_RETURN(int64_t value, get->ColumnInt64(0));
  return ToUint64(value);
}

absl::StatusOr<std::optional<std::string>> SqliteStore::ReadMetaBlob(absl::string_view key) {
  FB_ASSIGN_OR_RETURN(SqliteStatement * get, Statement("SELECT value FROM meta WHERE key = ?1"));
  get->BindText(1, key);
  FB_ASSIGN_OR_RETURN(bool row, get->Step(absl::StrCat("reading ", key)));
  if (!row) return std::nullopt;
  FB_ASSIGN_OR_RETURN(std::string value, get->ColumnBlob(0));
  return value;
}

absl::Status SqliteStore::WriteMetaUint(absl::string_view key, uint64_t value) {
  FB_ASSIGN_OR_RETURN(SqliteStatement * put,
                      Statement("INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  put->BindText(1, key);
  put->BindInt64(2, ToInt64(value));
  return put->Run(absl::StrCat("writing ", key));
}

absl::Status SqliteStore::WriteMetaBlob(absl::string_view key, absl::string_view value) {
  FB_ASSIGN_OR_RETURN(SqliteStatement * put,
                      Statement("INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  put->BindText(1, key);
  put->BindBlob(2, value);
  return put->Run(absl::StrCat("writing ", key));
}

int64_t SqliteStore::NowUnixMs() const { return absl::ToUnixMillis(clock_.Now()); }

// --- Settings ---

absl::StatusOr<SettingsDocuments> SqliteStore::LoadSettings() {
  absl::MutexLock lock(&mu_);
  SettingsDocuments documents;
  FB_RETURN_IF_ERROR(InTransaction("loading settings", Access::kRead, [&]() -> absl::Status {
    FB_ASSIGN_OR_RETURN(documents.version, ReadMetaUint(kSettingsVersionKey));
    FB_ASSIGN_OR_RETURN(SqliteStatement * list,
                        Statement("SELECT scope, settings FROM settings_documents"));
    while (true) {
      FB_ASSIGN_OR_RETURN(bool row, list->Step("loading settings"));
      if (!row) return absl::OkStatus();
      FB_ASSIGN_OR_RETURN(std::string scope, list->ColumnText(0));
      FB_ASSIGN_OR_RETURN(std::string bytes, list->ColumnBlob(1));
      FB_ASSIGN_OR_RETURN(
          documents.scopes[scope],
          ParseSettings(bytes, absl::StrCat("the settings document of ", ScopeName(scope))));
    }
  }));
  return documents;
}

absl::StatusOr<uint64_t> SqliteStore::PutSettings(absl::string_view scope,
                                                  const std::optional<v1::Settings>& settings,
                                                  uint64_t expected_version,
                                                  absl::string_view author) {
  std::optional<std::string> bytes;
  if (settings.has_value()) {
    bytes.emplace();
    if (!settings->SerializeToString(&*bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the settings document of ", ScopeName(scope), " cannot be serialized"));
    }
  }
  const int64_t now_ms = NowUnixMs();
  absl::MutexLock lock(&mu_);
  uint64_t new_version = 0;
  FB_RETURN_IF_ERROR(InTransaction("storing settings", Access::kWrite, [&]() -> absl::Status {
    FB_ASSIGN_OR_RETURN(const uint64_t current, ReadMetaUint(kSettingsVersionKey));
    if (expected_version != 0 && current != expected_version) {
      return absl::AbortedError(
          absl::StrFormat("settings are at version %d, not %d", current, expected_version));
    }
    if (bytes.has_value()) {
      FB_ASSIGN_OR_RETURN(
          SqliteStatement * put,
          Statement("INSERT INTO settings_documents (scope, settings) VALUES (?1, ?2) "
                    "ON CONFLICT (scope) DO UPDATE SET settings = excluded.settings"));
      put->BindText(1, scope);
      put->BindBlob(2, *bytes);
      FB_RETURN_IF_ERROR(put->Run("storing a settings document"));
    } else {
      FB_ASSIGN_OR_RETURN(SqliteStatement * del,
                          Statement("DELETE FROM settings_documents WHERE scope = ?1"));
      del->BindText(1, scope);
      FB_RETURN_IF_ERROR(del->Run("deleting a settings document"));
      if (sqlite3_changes(db_) == 0) {
        return absl::NotFoundError(absl::StrCat(ScopeName(scope), " has no settings document"));
      }
    }
    new_version = current + 1;
    FB_RETURN_IF_ERROR(WriteMetaUint(kSettingsVersionKey, new_version));
    FB_ASSIGN_OR_RETURN(SqliteStatement * history,
                        Statement("INSERT INTO settings_history "
                                  "(version, scope, settings, unix_ms, author) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5)"));
    history->BindInt64(1, ToInt64(new_version));
    history->BindText(2, scope);
    if (bytes.has_value()) {
      history->BindBlob(3, *bytes);
    } else {
      history->BindNull(3);
    }
    history->BindInt64(4, now_ms);
    history->BindText(5, author);
    return history->Run("recording settings history");
  }));
  return new_version;
}

absl::StatusOr<std::vector<SettingsChange>> SqliteStore::SettingsHistory(size_t limit) {
  absl::MutexLock lock(&mu_);
  std::vector<SettingsChange> changes;
  FB_RETURN_IF_ERROR(InTransaction("reading settings history", Access::kRead, [&]() {
    FB_ASSIGN_OR_RETURN(SqliteStatement * list,
                        Statement("SELECT version, scope, settings, unix_ms, author "
                                  "FROM settings_history ORDER BY version DESC LIMIT ?1"));
    list->BindInt64(
        1, static_cast<int64_t>(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max())));
    while (true) {
      FB_ASSIGN_OR_RETURN(bool row, list->Step("reading settings history"));
      if (!row) return absl::OkStatus();
      SettingsChange change;
      FB_ASSIGN_OR_RETURN(const int64_t version, list->ColumnInt64(0));
      change.version = ToUint64(version);
      FB_ASSIGN_OR_RETURN(change.scope, list->ColumnText(1));
      if (!list->ColumnIsNull(2)) {
        FB_ASSIGN_OR_RETURN(std::string bytes, list->ColumnBlob(2));
        FB_ASSIGN_OR_RETURN(
            change.settings,
            ParseSettings(bytes, absl::StrCat("settings history version ", change.version)));
      }
      FB_ASSIGN_OR_RETURN(change.unix_ms, list->ColumnInt64(3));
      FB_ASSIGN_OR_RETURN(change.author, list->ColumnText(4));
      changes.push_back(std::move(change));
    }
  }));
  return changes;
}

// --- Node registry ---

absl::StatusOr<std::vector<NodeRecord>> SqliteStore::LoadNodes() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, NodeRecord> nodes;
  FB_RETURN_IF_ERROR(InTransaction("loading nodes", Access::kRead, [&]() -> absl::Status {
    FB_ASSIGN_OR_RETURN(SqliteStatement * list,
                        Statement("SELECT id, public_key, software_version, acked_version, "
                                  "nacked_version, last_nack_error, first_seen_unix_ms, "
                                  "last_seen_unix_ms FROM nodes"));
    while (true) {
      FB_ASSIGN_OR_RETURN(bool row, list->Step("loading nodes"));
      if (!row) break;
      NodeRecord node;
      FB_ASSIGN_OR_RETURN(node.id, list->ColumnText(0));
      FB_ASSIGN_OR_RETURN(node.public_key, list->ColumnBlob(1));
      FB_ASSIGN_OR_RETURN(node.software_version, list->ColumnText(2));
      FB_ASSIGN_OR_RETURN(const int64_t acked, list->ColumnInt64(3));
      node.acked_version = ToUint64(acked);
      FB_ASSIGN_OR_RETURN(const int64_t nacked, list->ColumnInt64(4));
      node.nacked_version = ToUint64(nacked);
      FB_ASSIGN_OR_RETURN(node.last_nack_error, list->ColumnText(5));
      FB_ASSIGN_OR_RETURN(node.first_seen_unix_ms, list->ColumnInt64(6));
      FB_ASSIGN_OR_RETURN(node.last_seen_unix_ms, list->ColumnInt64(7));
      std::string id = node.id;
      nodes.emplace(std::move(id), std::move(node));
    }
    // Rows of a node that is gone cannot exist (SaveNodes and DeleteNode write them together),
    // so a stray one is skipped rather than invented into a node.
    FB_ASSIGN_OR_RETURN(SqliteStatement * labels,
                        Statement("SELECT node_id, key, value FROM node_labels"));
    while (true) {
      FB_ASSIGN_OR_RETURN(bool row, labels->Step("loading node labels"));
      if (!row) break;
      FB_ASSIGN_OR_RETURN(std::string id, labels->ColumnText(0));
      FB_ASSIGN_OR_RETURN(std::string key, labels->ColumnText(1));
      FB_ASSIGN_OR_RETURN(std::string value, labels->ColumnText(2));
      auto it = nodes.find(id);
      if (it != nodes.end()) it->second.labels[std::move(key)] = std::move(value);
    }
    FB_ASSIGN_OR_RETURN(
        SqliteStatement * endpoints,
        Statement("SELECT node_id, endpoint FROM node_endpoints ORDER BY node_id, position"));
    while (true) {
      FB_ASSIGN_OR_RETURN(bool row, endpoints->Step("loading node endpoints"));
      if (!row) break;
      FB_ASSIGN_OR_RETURN(std::string id, endpoints->ColumnText(0));
      FB_ASSIGN_OR_RETURN(std::string endpoint, endpoints->ColumnText(1));
      auto it = nodes.find(id);
      if (it != nodes.end()) it->second.endpoints.push_back(std::move(endpoint));
    }
    return absl::OkStatus();
  }));
  std::vector<NodeRecord> ordered;
  ordered.reserve(nodes.size());
  for (auto& [id, node] : nodes) ordered.push_back(std::move(node));
  return ordered;
}

absl::Status SqliteStore::SaveNodes(const std::vector<NodeRecord>& nodes) {
  absl::MutexLock lock(&mu_);
  // Registry updates are batched by the caller and need not be fsynced one by one (see Store):
  // with synchronous=NORMAL a WAL commit is ordered but not flushed; the next FULL commit or
  // checkpoint flushes it.
  FB_RETURN_IF_ERROR(SqliteExec(db_, "PRAGMA synchronous=NORMAL", "saving nodes"));
  absl::Status status = InTransaction("saving nodes", Access::kWrite, [&]() -> absl::Status {
    FB_ASSIGN_OR_RETURN(
        SqliteStatement * put,
        Statement("INSERT INTO nodes (id, public_key, software_version, acked_version, "
                  "nacked_version, last_nack_error, first_seen_unix_ms, last_seen_unix_ms) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET "
                  "public_key = excluded.public_key, "
                  "software_version = excluded.software_version, "
                  "acked_version = excluded.acked_version, "
                  "nacked_version = excluded.nacked_version, "
                  "last_nack_error = excluded.last_nack_error, "
                  "first_seen_unix_ms = excluded.first_seen_unix_ms, "
                  "last_seen_unix_ms = excluded.last_seen_unix_ms"));
    FB_ASSIGN_OR_RETURN(SqliteStatement * clear_labels,
                        Statement("DELETE FROM node_labels WHERE node_id = ?1"));
    FB_ASSIGN_OR_RETURN(SqliteStatement * clear_endpoints,
                        Statement("DELETE FROM node_endpoints WHERE node_id = ?1"));
    FB_ASSIGN_OR_RETURN(SqliteStatement * put_label,
                        Statement("INSERT INTO node_labels (node_id, key, value) "
                                  "VALUES (?1, ?2, ?3)"));
    FB_ASSIGN_OR_RETURN(SqliteStatement * put_endpoint,
                        Statement("INSERT INTO node_endpoints (node_id, position, endpoint) "
                                  "VALUES (?1, ?2, ?3)"));
    for (const NodeRecord& node : nodes) {
      put->Reset();
      put->BindText(1, node.id);
      put->BindBlob(2, node.public_key);
      put->BindText(3, node.software_version);
      put->BindInt64(4, ToInt64(node.acked_version));
      put->BindInt64(5, ToInt64(node.nacked_version));
      put->BindText(6, node.last_nack_error);
      put->BindInt64(7, node.first_seen_unix_ms);
      put->BindInt64(8, node.last_seen_unix_ms);
      FB_RETURN_IF_ERROR(put->Run("saving a node"));
      clear_labels->Reset();
      clear_labels->BindText(1, node.id);
      FB_RETURN_IF_ERROR(clear_labels->Run("saving node labels"));
      clear_endpoints->Reset();
      clear_endpoints->BindText(1, node.id);
      FB_RETURN_IF_ERROR(clear_endpoints->Run("saving node endpoints"));
      for (const auto& [key, value] : node.labels) {
        put_label->Reset();
        put_label->BindText(1, node.id);
        put_label->BindText(2, key);
        put_label->BindText(3, value);
        FB_RETURN_IF_ERROR(put_label->Run("saving node labels"));
      }
      for (size_t i = 0; i < node.endpoints.size(); ++i) {
        put_endpoint->Reset();
        put_endpoint->BindText(1, node.id);
        put_endpoint->BindInt64(2, static_cast<int64_t>(i));
        put_endpoint->BindText(3, node.endpoints[i]);
        FB_RETURN_IF_ERROR(put_endpoint->Run("saving node endpoints"));
      }
    }
    return absl::OkStatus();
  });
  const absl::Status restored = SqliteExec(db_, "PRAGMA synchronous=FULL", "saving nodes");
  FB_RETURN_IF_ERROR(status);
  return restored;
}

absl::Status SqliteStore::DeleteNode(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  return InTransaction("deleting a node", Access::kWrite, [&]() -> absl::Status {
    for (const char* sql : {"DELETE FROM node_labels WHERE node_id = ?1",
                            "DELETE FROM node_endpoints WHERE node_id = ?1"}) {
      FB_ASSIGN_OR_RETURN(SqliteStatement * del, Statement(sql));
      del->BindText(1, id);
      FB_RETURN_IF_ERROR(del->Run("deleting a node"));
    }
    FB_ASSIGN_OR_RETURN(SqliteStatement * del, Statement("DELETE FROM nodes WHERE id = ?1"));
    del->BindText(1, id);
    FB_RETURN_IF_ERROR(del->Run("deleting a node"));
    if (sqlite3_changes(db_) == 0) {
      return absl::NotFoundError(
          absl::StrFormat("node \"%s\" is not in the registry", absl::CHexEscape(id)));
    }
    return absl::OkStatus();
  });
}

// --- Overlay leases ---

absl::StatusOr<std::map<std::string, std::string>> SqliteStore::LeaseOverlays(
    absl::string_view prefix_text, const std::vector<std::string>& node_ids) {
  FB_ASSIGN_OR_RETURN(const OverlayPrefix prefix, OverlayPrefix::Parse(prefix_text));
  const int64_t now_ms = NowUnixMs();
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> result;
  FB_RETURN_IF_ERROR(
      InTransaction("leasing overlay addresses", Access::kWrite, [&]() -> absl::Status {
        FB_ASSIGN_OR_RETURN(
            SqliteStatement * get,
            Statement("SELECT address, address_key FROM leases WHERE node_id = ?1"));
        FB_ASSIGN_OR_RETURN(SqliteStatement * retire,
                            Statement("INSERT INTO retired_leases "
                                      "(address_key, address, node_id, retired_unix_ms) "
                                      "SELECT address_key, address, node_id, ?2 FROM leases "
                                      "WHERE node_id = ?1"));
        FB_ASSIGN_OR_RETURN(SqliteStatement * drop,
                            Statement("DELETE FROM leases WHERE node_id = ?1"));
        std::vector<const std::string*> unleased;
        std::set<absl::string_view> seen;
        for (const std::string& id : node_ids) {
          if (!seen.insert(id).second) continue;
          get->Reset();
          get->BindText(1, id);
          FB_ASSIGN_OR_RETURN(bool row, get->Step("reading a lease"));
          if (row) {
            FB_ASSIGN_OR_RETURN(std::string address, get->ColumnText(0));
            FB_ASSIGN_OR_RETURN(std::string key_bytes, get->ColumnBlob(1));
            const std::optional<absl::uint128> key = AddressKeyFromBytes(key_bytes);
            if (!key.has_value()) {
              return absl::DataLossError(
                  absl::StrFormat("sqlite: the lease of node \"%s\" has a damaged address key",
                                  absl::CHexEscape(id)));
            }
            if (prefix.ContainsHost(*key)) {
              result[id] = std::move(address);
              continue;
            }
            // Leased in a former overlay prefix: retire that address (it stays taken) and lease
            // anew.
            retire->Reset();
            retire->BindText(1, id);
            retire->BindInt64(2, now_ms);
            FB_RETURN_IF_ERROR(retire->Run("retiring a lease"));
            drop->Reset();
            drop->BindText(1, id);
            FB_RETURN_IF_ERROR(drop->Run("retiring a lease"));
          }
          unleased.push_back(&id);
        }
        if (unleased.empty()) return absl::OkStatus();

        FB_ASSIGN_OR_RETURN(const std::vector<absl::uint128> keys,
                            AllocateAddresses(prefix, unleased.size()));
        FB_ASSIGN_OR_RETURN(SqliteStatement * put,
                            Statement("INSERT INTO leases (node_id, address, address_key, "
                                      "leased_unix_ms) VALUES (?1, ?2, ?3, ?4)"));
        for (size_t i = 0; i < unleased.size(); ++i) {
          std::string address = FormatAddressKey(keys[i]);
          put->Reset();
          put->BindText(1, *unleased[i]);
          put->BindText(2, address);
          put->BindBlob(3, AddressKeyBytes(keys[i]));
          put->BindInt64(4, now_ms);
          FB_RETURN_IF_ERROR(put->Run("recording a lease"));
          result[*unleased[i]] = std::move(address);
        }
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<std::vector<absl::uint128>> SqliteStore::AllocateAddresses(
    const OverlayPrefix& prefix, size_t count) {
  const std::string cursor_key = absl::StrCat(kLeaseCursorKeyPrefix, prefix.ToString());
  FB_ASSIGN_OR_RETURN(std::optional<std::string> cursor_bytes, ReadMetaBlob(cursor_key));
  absl::uint128 cursor = prefix.first_host();
  if (cursor_bytes.has_value()) {
    const std::optional<absl::uint128> stored = AddressKeyFromBytes(*cursor_bytes);
    if (!stored.has_value()) {
      return absl::DataLossError(
          absl::StrFormat("sqlite: the lease cursor of %s is damaged", prefix.ToString()));
    }
    cursor = *stored;
  }
  FB_ASSIGN_OR_RETURN(
      SqliteStatement * used,
      Statement("SELECT address_key FROM leases WHERE address_key BETWEEN ?1 AND ?2 "
                "UNION ALL "
                "SELECT address_key FROM retired_leases WHERE address_key BETWEEN ?1 AND ?2 "
                "ORDER BY 1"));
  used->BindBlob(1, AddressKeyBytes(std::max(cursor, prefix.first_host())));
  used->BindBlob(2, AddressKeyBytes(prefix.last_host()));
  const NextUsedKey next_used = [&]() -> absl::StatusOr<std::optional<absl::uint128>> {
    FB_ASSIGN_OR_RETURN(bool row, used->Step("reading leased addresses"));
    if (!row) return std::nullopt;
    FB_ASSIGN_OR_RETURN(std::string bytes, used->ColumnBlob(0));
    const std::optional<absl::uint128> key = AddressKeyFromBytes(bytes);
    if (!key.has_value()) {
      return absl::DataLossError("sqlite: a leased address key is damaged");
    }
    return key;
  };
  FB_ASSIGN_OR_RETURN(std::vector<absl::uint128> keys,
                      AllocateLowestFree(prefix, cursor, count, next_used));
  used->Reset();
  if (keys.empty()) return keys;
  // Every host from the old cursor up to the last key handed out is now taken.
  FB_RETURN_IF_ERROR(WriteMetaBlob(cursor_key, AddressKeyBytes(keys.back() + 1)));
  return keys;
}

absl::StatusOr<std::map<std::string, std::string>> SqliteStore::Leases() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> leases;
  FB_RETURN_IF_ERROR(InTransaction("reading leases", Access::kRead, [&]() -> absl::Status {
    FB_ASSIGN_OR_RETURN(SqliteStatement * list, Statement("SELECT node_id, address FROM leases"));
    while (true) {
      FB_ASSIGN_OR_RETURN(bool row, list->Step("reading leases"));
      if (!row) return absl::OkStatus();
      FB_ASSIGN_OR_RETURN(std::string id, list->ColumnText(0));
      FB_ASSIGN_OR_RETURN(leases[id], list->ColumnText(1));
    }
  }));
  return leases;
}

// --- Push versions ---

absl::StatusOr<uint64_t> SqliteStore::ReserveVersions(uint64_t count) {
  if (count == 0) return absl::InvalidArgumentError("cannot reserve 0 push versions");
  absl::MutexLock lock(&mu_);
  uint64_t first = 0;
  FB_RETURN_IF_ERROR(InTransaction("reserving push versions", Access::kWrite, [&]() {
    FB_ASSIGN_OR_RETURN(const uint64_t high, ReadMetaUint(kPushVersionHighKey));
    if (count > std::numeric_limits<uint64_t>::max() - high) {
      return absl::OutOfRangeError(absl::StrFormat(
          "cannot reserve %d push versions above %d: the counter would overflow", count, high));
    }
    first = high + 1;
    return WriteMetaUint(kPushVersionHighKey, high + count);
  }));
  return first;
}

}  // namespace fleetbond::controller
