#include "shared/tls/caller.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "shared/tls/ca.h"
#include "tests/unit/shared/tls/tls_test_util.h"

namespace fleetbond::tls {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::fleetbond::tls::testing::ReadText;
using ::fleetbond::tls::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

class CallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(InitCa(dir_.File("ca"), "test", {}, clock_), IsOk());
    auto node = IssueNode(dir_.File("ca"), "00000000aa", dir_.path(), clock_);
    auto op = IssueOperator(dir_.File("ca"), "alice", dir_.path(), clock_);
    ASSERT_THAT(node, IsOk());
    ASSERT_THAT(op, IsOk());
    node_pem_ = ReadText(node->cert_file);
    operator_pem_ = ReadText(op->cert_file);
    auto tokens = TokenSet::Parse(absl::StrCat("carol ", kToken), "tokens");
    ASSERT_THAT(tokens, IsOk());
    tokens_ = *std::move(tokens);
  }

  Caller Identify(std::optional<std::string> pem, std::vector<std::string> authorization,
                  bool insecure = false) {
    return IdentifyCaller(pem, authorization, tokens_, insecure);
  }

  TempDir dir_;
  FakeClock clock_;
  std::string node_pem_;
  std::string operator_pem_;
  TokenSet tokens_;
};

TEST_F(CallerTest, NodeCertificateIdentifiesTheNode) {
  Caller caller = Identify(node_pem_, {});
  EXPECT_EQ(caller.role, Caller::kNode);
  EXPECT_EQ(caller.name, "00000000aa");
  EXPECT_EQ(caller.Describe(), "node 00000000aa");
}

TEST_F(CallerTest, OperatorCertificateIdentifiesTheOperator) {
  Caller caller = Identify(operator_pem_, {});
  EXPECT_EQ(caller.role, Caller::kOperator);
  EXPECT_EQ(caller.name, "alice");
  EXPECT_FALSE(caller.by_token);
}

TEST_F(CallerTest, BearerTokenIdentifiesItsOperatorWhateverTheSchemeCase) {
  for (std::string header : {absl::StrCat("Bearer ", kToken), absl::StrCat("bearer  ", kToken)}) {
    Caller caller = Identify(std::nullopt, {header});
    EXPECT_EQ(caller.role, Caller::kOperator) << header;
    EXPECT_EQ(caller.name, "carol");
    EXPECT_TRUE(caller.by_token);
    EXPECT_EQ(caller.Describe(), "operator carol (bearer token)");
  }
}

TEST_F(CallerTest, CertificateDecidesEvenWithAValidToken) {
  // A node that got hold of an operator token is still a node: it cannot reach the operator API.
  Caller caller = Identify(node_pem_, {absl::StrCat("Bearer ", kToken)});
  EXPECT_EQ(caller.role, Caller::kNode);
  EXPECT_THAT(RequireOperator(caller),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("node certificates cannot call the operator API")));
}

TEST_F(CallerTest, UnknownCallersSayWhy) {
  EXPECT_THAT(Identify(std::nullopt, {}).problem, HasSubstr("no client certificate and no bearer"));
  EXPECT_THAT(Identify(std::nullopt, {"Bearer wrong-token-0000000000"}).problem,
              HasSubstr("matches no operator"));
  EXPECT_THAT(Identify(std::nullopt, {absl::StrCat("Basic ", kToken)}).problem,
              HasSubstr("not `Bearer <token>`"));
  EXPECT_THAT(Identify(std::nullopt, {"Bearer "}).problem, HasSubstr("not `Bearer <token>`"));
  EXPECT_THAT(Identify(std::nullopt, {absl::StrCat("Bearer ", kToken), "Bearer x"}).problem,
              HasSubstr("more than one"));
  EXPECT_THAT(
      IdentifyCaller(std::nullopt, {absl::StrCat("Bearer ", kToken)}, TokenSet(), false).problem,
      HasSubstr("no --operator-tokens file"));
  Caller garbage = Identify(std::string("not a certificate"), {});
  EXPECT_EQ(garbage.role, Caller::kNone);
  EXPECT_THAT(garbage.problem, HasSubstr("PEM certificate"));
  EXPECT_THAT(garbage.Describe(), HasSubstr("unauthenticated caller"));
}

TEST_F(CallerTest, RequireNodeAcceptsOnlyThatNodesCertificate) {
  EXPECT_THAT(RequireNode(Identify(node_pem_, {}), "00000000aa"), IsOk());
  EXPECT_THAT(RequireNode(Identify(node_pem_, {}), "00000000bb"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("certificate is for node 00000000aa, not 00000000bb")));
  EXPECT_THAT(RequireNode(Identify(operator_pem_, {}), "00000000aa"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("operator credentials cannot open a node session")));
  EXPECT_THAT(RequireNode(Identify(std::nullopt, {absl::StrCat("Bearer ", kToken)}), "00000000aa"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("operator credentials cannot open a node session")));
  EXPECT_THAT(RequireNode(Identify(std::nullopt, {}), "00000000aa"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("client certificate")));
}

TEST_F(CallerTest, RequireOperatorAcceptsOperatorCertificatesAndTokensOnly) {
  EXPECT_THAT(RequireOperator(Identify(operator_pem_, {})), IsOk());
  EXPECT_THAT(RequireOperator(Identify(std::nullopt, {absl::StrCat("Bearer ", kToken)})), IsOk());
  EXPECT_THAT(RequireOperator(Identify(node_pem_, {})),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("node certificates cannot call the operator API")));
  EXPECT_THAT(RequireOperator(Identify(std::nullopt, {"Bearer wrong-token-0000000000"})),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("matches no operator")));
}

TEST_F(CallerTest, InsecureServerTrustsEveryClaim) {
  Caller caller = Identify(std::nullopt, {}, /*insecure=*/true);
  EXPECT_TRUE(caller.insecure);
  EXPECT_THAT(RequireOperator(caller), IsOk());
  EXPECT_THAT(RequireNode(caller, "00000000aa"), IsOk());
  EXPECT_THAT(caller.Describe(), HasSubstr("--insecure"));
}

}  // namespace
}  // namespace fleetbond::tls
