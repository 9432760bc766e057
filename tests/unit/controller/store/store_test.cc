// The behaviour every Store must show, run against MemoryStore, SqliteStore and EtcdStore alike
// (EtcdStore against a real etcd the test starts; skipped with the reason when there is none).

#include "controller/store/store.h"

#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/store/etcd_store.h"
#include "controller/store/memory_store.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/clock.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/store/etcd_server.h"
#include "tests/unit/controller/store/temp_dir.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::fleetbond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr int64_t kStartUnixMs = 1'700'000'000'000;

struct MemoryStoreFactory {
  static constexpr char kName[] = "Memory";
  std::unique_ptr<Store> Make(const Clock& clock) { return std::make_unique<MemoryStore>(clock); }
};

struct SqliteStoreFactory {
  static constexpr char kName[] = "Sqlite";
  TempDir dir;
  std::unique_ptr<Store> Make(const Clock& clock) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path(), clock);
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return nullptr;
    return std::move(*store);
  }
};

// Every test gets a key prefix of its own in one etcd shared by the binary.
struct EtcdStoreFactory {
  static constexpr char kName[] = "Etcd";
  std::unique_ptr<EtcdClient> client;
  static std::optional<std::string> SkipReason() {
    std::string why;
    if (SharedEtcd(&why) == nullptr) return why;
    return std::nullopt;
  }
  std::unique_ptr<Store> Make(const Clock& clock) {
    EtcdOptions options;
    options.endpoints = {SharedEtcd(nullptr)->endpoint()};
    absl::StatusOr<std::unique_ptr<EtcdClient>> created = EtcdClient::Create(options);
    EXPECT_THAT(created, IsOk());
    if (!created.ok()) return nullptr;
    client = std::move(*created);
    return std::make_unique<EtcdStore>(*client, UniqueEtcdPrefix(), clock);
  }
};

struct FactoryName {
  template <typename Factory>
  static std::string GetName(int) {
    return Factory::kName;
  }
};

template <typename Factory>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (requires { Factory::SkipReason(); }) {
      if (std::optional<std::string> why = Factory::SkipReason()) GTEST_SKIP() << *why;
    }
    store_ = factory_.Make(clock_);
    ASSERT_NE(store_, nullptr);
  }

  FakeClock clock_{absl::FromUnixMillis(kStartUnixMs)};
  Factory factory_;
  std::unique_ptr<Store> store_;
};

using StoreFactories = ::testing::Types<MemoryStoreFactory, SqliteStoreFactory, EtcdStoreFactory>;
TYPED_TEST_SUITE(StoreTest, StoreFactories, FactoryName);

v1::Settings SettingsWithPolicy(const std::string& name) {
  v1::Settings settings;
  settings.set_default_bonding_policy(name);
  (*settings.mutable_policies())[name].set_failover_interval(500);
  return settings;
}

MATCHER_P(EqualsProto, expected, "") {
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

std::vector<std::string> NodeIds(int count) {
  std::vector<std::string> ids;
  ids.reserve(count);
  for (int i = 0; i < count; ++i) ids.push_back(absl::StrFormat("%010x", i + 1));
  return ids;
}

// --- Settings ---

TYPED_TEST(StoreTest, Settings_EmptyStoreIsAtVersionZero) {
  absl::StatusOr<SettingsDocuments> documents = this->store_->LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_EQ(documents->version, 0u);
  EXPECT_THAT(documents->scopes, IsEmpty());
  EXPECT_THAT(this->store_->SettingsHistory(10), IsOkAndHolds(IsEmpty()));
}

TYPED_TEST(StoreTest, Settings_PutLoadAndDeleteScopes) {
  Store& store = *this->store_;
  EXPECT_THAT(store.PutSettings("", SettingsWithPolicy("fleet"), 0, "alice"), IsOkAndHolds(1u));
  EXPECT_THAT(store.PutSettings("site=berlin", SettingsWithPolicy("berlin"), 0, "bob"),
              IsOkAndHolds(2u));
  EXPECT_THAT(store.PutSettings("", SettingsWithPolicy("fleet2"), 0, "alice"), IsOkAndHolds(3u));

  absl::StatusOr<SettingsDocuments> documents = store.LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_EQ(documents->version, 3u);
  EXPECT_THAT(documents->scopes,
              UnorderedElementsAre(Pair("", EqualsProto(SettingsWithPolicy("fleet2"))),
                                   Pair("site=berlin", EqualsProto(SettingsWithPolicy("berlin")))));

  EXPECT_THAT(store.PutSettings("site=berlin", std::nullopt, 3, "bob"), IsOkAndHolds(4u));
  documents = store.LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_EQ(documents->version, 4u);
  EXPECT_THAT(documents->scopes, ElementsAre(Pair("", EqualsProto(SettingsWithPolicy("fleet2")))));
}

TYPED_TEST(StoreTest, Settings_EmptyDocumentIsStoredAsADocument) {
  EXPECT_THAT(this->store_->PutSettings("role=edge", v1::Settings(), 0, ""), IsOkAndHolds(1u));
  EXPECT_THAT(
      this->store_->LoadSettings(),
      IsOkAndHolds(::testing::Field(&SettingsDocuments::scopes,
                                    ElementsAre(Pair("role=edge", EqualsProto(v1::Settings()))))));
}

TYPED_TEST(StoreTest, Settings_DeletingAMissingScopeIsNotFoundAndChangesNothing) {
  Store& store = *this->store_;
  ASSERT_THAT(store.PutSettings("", SettingsWithPolicy("fleet"), 0, "alice"), IsOk());
  EXPECT_THAT(store.PutSettings("site=nowhere", std::nullopt, 0, "alice"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("site=nowhere")));
  EXPECT_THAT(store.LoadSettings(),
              IsOkAndHolds(::testing::Field(&SettingsDocuments::version, 1u)));
  EXPECT_THAT(store.SettingsHistory(10), IsOkAndHolds(SizeIs(1)));
}

TYPED_TEST(StoreTest, Settings_ExpectedVersionConflictIsAbortedAndChangesNothing) {
  Store& store = *this->store_;
  ASSERT_THAT(store.PutSettings("", SettingsWithPolicy("one"), 0, "alice"), IsOkAndHolds(1u));

  EXPECT_THAT(store.PutSettings("", SettingsWithPolicy("two"), 5, "bob"),
              StatusIs(absl::StatusCode::kAborted, "settings are at version 1, not 5"));
  EXPECT_THAT(store.PutSettings("", std::nullopt, 7, "bob"),
              StatusIs(absl::StatusCode::kAborted, "settings are at version 1, not 7"));
  absl::StatusOr<SettingsDocuments> documents = store.LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_EQ(documents->version, 1u);
  EXPECT_THAT(documents->scopes, ElementsAre(Pair("", EqualsProto(SettingsWithPolicy("one")))));
  EXPECT_THAT(store.SettingsHistory(10), IsOkAndHolds(SizeIs(1)));

  // The expected version matches: accepted. 0 accepts whatever the version is.
  EXPECT_THAT(store.PutSettings("", SettingsWithPolicy("two"), 1, "bob"), IsOkAndHolds(2u));
  EXPECT_THAT(store.PutSettings("", SettingsWithPolicy("three"), 1, "carol"),
              StatusIs(absl::StatusCode::kAborted, "settings are at version 2, not 1"));
  EXPECT_THAT(store.PutSettings("", SettingsWithPolicy("three"), 0, "carol"), IsOkAndHolds(3u));
}

TYPED_TEST(StoreTest, Settings_HistoryIsNewestFirstWithTimeAndAuthor) {
  Store& store = *this->store_;
  ASSERT_THAT(store.PutSettings("", SettingsWithPolicy("one"), 0, "alice"), IsOk());
  this->clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(store.PutSettings("site=berlin", SettingsWithPolicy("b"), 0, "bob"), IsOk());
  this->clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(store.PutSettings("site=berlin", std::nullopt, 0, ""), IsOk());

  absl::StatusOr<std::vector<SettingsChange>> history = store.SettingsHistory(10);
  ASSERT_THAT(history, IsOk());
  ASSERT_THAT(*history, SizeIs(3));
  EXPECT_EQ((*history)[0].version, 3u);
  EXPECT_EQ((*history)[0].scope, "site=berlin");
  EXPECT_EQ((*history)[0].settings, std::nullopt);
  EXPECT_EQ((*history)[0].unix_ms, kStartUnixMs + 2000);
  EXPECT_EQ((*history)[0].author, "");
  EXPECT_EQ((*history)[1].version, 2u);
  ASSERT_TRUE((*history)[1].settings.has_value());
  EXPECT_THAT(*(*history)[1].settings, EqualsProto(SettingsWithPolicy("b")));
  EXPECT_EQ((*history)[1].unix_ms, kStartUnixMs + 1000);
  EXPECT_EQ((*history)[1].author, "bob");
  EXPECT_EQ((*history)[2].version, 1u);
  EXPECT_EQ((*history)[2].scope, "");
  EXPECT_EQ((*history)[2].unix_ms, kStartUnixMs);
  EXPECT_EQ((*history)[2].author, "alice");

  absl::StatusOr<std::vector<SettingsChange>> last_two = store.SettingsHistory(2);
  ASSERT_THAT(last_two, IsOk());
  ASSERT_THAT(*last_two, SizeIs(2));
  EXPECT_EQ((*last_two)[0].version, 3u);
  EXPECT_EQ((*last_two)[1].version, 2u);
  EXPECT_THAT(store.SettingsHistory(0), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store.SettingsHistory(std::numeric_limits<size_t>::max()), IsOkAndHolds(SizeIs(3)));
}

TYPED_TEST(StoreTest, Settings_ConcurrentPutsEachGetTheirOwnVersion) {
  constexpr int kThreads = 4;
  constexpr int kPutsPerThread = 10;
  std::vector<std::vector<uint64_t>> versions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPutsPerThread; ++i) {
        absl::StatusOr<uint64_t> version = this->store_->PutSettings(
            absl::StrCat("thread=", t), SettingsWithPolicy(absl::StrCat(i)), 0, "");
        if (version.ok()) versions[t].push_back(*version);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& v : versions) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kPutsPerThread});
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), uint64_t{kThreads * kPutsPerThread});
}

// --- Node registry ---

NodeRecord FullNode(const std::string& id) {
  NodeRecord node;
  node.id = id;
  node.public_key = std::string("\x00\x01\xff\x00", 4) + std::string(28, '\0');
  node.labels = {{"site", "berlin"}, {"role", "edge"}, {"empty", ""}};
  node.endpoints = {"192.0.2.7/9800", "2001:db8::7/9800", "10.0.0.1/9800"};
  node.software_version = "0.1.0";
  node.acked_version = std::numeric_limits<uint64_t>::max();
  node.nacked_version = 41;
  node.last_nack_error = "settings.policies.x: unknown";
  node.first_seen_unix_ms = -5;
  node.last_seen_unix_ms = kStartUnixMs;
  return node;
}

TYPED_TEST(StoreTest, Nodes_RoundTripEveryFieldOrderedById) {
  Store& store = *this->store_;
  NodeRecord bare;
  bare.id = "00000000ff";
  ASSERT_THAT(store.SaveNodes({FullNode("aaaaaaaaaa"), bare}), IsOk());
  EXPECT_THAT(store.LoadNodes(), IsOkAndHolds(ElementsAre(bare, FullNode("aaaaaaaaaa"))));
}

TYPED_TEST(StoreTest, Nodes_SaveReplacesTheWholeRecord) {
  Store& store = *this->store_;
  ASSERT_THAT(store.SaveNodes({FullNode("aaaaaaaaaa")}), IsOk());
  NodeRecord changed = FullNode("aaaaaaaaaa");
  changed.labels = {{"site", "paris"}};
  changed.endpoints = {"10.0.0.2/9800"};
  changed.last_seen_unix_ms += 60'000;
  ASSERT_THAT(store.SaveNodes({changed}), IsOk());
  EXPECT_THAT(store.LoadNodes(), IsOkAndHolds(ElementsAre(changed)));
}

TYPED_TEST(StoreTest, Nodes_DeleteRemovesOnlyThatNode) {
  Store& store = *this->store_;
  ASSERT_THAT(store.SaveNodes({FullNode("aaaaaaaaaa"), FullNode("bbbbbbbbbb")}), IsOk());
  EXPECT_THAT(store.DeleteNode("aaaaaaaaaa"), IsOk());
  EXPECT_THAT(store.LoadNodes(), IsOkAndHolds(ElementsAre(FullNode("bbbbbbbbbb"))));
  EXPECT_THAT(store.DeleteNode("aaaaaaaaaa"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("aaaaaaaaaa")));
  // Saved again after deletion: no stale labels or endpoints come back with it.
  NodeRecord bare;
  bare.id = "aaaaaaaaaa";
  ASSERT_THAT(store.SaveNodes({bare}), IsOk());
  EXPECT_THAT(store.LoadNodes(), IsOkAndHolds(ElementsAre(bare, FullNode("bbbbbbbbbb"))));
}

// --- Overlay leases ---

TYPED_TEST(StoreTest, Leases_StablePerIdAndLowestFirst) {
  Store& store = *this->store_;
  EXPECT_THAT(store.LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa", "bbbbbbbbbb"}),
              IsOkAndHolds(
                  ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"), Pair("bbbbbbbbbb", "10.147.0.2"))));
  EXPECT_THAT(store.LeaseOverlays("10.147.0.0/16", {"cccccccccc", "aaaaaaaaaa", "cccccccccc"}),
              IsOkAndHolds(
                  ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"), Pair("cccccccccc", "10.147.0.3"))));
  EXPECT_THAT(store.LeaseOverlays("10.147.0.0/16", {}), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store.Leases(), IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"),
                                                       Pair("bbbbbbbbbb", "10.147.0.2"),
                                                       Pair("cccccccccc", "10.147.0.3"))));
}

TYPED_TEST(StoreTest, Leases_Ipv6PrefixWorksTheSame) {
  EXPECT_THAT(this->store_->LeaseOverlays("fd00:147::/64", {"aaaaaaaaaa", "bbbbbbbbbb"}),
              IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "fd00:147::1"),
                                       Pair("bbbbbbbbbb", "fd00:147::2"))));
  // Another spelling of the same prefix is the same prefix.
  EXPECT_THAT(this->store_->LeaseOverlays("FD00:0147:0:0::/64", {"bbbbbbbbbb", "cccccccccc"}),
              IsOkAndHolds(ElementsAre(Pair("bbbbbbbbbb", "fd00:147::2"),
                                       Pair("cccccccccc", "fd00:147::3"))));
}

TYPED_TEST(StoreTest, Leases_AddressIsNeverReusedAfterDeleteNode) {
  Store& store = *this->store_;
  NodeRecord node;
  node.id = "aaaaaaaaaa";
  ASSERT_THAT(store.SaveNodes({node}), IsOk());
  ASSERT_THAT(store.LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa"}),
              IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"))));
  ASSERT_THAT(store.DeleteNode("aaaaaaaaaa"), IsOk());
  EXPECT_THAT(store.LeaseOverlays("10.147.0.0/16", {"bbbbbbbbbb"}),
              IsOkAndHolds(ElementsAre(Pair("bbbbbbbbbb", "10.147.0.2"))));
  EXPECT_THAT(store.Leases(), IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"),
                                                       Pair("bbbbbbbbbb", "10.147.0.2"))));
  // The deleted node coming back gets its old address.
  EXPECT_THAT(store.LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa"}),
              IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.147.0.1"))));
}

TYPED_TEST(StoreTest, Leases_TinyIpv4PrefixRunsFullAndChangesNothingThen) {
  Store& store = *this->store_;
  // Three new ids in a /30 (two hosts): the call fails as a whole.
  EXPECT_THAT(store.LeaseOverlays("10.0.0.0/30", {"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"}),
              StatusIs(absl::StatusCode::kResourceExhausted, "overlay prefix 10.0.0.0/30 is full"));
  EXPECT_THAT(store.Leases(), IsOkAndHolds(IsEmpty()));

  EXPECT_THAT(
      store.LeaseOverlays("10.0.0.0/30", {"aaaaaaaaaa", "bbbbbbbbbb"}),
      IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.0.0.1"), Pair("bbbbbbbbbb", "10.0.0.2"))));
  EXPECT_THAT(store.LeaseOverlays("10.0.0.0/30", {"aaaaaaaaaa", "cccccccccc"}),
              StatusIs(absl::StatusCode::kResourceExhausted, "overlay prefix 10.0.0.0/30 is full"));
  // Ids that hold a lease still get it from a full prefix.
  EXPECT_THAT(store.LeaseOverlays("10.0.0.0/30", {"bbbbbbbbbb"}),
              IsOkAndHolds(ElementsAre(Pair("bbbbbbbbbb", "10.0.0.2"))));
  EXPECT_THAT(store.Leases(), IsOkAndHolds(SizeIs(2)));
}

TYPED_TEST(StoreTest, Leases_TinyIpv6PrefixRunsFull) {
  Store& store = *this->store_;
  EXPECT_THAT(store.LeaseOverlays("fd00::/126", {"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"}),
              IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "fd00::1"), Pair("bbbbbbbbbb", "fd00::2"),
                                       Pair("cccccccccc", "fd00::3"))));
  EXPECT_THAT(store.LeaseOverlays("fd00::/126", {"dddddddddd"}),
              StatusIs(absl::StatusCode::kResourceExhausted, "overlay prefix fd00::/126 is full"));
}

TYPED_TEST(StoreTest, Leases_BadPrefixIsInvalidArgumentAndLeasesNothing) {
  for (const char* bad : {"", "10.147.0.0", "10.147.0.0/33", "10.147.0.1/16", "10.147.0.0/31",
                          "fd00::/129", "banana/16", "fd00::/128"}) {
    EXPECT_THAT(this->store_->LeaseOverlays(bad, {"aaaaaaaaaa"}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("overlay prefix \"", bad, "\""))))
        << bad;
  }
  EXPECT_THAT(this->store_->Leases(), IsOkAndHolds(IsEmpty()));
}

TYPED_TEST(StoreTest, Leases_LowestFreeSkipsAddressesTakenInAnOverlappingPrefix) {
  Store& store = *this->store_;
  ASSERT_THAT(store.LeaseOverlays("10.0.0.4/30", {"aaaaaaaaaa"}),
              IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.0.0.5"))));
  // 10.0.0.0/29 holds .1 to .6; .5 is taken (and aaaaaaaaaa keeps it, being inside).
  EXPECT_THAT(
      store.LeaseOverlays("10.0.0.0/29", {"b000000000", "c000000000", "d000000000", "e000000000",
                                          "f000000000", "aaaaaaaaaa"}),
      IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.0.0.5"), Pair("b000000000", "10.0.0.1"),
                               Pair("c000000000", "10.0.0.2"), Pair("d000000000", "10.0.0.3"),
                               Pair("e000000000", "10.0.0.4"), Pair("f000000000", "10.0.0.6"))));
  EXPECT_THAT(store.LeaseOverlays("10.0.0.0/29", {"0000000000"}),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
}

TYPED_TEST(StoreTest, Leases_ChangedPrefixReassignsAndRetiresTheOldAddress) {
  Store& store = *this->store_;
  ASSERT_THAT(
      store.LeaseOverlays("10.1.0.0/24", {"aaaaaaaaaa", "bbbbbbbbbb"}),
      IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.1.0.1"), Pair("bbbbbbbbbb", "10.1.0.2"))));
  EXPECT_THAT(store.LeaseOverlays("fd00:147::/64", {"aaaaaaaaaa"}),
              IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "fd00:147::1"))));
  EXPECT_THAT(store.Leases(), IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "fd00:147::1"),
                                                       Pair("bbbbbbbbbb", "10.1.0.2"))));
  // Back to the old prefix: 10.1.0.1, once aaaaaaaaaa's, goes to nobody else, nor back to it.
  EXPECT_THAT(
      store.LeaseOverlays("10.1.0.0/24", {"cccccccccc", "aaaaaaaaaa"}),
      IsOkAndHolds(ElementsAre(Pair("aaaaaaaaaa", "10.1.0.4"), Pair("cccccccccc", "10.1.0.3"))));
}

TYPED_TEST(StoreTest, Leases_TenThousandNewIdsInOneCall) {
  const std::vector<std::string> ids = NodeIds(10'000);
  for (const char* prefix : {"10.147.0.0/16", "fd00:147::/64"}) {
    SCOPED_TRACE(prefix);
    absl::StatusOr<std::map<std::string, std::string>> leases =
        this->store_->LeaseOverlays(prefix, ids);
    ASSERT_THAT(leases, IsOk());
    ASSERT_THAT(*leases, SizeIs(10'000));
    std::set<std::string> addresses;
    for (const auto& [id, address] : *leases) addresses.insert(address);
    EXPECT_EQ(addresses.size(), 10'000u);
  }
  // The second prefix retired every IPv4 lease; ids were leased in the order given.
  absl::StatusOr<std::map<std::string, std::string>> leases = this->store_->Leases();
  ASSERT_THAT(leases, IsOk());
  EXPECT_EQ(leases->at(ids.front()), "fd00:147::1");
  EXPECT_EQ(leases->at(ids.back()), "fd00:147::2710");
  EXPECT_THAT(
      this->store_->LeaseOverlays("10.147.0.0/16", {ids[0], ids[9'999]}),
      IsOkAndHolds(ElementsAre(Pair(ids[0], "10.147.39.17"), Pair(ids[9'999], "10.147.39.18"))));
}

TYPED_TEST(StoreTest, Leases_TenThousandInOneCallAreTheLowestInOrder) {
  const std::vector<std::string> ids = NodeIds(10'000);
  absl::StatusOr<std::map<std::string, std::string>> leases =
      this->store_->LeaseOverlays("10.147.0.0/16", ids);
  ASSERT_THAT(leases, IsOk());
  EXPECT_EQ(leases->at(ids[0]), "10.147.0.1");
  EXPECT_EQ(leases->at(ids[254]), "10.147.0.255");
  EXPECT_EQ(leases->at(ids[255]), "10.147.1.0");
  EXPECT_EQ(leases->at(ids[9'999]), "10.147.39.16");
}

// --- Push versions ---

TYPED_TEST(StoreTest, ReserveVersions_RangesAreFreshAndIncreasing) {
  Store& store = *this->store_;
  EXPECT_THAT(store.ReserveVersions(10), IsOkAndHolds(1u));
  EXPECT_THAT(store.ReserveVersions(1), IsOkAndHolds(11u));
  EXPECT_THAT(store.ReserveVersions(5), IsOkAndHolds(12u));
  EXPECT_THAT(store.ReserveVersions(0), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(store.ReserveVersions(std::numeric_limits<uint64_t>::max()),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("overflow")));
  EXPECT_THAT(store.ReserveVersions(1), IsOkAndHolds(17u));
}

}  // namespace
}  // namespace fleetbond::controller
