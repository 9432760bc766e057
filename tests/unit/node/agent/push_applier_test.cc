#include "node/agent/push_applier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "shared/settings/effective_settings.h"
#include "shared/settings/local_conf_parser.h"
#include "tests/unit/node/agent/test_fleet.h"

namespace fleetbond::agent {
namespace {

using settings::Issue;
using settings::Source;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

auto ErrorAt(const std::string& path, const std::string& text) {
  return AllOf(Field(&Issue::severity, settings::Severity::kError), Field(&Issue::path, path),
               Field(&Issue::message, HasSubstr(text)));
}
auto WarningAt(const std::string& path) {
  return AllOf(Field(&Issue::severity, settings::Severity::kWarning), Field(&Issue::path, path));
}

settings::LocalConf Local(const std::string& json) {
  settings::ParsedLocalConf parsed = settings::ParseLocalConf(json);
  EXPECT_THAT(parsed.issues, IsEmpty()) << json;
  return parsed.conf;
}

class PushApplierTest : public ::testing::Test {
 protected:
  TestFleet fleet_{3};
  NodeId self() const { return fleet_.id(0); }
};

TEST_F(PushApplierTest, FullPushIsAppliedWithItsDirectory) {
  v1::ConfigPush push = fleet_.Push(/*version=*/1, /*self=*/0);
  PushVerdict v = JudgePush(push, Local(R"({"settings": {}})"), self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kApply) << testing::PrintToString(v.errors);
  EXPECT_EQ(v.applied->directory.overlay, "10.147.0.1/24");
  ASSERT_THAT(v.applied->directory.peers, SizeIs(2));
  EXPECT_LT(v.applied->directory.peers[0].id, v.applied->directory.peers[1].id);
  EXPECT_EQ(v.applied->push.peers_mode(), v1::ConfigPush::PEERS_FULL);
  EXPECT_EQ(v.applied->settings.conf.settings.default_bonding_policy(), "fleet-ab");
  EXPECT_TRUE(v.applied->settings.resolver.ForPeer(fleet_.id(1).ToString()).has_value());
}

TEST_F(PushApplierTest, LocalLinksReplaceThePushedLinksOfTheSamePolicy) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  (*(*push.mutable_settings()->mutable_policies())["fleet-ab"].mutable_links())["eth0"].set_mode(
      v1::LINK_MODE_PRIMARY);
  settings::LocalConf local = Local(R"({"settings": {"policies": {"fleet-ab": {
      "failoverInterval": 100,
      "links": {"enp1s0": {"mode": "primary", "failoverTo": "wwan0"}, "wwan0": {"mode": "spare"}}
  }}}})");
  PushVerdict v = JudgePush(push, local, self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kApply) << testing::PrintToString(v.errors);
  const v1::Policy& merged = v.applied->settings.conf.settings.policies().at("fleet-ab");
  EXPECT_FALSE(merged.links().contains("eth0"));
  EXPECT_TRUE(merged.links().contains("enp1s0"));
  EXPECT_TRUE(merged.links().contains("wwan0"));
  // The controller's failoverInterval stays; local.conf's is ignored with a warning.
  EXPECT_EQ(merged.failover_interval(), 500u);
  EXPECT_THAT(v.applied->settings.warnings,
              Contains(WarningAt("settings.policies.fleet-ab.failoverInterval")));

  // settings show: the links are local.conf's, the rest the controller's or defaults.
  std::vector<settings::EffectiveValue> shown = settings::EffectiveSettings(
      v.applied->settings.conf.settings, v.applied->settings.resolver, v.applied->sources);
  auto source_of = [&](const std::string& path) {
    for (const auto& e : shown) {
      if (e.path == path) return e.source;
    }
    ADD_FAILURE() << "no " << path;
    return Source::kDefault;
  };
  EXPECT_EQ(source_of("settings.policies.fleet-ab.links.enp1s0.mode"), Source::kLocalConf);
  EXPECT_EQ(source_of("settings.policies.fleet-ab.failoverInterval"), Source::kController);
  EXPECT_EQ(source_of("settings.defaultBondingPolicy"), Source::kController);
  EXPECT_EQ(source_of("settings.policies.fleet-ab.upDelay"), Source::kDefault);
}

TEST_F(PushApplierTest, LocalOnlyPoliciesAreKeptAndLocalFleetKeysIgnored) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  (*push.mutable_settings()->mutable_peer_specific_bonds())[fleet_.id(1).ToString()] = "mine";
  settings::LocalConf local = Local(R"({"settings": {
      "defaultBondingPolicy": "broadcast",
      "policies": {"mine": {"basePolicy": "broadcast"}}},
    "overlay": "10.99.0.1/24", "peers": {}})");
  PushVerdict v = JudgePush(push, local, self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kApply) << testing::PrintToString(v.errors);
  EXPECT_EQ(v.applied->settings.conf.settings.default_bonding_policy(), "fleet-ab");
  EXPECT_EQ(v.applied->settings.resolver.ForPeer(fleet_.id(1).ToString())->name, "mine");
  EXPECT_EQ(v.applied->directory.overlay, "10.147.0.1/24");
  EXPECT_THAT(v.applied->settings.warnings, Contains(WarningAt("settings.defaultBondingPolicy")));
  EXPECT_THAT(v.applied->settings.warnings, Contains(WarningAt("overlay")));
  EXPECT_THAT(v.applied->settings.warnings, Contains(WarningAt("peers")));
  EXPECT_EQ(v.applied->sources.For("settings.policies.mine.basePolicy"), Source::kLocalConf);
}

TEST_F(PushApplierTest, InvalidMergedSettingsAreNackedWithEveryError) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  v1::Policy& p = (*push.mutable_settings()->mutable_policies())["fleet-ab"];
  p.set_packets_per_link(4);  // not a parameter of active-backup
  push.mutable_settings()->set_default_bonding_policy("nowhere");
  // local.conf's link names a failover link the policy does not have.
  settings::LocalConf local = Local(
      R"({"settings": {"policies": {"fleet-ab": {"links": {"eth0": {"failoverTo": "eth9"}}}}}})");
  PushVerdict v = JudgePush(push, local, self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kNack);
  EXPECT_THAT(v.errors, Contains(ErrorAt("settings.defaultBondingPolicy", "nowhere")));
  EXPECT_THAT(v.errors, Contains(ErrorAt("settings.policies.fleet-ab.packetsPerLink", "")));
  EXPECT_THAT(v.errors,
              Contains(ErrorAt("settings.policies.fleet-ab.links.eth0.failoverTo", "eth9")));
  EXPECT_FALSE(v.applied.has_value());
}

TEST_F(PushApplierTest, BadPeerEntriesAreNackedNeverApplied) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  push.mutable_peers(0)->set_public_key(fleet_.key_bytes(2));  // id is not the key's hash
  push.mutable_peers(1)->set_overlay_address("10.200.0.9");    // outside 10.147.0.0/24
  push.mutable_peers(1)->add_endpoints("10.201.0.3:9800");     // not ip/port
  PushVerdict v = JudgePush(push, Local(R"({"settings": {}})"), self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kNack);
  const std::string a = push.peers(0).id();
  const std::string b = push.peers(1).id();
  EXPECT_THAT(v.errors, Contains(ErrorAt("peers." + a + ".publicKey", "")));
  EXPECT_THAT(v.errors, Contains(ErrorAt("peers." + b + ".overlay", "outside")));
  EXPECT_THAT(v.errors, Contains(ErrorAt("peers." + b + ".endpoints[1]", "ip/port")));
}

TEST_F(PushApplierTest, MalformedKeysDuplicatesAndSelfAreErrors) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  *push.add_peers() = push.peers(0);
  push.mutable_peers(1)->set_public_key("short");
  *push.add_peers() = fleet_.Entry(0);  // this node itself
  PushVerdict v = JudgePush(push, Local(R"({"settings": {}})"), self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kNack);
  EXPECT_THAT(v.errors, Contains(ErrorAt("peers." + push.peers(0).id(), "more than once")));
  EXPECT_THAT(v.errors, Contains(ErrorAt("peers." + push.peers(1).id() + ".publicKey", "")));
  EXPECT_THAT(v.errors, Contains(ErrorAt("peers." + self().ToString(), "this node itself")));
}

TEST_F(PushApplierTest, PeersWithoutAnOverlayAddressAreAnError) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  push.clear_overlay_address();
  PushVerdict v = JudgePush(push, Local(R"({"settings": {}})"), self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kNack);
  EXPECT_THAT(v.errors, Contains(ErrorAt("overlay_address", "no overlay address")));
}

TEST_F(PushApplierTest, DeltaAddsReplacesAndRemovesAgainstTheAckedDirectory) {
  TestFleet bigger(4);
  v1::ConfigPush full = bigger.Push(1, 0);
  PushVerdict first = JudgePush(full, Local("{}"), bigger.id(0), nullptr);
  ASSERT_EQ(first.kind, PushVerdict::Kind::kApply);

  v1::ConfigPush delta = bigger.Push(2, 0);
  delta.clear_peers();
  delta.set_peers_mode(v1::ConfigPush::PEERS_DELTA);
  delta.set_base_version(1);
  delta.add_removed_peers(bigger.id(1).ToString());
  v1::PeerEntry moved = bigger.Entry(2);
  moved.clear_endpoints();
  moved.add_endpoints("10.202.0.3/9800");
  *delta.add_peers() = moved;
  PushVerdict v = JudgePush(delta, Local("{}"), bigger.id(0), &first.applied->push);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kApply) << testing::PrintToString(v.errors);
  ASSERT_THAT(v.applied->directory.peers, SizeIs(2));
  for (const daemon::StaticPeer& p : v.applied->directory.peers) {
    EXPECT_NE(p.id, bigger.id(1));
    if (p.id == bigger.id(2)) {
      EXPECT_THAT(p.endpoints, ElementsAre("10.202.0.3/9800"));
    }
  }
  // What is saved stands alone.
  EXPECT_EQ(v.applied->push.peers_mode(), v1::ConfigPush::PEERS_FULL);
  EXPECT_EQ(v.applied->push.peers_size(), 2);
  EXPECT_THAT(v.applied->push.removed_peers(), IsEmpty());
  EXPECT_EQ(v.applied->push.base_version(), 0u);
}

TEST_F(PushApplierTest, UnchangedKeepsTheAckedDirectory) {
  PushVerdict first = JudgePush(fleet_.Push(1, 0), Local("{}"), self(), nullptr);
  ASSERT_EQ(first.kind, PushVerdict::Kind::kApply);
  v1::ConfigPush unchanged = fleet_.Push(5, 0);
  unchanged.clear_peers();
  unchanged.set_peers_mode(v1::ConfigPush::PEERS_UNCHANGED);
  unchanged.set_base_version(1);
  unchanged.mutable_settings()->set_default_bonding_policy("broadcast");
  PushVerdict v = JudgePush(unchanged, Local("{}"), self(), &first.applied->push);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kApply) << testing::PrintToString(v.errors);
  EXPECT_EQ(v.applied->directory, first.applied->directory);
  EXPECT_EQ(v.applied->settings.conf.settings.default_bonding_policy(), "broadcast");
}

TEST_F(PushApplierTest, DeltaAgainstAnotherBaseIsNackedOnPeers) {
  PushVerdict first = JudgePush(fleet_.Push(3, 0), Local("{}"), self(), nullptr);
  ASSERT_EQ(first.kind, PushVerdict::Kind::kApply);
  v1::ConfigPush delta = fleet_.Push(4, 0);
  delta.set_peers_mode(v1::ConfigPush::PEERS_DELTA);
  delta.set_base_version(2);
  PushVerdict v = JudgePush(delta, Local("{}"), self(), &first.applied->push);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kNack);
  EXPECT_THAT(v.errors, ElementsAre(ErrorAt("peers", "relative to version 2")));
  EXPECT_THAT(v.errors[0].message, HasSubstr("runs on version 3"));

  // A node with no push at all cannot take a delta against one either.
  PushVerdict none = JudgePush(delta, Local("{}"), self(), nullptr);
  ASSERT_EQ(none.kind, PushVerdict::Kind::kNack);
  EXPECT_THAT(none.errors, ElementsAre(ErrorAt("peers", "no push")));
}

TEST_F(PushApplierTest, StaleVersionsAreIgnoredAndTheAckedOneReAcked) {
  PushVerdict first = JudgePush(fleet_.Push(7, 0), Local("{}"), self(), nullptr);
  ASSERT_EQ(first.kind, PushVerdict::Kind::kApply);
  const v1::ConfigPush& acked = first.applied->push;

  PushVerdict older = JudgePush(fleet_.Push(6, 0), Local("{}"), self(), &acked);
  EXPECT_EQ(older.kind, PushVerdict::Kind::kIgnore);
  EXPECT_THAT(older.reason, HasSubstr("older"));

  PushVerdict again = JudgePush(fleet_.Push(7, 0), Local("{}"), self(), &acked);
  EXPECT_EQ(again.kind, PushVerdict::Kind::kReAck) << again.reason;

  v1::ConfigPush changed = fleet_.Push(7, 0);
  changed.set_metrics_interval_ms(1);
  PushVerdict different = JudgePush(changed, Local("{}"), self(), &acked);
  EXPECT_EQ(different.kind, PushVerdict::Kind::kIgnore);
  EXPECT_THAT(different.reason, HasSubstr("differs"));
}

TEST_F(PushApplierTest, VersionZeroIsNacked) {
  PushVerdict v = JudgePush(fleet_.Push(0, 0), Local("{}"), self(), nullptr);
  ASSERT_EQ(v.kind, PushVerdict::Kind::kNack);
  EXPECT_THAT(v.errors, ElementsAre(ErrorAt("version", "0")));
}

TEST_F(PushApplierTest, MergeWithoutLocalSettingsIsThePushItself) {
  v1::ConfigPush push = fleet_.Push(1, 0);
  MergedSettings m = MergeSettings(push.settings(), v1::Settings());
  EXPECT_EQ(m.settings.SerializeAsString(), push.settings().SerializeAsString());
  EXPECT_THAT(m.ignored, IsEmpty());
  EXPECT_THAT(m.sources.prefixes, IsEmpty());
  EXPECT_EQ(m.sources.For("settings.policies.fleet-ab.links.eth0.mode"), Source::kController);
}

TEST(SourceMapTest, LongestPrefixWins) {
  settings::SourceMap m{.fallback = Source::kController,
                        .prefixes = {{"settings.policies.a.links.", Source::kLocalConf},
                                     {"settings.policies.a.", Source::kDefault}}};
  EXPECT_EQ(m.For("settings.policies.a.links.eth0.mode"), Source::kLocalConf);
  EXPECT_EQ(m.For("settings.policies.a.upDelay"), Source::kDefault);
  EXPECT_EQ(m.For("settings.policies.ab.upDelay"), Source::kController);
  EXPECT_NE(m.For("settings.policies.ab.upDelay"), Source::kLocalConf);
}

}  // namespace
}  // namespace fleetbond::agent
