#include "shared/settings/effective_settings.h"

#include <gtest/gtest.h>

#include <map>

#include "shared/settings/local_conf_loader.h"

namespace fleetbond::settings {
namespace {

std::map<std::string, EffectiveValue> ByPath(absl::string_view text, Source source) {
  absl::StatusOr<LoadedLocalConf> conf = LoadLocalConf(text);
  EXPECT_TRUE(conf.ok()) << conf.status();
  std::map<std::string, EffectiveValue> out;
  for (EffectiveValue& v : EffectiveSettings(conf->conf.settings, conf->resolver, source)) {
    out[v.path] = v;
  }
  return out;
}

TEST(EffectiveSettings, WrittenValuesCarryTheirSourceTheRestAreDefaults) {
  auto v = ByPath(R"({"settings": {"defaultBondingPolicy": "fast",
      "policies": {"fast": {"basePolicy": "active-backup", "failoverInterval": 1000,
                            "links": {"eth0": {"mode": "primary"}}}}}})",
                  Source::kLocalConf);
  EXPECT_EQ(v["settings.defaultBondingPolicy"].value, "\"fast\"");
  EXPECT_EQ(v["settings.defaultBondingPolicy"].source, Source::kLocalConf);
  EXPECT_EQ(v["settings.policies.fast.failoverInterval"].value, "1000");
  EXPECT_EQ(v["settings.policies.fast.failoverInterval"].source, Source::kLocalConf);
  EXPECT_EQ(v["settings.policies.fast.upDelay"].source, Source::kDefault);
  // A primary link is failover guidance: linkSelectMethod defaults to "always".
  EXPECT_EQ(v["settings.policies.fast.linkSelectMethod"].value, "\"always\"");
  EXPECT_EQ(v["settings.policies.fast.linkSelectMethod"].source, Source::kDefault);
  EXPECT_EQ(v["settings.policies.fast.links.eth0.mode"].value, "\"primary\"");
  EXPECT_EQ(v["settings.policies.fast.links.eth0.mode"].source, Source::kLocalConf);
  EXPECT_EQ(v["settings.policies.fast.links.eth0.capacity"].value, "null");
  EXPECT_EQ(v["settings.policies.fast.links.eth0.capacity"].source, Source::kDefault);
}

TEST(EffectiveSettings, AReferencedStandardPolicyIsAllDefaults) {
  auto v = ByPath(R"({"settings": {"defaultBondingPolicy": "balance-rr"}})", Source::kController);
  EXPECT_EQ(v["settings.defaultBondingPolicy"].source, Source::kController);
  EXPECT_EQ(v["settings.policies.balance-rr.packetsPerLink"].value, "64");
  EXPECT_EQ(v["settings.policies.balance-rr.packetsPerLink"].source, Source::kDefault);
  EXPECT_EQ(v.count("settings.policies.balance-rr.linkSelectMethod"), 0u);
}

}  // namespace
}  // namespace fleetbond::settings
