#include "node/transport/udp_socket.h"

#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::transport {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

TEST(Endpoint, ParsesLocalConfFormForBothFamilies) {
  absl::StatusOr<Endpoint> v4 = Endpoint::Parse("10.201.0.2/9800");
  ASSERT_THAT(v4, IsOk());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->ToString(), "10.201.0.2/9800");
  absl::StatusOr<Endpoint> v6 = Endpoint::Parse("fd20:1::2/9800");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->ToString(), "fd20:1::2/9800");
  EXPECT_EQ(*Endpoint::Parse("[fd20:1::2]:9800"), *v6);
  EXPECT_EQ(*Endpoint::Parse("10.201.0.2:9800"), *v4);
}

TEST(Endpoint, RejectsBadPortsAndAddressesWithTheReason) {
  EXPECT_THAT(Endpoint::Parse("10.0.0.1/0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port must be 1 to 65535")));
  EXPECT_THAT(Endpoint::Parse("10.0.0.1/70000"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port must be 1 to 65535")));
  EXPECT_THAT(Endpoint::Parse("host.example/9800"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an IPv4 or IPv6")));
  EXPECT_THAT(Endpoint::Parse("10.0.0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected ip/port")));
}

bool WaitReadable(int fd) {
  pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&pfd, 1, 2000) == 1;
}

TEST(UdpSocket, MovesABatchOfDatagramsInOrderOverLoopback) {
  absl::StatusOr<UdpSocket> rx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  absl::StatusOr<UdpSocket> tx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  ASSERT_THAT(rx, IsOk());
  ASSERT_THAT(tx, IsOk());
  ASSERT_NE(rx->local_port(), 0);
  Endpoint to = *Endpoint::Parse(absl::StrCat("127.0.0.1/", rx->local_port()));

  constexpr int kCount = 40;
  for (int i = 0; i < kCount; ++i) {
    std::vector<uint8_t> payload(100 + i, static_cast<uint8_t>(i));
    tx->Send(to, payload);
  }
  EXPECT_EQ(tx->Flush(), static_cast<size_t>(kCount));

  int got = 0;
  for (int round = 0; round < 10 && got < kCount; ++round) {
    ASSERT_TRUE(WaitReadable(rx->fd()));
    UdpSocket::Batch& batch = rx->Receive();
    for (size_t i = 0; i < batch.count(); ++i, ++got) {
      std::span<const uint8_t> d = batch.Datagram(i);
      ASSERT_EQ(d.size(), static_cast<size_t>(100 + got));
      EXPECT_EQ(d[0], static_cast<uint8_t>(got));
      EXPECT_FALSE(batch.Truncated(i));
      EXPECT_EQ(batch.Source(i).ToString(), absl::StrCat("127.0.0.1/", tx->local_port()));
    }
  }
  EXPECT_EQ(got, kCount);
}

TEST(UdpSocket, FlushesByItselfWhenTheQueueIsFull) {
  absl::StatusOr<UdpSocket> rx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  absl::StatusOr<UdpSocket> tx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  ASSERT_THAT(rx, IsOk());
  ASSERT_THAT(tx, IsOk());
  Endpoint to = *Endpoint::Parse(absl::StrCat("127.0.0.1/", rx->local_port()));
  const uint8_t byte = 7;
  for (size_t i = 0; i < UdpSocket::kBatch + 1; ++i) tx->Send(to, {&byte, 1});
  // The first kBatch went out when the queue filled; one is still queued.
  ASSERT_TRUE(WaitReadable(rx->fd()));
  EXPECT_EQ(tx->Flush(), 1u);
}

// Receives until `want` datagrams arrived or nothing more comes (bounded).
std::vector<std::vector<uint8_t>> ReceiveAll(UdpSocket& rx, size_t want,
                                             std::vector<std::string>* sources = nullptr) {
  std::vector<std::vector<uint8_t>> out;
  for (int round = 0; round < 50 && out.size() < want; ++round) {
    if (!WaitReadable(rx.fd())) break;
    UdpSocket::Batch& batch = rx.Receive();
    for (size_t i = 0; i < batch.count(); ++i) {
      std::span<const uint8_t> d = batch.Datagram(i);
      out.emplace_back(d.begin(), d.end());
      if (sources != nullptr) sources->push_back(batch.Source(i).ToString());
    }
  }
  return out;
}

// A run of equal datagrams to one destination (sent as one GSO message where the kernel can)
// arrives as the same datagrams, in order, whether or not the receiver coalesced them (GRO).
void ExpectRunArrivesIntact(bool offload) {
  absl::StatusOr<UdpSocket> rx =
      UdpSocket::Bind({.address = "127.0.0.1", .port = 0, .offload = offload});
  absl::StatusOr<UdpSocket> tx =
      UdpSocket::Bind({.address = "127.0.0.1", .port = 0, .offload = offload});
  ASSERT_THAT(rx, IsOk());
  ASSERT_THAT(tx, IsOk());
  EXPECT_EQ(tx->gso(), offload);
  Endpoint to = *Endpoint::Parse(absl::StrCat("127.0.0.1/", rx->local_port()));
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 40; ++i) sent.emplace_back(1400, static_cast<uint8_t>(i));
  sent.emplace_back(500, 0xee);  // a shorter last datagram may close a run
  for (const auto& d : sent) tx->Send(to, d);
  EXPECT_EQ(tx->Flush(), sent.size());
  EXPECT_EQ(tx->send_drops(), 0u);
  std::vector<std::string> sources;
  EXPECT_EQ(ReceiveAll(*rx, sent.size(), &sources), sent);
  for (const std::string& s : sources) {
    EXPECT_EQ(s, absl::StrCat("127.0.0.1/", tx->local_port()));
  }
}

TEST(UdpSocket, RunOfEqualDatagramsArrivesIntactWithOffload) { ExpectRunArrivesIntact(true); }
TEST(UdpSocket, RunOfEqualDatagramsArrivesIntactWithoutOffload) { ExpectRunArrivesIntact(false); }

TEST(UdpSocket, MixedSizesAndDestinationsAllArriveWhereTheyWereSent) {
  absl::StatusOr<UdpSocket> a = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  absl::StatusOr<UdpSocket> b = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  absl::StatusOr<UdpSocket> tx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(tx, IsOk());
  Endpoint to_a = *Endpoint::Parse(absl::StrCat("127.0.0.1/", a->local_port()));
  Endpoint to_b = *Endpoint::Parse(absl::StrCat("127.0.0.1/", b->local_port()));
  std::vector<std::vector<uint8_t>> want_a, want_b;
  for (int i = 0; i < 60; ++i) {
    // Sizes change every few datagrams and destinations alternate in bursts: runs of every shape.
    std::vector<uint8_t> d(100 + (i / 3) * 17, static_cast<uint8_t>(i));
    if ((i / 5) % 2 == 0) {
      tx->Send(to_a, d);
      want_a.push_back(d);
    } else {
      tx->Send(to_b, d);
      want_b.push_back(d);
    }
  }
  EXPECT_EQ(tx->Flush(), 60u);
  EXPECT_EQ(ReceiveAll(*a, want_a.size()), want_a);
  EXPECT_EQ(ReceiveAll(*b, want_b.size()), want_b);
}

TEST(UdpSocket, DatagramsLargerThanTheSendBufferAreDroppedAndCounted) {
  absl::StatusOr<UdpSocket> tx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  ASSERT_THAT(tx, IsOk());
  Endpoint to = *Endpoint::Parse("127.0.0.1/9");
  std::vector<uint8_t> big(UdpSocket::kBufferSize + 1, 1);
  tx->Send(to, big);
  EXPECT_EQ(tx->send_drops(), 1u);
  EXPECT_EQ(tx->Flush(), 0u);
}

TEST(UdpSocket, ReceiveOnAnIdleSocketReturnsAnEmptyBatchWithoutError) {
  absl::StatusOr<UdpSocket> rx = UdpSocket::Bind({.address = "127.0.0.1", .port = 0});
  ASSERT_THAT(rx, IsOk());
  EXPECT_EQ(rx->Receive().count(), 0u);
  EXPECT_EQ(rx->last_error(), 0);
}

TEST(UdpSocket, BindingToAMissingDeviceNamesTheDevice) {
  absl::StatusOr<UdpSocket> s =
      UdpSocket::Bind({.interface = "nosuchdev0", .address = "127.0.0.1", .port = 0});
  EXPECT_THAT(s, StatusIs(::testing::_, HasSubstr("nosuchdev0")));
}

}  // namespace
}  // namespace fleetbond::transport
