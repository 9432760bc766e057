#include "node/netlink/rtnetlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/tun/tun_device.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::netlink {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseCidr, ReadsIpv4WithPrefix) {
  absl::StatusOr<ParsedCidr> c = ParseCidr("10.147.0.1/24");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->family, AF_INET);
  EXPECT_EQ(c->prefix_len, 24);
  EXPECT_EQ(c->address[0], 10);
  EXPECT_EQ(c->address[3], 1);
}

TEST(ParseCidr, BareAddressGetsFullLengthPrefix) {
  EXPECT_EQ(ParseCidr("10.0.0.1")->prefix_len, 32);
  EXPECT_EQ(ParseCidr("fd00::1")->prefix_len, 128);
}

TEST(ParseCidr, RejectsPrefixLongerThanTheFamilyAllows) {
  EXPECT_THAT(ParseCidr("10.0.0.1/33"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 HasSubstr("prefix length must be 0 to 32")));
  EXPECT_THAT(ParseCidr("fd00::1/129"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 to 128")));
  EXPECT_THAT(ParseCidr("10.0.0.1/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix")));
}

TEST(ParseEvents, IgnoresGarbageAndTruncatedMessagesWithoutReadingPastTheBuffer) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf;
  for (int round = 0; round < 20000; ++round) {
    buf.resize(rng() % 200);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    // Make some of them look like link/address messages so the attribute walk is exercised.
    if (buf.size() >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      h.nlmsg_len = static_cast<uint32_t>(rng() % (buf.size() + 8));
      h.nlmsg_type = static_cast<uint16_t>(RTM_NEWLINK + (rng() % 8));
      std::memcpy(buf.data(), &h, sizeof(h));
    }
    Events ev = ParseEvents(buf);
    EXPECT_LE(ev.links.size() + ev.addresses.size(), buf.size());
  }
}

TEST(ParseEvents, ReadsLinkNameAndCarrierFromAWellFormedMessage) {
  alignas(nlmsghdr) uint8_t buf[256] = {};
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
  ifi->ifi_index = 7;
  ifi->ifi_flags = IFF_UP | IFF_LOWER_UP | IFF_RUNNING;
  auto* attr = IFLA_RTA(ifi);
  attr->rta_type = IFLA_IFNAME;
  attr->rta_len = RTA_LENGTH(5);
  std::memcpy(RTA_DATA(attr), "eth1", 5);
  h->nlmsg_type = RTM_NEWLINK;
  h->nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg)) + RTA_ALIGN(attr->rta_len);
  Events ev = ParseEvents(std::span<const uint8_t>(buf, h->nlmsg_len));
  ASSERT_EQ(ev.links.size(), 1u);
  EXPECT_EQ(ev.links[0].ifindex, 7);
  EXPECT_EQ(ev.links[0].name, "eth1");
  EXPECT_TRUE(ev.links[0].carrier);
  EXPECT_TRUE(ev.links[0].exists);
}

class RtnetlinkKernelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { in_private_netns_ = unshare(CLONE_NEWNET) == 0; }
  void SetUp() override {
    if (!in_private_netns_) GTEST_SKIP() << "needs CAP_NET_ADMIN to create a network namespace";
  }
  static bool in_private_netns_;
};
bool RtnetlinkKernelTest::in_private_netns_ = false;

TEST_F(RtnetlinkKernelTest, MonitorHearsANewInterfaceAndItsAddress) {
  absl::StatusOr<int> fd = OpenMonitorSocket();
  ASSERT_THAT(fd, IsOk());
  absl::StatusOr<tun::TunDevice> tun = tun::TunDevice::Create({.name = "fbmon0", .mtu = 1400});
  ASSERT_THAT(tun, IsOk());
  ASSERT_THAT(AddAddress(tun->ifindex(), "10.90.0.1/24"), IsOk());

  bool saw_link = false;
  bool saw_address = false;
  alignas(nlmsghdr) uint8_t buf[16384];
  for (int i = 0; i < 50 && !(saw_link && saw_address); ++i) {
    pollfd pfd{.fd = *fd, .events = POLLIN, .revents = 0};
    if (poll(&pfd, 1, 1000) != 1) break;
    ssize_t n = recv(*fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    Events ev = ParseEvents(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    for (const LinkEvent& l : ev.links) saw_link |= l.name == "fbmon0" && l.exists;
    for (const AddressEvent& a : ev.addresses) {
      saw_address |=
          a.address == "10.90.0.1" && a.prefix_len == 24 && a.added && a.ifindex == tun->ifindex();
    }
  }
  close(*fd);
  EXPECT_TRUE(saw_link);
  EXPECT_TRUE(saw_address);
}

TEST_F(RtnetlinkKernelTest, DumpListsExistingInterfacesAndAddresses) {
  absl::StatusOr<tun::TunDevice> tun = tun::TunDevice::Create({.name = "fbdump0", .mtu = 1400});
  ASSERT_THAT(tun, IsOk());
  ASSERT_THAT(AddAddress(tun->ifindex(), "fd90::5/64"), IsOk());
  absl::StatusOr<Events> ev = DumpLinksAndAddresses();
  ASSERT_THAT(ev, IsOk());
  bool link = false, addr = false;
  for (const LinkEvent& l : ev->links) link |= l.name == "fbdump0";
  for (const AddressEvent& a : ev->addresses) addr |= a.address == "fd90::5" && a.prefix_len == 64;
  EXPECT_TRUE(link);
  EXPECT_TRUE(addr);
}

}  // namespace
}  // namespace fleetbond::netlink
