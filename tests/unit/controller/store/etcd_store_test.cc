// What only the etcd store and its client promise: several store objects (replicas) on one etcd
// never both win a race, see each other's changes, and survive etcd crashing. The contract every
// Store keeps is in store_test.cc. These tests run a real etcd and skip without one.

#include "controller/store/etcd_store.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "controller/store/etcd_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/store/etcd_server.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::fleetbond::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Settings Policy(const std::string& name) {
  v1::Settings settings;
  settings.set_default_bonding_policy(name);
  return settings;
}

std::unique_ptr<EtcdClient> ClientFor(const std::string& endpoint,
                                      absl::Duration timeout = absl::Seconds(5)) {
  EtcdOptions options;
  options.endpoints = {endpoint};
  options.call_timeout = timeout;
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
  EXPECT_THAT(client, IsOk());
  return client.ok() ? std::move(*client) : nullptr;
}

// PollUntil checks `done` every 20 ms for up to `limit`.
bool PollUntil(absl::Duration limit, const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

// Two replicas: two clients (two connections) and two stores on the same prefix.
class TwoReplicas : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    EtcdServer* etcd = SharedEtcd(&why);
    if (etcd == nullptr) GTEST_SKIP() << why;
    const std::string prefix = UniqueEtcdPrefix();
    client_a_ = ClientFor(etcd->endpoint());
    client_b_ = ClientFor(etcd->endpoint());
    ASSERT_NE(client_a_, nullptr);
    ASSERT_NE(client_b_, nullptr);
    a_ = std::make_unique<EtcdStore>(*client_a_, prefix);
    b_ = std::make_unique<EtcdStore>(*client_b_, prefix);
  }

  std::unique_ptr<EtcdClient> client_a_;
  std::unique_ptr<EtcdClient> client_b_;
  std::unique_ptr<EtcdStore> a_;
  std::unique_ptr<EtcdStore> b_;
};

TEST_F(TwoReplicas, ConflictingPutSettings_ExactlyOneWinsTheOtherIsAbortedWithTheCurrentVersion) {
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    const uint64_t base = static_cast<uint64_t>(round);  // the version both writers saw
    absl::StatusOr<uint64_t> result_a;
    absl::StatusOr<uint64_t> result_b;
    std::atomic<int> ready{0};
    auto race = [&](EtcdStore& store, absl::StatusOr<uint64_t>& result, const char* name) {
      ++ready;
      while (ready.load() < 2) {
      }
      result = store.PutSettings("", Policy(name), base, name);
    };
    if (round == 0) {
      // Expected version 0 accepts anything; the race starts from version 1.
      ASSERT_THAT(a_->PutSettings("", Policy("first"), 0, "setup"), IsOkAndHolds(1u));
      continue;
    }
    std::thread ta([&] { race(*a_, result_a, "alice"); });
    std::thread tb([&] { race(*b_, result_b, "bob"); });
    ta.join();
    tb.join();
    const int wins = (result_a.ok() ? 1 : 0) + (result_b.ok() ? 1 : 0);
    ASSERT_EQ(wins, 1) << result_a.status() << " / " << result_b.status();
    const absl::StatusOr<uint64_t>& winner = result_a.ok() ? result_a : result_b;
    const absl::StatusOr<uint64_t>& loser = result_a.ok() ? result_b : result_a;
    EXPECT_EQ(*winner, base + 1);
    EXPECT_THAT(loser,
                StatusIs(absl::StatusCode::kAborted,
                         absl::StrFormat("settings are at version %d, not %d", base + 1, base)));
  }
  absl::StatusOr<SettingsDocuments> documents = b_->LoadSettings();
  ASSERT_THAT(documents, IsOk());
  EXPECT_EQ(documents->version, uint64_t{kRounds});
  EXPECT_THAT(a_->SettingsHistory(100), IsOkAndHolds(::testing::SizeIs(kRounds)));
}

TEST_F(TwoReplicas, PutSettingsWithoutExpectedVersion_BothWinOneAfterTheOther) {
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<uint64_t>> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      results[i] = (i % 2 ? *a_ : *b_).PutSettings(absl::StrCat("n=", i), Policy("x"), 0, "");
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> versions;
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    versions.insert(*r);
  }
  EXPECT_THAT(versions, ElementsAre(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u));
}

TEST_F(TwoReplicas, WatchSettings_DeliversTheOtherReplicasChange) {
  absl::Mutex mu;
  std::vector<uint64_t> seen;
  ASSERT_THAT(a_->WatchSettings([&](uint64_t version) {
    absl::MutexLock lock(&mu);
    seen.push_back(version);
  }),
              IsOk());
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(seen, ElementsAre(0u));  // the current version when the watch starts
  }
  ASSERT_THAT(b_->PutSettings("", Policy("from-b"), 0, "bob"), IsOkAndHolds(1u));
  ASSERT_THAT(b_->PutSettings("site=x", Policy("from-b"), 1, "bob"), IsOkAndHolds(2u));
  EXPECT_TRUE(PollUntil(absl::Seconds(5), [&] {
    absl::MutexLock lock(&mu);
    return !seen.empty() && seen.back() == 2u;
  }));
  a_->StopWatchingSettings();
  ASSERT_THAT(b_->PutSettings("", Policy("unseen"), 0, "bob"), IsOk());
  absl::SleepFor(absl::Milliseconds(200));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seen, ElementsAre(0u, 1u, 2u));
}

// RegistryLog collects what a node watch reports.
class RegistryLog {
 public:
  std::function<void(const RegistryUpdate&)> Callback() {
    return [this](const RegistryUpdate& update) {
      absl::MutexLock lock(&mu_);
      updates_.push_back(update);
    };
  }
  std::vector<RegistryUpdate> updates() {
    absl::MutexLock lock(&mu_);
    return updates_;
  }
  // WaitFor waits up to 15 s for a reported change that `match` accepts.
  bool WaitFor(const std::function<bool(const NodeChange&)>& match) {
    return PollUntil(absl::Seconds(15), [&] {
      absl::MutexLock lock(&mu_);
      for (const RegistryUpdate& u : updates_) {
        for (const NodeChange& c : u.changes) {
          if (match(c)) return true;
        }
      }
      return false;
    });
  }

 private:
  absl::Mutex mu_;
  std::vector<RegistryUpdate> updates_;
};

NodeRecord Record(const std::string& id, int64_t last_seen = 1000) {
  NodeRecord r;
  r.id = id;
  r.public_key = std::string(32, 'k');
  r.endpoints = {"192.0.2.1/9800"};
  r.labels = {{"site", "berlin"}};
  r.last_seen_unix_ms = last_seen;
  return r;
}

TEST_F(TwoReplicas, WatchNodes_FirstReportIsTheWholeRegistryWithLeases) {
  ASSERT_THAT(b_->SaveNodes({Record("aaaaaaaaaa"), Record("bbbbbbbbbb")}), IsOk());
  ASSERT_THAT(b_->LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa"}), IsOk());
  RegistryLog log;
  ASSERT_THAT(a_->WatchNodes(log.Callback()), IsOk());
  // Reported before WatchNodes returned.
  std::vector<RegistryUpdate> updates = log.updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_TRUE(updates[0].full);
  ASSERT_EQ(updates[0].changes.size(), 2u);
  EXPECT_EQ(updates[0].changes[0].id, "aaaaaaaaaa");
  EXPECT_EQ(updates[0].changes[0].overlay, "10.147.0.1");
  EXPECT_EQ(updates[0].changes[0].record, Record("aaaaaaaaaa"));
  EXPECT_EQ(updates[0].changes[1].id, "bbbbbbbbbb");
  EXPECT_EQ(updates[0].changes[1].overlay, "");
}

TEST_F(TwoReplicas, WatchNodes_ReportsTheOtherReplicasRecordsWithTheirLeasesAndDeletions) {
  RegistryLog log;
  ASSERT_THAT(a_->WatchNodes(log.Callback()), IsOk());
  ASSERT_EQ(log.updates().size(), 1u);
  EXPECT_TRUE(log.updates()[0].changes.empty());

  // The record first, its lease after (a flush that came before the lease): reported again with
  // the address when the lease arrives.
  ASSERT_THAT(b_->SaveNodes({Record("aaaaaaaaaa")}), IsOk());
  EXPECT_TRUE(log.WaitFor([](const NodeChange& c) {
    return c.id == "aaaaaaaaaa" && c.record.has_value() && c.overlay.empty();
  }));
  ASSERT_THAT(b_->LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa"}), IsOk());
  EXPECT_TRUE(log.WaitFor([](const NodeChange& c) {
    return c.id == "aaaaaaaaaa" && c.record == Record("aaaaaaaaaa") && c.overlay == "10.147.0.1";
  }));

  // The lease first (Fleet::Pump leases before it flushes): nothing until the record, which
  // then comes with the address.
  ASSERT_THAT(b_->LeaseOverlays("10.147.0.0/16", {"bbbbbbbbbb"}), IsOk());
  ASSERT_THAT(b_->SaveNodes({Record("bbbbbbbbbb")}), IsOk());
  EXPECT_TRUE(log.WaitFor([](const NodeChange& c) {
    return c.id == "bbbbbbbbbb" && c.record.has_value() && c.overlay == "10.147.0.2";
  }));
  for (const RegistryUpdate& u : log.updates()) {
    for (const NodeChange& c : u.changes) {
      if (c.id == "bbbbbbbbbb") {
        EXPECT_EQ(c.overlay, "10.147.0.2") << "reported without its lease";
      }
    }
  }

  // A heartbeat flush is reported (the Fleet decides it changes nothing), and so is a deletion.
  ASSERT_THAT(b_->SaveNodes({Record("aaaaaaaaaa", 5000)}), IsOk());
  EXPECT_TRUE(log.WaitFor([](const NodeChange& c) {
    return c.id == "aaaaaaaaaa" && c.record.has_value() && c.record->last_seen_unix_ms == 5000 &&
           c.overlay == "10.147.0.1";
  }));
  ASSERT_THAT(b_->DeleteNode("aaaaaaaaaa"), IsOk());
  EXPECT_TRUE(log.WaitFor(
      [](const NodeChange& c) { return c.id == "aaaaaaaaaa" && !c.record.has_value(); }));
  // Its lease reclaimed after: a node no longer in the registry is not reported again.
  ASSERT_THAT(b_->ReclaimOverlay("aaaaaaaaaa"), IsOk());

  // Its own writes too; settings and ownership are not registry changes.
  ASSERT_THAT(a_->SaveNodes({Record("cccccccccc")}), IsOk());
  ASSERT_THAT(a_->PutSettings("", Policy("x"), 0, ""), IsOk());
  EXPECT_TRUE(log.WaitFor([](const NodeChange& c) { return c.id == "cccccccccc"; }));
  a_->StopWatchingNodes();
  const size_t reports = log.updates().size();
  ASSERT_THAT(b_->SaveNodes({Record("dddddddddd")}), IsOk());
  absl::SleepFor(absl::Milliseconds(200));
  std::vector<RegistryUpdate> updates = log.updates();
  EXPECT_EQ(updates.size(), reports);
  for (size_t i = 1; i < updates.size(); ++i) EXPECT_FALSE(updates[i].full);
  std::optional<NodeChange> last_of_a;
  for (const RegistryUpdate& u : updates) {
    for (const NodeChange& c : u.changes) {
      EXPECT_NE(c.id, "dddddddddd");
      if (c.id == "aaaaaaaaaa") last_of_a = c;
    }
  }
  ASSERT_TRUE(last_of_a.has_value());
  EXPECT_FALSE(last_of_a->record.has_value())
      << "the reclaimed lease was reported as a change of a deleted node";
}

TEST_F(TwoReplicas, OverlayLeases_RacingReplicasNeverShareAnAddress) {
  std::vector<std::string> ids_a;
  std::vector<std::string> ids_b;
  for (int i = 0; i < 150; ++i) {
    ids_a.push_back(absl::StrFormat("a%09x", i));
    ids_b.push_back(absl::StrFormat("b%09x", i));
  }
  absl::StatusOr<std::map<std::string, std::string>> leases_a;
  absl::StatusOr<std::map<std::string, std::string>> leases_b;
  std::thread ta([&] { leases_a = a_->LeaseOverlays("10.147.0.0/16", ids_a); });
  std::thread tb([&] { leases_b = b_->LeaseOverlays("10.147.0.0/16", ids_b); });
  ta.join();
  tb.join();
  ASSERT_THAT(leases_a, IsOk());
  ASSERT_THAT(leases_b, IsOk());
  std::set<std::string> addresses;
  for (const auto& [id, address] : *leases_a) addresses.insert(address);
  for (const auto& [id, address] : *leases_b) addresses.insert(address);
  EXPECT_EQ(addresses.size(), 300u);
  EXPECT_THAT(a_->Leases(), IsOkAndHolds(::testing::SizeIs(300)));
}

TEST_F(TwoReplicas, ReclaimOverlay_FreesTheAddressForTheNextNewNode) {
  ASSERT_THAT(a_->LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"}),
              IsOk());
  ASSERT_THAT(b_->ReclaimOverlay("bbbbbbbbbb"), IsOk());
  EXPECT_THAT(a_->ReclaimOverlay("bbbbbbbbbb"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("bbbbbbbbbb")));
  EXPECT_THAT(a_->LeaseOverlays("10.147.0.0/16", {"dddddddddd", "eeeeeeeeee"}),
              IsOkAndHolds(ElementsAre(::testing::Pair("dddddddddd", "10.147.0.2"),
                                       ::testing::Pair("eeeeeeeeee", "10.147.0.4"))));
}

TEST(EtcdClient, ParseEtcdUrl) {
  absl::StatusOr<EtcdOptions> options = ParseEtcdUrl("etcd://10.0.0.1:2379,etcd-b,[fd00::1]:2380");
  ASSERT_THAT(options, IsOk());
  EXPECT_THAT(options->endpoints, ElementsAre("10.0.0.1:2379", "etcd-b:2379", "[fd00::1]:2380"));
  EXPECT_THAT(ParseEtcdUrl("http://x:2379"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("etcd://HOST:PORT")));
  EXPECT_THAT(ParseEtcdUrl("etcd://a:2379,,b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ParseEtcdUrl("etcd://a:99999"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad port")));
}

TEST(EtcdClient, NoEndpointAnswering_IsUnavailableNamingEachEndpoint) {
  EtcdOptions options;
  // Nothing listens on port 1 of loopback.
  options.endpoints = {"127.0.0.1:1", "127.0.0.2:1"};
  options.call_timeout = absl::Milliseconds(600);
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
  ASSERT_THAT(client, IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT((*client)->Get("/x"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("127.0.0.1:1"), HasSubstr("127.0.0.2:1"))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(EtcdClient, FailsOverToTheEndpointThatAnswers) {
  std::string why;
  EtcdServer* etcd = SharedEtcd(&why);
  if (etcd == nullptr) GTEST_SKIP() << why;
  EtcdOptions options;
  options.endpoints = {"127.0.0.1:1", etcd->endpoint()};
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
  ASSERT_THAT(client, IsOk());
  EtcdStore store(**client, UniqueEtcdPrefix());
  EXPECT_THAT(store.PutSettings("", Policy("x"), 0, ""), IsOkAndHolds(1u));
}

TEST(EtcdStoreRestart, KilledAndRestartedEtcd_StoreAndWatchRecoverOnTheirOwn) {
  EtcdServer etcd;
  if (absl::Status started = etcd.Start(); !started.ok()) GTEST_SKIP() << started.message();
  std::unique_ptr<EtcdClient> writer_client = ClientFor(etcd.endpoint(), absl::Seconds(15));
  std::unique_ptr<EtcdClient> watcher_client = ClientFor(etcd.endpoint(), absl::Seconds(15));
  EtcdStore writer(*writer_client);
  EtcdStore watcher(*watcher_client);
  std::atomic<uint64_t> seen{0};
  ASSERT_THAT(watcher.WatchSettings([&](uint64_t v) { seen = v; }), IsOk());
  ASSERT_THAT(writer.PutSettings("", Policy("before"), 0, ""), IsOkAndHolds(1u));
  ASSERT_TRUE(PollUntil(absl::Seconds(5), [&] { return seen.load() == 1u; }));

  etcd.KillHard();
  // Down: a call fails (after its deadline) rather than hanging.
  {
    std::unique_ptr<EtcdClient> quick = ClientFor(etcd.endpoint(), absl::Milliseconds(500));
    EXPECT_THAT(quick->Get("/"), StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  }
  ASSERT_THAT(etcd.Restart(), IsOk());
  // No operator action: the same clients carry on, the data survived, the watch resumes.
  const absl::Time start = absl::Now();
  EXPECT_THAT(writer.PutSettings("", Policy("after"), 1, ""), IsOkAndHolds(2u));
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  EXPECT_TRUE(PollUntil(absl::Seconds(15), [&] { return seen.load() == 2u; }))
      << "the watch saw version " << seen.load();
  EXPECT_THAT(watcher.LoadSettings(),
              IsOkAndHolds(::testing::Field(&SettingsDocuments::version, 2u)));
}

TEST(EtcdStoreRestart, KilledAndRestartedEtcd_NodeWatchResumesWithoutLosingAChange) {
  EtcdServer etcd;
  if (absl::Status started = etcd.Start(); !started.ok()) GTEST_SKIP() << started.message();
  std::unique_ptr<EtcdClient> writer_client = ClientFor(etcd.endpoint(), absl::Seconds(15));
  std::unique_ptr<EtcdClient> watcher_client = ClientFor(etcd.endpoint(), absl::Seconds(15));
  EtcdStore writer(*writer_client);
  EtcdStore watcher(*watcher_client);
  RegistryLog log;
  ASSERT_THAT(watcher.WatchNodes(log.Callback()), IsOk());
  ASSERT_THAT(writer.SaveNodes({Record("aaaaaaaaaa")}), IsOk());
  ASSERT_TRUE(log.WaitFor([](const NodeChange& c) { return c.id == "aaaaaaaaaa"; }));

  etcd.KillHard();
  ASSERT_THAT(etcd.Restart(), IsOk());
  // Written as soon as etcd is back, likely before the watch reconnected: it must still come.
  ASSERT_THAT(writer.LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa"}), IsOk());
  ASSERT_THAT(writer.SaveNodes({Record("bbbbbbbbbb")}), IsOk());
  ASSERT_THAT(writer.DeleteNode("bbbbbbbbbb"), IsOk());
  EXPECT_TRUE(log.WaitFor(
      [](const NodeChange& c) { return c.id == "aaaaaaaaaa" && c.overlay == "10.147.0.1"; }));
  EXPECT_TRUE(log.WaitFor(
      [](const NodeChange& c) { return c.id == "bbbbbbbbbb" && c.record.has_value(); }));
  EXPECT_TRUE(log.WaitFor(
      [](const NodeChange& c) { return c.id == "bbbbbbbbbb" && !c.record.has_value(); }));
}

}  // namespace
}  // namespace fleetbond::controller
