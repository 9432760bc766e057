// sqlite_statement.h
//
// A thin layer over SQLite's C API for SqliteStore: statuses from result codes, and a prepared
// statement whose values are always bound, never spliced into SQL text. Column readers check the
// stored type, so a damaged row becomes a DATA_LOSS status instead of a silent zero.
//
// Example:
//   FB_ASSIGN_OR_RETURN(SqliteStatement get, SqliteStatement::Prepare(db, "SELECT v FROM t WHERE
//   k=?")); get.BindText(1, key); FB_ASSIGN_OR_RETURN(bool row, get.Step("reading t")); if (row)
//   FB_ASSIGN_OR_RETURN(int64_t v, get.ColumnInt64(0));
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::controller {

// SqliteError returns the status for result code `rc`: "sqlite: <message> (in <operation>)".
// Corruption is DATA_LOSS, a busy or locked database UNAVAILABLE, a full disk RESOURCE_EXHAUSTED,
// a file that cannot be opened or written FAILED_PRECONDITION, anything else INTERNAL. `db` may be
// null (the message then comes from the code alone).
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view operation);

// SqliteExec runs SQL without parameters (schema statements, BEGIN, COMMIT).
absl::Status SqliteExec(sqlite3* db, const char* sql, absl::string_view operation);

// SqliteStatement is one prepared statement. Not thread-safe; its owner serializes access.
class SqliteStatement {
 public:
  static absl::StatusOr<SqliteStatement> Prepare(sqlite3* db, absl::string_view sql);

  SqliteStatement(SqliteStatement&&) = default;
  SqliteStatement& operator=(SqliteStatement&&) = default;

  // Reset makes the statement ready to run again and clears its bindings.
  void Reset();

  // Bind* set the parameter at 1-based `index`. A failure is remembered and returned by the
  // next Step.
  void BindInt64(int index, int64_t value);
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);
  void BindNull(int index);

  // Step advances to the next row: true if there is one, false when the statement is done.
  absl::StatusOr<bool> Step(absl::string_view operation);
  // Run steps a statement that returns no rows to its end.
  absl::Status Run(absl::string_view operation);

  // Column readers for the current row (0-based). Each checks the stored type and returns
  // DATA_LOSS naming the column when it is not the expected one.
  bool ColumnIsNull(int column) const;
  absl::StatusOr<int64_t> ColumnInt64(int column) const;
  absl::StatusOr<std::string> ColumnText(int column) const;
  absl::StatusOr<std::string> ColumnBlob(int column) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };

  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void NoteBind(int rc, int index);
  absl::Status WrongType(int column, absl::string_view expected) const;

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  absl::Status bind_status_;
};

}  // namespace fleetbond::controller
