#include "shared/settings/policy_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/defaults.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/text_table.h"

namespace fleetbond::settings {
namespace {

PolicyResolver ResolverFor(absl::string_view text) {
  absl::StatusOr<LoadedLocalConf> loaded = LoadLocalConf(text);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return std::move(loaded->resolver);
}

constexpr char kDoc[] = R"({"settings": {
    "defaultBondingPolicy": "ab",
    "peerSpecificBonds": {"f6203a2db3": "aware", "45b0301da2": "aware"},
    "policies": {
      "ab": {"basePolicy": "active-backup", "failoverInterval": 1000, "upDelay": 2000,
             "links": {"eth0": {"ipvPref": 46, "mode": "primary", "failoverTo": "eth1"},
                       "eth1": {"ipvPref": 46, "failoverTo": "wlan0"},
                       "wlan0": {"ipvPref": 4, "mode": "spare"}}},
      "aware": {"basePolicy": "balance-aware",
                "linkQuality": {"lat_max": 80, "lat_weight": 0.6, "plr_weight": 0.4},
                "links": {"eth0": {"capacity": 1000}, "eth1": {"capacity": 250}}}}}})";

TEST(PolicyTable, RendersEveryResolvedParameterAndLinkAsText) {
  EXPECT_EQ(RenderPolicyTableText(ResolverFor(kDoc)),
            "Default Policy      : ab\n"
            "Peer-Specific Bonds : 45b0301da2 -> aware\n"
            "                      f6203a2db3 -> aware\n"
            "\n"
            "Policy                 : ab\n"
            "Base                   : active-backup\n"
            "Failover Interval (ms) : 1000\n"
            "Up Delay (ms)          : 2000\n"
            "Down Delay (ms)        : 0 (default)\n"
            "Link Select Method     : always (default when links name a primary or a failoverTo)\n"
            "Links                  : 3\n"
            "\n"
            "link   ipvPref  capacity  failoverTo  mode\n"
            "---------------------------------------------\n"
            "eth0   46       -         eth1        primary\n"
            "eth1   46       -         wlan0       -\n"
            "wlan0  4        -         -           spare\n"
            "\n"
            "Policy                  : aware\n"
            "Base                    : balance-aware\n"
            "Failover Interval (ms)  : 5000 (default)\n"
            "Up Delay (ms)           : 0 (default)\n"
            "Down Delay (ms)         : 0 (default)\n"
            "Latency Max (ms)        : 80\n"
            "PDV Max (ms)            : 100 (default)\n"
            "Loss Ratio Max          : 0.01 (default)\n"
            "Error Ratio Max         : 0.01 (default)\n"
            "Weights lat/pdv/plr/per : 0.6 / 0 / 0.4 / 0 (unwritten weights share the rest)\n"
            "Links                   : 2\n"
            "\n"
            "link  ipvPref  capacity  failoverTo  mode\n"
            "-----------------------------------------\n"
            "eth0  0        1000      -           -\n"
            "eth1  0        250       -           -\n");
}

TEST(PolicyTable, SaysWhenNothingIsBonded) {
  EXPECT_EQ(RenderPolicyTableText(ResolverFor("{}")),
            "Default Policy      : none (peers without a specific bond use a single path)\n"
            "Peer-Specific Bonds : none\n");
}

TEST(PolicyTable, ShowsOnlyTheParametersOfTheBase) {
  std::string rr = RenderPolicyText(DefaultPolicy(BasePolicy::kBalanceRr));
  EXPECT_THAT(rr, ::testing::HasSubstr("Packets Per Link       : 64 (default)\n"));
  EXPECT_THAT(rr, ::testing::HasSubstr("Links                  : all interfaces\n"));
  EXPECT_THAT(rr, ::testing::Not(::testing::HasSubstr("Link Select Method")));
  EXPECT_THAT(rr, ::testing::Not(::testing::HasSubstr("Latency Max")));
}

TEST(PolicyTable, MarksEveryValueOfAStandardPolicyAsDefault) {
  EXPECT_EQ(RenderPolicyText(DefaultPolicy(BasePolicy::kActiveBackup)),
            "Policy                 : active-backup\n"
            "Base                   : active-backup\n"
            "Failover Interval (ms) : 5000 (default)\n"
            "Up Delay (ms)          : 0 (default)\n"
            "Down Delay (ms)        : 0 (default)\n"
            "Link Select Method     : optimize (default without failover guidance)\n"
            "Links                  : all interfaces\n");
}

TEST(PolicyTable, RendersJsonWithLocalConfKeyNames) {
  nlohmann::json j = PolicyTableJson(ResolverFor(kDoc));
  EXPECT_EQ(j["defaultBondingPolicy"], "ab");
  EXPECT_EQ(j["peerSpecificBonds"],
            nlohmann::json({{"45b0301da2", "aware"}, {"f6203a2db3", "aware"}}));
  ASSERT_EQ(j["policies"].size(), 2u);
  EXPECT_EQ(j["policies"][0], nlohmann::json::parse(R"({
      "name": "ab", "basePolicy": "active-backup", "failoverInterval": 1000, "upDelay": 2000,
      "downDelay": 0, "linkSelectMethod": "always",
      "links": [
        {"name": "eth0", "ipvPref": 46, "capacity": null, "failoverTo": "eth1", "mode": "primary"},
        {"name": "eth1", "ipvPref": 46, "capacity": null, "failoverTo": "wlan0", "mode": null},
        {"name": "wlan0", "ipvPref": 4, "capacity": null, "failoverTo": null, "mode": "spare"}]})"));
  EXPECT_EQ(j["policies"][1]["linkQuality"], nlohmann::json::parse(R"({
      "lat_max": 80.0, "pdv_max": 100.0, "plr_max": 0.01, "per_max": 0.01,
      "lat_weight": 0.6, "pdv_weight": 0.0, "plr_weight": 0.4, "per_weight": 0.0})"));
  EXPECT_EQ(j["policies"][1]["links"][0]["capacity"], 1000);
  EXPECT_FALSE(j["policies"][1].contains("packetsPerLink"));
}

TEST(TextTable, AlignsColumnsUnderARule) {
  TextTable t({"peer", "bond", "links"});
  t.AddRow({"2f33b459c1", "balance-xor", "18/18"});
  t.AddRow({"6af835ae71", "active-backup"});
  EXPECT_EQ(t.Render(),
            "peer        bond           links\n"
            "--------------------------------\n"
            "2f33b459c1  balance-xor    18/18\n"
            "6af835ae71  active-backup\n");
}

TEST(KeyValueList, AlignsColonsAndContinuesEmptyKeys) {
  KeyValueList kv;
  kv.Add("Peer", "77dcbe7120");
  kv.Add("Failover Interval (ms)", "500");
  kv.Add("", "more");
  EXPECT_EQ(kv.Render(),
            "Peer                   : 77dcbe7120\n"
            "Failover Interval (ms) : 500\n"
            "                         more\n");
}

}  // namespace
}  // namespace fleetbond::settings
