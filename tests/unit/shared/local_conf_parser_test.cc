#include "shared/settings/local_conf_parser.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/shared/settings_test_util.h"

namespace fleetbond::settings {
namespace {

using ::fleetbond::settings::testing::IssuesOf;
using ::fleetbond::settings::testing::IssuesOfPolicy;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(Parser, KeepsFieldPresence) {
  ParsedLocalConf parsed = ParseLocalConf(R"({"settings": {"policies": {"p": {
      "basePolicy": "balance-rr", "packetsPerLink": 0, "links": {"eth0": {"capacity": 0}}}}}})");
  ASSERT_THAT(parsed.issues, IsEmpty());
  const v1::Policy& p = parsed.conf.settings.policies().at("p");
  EXPECT_EQ(p.base_policy(), v1::BASE_POLICY_BALANCE_RR);
  EXPECT_TRUE(p.has_packets_per_link());
  EXPECT_EQ(p.packets_per_link(), 0u);
  EXPECT_FALSE(p.has_failover_interval());
  EXPECT_FALSE(p.has_up_delay());
  EXPECT_FALSE(p.has_link_quality());
  const v1::LinkSettings& eth0 = p.links().at("eth0");
  EXPECT_TRUE(eth0.has_capacity());
  EXPECT_FALSE(eth0.has_ipv_pref());
  EXPECT_FALSE(eth0.has_mode());
  EXPECT_FALSE(parsed.conf.settings.has_default_bonding_policy());
}

TEST(Parser, ReadsEveryField) {
  ParsedLocalConf parsed = ParseLocalConf(R"({"settings": {
      "defaultBondingPolicy": "ab", "peerSpecificBonds": {"f6203a2db3": "aware"},
      "policies": {
        "ab": {"basePolicy": "active-backup", "failoverInterval": 1000.0, "upDelay": 1,
               "downDelay": 2, "linkSelectMethod": "failure",
               "links": {"eth0": {"ipvPref": 46, "capacity": 7, "failoverTo": "eth1",
                                  "mode": "primary"}, "eth1": {"mode": "spare"}}},
        "aware": {"basePolicy": "balance-aware", "linkQuality": {"lat_max": 80, "pdv_max": 20,
                  "plr_max": 0.001, "per_max": 0.002, "lat_weight": 0.4, "pdv_weight": 0.3,
                  "plr_weight": 0.2, "per_weight": 0.1}}}}})");
  ASSERT_THAT(parsed.issues, IsEmpty());
  const v1::Settings& s = parsed.conf.settings;
  EXPECT_EQ(s.default_bonding_policy(), "ab");
  EXPECT_EQ(s.peer_specific_bonds().at("f6203a2db3"), "aware");
  const v1::Policy& ab = s.policies().at("ab");
  EXPECT_EQ(ab.failover_interval(), 1000u);
  EXPECT_EQ(ab.up_delay(), 1u);
  EXPECT_EQ(ab.down_delay(), 2u);
  EXPECT_EQ(ab.link_select_method(), v1::LINK_SELECT_METHOD_FAILURE);
  const v1::LinkSettings& eth0 = ab.links().at("eth0");
  EXPECT_EQ(eth0.ipv_pref(), 46u);
  EXPECT_EQ(eth0.capacity(), 7u);
  EXPECT_EQ(eth0.failover_to(), "eth1");
  EXPECT_EQ(eth0.mode(), v1::LINK_MODE_PRIMARY);
  EXPECT_EQ(ab.links().at("eth1").mode(), v1::LINK_MODE_SPARE);
  const v1::LinkQuality& q = s.policies().at("aware").link_quality();
  EXPECT_DOUBLE_EQ(q.lat_max(), 80);
  EXPECT_DOUBLE_EQ(q.pdv_max(), 20);
  EXPECT_DOUBLE_EQ(q.plr_max(), 0.001);
  EXPECT_DOUBLE_EQ(q.per_max(), 0.002);
  EXPECT_DOUBLE_EQ(q.lat_weight(), 0.4);
  EXPECT_DOUBLE_EQ(q.pdv_weight(), 0.3);
  EXPECT_DOUBLE_EQ(q.plr_weight(), 0.2);
  EXPECT_DOUBLE_EQ(q.per_weight(), 0.1);
}

TEST(Parser, KeepsOverlayAndPeersForTheDataPlane) {
  ParsedLocalConf parsed = ParseLocalConf(
      R"({"overlay": {"interface": "fb0"}, "peers": [{"id": "f6203a2db3"}], "settings": {}})");
  EXPECT_THAT(parsed.issues, IsEmpty());
  EXPECT_EQ(parsed.conf.overlay["interface"], "fb0");
  EXPECT_EQ(parsed.conf.peers[0]["id"], "f6203a2db3");
}

TEST(Parser, ReportsMalformedJsonWithLineAndColumn) {
  EXPECT_THAT(IssuesOf("{\"settings\": {\"defaultBondingPolicy\": \"broadcast\",\n  }"),
              ElementsAre(Error("",
                                "line 2, column 3: not valid JSON: syntax error while parsing "
                                "object key - unexpected '}'; expected string literal (remove the "
                                "comma after the last entry (JSON does not allow it))")));
}

TEST(Parser, ExplainsARangeWrittenWhereAValueGoes) {
  EXPECT_THAT(IssuesOf("{\"settings\": {\"policies\": {\"p\": {\n  \"upDelay\": 0-65535}}}}"),
              ElementsAre(Error("",
                                "line 2, column 14: not valid JSON: syntax error while parsing "
                                "object - unexpected number literal; expected '}' (write one "
                                "number where the spec shows a range such as 0-65535)")));
}

TEST(Parser, ExplainsComments) {
  EXPECT_THAT(IssuesOf("{\n  /* note */ \"settings\": {}}"),
              ElementsAre(::testing::Field(
                  &Issue::message,
                  ::testing::AllOf(::testing::StartsWith("line 2, column 3: "),
                                   ::testing::EndsWith("(remove the comments (JSON has none))")))));
}

TEST(Parser, ExplainsAnEmptyFile) {
  EXPECT_THAT(IssuesOf("  \n"),
              ElementsAre(::testing::Field(
                  &Issue::message, ::testing::EndsWith("(the file is empty: the smallest valid "
                                                       "local.conf is {})"))));
}

TEST(Parser, RejectsDocumentThatIsNotAnObject) {
  EXPECT_THAT(IssuesOf("[1, 2]"),
              ElementsAre(Error("", "local.conf must be a JSON object, got an array")));
}

TEST(Parser, RejectsUnknownTopLevelKeyWithSuggestion) {
  EXPECT_THAT(IssuesOf(R"({"setings": {}, "frobnicate": 1})"),
              ElementsAre(Error("frobnicate",
                                "unknown key; expected \"settings\", \"overlay\" or \"peers\""),
                          Error("setings", "unknown key (did you mean \"settings\"?)")));
}

TEST(Parser, ExplainsSettingsKeysWrittenAtTopLevel) {
  EXPECT_THAT(IssuesOf(R"({"defaultBondingPolicy": "broadcast"})"),
              ElementsAre(Error("defaultBondingPolicy",
                                "unknown key; \"defaultBondingPolicy\" belongs inside "
                                "\"settings\": write { \"settings\": { \"defaultBondingPolicy\": "
                                "... } }")));
}

TEST(Parser, RejectsUnknownSettingsKeyWithSuggestion) {
  EXPECT_THAT(IssuesOf(R"({"settings": {"polices": {}, "defaultBondingPolicy": "broadcast"}})"),
              ElementsAre(Error("settings.polices", "unknown key (did you mean \"policies\"?)")));
}

TEST(Parser, RejectsUnknownPolicyKeyWithSuggestion) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "failoverIntreval": 100})"),
              ElementsAre(Error("settings.policies.p.failoverIntreval",
                                "unknown key (did you mean \"failoverInterval\"?)")));
}

TEST(Parser, RejectsUnknownLinkKeyWithSuggestion) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "links": {
                  "eth0": {"capactiy": 10}, "eth1": {"speed": 10}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.capactiy",
                                "unknown key (did you mean \"capacity\"?)"),
                          Error("settings.policies.p.links.eth1.speed",
                                "unknown key; expected \"ipvPref\", \"capacity\", \"failoverTo\" "
                                "or \"mode\"")));
}

TEST(Parser, RejectsUnknownLinkQualityKeyWithSuggestion) {
  EXPECT_THAT(
      IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {"lat_weigth": 1}})"),
      ElementsAre(Error("settings.policies.p.linkQuality.lat_weigth",
                        "unknown key (did you mean \"lat_weight\"?)")));
}

TEST(Parser, ExplainsLinkSettingsWrittenOnThePolicy) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "mode": "primary"})"),
              ElementsAre(Error("settings.policies.p.mode",
                                "unknown key; \"mode\" is a link setting: write it inside "
                                "links.INTERFACE")));
}

TEST(Parser, ExplainsPolicyParametersWrittenOnALink) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"failoverInterval": 100}, "eth1": {}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.failoverInterval",
                                "unknown key; \"failoverInterval\" is a policy parameter: write "
                                "it in the policy, next to \"links\"")));
}

TEST(Parser, ExplainsAPolicyWrittenDirectlyUnderSettings) {
  EXPECT_THAT(
      IssuesOf(R"({"settings": {"defaultBondingPolicy": "fast",
                  "fast": {"basePolicy": "balance-rr", "packetsPerLink": 8}}})"),
      ElementsAre(Error("settings.defaultBondingPolicy",
                        "policy \"fast\" is not defined under settings.policies (it is written "
                        "directly under settings; move it into settings.policies)"),
                  Error("settings.fast",
                        "a policy must be defined inside settings.policies, not directly under "
                        "settings: move it to settings.policies.fast")));
}

TEST(Parser, RejectsDuplicateKeys) {
  EXPECT_THAT(
      IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"mode": "primary"}, "eth1": {}, "eth0": {"mode": "spare"}}})"),
      ElementsAre(Error("settings.policies.p.links.eth0",
                        "duplicate key: JSON keeps only the last of them, so the earlier value "
                        "would be silently ignored; write the key once")));
}

TEST(Parser, RejectsWrongContainerTypes) {
  EXPECT_THAT(IssuesOf(R"({"settings": {"policies": [], "peerSpecificBonds": "x",
                                        "defaultBondingPolicy": 3}})"),
              ElementsAre(Error("settings.defaultBondingPolicy",
                                "expected a policy name (a non-empty string), got 3"),
                          Error("settings.peerSpecificBonds",
                                "expected an object of peer id to policy name, got \"x\""),
                          Error("settings.policies",
                                "expected an object of policies by name, got an array")));
  EXPECT_THAT(IssuesOf(R"({"settings": []})"),
              ElementsAre(Error("settings", "expected an object, got an array")));
}

TEST(Parser, RejectsWrongValueTypes) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "failoverInterval": true,
                  "links": {"eth0": {"failoverTo": 1}, "eth1": null}})"),
              ElementsAre(Error("settings.policies.p.failoverInterval",
                                "expected a whole number from 10 to 3600000, got true"),
                          Error("settings.policies.p.links.eth0.failoverTo",
                                "expected a link name (a non-empty string), got 1"),
                          Error("settings.policies.p.links.eth1",
                                "expected an object of link settings, got null")));
}

TEST(Parser, NeverThrowsOnHugeNumbers) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-rr", "packetsPerLink": 1e300,
                                 "upDelay": 18446744073709551615})"),
              ElementsAre(Error("settings.policies.p.packetsPerLink",
                                "expected a whole number from 0 to 1000000, got 1e+300"),
                          Error("settings.policies.p.upDelay",
                                "expected a whole number from 0 to 65535, got "
                                "18446744073709551615")));
}

}  // namespace
}  // namespace fleetbond::settings
