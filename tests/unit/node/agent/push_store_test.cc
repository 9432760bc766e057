#include "node/agent/push_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/node/agent/test_fleet.h"

namespace fleetbond::agent {
namespace {

using ::testing::HasSubstr;

class PushStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/push_store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    home_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  void WriteRaw(const std::string& bytes) {
    std::ofstream f(home_ + "/controller-state.pb", std::ios::binary | std::ios::trunc);
    f << bytes;
  }

  std::string home_;
  TestFleet fleet_{3};
};

TEST_F(PushStoreTest, NothingSavedIsNoPush) {
  absl::StatusOr<std::optional<v1::ConfigPush>> loaded = PushStore(home_).Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(PushStoreTest, SavedPushLoadsBackIdentical) {
  PushStore store(home_);
  v1::ConfigPush push = fleet_.Push(12, 0);
  ASSERT_TRUE(store.Save(push).ok());
  ASSERT_TRUE(store.Save(fleet_.Push(13, 0)).ok());  // replaces
  absl::StatusOr<std::optional<v1::ConfigPush>> loaded = store.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->version(), 13u);
  EXPECT_EQ((*loaded)->peers_size(), 2);
  EXPECT_EQ((*loaded)->peers(0).SerializeAsString(), push.peers(0).SerializeAsString());
  EXPECT_FALSE(std::filesystem::exists(store.path() + ".tmp"));
}

TEST_F(PushStoreTest, FileIsOnlyForItsOwner) {
  // A temporary file left by a crash with a looser mode does not pass it on.
  {
    std::ofstream f(home_ + "/controller-state.pb.tmp");
    f << "left over";
  }
  chmod((home_ + "/controller-state.pb.tmp").c_str(), 0644);
  PushStore store(home_);
  ASSERT_TRUE(store.Save(fleet_.Push(1, 0)).ok());
  struct stat st;
  ASSERT_EQ(stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(PushStoreTest, CorruptFileIsDataLossNamingTheFile) {
  WriteRaw("\x0a\xff\xff\xff\xff garbage");
  absl::StatusOr<std::optional<v1::ConfigPush>> loaded = PushStore(home_).Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("controller-state.pb"));
}

TEST_F(PushStoreTest, EmptyOrRelativePushIsRefused) {
  WriteRaw("");
  EXPECT_EQ(PushStore(home_).Load().status().code(), absl::StatusCode::kDataLoss);
  v1::ConfigPush delta = fleet_.Push(3, 0);
  delta.set_peers_mode(v1::ConfigPush::PEERS_DELTA);
  WriteRaw(delta.SerializeAsString());
  absl::StatusOr<std::optional<v1::ConfigPush>> loaded = PushStore(home_).Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("whole directory"));
}

TEST_F(PushStoreTest, UnwritableHomeIsAnError) {
  PushStore store(home_ + "/missing/dir");
  absl::Status s = store.Save(fleet_.Push(1, 0));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("missing/dir"));
}

}  // namespace
}  // namespace fleetbond::agent
