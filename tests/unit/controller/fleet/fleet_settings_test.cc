#include "controller/fleet/fleet_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shared/testing/status_matchers.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;

using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::Settings Parsed(const std::string& json) {
  auto [settings, issues] = ParseDocument(json);
  EXPECT_THAT(issues, IsEmpty()) << json;
  return settings;
}

TEST(LabelSelectorTest, ParsesToACanonicalFormAndMatchesEveryTerm) {
  absl::StatusOr<LabelSelector> s = LabelSelector::Parse(" site=fra1 , role=edge");
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->ToString(), "role=edge,site=fra1");
  EXPECT_TRUE(s->Matches({{"site", "fra1"}, {"role", "edge"}, {"rack", "r1"}}));
  EXPECT_FALSE(s->Matches({{"site", "fra1"}}));
  EXPECT_FALSE(s->Matches({{"site", "fra2"}, {"role", "edge"}}));
  absl::StatusOr<LabelSelector> all = LabelSelector::Parse("");
  ASSERT_THAT(all.status(), IsOk());
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(all->Matches({}));
}

TEST(LabelSelectorTest, RefusesMalformedTerms) {
  for (const char* bad : {"site", "=x", "site=", "a=b,a=c", "k=v w", "k=v;rm"}) {
    EXPECT_THAT(LabelSelector::Parse(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_THAT(LabelSelector::Parse(std::string(64, 'k') + "=v").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SettingsForNodeTest, LaysMatchingScopesOverTheFleetWideDocumentInOrder) {
  std::map<std::string, v1::Settings> scopes = {
      {"", Parsed(R"({"settings": {"defaultBondingPolicy": "balance-xor",
          "policies": {"p": {"basePolicy": "active-backup", "failoverInterval": 1000}},
          "peerSpecificBonds": {"0123456789": "p", "1111111111": "p"}}})")},
      {"role=edge", Parsed(R"({"settings": {"defaultBondingPolicy": "broadcast",
          "policies": {"p": {"basePolicy": "balance-rr"}},
          "peerSpecificBonds": {"0123456789": "balance-aware"}}})")},
      {"site=fra1", Parsed(R"({"settings": {"defaultBondingPolicy": "balance-rr"}})")},
  };
  v1::Settings plain = SettingsForNode(scopes, {});
  EXPECT_EQ(plain.default_bonding_policy(), "balance-xor");
  EXPECT_EQ(plain.policies().at("p").failover_interval(), 1000u);

  v1::Settings edge = SettingsForNode(scopes, {{"role", "edge"}});
  EXPECT_EQ(edge.default_bonding_policy(), "broadcast");
  // A scope's policy replaces the fleet-wide one whole: failoverInterval is not inherited.
  EXPECT_FALSE(edge.policies().at("p").has_failover_interval());
  EXPECT_EQ(edge.peer_specific_bonds().at("0123456789"), "balance-aware");
  EXPECT_EQ(edge.peer_specific_bonds().at("1111111111"), "p");

  // "role=edge" sorts before "site=fra1", so the latter wins where both match.
  v1::Settings both = SettingsForNode(scopes, {{"role", "edge"}, {"site", "fra1"}});
  EXPECT_EQ(both.default_bonding_policy(), "balance-rr");
}

TEST(ValidateDocumentsTest, JudgesEachScopeOverTheFleetWideDocument) {
  std::map<std::string, v1::Settings> scopes = {
      {"", Parsed(R"({"settings": {"policies": {"fast": {"basePolicy": "active-backup"}}}})")},
      {"role=edge", Parsed(R"({"settings": {"defaultBondingPolicy": "fast"}})")},
  };
  EXPECT_FALSE(settings::HasErrors(ValidateDocuments(scopes)));
  scopes["site=x"] = Parsed(R"({"settings": {"defaultBondingPolicy": "missing"}})");
  std::vector<settings::Issue> issues = ValidateDocuments(scopes);
  ASSERT_TRUE(settings::HasErrors(issues));
  EXPECT_THAT(IssuesMessage(issues), HasSubstr("scopes[site=x].settings.defaultBondingPolicy"));
}

TEST(ParseDocumentTest, RefusesWhatTheControllerOwns) {
  auto [settings, issues] =
      ParseDocument(R"({"settings": {}, "overlay": "10.0.0.1/24", "peers": {}})");
  EXPECT_THAT(IssuesMessage(issues), HasSubstr("overlay: the controller assigns"));
  EXPECT_THAT(IssuesMessage(issues), HasSubstr("peers: the controller builds"));
  auto [bad, bad_issues] = ParseDocument("{\"settings\": {");
  EXPECT_TRUE(settings::HasErrors(bad_issues));
}

TEST(ParsePolicyTest, ReadsOnePolicyWithItsPath) {
  auto [policy, issues] = ParsePolicy("fast", R"({"basePolicy": "active-backup",
                                                  "failoverInterval": 500})");
  EXPECT_THAT(issues, IsEmpty());
  EXPECT_EQ(policy.failover_interval(), 500u);
  auto [bad, bad_issues] = ParsePolicy("fast", R"({"basePolicy": "active-backup", "speed": 1})");
  ASSERT_TRUE(settings::HasErrors(bad_issues));
  EXPECT_THAT(IssuesMessage(bad_issues), HasSubstr("settings.policies.fast.speed"));
  auto [junk, junk_issues] = ParsePolicy("fast", "[1, 2]");
  EXPECT_TRUE(settings::HasErrors(junk_issues));
}

}  // namespace
}  // namespace fleetbond::controller
