// The controller's two services over real gRPC on 127.0.0.1: a node session (callback API) and
// the operator API, with the Fleet pump running on its own thread.
#include "controller/fleet/services.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "controller/store/memory_store.h"
#include "shared/identity/identity.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;

using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class ServicesTest : public ::testing::Test {
 protected:
  void StartServer(Auth auth = {}) {
    absl::StatusOr<std::unique_ptr<Fleet>> f = Fleet::Create(store_, SystemClock::Get(), {});
    ASSERT_THAT(f.status(), IsOk());
    fleet_ = *std::move(f);
    sessions_ = std::make_unique<SessionService>(*fleet_, auth);
    operators_ = std::make_unique<FleetService>(*fleet_, auth);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(sessions_.get());
    builder.RegisterService(operators_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    fleet_->Start();
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    session_stub_ = v1::NodeSession::NewStub(channel);
    fleet_stub_ = v1::Fleet::NewStub(channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(In(2));
    if (fleet_) fleet_->Stop();
  }

  v1::Hello MakeHello() {
    absl::StatusOr<Identity> identity = Identity::Generate();
    EXPECT_TRUE(identity.ok());
    v1::Hello hello;
    hello.set_node_id(identity->id().ToString());
    hello.set_public_key(std::string(identity->public_key().begin(), identity->public_key().end()));
    hello.add_interfaces()->add_endpoints("10.0.0.1/9800");
    return hello;
  }

  MemoryStore store_;
  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<SessionService> sessions_;
  std::unique_ptr<FleetService> operators_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::NodeSession::Stub> session_stub_;
  std::unique_ptr<v1::Fleet::Stub> fleet_stub_;
};

TEST_F(ServicesTest, ANodeSessionGetsItsPushAcksItAndAnswersARotate) {
  StartServer();
  grpc::ClientContext ctx;
  ctx.set_deadline(In(20));
  auto stream = session_stub_->Connect(&ctx);
  v1::NodeMessage hello;
  *hello.mutable_hello() = MakeHello();
  const std::string id = hello.hello().node_id();
  ASSERT_TRUE(stream->Write(hello));
  v1::ControllerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_TRUE(in.has_push());
  EXPECT_EQ(in.push().overlay_address(), "10.147.0.1/16");
  v1::NodeMessage ack;
  ack.mutable_ack()->set_version(in.push().version());
  ASSERT_TRUE(stream->Write(ack));

  // The operator sees the node, and its acked version (bounded poll: the ack is asynchronous).
  v1::NodeStatus status;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext c;
    v1::GetNodeRequest req;
    req.set_id(id);
    ASSERT_TRUE(fleet_stub_->GetNode(&c, req, &status).ok());
    if (status.acked_version() == in.push().version()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(status.connected());
  EXPECT_EQ(status.acked_version(), in.push().version());
  EXPECT_EQ(status.overlay_address(), "10.147.0.1");

  // A settings change arrives as a new push.
  {
    grpc::ClientContext c;
    v1::ReplaceSettingsRequest req;
    req.set_local_conf_json(R"({"settings": {"defaultBondingPolicy": "broadcast"}})");
    v1::FleetSettings out;
    ASSERT_TRUE(fleet_stub_->ReplaceSettings(&c, req, &out).ok());
    EXPECT_EQ(out.version(), 1u);
    EXPECT_THAT(out.local_conf_json(), HasSubstr("broadcast"));
  }
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_TRUE(in.has_push());
  EXPECT_EQ(in.push().settings().default_bonding_policy(), "broadcast");
  ack.mutable_ack()->set_version(in.push().version());
  ASSERT_TRUE(stream->Write(ack));

  // Rotate: the operator's call waits for the node's answer.
  std::thread node([&] {
    v1::ControllerMessage cmd;
    if (!stream->Read(&cmd) || !cmd.has_command()) return;
    v1::NodeMessage result;
    result.mutable_command_result()->set_id(cmd.command().id());
    result.mutable_command_result()->mutable_rotate()->set_from("eth0/10.0.0.2/9800");
    result.mutable_command_result()->mutable_rotate()->set_to("eth1/10.0.1.2/9800");
    stream->Write(result);
  });
  grpc::ClientContext c;
  v1::NodeBondRequest req;
  req.set_node_id(id);
  req.set_peer("0123456789");
  v1::RotateBondResponse rotated;
  grpc::Status s = fleet_stub_->RotateNodeBond(&c, req, &rotated);
  node.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rotated.to(), "eth1/10.0.1.2/9800");

  stream->WritesDone();
  grpc::Status end = stream->Finish();
  EXPECT_TRUE(end.ok()) << end.error_message();

  // Offline now: a rotate is UNAVAILABLE with the reason (bounded poll for the disconnect).
  grpc::Status offline;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext c2;
    offline = fleet_stub_->RotateNodeBond(&c2, req, &rotated);
    if (offline.error_code() == grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(offline.error_code(), grpc::StatusCode::UNAVAILABLE);
  // Either it was already gone, or it went while the command was on its way.
  EXPECT_THAT(offline.error_message(),
              ::testing::AnyOf(HasSubstr("not connected"), HasSubstr("disconnected before")));
}

TEST_F(ServicesTest, ASessionMustStartWithAValidHello) {
  StartServer();
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    auto stream = session_stub_->Connect(&ctx);
    v1::NodeMessage ack;
    ack.mutable_ack()->set_version(1);
    stream->Write(ack);
    grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    auto stream = session_stub_->Connect(&ctx);
    v1::NodeMessage hello;
    *hello.mutable_hello() = MakeHello();
    hello.mutable_hello()->set_public_key(MakeHello().public_key());  // not its key
    stream->Write(hello);
    grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(ServicesTest, AuthHooksGuardBothServices) {
  Auth auth;
  auth.node = [](const grpc::ServerContextBase&, const std::string& id) {
    return absl::PermissionDeniedError(absl::StrCat("certificate is not for node ", id));
  };
  auth.op = [](const grpc::ServerContextBase&) -> absl::StatusOr<std::string> {
    return absl::UnauthenticatedError("no operator credentials");
  };
  StartServer(auth);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  auto stream = session_stub_->Connect(&ctx);
  v1::NodeMessage hello;
  *hello.mutable_hello() = MakeHello();
  stream->Write(hello);
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("certificate is not for node"));

  grpc::ClientContext c;
  v1::ListNodesResponse nodes;
  grpc::Status listed = fleet_stub_->ListNodes(&c, v1::ListNodesRequest(), &nodes);
  EXPECT_EQ(listed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ServicesTest, OperatorSettingsCallsValidateAndCheckVersions) {
  StartServer();
  grpc::ClientContext c1;
  v1::ReplaceSettingsRequest bad;
  bad.set_local_conf_json(R"({"settings": {"defaultBondingPolicy": "nope", "policies": {"x":
                               {"basePolicy": "active-backup", "packetsPerLink": 4}}}})");
  v1::FleetSettings out;
  grpc::Status s = fleet_stub_->ReplaceSettings(&c1, bad, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("settings.defaultBondingPolicy"));
  EXPECT_THAT(s.error_message(), HasSubstr("settings.policies.x.packetsPerLink"));

  grpc::ClientContext c2;
  v1::ValidateSettingsRequest check;
  check.set_local_conf_json(bad.local_conf_json());
  v1::ValidateSettingsResponse verdict;
  ASSERT_TRUE(fleet_stub_->ValidateSettings(&c2, check, &verdict).ok());
  EXPECT_FALSE(verdict.valid());
  EXPECT_GE(verdict.issues_size(), 2);

  grpc::ClientContext c3;
  v1::PutPolicyRequest put;
  put.set_name("fast");
  put.set_policy_json(R"({"basePolicy": "active-backup", "failoverInterval": 500})");
  put.set_scope("role=edge");
  ASSERT_TRUE(fleet_stub_->PutPolicy(&c3, put, &out).ok());
  EXPECT_EQ(out.version(), 1u);
  EXPECT_THAT(out.local_conf_json(), HasSubstr("\"failoverInterval\": 500"));

  grpc::ClientContext c4;
  v1::SetDefaultPolicyRequest def;
  def.set_name("fast");
  def.set_expected_version(7);
  s = fleet_stub_->SetDefaultPolicy(&c4, def, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("settings are at version 1, not 7"));

  grpc::ClientContext c5;
  def.set_expected_version(1);
  def.set_scope("role=edge");
  ASSERT_TRUE(fleet_stub_->SetDefaultPolicy(&c5, def, &out).ok());

  grpc::ClientContext c6;
  v1::GetFleetSettingsRequest get;
  v1::FleetSettings all;
  ASSERT_TRUE(fleet_stub_->GetSettings(&c6, get, &all).ok());
  EXPECT_EQ(all.version(), 2u);
  ASSERT_EQ(all.scopes_size(), 1);
  EXPECT_EQ(all.scopes(0).scope(), "role=edge");
  EXPECT_EQ(all.scopes(0).settings().default_bonding_policy(), "fast");

  grpc::ClientContext c7;
  v1::DeletePolicyRequest del;
  del.set_name("absent");
  s = fleet_stub_->DeletePolicy(&c7, del, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext c8;
  v1::GetFleetSettingsRequest bad_scope;
  bad_scope.set_scope("role");
  s = fleet_stub_->GetSettings(&c8, bad_scope, &all);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace fleetbond::controller
