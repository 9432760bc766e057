// DataPlane::SetDirectory against the real kernel, in a private network namespace of this test
// process (nothing on the host is touched). Skipped without CAP_NET_ADMIN.
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
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

// Two real data planes, A here and B in a network namespace of its own thread, joined by a veth
// pair: they complete a handshake; A's directory drops B, and from then on everything B sends is
// refused as from an unknown peer and A holds no bond (nor keys) for it; B added back handshakes
// anew. Real sockets and the system clock, so the waits are bounded polls, not sleeps to assert.
TEST_F(DataPlaneDirectoryTest, RemovedPeerIsCutOffAtOnceAndCanComeBack) {
  absl::StatusOr<Identity> a_id = Identity::Generate();
  absl::StatusOr<Identity> b_id = Identity::Generate();
  ASSERT_TRUE(a_id.ok() && b_id.ok());
  const StaticPeer a_as_peer{.id = a_id->id(),
                             .public_key = a_id->public_key(),
                             .overlay_address = "10.149.0.1",
                             .endpoints = {"10.250.0.1/9800"}};
  const StaticPeer b_as_peer{.id = b_id->id(),
                             .public_key = b_id->public_key(),
                             .overlay_address = "10.149.0.2",
                             .endpoints = {"10.250.0.2/9800"}};
  constexpr char kSettings[] =
      R"({"settings": {"defaultBondingPolicy": "ab", "policies": {"ab": {"basePolicy":
          "active-backup", "failoverInterval": 300}}}})";

  std::atomic<pid_t> b_tid{0};
  absl::Notification veth_ready, b_created, b_stop;
  std::unique_ptr<DataPlane> b;
  std::thread b_thread([&] {
    // Network namespaces belong to threads: this one gets its own, and B lives in it.
    if (unshare(CLONE_NEWNET) != 0) {
      b_tid = -1;
      b_created.Notify();
      return;
    }
    b_tid = static_cast<pid_t>(syscall(SYS_gettid));
    veth_ready.WaitForNotification();
    if (std::system("ip link set lo up && ip addr add 10.250.0.2/24 dev fbvb && "
                    "ip link set fbvb up") != 0) {
      b_created.Notify();
      return;
    }
    absl::StatusOr<settings::LoadedLocalConf> conf = settings::LoadLocalConf(kSettings);
    if (conf.ok()) {
      absl::StatusOr<std::unique_ptr<DataPlane>> dp = DataPlane::Create(
          {.tun_name = "fbtestb", .port = 9800}, *std::move(b_id), *std::move(conf),
          {.overlay = "10.149.0.2/24", .peers = {a_as_peer}}, SystemClock::Get());
      if (dp.ok()) b = *std::move(dp);
    }
    b_created.Notify();
    if (b == nullptr) return;
    std::thread stopper([&] {
      b_stop.WaitForNotification();
      b->Stop();
    });
    (void)b->Run();
    stopper.join();
  });
  while (b_tid == 0) std::this_thread::yield();
  ASSERT_GT(b_tid.load(), 0) << "cannot create a second network namespace";
  ASSERT_EQ(std::system(("ip link add fbva type veth peer name fbvb netns " +
                         std::to_string(b_tid.load()) +
                         " && ip addr add 10.250.0.1/24 dev fbva && ip link set fbva up")
                            .c_str()),
            0);
  veth_ready.Notify();
  b_created.WaitForNotification();
  ASSERT_NE(b, nullptr);

  absl::StatusOr<settings::LoadedLocalConf> conf = settings::LoadLocalConf(kSettings);
  ASSERT_TRUE(conf.ok());
  absl::StatusOr<std::unique_ptr<DataPlane>> a_or =
      DataPlane::Create({.tun_name = "fbtesta", .port = 9800}, *std::move(a_id), *std::move(conf),
                        {}, SystemClock::Get());
  ASSERT_TRUE(a_or.ok()) << a_or.status();
  std::unique_ptr<DataPlane> a = *std::move(a_or);
  std::thread a_thread([&] { (void)a->Run(); });

  // WaitFor polls `done` for up to 10 s.
  auto wait_for = [](auto done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
    return done();
  };
  const size_t unknown_peer = static_cast<size_t>(transport::DropReason::kUnknownPeer);

  a->SetDirectory({.overlay = "10.149.0.1/24", .peers = {b_as_peer}});
  EXPECT_TRUE(wait_for([&] {
    return a->Drops().handshakes.completed >= 1 && b->Drops().handshakes.completed >= 1;
  })) << "no handshake between A and B";

  // Cut off: B's probes (and handshakes) now count as from an unknown peer.
  a->SetDirectory({.overlay = "10.149.0.1/24", .peers = {}});
  EXPECT_THAT(a->Snapshots(), IsEmpty());
  const uint64_t before = a->Drops().by_reason[unknown_peer];
  EXPECT_TRUE(wait_for([&] { return a->Drops().by_reason[unknown_peer] >= before + 3; }))
      << "B's datagrams are not refused as from an unknown peer";
  // The removed peer's handshake counters stay in A's totals.
  EXPECT_GE(a->Drops().handshakes.completed, 1u);

  // Back in the directory: a new handshake (A starts from nothing), the bond returns.
  const uint64_t completed = a->Drops().handshakes.completed;
  a->SetDirectory({.overlay = "10.149.0.1/24", .peers = {b_as_peer}});
  EXPECT_TRUE(wait_for([&] { return a->Drops().handshakes.completed > completed; }))
      << "no new handshake after B came back";
  EXPECT_THAT(a->Snapshots(), SizeIs(1));

  a->Stop();
  a_thread.join();
  b_stop.Notify();
  b_thread.join();
  a.reset();
  b.reset();
  (void)std::system("ip link del fbva 2>/dev/null");
}

TEST_F(DataPlaneDirectoryTest, InterfacesListsTheTun) {
  std::vector<InterfaceState> interfaces = dp_->Interfaces();
  EXPECT_TRUE(std::any_of(interfaces.begin(), interfaces.end(),
                          [](const InterfaceState& i) { return i.name == "fbtest0"; }));
}

}  // namespace
}  // namespace fleetbond::daemon
