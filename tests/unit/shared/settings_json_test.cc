#include "shared/settings/settings_json.h"

#include <gtest/gtest.h>

#include "google/protobuf/util/message_differencer.h"
#include "shared/settings/local_conf_parser.h"

namespace fleetbond::settings {
namespace {

TEST(SettingsJson, WritesLocalConfSpellingsAndParsesBackToTheSameSettings) {
  const char* text = R"({"settings": {"defaultBondingPolicy": "aware",
      "policies": {"aware": {"basePolicy": "balance-aware", "failoverInterval": 2000,
                             "linkQuality": {"lat_max": 80.5, "lat_weight": 1.0},
                             "links": {"eth0": {"capacity": 250, "ipvPref": 46},
                                       "eth1": {"mode": "spare"}}}},
      "peerSpecificBonds": {"f6203a2db3": "aware"}}})";
  ParsedLocalConf parsed = ParseLocalConf(text);
  ASSERT_TRUE(parsed.issues.empty());
  nlohmann::json j = SettingsToJson(parsed.conf.settings);
  EXPECT_EQ(j["policies"]["aware"]["basePolicy"], "balance-aware");
  EXPECT_EQ(j["policies"]["aware"]["links"]["eth1"]["mode"], "spare");
  EXPECT_FALSE(j["policies"]["aware"].contains("upDelay")) << "only what was written";

  ParsedLocalConf again = ParseLocalConf(nlohmann::json{{"settings", j}}.dump());
  ASSERT_TRUE(again.issues.empty());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed.conf.settings,
                                                                 again.conf.settings));
}

}  // namespace
}  // namespace fleetbond::settings
