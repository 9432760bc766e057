// Several controller replicas: the owners record, forwarding of operator commands to the replica
// that holds the node's session (with a fake replica client, then two real replicas over mutual
// TLS on 127.0.0.1), who may call the Replica service, and draining with a redirect.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "controller/fleet/fleet.h"
#include "controller/fleet/services.h"
#include "controller/replica/command_forwarder.h"
#include "controller/replica/node_owners.h"
#include "controller/replica/replica_service.h"
#include "controller/store/memory_store.h"
#include "shared/identity/identity.h"
#include "shared/testing/status_matchers.h"
#include "shared/tls/ca.h"
#include "shared/tls/caller.h"
#include "shared/tls/credentials.h"
#include "tests/unit/shared/tls/tls_test_util.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::fleetbond::tls::testing::TempDir;
using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// --- the owners record ---

TEST(NodeOwnersTest, StaticOwnersAnswerWhatWasSetAndNotFoundOtherwise) {
  StaticNodeOwners owners;
  owners.Set("0123456789", {"ctl-a", "ctl-a:9900"});
  EXPECT_THAT(owners.Owner("0123456789"),
              ::fleetbond::testing::IsOkAndHolds(ReplicaAddress{"ctl-a", "ctl-a:9900"}));
  owners.Remove("0123456789");
  EXPECT_THAT(owners.Owner("0123456789").status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST(NodeOwnersTest, OwnersFileIsParsedAndBadLinesNamed) {
  auto parsed = ParseOwners(
      "# node replica address\n0123456789 ctl-a 10.0.0.1:9900\n\n"
      "abcdefabcd\tctl-b   [fd00::2]:9900  # comment\n");
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->size(), 2u);
  EXPECT_EQ(parsed->at("abcdefabcd"), (ReplicaAddress{"ctl-b", "[fd00::2]:9900"}));
  EXPECT_THAT(ParseOwners("0123456789 ctl-a\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(ParseOwners("\n0123456789 ctl-a nowhere\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(ParseOwners("a r h:1\na r h:2\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
}

TEST(NodeOwnersTest, FileOwnersReadTheFileAtEveryLookup) {
  TempDir dir;
  FileNodeOwners owners(dir.File("owners"));
  EXPECT_THAT(owners.Check(), StatusIs(absl::StatusCode::kUnavailable));
  tls::testing::WriteText(dir.File("owners"), "0123456789 ctl-a h:1\n", 0644);
  EXPECT_THAT(owners.Check(), IsOk());
  EXPECT_EQ(owners.Owner("0123456789")->replica, "ctl-a");
  tls::testing::WriteText(dir.File("owners"), "0123456789 ctl-b h:2\n", 0644);
  EXPECT_EQ(owners.Owner("0123456789")->replica, "ctl-b");
  EXPECT_THAT(owners.Owner("abcdefabcd").status(), StatusIs(absl::StatusCode::kNotFound));
}

// --- forwarding, with a fake replica client ---

class FakeReplicaClient : public ReplicaClient {
 public:
  absl::StatusOr<v1::CommandResult> ForwardCommand(const ReplicaAddress& owner,
                                                   const v1::ForwardCommandRequest& request,
                                                   absl::Duration timeout) override {
    calls.push_back({owner, request, timeout});
    return answer;
  }
  struct Call {
    ReplicaAddress owner;
    v1::ForwardCommandRequest request;
    absl::Duration timeout;
  };
  std::vector<Call> calls;
  absl::StatusOr<v1::CommandResult> answer = v1::CommandResult();
};

class FailingOwners : public NodeOwners {
 public:
  absl::StatusOr<ReplicaAddress> Owner(const std::string&) override {
    return absl::UnavailableError("etcd is unreachable");
  }
};

v1::Command Rotate(const std::string& peer) {
  v1::Command c;
  c.mutable_rotate()->set_peer(peer);
  return c;
}

TEST(ReplicaForwarderTest, ANodeWithNoRecordedOwnerOrOwnedHereIsNotForwarded) {
  StaticNodeOwners owners;
  FakeReplicaClient client;
  ReplicaForwarder forwarder(owners, client, {.self = "ctl-b"});
  EXPECT_FALSE(forwarder.Forward("0123456789", Rotate("abcdefabcd")).has_value());
  owners.Set("0123456789", {"ctl-b", "ctl-b:9900"});  // a stale record naming this replica
  EXPECT_FALSE(forwarder.Forward("0123456789", Rotate("abcdefabcd")).has_value());
  EXPECT_TRUE(client.calls.empty());
}

TEST(ReplicaForwarderTest, ACommandGoesToTheOwnerWithADeadlineAndItsAnswerComesBack) {
  StaticNodeOwners owners;
  owners.Set("0123456789", {"ctl-a", "ctl-a:9900"});
  FakeReplicaClient client;
  v1::CommandResult answer;
  answer.mutable_rotate()->set_to("eth1/10.0.1.2/9800");
  client.answer = answer;
  ReplicaForwarder forwarder(owners, client, {.self = "ctl-b", .timeout = absl::Seconds(7)});
  auto result = forwarder.Forward("0123456789", Rotate("abcdefabcd"));
  ASSERT_TRUE(result.has_value());
  ASSERT_THAT(result->status(), IsOk());
  EXPECT_EQ((*result)->rotate().to(), "eth1/10.0.1.2/9800");
  ASSERT_EQ(client.calls.size(), 1u);
  EXPECT_EQ(client.calls[0].owner.address, "ctl-a:9900");
  EXPECT_EQ(client.calls[0].request.node_id(), "0123456789");
  EXPECT_EQ(client.calls[0].request.command().rotate().peer(), "abcdefabcd");
  EXPECT_EQ(client.calls[0].request.from_replica(), "ctl-b");
  EXPECT_EQ(client.calls[0].timeout, absl::Seconds(7));
}

TEST(ReplicaForwarderTest, ErrorsSayWhichReplicaOwnsTheNodeAndWhatWentWrong) {
  StaticNodeOwners owners;
  owners.Set("0123456789", {"ctl-a", "10.0.0.1:9900"});
  FakeReplicaClient client;
  ReplicaForwarder forwarder(owners, client, {.self = "ctl-b"});

  client.answer = absl::UnavailableError("failed to connect to all addresses");
  auto dead = forwarder.Forward("0123456789", Rotate("abcdefabcd"));
  ASSERT_TRUE(dead.has_value());
  EXPECT_THAT(dead->status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("node 0123456789 is owned by replica ctl-a at 10.0.0.1:9900, "
                                 "which did not answer: failed to connect")));

  client.answer = absl::DeadlineExceededError("Deadline Exceeded");
  EXPECT_THAT(forwarder.Forward("0123456789", Rotate("x"))->status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("did not answer")));

  client.answer = absl::FailedPreconditionError("controller replica ctl-a holds no session");
  EXPECT_THAT(forwarder.Forward("0123456789", Rotate("x"))->status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("not connected to replica ctl-a at 10.0.0.1:9900")));

  client.answer = absl::PermissionDeniedError("only controller replicas may forward");
  EXPECT_THAT(forwarder.Forward("0123456789", Rotate("x"))->status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("replica ctl-a")));

  FailingOwners failing;
  ReplicaForwarder blind(failing, client, {.self = "ctl-b"});
  EXPECT_THAT(blind.Forward("0123456789", Rotate("x"))->status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot tell which controller replica holds node 0123456789: "
                                 "etcd is unreachable")));
}

// --- two real replicas over mutual TLS ---

// ReplicaProcess is one controller replica in this process: its own store and fleet, the three
// services on a TLS port of 127.0.0.1, authenticated as fleetbond-controller's main does it.
class ReplicaProcess {
 public:
  ReplicaProcess(const std::string& name, const tls::ServerTlsOptions& tls_options,
                 const tls::ClientTlsOptions& client_options, NodeOwners& owners) {
    auto f = Fleet::Create(store_, SystemClock::Get(), {});
    EXPECT_THAT(f.status(), IsOk());
    fleet_ = *std::move(f);
    auto creds = tls::MakeServerCredentials(tls_options);
    EXPECT_THAT(creds.status(), IsOk());
    auto authenticator = tls::MakeCallerAuthenticator(tls_options);
    EXPECT_THAT(authenticator.status(), IsOk());
    auth_ = std::make_shared<tls::CallerAuthenticator>(*std::move(authenticator));
    Auth auth;
    auth.node = [a = auth_](const grpc::ServerContextBase& ctx, const std::string& id) {
      return a->RequireNode(ctx, id);
    };
    auth.op = [a = auth_](const grpc::ServerContextBase& ctx) -> absl::StatusOr<std::string> {
      tls::Caller caller = a->Authenticate(ctx);
      if (absl::Status s = tls::RequireOperator(caller); !s.ok()) return s;
      return caller.name;
    };
    ReplicaAuth replica_auth;
    replica_auth.replica = [a = auth_](const grpc::ServerContextBase& ctx) {
      return a->RequireReplica(ctx);
    };
    replica_auth.op = [a = auth_](const grpc::ServerContextBase& ctx) {
      return a->RequireOperator(ctx);
    };
    auto client_creds = tls::MakeClientCredentials(client_options);
    EXPECT_THAT(client_creds.status(), IsOk());
    client_ = std::make_unique<GrpcReplicaClient>(*client_creds);
    forwarder_ = std::make_unique<ReplicaForwarder>(
        owners, *client_, ForwarderOptions{.self = name, .timeout = absl::Seconds(5)});
    sessions_ = std::make_unique<SessionService>(*fleet_, auth);
    operators_ = std::make_unique<FleetService>(*fleet_, auth);
    operators_->SetForwarder(forwarder_.get());
    replica_ = std::make_unique<ReplicaService>(
        *fleet_,
        ReplicaServiceOptions{.self = name,
                              .live_replicas =
                                  [this] {
                                    absl::MutexLock lock(&live_mu_);
                                    return live_;
                                  }},
        replica_auth);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(sessions_.get());
    builder.RegisterService(operators_.get());
    builder.RegisterService(replica_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    fleet_->Start();
  }
  ~ReplicaProcess() { Stop(); }
  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(In(1));
    server_.reset();
    fleet_->Stop();
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  Fleet& fleet() { return *fleet_; }
  // What the store would list as the other live replicas (etcd registrations).
  void SetLiveReplicas(std::vector<std::string> live) {
    absl::MutexLock lock(&live_mu_);
    live_ = std::move(live);
  }

 private:
  absl::Mutex live_mu_;
  std::vector<std::string> live_ ABSL_GUARDED_BY(live_mu_);
  MemoryStore store_;
  std::unique_ptr<Fleet> fleet_;
  std::shared_ptr<tls::CallerAuthenticator> auth_;
  std::unique_ptr<GrpcReplicaClient> client_;
  std::unique_ptr<ReplicaForwarder> forwarder_;
  std::unique_ptr<SessionService> sessions_;
  std::unique_ptr<FleetService> operators_;
  std::unique_ptr<ReplicaService> replica_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// FakeNodeSession is a node's stream to a replica that answers every command with a rotation.
class FakeNodeSession {
 public:
  FakeNodeSession(const std::shared_ptr<grpc::Channel>& channel, const Identity& identity) {
    stub_ = v1::NodeSession::NewStub(channel);
    context_.set_deadline(In(30));
    stream_ = stub_->Connect(&context_);
    v1::NodeMessage hello;
    hello.mutable_hello()->set_node_id(identity.id().ToString());
    hello.mutable_hello()->set_public_key(
        std::string(identity.public_key().begin(), identity.public_key().end()));
    hello.mutable_hello()->add_interfaces()->add_endpoints("10.0.0.1/9800");
    stream_->Write(hello);
    reader_ = std::thread([this] {
      v1::ControllerMessage in;
      while (stream_->Read(&in)) {
        if (in.has_push()) {
          v1::NodeMessage ack;
          ack.mutable_ack()->set_version(in.push().version());
          stream_->Write(ack);
        } else if (in.has_command()) {
          v1::NodeMessage result;
          result.mutable_command_result()->set_id(in.command().id());
          result.mutable_command_result()->mutable_rotate()->set_to("eth1/10.0.1.2/9800");
          stream_->Write(result);
        }
      }
    });
  }
  // End waits for the stream's end (the controller closed it, or the test's Cancel).
  grpc::Status End() {
    if (reader_.joinable()) reader_.join();
    if (!finished_) {
      status_ = stream_->Finish();
      finished_ = true;
    }
    return status_;
  }
  void Cancel() { context_.TryCancel(); }
  ~FakeNodeSession() {
    Cancel();
    End();
  }
  const std::multimap<grpc::string_ref, grpc::string_ref>& trailers() const {
    return context_.GetServerTrailingMetadata();
  }

 private:
  std::unique_ptr<v1::NodeSession::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::NodeMessage, v1::ControllerMessage>> stream_;
  std::thread reader_;
  bool finished_ = false;
  grpc::Status status_;
};

bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class TwoReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(tls::InitCa(dir_.File("ca"), "test"), IsOk());
    for (const char* name : {"ctl-a", "ctl-b"}) {
      ASSERT_THAT(
          tls::IssueReplica(dir_.File("ca"), name, {"localhost", "127.0.0.1"}, dir_.File("out")),
          IsOk());
    }
    ASSERT_THAT(tls::IssueOperator(dir_.File("ca"), "alice", dir_.File("out")), IsOk());
    absl::StatusOr<Identity> node = Identity::Generate();
    ASSERT_TRUE(node.ok());
    node_ = std::make_unique<Identity>(*std::move(node));
    node_id_ = node_->id().ToString();
    ASSERT_THAT(tls::IssueNode(dir_.File("ca"), node_id_, dir_.File("out")), IsOk());
    a_ = std::make_unique<ReplicaProcess>("ctl-a", ServerOptions("ctl-a"), AsReplica("ctl-a"),
                                          owners_a_);
    b_ = std::make_unique<ReplicaProcess>("ctl-b", ServerOptions("ctl-b"), AsReplica("ctl-b"),
                                          owners_b_);
  }

  tls::ServerTlsOptions ServerOptions(const std::string& name) {
    return {.ca_file = dir_.File("ca/ca.crt"),
            .cert_file = dir_.File("out/replica-" + name + ".crt"),
            .key_file = dir_.File("out/replica-" + name + ".key")};
  }
  tls::ClientTlsOptions AsReplica(const std::string& name) {
    return {.ca_file = dir_.File("ca/ca.crt"),
            .cert_file = dir_.File("out/replica-" + name + ".crt"),
            .key_file = dir_.File("out/replica-" + name + ".key")};
  }
  tls::ClientTlsOptions Operator() {
    return {.ca_file = dir_.File("ca/ca.crt"),
            .cert_file = dir_.File("out/operator-alice.crt"),
            .key_file = dir_.File("out/operator-alice.key")};
  }
  tls::ClientTlsOptions Node() {
    return {.ca_file = dir_.File("ca/ca.crt"),
            .cert_file = dir_.File("out/node-" + node_id_ + ".crt"),
            .key_file = dir_.File("out/node-" + node_id_ + ".key")};
  }
  std::shared_ptr<grpc::Channel> Dial(ReplicaProcess& replica, const tls::ClientTlsOptions& as) {
    auto channel = tls::DialController(replica.address(), as);
    EXPECT_THAT(channel.status(), IsOk());
    return *channel;
  }
  grpc::Status RotateThrough(ReplicaProcess& replica, v1::RotateBondResponse* out) {
    auto stub = v1::Fleet::NewStub(Dial(replica, Operator()));
    grpc::ClientContext ctx;
    ctx.set_deadline(In(20));
    v1::NodeBondRequest req;
    req.set_node_id(node_id_);
    req.set_peer("abcdefabcd");
    return stub->RotateNodeBond(&ctx, req, out);
  }
  grpc::Status ForwardAs(ReplicaProcess& replica, const tls::ClientTlsOptions& as) {
    auto stub = v1::Replica::NewStub(Dial(replica, as));
    grpc::ClientContext ctx;
    ctx.set_deadline(In(20));
    v1::ForwardCommandRequest req;
    req.set_node_id(node_id_);
    *req.mutable_command() = Rotate("abcdefabcd");
    v1::CommandResult out;
    return stub->ForwardCommand(&ctx, req, &out);
  }
  grpc::Status DrainAs(ReplicaProcess& replica, const tls::ClientTlsOptions& as,
                       std::vector<std::string> redirect, v1::DrainResponse* out) {
    auto stub = v1::Replica::NewStub(Dial(replica, as));
    grpc::ClientContext ctx;
    ctx.set_deadline(In(20));
    v1::DrainRequest req;
    for (const std::string& r : redirect) req.add_redirect(r);
    return stub->Drain(&ctx, req, out);
  }

  TempDir dir_;
  std::unique_ptr<Identity> node_;
  std::string node_id_;
  StaticNodeOwners owners_a_;
  StaticNodeOwners owners_b_;
  std::unique_ptr<ReplicaProcess> a_;
  std::unique_ptr<ReplicaProcess> b_;
};

TEST_F(TwoReplicasTest, ARotateSentToTheOtherReplicaIsForwardedToTheOwner) {
  FakeNodeSession session(Dial(*a_, Node()), *node_);
  ASSERT_TRUE(Eventually([&] { return a_->fleet().HasSession(node_id_); }));
  owners_b_.Set(node_id_, {"ctl-a", a_->address()});

  v1::RotateBondResponse rotated;
  grpc::Status s = RotateThrough(*b_, &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rotated.to(), "eth1/10.0.1.2/9800");
  // Asked of the owner itself, it runs there as always.
  s = RotateThrough(*a_, &rotated);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TwoReplicasTest, AnOwnerThatDiedIsNamedInTheError) {
  owners_b_.Set(node_id_, {"ctl-a", a_->address()});
  a_->Stop();
  v1::RotateBondResponse rotated;
  grpc::Status s = RotateThrough(*b_, &rotated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(),
              HasSubstr(absl::StrCat("node ", node_id_, " is owned by replica ctl-a at ",
                                     a_->address(), ", which did not answer")));
}

TEST_F(TwoReplicasTest, AForwardedCommandIsNeverForwardedAgain) {
  // Each replica believes the other holds the node; neither does.
  owners_a_.Set(node_id_, {"ctl-b", b_->address()});
  owners_b_.Set(node_id_, {"ctl-a", a_->address()});
  v1::RotateBondResponse rotated;
  const absl::Time start = absl::Now();
  grpc::Status s = RotateThrough(*a_, &rotated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("not connected to replica ctl-b"));
  EXPECT_THAT(s.error_message(), HasSubstr("ctl-b holds no session"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // answered, not bounced until a deadline
}

TEST_F(TwoReplicasTest, OnlyReplicasMayForwardAndOnlyOperatorsMayDrain) {
  // Replica certificate: past the check (the node is not here).
  grpc::Status replica = ForwardAs(*a_, AsReplica("ctl-b"));
  EXPECT_EQ(replica.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << replica.error_message();
  grpc::Status op = ForwardAs(*a_, Operator());
  EXPECT_EQ(op.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(op.error_message(), HasSubstr("only controller replicas"));
  grpc::Status node = ForwardAs(*a_, Node());
  EXPECT_EQ(node.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status anonymous = ForwardAs(*a_, {.ca_file = dir_.File("ca/ca.crt")});
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  v1::DrainResponse drained;
  grpc::Status by_replica = DrainAs(*a_, AsReplica("ctl-b"), {}, &drained);
  EXPECT_EQ(by_replica.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(a_->fleet().draining());
  // A replica certificate is no operator's either.
  auto fleet = v1::Fleet::NewStub(Dial(*a_, AsReplica("ctl-b")));
  grpc::ClientContext ctx;
  v1::ListNodesResponse nodes;
  EXPECT_EQ(fleet->ListNodes(&ctx, v1::ListNodesRequest(), &nodes).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(TwoReplicasTest, ADrainingReplicaSendsItsNodeToAnotherAndRefusesNewOnes) {
  FakeNodeSession session(Dial(*a_, Node()), *node_);
  ASSERT_TRUE(Eventually([&] { return a_->fleet().HasSession(node_id_); }));
  v1::DrainResponse drained;
  grpc::Status s = DrainAs(*a_, Operator(), {b_->address()}, &drained);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(drained.sessions_ended(), 1u);
  grpc::Status end = session.End();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(end.error_message(), HasSubstr("draining"));
  auto it = session.trailers().find("fleetbond-redirect");
  ASSERT_NE(it, session.trailers().end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), b_->address());

  FakeNodeSession again(Dial(*a_, Node()), *node_);
  grpc::Status refused = again.End();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_NE(again.trailers().find("fleetbond-redirect"), again.trailers().end());
  EXPECT_FALSE(a_->fleet().HasSession(node_id_));
}

TEST_F(TwoReplicasTest, ADrainNamingNoRedirectSendsTheNodeToTheLiveReplicas) {
  a_->SetLiveReplicas({b_->address()});
  FakeNodeSession session(Dial(*a_, Node()), *node_);
  ASSERT_TRUE(Eventually([&] { return a_->fleet().HasSession(node_id_); }));
  v1::DrainResponse drained;
  grpc::Status s = DrainAs(*a_, Operator(), {}, &drained);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(drained.sessions_ended(), 1u);
  ASSERT_EQ(drained.redirect_size(), 1);
  EXPECT_EQ(drained.redirect(0), b_->address());
  grpc::Status end = session.End();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto it = session.trailers().find("fleetbond-redirect");
  ASSERT_NE(it, session.trailers().end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), b_->address());
}

}  // namespace
}  // namespace fleetbond::controller
