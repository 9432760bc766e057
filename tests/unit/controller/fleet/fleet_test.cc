// The session protocol of the controller, driven through Fleet with fake sessions and a
// FakeClock: pushes, ACK/NACK, version monotonicity, debounce, rate limiting, directory deltas,
// reconnects, commands and events.
#include "controller/fleet/fleet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet_settings.h"
#include "controller/store/memory_store.h"
#include "shared/identity/identity.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class FakeSink : public SessionSink {
 public:
  void Send(const v1::ControllerMessage& m) override {
    absl::MutexLock lock(&mu_);
    sent_.push_back(m);
  }
  void Close(const absl::Status& s) override {
    absl::MutexLock lock(&mu_);
    closed_ = s;
  }
  // Takes the pushes sent so far.
  std::vector<v1::ConfigPush> TakePushes() {
    absl::MutexLock lock(&mu_);
    std::vector<v1::ConfigPush> out;
    std::vector<v1::ControllerMessage> rest;
    for (v1::ControllerMessage& m : sent_) {
      if (m.has_push()) {
        out.push_back(m.push());
      } else {
        rest.push_back(std::move(m));
      }
    }
    sent_ = std::move(rest);
    return out;
  }
  std::vector<v1::Command> TakeCommands() {
    absl::MutexLock lock(&mu_);
    std::vector<v1::Command> out;
    for (const v1::ControllerMessage& m : sent_) {
      if (m.has_command()) out.push_back(m.command());
    }
    sent_.clear();
    return out;
  }
  std::optional<absl::Status> closed() {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::ControllerMessage> sent_;
  std::optional<absl::Status> closed_;
};

struct TestNode {
  std::string id;
  v1::Hello hello;
  std::shared_ptr<FakeSink> sink;
  uint64_t session = 0;
};

TestNode MakeNode(const std::string& endpoint, Labels labels = {}) {
  absl::StatusOr<Identity> identity = Identity::Generate();
  EXPECT_TRUE(identity.ok());
  TestNode n;
  n.id = identity->id().ToString();
  n.hello.set_node_id(n.id);
  n.hello.set_public_key(std::string(identity->public_key().begin(), identity->public_key().end()));
  n.hello.set_software_version("test");
  v1::Interface* i = n.hello.add_interfaces();
  i->set_name("eth0");
  i->add_endpoints(endpoint);
  n.hello.mutable_labels()->insert(labels.begin(), labels.end());
  return n;
}

v1::Settings Parsed(const std::string& json) {
  auto [settings, issues] = ParseDocument(json);
  EXPECT_THAT(issues, IsEmpty());
  return settings;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override { Recreate(); }

  void Recreate(FleetOptions options = {}) {
    fleet_.reset();
    absl::StatusOr<std::unique_ptr<Fleet>> f = Fleet::Create(store_, clock_, std::move(options));
    ASSERT_THAT(f.status(), IsOk());
    fleet_ = *std::move(f);
  }

  void Connect(TestNode& n) {
    n.sink = std::make_shared<FakeSink>();
    absl::StatusOr<uint64_t> s = fleet_->Connect(n.hello, n.sink);
    ASSERT_THAT(s.status(), IsOk());
    n.session = *s;
  }

  void Ack(TestNode& n, uint64_t version) {
    v1::NodeMessage m;
    m.mutable_ack()->set_version(version);
    ASSERT_THAT(fleet_->OnMessage(n.id, n.session, m), IsOk());
  }

  // Pump after `d` of fake time.
  void After(absl::Duration d) {
    clock_.Advance(d);
    fleet_->Pump();
  }

  FakeClock clock_;
  MemoryStore store_{clock_};
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(FleetTest, RefusesAHelloWhoseIdIsNotTheHashOfItsKey) {
  TestNode a = MakeNode("10.0.0.1/9800");
  TestNode b = MakeNode("10.0.0.2/9800");
  a.hello.set_public_key(b.hello.public_key());
  EXPECT_THAT(fleet_->Connect(a.hello, std::make_shared<FakeSink>()).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  a.hello.set_node_id("not-an-id");
  EXPECT_THAT(fleet_->Connect(a.hello, std::make_shared<FakeSink>()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  a.hello.set_public_key("short");
  a.hello.set_node_id(b.id);
  EXPECT_THAT(fleet_->Connect(a.hello, std::make_shared<FakeSink>()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  b.hello.mutable_interfaces(0)->set_endpoints(0, "10.0.0.2");
  EXPECT_THAT(fleet_->Connect(b.hello, std::make_shared<FakeSink>()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FleetTest, FirstPushCarriesSettingsOverlayAndTheWholeDirectory) {
  ASSERT_THAT(fleet_->ReplaceScope(
                  "", Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast"}})"), 0, "alice"),
              IsOk());
  TestNode a = MakeNode("10.0.0.1/9800");
  TestNode b = MakeNode("10.0.0.2/9800");
  Connect(a);
  fleet_->Pump();
  std::vector<v1::ConfigPush> pa = a.sink->TakePushes();
  ASSERT_THAT(pa, SizeIs(1));
  EXPECT_GT(pa[0].version(), 0u);
  EXPECT_EQ(pa[0].overlay_address(), "10.147.0.1/16");
  EXPECT_EQ(pa[0].settings().default_bonding_policy(), "broadcast");
  EXPECT_EQ(pa[0].peers_mode(), v1::ConfigPush::PEERS_FULL);
  EXPECT_THAT(pa[0].peers(), IsEmpty());
  EXPECT_EQ(pa[0].metrics_interval_ms(), 5000u);
  Ack(a, pa[0].version());

  Connect(b);
  fleet_->Pump();
  std::vector<v1::ConfigPush> pb = b.sink->TakePushes();
  ASSERT_THAT(pb, SizeIs(1));
  EXPECT_GT(pb[0].version(), pa[0].version());
  EXPECT_EQ(pb[0].overlay_address(), "10.147.0.2/16");
  ASSERT_THAT(pb[0].peers(), SizeIs(1));
  EXPECT_EQ(pb[0].peers(0).id(), a.id);
  EXPECT_EQ(pb[0].peers(0).overlay_address(), "10.147.0.1");
  EXPECT_THAT(pb[0].peers(0).endpoints(), ElementsAre("10.0.0.1/9800"));
  EXPECT_EQ(pb[0].peers(0).public_key(), a.hello.public_key());

  // a learns about b after the debounce, as a delta against what it acked.
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());
  After(absl::Milliseconds(250));
  pa = a.sink->TakePushes();
  ASSERT_THAT(pa, SizeIs(1));
  EXPECT_EQ(pa[0].peers_mode(), v1::ConfigPush::PEERS_DELTA);
  ASSERT_THAT(pa[0].peers(), SizeIs(1));
  EXPECT_EQ(pa[0].peers(0).id(), b.id);
  EXPECT_GT(pa[0].base_version(), 0u);
}

TEST_F(FleetTest, NothingIsPushedWhenNothingTheNodeSeesChanged) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  std::vector<v1::ConfigPush> p = a.sink->TakePushes();
  ASSERT_THAT(p, SizeIs(1));
  Ack(a, p[0].version());
  for (int i = 0; i < 5; ++i) After(absl::Seconds(1));
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());

  // A change to a scope that does not match a: still nothing.
  ASSERT_THAT(
      fleet_->ReplaceScope("site=other",
                           Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast"}})"), 0, ""),
      IsOk());
  After(absl::Seconds(2));
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());
  absl::StatusOr<NodeSnapshot> snap = fleet_->Node(a.id);
  ASSERT_THAT(snap.status(), IsOk());
  EXPECT_EQ(snap->record.acked_version, p[0].version());
}

// Settings with maps (policies, links, peer-specific bonds) serialize their entries in an order
// seeded per map object; the same settings must still count as unchanged, or every ACK would be
// answered with the same push again.
TEST_F(FleetTest, SettingsWithManyPoliciesAreNotPushedAgainAfterTheAck) {
  std::string policies;
  for (int i = 0; i < 24; ++i) {
    absl::StrAppend(&policies, i == 0 ? "" : ",", "\"p", i,
                    R"(": {"basePolicy": "balance-aware", "links": {"eth0": {"capacity": 100},)",
                    R"( "eth1": {"capacity": 200}, "eth2": {"capacity": 300}}})");
  }
  ASSERT_THAT(
      fleet_->ReplaceScope(
          "",
          Parsed(absl::StrCat(R"({"settings": {"defaultBondingPolicy": "p1", "policies": {)",
                              policies, "}}}")),
          0, ""),
      IsOk());
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  std::vector<v1::ConfigPush> p = a.sink->TakePushes();
  ASSERT_THAT(p, SizeIs(1));
  ASSERT_EQ(p[0].settings().policies().size(), 24);
  Ack(a, p[0].version());
  for (int i = 0; i < 5; ++i) After(absl::Seconds(1));
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());

  // Every change to another scope re-judges a's view from a fresh copy of the same settings.
  for (const char* policy : {"broadcast", "balance-rr", "balance-xor"}) {
    ASSERT_THAT(
        fleet_->ReplaceScope(
            "site=other",
            Parsed(absl::StrCat(R"({"settings": {"defaultBondingPolicy": ")", policy, R"("}})")), 0,
            ""),
        IsOk());
    After(absl::Seconds(2));
    EXPECT_THAT(a.sink->TakePushes(), IsEmpty()) << "after the scope change to " << policy;
  }
}

TEST_F(FleetTest, EditsWithinTheDebounceBecomeOnePushAndVersionsOnlyGrow) {
  TestNode a = MakeNode("10.0.0.1/9800", {{"site", "fra"}});
  Connect(a);
  fleet_->Pump();
  std::vector<v1::ConfigPush> first = a.sink->TakePushes();
  ASSERT_THAT(first, SizeIs(1));
  Ack(a, first[0].version());

  for (const char* policy : {"broadcast", "balance-rr", "balance-xor"}) {
    ASSERT_THAT(
        fleet_->ReplaceScope(
            "site=fra",
            Parsed(absl::StrCat(R"({"settings": {"defaultBondingPolicy": ")", policy, R"("}})")), 0,
            ""),
        IsOk());
    After(absl::Milliseconds(100));  // quieter than the 200 ms debounce each time
    EXPECT_THAT(a.sink->TakePushes(), IsEmpty());
  }
  After(absl::Milliseconds(150));
  std::vector<v1::ConfigPush> p = a.sink->TakePushes();
  ASSERT_THAT(p, SizeIs(1));
  EXPECT_EQ(p[0].settings().default_bonding_policy(), "balance-xor");
  EXPECT_GT(p[0].version(), first[0].version());
  EXPECT_EQ(p[0].peers_mode(), v1::ConfigPush::PEERS_UNCHANGED);
}

TEST_F(FleetTest, MaxDelayBoundsTheDebounceUnderContinuousEdits) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  Ack(a, a.sink->TakePushes().at(0).version());
  absl::Duration waited;
  bool pushed = false;
  for (int i = 0; i < 20 && !pushed; ++i) {
    ASSERT_THAT(
        fleet_->ReplaceScope("",
                             Parsed(i % 2 ? R"({"settings": {"defaultBondingPolicy": "broadcast"}})"
                                          : R"({"settings": {}})"),
                             0, ""),
        IsOk());
    After(absl::Milliseconds(100));
    waited += absl::Milliseconds(100);
    pushed = !a.sink->TakePushes().empty();
  }
  EXPECT_TRUE(pushed);
  EXPECT_LE(waited, absl::Milliseconds(1100));
  EXPECT_GE(waited, absl::Milliseconds(1000));
}

TEST_F(FleetTest, OneNackedVersionIsNeverResent) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  v1::ConfigPush p = a.sink->TakePushes().at(0);
  v1::NodeMessage nack;
  nack.mutable_nack()->set_version(p.version());
  v1::SettingsIssue* e = nack.mutable_nack()->add_errors();
  e->set_path("settings.policies.x.links.wlan9");
  e->set_message("no such interface");
  ASSERT_THAT(fleet_->OnMessage(a.id, a.session, nack), IsOk());
  absl::StatusOr<NodeSnapshot> snap = fleet_->Node(a.id);
  ASSERT_THAT(snap.status(), IsOk());
  EXPECT_EQ(snap->record.nacked_version, p.version());
  EXPECT_THAT(snap->record.last_nack_error, HasSubstr("no such interface"));
  EXPECT_EQ(snap->nacks, 1u);

  // Neither time nor a new peer resends the refused view.
  TestNode b = MakeNode("10.0.0.2/9800");
  Connect(b);
  for (int i = 0; i < 5; ++i) After(absl::Seconds(1));
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());

  // A settings change makes a new view, under a new version.
  ASSERT_THAT(fleet_->ReplaceScope(
                  "", Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast"}})"), 0, ""),
              IsOk());
  After(absl::Seconds(1));
  std::vector<v1::ConfigPush> again = a.sink->TakePushes();
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_GT(again[0].version(), p.version());
}

TEST_F(FleetTest, ADeltaAgainstTheWrongBaseIsFollowedByTheWholeDirectory) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  Ack(a, a.sink->TakePushes().at(0).version());
  TestNode b = MakeNode("10.0.0.2/9800");
  Connect(b);
  fleet_->Pump();                  // b's first push; a's view changed
  After(absl::Milliseconds(300));  // the debounce
  v1::ConfigPush delta = a.sink->TakePushes().at(0);
  ASSERT_EQ(delta.peers_mode(), v1::ConfigPush::PEERS_DELTA);
  v1::NodeMessage nack;
  nack.mutable_nack()->set_version(delta.version());
  nack.mutable_nack()->add_errors()->set_path("peers");
  ASSERT_THAT(fleet_->OnMessage(a.id, a.session, nack), IsOk());
  std::vector<v1::ConfigPush> full = a.sink->TakePushes();
  ASSERT_THAT(full, SizeIs(1));
  EXPECT_EQ(full[0].peers_mode(), v1::ConfigPush::PEERS_FULL);
  EXPECT_GT(full[0].version(), delta.version());
  ASSERT_THAT(full[0].peers(), SizeIs(1));
  EXPECT_EQ(full[0].peers(0).id(), b.id);
}

TEST_F(FleetTest, OnePushInFlightPerNode) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  v1::ConfigPush p = a.sink->TakePushes().at(0);
  ASSERT_THAT(fleet_->ReplaceScope(
                  "", Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast"}})"), 0, ""),
              IsOk());
  After(absl::Seconds(2));
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());  // the first is not answered yet
  Ack(a, p.version());
  std::vector<v1::ConfigPush> next = a.sink->TakePushes();
  ASSERT_THAT(next, SizeIs(1));
  EXPECT_EQ(next[0].settings().default_bonding_policy(), "broadcast");
}

TEST_F(FleetTest, FirstPushesAfterAMassReconnectAreRateLimited) {
  FleetOptions options;
  options.connect_rate = 10;
  options.connect_burst = 5;
  Recreate(options);
  std::vector<TestNode> nodes;
  for (int i = 0; i < 20; ++i) nodes.push_back(MakeNode(absl::StrCat("10.0.1.", i + 1, "/9800")));
  for (TestNode& n : nodes) Connect(n);
  auto pushed = [&] {
    int count = 0;
    for (TestNode& n : nodes) count += n.sink->TakePushes().empty() ? 0 : 1;
    return count;
  };
  fleet_->Pump();
  EXPECT_EQ(pushed(), 5);  // the burst
  After(absl::Milliseconds(100));
  EXPECT_EQ(pushed(), 1);  // 10 per second
  After(absl::Milliseconds(400));
  EXPECT_EQ(pushed(), 4);
  After(absl::Seconds(1));
  EXPECT_EQ(pushed(), 5);  // never more than the burst at once
  After(absl::Seconds(1));
  EXPECT_EQ(pushed(), 5);  // all 20 served
  After(absl::Seconds(1));
  EXPECT_EQ(pushed(), 0);
}

TEST_F(FleetTest, PushesBeyondTheByteBudgetWaitForAnswers) {
  FleetOptions options;
  options.push_budget_bytes = 1;  // one push in flight fleet-wide
  Recreate(options);
  TestNode a = MakeNode("10.0.0.1/9800");
  TestNode b = MakeNode("10.0.0.2/9800");
  Connect(a);
  Connect(b);
  fleet_->Pump();
  std::vector<v1::ConfigPush> pa = a.sink->TakePushes();
  ASSERT_THAT(pa, SizeIs(1));
  After(absl::Seconds(1));
  EXPECT_THAT(b.sink->TakePushes(), IsEmpty());  // waits for a's answer
  Ack(a, pa[0].version());
  After(absl::Milliseconds(100));
  std::vector<v1::ConfigPush> pb = b.sink->TakePushes();
  ASSERT_THAT(pb, SizeIs(1));
  EXPECT_GT(pb[0].version(), pa[0].version());
  // A disconnect frees the budget too: b goes away unanswered, and c's push goes out.
  TestNode c = MakeNode("10.0.0.3/9800");
  Connect(c);
  After(absl::Seconds(1));
  EXPECT_THAT(c.sink->TakePushes(), IsEmpty());
  fleet_->Disconnect(b.id, b.session);
  After(absl::Milliseconds(100));
  EXPECT_THAT(c.sink->TakePushes(), SizeIs(1));
}

TEST_F(FleetTest, VersionsGrowAcrossAControllerRestartAndReconnectsResync) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  v1::ConfigPush p = a.sink->TakePushes().at(0);
  Ack(a, p.version());
  fleet_->Stop();  // flushes the registry

  // The same node reconnects to the same controller: it runs what it acked, nothing is pushed.
  a.hello.set_last_acked_version(p.version());
  Connect(a);
  After(absl::Seconds(2));
  EXPECT_THAT(a.sink->TakePushes(), IsEmpty());

  // After a controller restart, what the node runs is unknown: one push, a higher version, the
  // same overlay address.
  Recreate();
  Connect(a);
  fleet_->Pump();
  std::vector<v1::ConfigPush> after = a.sink->TakePushes();
  ASSERT_THAT(after, SizeIs(1));
  EXPECT_GT(after[0].version(), p.version());
  EXPECT_EQ(after[0].overlay_address(), p.overlay_address());
  EXPECT_EQ(after[0].peers_mode(), v1::ConfigPush::PEERS_FULL);
}

TEST_F(FleetTest, ASecondSessionOfTheSameNodeReplacesTheFirst) {
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  std::shared_ptr<FakeSink> old = a.sink;
  uint64_t old_session = a.session;
  Connect(a);
  ASSERT_TRUE(old->closed().has_value());
  EXPECT_THAT(*old->closed(), StatusIs(absl::StatusCode::kAborted));
  v1::NodeMessage ack;
  ack.mutable_ack()->set_version(1);
  EXPECT_THAT(fleet_->OnMessage(a.id, old_session, ack), StatusIs(absl::StatusCode::kAborted));
  fleet_->Disconnect(a.id, old_session);  // the old stream ending does not disconnect the node
  EXPECT_TRUE(fleet_->Node(a.id)->connected);
}

TEST_F(FleetTest, SettingsChangesAreValidatedAndVersionChecked) {
  std::vector<settings::Issue> issues;
  EXPECT_THAT(fleet_->ReplaceScope("", Parsed(R"({"settings": {"defaultBondingPolicy": "nope"}})"),
                                   0, "", &issues),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(issues.empty());
  EXPECT_EQ(fleet_->GetSettings().version, 0u);

  absl::StatusOr<uint64_t> v = fleet_->ReplaceScope(
      "", Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast"}})"), 0, "");
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_THAT(fleet_->ReplaceScope("", Parsed(R"({"settings": {}})"), *v + 7, ""),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(fleet_->GetSettings().scopes.at("").default_bonding_policy(), "broadcast");
  EXPECT_THAT(fleet_->ReplaceScope("", Parsed(R"({"settings": {}})"), *v, ""), IsOk());

  // A scope may use a policy the fleet-wide document defines.
  ASSERT_THAT(fleet_->ReplaceScope(
                  "", Parsed(R"({"settings": {"policies": {"fast": {"basePolicy": "active-backup",
                                "failoverInterval": 500}}}})"),
                  0, ""),
              IsOk());
  EXPECT_THAT(fleet_->ReplaceScope(
                  "role=edge", Parsed(R"({"settings": {"defaultBondingPolicy": "fast"}})"), 0, ""),
              IsOk());
  // ... and the fleet-wide document cannot then drop it from under the scope.
  EXPECT_THAT(fleet_->ReplaceScope("", Parsed(R"({"settings": {}})"), 0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FleetTest, ScopedSettingsReachOnlyTheNodesTheyMatch) {
  TestNode edge = MakeNode("10.0.0.1/9800", {{"role", "edge"}});
  TestNode core = MakeNode("10.0.0.2/9800", {{"role", "core"}});
  Connect(edge);
  Connect(core);
  fleet_->Pump();
  Ack(edge, edge.sink->TakePushes().at(0).version());
  Ack(core, core.sink->TakePushes().at(0).version());
  After(absl::Seconds(2));  // the directory deltas each learns the other from
  for (TestNode* n : {&edge, &core}) {
    for (const v1::ConfigPush& p : n->sink->TakePushes()) Ack(*n, p.version());
  }
  ASSERT_THAT(
      fleet_->ReplaceScope("role=edge",
                           Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast"}})"), 0, ""),
      IsOk());
  After(absl::Seconds(2));
  std::vector<v1::ConfigPush> e = edge.sink->TakePushes();
  ASSERT_THAT(e, SizeIs(1));
  EXPECT_EQ(e[0].settings().default_bonding_policy(), "broadcast");
  EXPECT_THAT(core.sink->TakePushes(), IsEmpty());
}

TEST_F(FleetTest, CommandsGoDownTheSessionAndAlwaysGetAnAnswer) {
  TestNode a = MakeNode("10.0.0.1/9800");
  absl::StatusOr<v1::CommandResult> got = absl::UnknownError("unset");
  auto record = [&got](absl::StatusOr<v1::CommandResult> r) { got = std::move(r); };

  v1::Command rotate;
  rotate.mutable_rotate()->set_peer("0123456789");
  fleet_->SendCommand(a.id, rotate, record);
  EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kNotFound));

  Connect(a);
  fleet_->Disconnect(a.id, a.session);
  fleet_->SendCommand(a.id, rotate, record);
  EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kUnavailable));

  Connect(a);
  fleet_->SendCommand(a.id, rotate, record);
  std::vector<v1::Command> sent = a.sink->TakeCommands();
  ASSERT_THAT(sent, SizeIs(1));
  ASSERT_EQ(sent[0].rotate().peer(), "0123456789");
  v1::NodeMessage result;
  result.mutable_command_result()->set_id(sent[0].id());
  result.mutable_command_result()->mutable_rotate()->set_to("eth1/10.0.0.9/9800");
  ASSERT_THAT(fleet_->OnMessage(a.id, a.session, result), IsOk());
  ASSERT_THAT(got.status(), IsOk());
  EXPECT_EQ(got->rotate().to(), "eth1/10.0.0.9/9800");

  // Unanswered: DEADLINE_EXCEEDED once the timeout passed; a late answer is ignored.
  got = absl::UnknownError("unset");
  fleet_->SendCommand(a.id, rotate, record);
  After(absl::Seconds(9));
  EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kUnknown));
  After(absl::Seconds(2));
  EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kDeadlineExceeded));

  // Disconnect fails what is pending.
  got = absl::UnknownError("unset");
  fleet_->SendCommand(a.id, rotate, record);
  fleet_->Disconnect(a.id, a.session);
  EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(FleetTest, EventsTellConnectsAcksNacksAndFailovers) {
  std::shared_ptr<Fleet::EventQueue> events = fleet_->Watch("");
  TestNode a = MakeNode("10.0.0.1/9800");
  Connect(a);
  fleet_->Pump();
  Ack(a, a.sink->TakePushes().at(0).version());
  v1::NodeMessage report;
  v1::Bond* bond = report.mutable_metrics()->add_bonds();
  bond->mutable_summary()->set_peer("0123456789");
  bond->set_failovers(2);
  ASSERT_THAT(fleet_->OnMessage(a.id, a.session, report), IsOk());
  bond->set_failovers(3);
  v1::Path* path = bond->add_paths();
  path->set_interface("eth1");
  path->set_remote_endpoint("10.0.0.9/9800");
  path->set_active(true);
  ASSERT_THAT(fleet_->OnMessage(a.id, a.session, report), IsOk());
  fleet_->Disconnect(a.id, a.session);

  std::vector<v1::FleetEvent::Kind> kinds;
  std::string failover;
  while (std::optional<v1::FleetEvent> e = events->Next(absl::ZeroDuration())) {
    kinds.push_back(e->kind());
    if (e->kind() == v1::FleetEvent::KIND_FAILOVER) failover = e->detail();
  }
  EXPECT_THAT(kinds, ElementsAre(v1::FleetEvent::KIND_CONNECTED, v1::FleetEvent::KIND_ACKED,
                                 v1::FleetEvent::KIND_FAILOVER, v1::FleetEvent::KIND_DISCONNECTED));
  EXPECT_THAT(failover, HasSubstr("eth1/10.0.0.9/9800"));
  // A disconnected node keeps its record but not its metrics.
  EXPECT_EQ(fleet_->Node(a.id)->report, nullptr);
}

TEST_F(FleetTest, OverlayAddressesAreNeverHandedOutTwice) {
  std::set<std::string> seen;
  for (int i = 0; i < 30; ++i) {
    TestNode n = MakeNode(absl::StrCat("10.0.2.", i + 1, "/9800"));
    Connect(n);
    After(absl::Seconds(1));
    std::vector<v1::ConfigPush> p = n.sink->TakePushes();
    ASSERT_THAT(p, SizeIs(1));
    EXPECT_TRUE(seen.insert(p[0].overlay_address()).second) << p[0].overlay_address();
  }
}

}  // namespace
}  // namespace fleetbond::controller

// --- several replicas: which sessions this controller holds, and draining ---

namespace fleetbond::controller {
namespace {

class SessionRecorder : public FleetObserver {
 public:
  void OnSessionOpened(const std::string& id) override { events.push_back("+" + id); }
  void OnSessionClosed(const std::string& id) override { events.push_back("-" + id); }
  std::vector<std::string> events;
};

TEST_F(FleetTest, ObserverHearsWhichSessionsThisControllerHolds) {
  TestNode a = MakeNode("10.0.0.1/9800");
  TestNode b = MakeNode("10.0.0.2/9800");
  Connect(a);
  SessionRecorder recorder;
  fleet_->SetObserver(&recorder);  // hears of the session open already
  EXPECT_THAT(recorder.events, ElementsAre("+" + a.id));
  EXPECT_TRUE(fleet_->HasSession(a.id));
  EXPECT_FALSE(fleet_->HasSession(b.id));
  Connect(b);
  const uint64_t first = b.session;
  Connect(b);                       // a newer session of the same node: still held
  fleet_->Disconnect(b.id, first);  // the replaced one ending changes nothing
  EXPECT_TRUE(fleet_->HasSession(b.id));
  fleet_->Disconnect(b.id, b.session);
  EXPECT_FALSE(fleet_->HasSession(b.id));
  EXPECT_THAT(recorder.events, ElementsAre("+" + a.id, "+" + b.id, "+" + b.id, "-" + b.id));
  fleet_->SetObserver(nullptr);
}

TEST_F(FleetTest, DrainEndsEverySessionAndRefusesNewOnesWithRedirectsInTurn) {
  TestNode a = MakeNode("10.0.0.1/9800");
  TestNode b = MakeNode("10.0.0.2/9800");
  TestNode c = MakeNode("10.0.0.3/9800");
  Connect(a);
  Connect(b);
  EXPECT_FALSE(fleet_->draining());
  EXPECT_EQ(fleet_->Drain({"r2:9900", "r3:9900"}), 2u);
  EXPECT_TRUE(fleet_->draining());
  std::vector<std::string> sent_to;
  for (TestNode* n : {&a, &b}) {
    std::optional<absl::Status> closed = n->sink->closed();
    ASSERT_TRUE(closed.has_value());
    EXPECT_EQ(closed->code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(closed->message(), HasSubstr("draining"));
    absl::optional<absl::Cord> to = closed->GetPayload(kRedirectPayload);
    ASSERT_TRUE(to.has_value());
    sent_to.push_back(std::string(*to));
  }
  // Spread over the replicas named.
  EXPECT_THAT(sent_to, ::testing::UnorderedElementsAre("r2:9900", "r3:9900"));

  c.sink = std::make_shared<FakeSink>();
  absl::StatusOr<uint64_t> refused = fleet_->Connect(c.hello, c.sink);
  EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
  ASSERT_TRUE(refused.status().GetPayload(kRedirectPayload).has_value());
  EXPECT_FALSE(fleet_->HasSession(c.id));

  // Without redirects: no hint, the nodes move on through their own lists.
  fleet_->Drain({});
  absl::StatusOr<uint64_t> plain = fleet_->Connect(c.hello, c.sink);
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(plain.status().GetPayload(kRedirectPayload).has_value());
}

}  // namespace
}  // namespace fleetbond::controller
