// TunDevice against the real kernel, inside a private network namespace of this test process so
// nothing on the host is touched. Skipped (with the reason) without CAP_NET_ADMIN.
#include "node/tun/tun_device.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::tun {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

class TunDeviceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { in_private_netns_ = unshare(CLONE_NEWNET) == 0; }
  void SetUp() override {
    if (!in_private_netns_) GTEST_SKIP() << "needs CAP_NET_ADMIN to create a network namespace";
  }
  static bool in_private_netns_;
};
bool TunDeviceTest::in_private_netns_ = false;

// Waits (bounded) for one packet on the TUN.
ssize_t ReadOne(TunDevice& tun, std::span<uint8_t> buf) {
  pollfd pfd{.fd = tun.fd(), .events = POLLIN, .revents = 0};
  if (poll(&pfd, 1, 2000) != 1) return -1;
  return tun.Read(buf);
}

TEST_F(TunDeviceTest, CreatesInterfaceWithRequestedMtuAndRemovesItOnDestruction) {
  {
    absl::StatusOr<TunDevice> tun = TunDevice::Create({.name = "fbtest0", .mtu = 1400});
    ASSERT_THAT(tun, IsOk());
    EXPECT_EQ(tun->name(), "fbtest0");
    EXPECT_GT(tun->ifindex(), 0);
    EXPECT_EQ(if_nametoindex("fbtest0"), static_cast<unsigned>(tun->ifindex()));
  }
  EXPECT_EQ(if_nametoindex("fbtest0"), 0u);
}

TEST_F(TunDeviceTest, SetsTheRequestedQueueLength) {
  absl::StatusOr<TunDevice> tun =
      TunDevice::Create({.name = "fbtestq", .mtu = 1400, .tx_queue_len = 1234});
  ASSERT_THAT(tun, IsOk());
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "fbtestq");
  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(ioctl(sock, SIOCGIFTXQLEN, &ifr), 0);
  close(sock);
  EXPECT_EQ(ifr.ifr_qlen, 1234);
}

TEST_F(TunDeviceTest, RejectsNamesTooLongForTheKernel) {
  EXPECT_THAT(TunDevice::Create({.name = "a-name-far-too-long", .mtu = 1400}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 15 characters")));
}

TEST_F(TunDeviceTest, RejectsMtuBelowIpv4Minimum) {
  EXPECT_THAT(TunDevice::Create({.name = "fbtest1", .mtu = 100}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("576..65535")));
}

TEST_F(TunDeviceTest, PacketsRoutedToTheOverlayPrefixAreReadFromTheDevice) {
  absl::StatusOr<TunDevice> tun = TunDevice::Create({.name = "fbtest2", .mtu = 1400});
  ASSERT_THAT(tun, IsOk());
  ASSERT_THAT(tun->AddAddress("10.77.0.1/24"), IsOk());
  ASSERT_THAT(tun->SetUp(), IsOk());

  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(4242);
  inet_pton(AF_INET, "10.77.0.2", &dst.sin_addr);
  const char payload[] = "hello overlay";
  ASSERT_EQ(
      sendto(sock, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)),
      static_cast<ssize_t>(sizeof(payload)));
  close(sock);

  // The kernel may send its own packets first (IPv6 router solicitations when the device comes
  // up): skip anything that is not IPv4, a bounded number of times.
  std::array<uint8_t, 2048> buf{};
  ssize_t n = -1;
  for (int i = 0; i < 10; ++i) {
    n = ReadOne(*tun, buf);
    if (n <= 0 || (buf[0] >> 4) == 4) break;
  }
  ASSERT_EQ(n, static_cast<ssize_t>(20 + 8 + sizeof(payload)));
  EXPECT_EQ(buf[0] >> 4, 4);  // IPv4
  EXPECT_EQ(buf[9], IPPROTO_UDP);
  EXPECT_EQ(std::memcmp(&buf[16], &dst.sin_addr, 4), 0);
  EXPECT_EQ(std::memcmp(&buf[28], payload, sizeof(payload)), 0);
}

TEST_F(TunDeviceTest, PacketsWrittenToTheDeviceReachLocalSockets) {
  absl::StatusOr<TunDevice> tun = TunDevice::Create({.name = "fbtest3", .mtu = 1400});
  ASSERT_THAT(tun, IsOk());
  ASSERT_THAT(tun->AddAddress("10.78.0.1/24"), IsOk());
  ASSERT_THAT(tun->SetUp(), IsOk());

  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(5353);
  inet_pton(AF_INET, "10.78.0.1", &local.sin_addr);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0);

  // A UDP datagram from 10.78.0.2:7000 to 10.78.0.1:5353 with UDP checksum 0 (allowed in IPv4).
  const char payload[] = "from peer";
  std::array<uint8_t, 64> pkt{};
  const size_t total = 20 + 8 + sizeof(payload);
  pkt[0] = 0x45;
  pkt[2] = static_cast<uint8_t>(total >> 8);
  pkt[3] = static_cast<uint8_t>(total);
  pkt[8] = 64;
  pkt[9] = IPPROTO_UDP;
  inet_pton(AF_INET, "10.78.0.2", &pkt[12]);
  inet_pton(AF_INET, "10.78.0.1", &pkt[16]);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (pkt[i] << 8) | pkt[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  pkt[10] = static_cast<uint8_t>(~sum >> 8);
  pkt[11] = static_cast<uint8_t>(~sum);
  pkt[20] = 7000 >> 8;
  pkt[21] = 7000 & 0xff;
  pkt[22] = 5353 >> 8;
  pkt[23] = 5353 & 0xff;
  pkt[24] = static_cast<uint8_t>((8 + sizeof(payload)) >> 8);
  pkt[25] = static_cast<uint8_t>(8 + sizeof(payload));
  std::memcpy(&pkt[28], payload, sizeof(payload));
  ASSERT_EQ(tun->Write(std::span<const uint8_t>(pkt.data(), total)), static_cast<ssize_t>(total));

  pollfd pfd{.fd = sock, .events = POLLIN, .revents = 0};
  ASSERT_EQ(poll(&pfd, 1, 2000), 1);
  char got[64] = {};
  ASSERT_EQ(recv(sock, got, sizeof(got), 0), static_cast<ssize_t>(sizeof(payload)));
  EXPECT_STREQ(got, payload);
  close(sock);
}

TEST_F(TunDeviceTest, AcceptsAnIpv6OverlayAddress) {
  absl::StatusOr<TunDevice> tun = TunDevice::Create({.name = "fbtest4", .mtu = 1400});
  ASSERT_THAT(tun, IsOk());
  EXPECT_THAT(tun->AddAddress("fd77::1/64"), IsOk());
  EXPECT_THAT(tun->AddAddress("not-an-address/24"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an IPv4 or IPv6")));
}

}  // namespace
}  // namespace fleetbond::tun
