// Fleet and Store::WatchNodes: two controller replicas (two Fleets, each with its own EtcdStore on
// one real etcd) share the node registry, so a node connected to one is in the peer directory the
// other pushes, with its overlay address; a registry flush that only moves a node's last-seen time
// pushes nothing; a node the leader expires leaves the other replica's directories. Time is a
// FakeClock; only etcd's events are waited for (bounded). Skips without etcd, as the store tests
// do.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "controller/fleet/fleet.h"
#include "controller/store/etcd_client.h"
#include "controller/store/etcd_singleton_jobs.h"
#include "controller/store/etcd_store.h"
#include "shared/identity/identity.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/fleet/push_sink.h"
#include "tests/unit/controller/store/etcd_server.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// GuardedStore is one replica's EtcdStore whose watch reports run under `clock_mu`: the Fleet reads
// the FakeClock in them, on the store's thread, and the test moves the clock only while holding
// the same mutex (FakeClock itself is not thread-safe).
class GuardedStore : public Store {
 public:
  GuardedStore(EtcdStore& store, absl::Mutex& clock_mu) : store_(store), clock_mu_(clock_mu) {}

  absl::StatusOr<SettingsDocuments> LoadSettings() override { return store_.LoadSettings(); }
  absl::StatusOr<uint64_t> PutSettings(absl::string_view scope,
                                       const std::optional<v1::Settings>& settings,
                                       uint64_t expected_version,
                                       absl::string_view author) override {
    return store_.PutSettings(scope, settings, expected_version, author);
  }
  absl::StatusOr<std::vector<SettingsChange>> SettingsHistory(size_t limit) override {
    return store_.SettingsHistory(limit);
  }
  absl::StatusOr<std::vector<NodeRecord>> LoadNodes() override { return store_.LoadNodes(); }
  absl::Status SaveNodes(const std::vector<NodeRecord>& nodes) override {
    return store_.SaveNodes(nodes);
  }
  absl::Status DeleteNode(absl::string_view id) override { return store_.DeleteNode(id); }
  absl::StatusOr<std::map<std::string, std::string>> LeaseOverlays(
      absl::string_view prefix, const std::vector<std::string>& node_ids) override {
    return store_.LeaseOverlays(prefix, node_ids);
  }
  absl::StatusOr<std::map<std::string, std::string>> Leases() override { return store_.Leases(); }
  absl::StatusOr<uint64_t> ReserveVersions(uint64_t count) override {
    return store_.ReserveVersions(count);
  }
  absl::Status WatchSettings(std::function<void(uint64_t)> on_change) override {
    return store_.WatchSettings([this, on_change](uint64_t version) {
      absl::MutexLock lock(&clock_mu_);
      on_change(version);
    });
  }
  void StopWatchingSettings() override { store_.StopWatchingSettings(); }
  absl::Status WatchNodes(std::function<void(const RegistryUpdate&)> on_update) override {
    return store_.WatchNodes([this, on_update](const RegistryUpdate& update) {
      absl::MutexLock lock(&clock_mu_);
      on_update(update);
    });
  }
  void StopWatchingNodes() override { store_.StopWatchingNodes(); }

 private:
  EtcdStore& store_;
  absl::Mutex& clock_mu_;
};

// Replica is one controller replica: its own etcd client, store and Fleet.
struct Replica {
  std::unique_ptr<EtcdClient> client;
  std::unique_ptr<EtcdStore> etcd_store;
  std::unique_ptr<GuardedStore> store;
  std::unique_ptr<Fleet> fleet;
};

struct Session {
  std::string id;
  uint64_t number = 0;
  std::shared_ptr<PushSink> sink;
};

// PollUntil checks `done` every 20 ms for up to 15 s (etcd's events, not the Fleets' timers).
bool PollUntil(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

const v1::PeerEntry* FindPeer(const v1::ConfigPush& push, const std::string& id) {
  for (const v1::PeerEntry& p : push.peers()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

class FleetReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    EtcdServer* etcd = SharedEtcd(&why);
    if (etcd == nullptr) GTEST_SKIP() << why;
    const std::string prefix = UniqueEtcdPrefix();
    for (Replica* r : {&a_, &b_}) {
      EtcdOptions options;
      options.endpoints = {etcd->endpoint()};
      absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
      ASSERT_THAT(client, IsOk());
      r->client = *std::move(client);
      r->etcd_store = std::make_unique<EtcdStore>(*r->client, prefix, clock_);
      r->store = std::make_unique<GuardedStore>(*r->etcd_store, clock_mu_);
      absl::StatusOr<std::unique_ptr<Fleet>> fleet =
          Fleet::Create(*r->store, clock_, FleetOptions());
      ASSERT_THAT(fleet, IsOk());
      r->fleet = *std::move(fleet);
    }

    // X connects to replica A, gets its overlay address, and A flushes it to the registry.
    x_ = Connect(*a_.fleet, "192.0.2.1/9800");
    a_.fleet->Pump();
    ASSERT_THAT(AckAll(*a_.fleet, x_), SizeIs(1));
    Advance(absl::Seconds(1));
    a_.fleet->Pump();
    ASSERT_TRUE(KnowsWithOverlay(*b_.fleet, x_.id, "10.147.0.1"));

    // Y connects to replica B: its first push is the whole directory.
    y_ = Connect(*b_.fleet, "198.51.100.7/9800");
    b_.fleet->Pump();
    y_first_ = AckAll(*b_.fleet, y_);
    ASSERT_THAT(y_first_, SizeIs(1));
    Advance(absl::Seconds(1));
    b_.fleet->Pump();
    ASSERT_TRUE(KnowsWithOverlay(*a_.fleet, y_.id, "10.147.0.2"));
    // A pushes Y to X once its debounce passed.
    Advance(absl::Seconds(1));
    a_.fleet->Pump();
    x_second_ = AckAll(*a_.fleet, x_);
    ASSERT_THAT(x_second_, SizeIs(1));
  }

  void TearDown() override {
    // The Fleets first: they stop their stores' watches.
    for (Replica* r : {&a_, &b_}) r->fleet.reset();
  }

  void Advance(absl::Duration d) {
    absl::MutexLock lock(&clock_mu_);
    clock_.Advance(d);
  }

  Session Connect(Fleet& fleet, const std::string& endpoint) {
    absl::StatusOr<Identity> identity = Identity::Generate();
    EXPECT_THAT(identity, IsOk());
    v1::Hello hello;
    hello.set_node_id(identity->id().ToString());
    hello.set_public_key(std::string(identity->public_key().begin(), identity->public_key().end()));
    hello.add_interfaces()->set_name("eth0");
    hello.mutable_interfaces(0)->add_endpoints(endpoint);
    Session s{hello.node_id(), 0, std::make_shared<PushSink>()};
    absl::StatusOr<uint64_t> number = fleet.Connect(hello, s.sink);
    EXPECT_THAT(number, IsOk());
    s.number = number.value_or(0);
    return s;
  }

  // AckAll acks every push the node got and returns them.
  static std::vector<v1::ConfigPush> AckAll(Fleet& fleet, const Session& s) {
    std::vector<v1::ConfigPush> pushes = s.sink->TakePushes();
    for (const v1::ConfigPush& push : pushes) {
      v1::NodeMessage ack;
      ack.mutable_ack()->set_version(push.version());
      EXPECT_THAT(fleet.OnMessage(s.id, s.number, ack), IsOk());
    }
    return pushes;
  }

  // KnowsWithOverlay waits until `fleet` holds node `id` with that overlay address.
  static bool KnowsWithOverlay(Fleet& fleet, const std::string& id, const std::string& overlay) {
    return PollUntil([&] {
      absl::StatusOr<NodeSnapshot> node = fleet.Node(id);
      return node.ok() && node->overlay == overlay;
    });
  }

  absl::Mutex clock_mu_;
  FakeClock clock_;
  Replica a_;
  Replica b_;
  Session x_;
  Session y_;
  std::vector<v1::ConfigPush> y_first_;
  std::vector<v1::ConfigPush> x_second_;
};

TEST_F(FleetReplicasTest, NodesOnDifferentReplicas_AreInEachOthersDirectoryWithTheirOverlay) {
  // Y's first push, from B, lists X, which only A ever saw.
  ASSERT_EQ(y_first_[0].peers_mode(), v1::ConfigPush::PEERS_FULL);
  const v1::PeerEntry* x = FindPeer(y_first_[0], x_.id);
  ASSERT_NE(x, nullptr) << y_first_[0].DebugString();
  EXPECT_EQ(x->overlay_address(), "10.147.0.1");
  EXPECT_THAT(x->endpoints(), ElementsAre("192.0.2.1/9800"));
  EXPECT_EQ(x->public_key().size(), 32u);
  EXPECT_EQ(y_first_[0].overlay_address(), "10.147.0.2/16");

  // And X got Y from A, as a change of the directory it holds.
  EXPECT_EQ(x_second_[0].peers_mode(), v1::ConfigPush::PEERS_DELTA);
  const v1::PeerEntry* y = FindPeer(x_second_[0], y_.id);
  ASSERT_NE(y, nullptr) << x_second_[0].DebugString();
  EXPECT_EQ(y->overlay_address(), "10.147.0.2");
  EXPECT_THAT(y->endpoints(), ElementsAre("198.51.100.7/9800"));

  // Each replica shows the other's node as known but not connected here.
  absl::StatusOr<NodeSnapshot> on_a = a_.fleet->Node(y_.id);
  ASSERT_THAT(on_a, IsOk());
  EXPECT_FALSE(on_a->connected);
}

TEST_F(FleetReplicasTest, FlushThatOnlyMovesLastSeen_PushesNothing_ButNewEndpointsArePushed) {
  Advance(absl::Seconds(2));
  b_.fleet->Pump();
  ASSERT_THAT(AckAll(*b_.fleet, y_), IsEmpty());

  // A's registry flush of X with nothing but a later last-seen time (what every flush after an
  // ack or a reconnect with the same endpoints writes).
  absl::StatusOr<NodeSnapshot> x = a_.fleet->Node(x_.id);
  ASSERT_THAT(x, IsOk());
  NodeRecord heartbeat = x->record;
  heartbeat.last_seen_unix_ms += 60'000;
  heartbeat.acked_version += 1;
  ASSERT_THAT(a_.etcd_store->SaveNodes({heartbeat}), IsOk());
  ASSERT_TRUE(PollUntil([&] {
    absl::StatusOr<NodeSnapshot> seen = b_.fleet->Node(x_.id);
    return seen.ok() && seen->record.last_seen_unix_ms == heartbeat.last_seen_unix_ms;
  }));
  Advance(absl::Seconds(2));
  b_.fleet->Pump();
  EXPECT_THAT(AckAll(*b_.fleet, y_), IsEmpty());

  // A change the directory shows does go out, as a delta with only X.
  NodeRecord moved = heartbeat;
  moved.endpoints = {"192.0.2.99/9800"};
  ASSERT_THAT(a_.etcd_store->SaveNodes({moved}), IsOk());
  ASSERT_TRUE(PollUntil([&] {
    absl::StatusOr<NodeSnapshot> seen = b_.fleet->Node(x_.id);
    return seen.ok() && seen->record.endpoints == moved.endpoints;
  }));
  Advance(absl::Seconds(2));
  b_.fleet->Pump();
  std::vector<v1::ConfigPush> pushes = AckAll(*b_.fleet, y_);
  ASSERT_THAT(pushes, SizeIs(1));
  EXPECT_EQ(pushes[0].peers_mode(), v1::ConfigPush::PEERS_DELTA);
  ASSERT_THAT(pushes[0].peers(), SizeIs(1));
  EXPECT_THAT(pushes[0].peers(0).endpoints(), ElementsAre("192.0.2.99/9800"));
}

TEST_F(FleetReplicasTest, NodeExpiredByTheLeader_LeavesTheOtherReplicasDirectories) {
  // A second node on B, so that one removal is a delta there (a directory change touching more
  // than half the fleet goes out whole, and a whole directory has no removed_peers).
  Session z = Connect(*b_.fleet, "198.51.100.8/9800");
  b_.fleet->Pump();
  ASSERT_THAT(AckAll(*b_.fleet, z), SizeIs(1));
  Advance(absl::Seconds(1));
  b_.fleet->Pump();
  ASSERT_THAT(AckAll(*b_.fleet, y_), SizeIs(1));

  // X goes away from A; A flushes its last record.
  a_.fleet->Disconnect(x_.id, x_.number);
  Advance(absl::Seconds(1));
  a_.fleet->Pump();

  // The leader's expiry pass, a month later (Y is connected, so it stays).
  absl::StatusOr<std::vector<std::string>> expired = ExpireStaleNodes(
      *a_.etcd_store, clock_.Now() + absl::Hours(24 * 31), absl::Hours(24 * 30),
      [&](const std::string& id) -> absl::StatusOr<bool> { return id != x_.id; },
      [&](const std::string& id) { return a_.etcd_store->ReclaimOverlay(id); });
  ASSERT_THAT(expired, IsOkAndHolds(ElementsAre(x_.id)));

  // Both replicas drop X; B tells its nodes to remove it.
  ASSERT_TRUE(PollUntil([&] { return absl::IsNotFound(b_.fleet->Node(x_.id).status()); }));
  ASSERT_TRUE(PollUntil([&] { return absl::IsNotFound(a_.fleet->Node(x_.id).status()); }));
  Advance(absl::Seconds(1));
  b_.fleet->Pump();
  for (const Session* s : {&y_, &z}) {
    std::vector<v1::ConfigPush> pushes = AckAll(*b_.fleet, *s);
    ASSERT_THAT(pushes, SizeIs(1));
    EXPECT_EQ(pushes[0].peers_mode(), v1::ConfigPush::PEERS_DELTA);
    EXPECT_THAT(pushes[0].removed_peers(), ElementsAre(x_.id));
    EXPECT_THAT(pushes[0].peers(), IsEmpty());
  }
  EXPECT_THAT(b_.fleet->Nodes(LabelSelector()), SizeIs(2));

  // Nothing more once acked.
  Advance(absl::Seconds(2));
  b_.fleet->Pump();
  EXPECT_THAT(AckAll(*b_.fleet, y_), IsEmpty());
  EXPECT_THAT(AckAll(*b_.fleet, z), IsEmpty());
}

}  // namespace
}  // namespace fleetbond::controller
