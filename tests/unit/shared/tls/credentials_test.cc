// End-to-end: a real gRPC server with the controller's TLS credentials on 127.0.0.1, and clients
// with node, operator, token, foreign and missing credentials. The server's one generic service
// answers with what caller.h decided about each caller.
#include "shared/tls/credentials.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <future>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "shared/tls/ca.h"
#include "tests/unit/shared/tls/tls_test_util.h"

namespace fleetbond::tls {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::fleetbond::tls::testing::TempDir;
using ::fleetbond::tls::testing::WriteText;
using ::testing::HasSubstr;

constexpr char kToken[] = "f00dfeedf00dfeedf00dfeedf00dfeed";
constexpr char kWhoami[] = "/fleetbond.test.Auth/Whoami";
constexpr char kOperatorCall[] = "/fleetbond.test.Auth/Operator";
constexpr char kNodeCall[] = "/fleetbond.test.Auth/Node";

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string text;
  if (!buffer.Dump(&slices).ok()) return text;
  for (const grpc::Slice& slice : slices) {
    text.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return text;
}

// AuthReactor answers one call: Whoami returns Caller::Describe(); Operator runs
// RequireOperator; Node runs RequireNode for the node id in the request.
class AuthReactor : public grpc::ServerGenericBidiReactor {
 public:
  AuthReactor(grpc::GenericCallbackServerContext* ctx, const CallerAuthenticator& auth)
      : ctx_(ctx), auth_(auth) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      return;
    }
    absl::Status status;
    std::string reply;
    if (ctx_->method() == kWhoami) {
      reply = auth_.Authenticate(*ctx_).Describe();
    } else if (ctx_->method() == kOperatorCall) {
      status = auth_.RequireOperator(*ctx_);
    } else if (ctx_->method() == kNodeCall) {
      status = auth_.RequireNode(*ctx_, ToString(request_));
    } else {
      status = absl::UnimplementedError(ctx_->method());
    }
    if (!status.ok()) {
      Finish(ToGrpc(status));
      return;
    }
    grpc::Slice slice(reply);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  grpc::GenericCallbackServerContext* ctx_;
  const CallerAuthenticator& auth_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class AuthService : public grpc::CallbackGenericService {
 public:
  explicit AuthService(CallerAuthenticator auth) : auth_(std::move(auth)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new AuthReactor(ctx, auth_);
  }

 private:
  CallerAuthenticator auth_;
};

// TestServer runs AuthService on 127.0.0.1 with the given credentials.
class TestServer {
 public:
  TestServer(std::shared_ptr<grpc::ServerCredentials> credentials, CallerAuthenticator auth)
      : service_(std::move(auth)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~TestServer() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }
  bool running() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  AuthService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

struct Reply {
  grpc::Status status;
  std::string body;
};

Reply Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
           const std::string& payload = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  return {status, ToString(response)};
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(InitCa(ca_dir(), "test"), IsOk());
    ASSERT_THAT(IssueNode(ca_dir(), "00000000aa", dir_.File("out")), IsOk());
    ASSERT_THAT(IssueOperator(ca_dir(), "alice", dir_.File("out")), IsOk());
    ASSERT_THAT(InitCa(dir_.File("rogue"), "rogue"), IsOk());
    ASSERT_THAT(IssueNode(dir_.File("rogue"), "00000000aa", dir_.File("rogue-out")), IsOk());
    WriteText(dir_.File("tokens"), absl::StrCat("# who\ncarol ", kToken, "\n"), 0600);

    server_options_ = {.ca_file = CaFile(),
                       .cert_file = dir_.File("ca/controller.crt"),
                       .key_file = dir_.File("ca/controller.key"),
                       .operator_tokens_file = dir_.File("tokens")};
    auto credentials = MakeServerCredentials(server_options_);
    ASSERT_THAT(credentials, IsOk());
    auto auth = MakeCallerAuthenticator(server_options_);
    ASSERT_THAT(auth, IsOk());
    server_ = std::make_unique<TestServer>(*credentials, *std::move(auth));
    ASSERT_TRUE(server_->running());
  }

  std::string ca_dir() const { return dir_.File("ca"); }
  std::string CaFile() const { return dir_.File("ca/ca.crt"); }

  ClientTlsOptions NodeClient() const {
    return {.ca_file = CaFile(),
            .cert_file = dir_.File("out/node-00000000aa.crt"),
            .key_file = dir_.File("out/node-00000000aa.key")};
  }
  ClientTlsOptions OperatorClient() const {
    return {.ca_file = CaFile(),
            .cert_file = dir_.File("out/operator-alice.crt"),
            .key_file = dir_.File("out/operator-alice.key")};
  }
  ClientTlsOptions TokenClient(std::string token) const {
    return {.ca_file = CaFile(), .token = std::move(token)};
  }

  Reply CallAs(const ClientTlsOptions& options, const std::string& method,
               const std::string& payload = "") {
    auto channel = DialController(server_->address(), options);
    EXPECT_THAT(channel, IsOk());
    if (!channel.ok()) return {grpc::Status(grpc::StatusCode::INTERNAL, "no channel"), ""};
    return Call(*channel, method, payload);
  }

  TempDir dir_;
  ServerTlsOptions server_options_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(CredentialsTest, NodeCertificateAuthenticatesAsThatNode) {
  Reply reply = CallAs(NodeClient(), kWhoami);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.body, "node 00000000aa");
  EXPECT_TRUE(CallAs(NodeClient(), kNodeCall, "00000000aa").status.ok());
}

TEST_F(CredentialsTest, OperatorCertificateAuthenticatesAsOperator) {
  Reply reply = CallAs(OperatorClient(), kWhoami);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.body, "operator alice");
  EXPECT_TRUE(CallAs(OperatorClient(), kOperatorCall).status.ok());
}

TEST_F(CredentialsTest, BearerTokenAuthenticatesAsOperator) {
  Reply reply = CallAs(TokenClient(kToken), kWhoami);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.body, "operator carol (bearer token)");
  EXPECT_TRUE(CallAs(TokenClient(kToken), kOperatorCall).status.ok());
}

TEST_F(CredentialsTest, WrongTokenIsUnauthenticated) {
  Reply reply = CallAs(TokenClient("not-the-token-0000000000"), kOperatorCall);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(reply.status.error_message(), HasSubstr("matches no operator"));
}

TEST_F(CredentialsTest, NoCredentialsIsUnauthenticated) {
  ClientTlsOptions anonymous{.ca_file = CaFile()};
  EXPECT_EQ(CallAs(anonymous, kOperatorCall).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallAs(anonymous, kNodeCall, "00000000aa").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CredentialsTest, NodeCertificateCannotCallTheOperatorApi) {
  Reply reply = CallAs(NodeClient(), kOperatorCall);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(reply.status.error_message(),
              HasSubstr("node certificates cannot call the operator API"));
}

TEST_F(CredentialsTest, NodeCertificateCannotSpeakForAnotherNode) {
  Reply reply = CallAs(NodeClient(), kNodeCall, "00000000bb");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(reply.status.error_message(),
              HasSubstr("certificate is for node 00000000aa, not 00000000bb"));
}

TEST_F(CredentialsTest, OperatorCannotImpersonateANode) {
  for (const ClientTlsOptions& options : {OperatorClient(), TokenClient(kToken)}) {
    Reply reply = CallAs(options, kNodeCall, "00000000aa");
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(reply.status.error_message(),
                HasSubstr("operator credentials cannot open a node session"));
  }
}

TEST_F(CredentialsTest, CertificateFromAnotherCaFailsTheHandshake) {
  ClientTlsOptions rogue{.ca_file = CaFile(),
                         .cert_file = dir_.File("rogue-out/node-00000000aa.crt"),
                         .key_file = dir_.File("rogue-out/node-00000000aa.key")};
  EXPECT_EQ(CallAs(rogue, kWhoami).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(CredentialsTest, ControllerCertificateCannotBeUsedAsAClientCertificate) {
  // It chains to the fleet CA but lacks the clientAuth purpose, so the handshake refuses it.
  ClientTlsOptions server_cert{.ca_file = CaFile(),
                               .cert_file = dir_.File("ca/controller.crt"),
                               .key_file = dir_.File("ca/controller.key")};
  EXPECT_EQ(CallAs(server_cert, kWhoami).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(CredentialsTest, ClientRefusesAControllerFromAnotherCa) {
  ClientTlsOptions options = NodeClient();
  options.ca_file = dir_.File("rogue/ca.crt");
  EXPECT_EQ(CallAs(options, kWhoami).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(CredentialsTargetNameTest, OverrideChecksTheCertificateForThatName) {
  TempDir dir;
  ASSERT_THAT(InitCa(dir.File("ca"), "test"), IsOk());
  auto server_files = IssueServer(dir.File("ca"), {"controller.test"}, dir.File("out"));
  ASSERT_THAT(server_files, IsOk());
  auto credentials = MakeServerCredentials({.ca_file = dir.File("ca/ca.crt"),
                                            .cert_file = server_files->cert_file,
                                            .key_file = server_files->key_file});
  ASSERT_THAT(credentials, IsOk());
  TestServer server(*credentials, CallerAuthenticator(TokenSet(), false));
  ASSERT_TRUE(server.running());

  ClientTlsOptions options{.ca_file = dir.File("ca/ca.crt")};
  auto plain = DialController(server.address(), options);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(Call(*plain, kWhoami).status.error_code(), grpc::StatusCode::UNAVAILABLE);

  options.target_name_override = "controller.test";
  auto overridden = DialController(server.address(), options);
  ASSERT_THAT(overridden, IsOk());
  Reply reply = Call(*overridden, kWhoami);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_THAT(reply.body, HasSubstr("unauthenticated caller"));
}

TEST(InsecureTest, WarnsLoudlyAndTrustsEveryCaller) {
  std::ostringstream server_warning;
  auto credentials = InsecureServer("0.0.0.0:9900", server_warning);
  EXPECT_THAT(server_warning.str(),
              HasSubstr("fleetbond: --insecure: anyone who can reach 0.0.0.0:9900 can push "
                        "settings to the fleet and impersonate nodes; use only for local demos"));
  TestServer server(credentials, CallerAuthenticator(TokenSet(), /*insecure=*/true));
  ASSERT_TRUE(server.running());

  std::ostringstream client_warning;
  auto channel =
      grpc::CreateChannel(server.address(), InsecureClient(server.address(), client_warning));
  EXPECT_THAT(client_warning.str(), HasSubstr("--insecure"));
  EXPECT_THAT(client_warning.str(), HasSubstr("local demos"));
  EXPECT_TRUE(Call(channel, kOperatorCall).status.ok());
  EXPECT_TRUE(Call(channel, kNodeCall, "00000000aa").status.ok());
  EXPECT_THAT(Call(channel, kWhoami).body, HasSubstr("--insecure"));
}

TEST(ServerCredentialsTest, RefusesMissingMismatchedAndExposedFiles) {
  TempDir dir;
  ASSERT_THAT(InitCa(dir.File("ca"), "test"), IsOk());
  ServerTlsOptions options{.ca_file = dir.File("ca/ca.crt"),
                           .cert_file = dir.File("ca/controller.crt"),
                           .key_file = dir.File("ca/controller.key")};
  EXPECT_THAT(MakeServerCredentials(options), IsOk());

  EXPECT_THAT(MakeServerCredentials({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--insecure")));
  ServerTlsOptions missing = options;
  missing.cert_file = dir.File("nope.crt");
  EXPECT_THAT(MakeServerCredentials(missing),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.crt")));
  ServerTlsOptions mismatched = options;
  mismatched.key_file = dir.File("ca/ca.key");
  EXPECT_THAT(MakeServerCredentials(mismatched),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not the private key")));
  ServerTlsOptions not_pem = options;
  not_pem.ca_file = dir.File("ca/controller.key");
  EXPECT_THAT(MakeServerCredentials(not_pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PEM certificate")));
  ASSERT_EQ(::chmod(options.key_file.c_str(), 0604), 0);
  EXPECT_THAT(MakeServerCredentials(options),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));

  ServerTlsOptions bad_tokens = options;
  bad_tokens.operator_tokens_file = dir.File("tokens");
  WriteText(bad_tokens.operator_tokens_file, "alice short\n", 0600);
  EXPECT_THAT(MakeCallerAuthenticator(bad_tokens),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 16")));
}

TEST(ClientCredentialsTest, RefusesHalfACertificateAndUnsendableTokens) {
  TempDir dir;
  ASSERT_THAT(InitCa(dir.File("ca"), "test"), IsOk());
  EXPECT_THAT(MakeClientCredentials(
                  {.ca_file = dir.File("ca/ca.crt"), .cert_file = dir.File("ca/controller.crt")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both")));
  EXPECT_THAT(MakeClientCredentials({.ca_file = dir.File("ca/ca.crt"), .token = "two words"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bearer token")));
  EXPECT_THAT(MakeClientCredentials({.ca_file = dir.File("missing.crt")}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.crt")));
}

TEST(TokenArgumentTest, ReadsATokenFileOrTakesTheValue) {
  TempDir dir;
  EXPECT_THAT(ReadTokenArgument("plain-token"), ::fleetbond::testing::IsOkAndHolds("plain-token"));
  WriteText(dir.File("token"), "  secret-from-file\n", 0600);
  EXPECT_THAT(ReadTokenArgument("@" + dir.File("token")),
              ::fleetbond::testing::IsOkAndHolds("secret-from-file"));
  ASSERT_EQ(::chmod(dir.File("token").c_str(), 0644), 0);
  EXPECT_THAT(ReadTokenArgument("@" + dir.File("token")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("token file")));
  WriteText(dir.File("empty"), "\n", 0600);
  EXPECT_THAT(ReadTokenArgument("@" + dir.File("empty")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

}  // namespace
}  // namespace fleetbond::tls
