#include "node/bond/flow_key.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace fleetbond::bond {
namespace {

constexpr uint8_t kIcmp = 1;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kSctp = 132;
constexpr uint8_t kUdpLite = 136;
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kAuth = 51;
constexpr uint8_t kNoNextHeader = 59;
constexpr uint8_t kDestOptions = 60;

constexpr uint16_t kSrcPort = 0xc0de;
constexpr uint16_t kDstPort = 443;

using Bytes = std::vector<uint8_t>;

void Put16(Bytes& b, size_t offset, uint16_t v) {
  b[offset] = static_cast<uint8_t>(v >> 8);
  b[offset + 1] = static_cast<uint8_t>(v);
}

// TransportHeader returns the smallest valid header of `protocol` with the test ports (or a
// 8-byte ICMP echo for portless protocols).
Bytes TransportHeader(uint8_t protocol, uint16_t src = kSrcPort, uint16_t dst = kDstPort) {
  Bytes h(protocol == kTcp ? 20 : protocol == kSctp ? 12 : 8, 0);
  if (protocol == kIcmp || protocol == kIcmpv6) {
    h[0] = protocol == kIcmp ? 8 : 128;  // echo request
    return h;
  }
  Put16(h, 0, src);
  Put16(h, 2, dst);
  if (protocol == kTcp) h[12] = 5 << 4;  // data offset: 5 words
  return h;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Ipv4 builds an IPv4 packet around `payload` with `options_words` 4-byte words of options.
Bytes Ipv4(uint8_t protocol, const Bytes& payload, size_t options_words = 0,
           uint16_t flags_fragment = 0) {
  const size_t header = 20 + 4 * options_words;
  Bytes p(header, 0);
  p[0] = static_cast<uint8_t>(0x40 | (header / 4));
  Put16(p, 2, static_cast<uint16_t>(header + payload.size()));
  Put16(p, 6, flags_fragment);
  p[8] = 64;
  p[9] = protocol;
  for (size_t i = 20; i < header; ++i) p[i] = 1;  // NOP options
  p[12] = 10;
  p[16] = 10;
  p[19] = 2;
  return Concat(p, payload);
}

// Ipv6 builds an IPv6 packet whose first next-header is `next` around `payload`.
Bytes Ipv6(uint8_t next, const Bytes& payload) {
  Bytes p(40, 0);
  p[0] = 0x60;
  Put16(p, 4, static_cast<uint16_t>(payload.size()));
  p[6] = next;
  p[7] = 64;
  p[8] = 0xfd;
  p[24] = 0xfd;
  p[39] = 2;
  return Concat(p, payload);
}

// ExtensionHeader builds a hop-by-hop/routing/destination-options header of `units` 8-byte units.
Bytes ExtensionHeader(uint8_t next, size_t units = 1) {
  Bytes h(8 * units, 0);
  h[0] = next;
  h[1] = static_cast<uint8_t>(units - 1);
  if (h.size() > 2) h[2] = 1;  // PadN
  return h;
}

Bytes FragmentHeader(uint8_t next, uint16_t offset_units, bool more) {
  Bytes h(8, 0);
  h[0] = next;
  Put16(h, 2, static_cast<uint16_t>((offset_units << 3) | (more ? 1 : 0)));
  h[7] = 42;  // identification
  return h;
}

Bytes AuthHeader(uint8_t next) {
  Bytes h(12, 0);  // next, payload length (in 4-byte words, minus 2), reserved, SPI, sequence
  h[0] = next;
  h[1] = 1;
  h[7] = 1;
  return h;
}

std::optional<FlowKey> Classify(const Bytes& packet) { return ClassifyPacket(packet); }

FlowKey Key(uint8_t protocol) {
  return FlowKey{.src_port = kSrcPort, .dst_port = kDstPort, .protocol = protocol};
}

TEST(ClassifyPacket, ReadsPortsAndProtocolOfIpv4Transports) {
  for (uint8_t protocol : {kTcp, kUdp, kSctp, kUdpLite}) {
    SCOPED_TRACE(static_cast<int>(protocol));
    EXPECT_EQ(Classify(Ipv4(protocol, TransportHeader(protocol))), Key(protocol));
  }
}

TEST(ClassifyPacket, ReadsPortsAndProtocolOfIpv6Transports) {
  for (uint8_t protocol : {kTcp, kUdp, kSctp, kUdpLite}) {
    SCOPED_TRACE(static_cast<int>(protocol));
    EXPECT_EQ(Classify(Ipv6(protocol, TransportHeader(protocol))), Key(protocol));
  }
}

TEST(ClassifyPacket, ReadsPortsInNetworkByteOrderWithPayload) {
  const Bytes packet = Ipv4(kUdp, Concat(TransportHeader(kUdp, 0x0102, 0xfffe), Bytes(100, 7)));
  EXPECT_EQ(Classify(packet), (FlowKey{.src_port = 0x0102, .dst_port = 0xfffe, .protocol = kUdp}));
}

TEST(ClassifyPacket, SkipsIpv4Options) {
  for (size_t words = 1; words <= 10; ++words) {
    SCOPED_TRACE(words);
    EXPECT_EQ(Classify(Ipv4(kTcp, TransportHeader(kTcp), words)), Key(kTcp));
  }
}

TEST(ClassifyPacket, IgnoresLinkPaddingAfterIpv4TotalLength) {
  const Bytes packet = Concat(Ipv4(kUdp, TransportHeader(kUdp)), Bytes(18, 0xee));
  EXPECT_EQ(Classify(packet), Key(kUdp));
}

TEST(ClassifyPacket, GivesPortlessTrafficNoFlow) {
  EXPECT_EQ(Classify(Ipv4(kIcmp, TransportHeader(kIcmp))), std::nullopt);
  EXPECT_EQ(Classify(Ipv6(kIcmpv6, TransportHeader(kIcmpv6))), std::nullopt);
  EXPECT_EQ(Classify(Ipv4(47, Bytes(20, 0))), std::nullopt);  // GRE
  EXPECT_EQ(Classify(Ipv6(50, Bytes(40, 0))), std::nullopt);  // ESP
  EXPECT_EQ(Classify(Ipv6(kNoNextHeader, Bytes())), std::nullopt);
}

TEST(ClassifyPacket, WalksEachIpv6ExtensionHeader) {
  for (uint8_t ext : {kHopByHop, kRouting, kDestOptions}) {
    SCOPED_TRACE(static_cast<int>(ext));
    EXPECT_EQ(Classify(Ipv6(ext, Concat(ExtensionHeader(kUdp), TransportHeader(kUdp)))), Key(kUdp));
    EXPECT_EQ(Classify(Ipv6(ext, Concat(ExtensionHeader(kTcp, 3), TransportHeader(kTcp)))),
              Key(kTcp));
  }
  EXPECT_EQ(Classify(Ipv6(kAuth, Concat(AuthHeader(kSctp), TransportHeader(kSctp)))), Key(kSctp));
}

TEST(ClassifyPacket, WalksAChainOfIpv6ExtensionHeaders) {
  Bytes payload = ExtensionHeader(kRouting, 2);
  payload = Concat(payload, ExtensionHeader(kFragment));
  payload = Concat(payload, FragmentHeader(kDestOptions, 0, /*more=*/true));
  payload = Concat(payload, ExtensionHeader(kUdpLite));
  payload = Concat(payload, TransportHeader(kUdpLite));
  EXPECT_EQ(Classify(Ipv6(kHopByHop, payload)), Key(kUdpLite));
}

TEST(ClassifyPacket, GivesPortlessTrafficBehindExtensionHeadersNoFlow) {
  EXPECT_EQ(Classify(Ipv6(kHopByHop, Concat(ExtensionHeader(kIcmpv6), TransportHeader(kIcmpv6)))),
            std::nullopt);
  EXPECT_EQ(Classify(Ipv6(kDestOptions, ExtensionHeader(kNoNextHeader))), std::nullopt);
}

TEST(ClassifyPacket, GivesUpOnImplausiblyLongExtensionChains) {
  auto chain = [](int headers) {
    Bytes payload;
    for (int i = 0; i < headers; ++i) {
      payload = Concat(payload, ExtensionHeader(i + 1 < headers ? kDestOptions : kUdp));
    }
    return Ipv6(kDestOptions, Concat(payload, TransportHeader(kUdp)));
  };
  EXPECT_EQ(Classify(chain(8)), Key(kUdp));
  EXPECT_EQ(Classify(chain(9)), std::nullopt);
}

TEST(ClassifyPacket, RejectsIpv6ExtensionHeaderLongerThanPayload) {
  Bytes ext = ExtensionHeader(kUdp);
  ext[1] = 5;  // claims 48 bytes
  EXPECT_EQ(Classify(Ipv6(kHopByHop, Concat(ext, TransportHeader(kUdp)))), std::nullopt);
}

TEST(ClassifyPacket, ClassifiesFirstFragmentAndNotLaterOnes) {
  constexpr uint16_t kMoreFragments = 0x2000;
  EXPECT_EQ(Classify(Ipv4(kTcp, TransportHeader(kTcp), 0, kMoreFragments)), Key(kTcp));
  EXPECT_EQ(Classify(Ipv4(kTcp, TransportHeader(kTcp), 0, kMoreFragments | 185)), std::nullopt);
  EXPECT_EQ(Classify(Ipv4(kTcp, TransportHeader(kTcp), 0, 1)), std::nullopt);    // last fragment
  EXPECT_EQ(Classify(Ipv4(kTcp, TransportHeader(kTcp), 0, 0x4000)), Key(kTcp));  // DF only

  EXPECT_EQ(Classify(Ipv6(kFragment, Concat(FragmentHeader(kUdp, 0, true), TransportHeader(kUdp)))),
            Key(kUdp));
  EXPECT_EQ(
      Classify(Ipv6(kFragment, Concat(FragmentHeader(kUdp, 181, true), TransportHeader(kUdp)))),
      std::nullopt);
  EXPECT_EQ(
      Classify(Ipv6(kFragment, Concat(FragmentHeader(kUdp, 181, false), TransportHeader(kUdp)))),
      std::nullopt);
  // A first fragment too short to hold the transport header has no readable ports.
  EXPECT_EQ(Classify(Ipv6(kFragment, Concat(FragmentHeader(kTcp, 0, true), Bytes(8, 0)))),
            std::nullopt);
}

TEST(ClassifyPacket, WalksIpv4AuthenticationHeader) {
  EXPECT_EQ(Classify(Ipv4(kAuth, Concat(AuthHeader(kUdp), TransportHeader(kUdp)))), Key(kUdp));
  EXPECT_EQ(Classify(Ipv4(kAuth, AuthHeader(kUdp))), std::nullopt);
}

TEST(ClassifyPacket, RejectsIpv4HeaderLengthBelowFiveWords) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    SCOPED_TRACE(static_cast<int>(ihl));
    Bytes packet = Ipv4(kTcp, TransportHeader(kTcp));
    packet[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(Classify(packet), std::nullopt);
  }
}

TEST(ClassifyPacket, RejectsIpv4HeaderLengthBeyondPacket) {
  Bytes packet = Ipv4(kUdp, TransportHeader(kUdp));
  packet[0] = 0x4f;  // 60-byte header in a 28-byte packet
  EXPECT_EQ(Classify(packet), std::nullopt);
}

TEST(ClassifyPacket, RejectsInconsistentIpv4TotalLength) {
  Bytes packet = Ipv4(kUdp, TransportHeader(kUdp));
  Put16(packet, 2, 19);  // shorter than the header
  EXPECT_EQ(Classify(packet), std::nullopt);
  Put16(packet, 2, static_cast<uint16_t>(packet.size() + 1));  // longer than the buffer
  EXPECT_EQ(Classify(packet), std::nullopt);
}

TEST(ClassifyPacket, RejectsTcpDataOffsetOutsideSegment) {
  Bytes tcp = TransportHeader(kTcp);
  tcp[12] = 4 << 4;
  EXPECT_EQ(Classify(Ipv4(kTcp, tcp)), std::nullopt);
  tcp[12] = 6 << 4;  // options claimed but absent
  EXPECT_EQ(Classify(Ipv4(kTcp, tcp)), std::nullopt);
}

TEST(ClassifyPacket, RejectsUnknownIpVersions) {
  EXPECT_EQ(ClassifyPacket({}), std::nullopt);
  for (uint8_t version : {0, 1, 2, 3, 5, 7, 8, 15}) {
    SCOPED_TRACE(static_cast<int>(version));
    Bytes packet = Ipv4(kTcp, TransportHeader(kTcp));
    packet[0] = static_cast<uint8_t>((version << 4) | 5);
    EXPECT_EQ(Classify(packet), std::nullopt);
  }
  Bytes v6_as_v4 = Ipv6(kUdp, TransportHeader(kUdp));
  v6_as_v4[0] = 0x45;
  v6_as_v4.resize(30);
  EXPECT_NO_FATAL_FAILURE(Classify(v6_as_v4));
}

// Every prefix of each packet is cut: the IP length fields then promise more than the buffer has.
TEST(ClassifyPacket, ReturnsNoFlowForEveryTruncationOfAValidPacket) {
  const std::vector<Bytes> packets = {
      Ipv4(kTcp, TransportHeader(kTcp), 2),
      Ipv4(kSctp, TransportHeader(kSctp)),
      Ipv4(kAuth, Concat(AuthHeader(kUdp), TransportHeader(kUdp))),
      Ipv6(kHopByHop, Concat(Concat(ExtensionHeader(kFragment, 2), FragmentHeader(kTcp, 0, true)),
                             TransportHeader(kTcp))),
      Ipv6(kUdpLite, TransportHeader(kUdpLite)),
  };
  for (const Bytes& packet : packets) {
    ASSERT_TRUE(Classify(packet).has_value());
    for (size_t length = 0; length < packet.size(); ++length) {
      SCOPED_TRACE(length);
      // A copy of exactly `length` bytes, so ASan sees any read past the end.
      const Bytes prefix(packet.begin(), packet.begin() + static_cast<ptrdiff_t>(length));
      EXPECT_EQ(Classify(prefix), std::nullopt);
    }
  }
}

// Here the cut packets are made self-consistent (IP length fields shrunk to the cut), so only
// the transport header check stands between a short packet and a bogus key.
TEST(ClassifyPacket, ReturnsNoFlowWhenTransportHeaderIsCutEvenIfLengthsAgree) {
  struct Case {
    Bytes packet;
    bool ipv6;
    size_t transport_end;  // offset just past the transport's fixed header
  };
  const Bytes v6_chain = Concat(ExtensionHeader(kUdp), TransportHeader(kUdp));
  const std::vector<Case> cases = {
      {Ipv4(kTcp, TransportHeader(kTcp)), false, 40},
      {Ipv4(kUdp, TransportHeader(kUdp), 1), false, 32},
      {Ipv4(kSctp, TransportHeader(kSctp)), false, 32},
      {Ipv6(kUdpLite, TransportHeader(kUdpLite)), true, 48},
      {Ipv6(kTcp, TransportHeader(kTcp)), true, 60},
      {Ipv6(kDestOptions, v6_chain), true, 56},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(c.packet.size(), c.transport_end);
    const size_t ip_header = c.ipv6 ? 40 : (c.packet[0] & 0x0f) * 4u;
    for (size_t length = ip_header; length <= c.packet.size(); ++length) {
      SCOPED_TRACE(length);
      Bytes prefix(c.packet.begin(), c.packet.begin() + static_cast<ptrdiff_t>(length));
      if (c.ipv6) {
        Put16(prefix, 4, static_cast<uint16_t>(length - 40));
      } else {
        Put16(prefix, 2, static_cast<uint16_t>(length));
      }
      EXPECT_EQ(Classify(prefix).has_value(), length == c.transport_end);
    }
  }
}

// Random and randomly damaged packets: nothing may be read out of bounds (ASan) and the answer,
// whatever it is, must come back.
TEST(ClassifyPacket, NeverReadsOutsideRandomOrDamagedPackets) {
  std::mt19937_64 rng(7);
  const std::vector<Bytes> seeds = {
      Ipv4(kTcp, TransportHeader(kTcp), 3),
      Ipv6(kHopByHop, Concat(Concat(ExtensionHeader(kRouting), ExtensionHeader(kFragment)),
                             Concat(FragmentHeader(kUdp, 0, true), TransportHeader(kUdp)))),
  };
  for (int i = 0; i < 20000; ++i) {
    Bytes packet;
    if (i % 2 == 0) {
      packet.resize(rng() % 80);
      for (uint8_t& b : packet) b = static_cast<uint8_t>(rng());
      if (!packet.empty())
        packet[0] = static_cast<uint8_t>((rng() % 2 ? 0x40 : 0x60) | (rng() & 15));
    } else {
      packet = seeds[rng() % seeds.size()];
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        packet[rng() % packet.size()] = static_cast<uint8_t>(rng());
      }
      packet.resize(rng() % (packet.size() + 1));
    }
    (void)Classify(packet);
  }
}

}  // namespace
}  // namespace fleetbond::bond
