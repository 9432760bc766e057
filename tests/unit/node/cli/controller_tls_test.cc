// fleetbond-cli --controller over TLS, against a fake Fleet service that serves the certificate a
// fleet CA (shared/tls) issued: what the controller sees of the operator's certificate and token,
// and what the CLI says when the controller cannot be verified.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fleetbond/v1/controller.grpc.pb.h"
#include "gmock/gmock.h"
#include "node/cli/commands.h"
#include "shared/tls/ca.h"
#include "shared/tls/credentials.h"

namespace fleetbond::cli {
namespace {

using ::testing::HasSubstr;

// CallerRecorder answers ListNodes and keeps who called: the certificate's CN and the
// authorization header.
class CallerRecorder final : public v1::Fleet::Service {
 public:
  grpc::Status ListNodes(grpc::ServerContext* context, const v1::ListNodesRequest*,
                         v1::ListNodesResponse*) override {
    absl::MutexLock lock(&mu_);
    for (const grpc::string_ref& cn :
         context->auth_context()->FindPropertyValues("x509_common_name")) {
      common_name_ = std::string(cn.data(), cn.size());
    }
    auto it = context->client_metadata().find("authorization");
    if (it != context->client_metadata().end()) {
      authorization_ = std::string(it->second.data(), it->second.size());
    }
    return grpc::Status::OK;
  }
  std::string common_name() {
    absl::MutexLock lock(&mu_);
    return common_name_;
  }
  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }

 private:
  absl::Mutex mu_;
  std::string common_name_ ABSL_GUARDED_BY(mu_);
  std::string authorization_ ABSL_GUARDED_BY(mu_);
};

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class ControllerTls : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("FLEETBOND_CONTROLLER");
    dir_ = ::testing::TempDir() + "/controller_tls_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(tls::InitCa(dir_ + "/ca", "test").ok());
    absl::StatusOr<tls::IssuedFiles> op = tls::IssueOperator(dir_ + "/ca", "ann", dir_);
    ASSERT_TRUE(op.ok()) << op.status();
    operator_ = *op;

    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        tls::MakeServerCredentials({.ca_file = dir_ + "/ca/ca.crt",
                                    .cert_file = dir_ + "/ca/controller.crt",
                                    .key_file = dir_ + "/ca/controller.key"});
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterService(&fleet_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    std::filesystem::remove_all(dir_);
  }

  CliRun Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--controller", address_});
    std::istringstream in;
    std::ostringstream out, err;
    const int code = RunCli(args, {.in = in, .out = out, .err = err, .clock = clock_});
    return {code, out.str(), err.str()};
  }

  FakeClock clock_;
  std::string dir_;
  tls::IssuedFiles operator_;
  CallerRecorder fleet_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(ControllerTls, TheOperatorCertificateReachesTheController) {
  CliRun r = Cli({"--controller-ca", dir_ + "/ca/ca.crt", "--cert", operator_.cert_file, "--key",
                  operator_.key_file, "nodes"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.common_name(), "ann");
  EXPECT_EQ(fleet_.authorization(), "");
}

TEST_F(ControllerTls, TheTokenTravelsAsABearerHeader) {
  const std::string token_file = dir_ + "/op.token";
  std::ofstream(token_file) << "s3cret-token\n";
  ::chmod(token_file.c_str(), 0600);
  CliRun r = Cli({"--controller-ca", dir_ + "/ca/ca.crt", "--token-file", token_file, "nodes"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.authorization(), "Bearer s3cret-token");

  r = Cli({"--controller-ca", dir_ + "/ca/ca.crt", "--token", "other-token", "nodes"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.authorization(), "Bearer other-token");
}

TEST_F(ControllerTls, AControllerTheCaDidNotSignIsNotTalkedTo) {
  ASSERT_TRUE(tls::InitCa(dir_ + "/other", "other").ok());
  CliRun r = Cli({"--controller-ca", dir_ + "/other/ca.crt", "--token", "t", "nodes"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_THAT(r.err, HasSubstr("cannot reach fleetbond-controller at " + address_ +
                               ": the TLS handshake failed"));
  EXPECT_EQ(fleet_.authorization(), "");
}

TEST_F(ControllerTls, PlaintextToATlsControllerIsUnreachable) {
  CliRun r = Cli({"--insecure", "nodes"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_THAT(r.err, HasSubstr("cannot reach fleetbond-controller at " + address_));
}

}  // namespace
}  // namespace fleetbond::cli
