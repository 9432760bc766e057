#include "shared/settings/policy_resolver.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/defaults.h"
#include "shared/settings/local_conf_parser.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::settings {
namespace {

using ::fleetbond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Optional;

PolicyResolver ResolverFor(absl::string_view text) {
  ParsedLocalConf parsed = ParseLocalConf(text);
  EXPECT_THAT(parsed.issues, ::testing::IsEmpty());
  absl::StatusOr<PolicyResolver> r = PolicyResolver::Create(parsed.conf.settings);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

LinkSelectMethod MethodOf(absl::string_view policy_body) {
  PolicyResolver r = ResolverFor(absl::StrCat(
      R"({"settings": {"defaultBondingPolicy": "p", "policies": {"p": )", policy_body, "}}}"));
  return r.Find("p")->link_select_method;
}

constexpr char kFleet[] = R"({"settings": {
    "defaultBondingPolicy": "fast-ab",
    "policies": {"fast-ab": {"basePolicy": "active-backup", "failoverInterval": 1000},
                 "stripes": {"basePolicy": "balance-rr", "packetsPerLink": 8}},
    "peerSpecificBonds": {"f6203a2db3": "stripes", "45b0301da2": "balance-xor"}}})";

TEST(Resolver, PeerSpecificBondWins) {
  PolicyResolver r = ResolverFor(kFleet);
  EXPECT_THAT(r.ForPeer("f6203a2db3"), Optional(Field(&ResolvedPolicy::name, "stripes")));
  EXPECT_THAT(r.ForPeer("45b0301da2"), Optional(Field(&ResolvedPolicy::name, "balance-xor")));
}

TEST(Resolver, PeerIdsIgnoreCase) {
  PolicyResolver r = ResolverFor(kFleet);
  EXPECT_THAT(r.ForPeer("F6203A2DB3"), Optional(Field(&ResolvedPolicy::name, "stripes")));
}

TEST(Resolver, OtherPeersGetTheDefaultPolicy) {
  PolicyResolver r = ResolverFor(kFleet);
  EXPECT_THAT(r.ForPeer("a92cb526fa"), Optional(Field(&ResolvedPolicy::name, "fast-ab")));
}

TEST(Resolver, NoDefaultPolicyMeansNoBonding) {
  PolicyResolver r =
      ResolverFor(R"({"settings": {"peerSpecificBonds": {"f6203a2db3": "broadcast"}}})");
  EXPECT_EQ(r.ForPeer("a92cb526fa"), std::nullopt);
  EXPECT_THAT(r.ForPeer("f6203a2db3"),
              Optional(Field(&ResolvedPolicy::base, BasePolicy::kBroadcast)));
  EXPECT_EQ(ResolverFor("{}").ForPeer("f6203a2db3"), std::nullopt);
}

TEST(Resolver, StandardPolicyNeedsNoDefinition) {
  PolicyResolver r = ResolverFor(R"({"settings": {"defaultBondingPolicy": "balance-aware"}})");
  std::optional<ResolvedPolicy> p = r.ForPeer("a92cb526fa");
  ASSERT_TRUE(p.has_value());
  ResolvedPolicy want = DefaultPolicy(BasePolicy::kBalanceAware);
  EXPECT_EQ(p->name, "balance-aware");
  EXPECT_EQ(p->failover_interval, want.failover_interval);
  EXPECT_EQ(p->link_quality.lat_max_ms, want.link_quality.lat_max_ms);
  EXPECT_TRUE(p->links.empty());
  // Unreferenced standard policies resolve too.
  ASSERT_NE(r.Find("balance-rr"), nullptr);
  EXPECT_EQ(r.Find("balance-rr")->packets_per_link, defaults::kPacketsPerLink);
  EXPECT_EQ(r.Find("nope"), nullptr);
}

TEST(Resolver, CustomPolicyIsBaseDefaultsPlusOverrides) {
  PolicyResolver r = ResolverFor(kFleet);
  const ResolvedPolicy* p = r.Find("fast-ab");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base, BasePolicy::kActiveBackup);
  EXPECT_EQ(p->failover_interval, absl::Milliseconds(1000));
  EXPECT_EQ(p->up_delay, absl::Milliseconds(defaults::kUpDelayMs));
  EXPECT_EQ(p->down_delay, absl::Milliseconds(defaults::kDownDelayMs));
  EXPECT_EQ(p->link_select_method, LinkSelectMethod::kOptimize);
  const ResolvedPolicy* s = r.Find("stripes");
  EXPECT_EQ(s->packets_per_link, 8u);
  EXPECT_EQ(s->failover_interval, absl::Milliseconds(defaults::kFailoverIntervalMs));
}

TEST(Resolver, ListsCustomAndReferencedStandardPoliciesByName) {
  PolicyResolver r = ResolverFor(kFleet);
  EXPECT_THAT(r.policies(), ElementsAre(Field(&ResolvedPolicy::name, "balance-xor"),
                                        Field(&ResolvedPolicy::name, "fast-ab"),
                                        Field(&ResolvedPolicy::name, "stripes")));
  EXPECT_EQ(r.default_policy(), "fast-ab");
  EXPECT_EQ(r.peer_specific_bonds().at("f6203a2db3"), "stripes");
}

TEST(Resolver, SortsLinksByNameWithTheirSettings) {
  PolicyResolver r = ResolverFor(R"({"settings": {"defaultBondingPolicy": "p", "policies": {"p": {
      "basePolicy": "active-backup", "links": {
        "wlan0": {"ipvPref": 4, "mode": "spare"},
        "eth1": {"capacity": 0, "failoverTo": "wlan0"},
        "eth0": {"ipvPref": 64, "capacity": 100, "failoverTo": "eth1", "mode": "primary"}}}}}})");
  const std::vector<LinkPolicy>& links = r.Find("p")->links;
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].name, "eth0");
  EXPECT_EQ(links[0].ipv_pref, IpvPref::kPrefer6);
  EXPECT_EQ(links[0].capacity, 100u);
  EXPECT_EQ(links[0].failover_to, "eth1");
  EXPECT_EQ(links[0].mode, LinkMode::kPrimary);
  EXPECT_EQ(links[1].name, "eth1");
  EXPECT_EQ(links[1].ipv_pref, IpvPref::kAny);
  EXPECT_EQ(links[1].capacity, 0u);  // written as 0: present
  EXPECT_EQ(links[1].mode, LinkMode::kNone);
  EXPECT_EQ(links[2].name, "wlan0");
  EXPECT_EQ(links[2].ipv_pref, IpvPref::kOnly4);
  EXPECT_EQ(links[2].capacity, std::nullopt);  // not written: no hint
  EXPECT_EQ(links[2].failover_to, "");
  EXPECT_EQ(links[2].mode, LinkMode::kSpare);
}

TEST(Resolver, LinkSelectMethodIsOptimizeWithoutFailoverGuidance) {
  EXPECT_EQ(MethodOf(R"({"basePolicy": "active-backup"})"), LinkSelectMethod::kOptimize);
  EXPECT_EQ(MethodOf(R"({"basePolicy": "active-backup", "links": {
                         "eth0": {"ipvPref": 4, "capacity": 5}, "eth1": {"mode": "spare"}}})"),
            LinkSelectMethod::kOptimize);
}

TEST(Resolver, LinkSelectMethodIsAlwaysWhenAPrimaryIsDesignated) {
  EXPECT_EQ(MethodOf(R"({"basePolicy": "active-backup", "links": {
                         "eth0": {"mode": "primary"}, "eth1": {}}})"),
            LinkSelectMethod::kAlways);
}

TEST(Resolver, LinkSelectMethodIsAlwaysWhenAFailoverChainIsGiven) {
  EXPECT_EQ(MethodOf(R"({"basePolicy": "active-backup", "links": {
                         "eth0": {"failoverTo": "eth1"}, "eth1": {}}})"),
            LinkSelectMethod::kAlways);
}

TEST(Resolver, ExplicitLinkSelectMethodWins) {
  EXPECT_EQ(MethodOf(R"({"basePolicy": "active-backup", "linkSelectMethod": "failure",
                         "links": {"eth0": {"mode": "primary"}, "eth1": {}}})"),
            LinkSelectMethod::kFailure);
  EXPECT_EQ(MethodOf(R"({"basePolicy": "active-backup", "linkSelectMethod": "better"})"),
            LinkSelectMethod::kBetter);
}

TEST(Resolver, MissingWeightsShareTheRemainderEqually) {
  PolicyResolver r = ResolverFor(R"({"settings": {"defaultBondingPolicy": "p", "policies": {"p": {
      "basePolicy": "balance-aware", "linkQuality": {"lat_max": 80, "lat_weight": 0.4}}}}})");
  const LinkQualitySpec& q = r.Find("p")->link_quality;
  EXPECT_DOUBLE_EQ(q.lat_max_ms, 80);
  EXPECT_DOUBLE_EQ(q.pdv_max_ms, defaults::kPdvMaxMs);
  EXPECT_DOUBLE_EQ(q.plr_max, defaults::kPlrMax);
  EXPECT_DOUBLE_EQ(q.per_max, defaults::kPerMax);
  EXPECT_DOUBLE_EQ(q.lat_weight, 0.4);
  EXPECT_DOUBLE_EQ(q.pdv_weight, 0.2);
  EXPECT_DOUBLE_EQ(q.plr_weight, 0.2);
  EXPECT_DOUBLE_EQ(q.per_weight, 0.2);
}

TEST(Resolver, NoWeightsGivenKeepsEqualDefaultWeights) {
  PolicyResolver r = ResolverFor(R"({"settings": {"defaultBondingPolicy": "p", "policies": {"p": {
      "basePolicy": "balance-aware", "linkQuality": {"lat_max": 80}}}}})");
  const LinkQualitySpec& q = r.Find("p")->link_quality;
  EXPECT_DOUBLE_EQ(q.lat_weight + q.pdv_weight + q.plr_weight + q.per_weight, 1.0);
  EXPECT_DOUBLE_EQ(q.lat_weight, 0.25);
}

TEST(Resolver, RefusesInvalidSettings) {
  ParsedLocalConf parsed = ParseLocalConf(R"({"settings": {"defaultBondingPolicy": "nope"}})");
  EXPECT_THAT(PolicyResolver::Create(parsed.conf.settings),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("settings.defaultBondingPolicy: policy \"nope\" is not defined")));
}

TEST(Resolver, ResolvePolicyReportsUnknownNames) {
  EXPECT_THAT(ResolvePolicy(v1::Settings(), "nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"nope\"")));
}

TEST(Defaults, EveryStandardPolicyStartsFromTheDocumentedDefaults) {
  for (BasePolicy base : kStandardPolicies) {
    ResolvedPolicy p = DefaultPolicy(base);
    EXPECT_EQ(p.name, BasePolicyName(base));
    EXPECT_EQ(p.failover_interval, absl::Milliseconds(5000));
    EXPECT_EQ(p.up_delay, absl::ZeroDuration());
    EXPECT_EQ(p.down_delay, absl::ZeroDuration());
    EXPECT_EQ(p.link_select_method, LinkSelectMethod::kOptimize);
    EXPECT_EQ(p.packets_per_link, 64u);
    EXPECT_DOUBLE_EQ(p.link_quality.lat_max_ms, 500);
    EXPECT_DOUBLE_EQ(p.link_quality.pdv_max_ms, 100);
    EXPECT_DOUBLE_EQ(p.link_quality.plr_max, 0.01);
    EXPECT_DOUBLE_EQ(p.link_quality.per_max, 0.01);
    EXPECT_DOUBLE_EQ(p.link_quality.lat_weight, 0.25);
    EXPECT_TRUE(p.links.empty());
  }
}

}  // namespace
}  // namespace fleetbond::settings
