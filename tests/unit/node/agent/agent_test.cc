// The agent against an in-process controller (NodeSession on 127.0.0.1, a port of its own).
#include "node/agent/agent.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node/api/node_service.h"
#include "tests/unit/node/agent/fake_node.h"
#include "tests/unit/node/agent/test_fleet.h"

namespace fleetbond::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr absl::Duration kWait = absl::Seconds(10);

// FakeController is the controller's end of NodeSession: it records every message a node sends
// and sends what the test tells it to on the current stream.
class FakeController final : public v1::NodeSession::Service {
 public:
  using Predicate = std::function<bool(const v1::NodeMessage&)>;

  grpc::Status Connect(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::NodeMessage>* stream) override {
    v1::NodeMessage message;
    {
      absl::MutexLock lock(&mu_);
      if (!redirect_.empty()) {
        // A draining replica: the Hello is answered with UNAVAILABLE and a redirect hint.
        if (stream->Read(&message)) received_.push_back({message, absl::Now()});
        context->AddTrailingMetadata(kRedirectMetadataKey, redirect_);
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
      }
      stream_ = stream;
    }
    while (stream->Read(&message)) {
      absl::MutexLock lock(&mu_);
      received_.push_back({message, absl::Now()});
    }
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
    return grpc::Status::OK;
  }

  // Redirect makes every later session end at its Hello with a redirect to `to`.
  void Redirect(const std::string& to) {
    absl::MutexLock lock(&mu_);
    redirect_ = to;
  }

  // Send writes on the node's stream once there is one.
  bool Send(const v1::ControllerMessage& message) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(
            absl::Condition(
                +[](grpc::ServerReaderWriter<v1::ControllerMessage, v1::NodeMessage>** s) {
                  return *s != nullptr;
                },
                &stream_),
            kWait)) {
      return false;
    }
    return stream_->Write(message);
  }
  bool Push(const v1::ConfigPush& push) {
    v1::ControllerMessage m;
    *m.mutable_push() = push;
    return Send(m);
  }

  // Next returns the first message matching `pred` not returned before, waiting up to kWait.
  std::optional<v1::NodeMessage> Next(const Predicate& pred, absl::Time* when = nullptr) {
    absl::MutexLock lock(&mu_);
    std::optional<size_t> found;
    auto match = [&] {
      for (size_t i = 0; i < received_.size(); ++i) {
        if (!taken_.contains(i) && pred(received_[i].message)) {
          found = i;
          return true;
        }
      }
      return false;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&match), kWait)) return std::nullopt;
    taken_.insert(*found);
    if (when != nullptr) *when = received_[*found].at;
    return received_[*found].message;
  }

 private:
  struct Received {
    v1::NodeMessage message;
    absl::Time at;
  };
  absl::Mutex mu_;
  grpc::ServerReaderWriter<v1::ControllerMessage, v1::NodeMessage>* stream_ ABSL_GUARDED_BY(mu_) =
      nullptr;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
  std::string redirect_ ABSL_GUARDED_BY(mu_);
  std::set<size_t> taken_ ABSL_GUARDED_BY(mu_);
};

bool IsHello(const v1::NodeMessage& m) { return m.has_hello(); }
bool IsMetrics(const v1::NodeMessage& m) { return m.has_metrics(); }
FakeController::Predicate AckOf(uint64_t v) {
  return [v](const v1::NodeMessage& m) { return m.has_ack() && m.ack().version() == v; };
}
FakeController::Predicate NackOf(uint64_t v) {
  return [v](const v1::NodeMessage& m) { return m.has_nack() && m.nack().version() == v; };
}
FakeController::Predicate ResultOf(uint64_t id) {
  return [id](const v1::NodeMessage& m) {
    return m.has_command_result() && m.command_result().id() == id;
  };
}

// Eventually waits, bounded, for a condition the agent reaches on its own thread.
bool Eventually(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + kWait;
  absl::Notification never;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    never.WaitForNotificationWithTimeout(absl::Milliseconds(10));
  }
  return true;
}

bond::BondSnapshot TwoPathBond(const std::string& peer) {
  bond::BondSnapshot s;
  s.peer = peer;
  s.policy_name = "fleet-ab";
  s.base = BasePolicy::kActiveBackup;
  s.usable_links = 2;
  s.total_links = 2;
  bond::PathSnapshot a;
  a.id = 0;
  a.spec = {.link = "eth0", .local = "10.201.0.1", .remote = "10.201.0.2/9800"};
  a.tx_packets = 42;
  bond::PathSnapshot b = a;
  b.id = 1;
  b.spec = {.link = "eth1", .local = "10.201.1.1", .remote = "10.201.1.2/9800"};
  s.paths = {a, b};
  return s;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agent_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    StartServer(0);
  }
  void TearDown() override {
    agent_.reset();
    StopServer();
    std::filesystem::remove_all(home_);
  }

  void StartServer(int port) {
    controller_ = std::make_unique<FakeController>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(controller_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }
  void StopServer() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    server_->Wait();
    server_.reset();
  }

  AgentOptions Options() {
    AgentOptions o;
    o.controller = absl::StrCat("127.0.0.1:", port_);
    o.credentials = grpc::InsecureChannelCredentials();
    o.home = home_;
    o.hello = {.id = fleet_.id(0),
               .public_key = fleet_.key(0),
               .software_version = "9.9.9",
               .port = 9800,
               .tun = "fb0",
               .labels = {{"site", "fra1"}, {"rack", "r12"}}};
    o.backoff = {.initial = absl::Milliseconds(20), .max = absl::Milliseconds(200)};
    return o;
  }

  void StartAgent(const std::string& local_json = R"({"settings": {}})") {
    StartAgentWith(Options(), local_json);
  }
  void StartAgentWith(AgentOptions options, const std::string& local_json = R"({"settings": {}})") {
    settings::ParsedLocalConf local = settings::ParseLocalConf(local_json);
    ASSERT_TRUE(local.issues.empty());
    agent_ =
        std::make_unique<ControllerAgent>(std::move(options), local.conf, node_, node_, clock_);
    agent_->RestoreSavedPush();
    agent_->Start();
  }

  // PushAndAwaitAckFrom: `controller` pushes version `v` and the node acks it.
  void PushAndAwaitAckFrom(FakeController& controller, uint64_t v) {
    ASSERT_TRUE(controller.Push(fleet_.Push(v, 0)));
    ASSERT_TRUE(controller.Next(AckOf(v)).has_value()) << "no ack of " << v;
  }

  // Acked pushes version `v` (a full push) and waits for its Ack.
  void PushAndAwaitAck(uint64_t v) {
    ASSERT_TRUE(controller_->Push(fleet_.Push(v, 0)));
    ASSERT_TRUE(controller_->Next(AckOf(v)).has_value()) << "no ack of " << v;
  }

  v1::CommandResult Command(const v1::Command& command) {
    v1::ControllerMessage m;
    *m.mutable_command() = command;
    EXPECT_TRUE(controller_->Send(m));
    std::optional<v1::NodeMessage> r = controller_->Next(ResultOf(command.id()));
    EXPECT_TRUE(r.has_value());
    return r.has_value() ? r->command_result() : v1::CommandResult();
  }

  TestFleet fleet_{3};
  FakeClock clock_;
  FakeNode node_;
  std::string home_;
  int port_ = 0;
  std::unique_ptr<FakeController> controller_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ControllerAgent> agent_;
};

TEST_F(AgentTest, HelloCarriesIdentityInterfacesAndLabels) {
  StartAgent();
  std::optional<v1::NodeMessage> m = controller_->Next(IsHello);
  ASSERT_TRUE(m.has_value());
  const v1::Hello& h = m->hello();
  EXPECT_EQ(h.node_id(), fleet_.id(0).ToString());
  EXPECT_EQ(h.public_key(), fleet_.key_bytes(0));
  EXPECT_EQ(h.software_version(), "9.9.9");
  EXPECT_EQ(h.last_acked_version(), 0u);
  ASSERT_THAT(h.interfaces(), SizeIs(1));  // not lo, not the TUN, not eth1 without addresses
  EXPECT_EQ(h.interfaces(0).name(), "eth0");
  EXPECT_THAT(h.interfaces(0).addresses(), ElementsAre("10.201.0.1/24", "fd20:1::1/64"));
  EXPECT_THAT(h.interfaces(0).endpoints(), ElementsAre("10.201.0.1/9800", "fd20:1::1/9800"));
  EXPECT_EQ(h.labels().at("site"), "fra1");
  EXPECT_EQ(h.labels().at("rack"), "r12");
  EXPECT_TRUE(Eventually([&] { return agent_->connected(); }));
}

TEST_F(AgentTest, PushIsAppliedPersistedAndAcked) {
  StartAgent(R"({"settings": {"policies": {"fleet-ab": {"links": {"eth0": {}, "eth1": {}}}}}})");
  PushAndAwaitAck(1);
  EXPECT_EQ(node_.applied(), 1);
  EXPECT_EQ(node_.CurrentSettings().settings.default_bonding_policy(), "fleet-ab");
  EXPECT_EQ(node_.CurrentSettings().settings.policies().at("fleet-ab").links().size(), 2u);
  EXPECT_EQ(node_.directory().overlay, "10.147.0.1/24");
  EXPECT_THAT(node_.directory().peers, SizeIs(2));
  EXPECT_EQ(agent_->acked_version(), 1u);

  struct stat st;
  ASSERT_EQ(stat((home_ + "/controller-state.pb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The local API shows the session and where each value came from.
  ControllerModeBackend backend(node_, *agent_);
  api::NodeServiceImpl service(backend, api::NodeFacts{.id = fleet_.id(0).ToString()},
                               settings::Source::kLocalConf, {});
  grpc::ServerContext context;
  v1::NodeInfo info;
  ASSERT_TRUE(service.GetInfo(&context, nullptr, &info).ok());
  EXPECT_TRUE(info.controller_connected());
  EXPECT_EQ(info.settings_source(), v1::SETTING_SOURCE_CONTROLLER);
  EXPECT_EQ(info.overlay_address(), "10.147.0.1/24");
  EXPECT_EQ(info.peers(), 2u);
  v1::GetSettingsResponse shown;
  ASSERT_TRUE(service.GetSettings(&context, nullptr, &shown).ok());
  std::map<std::string, v1::SettingSource> source;
  for (const v1::EffectiveSetting& e : shown.effective()) source[e.path()] = e.source();
  EXPECT_EQ(source["settings.policies.fleet-ab.failoverInterval"], v1::SETTING_SOURCE_CONTROLLER);
  EXPECT_EQ(source["settings.policies.fleet-ab.links.eth0.mode"], v1::SETTING_SOURCE_DEFAULT);
  EXPECT_EQ(source["settings.policies.fleet-ab.upDelay"], v1::SETTING_SOURCE_DEFAULT);
  // settings apply is refused: the next push would undo it.
  v1::ApplySettingsRequest apply;
  apply.set_local_conf_json(R"({"settings": {}})");
  v1::ApplySettingsResponse applied;
  EXPECT_EQ(service.ApplySettings(&context, &apply, &applied).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AgentTest, InvalidPushIsNackedWithEveryErrorAndThePreviousSettingsStay) {
  StartAgent();
  PushAndAwaitAck(1);
  v1::ConfigPush bad = fleet_.Push(2, 0);
  bad.mutable_settings()->set_default_bonding_policy("nowhere");
  bad.mutable_peers(0)->set_overlay_address("10.99.0.1");
  ASSERT_TRUE(controller_->Push(bad));
  std::optional<v1::NodeMessage> nack = controller_->Next(NackOf(2));
  ASSERT_TRUE(nack.has_value());
  std::vector<std::string> paths;
  for (const v1::SettingsIssue& e : nack->nack().errors()) {
    EXPECT_EQ(e.severity(), v1::SettingsIssue::SEVERITY_ERROR);
    paths.push_back(e.path());
  }
  EXPECT_THAT(paths, ElementsAre(absl::StrCat("peers.", bad.peers(0).id(), ".overlay"),
                                 "settings.defaultBondingPolicy"));
  EXPECT_EQ(node_.applied(), 1);
  EXPECT_EQ(node_.CurrentSettings().settings.default_bonding_policy(), "fleet-ab");
  EXPECT_EQ(agent_->acked_version(), 1u);
}

TEST_F(AgentTest, DeltaAgainstTheWrongBaseIsNacked) {
  StartAgent();
  PushAndAwaitAck(4);
  v1::ConfigPush delta = fleet_.Push(5, 0);
  delta.set_peers_mode(v1::ConfigPush::PEERS_DELTA);
  delta.set_base_version(3);
  ASSERT_TRUE(controller_->Push(delta));
  std::optional<v1::NodeMessage> nack = controller_->Next(NackOf(5));
  ASSERT_TRUE(nack.has_value());
  ASSERT_THAT(nack->nack().errors(), SizeIs(1));
  EXPECT_EQ(nack->nack().errors(0).path(), "peers");
  EXPECT_THAT(nack->nack().errors(0).message(), HasSubstr("version 3"));
  EXPECT_EQ(agent_->acked_version(), 4u);
}

TEST_F(AgentTest, CommandsGetTheirResultsWithGoogleRpcCodes) {
  const std::string peer = fleet_.id(1).ToString();
  node_.SetBonds({TwoPathBond(peer)});
  node_.SetRotation(bond::Rotation{.from = 0, .to = 1});
  StartAgent();
  PushAndAwaitAck(1);

  v1::Command rotate;
  rotate.set_id(7);
  rotate.mutable_rotate()->set_peer(peer);
  v1::CommandResult r = Command(rotate);
  EXPECT_EQ(r.code(), 0);
  EXPECT_EQ(r.rotate().from(), "eth0/10.201.0.2/9800");
  EXPECT_EQ(r.rotate().to(), "eth1/10.201.1.2/9800");

  node_.SetRotation(absl::FailedPreconditionError("no other usable link"));
  rotate.set_id(8);
  r = Command(rotate);
  EXPECT_EQ(r.code(), 9);
  EXPECT_THAT(r.message(), HasSubstr("no other usable link"));

  rotate.set_id(9);
  rotate.mutable_rotate()->set_peer("0000000000");
  r = Command(rotate);
  EXPECT_EQ(r.code(), 5);

  v1::Command get;
  get.set_id(10);
  get.mutable_get_bond()->set_peer(peer);
  r = Command(get);
  EXPECT_EQ(r.code(), 0);
  EXPECT_EQ(r.bond().summary().peer(), peer);
  ASSERT_THAT(r.bond().paths(), SizeIs(2));

  v1::Command unknown;
  unknown.set_id(11);
  r = Command(unknown);
  EXPECT_EQ(r.code(), 12);
}

TEST_F(AgentTest, MetricsArriveAtThePushedInterval) {
  const std::string peer = fleet_.id(1).ToString();
  node_.SetBonds({TwoPathBond(peer)});
  daemon::DataPlane::DropCounters drops;
  drops.no_route = 3;
  drops.by_reason[1] = 2;
  drops.by_reason[2] = 1;
  node_.SetDrops(drops);
  StartAgent();
  v1::ConfigPush push = fleet_.Push(1, 0);
  push.set_metrics_interval_ms(200);
  ASSERT_TRUE(controller_->Push(push));
  ASSERT_TRUE(controller_->Next(AckOf(1)).has_value());

  // The default interval before the push is 5 s: two reports within kWait, 200 ms apart, can
  // only come from the pushed one.
  absl::Time first_at, second_at;
  std::optional<v1::NodeMessage> first = controller_->Next(IsMetrics, &first_at);
  std::optional<v1::NodeMessage> second = controller_->Next(IsMetrics, &second_at);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_GE(second_at - first_at, absl::Milliseconds(150));
  EXPECT_LT(second_at - first_at, absl::Seconds(2));
  const v1::MetricsReport& report = second->metrics();
  EXPECT_EQ(report.unix_time_ms(), absl::ToUnixMillis(clock_.Now()));
  ASSERT_THAT(report.bonds(), SizeIs(1));
  EXPECT_EQ(report.bonds(0).summary().peer(), peer);
  ASSERT_THAT(report.bonds(0).paths(), SizeIs(2));
  EXPECT_EQ(report.bonds(0).paths(0).tx_packets(), 42u);
  EXPECT_EQ(report.counters().drops_no_route(), 3u);
  EXPECT_EQ(report.counters().drops_bad_packets(), 3u);
}

TEST_F(AgentTest, ReconnectsToANewControllerAndSaysWhatItRunsOn) {
  StartAgent();
  ASSERT_TRUE(controller_->Next(IsHello).has_value());
  PushAndAwaitAck(3);
  const int port = port_;
  StopServer();
  EXPECT_TRUE(Eventually([&] { return !agent_->connected(); }));
  // The node keeps what it runs on while the controller is away.
  EXPECT_THAT(node_.directory().peers, SizeIs(2));

  StartServer(port);
  ASSERT_EQ(port_, port);
  std::optional<v1::NodeMessage> hello = controller_->Next(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->hello().last_acked_version(), 3u);
  EXPECT_TRUE(Eventually([&] { return agent_->connected(); }));
  // The same push again (a restarted controller) is acked again, not re-applied.
  const int applied = node_.applied();
  PushAndAwaitAck(3);
  EXPECT_EQ(node_.applied(), applied);
}

// A second controller replica beside the fixture's, on a port of its own.
struct SecondController {
  SecondController() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&controller);
    server = builder.BuildAndStart();
  }
  ~SecondController() {
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  FakeController controller;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

TEST_F(AgentTest, ADrainingControllersRedirectIsFollowed) {
  SecondController other;
  controller_->Redirect(other.address());
  StartAgent();
  // The Hello reaches the draining one, which sends the node on; it says Hello there.
  ASSERT_TRUE(controller_->Next(IsHello).has_value());
  std::optional<v1::NodeMessage> hello = other.controller.Next(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->hello().node_id(), fleet_.id(0).ToString());
  EXPECT_TRUE(Eventually([&] { return agent_->connected(); }));
  PushAndAwaitAckFrom(other.controller, 4);
}

TEST_F(AgentTest, WithSeveralControllersADeadOneIsSkipped) {
  SecondController other;
  // The fixture's controller is gone; whichever the random start picks, the node ends up on the
  // live one.
  const std::string dead = absl::StrCat("127.0.0.1:", port_);
  StopServer();
  AgentOptions options = Options();
  options.controller = absl::StrCat(dead, ",", other.address());
  StartAgentWith(options);
  ASSERT_TRUE(other.controller.Next(IsHello).has_value());
  EXPECT_TRUE(Eventually([&] { return agent_->connected(); }));
  PushAndAwaitAckFrom(other.controller, 2);
}

TEST_F(AgentTest, ANewAgentRunsOnTheSavedPushBeforeTheControllerAnswers) {
  StartAgent();
  PushAndAwaitAck(6);
  agent_.reset();
  StopServer();

  FakeNode restarted;
  settings::LocalConf local;
  ControllerAgent again(Options(), local, restarted, restarted, clock_);
  again.RestoreSavedPush();
  EXPECT_EQ(again.acked_version(), 6u);
  EXPECT_EQ(restarted.directory().overlay, "10.147.0.1/24");
  EXPECT_THAT(restarted.directory().peers, SizeIs(2));
  EXPECT_EQ(restarted.CurrentSettings().settings.default_bonding_policy(), "fleet-ab");
  EXPECT_FALSE(again.connected());
}

TEST_F(AgentTest, ACorruptSavedPushIsSkipped) {
  {
    std::ofstream f(home_ + "/controller-state.pb");
    f << "this is not a protobuf \xff\xff\xff";
  }
  ControllerAgent agent(Options(), settings::LocalConf(), node_, node_, clock_);
  agent.RestoreSavedPush();
  EXPECT_EQ(agent.acked_version(), 0u);
  EXPECT_EQ(node_.applied(), 0);
}

}  // namespace
}  // namespace fleetbond::agent
