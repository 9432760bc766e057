// Every example configuration of the spec (testdata/spec/, verbatim): it parses to exactly the
// policies it describes, or is rejected or warned about with a message that says how to fix it.
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/defaults.h"
#include "shared/settings/local_conf_loader.h"
#include "tests/unit/shared/settings_test_util.h"

namespace fleetbond::settings {
namespace {

using ::fleetbond::settings::testing::ReadSourceFile;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

std::string Example(absl::string_view name) {
  return ReadSourceFile(absl::StrCat("tests/unit/shared/testdata/spec/", name, ".conf"));
}

// Loads a valid example and checks it has no issues at all.
PolicyResolver Valid(absl::string_view text) {
  LocalConfCheck check = CheckLocalConf(text);
  EXPECT_THAT(check.issues, IsEmpty());
  EXPECT_TRUE(check.valid());
  if (!check.valid()) return *PolicyResolver::Create(v1::Settings());
  return *std::move(check.resolver);
}

void ExpectStandardDefault(absl::string_view file, BasePolicy base) {
  SCOPED_TRACE(file);
  PolicyResolver r = Valid(Example(file));
  EXPECT_EQ(r.default_policy(), std::string(BasePolicyName(base)));
  EXPECT_THAT(r.peer_specific_bonds(), IsEmpty());
  std::optional<ResolvedPolicy> p = r.ForPeer("f6203a2db3");
  ASSERT_TRUE(p.has_value());
  ResolvedPolicy want = DefaultPolicy(base);
  EXPECT_EQ(p->name, want.name);
  EXPECT_EQ(p->base, base);
  EXPECT_EQ(p->failover_interval, want.failover_interval);
  EXPECT_EQ(p->link_select_method, LinkSelectMethod::kOptimize);
  EXPECT_EQ(p->packets_per_link, want.packets_per_link);
  EXPECT_TRUE(p->links.empty());
}

TEST(SpecExamples, StandardPolicyOneLinersUseTheDefaults) {
  ExpectStandardDefault("01_intro_active_backup", BasePolicy::kActiveBackup);
  ExpectStandardDefault("08_active_backup", BasePolicy::kActiveBackup);
  ExpectStandardDefault("10_broadcast", BasePolicy::kBroadcast);
  ExpectStandardDefault("11_balance_rr", BasePolicy::kBalanceRr);
  ExpectStandardDefault("12_balance_xor", BasePolicy::kBalanceXor);
  ExpectStandardDefault("13_balance_aware", BasePolicy::kBalanceAware);
}

TEST(SpecExamples, RapidActiveBackupFailsOverAfterOneSecond) {
  PolicyResolver r = Valid(Example("02_custom_rapid_active_backup"));
  EXPECT_EQ(r.default_policy(), "rapid-active-backup");
  ASSERT_EQ(r.policies().size(), 1u);
  const ResolvedPolicy& p = r.policies()[0];
  EXPECT_EQ(p.name, "rapid-active-backup");
  EXPECT_EQ(p.base, BasePolicy::kActiveBackup);
  EXPECT_EQ(p.failover_interval, absl::Seconds(1));
  EXPECT_EQ(p.up_delay, absl::ZeroDuration());
  EXPECT_EQ(p.down_delay, absl::ZeroDuration());
  EXPECT_EQ(p.link_select_method, LinkSelectMethod::kOptimize);
  EXPECT_TRUE(p.links.empty());
}

TEST(SpecExamples, PolicyParameterListIsRejectedWithHowToFixIt) {
  std::string text = Example("03_policy_parameters_not_valid_json");
  EXPECT_THAT(CheckLocalConf(text).issues,
              ElementsAre(Error("",
                                "line 11, column 19: not valid JSON: syntax error while parsing "
                                "object - unexpected number literal; expected '}' (write one "
                                "number where the spec shows a range such as 0-65535; remove the "
                                "comma after the last entry (JSON does not allow it))")));
  // Doing what the message says makes it valid.
  std::string fixed = absl::StrReplaceAll(text, {{"0-65535", "0"}});
  fixed = absl::StrReplaceAll(fixed, {{"\"downDelay\":0,", "\"downDelay\":0"}});
  PolicyResolver r = Valid(fixed);
  EXPECT_EQ(r.Find("rapid-active-backup")->failover_interval, absl::Seconds(1));
}

TEST(SpecExamples, PhysicalInterfacesFormAFailoverChain) {
  PolicyResolver r = Valid(Example("04_physical_interfaces"));
  const ResolvedPolicy* p = r.Find("rapid-active-backup");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base, BasePolicy::kActiveBackup);
  EXPECT_EQ(p->failover_interval, absl::Seconds(1));
  // Links are explicitly specified (a failover chain), so the spec's default is "always".
  EXPECT_EQ(p->link_select_method, LinkSelectMethod::kAlways);
  ASSERT_EQ(p->links.size(), 3u);
  EXPECT_EQ(p->links[0].name, "eth0");
  EXPECT_EQ(p->links[0].ipv_pref, IpvPref::kPrefer4);
  EXPECT_EQ(p->links[0].failover_to, "eth1");
  EXPECT_EQ(p->links[1].name, "eth1");
  EXPECT_EQ(p->links[1].ipv_pref, IpvPref::kPrefer4);
  EXPECT_EQ(p->links[1].failover_to, "eth2");
  EXPECT_EQ(p->links[2].name, "eth2");
  EXPECT_EQ(p->links[2].ipv_pref, IpvPref::kOnly6);
  EXPECT_EQ(p->links[2].failover_to, "");
  for (const LinkPolicy& l : p->links) {
    EXPECT_EQ(l.mode, LinkMode::kNone);
    EXPECT_EQ(l.capacity, std::nullopt);
  }
  EXPECT_FALSE(p->UsesInterface("wlan0"));  // "ZeroTier will use only those links"
}

TEST(SpecExamples, LinkParameterListIsRejectedWithHowToFixIt) {
  EXPECT_THAT(
      CheckLocalConf(Example("05_link_settings_not_valid_json")).issues,
      ElementsAre(Error(
          "",
          "line 1, column 1: not valid JSON: syntax error while parsing value - invalid literal; "
          "last read: '.' (local.conf must be one JSON object: wrap what you have as "
          "{ \"settings\": { \"policies\": { \"NAME\": { ... } } } }; remove \"...\" (the spec's "
          "placeholder for text it left out) or write the entries; remove the comments (JSON has "
          "none); write one number where the spec shows a range such as 0-65535; write one value "
          "where the spec lists alternatives such as \"primary\"|\"spare\")")));
}

TEST(SpecExamples, XorWithASpareMakesEveryLinkSpareAndIsWarnedAbout) {
  LocalConfCheck check = CheckLocalConf(Example("06_spare_links"));
  // The title says eth0 and eth1 carry traffic and only expensive_lte0 waits, but the example
  // marks all three as spare: legal, and almost certainly not what was meant.
  EXPECT_THAT(check.issues,
              ElementsAre(Warning("settings.policies.xor-with-a-spare.links",
                                  "every link of policy \"xor-with-a-spare\" is a spare, so none "
                                  "is preferred: a spare is meant to wait until every other link "
                                  "is down; remove \"mode\": \"spare\" from the links that should "
                                  "carry traffic normally")));
  ASSERT_TRUE(check.valid());
  const ResolvedPolicy* p = check.resolver->Find("xor-with-a-spare");
  EXPECT_EQ(p->base, BasePolicy::kBalanceXor);
  EXPECT_THAT(p->links,
              ElementsAre(Field(&LinkPolicy::name, "eth0"), Field(&LinkPolicy::name, "eth1"),
                          Field(&LinkPolicy::name, "expensive_lte0")));
  for (const LinkPolicy& l : p->links) EXPECT_EQ(l.mode, LinkMode::kSpare);

  // The fix the warning describes: only expensive_lte0 stays spare.
  std::string fixed = Example("06_spare_links");
  for (const char* link : {"\"eth0\":", "\"eth1\":"}) {
    size_t at = fixed.find(link);
    size_t spare = fixed.find("\"mode\": \"spare\"", at);
    fixed.replace(spare, std::string("\"mode\": \"spare\"").size(), "");
  }
  EXPECT_THAT(CheckLocalConf(fixed).issues, IsEmpty());
}

TEST(SpecExamples, PeerSpecificBondsPickACustomXorForThreePeers) {
  PolicyResolver r = Valid(Example("07_peer_specific_bonds"));
  for (const char* peer : {"f6203a2db3", "45b0301da2", "a92cb526fa"}) {
    std::optional<ResolvedPolicy> p = r.ForPeer(peer);
    ASSERT_TRUE(p.has_value()) << peer;
    EXPECT_EQ(p->name, "my-custom-balance-xor");
    EXPECT_EQ(p->base, BasePolicy::kBalanceXor);
    EXPECT_EQ(p->failover_interval, absl::Seconds(2));
    EXPECT_EQ(p->up_delay, absl::Seconds(5));
    EXPECT_EQ(p->down_delay, absl::ZeroDuration());
  }
  std::optional<ResolvedPolicy> other = r.ForPeer("77dcbe7120");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->name, "active-backup");
  EXPECT_EQ(other->failover_interval, absl::Milliseconds(defaults::kFailoverIntervalMs));
}

TEST(SpecExamples, CustomActiveBackupUnderSettingsIsRejectedWithHowToFixIt) {
  std::string text = Example("09_active_backup_custom");
  EXPECT_THAT(
      CheckLocalConf(text).issues,
      ElementsAre(Error("settings.custom-active-backup",
                        "a policy must be defined inside settings.policies, not directly under "
                        "settings: move it to settings.policies.custom-active-backup and add "
                        "\"basePolicy\": \"active-backup\" (it sets linkSelectMethod, which only "
                        "active-backup takes)"),
                  Error("settings.defaultBondingPolicy",
                        "policy \"custom-active-backup\" is not defined under settings.policies "
                        "(it is written directly under settings; move it into "
                        "settings.policies)")));
  // Doing what the messages say makes it valid, and it means what the spec describes.
  std::string fixed = absl::StrReplaceAll(
      text,
      {{"\"custom-active-backup\":\n    {",
        "\"policies\": { \"custom-active-backup\":\n    { \"basePolicy\": \"active-backup\","},
       {"\n  }\n}", "\n  }}\n}"}});
  PolicyResolver r = Valid(fixed);
  const ResolvedPolicy* p = r.Find("custom-active-backup");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->link_select_method, LinkSelectMethod::kAlways);
  EXPECT_EQ(p->failover_interval, absl::Seconds(5));
  ASSERT_EQ(p->links.size(), 4u);
  EXPECT_EQ(p->links[0].name, "eth0");
  EXPECT_EQ(p->links[0].mode, LinkMode::kPrimary);
  EXPECT_EQ(p->links[0].failover_to, "eth1");
  for (int i = 1; i < 4; ++i) EXPECT_EQ(p->links[i].mode, LinkMode::kSpare);
}

TEST(SpecExamples, BalanceAwareWithLinkQualityAndCapacities) {
  PolicyResolver r = Valid(Example("14_balance_aware_link_quality"));
  const ResolvedPolicy* p = r.Find("custom-balance-aware");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base, BasePolicy::kBalanceAware);
  EXPECT_EQ(p->failover_interval, absl::Seconds(5));
  EXPECT_DOUBLE_EQ(p->link_quality.lat_max_ms, 400);
  EXPECT_DOUBLE_EQ(p->link_quality.pdv_max_ms, 20);
  EXPECT_DOUBLE_EQ(p->link_quality.plr_max, 0.0001);
  EXPECT_DOUBLE_EQ(p->link_quality.per_max, 0.0001);
  EXPECT_DOUBLE_EQ(p->link_quality.lat_weight, 0.5);
  EXPECT_DOUBLE_EQ(p->link_quality.pdv_weight, 0.5);
  EXPECT_DOUBLE_EQ(p->link_quality.plr_weight, 0);
  EXPECT_DOUBLE_EQ(p->link_quality.per_weight, 0);
  ASSERT_EQ(p->links.size(), 2u);
  EXPECT_EQ(p->links[0].name, "eth0");
  EXPECT_EQ(p->links[0].capacity, 1000u);
  EXPECT_EQ(p->links[1].name, "wlan0");
  EXPECT_EQ(p->links[1].capacity, 250u);
}

constexpr char kFragmentHint[] =
    " (local.conf must be one JSON object: wrap what you have as { \"settings\": { "
    "\"policies\": { \"NAME\": { ... } } } })";

// Fragment wraps a spec fragment ("linkQuality": {...} or "links": {...}) the way the
// message says.
std::string Wrapped(const std::string& fragment) {
  return absl::StrCat(
      R"({"settings": {"defaultBondingPolicy": "p", "policies": {"p": {"basePolicy": "balance-aware", )",
      fragment, "}}}}");
}

TEST(SpecExamples, LinkQualityFragmentIsNotAConfigByItself) {
  std::string text = Example("15_link_quality_fragment");
  EXPECT_THAT(CheckLocalConf(text).issues,
              ElementsAre(Error("", absl::StrCat("line 1, column 14: not valid JSON: syntax error "
                                                 "while parsing value - unexpected ':'; expected "
                                                 "end of input",
                                                 kFragmentHint))));
  PolicyResolver r = Valid(Wrapped(text));
  EXPECT_DOUBLE_EQ(r.Find("p")->link_quality.lat_max_ms, 80);
  EXPECT_DOUBLE_EQ(r.Find("p")->link_quality.pdv_weight, 0.5);
}

TEST(SpecExamples, CapacityFragmentIsNotAConfigByItself) {
  std::string text = Example("16_capacity_fragment");
  EXPECT_THAT(CheckLocalConf(text).issues,
              ElementsAre(Error("", absl::StrCat("line 1, column 8: not valid JSON: syntax error "
                                                 "while parsing value - unexpected ':'; expected "
                                                 "end of input",
                                                 kFragmentHint))));
  PolicyResolver r = Valid(Wrapped(text));
  EXPECT_THAT(r.Find("p")->links,
              ElementsAre(Field(&LinkPolicy::capacity, 1000u), Field(&LinkPolicy::capacity, 250u)));
}

TEST(SpecExamples, RelativeCapacitiesAreKeptAsWritten) {
  PolicyResolver r = Valid(Example("17_capacity_relative"));
  const ResolvedPolicy* p = r.Find("custom-balance-aware");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base, BasePolicy::kBalanceAware);
  EXPECT_THAT(p->links,
              ElementsAre(Field(&LinkPolicy::capacity, 10000u), Field(&LinkPolicy::capacity, 1000u),
                          Field(&LinkPolicy::capacity, 100u)));
}

TEST(SpecExamples, DeployedExampleIsValidWithoutWarnings) {
  EXPECT_THAT(CheckLocalConf(ReadSourceFile("deploy/examples/local.conf")).issues, IsEmpty());
}

}  // namespace
}  // namespace fleetbond::settings
