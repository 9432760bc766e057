// Fleet and Store::WatchSettings: settings stored through another controller replica (written
// to the shared store behind this Fleet's back, then reported by the store's watch) reach this
// Fleet's nodes, and an edit made on stale settings catches up instead of failing. And
// Store::WatchNodes, played by the test: which registry reports change the directory
// (fleet_replicas_test.cc runs the same against etcd).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet.h"
#include "controller/store/memory_store.h"
#include "shared/identity/identity.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/fleet/push_sink.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// WatchedStore is one replica's view of a store shared with others (`shared`): every call goes
// to it, and the test plays the store's watch with Fire.
class WatchedStore : public Store {
 public:
  explicit WatchedStore(Store& shared) : shared_(shared) {}

  absl::StatusOr<SettingsDocuments> LoadSettings() override { return shared_.LoadSettings(); }
  absl::StatusOr<uint64_t> PutSettings(absl::string_view scope,
                                       const std::optional<v1::Settings>& settings,
                                       uint64_t expected_version,
                                       absl::string_view author) override {
    return shared_.PutSettings(scope, settings, expected_version, author);
  }
  absl::StatusOr<std::vector<SettingsChange>> SettingsHistory(size_t limit) override {
    return shared_.SettingsHistory(limit);
  }
  absl::StatusOr<std::vector<NodeRecord>> LoadNodes() override { return shared_.LoadNodes(); }
  absl::Status SaveNodes(const std::vector<NodeRecord>& nodes) override {
    return shared_.SaveNodes(nodes);
  }
  absl::Status DeleteNode(absl::string_view id) override { return shared_.DeleteNode(id); }
  absl::StatusOr<std::map<std::string, std::string>> LeaseOverlays(
      absl::string_view prefix, const std::vector<std::string>& node_ids) override {
    return shared_.LeaseOverlays(prefix, node_ids);
  }
  absl::StatusOr<std::map<std::string, std::string>> Leases() override { return shared_.Leases(); }
  absl::StatusOr<uint64_t> ReserveVersions(uint64_t count) override {
    return shared_.ReserveVersions(count);
  }

  absl::Status WatchSettings(std::function<void(uint64_t)> on_change) override {
    on_change_ = std::move(on_change);
    return absl::OkStatus();
  }
  void StopWatchingSettings() override {
    on_change_ = nullptr;
    ++stops_;
  }
  absl::Status WatchNodes(std::function<void(const RegistryUpdate&)> on_update) override {
    on_update_ = std::move(on_update);
    return absl::OkStatus();
  }
  void StopWatchingNodes() override { on_update_ = nullptr; }

  // Fire reports `version` as the store's watch would.
  void Fire(uint64_t version) {
    ASSERT_TRUE(on_change_ != nullptr) << "nobody watches";
    on_change_(version);
  }
  // FireNodes reports registry changes as the store's node watch would.
  void FireNodes(const RegistryUpdate& update) {
    ASSERT_TRUE(on_update_ != nullptr) << "nobody watches the registry";
    on_update_(update);
  }
  bool watched() const { return on_change_ != nullptr; }
  bool nodes_watched() const { return on_update_ != nullptr; }
  int stops() const { return stops_; }

 private:
  Store& shared_;
  std::function<void(uint64_t)> on_change_;
  std::function<void(const RegistryUpdate&)> on_update_;
  int stops_ = 0;
};

v1::Settings Policy(const std::string& name) {
  v1::Settings settings;
  settings.set_default_bonding_policy(name);
  return settings;
}

class FleetWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Fleet>> fleet = Fleet::Create(store_, clock_, FleetOptions());
    ASSERT_THAT(fleet.status(), IsOk());
    fleet_ = *std::move(fleet);
  }

  // ConnectNode connects a node and acks its first push.
  std::shared_ptr<PushSink> ConnectNode(std::string* id = nullptr,
                                        uint64_t* session_out = nullptr) {
    absl::StatusOr<Identity> identity = Identity::Generate();
    EXPECT_TRUE(identity.ok());
    v1::Hello hello;
    hello.set_node_id(identity->id().ToString());
    hello.set_public_key(std::string(identity->public_key().begin(), identity->public_key().end()));
    hello.add_interfaces()->set_name("eth0");
    hello.mutable_interfaces(0)->add_endpoints("10.0.0.1/9800");
    auto sink = std::make_shared<PushSink>();
    absl::StatusOr<uint64_t> session = fleet_->Connect(hello, sink);
    EXPECT_THAT(session.status(), IsOk());
    if (id != nullptr) *id = hello.node_id();
    if (session_out != nullptr) *session_out = session.value_or(0);
    fleet_->Pump();
    std::vector<v1::ConfigPush> pushes = sink->TakePushes();
    EXPECT_THAT(pushes, SizeIs(1));
    if (!pushes.empty()) {
      v1::NodeMessage ack;
      ack.mutable_ack()->set_version(pushes[0].version());
      EXPECT_THAT(fleet_->OnMessage(hello.node_id(), *session, ack), IsOk());
    }
    return sink;
  }

  FakeClock clock_;
  MemoryStore shared_{clock_};  // what every replica's store reaches
  WatchedStore store_{shared_};
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(FleetWatchTest, SettingsStoredByAnotherReplica_ArePushedToThisReplicasNodes) {
  ASSERT_TRUE(store_.watched());
  std::shared_ptr<PushSink> node = ConnectNode();

  // Another replica stores settings; the store's watch reports the new version.
  ASSERT_THAT(shared_.PutSettings("", Policy("broadcast"), 0, "bob"), IsOkAndHolds(1u));
  store_.Fire(1);
  EXPECT_EQ(fleet_->GetSettings().version, 1u);
  EXPECT_EQ(fleet_->GetSettings().scopes.at("").default_bonding_policy(), "broadcast");

  // Through the ordinary debounce: nothing at once, one push after it.
  fleet_->Pump();
  EXPECT_THAT(node->TakePushes(), IsEmpty());
  clock_.Advance(absl::Milliseconds(250));
  fleet_->Pump();
  std::vector<v1::ConfigPush> pushes = node->TakePushes();
  ASSERT_THAT(pushes, SizeIs(1));
  EXPECT_EQ(pushes[0].settings().default_bonding_policy(), "broadcast");
}

TEST_F(FleetWatchTest, VersionsItAlreadyHas_ChangeNothing) {
  std::shared_ptr<PushSink> node = ConnectNode();
  ASSERT_THAT(fleet_->ReplaceScope("", Policy("balance-rr"), 0, "alice"), IsOkAndHolds(1u));
  clock_.Advance(absl::Milliseconds(250));
  fleet_->Pump();
  ASSERT_THAT(node->TakePushes(), SizeIs(1));

  store_.Fire(1);  // its own write, reported back by the watch
  store_.Fire(0);
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_THAT(node->TakePushes(), IsEmpty());
  EXPECT_EQ(fleet_->GetSettings().version, 1u);
}

TEST_F(FleetWatchTest, EditWithoutExpectedVersion_CatchesUpWithAnotherReplicasWrite) {
  // The other replica's write has not been reported yet: this Fleet still holds version 0.
  ASSERT_THAT(shared_.PutSettings("", Policy("active-backup"), 0, "bob"), IsOkAndHolds(1u));
  EXPECT_THAT(fleet_->ReplaceScope("site=berlin", Policy("balance-xor"), 0, "alice"),
              IsOkAndHolds(2u));
  Fleet::Settings settings = fleet_->GetSettings();
  EXPECT_EQ(settings.version, 2u);
  EXPECT_EQ(settings.scopes.at("").default_bonding_policy(), "active-backup");
  EXPECT_EQ(settings.scopes.at("site=berlin").default_bonding_policy(), "balance-xor");
}

// Remote is a node of another replica as the registry watch reports it.
NodeChange Remote(const std::string& id, const std::string& overlay,
                  const std::string& endpoint = "192.0.2.5/9800", int64_t last_seen = 1000) {
  NodeRecord record;
  record.id = id;
  record.public_key = std::string(32, 'r');
  record.endpoints = {endpoint};
  record.last_seen_unix_ms = last_seen;
  return NodeChange{id, record, overlay};
}

RegistryUpdate Changes(std::vector<NodeChange> changes, bool full = false) {
  RegistryUpdate update;
  update.full = full;
  update.changes = std::move(changes);
  return update;
}

// Acks the one push the node got and returns it.
v1::ConfigPush AckOne(Fleet& fleet, PushSink& sink, const std::string& id, uint64_t session) {
  std::vector<v1::ConfigPush> pushes = sink.TakePushes();
  EXPECT_THAT(pushes, SizeIs(1));
  if (pushes.empty()) return v1::ConfigPush();
  v1::NodeMessage ack;
  ack.mutable_ack()->set_version(pushes[0].version());
  EXPECT_THAT(fleet.OnMessage(id, session, ack), IsOk());
  return pushes[0];
}

TEST_F(FleetWatchTest, RegistryReports_ChangeTheDirectoryOnlyWhenWhatItShowsChanges) {
  ASSERT_TRUE(store_.nodes_watched());
  std::string id;
  uint64_t session = 0;
  std::shared_ptr<PushSink> node = ConnectNode(&id, &session);

  // A node of another replica with its lease: pushed, after the debounce.
  store_.FireNodes(Changes({Remote("aaaaaaaaaa", "10.147.9.9")}));
  fleet_->Pump();
  EXPECT_THAT(node->TakePushes(), IsEmpty());
  clock_.Advance(absl::Milliseconds(250));
  fleet_->Pump();
  v1::ConfigPush push = AckOne(*fleet_, *node, id, session);
  EXPECT_EQ(push.peers_mode(), v1::ConfigPush::PEERS_DELTA);
  ASSERT_THAT(push.peers(), SizeIs(1));
  EXPECT_EQ(push.peers(0).overlay_address(), "10.147.9.9");

  // Its heartbeat flush (last seen, acked version): nothing. Its new endpoint: pushed.
  NodeChange heartbeat = Remote("aaaaaaaaaa", "10.147.9.9", "192.0.2.5/9800", 99'000);
  heartbeat.record->acked_version = 17;
  store_.FireNodes(Changes({heartbeat}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_THAT(node->TakePushes(), IsEmpty());
  EXPECT_EQ(fleet_->Node("aaaaaaaaaa")->record.last_seen_unix_ms, 99'000);
  store_.FireNodes(Changes({Remote("aaaaaaaaaa", "10.147.9.9", "192.0.2.6/9800")}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  push = AckOne(*fleet_, *node, id, session);
  ASSERT_THAT(push.peers(), SizeIs(1));
  EXPECT_THAT(push.peers(0).endpoints(), ::testing::ElementsAre("192.0.2.6/9800"));

  // A node without a lease is in nobody's directory: nothing to push.
  store_.FireNodes(Changes({Remote("bbbbbbbbbb", "")}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_THAT(node->TakePushes(), IsEmpty());

  // Its lease reclaimed: it leaves the directory. Then deleted: nothing more to say.
  store_.FireNodes(Changes({Remote("aaaaaaaaaa", "", "192.0.2.6/9800")}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  push = AckOne(*fleet_, *node, id, session);
  EXPECT_THAT(push.removed_peers(), ::testing::ElementsAre("aaaaaaaaaa"));
  EXPECT_THAT(push.peers(), IsEmpty());
  store_.FireNodes(Changes({NodeChange{"aaaaaaaaaa", std::nullopt, ""}}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_THAT(node->TakePushes(), IsEmpty());
  EXPECT_FALSE(fleet_->Node("aaaaaaaaaa").ok());
}

TEST_F(FleetWatchTest, RegistryReports_OfANodeConnectedHere_AreIgnored) {
  std::string id;
  uint64_t session = 0;
  std::shared_ptr<PushSink> node = ConnectNode(&id, &session);
  std::shared_ptr<PushSink> other = ConnectNode();
  ASSERT_THAT(fleet_->Node(id), IsOk());
  const NodeRecord mine = fleet_->Node(id)->record;
  const std::string overlay = fleet_->Node(id)->overlay;

  // An older copy of its record (another replica's, or the echo of an old flush), and its
  // deletion: its session here is what counts.
  store_.FireNodes(Changes({Remote(id, "10.147.9.9", "192.0.2.77/9800")}));
  store_.FireNodes(Changes({NodeChange{id, std::nullopt, ""}}));
  store_.FireNodes(Changes({}, /*full=*/true));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_THAT(other->TakePushes(), IsEmpty());
  absl::StatusOr<NodeSnapshot> now = fleet_->Node(id);
  ASSERT_THAT(now, IsOk());
  EXPECT_EQ(now->record.endpoints, mine.endpoints);
  EXPECT_EQ(now->overlay, overlay);
  EXPECT_TRUE(now->connected);
}

TEST_F(FleetWatchTest, AStaleStoredCopyOfANodeConnectedHere_IsOverwrittenAtTheNextFlush) {
  std::string id;
  std::shared_ptr<PushSink> node = ConnectNode(&id);
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();  // the registry flush
  ASSERT_THAT(fleet_->Node(id), IsOk());
  const NodeRecord mine = fleet_->Node(id)->record;
  auto stored_endpoints = [&]() -> std::vector<std::string> {
    absl::StatusOr<std::vector<NodeRecord>> nodes = shared_.LoadNodes();
    EXPECT_THAT(nodes.status(), IsOk());
    for (const NodeRecord& r : nodes.value_or(std::vector<NodeRecord>())) {
      if (r.id == id) return r.endpoints;
    }
    return {};
  };
  ASSERT_EQ(stored_endpoints(), mine.endpoints);

  // The replica the node left flushes late: its old endpoints replace the record in the store.
  NodeRecord stale = mine;
  stale.endpoints = {"192.0.2.77/9800"};
  ASSERT_THAT(shared_.SaveNodes({stale}), IsOk());
  store_.FireNodes(Changes({NodeChange{id, stale, fleet_->Node(id)->overlay}}));
  EXPECT_EQ(fleet_->Node(id)->record.endpoints, mine.endpoints);  // the session here counts
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_EQ(stored_endpoints(), mine.endpoints);

  // Deleted by another replica while its session is here: stored again too.
  ASSERT_THAT(shared_.DeleteNode(id), IsOk());
  store_.FireNodes(Changes({NodeChange{id, std::nullopt, ""}}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_EQ(stored_endpoints(), mine.endpoints);

  // An echo of its own write changes nothing and is not written again.
  ASSERT_THAT(shared_.DeleteNode(id), IsOk());
  store_.FireNodes(Changes({NodeChange{id, mine, fleet_->Node(id)->overlay}}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  EXPECT_THAT(stored_endpoints(), IsEmpty());
}

TEST_F(FleetWatchTest, FullRegistryReport_DropsNodesNoLongerStored) {
  std::string id;
  uint64_t session = 0;
  std::shared_ptr<PushSink> node = ConnectNode(&id, &session);
  store_.FireNodes(
      Changes({Remote("aaaaaaaaaa", "10.147.9.9"), Remote("bbbbbbbbbb", "10.147.9.8")}));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  ASSERT_THAT(AckOne(*fleet_, *node, id, session).peers(), SizeIs(2));

  // Read again after a compaction: b was deleted meanwhile; this node (connected, not flushed
  // yet) is not in the registry either, and stays.
  store_.FireNodes(Changes({Remote("aaaaaaaaaa", "10.147.9.9")}, /*full=*/true));
  clock_.Advance(absl::Seconds(2));
  fleet_->Pump();
  v1::ConfigPush push = AckOne(*fleet_, *node, id, session);
  EXPECT_THAT(push.removed_peers(), ::testing::ElementsAre("bbbbbbbbbb"));
  EXPECT_THAT(push.peers(), IsEmpty());
  EXPECT_THAT(fleet_->Node(id), IsOk());
  EXPECT_THAT(fleet_->Node("aaaaaaaaaa"), IsOk());
}

TEST_F(FleetWatchTest, DestroyingTheFleet_StopsTheWatch) {
  fleet_.reset();
  EXPECT_FALSE(store_.watched());
  EXPECT_FALSE(store_.nodes_watched());
  EXPECT_GE(store_.stops(), 1);
}

}  // namespace
}  // namespace fleetbond::controller
