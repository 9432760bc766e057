// Questionable-but-legal settings: each earns a warning, and the document stays valid.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/local_conf_loader.h"
#include "tests/unit/shared/settings_test_util.h"

namespace fleetbond::settings {
namespace {

using ::fleetbond::settings::testing::IssuesOf;
using ::fleetbond::settings::testing::PolicyDoc;
using ::testing::ElementsAre;

// WarningsOfPolicy checks that the document is valid and returns its issues.
std::vector<Issue> WarningsOfPolicy(absl::string_view body) {
  LocalConfCheck check = CheckLocalConf(PolicyDoc(body));
  EXPECT_TRUE(check.valid()) << "should stay valid: " << body;
  return check.issues;
}

TEST(Warnings, WarnsAboutFailoverIntervalBelow100Ms) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "active-backup", "failoverInterval": 50})"),
              ElementsAre(Warning("settings.policies.p.failoverInterval",
                                  "50 ms is below 100 ms: every link is probed more often the "
                                  "shorter the interval, which costs bandwidth on every link; use "
                                  "100 or more unless you need failover that fast")));
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "active-backup", "failoverInterval": 100})"),
              ::testing::IsEmpty());
}

TEST(Warnings, WarnsAboutRandomStripingWithPacketsPerLinkZero) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "balance-rr", "packetsPerLink": 0})"),
              ElementsAre(Warning("settings.policies.p.packetsPerLink",
                                  "0 sends every packet on a randomly chosen link, which the spec "
                                  "calls inefficient; the default is 64")));
}

TEST(Warnings, WarnsAboutFailoverToOutsideActiveBackup) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "balance-xor", "links": {
                  "eth0": {"failoverTo": "eth1"}, "eth1": {}}})"),
              ElementsAre(Warning("settings.policies.p.links.eth0.failoverTo",
                                  "failoverTo has no effect in a balance-xor policy (only "
                                  "active-backup follows failover chains); remove it")));
}

TEST(Warnings, WarnsAboutPrimaryLinkOutsideActiveBackup) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "balance-rr", "links": {
                  "eth0": {"mode": "primary"}, "eth1": {}}})"),
              ElementsAre(Warning("settings.policies.p.links.eth0.mode",
                                  "\"primary\" has no effect in a balance-rr policy (only "
                                  "active-backup has a primary link); remove it")));
}

TEST(Warnings, WarnsWhenEveryLinkIsSpare) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "balance-xor", "links": {
                  "eth0": {"mode": "spare"}, "eth1": {"mode": "spare"}}})"),
              ElementsAre(Warning("settings.policies.p.links",
                                  "every link of policy \"p\" is a spare, so none is preferred: a "
                                  "spare is meant to wait until every other link is down; remove "
                                  "\"mode\": \"spare\" from the links that should carry traffic "
                                  "normally")));
}

TEST(Warnings, WarnsWhenAPolicyListsOnlyOneLink) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "active-backup", "links": {"eth0": {}}})"),
              ElementsAre(Warning("settings.policies.p.links",
                                  "policy \"p\" lists only one link (\"eth0\"): every other "
                                  "interface is ignored, so the bond has nothing to fail over or "
                                  "balance to")));
}

TEST(Warnings, WarnsAboutAPolicyNothingUses) {
  EXPECT_THAT(IssuesOf(R"({"settings": {"defaultBondingPolicy": "broadcast",
                  "policies": {"spare-one": {"basePolicy": "balance-xor"}}}})"),
              ElementsAre(Warning("settings.policies.spare-one",
                                  "policy \"spare-one\" is not used: neither defaultBondingPolicy "
                                  "nor any entry of peerSpecificBonds names it")));
}

// Documented non-warnings (docs/settings.md): these are ordinary choices.
TEST(Warnings, DoesNotWarnAboutDelaysLongerThanTheFailoverInterval) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "balance-xor", "failoverInterval": 2000,
                                   "upDelay": 5000, "downDelay": 3000})"),
              ::testing::IsEmpty());
}

TEST(Warnings, DoesNotWarnAboutALimitWithWeightZero) {
  EXPECT_THAT(WarningsOfPolicy(R"({"basePolicy": "balance-aware", "linkQuality": {
                  "plr_max": 0.001, "lat_weight": 1.0, "plr_weight": 0.0}})"),
              ::testing::IsEmpty());
}

TEST(Warnings, WarningsAloneKeepTheDocumentLoadable) {
  absl::StatusOr<LoadedLocalConf> loaded =
      LoadLocalConf(PolicyDoc(R"({"basePolicy": "balance-rr", "packetsPerLink": 0})"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->resolver.Find("p")->packets_per_link, 0u);
}

}  // namespace
}  // namespace fleetbond::settings
