#include "node/api/node_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "shared/identity/identity.h"
#include "tests/unit/node/api/fake_backend.h"

namespace fleetbond::api {
namespace {

using ::testing::HasSubstr;

bond::BondSnapshot Bond(std::string peer, BasePolicy base) {
  bond::BondSnapshot s;
  s.peer = std::move(peer);
  s.policy_name = std::string(BasePolicyName(base));
  s.base = base;
  s.usable_links = 2;
  s.total_links = 2;
  bond::PathSnapshot a;
  a.id = 0;
  a.spec = {.link = "eth0", .local = "10.201.0.1", .remote = "10.201.0.2/9800"};
  bond::PathSnapshot b = a;
  b.id = 1;
  b.spec = {.link = "eth1", .local = "10.201.1.1", .remote = "10.201.1.2/9800"};
  s.paths = {a, b};
  return s;
}

class NodeServiceTest : public ::testing::Test {
 protected:
  NodeServiceTest() {
    backend_.bonds = {Bond("77dcbe7120", BasePolicy::kActiveBackup),
                      Bond("2f33b459c1", BasePolicy::kBalanceXor)};
    backend_.conf.settings.set_default_bonding_policy("active-backup");
  }

  FakeBackend backend_;
  NodeServiceImpl service_{
      backend_, NodeFacts{.id = "1111111111", .port = 9800}, settings::Source::kLocalConf, {}};
  grpc::ServerContext context_;
};

TEST_F(NodeServiceTest, GetBondOfAnUnknownPeerIsNotFound) {
  v1::GetBondRequest request;
  request.set_peer("0000000000");
  v1::Bond response;
  grpc::Status s = service_.GetBond(&context_, &request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("0000000000"));
}

TEST_F(NodeServiceTest, RotateRefusedKeepsTheEnginesReason) {
  backend_.rotation =
      absl::FailedPreconditionError("bond to 2f33b459c1 runs balance-xor, not active-backup");
  v1::RotateBondRequest request;
  request.set_peer("2f33b459c1");
  v1::RotateBondResponse response;
  grpc::Status s = service_.RotateBond(&context_, &request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("not active-backup"));
}

TEST_F(NodeServiceTest, RotateNamesBothPathsByLinkAndEndpoint) {
  backend_.rotation = bond::Rotation{.from = 0, .to = 1};
  v1::RotateBondRequest request;
  request.set_peer("77dcbe7120");
  v1::RotateBondResponse response;
  ASSERT_TRUE(service_.RotateBond(&context_, &request, &response).ok());
  EXPECT_EQ(response.from(), "eth0/10.201.0.2/9800");
  EXPECT_EQ(response.to(), "eth1/10.201.1.2/9800");
}

TEST_F(NodeServiceTest, InvalidSettingsListEveryErrorAndApplyNothing) {
  v1::ApplySettingsRequest request;
  request.set_local_conf_json(R"({"settings": {"defaultBondingPolicy": "fast",
      "policies": {"fast": {"basePolicy": "active-backup", "packetsPerLink": 8,
                            "upDelay": 70000}}}})");
  v1::ApplySettingsResponse response;
  grpc::Status s = service_.ApplySettings(&context_, &request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("settings.policies.fast.packetsPerLink"));
  EXPECT_THAT(s.error_message(), HasSubstr("settings.policies.fast.upDelay"));
  EXPECT_EQ(backend_.applied, 0);
}

TEST_F(NodeServiceTest, ValidSettingsAreAppliedAndShownWithTheirSource) {
  v1::ApplySettingsRequest request;
  request.set_local_conf_json(R"({"settings": {"defaultBondingPolicy": "fast",
      "policies": {"fast": {"basePolicy": "active-backup", "failoverInterval": 1000}}}})");
  v1::ApplySettingsResponse applied;
  ASSERT_TRUE(service_.ApplySettings(&context_, &request, &applied).ok());
  EXPECT_EQ(backend_.applied, 1);

  v1::GetSettingsRequest get;
  v1::GetSettingsResponse shown;
  ASSERT_TRUE(service_.GetSettings(&context_, &get, &shown).ok());
  std::map<std::string, v1::EffectiveSetting> by_path;
  for (const v1::EffectiveSetting& e : shown.effective()) by_path[e.path()] = e;
  EXPECT_EQ(by_path["settings.policies.fast.failoverInterval"].value(), "1000");
  EXPECT_EQ(by_path["settings.policies.fast.failoverInterval"].source(),
            v1::SETTING_SOURCE_LOCAL_CONF);
  EXPECT_EQ(by_path["settings.policies.fast.upDelay"].value(), "0");
  EXPECT_EQ(by_path["settings.policies.fast.upDelay"].source(), v1::SETTING_SOURCE_DEFAULT);
  EXPECT_THAT(shown.local_conf_json(), HasSubstr("\"failoverInterval\": 1000"));
}

// A standalone node's overlay address and peers change live with `settings apply`: a peer left
// out of the document is cut off (the data plane's SetDirectory), and `peers` and `info` follow.
TEST_F(NodeServiceTest, ApplyChangesPeersAndOverlayLive) {
  absl::StatusOr<Identity> peer = Identity::Generate();
  ASSERT_TRUE(peer.ok());
  const std::string id = peer->id().ToString();
  auto apply = [&](const std::string& rest) {
    v1::ApplySettingsRequest request;
    request.set_local_conf_json(
        absl::StrCat(R"({"settings": {"defaultBondingPolicy": "broadcast"})", rest, "}"));
    v1::ApplySettingsResponse applied;
    grpc::Status s = service_.ApplySettings(&context_, &request, &applied);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const v1::SettingsIssue& w : applied.warnings()) {
      EXPECT_THAT(w.message(), ::testing::Not(HasSubstr("restart"))) << w.path();
    }
  };
  auto listed = [&] {
    v1::ListPeersRequest request;
    v1::ListPeersResponse response;
    EXPECT_TRUE(service_.ListPeers(&context_, &request, &response).ok());
    std::vector<std::string> ids;
    for (const v1::Peer& p : response.peers()) ids.push_back(p.id());
    return ids;
  };

  apply(absl::StrCat(R"(, "overlay": "10.147.0.9/24", "peers": {")", id, R"(": {"publicKey": ")",
                     EncodePublicKey(peer->public_key()),
                     R"(", "overlay": "10.147.0.2", "endpoints": ["10.201.0.2/9800"]}})"));
  ASSERT_EQ(backend_.directories.size(), 1u);
  EXPECT_EQ(backend_.directories[0].overlay, "10.147.0.9/24");
  ASSERT_EQ(backend_.directories[0].peers.size(), 1u);
  EXPECT_EQ(backend_.directories[0].peers[0].id.ToString(), id);
  EXPECT_EQ(listed(), std::vector<std::string>{id});
  v1::GetInfoRequest info_request;
  v1::NodeInfo info;
  ASSERT_TRUE(service_.GetInfo(&context_, &info_request, &info).ok());
  EXPECT_EQ(info.overlay_address(), "10.147.0.9/24");
  EXPECT_EQ(info.peers(), 1u);

  // Settings alone leave the directory as it is.
  apply("");
  EXPECT_EQ(backend_.directories.size(), 1u);

  // The peer left out: cut off.
  apply(R"(, "peers": {})");
  ASSERT_EQ(backend_.directories.size(), 2u);
  EXPECT_TRUE(backend_.directories[1].peers.empty());
  EXPECT_EQ(backend_.directories[1].overlay, "10.147.0.9/24");
  EXPECT_TRUE(listed().empty());
}

TEST_F(NodeServiceTest, ListBondsGivesPolicyAndLinks) {
  v1::ListBondsRequest request;
  v1::ListBondsResponse response;
  ASSERT_TRUE(service_.ListBonds(&context_, &request, &response).ok());
  ASSERT_EQ(response.bonds_size(), 2);
  EXPECT_EQ(response.bonds(1).policy_name(), "balance-xor");
  EXPECT_EQ(response.bonds(1).base_policy(), v1::BASE_POLICY_BALANCE_XOR);
  EXPECT_EQ(response.bonds(1).usable_links(), 2u);
}

}  // namespace
}  // namespace fleetbond::api
