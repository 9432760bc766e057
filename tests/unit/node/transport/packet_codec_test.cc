#include "node/transport/packet_codec.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::transport {
namespace {

using ::fleetbond::testing::IsOk;

constexpr uint64_t kStartCounter = 1'700'000'000'000'000'000;

Identity NewIdentity() {
  auto identity = Identity::Generate();
  EXPECT_THAT(identity, IsOk());
  return std::move(identity).value();
}

PacketCodec NewCodec(const Identity& self, const Identity& peer, uint64_t first_counter) {
  auto keys = DerivePeerKeys(self, peer.public_key());
  EXPECT_THAT(keys, IsOk());
  auto codec = PacketCodec::Create(self.id(), peer.id(), *keys, first_counter);
  EXPECT_THAT(codec, IsOk());
  return std::move(codec).value();
}

std::vector<uint8_t> Text(absl::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// PacketCodecBetweenPeers is two nodes that peer with each other: a seals, b opens, and the other
// way round.
class PacketCodecBetweenPeers : public ::testing::Test {
 protected:
  PacketCodecBetweenPeers()
      : a_id_(NewIdentity()),
        b_id_(NewIdentity()),
        a_(NewCodec(a_id_, b_id_, kStartCounter)),
        b_(NewCodec(b_id_, a_id_, kStartCounter)) {}

  std::vector<uint8_t> SealData(PacketCodec& from, uint32_t path_seq, uint64_t bond_seq,
                                absl::string_view inner) {
    std::vector<uint8_t> out(inner.size() + kDataOverhead);
    std::vector<uint8_t> packet = Text(inner);
    SealResult r = from.SealData(path_seq, bond_seq, packet, out);
    EXPECT_TRUE(r.ok()) << SealErrorName(r.error);
    EXPECT_EQ(r.size, out.size());
    return out;
  }

  DropReason OpenCopy(PacketCodec& at, std::vector<uint8_t> datagram) {
    OpenedPacket packet;
    return at.Open(datagram, &packet);
  }

  Identity a_id_;
  Identity b_id_;
  PacketCodec a_;
  PacketCodec b_;
};

TEST_F(PacketCodecBetweenPeers, DataRoundTripsBetweenPeers) {
  std::vector<uint8_t> datagram = SealData(a_, 17, 99, "an inner IPv4 packet");
  OpenedPacket packet;
  ASSERT_EQ(b_.Open(datagram, &packet), DropReason::kNone);
  EXPECT_EQ(packet.header.type, MessageType::kData);
  EXPECT_EQ(packet.header.sender, a_id_.id());
  EXPECT_EQ(packet.header.epoch, kStaticKeyEpoch);
  EXPECT_EQ(packet.header.counter, kStartCounter);
  EXPECT_EQ(packet.path_seq, 17u);
  EXPECT_EQ(packet.bond_seq, 99u);
  EXPECT_EQ(std::string(packet.inner_packet.begin(), packet.inner_packet.end()),
            "an inner IPv4 packet");
  // The inner packet is a view into the datagram buffer: no copy.
  EXPECT_EQ(packet.inner_packet.data(), datagram.data() + kDataPayloadOffset);

  std::vector<uint8_t> back = SealData(b_, 1, 2, "reply");
  ASSERT_EQ(a_.Open(back, &packet), DropReason::kNone);
  EXPECT_EQ(packet.header.sender, b_id_.id());
  EXPECT_EQ(std::string(packet.inner_packet.begin(), packet.inner_packet.end()), "reply");
}

TEST_F(PacketCodecBetweenPeers, InnerPacketIsNotVisibleOnTheWire) {
  const std::string inner = "GET /secret HTTP/1.1";
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, inner);
  EXPECT_EQ(std::search(datagram.begin(), datagram.end(), inner.begin(), inner.end()),
            datagram.end());
}

TEST_F(PacketCodecBetweenPeers, ProbeAndProbeReplyRoundTrip) {
  std::vector<uint8_t> buf(256);
  SealResult r = a_.SealProbe(5, Probe{.probe_seq = 42, .sender_timestamp_ns = 987654321}, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.size, kHeaderSize + kProbeBodySize + kAeadTagSize);
  OpenedPacket probe;
  ASSERT_EQ(b_.Open(MutableBytes(buf).first(r.size), &probe), DropReason::kNone);
  EXPECT_EQ(probe.header.type, MessageType::kProbe);
  EXPECT_EQ(probe.path_seq, 5u);
  EXPECT_EQ(probe.probe.probe_seq, 42u);
  EXPECT_EQ(probe.probe.sender_timestamp_ns, 987654321u);

  ProbeReply reply{.probe_seq = probe.probe.probe_seq,
                   .echoed_timestamp_ns = probe.probe.sender_timestamp_ns,
                   .hold_time_ns = 1500,
                   .highest_path_seq = probe.path_seq,
                   .received_on_path = 1};
  r = b_.SealProbeReply(9, reply, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.size, kHeaderSize + kProbeReplyBodySize + kAeadTagSize);
  OpenedPacket answer;
  ASSERT_EQ(a_.Open(MutableBytes(buf).first(r.size), &answer), DropReason::kNone);
  EXPECT_EQ(answer.header.type, MessageType::kProbeReply);
  EXPECT_EQ(answer.path_seq, 9u);
  EXPECT_EQ(answer.probe_reply.probe_seq, 42u);
  EXPECT_EQ(answer.probe_reply.echoed_timestamp_ns, 987654321u);
  EXPECT_EQ(answer.probe_reply.hold_time_ns, 1500u);
  EXPECT_EQ(answer.probe_reply.highest_path_seq, 5u);
  EXPECT_EQ(answer.probe_reply.received_on_path, 1u);
}

TEST_F(PacketCodecBetweenPeers, ProbeMayCarryPaddingThatIsIgnored) {
  std::vector<uint8_t> padding(1000, 0);
  std::vector<uint8_t> buf(2000);
  SealResult r = a_.SealProbe(1, Probe{.probe_seq = 3}, buf, padding);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.size, kHeaderSize + kProbeBodySize + 1000 + kAeadTagSize);
  OpenedPacket probe;
  ASSERT_EQ(b_.Open(MutableBytes(buf).first(r.size), &probe), DropReason::kNone);
  EXPECT_EQ(probe.probe.probe_seq, 3u);
}

TEST_F(PacketCodecBetweenPeers, SealsDataInPlaceWithoutCopy) {
  const std::string inner = "read from the TUN straight into the send buffer";
  std::vector<uint8_t> buf(inner.size() + kDataOverhead);
  std::copy(inner.begin(), inner.end(), buf.begin() + kDataPayloadOffset);
  SealResult r = a_.SealData(3, 4, ConstBytes(buf).subspan(kDataPayloadOffset, inner.size()), buf);
  ASSERT_TRUE(r.ok()) << SealErrorName(r.error);
  OpenedPacket packet;
  ASSERT_EQ(b_.Open(buf, &packet), DropReason::kNone);
  EXPECT_EQ(std::string(packet.inner_packet.begin(), packet.inner_packet.end()), inner);
}

TEST_F(PacketCodecBetweenPeers, AnySingleBitFlipInHeaderCiphertextOrTagIsRejected) {
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, "flip me");
  for (size_t bit = 0; bit < datagram.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = datagram;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(OpenCopy(b_, flipped), DropReason::kNone) << "bit " << bit;
  }
  // Forgeries never moved the replay window: the genuine datagram still opens, once.
  EXPECT_EQ(OpenCopy(b_, datagram), DropReason::kNone);
  EXPECT_EQ(OpenCopy(b_, datagram), DropReason::kReplayed);
}

TEST_F(PacketCodecBetweenPeers, FlippedCounterOrBodyFailsAuthentication) {
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, "payload");
  for (size_t byte : {kCounterOffset, kCounterOffset + 7, kHeaderSize, datagram.size() - 1}) {
    std::vector<uint8_t> flipped = datagram;
    flipped[byte] ^= 0x01;
    EXPECT_EQ(OpenCopy(b_, flipped), DropReason::kAuthenticationFailed) << byte;
  }
}

TEST_F(PacketCodecBetweenPeers, WrongKeyIsRejected) {
  // A third node that claims a's id but holds other keys.
  Identity mallory = NewIdentity();
  auto keys = DerivePeerKeys(mallory, b_id_.public_key());
  ASSERT_THAT(keys, IsOk());
  auto forger = PacketCodec::Create(a_id_.id(), b_id_.id(), *keys, kStartCounter);
  ASSERT_THAT(forger, IsOk());
  std::vector<uint8_t> out(100);
  std::vector<uint8_t> inner = Text("forged");
  SealResult r = forger->SealData(1, 1, inner, out);
  ASSERT_TRUE(r.ok());
  out.resize(r.size);
  EXPECT_EQ(OpenCopy(b_, out), DropReason::kAuthenticationFailed);
}

TEST_F(PacketCodecBetweenPeers, ReflectedDatagramIsRejected) {
  // a's own datagram sent back to a: the sender id is not a's peer, and with the id rewritten the
  // direction's key is wrong.
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, "echo");
  EXPECT_EQ(OpenCopy(a_, datagram), DropReason::kUnknownPeer);
  StoreBigEndian(datagram.data() + kSenderOffset, b_id_.id().value(), NodeId::kBytes);
  EXPECT_EQ(OpenCopy(a_, datagram), DropReason::kAuthenticationFailed);
}

TEST_F(PacketCodecBetweenPeers, UnknownSenderAndUnknownEpochAreRejectedBeforeDecryption) {
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, "x");
  std::vector<uint8_t> other_sender = datagram;
  StoreBigEndian(other_sender.data() + kSenderOffset, 0x1234567890, NodeId::kBytes);
  EXPECT_EQ(OpenCopy(b_, other_sender), DropReason::kUnknownPeer);
  std::vector<uint8_t> other_epoch = datagram;
  other_epoch[kEpochOffset] = 1;
  EXPECT_EQ(OpenCopy(b_, other_epoch), DropReason::kUnknownKeyEpoch);
}

TEST_F(PacketCodecBetweenPeers, TruncatedDatagramsAtEveryLengthAreRejected) {
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, "some inner packet of moderate length");
  for (size_t n = 0; n < datagram.size(); ++n) {
    // An exact-size heap copy, so AddressSanitizer catches any read past the end.
    std::vector<uint8_t> truncated(datagram.begin(), datagram.begin() + n);
    EXPECT_NE(OpenCopy(b_, truncated), DropReason::kNone) << "length " << n;
  }
  EXPECT_EQ(OpenCopy(b_, datagram), DropReason::kNone);
}

TEST_F(PacketCodecBetweenPeers, ReplayedDatagramIsRejected) {
  std::vector<uint8_t> datagram = SealData(a_, 1, 1, "once");
  EXPECT_EQ(OpenCopy(b_, datagram), DropReason::kNone);
  EXPECT_EQ(OpenCopy(b_, datagram), DropReason::kReplayed);
  EXPECT_EQ(OpenCopy(b_, datagram), DropReason::kReplayed);
}

TEST_F(PacketCodecBetweenPeers, ReorderingWithinWindowIsAccepted) {
  std::vector<std::vector<uint8_t>> datagrams;
  for (int i = 0; i < 100; ++i) datagrams.push_back(SealData(a_, 1, i, "packet"));
  std::mt19937 rng(7);
  std::shuffle(datagrams.begin(), datagrams.end(), rng);
  for (const auto& d : datagrams) EXPECT_EQ(OpenCopy(b_, d), DropReason::kNone);
  for (const auto& d : datagrams) EXPECT_EQ(OpenCopy(b_, d), DropReason::kReplayed);
}

TEST_F(PacketCodecBetweenPeers, TooOldDatagramIsRejected) {
  std::vector<uint8_t> old = SealData(a_, 1, 0, "late");
  for (uint64_t i = 0; i < ReplayWindow::kWindowSize; ++i) {
    ASSERT_EQ(OpenCopy(b_, SealData(a_, 1, i + 1, "p")), DropReason::kNone);
  }
  EXPECT_EQ(OpenCopy(b_, old), DropReason::kTooOld);
}

TEST(PacketCodec, RefusesToSealWhenCounterWouldWrap) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  PacketCodec sender = NewCodec(a, b, Sealer::kLastCounter - 2);
  PacketCodec receiver = NewCodec(b, a, 0);
  std::vector<uint8_t> inner = Text("p"), out(64);
  for (int i = 0; i < 2; ++i) {
    SealResult r = sender.SealData(1, i, inner, out);
    ASSERT_TRUE(r.ok());
    OpenedPacket packet;
    EXPECT_EQ(receiver.Open(MutableBytes(out).first(r.size), &packet), DropReason::kNone);
  }
  EXPECT_EQ(sender.SealData(1, 2, inner, out).error, SealError::kCounterExhausted);
  EXPECT_EQ(sender.SealProbe(1, Probe{}, out).error, SealError::kCounterExhausted);
}

TEST(PacketCodec, SealRefusesSmallBufferEmptyAndOversizedPayload) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  PacketCodec codec = NewCodec(a, b, kStartCounter);
  std::vector<uint8_t> inner = Text("abc");
  std::vector<uint8_t> out(inner.size() + kDataOverhead - 1);
  EXPECT_EQ(codec.SealData(1, 1, inner, out).error, SealError::kBufferTooSmall);
  EXPECT_EQ(codec.SealData(1, 1, {}, out).error, SealError::kEmptyPayload);
  std::vector<uint8_t> huge(kMaxDatagramSize), big_out(kMaxDatagramSize + 100);
  EXPECT_EQ(codec.SealData(1, 1, huge, big_out).error, SealError::kPayloadTooLarge);
  // Refusals use no counter.
  EXPECT_EQ(codec.next_send_counter(), kStartCounter);
}

TEST(PacketCodec, RestartedSenderIsAcceptedAndNeverReusesANonce) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  absl::Time start = absl::FromUnixSeconds(1'764'000'000);
  PacketCodec receiver = NewCodec(b, a, InitialSendCounter(start));
  std::vector<uint8_t> inner = Text("p"), out(64);
  uint64_t last_counter = 0;
  {
    PacketCodec first_run = NewCodec(a, b, InitialSendCounter(start));
    for (int i = 0; i < 1000; ++i) {
      SealResult r = first_run.SealData(1, i, inner, out);
      ASSERT_TRUE(r.ok());
      OpenedPacket packet;
      ASSERT_EQ(receiver.Open(MutableBytes(out).first(r.size), &packet), DropReason::kNone);
      last_counter = packet.header.counter;
    }
  }
  // The same static keys after a restart one second later: counters start above the old ones.
  PacketCodec second_run = NewCodec(a, b, InitialSendCounter(start + absl::Seconds(1)));
  SealResult r = second_run.SealData(1, 0, inner, out);
  ASSERT_TRUE(r.ok());
  OpenedPacket packet;
  ASSERT_EQ(receiver.Open(MutableBytes(out).first(r.size), &packet), DropReason::kNone);
  EXPECT_GT(packet.header.counter, last_counter);
}

// Random buffers of random length, and random bodies behind a plausible header (so that they
// reach the AEAD), must all be dropped, with a reason, without a crash or a sanitizer report.
TEST_F(PacketCodecBetweenPeers, RandomGarbageIsAlwaysDroppedAndNeverCrashes) {
  std::mt19937_64 rng(0xfb);
  std::vector<size_t> counts(kDropReasonCount);
  for (int i = 0; i < 100'000; ++i) {
    size_t length = rng() % 1600;
    std::vector<uint8_t> garbage(length);
    for (auto& byte : garbage) byte = static_cast<uint8_t>(rng());
    if (i % 2 == 1 && length >= kHeaderSize) {
      Header header;
      header.type = static_cast<MessageType>(1 + rng() % 3);
      if (header.type == MessageType::kProbeReply) {
        garbage.resize(kHeaderSize + kProbeReplyBodySize + kAeadTagSize);
      }
      header.sender = a_id_.id();
      header.counter = rng();
      WriteHeader(header, garbage.data());
    }
    OpenedPacket packet;
    DropReason reason = b_.Open(garbage, &packet);
    ASSERT_NE(reason, DropReason::kNone) << "iteration " << i;
    ASSERT_LT(static_cast<size_t>(reason), kDropReasonCount);
    ++counts[static_cast<size_t>(reason)];
  }
  // Nearly half the inputs (all but the too-short plausible ones) got as far as the tag check.
  EXPECT_GT(counts[static_cast<size_t>(DropReason::kAuthenticationFailed)], 45'000u);
  // And the codec still works.
  EXPECT_EQ(OpenCopy(b_, SealData(a_, 1, 1, "still fine")), DropReason::kNone);
}

}  // namespace
}  // namespace fleetbond::transport
