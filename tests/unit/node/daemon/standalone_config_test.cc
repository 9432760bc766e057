#include "node/daemon/standalone_config.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetbond::daemon {
namespace {

using settings::Issue;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class StandaloneConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Identity> a = Identity::Generate();
    absl::StatusOr<Identity> b = Identity::Generate();
    ASSERT_TRUE(a.ok() && b.ok());
    id_a_ = a->id().ToString();
    key_a_ = EncodePublicKey(a->public_key());
    id_b_ = b->id().ToString();
    key_b_ = EncodePublicKey(b->public_key());
  }

  ParsedStandaloneConfig Parse(const std::string& json) {
    settings::ParsedLocalConf parsed = settings::ParseLocalConf(json);
    EXPECT_THAT(parsed.issues, IsEmpty()) << json;
    return ParseStandaloneConfig(parsed.conf);
  }

  std::string Peer(const std::string& id, const std::string& key, const std::string& overlay,
                   const std::string& endpoints = R"(["10.201.0.2/9800", "fd20:1::2/9800"])") {
    return absl::StrCat("\"", id, "\": {\"publicKey\": \"", key, "\", \"overlay\": \"", overlay,
                        "\", \"endpoints\": ", endpoints, "}");
  }

  std::string id_a_, key_a_, id_b_, key_b_;
};

auto IssueAt(const std::string& path, const std::string& text) {
  return ::testing::AllOf(Field(&Issue::path, path), Field(&Issue::message, HasSubstr(text)));
}

TEST_F(StandaloneConfigTest, ReadsOverlayAndPeers) {
  ParsedStandaloneConfig p = Parse(absl::StrCat(
      R"({"settings": {}, "overlay": "10.147.0.1/24", "peers": {)",
      Peer(id_a_, key_a_, "10.147.0.2"), ",", Peer(id_b_, key_b_, "10.147.0.3"), "}}"));
  EXPECT_THAT(p.issues, IsEmpty());
  EXPECT_EQ(p.config.overlay, "10.147.0.1/24");
  ASSERT_EQ(p.config.peers.size(), 2u);
  EXPECT_LT(p.config.peers[0].id, p.config.peers[1].id);
  EXPECT_THAT(p.config.peers[0].endpoints, ElementsAre("10.201.0.2/9800", "fd20:1::2/9800"));
}

TEST_F(StandaloneConfigTest, NodeWithoutStandaloneKeysHasNoIssues) {
  ParsedStandaloneConfig p = Parse(R"({"settings": {}})");
  EXPECT_THAT(p.issues, IsEmpty());
  EXPECT_TRUE(p.config.peers.empty());
}

TEST_F(StandaloneConfigTest, KeyThatDoesNotHashToTheIdIsRefused) {
  ParsedStandaloneConfig p = Parse(absl::StrCat(R"({"settings": {}, "overlay": "10.147.0.1/24",
      "peers": {)",
                                                Peer(id_a_, key_b_, "10.147.0.2"), "}}"));
  EXPECT_THAT(p.issues, ElementsAre(IssueAt(absl::StrCat("peers.", id_a_, ".publicKey"), id_a_)));
  EXPECT_TRUE(p.config.peers.empty());
}

TEST_F(StandaloneConfigTest, PeersWithoutOwnOverlayAddressAreAnError) {
  ParsedStandaloneConfig p = Parse(
      absl::StrCat(R"({"settings": {}, "peers": {)", Peer(id_a_, key_a_, "10.147.0.2"), "}}"));
  EXPECT_THAT(p.issues, ElementsAre(IssueAt("overlay", "static peers need")));
}

TEST_F(StandaloneConfigTest, PeerOverlayOutsideTheNetworkOrTakenIsAnError) {
  ParsedStandaloneConfig p = Parse(absl::StrCat(
      R"({"settings": {}, "overlay": "10.147.0.1/24", "peers": {)",
      Peer(id_a_, key_a_, "10.148.0.2"), ",", Peer(id_b_, key_b_, "10.147.0.1"), "}}"));
  EXPECT_THAT(p.issues,
              ::testing::UnorderedElementsAre(
                  IssueAt(absl::StrCat("peers.", id_a_, ".overlay"), "outside this node's"),
                  IssueAt(absl::StrCat("peers.", id_b_, ".overlay"), "this node's own")));
}

TEST_F(StandaloneConfigTest, TwoPeersMayNotShareAnOverlayAddress) {
  ParsedStandaloneConfig p = Parse(absl::StrCat(
      R"({"settings": {}, "overlay": "10.147.0.1/24", "peers": {)",
      Peer(id_a_, key_a_, "10.147.0.2"), ",", Peer(id_b_, key_b_, "10.147.0.2"), "}}"));
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_THAT(p.issues[0].message, HasSubstr("already another peer's"));
}

TEST_F(StandaloneConfigTest, BadEndpointsAndIdsAndUnknownKeysAreEachReported) {
  ParsedStandaloneConfig p = Parse(
      absl::StrCat(R"({"settings": {}, "overlay": "10.147.0.1/24", "peers": {)",
                   Peer(id_a_, key_a_, "10.147.0.2", R"(["10.201.0.2:9800", "10.201.0.2/0", 7])"),
                   R"(, "xyz": {"publicKey": "AAAA", "overlay": "10.147.0.9", "endpoint": []}}})"));
  const std::string a = absl::StrCat("peers.", id_a_, ".endpoints");
  EXPECT_THAT(
      p.issues,
      ::testing::UnorderedElementsAre(
          IssueAt(a + "[0]", "is not \"ip/port\""), IssueAt(a + "[1]", "is not \"ip/port\""),
          IssueAt(a + "[2]", "expected an \"ip/port\" string"),
          IssueAt("peers.xyz", "10 hex digits"), IssueAt("peers.xyz.publicKey", ""),
          IssueAt("peers.xyz.endpoint", "did you mean \"endpoints\""),
          IssueAt("peers.xyz.endpoints", "missing")));
}

TEST_F(StandaloneConfigTest, OverlayNeedsAPrefixLength) {
  ParsedStandaloneConfig p = Parse(R"({"settings": {}, "overlay": "10.147.0.1"})");
  EXPECT_THAT(p.issues, ElementsAre(IssueAt("overlay", "no prefix length")));
  p = Parse(R"({"settings": {}, "overlay": 42})");
  EXPECT_THAT(p.issues, ElementsAre(IssueAt("overlay", "expected \"ip/prefixlen\"")));
}

}  // namespace
}  // namespace fleetbond::daemon
