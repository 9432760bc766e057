// What only the SQLite store promises: durability, file modes, refusing what it cannot read.

#include "controller/store/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/clock.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/store/temp_dir.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::fleetbond::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;

v1::Settings SettingsWithPolicy(const std::string& name) {
  v1::Settings settings;
  settings.set_default_bonding_policy(name);
  return settings;
}

std::string DatabasePath(const std::string& dir) { return dir + "/" + SqliteStore::kDatabaseFile; }

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// RawSql runs `sql` on the database behind the store's back, as damage or another program would.
void RawSql(const std::string& dir, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(DatabasePath(dir).c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << " in " << sql;
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, EverythingReturnedOkIsThereAfterReopen) {
  TempDir dir;
  FakeClock clock;
  NodeRecord node;
  node.id = "aaaaaaaaaa";
  node.public_key = std::string("\0\x01\0", 3);
  node.labels = {{"site", "berlin"}};
  node.endpoints = {"192.0.2.1/9800", "192.0.2.2/9800"};
  node.acked_version = 7;
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path(), clock);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->PutSettings("", SettingsWithPolicy("fleet"), 0, "alice"), IsOk());
    ASSERT_THAT((*store)->PutSettings("site=berlin", SettingsWithPolicy("b"), 1, "bob"), IsOk());
    ASSERT_THAT((*store)->SaveNodes({node}), IsOk());
    ASSERT_THAT((*store)->LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa", "bbbbbbbbbb"}), IsOk());
    ASSERT_THAT((*store)->ReserveVersions(100), IsOkAndHolds(1u));
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path(), clock);
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<SettingsDocuments> documents = (*store)->LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_EQ(documents->version, 2u);
  EXPECT_THAT(documents->scopes, SizeIs(2));
  EXPECT_EQ(documents->scopes[""].default_bonding_policy(), "fleet");
  EXPECT_THAT((*store)->SettingsHistory(10), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT((*store)->LoadNodes(), IsOkAndHolds(ElementsAre(node)));
  EXPECT_THAT((*store)->Leases(), IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"),
                                                           Pair("bbbbbbbbbb", "10.147.0.2"))));
  EXPECT_THAT((*store)->LeaseOverlays("10.147.0.0/16", {"cccccccccc"}),
              IsOkAndHolds(ElementsAre(Pair("cccccccccc", "10.147.0.3"))));
  // The version counter continues above the reserved range, and the settings version too.
  EXPECT_THAT((*store)->ReserveVersions(1), IsOkAndHolds(101u));
  EXPECT_THAT((*store)->PutSettings("", SettingsWithPolicy("x"), 2, "alice"), IsOkAndHolds(3u));
}

TEST(SqliteStoreTest, CreatesPrivateDirectoryAndDatabase) {
  TempDir parent;
  const std::string dir = parent.path() + "/var/lib/fleetbond";
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir);
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->PutSettings("", SettingsWithPolicy("fleet"), 0, ""), IsOk());
  EXPECT_EQ((*store)->path(), DatabasePath(dir));
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(DatabasePath(dir)), 0600u);
  const std::string wal = DatabasePath(dir) + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_EQ(ModeOf(wal), 0600u);
}

TEST(SqliteStoreTest, FileThatIsNotADatabaseIsDataLossNotACrash) {
  TempDir dir;
  {
    std::ofstream garbage(DatabasePath(dir.path()), std::ios::binary);
    for (int i = 0; i < 1000; ++i) garbage << "this is not a database " << i << "\n";
  }
  EXPECT_THAT(SqliteStore::Open(dir.path()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("not a database"), HasSubstr(DatabasePath(dir.path())))));
}

TEST(SqliteStoreTest, NewerSchemaIsFailedPrecondition) {
  TempDir dir;
  ASSERT_THAT(SqliteStore::Open(dir.path()), IsOk());
  RawSql(dir.path(), "PRAGMA user_version = 2");
  EXPECT_THAT(SqliteStore::Open(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("schema version 2"), HasSubstr("newer"))));
}

TEST(SqliteStoreTest, ForeignDatabaseIsRefused) {
  TempDir dir;
  RawSql(dir.path(), "CREATE TABLE accounts (name TEXT)");
  EXPECT_THAT(SqliteStore::Open(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a fleetbond store")));
}

TEST(SqliteStoreTest, DamagedSettingsRowIsDataLoss) {
  TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->PutSettings("site=x", SettingsWithPolicy("fleet"), 0, ""), IsOk());
  }
  RawSql(dir.path(), "UPDATE settings_documents SET settings = x'ffffffff'");
  RawSql(dir.path(), "UPDATE settings_history SET settings = 'text, not a blob'");
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->LoadSettings(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("scope \"site=x\"")));
  EXPECT_THAT((*store)->SettingsHistory(10),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("settings")));
}

TEST(SqliteStoreTest, DamagedNodeAndLeaseRowsAreDataLoss) {
  TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
    ASSERT_THAT(store, IsOk());
    NodeRecord node;
    node.id = "aaaaaaaaaa";
    ASSERT_THAT((*store)->SaveNodes({node}), IsOk());
    ASSERT_THAT((*store)->LeaseOverlays("10.0.0.0/24", {"aaaaaaaaaa"}), IsOk());
    ASSERT_THAT((*store)->ReserveVersions(3), IsOk());
  }
  RawSql(dir.path(), "UPDATE nodes SET acked_version = 'many'");
  RawSql(dir.path(), "UPDATE leases SET address_key = x'0102'");
  RawSql(dir.path(), "UPDATE meta SET value = 'lots' WHERE key = 'push_version_high'");
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->LoadNodes(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("acked_version")));
  EXPECT_THAT((*store)->LeaseOverlays("10.0.0.0/24", {"aaaaaaaaaa"}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("aaaaaaaaaa")));
  EXPECT_THAT((*store)->ReserveVersions(1), StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  // A failed call leaves the store usable.
  EXPECT_THAT((*store)->PutSettings("", SettingsWithPolicy("fleet"), 0, ""), IsOkAndHolds(1u));
}

TEST(SqliteStoreTest, EmptyDirectoryNameIsInvalidArgument) {
  EXPECT_THAT(SqliteStore::Open(""), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

// ReadFull reads exactly `size` bytes unless the pipe reaches its end first; returns the count.
size_t ReadFull(int fd, void* buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = read(fd, static_cast<char*>(buffer) + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// A child process writes settings in a loop and reports each version PutSettings returned on a
// pipe; the parent kills it with SIGKILL mid-stream. Every reported version must be on disk.
TEST(SqliteStoreTest, KillNine_EveryReportedVersionSurvives) {
  constexpr size_t kReportsBeforeKill = 20;
  constexpr int kMaxPuts = 100'000;  // bounds the child if the parent never kills it
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
    if (!store.ok()) _exit(2);
    for (int i = 0; i < kMaxPuts; ++i) {
      absl::StatusOr<uint64_t> version =
          (*store)->PutSettings("", SettingsWithPolicy(absl::StrCat("p", i)), 0, "child");
      if (!version.ok()) _exit(3);
      const uint64_t value = *version;
      if (write(fds[1], &value, sizeof(value)) != static_cast<ssize_t>(sizeof(value))) _exit(4);
    }
    _exit(0);
  }
  close(fds[1]);
  std::vector<uint64_t> reported;
  uint64_t value = 0;
  while (reported.size() < kReportsBeforeKill && ReadFull(fds[0], &value, sizeof(value)) == 8) {
    reported.push_back(value);
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  // Versions the child reported before it died also count.
  while (ReadFull(fds[0], &value, sizeof(value)) == 8) reported.push_back(value);
  close(fds[0]);
  ASSERT_GE(reported.size(), kReportsBeforeKill)
      << "the child stopped early, wait status " << wait_status;
  EXPECT_TRUE(WIFSIGNALED(wait_status));

  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<SettingsDocuments> documents = (*store)->LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_GE(documents->version, reported.back());
  absl::StatusOr<std::vector<SettingsChange>> history = (*store)->SettingsHistory(kMaxPuts);
  ASSERT_THAT(history, IsOk());
  std::map<uint64_t, std::string> policies;
  for (const SettingsChange& change : *history) {
    policies[change.version] = change.settings ? change.settings->default_bonding_policy() : "";
  }
  for (uint64_t version : reported) {
    EXPECT_EQ(policies[version], absl::StrCat("p", version - 1)) << "version " << version;
  }
  // The store goes on from where the child left it.
  EXPECT_THAT((*store)->PutSettings("", SettingsWithPolicy("after"), 0, ""),
              IsOkAndHolds(Gt(documents->version)));
}

}  // namespace
}  // namespace fleetbond::controller
