// DataPlane::SetDirectory against the real kernel, in a private network namespace of this test
// process (nothing on the host is touched). Skipped without CAP_NET_ADMIN.
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/daemon/data_plane.h"
#include "node/netlink/rtnetlink.h"

namespace fleetbond::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class DataPlaneDirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { in_private_netns_ = unshare(CLONE_NEWNET) == 0; }

  void SetUp() override {
    if (!in_private_netns_) GTEST_SKIP() << "needs CAP_NET_ADMIN to create a network namespace";
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<Identity> id = Identity::Generate();
      ASSERT_TRUE(id.ok());
      peers_.push_back({.id = id->id(),
                        .public_key = id->public_key(),
                        .overlay_address = "10.147.0." + std::to_string(i + 2),
                        .endpoints = {"10.201.0." + std::to_string(i + 2) + "/9800"}});
    }
    std::sort(peers_.begin(), peers_.end(),
              [](const StaticPeer& a, const StaticPeer& b) { return a.id < b.id; });
    absl::StatusOr<Identity> self = Identity::Generate();
    ASSERT_TRUE(self.ok());
    absl::StatusOr<settings::LoadedLocalConf> conf =
        settings::LoadLocalConf(R"({"settings": {"defaultBondingPolicy": "active-backup"}})");
    ASSERT_TRUE(conf.ok());
    // A controller-mode start: no overlay, no peers.
    absl::StatusOr<std::unique_ptr<DataPlane>> dp = DataPlane::Create(
        {.tun_name = "fbtest0", .port = 9800}, *std::move(self), *std::move(conf), {}, clock_);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = *std::move(dp);
  }

  // TunAddresses lists "ip/prefixlen" of the TUN's IPv4 addresses, as the kernel has them.
  std::vector<std::string> TunAddresses() {
    std::vector<std::string> out;
    absl::StatusOr<netlink::Events> now = netlink::DumpLinksAndAddresses();
    EXPECT_TRUE(now.ok());
    for (const netlink::AddressEvent& a : now->addresses) {
      if (a.ifindex == dp_->tun().ifindex() && a.family == AF_INET) {
        out.push_back(a.address + "/" + std::to_string(a.prefix_len));
      }
    }
    return out;
  }

  std::vector<std::string> BondPeers() {
    std::vector<std::string> out;
    for (const bond::BondSnapshot& s : dp_->Snapshots()) out.push_back(s.peer);
    return out;
  }

  static bool in_private_netns_;
  FakeClock clock_;
  std::vector<StaticPeer> peers_;
  std::unique_ptr<DataPlane> dp_;
};
bool DataPlaneDirectoryTest::in_private_netns_ = false;

TEST_F(DataPlaneDirectoryTest, StartsWithoutAddressOrPeers) {
  EXPECT_THAT(TunAddresses(), IsEmpty());
  EXPECT_THAT(dp_->Snapshots(), IsEmpty());
  EXPECT_EQ(dp_->overlay(), "");
}

TEST_F(DataPlaneDirectoryTest, DirectoryBringsAddressAndBonds) {
  dp_->SetDirectory({.overlay = "10.147.0.1/24", .peers = peers_});
  EXPECT_THAT(TunAddresses(), ElementsAre("10.147.0.1/24"));
  EXPECT_THAT(BondPeers(), ElementsAre(peers_[0].id.ToString(), peers_[1].id.ToString(),
                                       peers_[2].id.ToString()));
  EXPECT_EQ(dp_->CurrentDirectory(), (StandaloneConfig{"10.147.0.1/24", peers_}));
  EXPECT_TRUE(dp_->Rotate(peers_[1].id.ToString()).status().code() != absl::StatusCode::kNotFound);
}

TEST_F(DataPlaneDirectoryTest, ChangesRemoveReplaceAndMovePeersAndTheAddress) {
  dp_->SetDirectory({.overlay = "10.147.0.1/24", .peers = peers_});
  std::vector<StaticPeer> next = {peers_[1], peers_[2]};
  next[0].endpoints = {"10.202.0.9/9800"};  // moved
  next[1].overlay_address = "10.148.0.77";  // replaced
  dp_->SetDirectory({.overlay = "10.148.0.1/16", .peers = next});

  EXPECT_THAT(TunAddresses(), ElementsAre("10.148.0.1/16"));
  EXPECT_THAT(BondPeers(), ElementsAre(next[0].id.ToString(), next[1].id.ToString()));
  EXPECT_EQ(dp_->Snapshot(peers_[0].id.ToString()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dp_->CurrentDirectory().peers, next);

  dp_->SetDirectory({});
  EXPECT_THAT(TunAddresses(), IsEmpty());
  EXPECT_THAT(dp_->Snapshots(), IsEmpty());
}

TEST_F(DataPlaneDirectoryTest, InterfacesListsTheTun) {
  std::vector<InterfaceState> interfaces = dp_->Interfaces();
  EXPECT_TRUE(std::any_of(interfaces.begin(), interfaces.end(),
                          [](const InterfaceState& i) { return i.name == "fbtest0"; }));
}

}  // namespace
}  // namespace fleetbond::daemon
