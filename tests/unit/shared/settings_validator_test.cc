// One test per validation rule: an input that breaks it, and the exact issue expected.
#include "shared/settings/settings_validator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/settings_issue.h"
#include "tests/unit/shared/settings_test_util.h"

namespace fleetbond::settings {
namespace {

using ::fleetbond::settings::testing::IssuesOf;
using ::fleetbond::settings::testing::IssuesOfPolicy;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kStandardList[] =
    "\"active-backup\", \"broadcast\", \"balance-rr\", \"balance-xor\" or \"balance-aware\"";

TEST(Validator, AcceptsStandardPolicyWithoutDefinition) {
  EXPECT_THAT(IssuesOf(R"({"settings": {"defaultBondingPolicy": "balance-xor"}})"), IsEmpty());
}

TEST(Validator, AcceptsEmptyDocument) { EXPECT_THAT(IssuesOf("{}"), IsEmpty()); }

TEST(Validator, RejectsCustomPolicyWithStandardName) {
  EXPECT_THAT(
      IssuesOf(R"({"settings": {"defaultBondingPolicy": "balance-rr",
                  "policies": {"balance-rr": {"basePolicy": "balance-rr", "packetsPerLink": 8}}}})"),
      ElementsAre(Error("settings.policies.balance-rr",
                        "\"balance-rr\" is a standard policy name and cannot be redefined; give "
                        "the custom policy its own name (e.g. \"my-balance-rr\") and set "
                        "\"basePolicy\": \"balance-rr\"")));
}

TEST(Validator, RejectsBasePolicyThatIsNotStandard) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backpu"})"),
              ElementsAre(Error("settings.policies.p.basePolicy",
                                absl::StrCat("expected one of ", kStandardList,
                                             ", got \"active-backpu\" (did you mean "
                                             "\"active-backup\"?)"))));
}

TEST(Validator, RejectsBasePolicyNamingACustomPolicy) {
  EXPECT_THAT(
      IssuesOf(
          R"({"settings": {"defaultBondingPolicy": "b", "peerSpecificBonds": {"f6203a2db3": "a"},
                  "policies": {"a": {"basePolicy": "broadcast"}, "b": {"basePolicy": "a"}}}})"),
      ElementsAre(Error("settings.policies.b.basePolicy",
                        absl::StrCat("expected one of ", kStandardList, ", got \"a\""))));
}

TEST(Validator, RejectsCustomPolicyWithoutBasePolicy) {
  EXPECT_THAT(IssuesOfPolicy(R"({"failoverInterval": 1000})"),
              ElementsAre(Error("settings.policies.p.basePolicy",
                                absl::StrCat("missing: a custom policy must name the standard "
                                             "policy it customizes (",
                                             kStandardList, ")"))));
}

TEST(Validator, RejectsPacketsPerLinkOutsideBalanceRr) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "packetsPerLink": 8})"),
              ElementsAre(Error("settings.policies.p.packetsPerLink",
                                "not a parameter of basePolicy active-backup (only balance-rr "
                                "takes it)")));
}

TEST(Validator, RejectsLinkSelectMethodOutsideActiveBackup) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-xor", "linkSelectMethod": "always"})"),
              ElementsAre(Error("settings.policies.p.linkSelectMethod",
                                "not a parameter of basePolicy balance-xor (only active-backup "
                                "takes it)")));
}

TEST(Validator, RejectsLinkQualityOutsideBalanceAware) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-rr", "linkQuality": {"lat_max": 80}})"),
              ElementsAre(Error("settings.policies.p.linkQuality",
                                "not a parameter of basePolicy balance-rr (only balance-aware "
                                "takes it)")));
}

TEST(Validator, AcceptsCommonParametersOnEveryBasePolicy) {
  for (const char* base :
       {"active-backup", "broadcast", "balance-rr", "balance-xor", "balance-aware"}) {
    EXPECT_THAT(IssuesOfPolicy(
                    absl::StrCat(R"({"basePolicy": ")", base,
                                 R"(", "failoverInterval": 1000, "upDelay": 100, "downDelay": 200,
                       "links": {"eth0": {"ipvPref": 4}, "eth1": {"capacity": 10}}})")),
                IsEmpty())
        << base;
  }
}

TEST(Validator, AcceptsEachPolicySpecificParameterOnItsOwnBase) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "linkSelectMethod": "better"})"),
              IsEmpty());
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-rr", "packetsPerLink": 16})"), IsEmpty());
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {"lat_max": 80}})"),
              IsEmpty());
}

TEST(Validator, RejectsSecondPrimaryInActiveBackup) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"mode": "primary"}, "eth1": {"mode": "primary"},
                  "eth2": {"mode": "primary"}}})"),
              ElementsAre(Error("settings.policies.p.links.eth1.mode",
                                "policy \"p\" already has primary link \"eth0\"; active-backup "
                                "allows only one primary link"),
                          Error("settings.policies.p.links.eth2.mode",
                                "policy \"p\" already has primary link \"eth0\"; active-backup "
                                "allows only one primary link")));
}

TEST(Validator, RejectsSpareLinkInBroadcast) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "broadcast", "links": {
                  "eth0": {}, "eth1": {"mode": "spare"}}})"),
              ElementsAre(Error("settings.policies.p.links.eth1.mode",
                                "broadcast sends on every link at once, so it has no spare links; "
                                "remove \"mode\": \"spare\" (or use active-backup if this link "
                                "should wait)")));
}

TEST(Validator, RejectsFailoverToLinkOutsideThePolicy) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"failoverTo": "eth7"}, "wlan0": {}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.failoverTo",
                                "link \"eth7\" is not defined in policy \"p\"")));
}

TEST(Validator, SuggestsTheLinkAFailoverToProbablyMeant) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"failoverTo": "eht1"}, "eth1": {}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.failoverTo",
                                "link \"eht1\" is not defined in policy \"p\" (did you mean "
                                "\"eth1\"?)")));
}

TEST(Validator, RejectsFailoverChainThatLoops) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth1": {"failoverTo": "eth2"}, "eth2": {"failoverTo": "eth0"},
                  "eth0": {"failoverTo": "eth1"}, "wlan0": {"failoverTo": "eth0"}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.failoverTo",
                                "failover chain loops: eth0 -> eth1 -> eth2 -> eth0; end the "
                                "chain at a link without failoverTo")));
}

TEST(Validator, RejectsLinkThatFailsOverToItself) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"failoverTo": "eth0"}, "eth1": {}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.failoverTo",
                                "failover chain loops: eth0 -> eth0; end the chain at a link "
                                "without failoverTo")));
}

TEST(Validator, AcceptsFailoverChainThatEnds) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"failoverTo": "eth1"}, "eth1": {"failoverTo": "eth2"},
                  "eth2": {}, "wlan0": {"failoverTo": "eth1"}}})"),
              IsEmpty());
}

TEST(Validator, RejectsIpvPrefOutsideTheFiveValues) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-xor", "links": {
                  "eth0": {"ipvPref": 5}, "eth1": {"ipvPref": "4"}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.ipvPref",
                                "expected one of 0, 4, 6, 46, 64, got 5"),
                          Error("settings.policies.p.links.eth1.ipvPref",
                                "expected one of 0, 4, 6, 46, 64, got \"4\"")));
}

TEST(Validator, AcceptsEveryIpvPref) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-xor", "links": {
                  "a": {"ipvPref": 0}, "b": {"ipvPref": 4}, "c": {"ipvPref": 6},
                  "d": {"ipvPref": 46}, "e": {"ipvPref": 64}}})"),
              IsEmpty());
}

TEST(Validator, RejectsCapacityOutsideZeroToAMillion) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "links": {
                  "eth0": {"capacity": 1000001}, "eth1": {"capacity": -1},
                  "eth2": {"capacity": 2.5}, "eth3": {"capacity": 1000000}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.capacity",
                                "expected a whole number from 0 to 1000000, got 1000001"),
                          Error("settings.policies.p.links.eth1.capacity",
                                "expected a whole number from 0 to 1000000, got -1"),
                          Error("settings.policies.p.links.eth2.capacity",
                                "expected a whole number from 0 to 1000000, got 2.5")));
}

TEST(Validator, RejectsUpDelayAndDownDelayOutside16Bits) {
  EXPECT_THAT(
      IssuesOfPolicy(R"({"basePolicy": "balance-xor", "upDelay": 65536, "downDelay": "fast"})"),
      ElementsAre(Error("settings.policies.p.downDelay",
                        "expected a whole number from 0 to 65535, got \"fast\""),
                  Error("settings.policies.p.upDelay",
                        "expected a whole number from 0 to 65535, got 65536")));
}

TEST(Validator, AcceptsDelaysAtTheirBounds) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-xor", "upDelay": 0, "downDelay": 65535})"),
              IsEmpty());
}

TEST(Validator, RejectsFailoverIntervalOutsideItsRange) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "broadcast", "failoverInterval": 5})"),
              ElementsAre(Error("settings.policies.p.failoverInterval",
                                "expected a whole number from 10 to 3600000, got 5")));
}

TEST(Validator, RejectsModeOtherThanPrimaryOrSpare) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "links": {
                  "eth0": {"mode": "backup"}, "eth1": {"mode": "spaer"}}})"),
              ElementsAre(Error("settings.policies.p.links.eth0.mode",
                                "expected \"primary\" or \"spare\", got \"backup\""),
                          Error("settings.policies.p.links.eth1.mode",
                                "expected \"primary\" or \"spare\", got \"spaer\" (did you mean "
                                "\"spare\"?)")));
}

TEST(Validator, RejectsUnknownLinkSelectMethod) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "active-backup", "linkSelectMethod": "alway"})"),
              ElementsAre(Error("settings.policies.p.linkSelectMethod",
                                "expected one of \"optimize\", \"always\", \"better\" or "
                                "\"failure\", got \"alway\" (did you mean \"always\"?)")));
}

TEST(Validator, RejectsLinkQualityMaximaThatAreNotPositive) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "lat_max": 0, "pdv_max": -3, "plr_max": 2, "per_max": "low"}})"),
              ElementsAre(Error("settings.policies.p.linkQuality.lat_max",
                                "expected a number of milliseconds above 0, got 0"),
                          Error("settings.policies.p.linkQuality.pdv_max",
                                "expected a number of milliseconds above 0, got -3"),
                          Error("settings.policies.p.linkQuality.per_max",
                                "expected a ratio above 0 and at most 1, got \"low\""),
                          Error("settings.policies.p.linkQuality.plr_max",
                                "expected a ratio above 0 and at most 1, got 2")));
}

TEST(Validator, RejectsLinkQualityWeightOutsideZeroToOne) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "lat_weight": 1.5, "pdv_weight": -0.5}})"),
              ElementsAre(Error("settings.policies.p.linkQuality.lat_weight",
                                "expected a weight from 0 to 1, got 1.5"),
                          Error("settings.policies.p.linkQuality.pdv_weight",
                                "expected a weight from 0 to 1, got -0.5")));
}

TEST(Validator, RejectsFourWeightsThatDoNotSumToOne) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "lat_weight": 0.5, "pdv_weight": 0.2, "plr_weight": 0.1, "per_weight": 0.1}})"),
              ElementsAre(Error("settings.policies.p.linkQuality",
                                "the weights sum to 0.9; lat_weight, pdv_weight, plr_weight and "
                                "per_weight must sum to 1.0")));
}

TEST(Validator, RejectsGivenWeightsThatSumAboveOne) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "lat_weight": 0.7, "pdv_weight": 0.6}})"),
              ElementsAre(Error("settings.policies.p.linkQuality",
                                "the given weights sum to 1.3, more than 1.0; all four weights "
                                "must sum to 1.0 (the ones left out share what the given ones "
                                "leave)")));
}

TEST(Validator, AcceptsPartialWeightsThatLeaveARemainder) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "lat_weight": 0.6, "plr_weight": 0.3}})"),
              IsEmpty());
}

TEST(Validator, AcceptsFourWeightsSummingToOneDespiteRounding) {
  EXPECT_THAT(IssuesOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "lat_weight": 0.1, "pdv_weight": 0.2, "plr_weight": 0.3, "per_weight": 0.4}})"),
              IsEmpty());
}

TEST(Validator, RejectsPeerIdThatIsNotTenHexDigits) {
  EXPECT_THAT(
      IssuesOf(R"({"settings": {"peerSpecificBonds": {
                  "f6203a2db": "broadcast", "g6203a2db3": "broadcast", "F6203A2DB3": "broadcast"}}})"),
      ElementsAre(Error("settings.peerSpecificBonds.f6203a2db",
                        "a peer id is 10 hex digits, e.g. \"f6203a2db3\"; got \"f6203a2db\" (9 "
                        "characters)"),
                  Error("settings.peerSpecificBonds.g6203a2db3",
                        "a peer id is 10 hex digits, e.g. \"f6203a2db3\"; got \"g6203a2db3\" (10 "
                        "characters)")));
}

TEST(Validator, RejectsTheSamePeerWrittenInTwoCases) {
  EXPECT_THAT(IssuesOf(R"({"settings": {"peerSpecificBonds": {
                  "F6203A2DB3": "broadcast", "f6203a2db3": "balance-xor"}}})"),
              ElementsAre(Error("settings.peerSpecificBonds.f6203a2db3",
                                "the same peer as \"F6203A2DB3\" (peer ids ignore case); keep one "
                                "entry")));
}

TEST(Validator, RejectsDefaultPolicyThatDoesNotExist) {
  EXPECT_THAT(
      IssuesOf(R"({"settings": {"defaultBondingPolicy": "balance-xr"}})"),
      ElementsAre(Error(
          "settings.defaultBondingPolicy",
          absl::StrCat("policy \"balance-xr\" is not defined; define it under settings.policies "
                       "or use a standard policy (",
                       kStandardList, ") (did you mean \"balance-xor\"?)"))));
}

TEST(Validator, RejectsPeerSpecificBondToPolicyThatDoesNotExist) {
  EXPECT_THAT(IssuesOf(R"({"settings": {"defaultBondingPolicy": "fast-ab",
                  "policies": {"fast-ab": {"basePolicy": "active-backup"}},
                  "peerSpecificBonds": {"f6203a2db3": "fast-ba"}}})"),
              ElementsAre(Error("settings.peerSpecificBonds.f6203a2db3",
                                absl::StrCat("policy \"fast-ba\" is not defined; define it under "
                                             "settings.policies or use a standard policy (",
                                             kStandardList, ") (did you mean \"fast-ab\"?)"))));
}

TEST(Validator, ReportsEveryProblemAtOnce) {
  std::vector<Issue> issues = IssuesOf(R"({"settings": {"defaultBondingPolicy": "nope",
      "policies": {"fast-ab": {"basePolicy": "active-backup", "packetsPerLink": 8, "upDelay": -1,
                   "links": {"eth0": {"mode": "primary"}, "eth1": {"mode": "primary"}}}},
      "peerSpecificBonds": {"xyz": "fast-ab"}}})");
  EXPECT_THAT(
      issues,
      ElementsAre(::testing::Field(&Issue::path, "settings.defaultBondingPolicy"),
                  ::testing::Field(&Issue::path, "settings.peerSpecificBonds.xyz"),
                  ::testing::Field(&Issue::path, "settings.policies.fast-ab.links.eth1.mode"),
                  Error("settings.policies.fast-ab.packetsPerLink",
                        "not a parameter of basePolicy active-backup (only balance-rr takes it)"),
                  ::testing::Field(&Issue::path, "settings.policies.fast-ab.upDelay")));
}

// The validator judges Settings from any source, e.g. a controller push, not only local.conf.
TEST(Validator, JudgesSettingsThatDidNotComeFromJson) {
  v1::Settings s;
  s.set_default_bonding_policy("p");
  v1::Policy& p = (*s.mutable_policies())["p"];
  p.set_base_policy(v1::BASE_POLICY_ACTIVE_BACKUP);
  p.set_up_delay(70000);
  p.set_link_select_method(v1::LINK_SELECT_METHOD_UNSPECIFIED);
  (*p.mutable_links())["eth0"].set_ipv_pref(5);
  (*p.mutable_links())["eth0"].set_capacity(2000000);
  (*p.mutable_links())["eth1"].set_mode(v1::LINK_MODE_UNSPECIFIED);
  EXPECT_THAT(
      ValidateSettings(s),
      ElementsAre(
          Error("settings.policies.p.upDelay",
                "expected a whole number from 0 to 65535, got 70000"),
          Error("settings.policies.p.linkSelectMethod",
                "expected one of \"optimize\", \"always\", \"better\" or "
                "\"failure\""),
          Error("settings.policies.p.links.eth0.ipvPref", "expected one of 0, 4, 6, 46, 64, got 5"),
          Error("settings.policies.p.links.eth0.capacity",
                "expected a whole number from 0 to 1000000, got 2000000"),
          Error("settings.policies.p.links.eth1.mode", "expected \"primary\" or \"spare\"")));
}

TEST(Validator, RejectsLinkNamesNoInterfaceCanHave) {
  EXPECT_THAT(
      IssuesOfPolicy(R"({"basePolicy": "balance-xor", "links": {
                  "eth0 ": {}, "enp5s0-with-a-long-name": {}, "eth1": {}}})"),
      ElementsAre(Error("settings.policies.p.links.enp5s0-with-a-long-name",
                        "\"enp5s0-with-a-long-name\" is not an interface name: Linux names have 1 "
                        "to 15 characters and no \"/\" or white space, so no link would ever "
                        "match it"),
                  Error("settings.policies.p.links.eth0 ",
                        "\"eth0 \" is not an interface name: Linux names have 1 to 15 characters "
                        "and no \"/\" or white space, so no link would ever match it")));
}

TEST(Validator, InterfaceNamesFollowTheKernelsRules) {
  EXPECT_TRUE(IsValidInterfaceName("eth0"));
  EXPECT_TRUE(IsValidInterfaceName("wlxc07a002fb470"));  // 15 characters, from the spec
  EXPECT_TRUE(IsValidInterfaceName("eth0.100"));
  EXPECT_FALSE(IsValidInterfaceName("wlxc07a002fb4701"));
  EXPECT_FALSE(IsValidInterfaceName(""));
  EXPECT_FALSE(IsValidInterfaceName("a/b"));
  EXPECT_FALSE(IsValidInterfaceName(".."));
}

TEST(Validator, PeerIdIsTenHexDigitsOfEitherCase) {
  EXPECT_TRUE(IsValidPeerId("f6203a2db3"));
  EXPECT_TRUE(IsValidPeerId("F6203A2DB3"));
  EXPECT_FALSE(IsValidPeerId("f6203a2db"));
  EXPECT_FALSE(IsValidPeerId("f6203a2db3a"));
  EXPECT_FALSE(IsValidPeerId("f6203a2dbz"));
}

}  // namespace
}  // namespace fleetbond::settings
