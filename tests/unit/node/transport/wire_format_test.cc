#include "node/transport/wire_format.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fleetbond::transport {
namespace {

// A datagram of `body_size` plaintext bytes for `type`, with a valid header and zero body/tag.
std::vector<uint8_t> Datagram(MessageType type, size_t body_size) {
  std::vector<uint8_t> d(kHeaderSize + body_size + kAeadTagSize);
  Header header;
  header.type = type;
  header.epoch = 3;
  header.sender = NodeId(0xabcdef0123);
  header.counter = 0x1122334455667788;
  WriteHeader(header, d.data());
  return d;
}

TEST(WireFormat, HeaderRoundTripsAndIsBigEndianAtDocumentedOffsets) {
  std::vector<uint8_t> d = Datagram(MessageType::kProbe, kProbeBodySize);
  const std::vector<uint8_t> expected_header = {
      0x01, 0x02, 0x00, 0x03,                          // version, type, flags, epoch
      0xab, 0xcd, 0xef, 0x01, 0x23,                    // sender id
      0x00, 0x00, 0x00,                                // reserved
      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  // counter
  };
  EXPECT_EQ(std::vector<uint8_t>(d.begin(), d.begin() + kHeaderSize), expected_header);
  Header parsed;
  ASSERT_EQ(ParseHeader(d, &parsed), DropReason::kNone);
  EXPECT_EQ(parsed.version, kWireVersion);
  EXPECT_EQ(parsed.type, MessageType::kProbe);
  EXPECT_EQ(parsed.flags, 0);
  EXPECT_EQ(parsed.epoch, 3);
  EXPECT_EQ(parsed.sender, NodeId(0xabcdef0123));
  EXPECT_EQ(parsed.counter, 0x1122334455667788u);
}

TEST(WireFormat, OverheadAndInnerMtuArithmetic) {
  EXPECT_EQ(kHeaderSize, 20u);
  EXPECT_EQ(kDataOverhead, 20u + 4u + 8u + 16u);
  EXPECT_EQ(InnerMtu(1500), 1500u - 40u - 8u - 48u);
  EXPECT_EQ(InnerMtu(1500), 1404u);
  EXPECT_EQ(InnerMtu(9000), 8904u);
  EXPECT_EQ(InnerMtu(50), 0u);
}

TEST(WireFormat, RejectsEveryTruncationOfEveryType) {
  struct Case {
    MessageType type;
    size_t body;
  };
  for (Case c :
       {Case{MessageType::kData, kDataPrefixSize + 1}, Case{MessageType::kProbe, kProbeBodySize},
        Case{MessageType::kProbeReply, kProbeReplyBodySize}}) {
    std::vector<uint8_t> full = Datagram(c.type, c.body);
    Header header;
    ASSERT_EQ(ParseHeader(full, &header), DropReason::kNone);
    for (size_t n = 0; n < full.size(); ++n) {
      EXPECT_EQ(ParseHeader(ConstBytes(full).first(n), &header), DropReason::kTooShort)
          << "type " << static_cast<int>(c.type) << " length " << n;
    }
  }
}

TEST(WireFormat, RejectsWrongVersion) {
  std::vector<uint8_t> d = Datagram(MessageType::kData, 100);
  Header header;
  for (int v : {0, 2, 255}) {
    d[kVersionOffset] = static_cast<uint8_t>(v);
    EXPECT_EQ(ParseHeader(d, &header), DropReason::kBadVersion) << v;
  }
}

TEST(WireFormat, RejectsUnknownTypesAndTheUnimplementedCookieReply) {
  std::vector<uint8_t> d = Datagram(MessageType::kData, 100);
  Header header;
  for (int t = 0; t < 256; ++t) {
    d[kTypeOffset] = static_cast<uint8_t>(t);
    DropReason r = ParseHeader(d, &header);
    if (t >= 1 && t <= 2) {
      EXPECT_EQ(r, DropReason::kNone) << t;
    } else if (t == 3 || t == 0x10 || t == 0x11) {
      // Probe replies and handshake messages have a fixed size.
      EXPECT_EQ(r, DropReason::kBadBodyLength) << t;
    } else {
      EXPECT_EQ(r, DropReason::kUnknownType) << t;
    }
  }
}

TEST(WireFormat, HandshakeMessagesAreExactly68Bytes) {
  EXPECT_EQ(kHandshakeMessageSize, 68u);
  Header header;
  for (MessageType type : {MessageType::kHandshakeInitiation, MessageType::kHandshakeResponse}) {
    std::vector<uint8_t> d = Datagram(type, kHandshakeMessageSize - kHeaderSize - kAeadTagSize);
    ASSERT_EQ(d.size(), kHandshakeMessageSize);
    EXPECT_EQ(ParseHeader(d, &header), DropReason::kNone);
    EXPECT_EQ(header.type, type);
    EXPECT_EQ(header.epoch, 3);
    d.push_back(0);
    EXPECT_EQ(ParseHeader(d, &header), DropReason::kBadBodyLength);
    d.resize(kHandshakeMessageSize - 1);
    EXPECT_EQ(ParseHeader(d, &header), DropReason::kTooShort);
  }
}

TEST(WireFormat, RejectsNonZeroFlagsAndReservedBytes) {
  Header header;
  for (size_t offset : {kFlagsOffset, kReservedOffset, kReservedOffset + 1, kReservedOffset + 2}) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> d = Datagram(MessageType::kData, 100);
      d[offset] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_EQ(ParseHeader(d, &header), DropReason::kReservedBitsSet) << offset << "/" << bit;
    }
  }
}

TEST(WireFormat, RejectsProbeReplyOfWrongSizeAndOversizedDatagrams) {
  Header header;
  EXPECT_EQ(ParseHeader(Datagram(MessageType::kProbeReply, kProbeReplyBodySize + 1), &header),
            DropReason::kBadBodyLength);
  EXPECT_EQ(ParseHeader(Datagram(MessageType::kData, kMaxDatagramSize), &header),
            DropReason::kTooLong);
  EXPECT_EQ(ParseHeader(Datagram(MessageType::kData, kMaxDatagramSize - kHeaderSize - kAeadTagSize),
                        &header),
            DropReason::kNone);
}

TEST(WireFormat, BodiesRoundTrip) {
  uint8_t data[kDataPrefixSize];
  EncodeDataPrefix(0xfffffffe, 0x0102030405060708, data);
  uint32_t path_seq = 0;
  uint64_t bond_seq = 0;
  ASSERT_TRUE(DecodeDataPrefix(data, &path_seq, &bond_seq));
  EXPECT_EQ(path_seq, 0xfffffffeu);
  EXPECT_EQ(bond_seq, 0x0102030405060708u);

  uint8_t probe_body[kProbeBodySize];
  EncodeProbe(7, Probe{.probe_seq = 9, .sender_timestamp_ns = 123456789012345}, probe_body);
  Probe probe;
  ASSERT_TRUE(DecodeProbe(probe_body, &path_seq, &probe));
  EXPECT_EQ(path_seq, 7u);
  EXPECT_EQ(probe.probe_seq, 9u);
  EXPECT_EQ(probe.sender_timestamp_ns, 123456789012345u);

  ProbeReply reply{.probe_seq = 9,
                   .echoed_timestamp_ns = 123456789012345,
                   .hold_time_ns = 4000,
                   .highest_path_seq = 77,
                   .received_on_path = 0x100000000};
  uint8_t reply_body[kProbeReplyBodySize];
  EncodeProbeReply(8, reply, reply_body);
  ProbeReply back;
  ASSERT_TRUE(DecodeProbeReply(reply_body, &path_seq, &back));
  EXPECT_EQ(path_seq, 8u);
  EXPECT_EQ(back.probe_seq, reply.probe_seq);
  EXPECT_EQ(back.echoed_timestamp_ns, reply.echoed_timestamp_ns);
  EXPECT_EQ(back.hold_time_ns, reply.hold_time_ns);
  EXPECT_EQ(back.highest_path_seq, reply.highest_path_seq);
  EXPECT_EQ(back.received_on_path, reply.received_on_path);

  EXPECT_FALSE(DecodeProbeReply(ConstBytes(reply_body).first(31), &path_seq, &back));
  EXPECT_FALSE(DecodeProbe(ConstBytes(probe_body).first(15), &path_seq, &probe));
  EXPECT_FALSE(DecodeDataPrefix(ConstBytes(data).first(11), &path_seq, &bond_seq));
}

TEST(WireFormat, EveryDropReasonHasADistinctName) {
  std::set<absl::string_view> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    absl::string_view name = DropReasonName(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
}

}  // namespace
}  // namespace fleetbond::transport
