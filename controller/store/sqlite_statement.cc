#include "controller/store/sqlite_statement.h"

#include "absl/strings/str_format.h"

namespace fleetbond::controller {
namespace {

// NonNull keeps empty values values: SQLite binds a null pointer as SQL NULL.
const char* NonNull(absl::string_view value) { return value.data() ? value.data() : ""; }

const char* TypeName(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "INTEGER";
    case SQLITE_FLOAT:
      return "REAL";
    case SQLITE_TEXT:
      return "TEXT";
    case SQLITE_BLOB:
      return "BLOB";
    default:
      return "NULL";
  }
}

}  // namespace

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view operation) {
  const std::string message = absl::StrFormat(
      "sqlite: %s (in %s)", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), operation);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status SqliteExec(sqlite3* db, const char* sql, absl::string_view operation) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, operation);
  return absl::OkStatus();
}

absl::StatusOr<SqliteStatement> SqliteStatement::Prepare(sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, absl::StrFormat("preparing \"%s\"", sql));
  }
  return SqliteStatement(db, stmt);
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_status_ = absl::OkStatus();
}

void SqliteStatement::NoteBind(int rc, int index) {
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteError(db_, rc, absl::StrFormat("binding parameter %d", index));
  }
}

void SqliteStatement::BindInt64(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_.get(), index, value), index);
}

void SqliteStatement::BindText(int index, absl::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_.get(), index, NonNull(value), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8),
           index);
}

void SqliteStatement::BindBlob(int index, absl::string_view value) {
  NoteBind(sqlite3_bind_blob64(stmt_.get(), index, NonNull(value), value.size(), SQLITE_TRANSIENT),
           index);
}

void SqliteStatement::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_.get(), index), index);
}

absl::StatusOr<bool> SqliteStatement::Step(absl::string_view operation) {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, operation);
}

absl::Status SqliteStatement::Run(absl::string_view operation) {
  while (true) {
    absl::StatusOr<bool> row = Step(operation);
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

absl::Status SqliteStatement::WrongType(int column, absl::string_view expected) const {
  const char* name = sqlite3_column_name(stmt_.get(), column);
  return absl::DataLossError(absl::StrFormat(
      "sqlite: column %s holds %s, not %s (the database is damaged)", name ? name : "?",
      TypeName(sqlite3_column_type(stmt_.get(), column)), expected));
}

absl::StatusOr<int64_t> SqliteStatement::ColumnInt64(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) != SQLITE_INTEGER) {
    return WrongType(column, "INTEGER");
  }
  return sqlite3_column_int64(stmt_.get(), column);
}

absl::StatusOr<std::string> SqliteStatement::ColumnText(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) != SQLITE_TEXT) return WrongType(column, "TEXT");
  const auto* text = sqlite3_column_text(stmt_.get(), column);
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (size == 0) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

absl::StatusOr<std::string> SqliteStatement::ColumnBlob(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) != SQLITE_BLOB) return WrongType(column, "BLOB");
  const void* blob = sqlite3_column_blob(stmt_.get(), column);
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (size == 0) return std::string();
  return std::string(static_cast<const char*>(blob), static_cast<size_t>(size));
}

}  // namespace fleetbond::controller
