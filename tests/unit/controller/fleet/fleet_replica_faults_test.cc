// Fleet cases found by the multi-replica test on the rig (controller_etcd_test.sh):
// - while its store fails (etcd unreachable, a full disk), a node that connects gets no overlay
//   address and no push, and must get both once the store answers again, without reconnecting
//   (sessions opened while etcd restarted stayed connected with no push until they reconnected);
// - a node that moves from one replica to another has acked a push version of the first one's
//   block, which may lie above the second one's (or of another store's counter); the node
//   ignores older pushes, so the second must push above it (real nodes moved by a kill -9 or a
//   drain never acked again), but not follow a node's claim to the counter's end;
// - an operator's expected version stored through another replica, which this one's watch has
//   not reported yet, is judged by the store, not by this replica's stale version;
// - a lease waits for the store (with etcd down, for its deadline, seconds) without holding the
//   Fleet's lock: sessions and operator reads go on meanwhile, and the batch is judged by what
//   its nodes are when the lease returns; a failing lease is one event per node, not one a try.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "controller/fleet/fleet.h"
#include "controller/store/memory_store.h"
#include "shared/identity/identity.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/fleet/push_sink.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// FailingStore is a MemoryStore whose overlay leases and push versions fail with UNAVAILABLE
// while `down` is set, as an unreachable etcd's do.
class FailingStore final : public Store {
 public:
  explicit FailingStore(Clock& clock) : store_(clock) {}
  std::atomic<bool> down{false};
  // Runs first in each LeaseOverlays, on the caller's thread: what happens while it waits.
  std::function<void()> during_lease;

  absl::StatusOr<SettingsDocuments> LoadSettings() override { return store_.LoadSettings(); }
  absl::StatusOr<uint64_t> PutSettings(absl::string_view scope,
                                       const std::optional<v1::Settings>& settings,
                                       uint64_t expected_version,
                                       absl::string_view author) override {
    if (down) return Down();
    return store_.PutSettings(scope, settings, expected_version, author);
  }
  absl::StatusOr<std::vector<SettingsChange>> SettingsHistory(size_t limit) override {
    return store_.SettingsHistory(limit);
  }
  absl::StatusOr<std::vector<NodeRecord>> LoadNodes() override { return store_.LoadNodes(); }
  absl::Status SaveNodes(const std::vector<NodeRecord>& nodes) override {
    if (down) return Down();
    return store_.SaveNodes(nodes);
  }
  absl::Status DeleteNode(absl::string_view id) override { return store_.DeleteNode(id); }
  absl::StatusOr<std::map<std::string, std::string>> LeaseOverlays(
      absl::string_view prefix, const std::vector<std::string>& node_ids) override {
    if (during_lease) during_lease();
    if (down && !node_ids.empty()) return Down();
    return store_.LeaseOverlays(prefix, node_ids);
  }
  absl::StatusOr<std::map<std::string, std::string>> Leases() override { return store_.Leases(); }
  absl::StatusOr<uint64_t> ReserveVersions(uint64_t count) override {
    if (down) return Down();
    return store_.ReserveVersions(count);
  }

 private:
  // Worded differently each time, as an unreachable etcd's errors are (endpoints, gRPC's text).
  absl::Status Down() {
    return absl::UnavailableError(
        absl::StrCat("etcd Txn: no endpoint answered (try ", ++tries_, ")"));
  }
  std::atomic<int> tries_{0};
  MemoryStore store_;
};

v1::Hello HelloOf(const std::string& endpoint) {
  absl::StatusOr<Identity> identity = Identity::Generate();
  EXPECT_TRUE(identity.ok());
  v1::Hello hello;
  hello.set_node_id(identity->id().ToString());
  hello.set_public_key(std::string(identity->public_key().begin(), identity->public_key().end()));
  hello.set_software_version("test");
  v1::Interface* i = hello.add_interfaces();
  i->set_name("eth0");
  i->add_endpoints(endpoint);
  return hello;
}

class FleetStoreOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Fleet>> f = Fleet::Create(store_, clock_, {});
    ASSERT_THAT(f.status(), IsOk());
    fleet_ = *std::move(f);
  }
  // Pumps for `d` of fake time in steps of 100 ms, as Start's thread would.
  void RunFor(absl::Duration d) {
    for (absl::Duration t; t < d; t += absl::Milliseconds(100)) {
      clock_.Advance(absl::Milliseconds(100));
      fleet_->Pump();
    }
  }

  FakeClock clock_;
  FailingStore store_{clock_};
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(FleetStoreOutageTest, ANodeThatConnectedWhileLeasesFailedGetsItsFirstPushOnceTheyWork) {
  store_.down = true;
  auto sink = std::make_shared<PushSink>();
  const v1::Hello hello = HelloOf("10.0.0.1/9800");
  ASSERT_THAT(fleet_->Connect(hello, sink).status(), IsOk());
  RunFor(absl::Seconds(3));
  EXPECT_THAT(sink->TakePushes(), IsEmpty());  // no address to hand out

  store_.down = false;
  RunFor(absl::Seconds(10));
  std::vector<v1::ConfigPush> pushes = sink->TakePushes();
  ASSERT_THAT(pushes, SizeIs(1)) << "the node stayed connected without a push";
  EXPECT_EQ(pushes[0].overlay_address(), "10.147.0.1/16");
  EXPECT_GT(pushes[0].version(), 0u);
  absl::StatusOr<NodeSnapshot> node = fleet_->Node(hello.node_id());
  ASSERT_THAT(node.status(), IsOk());
  EXPECT_EQ(node->desired_version, pushes[0].version());
}

// Aside runs `fn` on a thread of its own and waits up to 10 s for it: whether it finished.
// Join afterwards (the thread may still wait for a lock the caller holds).
class Aside {
 public:
  bool Run(std::function<void()> fn) {
    thread_ = std::thread([this, fn = std::move(fn)] {
      fn();
      done_.Notify();
    });
    return done_.WaitForNotificationWithTimeout(absl::Seconds(10));
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
  absl::Notification done_;
};

TEST_F(FleetStoreOutageTest, OperatorReadsAndSessionsGoOnWhileALeaseWaitsForTheStore) {
  const v1::Hello waiting = HelloOf("10.0.0.1/9800");
  const v1::Hello other = HelloOf("10.0.0.2/9800");
  auto sink = std::make_shared<PushSink>();
  ASSERT_THAT(fleet_->Connect(waiting, sink).status(), IsOk());
  Aside aside;
  bool served = false;
  size_t listed = 0;
  bool armed = true;  // the first lease only
  store_.during_lease = [&] {
    if (!std::exchange(armed, false)) return;
    served = aside.Run([&] {
      listed = fleet_->Nodes({}).size();
      EXPECT_THAT(fleet_->Connect(other, std::make_shared<PushSink>()).status(), IsOk());
    });
  };
  clock_.Advance(absl::Milliseconds(100));
  fleet_->Pump();
  aside.Join();
  EXPECT_TRUE(served) << "a read and a connect waited for the lease";
  EXPECT_EQ(listed, 1u);
  std::vector<v1::ConfigPush> pushes = sink->TakePushes();
  ASSERT_THAT(pushes, SizeIs(1));
  EXPECT_EQ(pushes[0].overlay_address(), "10.147.0.1/16");
}

TEST_F(FleetStoreOutageTest, TheBatchIsJudgedByWhatItsNodesAreWhenTheLeaseReturns) {
  const v1::Hello left = HelloOf("10.0.0.1/9800");
  const v1::Hello back = HelloOf("10.0.0.2/9800");
  auto left_sink = std::make_shared<PushSink>();
  auto old_sink = std::make_shared<PushSink>();
  auto new_sink = std::make_shared<PushSink>();
  absl::StatusOr<uint64_t> left_session = fleet_->Connect(left, left_sink);
  ASSERT_THAT(left_session.status(), IsOk());
  ASSERT_THAT(fleet_->Connect(back, old_sink).status(), IsOk());
  Aside aside;
  bool served = false;
  bool armed = true;  // the first lease only
  store_.during_lease = [&] {
    if (!std::exchange(armed, false)) return;
    served = aside.Run([&] {
      fleet_->Disconnect(left.node_id(), *left_session);
      EXPECT_THAT(fleet_->Connect(back, new_sink).status(), IsOk());  // replaces its session
    });
  };
  clock_.Advance(absl::Milliseconds(100));
  fleet_->Pump();
  aside.Join();
  ASSERT_TRUE(served);
  EXPECT_THAT(left_sink->TakePushes(), IsEmpty()) << "pushed to a session that had closed";
  EXPECT_THAT(old_sink->TakePushes(), IsEmpty()) << "pushed to a replaced session";
  EXPECT_THAT(new_sink->TakePushes(), SizeIs(1));
  RunFor(absl::Seconds(2));  // and no second push
  EXPECT_THAT(new_sink->TakePushes(), IsEmpty());

  // The one that left has its address, and gets its push when it comes back.
  auto again = std::make_shared<PushSink>();
  ASSERT_THAT(fleet_->Connect(left, again).status(), IsOk());
  RunFor(absl::Seconds(1));
  std::vector<v1::ConfigPush> pushes = again->TakePushes();
  ASSERT_THAT(pushes, SizeIs(1));
  EXPECT_FALSE(pushes[0].overlay_address().empty());
}

TEST_F(FleetStoreOutageTest, AFailingLeaseIsOneEventPerSessionNotOnePerTry) {
  std::shared_ptr<Fleet::EventQueue> events = fleet_->Watch("");
  store_.down = true;
  int tries = 0;
  store_.during_lease = [&] { ++tries; };
  const v1::Hello hello = HelloOf("10.0.0.1/9800");
  const auto no_address_events = [&] {
    int n = 0;
    while (std::optional<v1::FleetEvent> e = events->Next(absl::ZeroDuration())) {
      if (e->kind() != v1::FleetEvent::KIND_NACKED) continue;
      ++n;
      EXPECT_THAT(e->detail(), HasSubstr("no overlay address: etcd Txn: no endpoint answered"));
    }
    return n;
  };
  absl::StatusOr<uint64_t> session = fleet_->Connect(hello, std::make_shared<PushSink>());
  ASSERT_THAT(session.status(), IsOk());
  RunFor(absl::Seconds(5));
  EXPECT_GE(tries, 4) << "the lease was not retried";
  EXPECT_EQ(no_address_events(), 1) << "each try's error is worded differently";

  // A new session of the node is told again, once.
  fleet_->Disconnect(hello.node_id(), *session);
  auto sink = std::make_shared<PushSink>();
  ASSERT_THAT(fleet_->Connect(hello, sink).status(), IsOk());
  RunFor(absl::Seconds(3));
  EXPECT_EQ(no_address_events(), 1);
  store_.down = false;
  RunFor(absl::Seconds(2));
  EXPECT_THAT(sink->TakePushes(), SizeIs(1));
}

// FirstPush connects `hello` to `fleet`, pumps 2 s of fake time, acks the one push it expects and
// disconnects: the push.
v1::ConfigPush FirstPush(Fleet& fleet, FakeClock& clock, const v1::Hello& hello) {
  auto sink = std::make_shared<PushSink>();
  absl::StatusOr<uint64_t> session = fleet.Connect(hello, sink);
  EXPECT_THAT(session.status(), IsOk());
  for (int i = 0; i < 20; ++i) {
    clock.Advance(absl::Milliseconds(100));
    fleet.Pump();
  }
  std::vector<v1::ConfigPush> pushes = sink->TakePushes();
  EXPECT_THAT(pushes, SizeIs(1));
  if (pushes.empty()) return {};
  v1::NodeMessage ack;
  ack.mutable_ack()->set_version(pushes[0].version());
  EXPECT_THAT(fleet.OnMessage(hello.node_id(), *session, ack), IsOk());
  fleet.Disconnect(hello.node_id(), *session);
  return pushes[0];
}

TEST(FleetReplicaMoveTest, ANodeFromAReplicaWithHigherVersionsIsPushedAboveWhatItAcked) {
  FakeClock clock;
  MemoryStore store(clock);  // one store, two replicas: push versions come from one counter
  absl::StatusOr<std::unique_ptr<Fleet>> low = Fleet::Create(store, clock, {});
  absl::StatusOr<std::unique_ptr<Fleet>> high = Fleet::Create(store, clock, {});
  ASSERT_THAT(low.status(), IsOk());
  ASSERT_THAT(high.status(), IsOk());
  // `low` reserves the first block of versions, `high` the next one.
  const v1::ConfigPush on_low = FirstPush(**low, clock, HelloOf("10.0.0.1/9800"));
  v1::Hello moving = HelloOf("10.0.0.2/9800");
  const v1::ConfigPush on_high = FirstPush(**high, clock, moving);
  ASSERT_GT(on_high.version(), on_low.version());

  // The node moves to `low`, saying what it acked last.
  moving.set_last_acked_version(on_high.version());
  const v1::ConfigPush moved = FirstPush(**low, clock, moving);
  EXPECT_GT(moved.version(), on_high.version()) << "the node would ignore this push";
}

TEST(FleetReplicaMoveTest, ANodeFromAReplicaWithAStoreOfItsOwnIsPushedAboveWhatItAcked) {
  // Replicas with a store each (--replica-owners, no etcd) count versions apart, both from 1.
  // (controller_replicas on the rig failed whenever node 3 first joined the replica that had
  // pushed more: "push 1 is older than the acked push 4; ignored".)
  FakeClock clock;
  MemoryStore store_a(clock);
  MemoryStore store_b(clock);
  absl::StatusOr<std::unique_ptr<Fleet>> a = Fleet::Create(store_a, clock, {});
  absl::StatusOr<std::unique_ptr<Fleet>> b = Fleet::Create(store_b, clock, {});
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  v1::Hello moving = HelloOf("10.0.0.1/9800");
  const v1::ConfigPush on_a = FirstPush(**a, clock, moving);
  moving.set_last_acked_version(on_a.version());
  const v1::ConfigPush on_b = FirstPush(**b, clock, moving);
  EXPECT_GT(on_b.version(), on_a.version()) << "the node would ignore this push";

  // Beyond b's block, too; and what b hands out next stays above it, also after a restart of b
  // (its store's counter went past the skipped versions).
  moving.set_last_acked_version(5000);
  EXPECT_GT(FirstPush(**b, clock, moving).version(), 5000u);
  EXPECT_GT(FirstPush(**b, clock, HelloOf("10.0.0.2/9800")).version(), 5000u);
  b->reset();
  absl::StatusOr<std::unique_ptr<Fleet>> b2 = Fleet::Create(store_b, clock, {});
  ASSERT_THAT(b2.status(), IsOk());
  EXPECT_GT(FirstPush(**b2, clock, HelloOf("10.0.0.3/9800")).version(), 5000u);
}

TEST(FleetReplicaMoveTest, ANodesAckedVersionIsFollowedAtMost2To32AboveAFreshBlock) {
  constexpr uint64_t kSkip = uint64_t{1} << 32;
  FakeClock clock;
  {  // The farthest claim followed: the store's first block starts at 1.
    MemoryStore store(clock);
    absl::StatusOr<std::unique_ptr<Fleet>> fleet = Fleet::Create(store, clock, {});
    ASSERT_THAT(fleet.status(), IsOk());
    v1::Hello node = HelloOf("10.0.0.1/9800");
    node.set_last_acked_version(1 + kSkip - 1);
    EXPECT_EQ(FirstPush(**fleet, clock, node).version(), 1 + kSkip);
    // The counter moved by that claim and a block above it, no more.
    absl::StatusOr<uint64_t> next = store.ReserveVersions(1);
    ASSERT_THAT(next.status(), IsOk());
    EXPECT_LE(*next, 1 + kSkip + 2048);
  }
  {  // One further is not followed (the node ignores the push: its loss), and costs nothing.
    MemoryStore store(clock);
    absl::StatusOr<std::unique_ptr<Fleet>> fleet = Fleet::Create(store, clock, {});
    ASSERT_THAT(fleet.status(), IsOk());
    v1::Hello liar = HelloOf("10.0.0.1/9800");
    liar.set_last_acked_version(1 + kSkip);
    EXPECT_LT(FirstPush(**fleet, clock, liar).version(), 2048u);
    EXPECT_LT(FirstPush(**fleet, clock, HelloOf("10.0.0.2/9800")).version(), 4096u);
  }
  {  // Judged from the block reserved after a restart, not from 0.
    MemoryStore store(clock);
    ASSERT_THAT(store.ReserveVersions(2 * kSkip).status(), IsOk());  // versions handed out before
    absl::StatusOr<std::unique_ptr<Fleet>> fleet = Fleet::Create(store, clock, {});
    ASSERT_THAT(fleet.status(), IsOk());
    v1::Hello node = HelloOf("10.0.0.1/9800");
    node.set_last_acked_version(2 * kSkip + 5000);  // acked from a replica a little ahead
    EXPECT_GT(FirstPush(**fleet, clock, node).version(), 2 * kSkip + 5000);
  }
}

TEST(FleetReplicaMoveTest, ANodeClaimingTheCountersEndDoesNotUseItUpNorWrapIt) {
  FakeClock clock;
  MemoryStore store(clock);
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  // The counter near its end: a claim of the last version is within reach of a fresh block.
  ASSERT_THAT(store.ReserveVersions(kMax - 100'000).status(), IsOk());
  absl::StatusOr<std::unique_ptr<Fleet>> fleet = Fleet::Create(store, clock, {});
  ASSERT_THAT(fleet.status(), IsOk());
  v1::Hello liar = HelloOf("10.0.0.1/9800");
  liar.set_last_acked_version(kMax);
  // No version lies above it: the liar gets no push (the reservation past the end is refused)...
  auto sink = std::make_shared<PushSink>();
  ASSERT_THAT((*fleet)->Connect(liar, sink).status(), IsOk());
  for (int i = 0; i < 20; ++i) {
    clock.Advance(absl::Milliseconds(100));
    (*fleet)->Pump();
  }
  EXPECT_THAT(sink->TakePushes(), IsEmpty());
  // ... and the others get versions from where the counter was, none wrapped past the end.
  const uint64_t version = FirstPush(**fleet, clock, HelloOf("10.0.0.2/9800")).version();
  EXPECT_GT(version, kMax - 100'000);
  EXPECT_LT(version, kMax - 90'000);
}

TEST(FleetReplicaMoveTest, AnExpectedVersionAheadOfThisReplicaIsCheckedAgainstTheStore) {
  // An operator reads version 1 through replica `a` and writes through `b`, whose watch has not
  // told it of that version yet (MemoryStore has no watch: `b` never hears of it by itself).
  FakeClock clock;
  MemoryStore store(clock);
  absl::StatusOr<std::unique_ptr<Fleet>> a = Fleet::Create(store, clock, {});
  absl::StatusOr<std::unique_ptr<Fleet>> b = Fleet::Create(store, clock, {});
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  v1::Settings doc;
  doc.set_default_bonding_policy("broadcast");
  ASSERT_THAT((*a)->ReplaceScope("", doc, 0, "ann"), IsOkAndHolds(1u));
  // Not "settings are at version 0, not 1": the store is at 1, so the change goes through.
  doc.set_default_bonding_policy("active-backup");
  EXPECT_THAT((*b)->ReplaceScope("", doc, 1, "bob"), IsOkAndHolds(2u));
  EXPECT_EQ((*b)->GetSettings().scopes.at("").default_bonding_policy(), "active-backup");
  // A version the store never reached is refused with the store's version.
  EXPECT_THAT((*a)->ReplaceScope("", doc, 7, "ann"),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("settings are at version 2, not 7")));
}

}  // namespace
}  // namespace fleetbond::controller
