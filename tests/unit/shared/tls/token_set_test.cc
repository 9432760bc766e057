#include "shared/tls/token_set.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/shared/tls/tls_test_util.h"

namespace fleetbond::tls {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::fleetbond::tls::testing::TempDir;
using ::fleetbond::tls::testing::WriteText;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr char kAliceToken[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kBobToken[] = "bob-token-0123456789";

TEST(TokenSetTest, MatchesEachOperatorsTokenAndNothingElse) {
  auto tokens = TokenSet::Parse(
      absl::StrCat("# operators\n\nalice ", kAliceToken, "\n\tbob\t", kBobToken, "  \n"), "t");
  ASSERT_THAT(tokens, IsOk());
  EXPECT_EQ(tokens->size(), 2u);
  EXPECT_THAT(tokens->Match(kAliceToken), Optional(std::string("alice")));
  EXPECT_THAT(tokens->Match(kBobToken), Optional(std::string("bob")));
  EXPECT_EQ(tokens->Match(""), std::nullopt);
  EXPECT_EQ(tokens->Match(std::string(kAliceToken).substr(1)), std::nullopt);
  EXPECT_EQ(tokens->Match(absl::StrCat(kAliceToken, "0")), std::nullopt);
}

TEST(TokenSetTest, EmptySetMatchesNothing) {
  TokenSet tokens;
  EXPECT_TRUE(tokens.empty());
  EXPECT_EQ(tokens.Match(kAliceToken), std::nullopt);
}

TEST(TokenSetTest, ErrorsNameTheLineButNeverTheToken) {
  EXPECT_THAT(TokenSet::Parse("alice\n", "tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokens line 1: expected")));
  EXPECT_THAT(TokenSet::Parse(absl::StrCat("alice ", kAliceToken, " extra\n"), "tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 1"), Not(HasSubstr(kAliceToken)))));
  EXPECT_THAT(
      TokenSet::Parse("\nalice short\n", "tokens"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("line 2"), HasSubstr("at least 16"), Not(HasSubstr("short")))));
  EXPECT_THAT(TokenSet::Parse(absl::StrCat("no/slash ", kAliceToken), "tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("operator name")));
  EXPECT_THAT(TokenSet::Parse(absl::StrCat("alice ", kAliceToken, "\nbob ", kAliceToken), "tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 2"), HasSubstr("same token as alice"))));
}

TEST(TokenSetTest, LoadRefusesAFileOthersCanRead) {
  TempDir dir;
  WriteText(dir.File("tokens"), absl::StrCat("alice ", kAliceToken, "\n"), 0644);
  EXPECT_THAT(TokenSet::Load(dir.File("tokens")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
  // Group access is the administrator's choice (an ssl-cert group, a Kubernetes fsGroup).
  WriteText(dir.File("tokens"), absl::StrCat("alice ", kAliceToken, "\n"), 0640);
  auto tokens = TokenSet::Load(dir.File("tokens"));
  ASSERT_THAT(tokens, IsOk());
  EXPECT_THAT(tokens->Match(kAliceToken), Optional(std::string("alice")));
  EXPECT_THAT(TokenSet::Load(dir.File("missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("operator tokens file")));
}

}  // namespace
}  // namespace fleetbond::tls
