#include "shared/tls/ca_command.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/tls/ca.h"
#include "shared/tls/caller.h"
#include "shared/tls/secure_files.h"
#include "tests/unit/shared/tls/tls_test_util.h"

namespace fleetbond::tls {
namespace {

using ::fleetbond::tls::testing::LoadCert;
using ::fleetbond::tls::testing::ModeOf;
using ::fleetbond::tls::testing::ReadText;
using ::fleetbond::tls::testing::TempDir;
using ::fleetbond::tls::testing::VerifyChain;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class CaCommandTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return RunCaCommand(args, default_dir(), out_, err_, clock_);
  }
  std::string default_dir() const { return dir_.File("data/ca"); }

  TempDir dir_;
  FakeClock clock_{absl::Now()};
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CaCommandTest, InitCreatesTheCaInTheDefaultDirAndPrintsTheControllerFlags) {
  ASSERT_EQ(Run({"init", "--name", "prod"}), kCaCommandOk) << err_.str();
  EXPECT_THAT(err_.str(), IsEmpty());
  std::string dir = default_dir();
  EXPECT_EQ(ModeOf(dir + "/ca.key"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/controller.key"), 0600u);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("\"prod\""), HasSubstr(dir + "/ca.key"),
                                HasSubstr("--tls-ca " + dir + "/ca.crt"),
                                HasSubstr("--tls-cert " + dir + "/controller.crt"),
                                HasSubstr("--tls-key " + dir + "/controller.key")));
}

TEST_F(CaCommandTest, InitTwiceFailsAndKeepsTheFirstCa) {
  ASSERT_EQ(Run({"init"}), kCaCommandOk) << err_.str();
  std::string key = ReadText(default_dir() + "/ca.key");
  EXPECT_EQ(Run({"init"}), kCaCommandFailed);
  EXPECT_THAT(err_.str(), HasSubstr("already exists"));
  EXPECT_EQ(ReadText(default_dir() + "/ca.key"), key);
}

TEST_F(CaCommandTest, InitSanNamesGoIntoTheControllerCertificate) {
  std::string dir = dir_.File("elsewhere");
  ASSERT_EQ(Run({"ca", "init", "--dir=" + dir, "--san", "ctl.example", "--san", "192.0.2.7"}),
            kCaCommandOk)
      << err_.str();
  EXPECT_FALSE(FileExists(default_dir()));
  X509Ptr cert = LoadCert(dir + "/controller.crt");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert.get(), "ctl.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.0.2.7", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_THAT(out_.str(), HasSubstr("ctl.example, 192.0.2.7"));
}

TEST_F(CaCommandTest, IssueNodeWritesBoundCertificateAndPrintsNodeFlags) {
  ASSERT_EQ(Run({"init"}), kCaCommandOk) << err_.str();
  std::string out = dir_.File("issued");
  ASSERT_EQ(Run({"issue", "--node", "0123456789", "--out", out}), kCaCommandOk) << err_.str();
  std::string cert_file = out + "/node-0123456789.crt";
  std::string key_file = out + "/node-0123456789.key";
  EXPECT_EQ(ModeOf(key_file), 0600u);
  EXPECT_THAT(
      out_.str(),
      AllOf(HasSubstr("--controller-cert " + cert_file), HasSubstr("--controller-key " + key_file),
            HasSubstr("--controller-ca"), HasSubstr(default_dir() + "/ca.crt")));
  X509Ptr ca = LoadCert(default_dir() + "/ca.crt");
  X509Ptr cert = LoadCert(cert_file);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), clock_.Now()), X509_V_OK);
  auto caller = IdentityOfCertificate(ReadText(cert_file));
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->role, Caller::kNode);
  EXPECT_EQ(caller->name, "0123456789");
}

TEST_F(CaCommandTest, IssueOperatorAndServerDefaultToTheCaDir) {
  ASSERT_EQ(Run({"init"}), kCaCommandOk) << err_.str();
  ASSERT_EQ(Run({"issue", "--operator", "alice"}), kCaCommandOk) << err_.str();
  EXPECT_TRUE(FileExists(default_dir() + "/operator-alice.crt"));
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("fleetbond-cli --controller"),
                                HasSubstr("--cert " + default_dir() + "/operator-alice.crt"),
                                HasSubstr("--key " + default_dir() + "/operator-alice.key")));

  ASSERT_EQ(Run({"issue", "--server", "ctl.internal", "--server", "10.9.8.7"}), kCaCommandOk)
      << err_.str();
  X509Ptr cert = LoadCert(default_dir() + "/server-ctl.internal.crt");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.9.8.7", 0), 1);
  EXPECT_THAT(out_.str(), HasSubstr("--tls-cert " + default_dir() + "/server-ctl.internal.crt"));
}

TEST_F(CaCommandTest, FailuresExitOneWithTheReason) {
  EXPECT_EQ(Run({"issue", "--node", "0123456789"}), kCaCommandFailed);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("no fleet CA"), HasSubstr("ca init")));
  ASSERT_EQ(Run({"init"}), kCaCommandOk) << err_.str();
  EXPECT_EQ(Run({"issue", "--node", "NOT-AN-ID"}), kCaCommandFailed);
  EXPECT_THAT(err_.str(), HasSubstr("10 lowercase hex digits"));
  EXPECT_EQ(Run({"issue", "--operator", "bob smith"}), kCaCommandFailed);
  EXPECT_THAT(err_.str(), HasSubstr("operator name"));
}

TEST_F(CaCommandTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"issue"},
      {"issue", "--node", "0123456789", "--operator", "alice"},
      {"issue", "--node"},
      {"issue", "--node", ""},
      {"issue", "--node", "0123456789", "--node", "0123456789"},
      {"init", "--out", "x"},
      {"init", "stray"},
  };
  for (const auto& args : bad) {
    EXPECT_EQ(Run(args), kCaCommandUsage) << ::testing::PrintToString(args);
    EXPECT_THAT(err_.str(), HasSubstr("usage")) << ::testing::PrintToString(args);
  }
  EXPECT_FALSE(FileExists(default_dir()));
}

TEST_F(CaCommandTest, HelpShowsEveryCommandAndTheDefaultDir) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"help"}, {"init", "--help"}, {"issue", "-h"}}) {
    EXPECT_EQ(Run(args), kCaCommandOk);
    EXPECT_THAT(out_.str(),
                AllOf(HasSubstr("ca init"), HasSubstr("--node ID"), HasSubstr("--operator NAME"),
                      HasSubstr("--server NAME"), HasSubstr(default_dir())));
  }
  EXPECT_FALSE(FileExists(default_dir()));
}

}  // namespace
}  // namespace fleetbond::tls
