// Fuzz target: the data-plane receive path of node/transport — header parsing, AEAD open and the
// replay window — between two fixed identities A (sender) and B (receiver).
//
// The first byte picks a mode:
//   0 raw      blobs are opened as datagrams by one receiver, in order. Raw bytes seldom
//              authenticate, but the corpus holds datagrams sealed under the fixed keys, so
//              mutations of real packets get past the tag check too.
//   1 sealed   records describe a datagram (counter, type, body, header bytes, an optional bit
//              flip) that is sealed under A's key exactly as written and then opened at B: every
//              check after the tag is reachable, and the verdict is compared with a model.
//   2 codec    PacketCodec::Seal* at A with fuzzed fields and buffer sizes, then deliveries to B
//              in a fuzzed order (reordering, duplicates), compared with a model.
//   3 window   counters straight into a ReplayWindow, compared with a model.
// Each run starts from fresh codecs and windows: nothing carries over between inputs.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include "node/transport/aead.h"
#include "node/transport/packet_codec.h"
#include "node/transport/peer_keys.h"
#include "node/transport/replay_window.h"
#include "node/transport/wire_format.h"
#include "tests/fuzz/fuzz_identities.h"
#include "tests/fuzz/fuzz_input.h"

namespace fleetbond::fuzz {
namespace {

using transport::ConstBytes;
using transport::DropReason;
using transport::Header;
using transport::MessageType;
using transport::OpenedPacket;
using transport::PacketCodec;
using transport::PeerKeys;
using transport::ReplayWindow;

struct KeyPair {
  PeerKeys a;  // A's side: send = A -> B
  PeerKeys b;  // B's side: receive = A -> B
};

const KeyPair& Keys() {
  static const KeyPair keys = [] {
    absl::StatusOr<PeerKeys> a = transport::DerivePeerKeys(IdentityA(), IdentityB().public_key());
    absl::StatusOr<PeerKeys> b = transport::DerivePeerKeys(IdentityB(), IdentityA().public_key());
    FB_FUZZ_CHECK(a.ok() && b.ok());
    return KeyPair{*a, *b};
  }();
  return keys;
}

PacketCodec Receiver() {
  absl::StatusOr<PacketCodec> codec =
      PacketCodec::Create(IdentityB().id(), IdentityA().id(), Keys().b, 1);
  FB_FUZZ_CHECK(codec.ok());
  return *std::move(codec);
}

PacketCodec Sender(uint64_t first_counter) {
  absl::StatusOr<PacketCodec> codec =
      PacketCodec::Create(IdentityA().id(), IdentityB().id(), Keys().a, first_counter);
  FB_FUZZ_CHECK(codec.ok());
  return *std::move(codec);
}

// ReplayModel is the replay window's specification, written the slow and obvious way.
class ReplayModel {
 public:
  ReplayWindow::Verdict Check(uint64_t counter) const {
    if (!any_ || counter > highest_) return ReplayWindow::Verdict::kFresh;
    if (highest_ - counter >= ReplayWindow::kWindowSize) return ReplayWindow::Verdict::kTooOld;
    return seen_.count(counter) ? ReplayWindow::Verdict::kDuplicate : ReplayWindow::Verdict::kFresh;
  }
  void Accept(uint64_t counter) {
    if (!any_ || counter > highest_) highest_ = counter;
    any_ = true;
    seen_.insert(counter);
    while (!seen_.empty() && highest_ - *seen_.begin() >= ReplayWindow::kWindowSize) {
      seen_.erase(seen_.begin());
    }
  }
  DropReason Expected(uint64_t counter) const {
    switch (Check(counter)) {
      case ReplayWindow::Verdict::kFresh:
        return DropReason::kNone;
      case ReplayWindow::Verdict::kDuplicate:
        return DropReason::kReplayed;
      case ReplayWindow::Verdict::kTooOld:
        return DropReason::kTooOld;
    }
    return DropReason::kNone;
  }
  uint64_t highest() const { return highest_; }
  bool empty() const { return !any_; }

 private:
  bool any_ = false;
  uint64_t highest_ = 0;
  std::set<uint64_t> seen_;
};

bool SameBytes(ConstBytes a, ConstBytes b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// CheckDecoded holds an accepted packet to the plaintext body it was sealed from.
void CheckDecoded(const OpenedPacket& packet, ConstBytes body) {
  FB_FUZZ_CHECK(body.size() >= transport::kPathSeqSize);
  FB_FUZZ_CHECK(packet.path_seq == transport::LoadBigEndian32(body.data()));
  switch (packet.header.type) {
    case MessageType::kData:
      FB_FUZZ_CHECK(body.size() > transport::kDataPrefixSize);
      FB_FUZZ_CHECK(packet.bond_seq == transport::LoadBigEndian64(body.data() + 4));
      FB_FUZZ_CHECK(SameBytes(packet.inner_packet, body.subspan(transport::kDataPrefixSize)));
      break;
    case MessageType::kProbe:
      FB_FUZZ_CHECK(packet.probe.probe_seq == transport::LoadBigEndian32(body.data() + 4));
      FB_FUZZ_CHECK(packet.probe.sender_timestamp_ns ==
                    transport::LoadBigEndian64(body.data() + 8));
      break;
    case MessageType::kProbeReply:
      FB_FUZZ_CHECK(body.size() == transport::kProbeReplyBodySize);
      FB_FUZZ_CHECK(packet.probe_reply.probe_seq == transport::LoadBigEndian32(body.data() + 4));
      FB_FUZZ_CHECK(packet.probe_reply.echoed_timestamp_ns ==
                    transport::LoadBigEndian64(body.data() + 8));
      FB_FUZZ_CHECK(packet.probe_reply.hold_time_ns ==
                    transport::LoadBigEndian32(body.data() + 16));
      FB_FUZZ_CHECK(packet.probe_reply.highest_path_seq ==
                    transport::LoadBigEndian32(body.data() + 20));
      FB_FUZZ_CHECK(packet.probe_reply.received_on_path ==
                    transport::LoadBigEndian64(body.data() + 24));
      break;
    default:
      FB_FUZZ_CHECK(false && "accepted a type that carries no body");
  }
}

void RunRaw(FuzzInput& in) {
  PacketCodec rx = Receiver();
  while (!in.empty()) {
    ConstBytes blob = in.Blob();
    std::vector<uint8_t> datagram(blob.begin(), blob.end());
    Header header;
    DropReason parsed = transport::ParseHeader(datagram, &header);
    OpenedPacket packet;
    DropReason opened = rx.Open(datagram, &packet);
    if (parsed != DropReason::kNone) {
      FB_FUZZ_CHECK(opened == parsed);
      continue;
    }
    if (opened != DropReason::kNone) continue;
    // Accepted: its views lie inside the datagram, and the very same bytes never pass twice.
    if (packet.header.type == MessageType::kData) {
      FB_FUZZ_CHECK(!packet.inner_packet.empty());
      FB_FUZZ_CHECK(packet.inner_packet.data() == datagram.data() + transport::kDataPayloadOffset);
      FB_FUZZ_CHECK(packet.inner_packet.size() == datagram.size() - transport::kDataOverhead);
    }
    std::vector<uint8_t> again(blob.begin(), blob.end());
    FB_FUZZ_CHECK(rx.Open(again, &packet) == DropReason::kReplayed);
  }
}

void RunSealed(FuzzInput& in) {
  PacketCodec rx = Receiver();
  ReplayModel model;
  uint64_t counter = 1'700'000'000'000'000'000;
  while (!in.empty()) {
    const uint8_t ctl = in.Byte();
    if (ctl & 0x01) {
      counter = in.U64();
    } else {
      counter += static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(in.U16())));
    }
    uint8_t type = 0;
    switch ((ctl >> 1) & 3) {
      case 0:
        type = static_cast<uint8_t>(MessageType::kData);
        break;
      case 1:
        type = static_cast<uint8_t>(MessageType::kProbe);
        break;
      case 2:
        type = static_cast<uint8_t>(MessageType::kProbeReply);
        break;
      default:
        type = in.Byte();
        break;
    }
    ConstBytes body = in.Blob();
    std::vector<uint8_t> datagram(transport::kHeaderSize + body.size() + transport::kAeadTagSize);
    uint8_t* h = datagram.data();
    h[transport::kVersionOffset] = transport::kWireVersion;
    h[transport::kTypeOffset] = type;
    transport::StoreBigEndian(h + transport::kSenderOffset, IdentityA().id().value(),
                              NodeId::kBytes);
    if (ctl & 0x08) {  // header bytes as the input says, all but the counter
      h[transport::kFlagsOffset] = in.Byte();
      h[transport::kEpochOffset] = in.Byte();
      ConstBytes reserved = in.Bytes(transport::kReservedSize);
      std::copy(reserved.begin(), reserved.end(), h + transport::kReservedOffset);
    }
    if (ctl & 0x10) transport::StoreBigEndian(h + transport::kSenderOffset, in.U64(), 5);
    if (ctl & 0x40) h[transport::kVersionOffset] = in.Byte();
    transport::StoreBigEndian64(h + transport::kCounterOffset, counter);

    absl::StatusOr<transport::Sealer> sealer = transport::Sealer::Create(Keys().a.send, counter);
    FB_FUZZ_CHECK(sealer.ok());
    std::optional<uint64_t> taken = sealer->TakeCounter();
    if (!taken.has_value()) {
      FB_FUZZ_CHECK(counter == transport::Sealer::kLastCounter);
      continue;
    }
    FB_FUZZ_CHECK(*taken == counter);
    transport::MutableBytes whole(datagram);
    FB_FUZZ_CHECK(sealer->Seal(counter, whole.first(transport::kHeaderSize), {}, body,
                               whole.subspan(transport::kHeaderSize)) == transport::AeadError::kOk);

    bool tampered = false;
    if (ctl & 0x20) {
      const size_t at = in.U16() % datagram.size();
      datagram[at] ^= static_cast<uint8_t>(in.Byte() | 1);
      tampered = true;
    }

    Header header;
    DropReason expected = transport::ParseHeader(datagram, &header);
    // Handshake messages share the header but are not sealed under a codec's keys: a codec
    // refuses them whatever they hold (the exact reason belongs to the handshake).
    const bool sealed_type = header.type == MessageType::kData ||
                             header.type == MessageType::kProbe ||
                             header.type == MessageType::kProbeReply;
    bool exact = true;
    if (expected == DropReason::kNone) {
      if (header.sender != IdentityA().id()) {
        expected = DropReason::kUnknownPeer;
      } else if (!sealed_type) {
        exact = false;
      } else if (header.epoch != transport::kStaticKeyEpoch) {
        expected = DropReason::kUnknownKeyEpoch;
      } else if (tampered) {
        expected = DropReason::kAuthenticationFailed;
      } else {
        expected = model.Expected(counter);
      }
    }
    OpenedPacket packet;
    const DropReason opened = rx.Open(datagram, &packet);
    FB_FUZZ_CHECK(exact ? opened == expected : opened != DropReason::kNone);
    if (opened == DropReason::kNone) {
      FB_FUZZ_CHECK(packet.header.counter == counter);
      FB_FUZZ_CHECK(packet.header.sender == IdentityA().id());
      CheckDecoded(packet, body);
      model.Accept(counter);
    }
    FB_FUZZ_CHECK(rx.replay_window().empty() == model.empty());
    FB_FUZZ_CHECK(rx.replay_window().highest() == model.highest());
  }
}

struct Sent {
  std::vector<uint8_t> datagram;
  std::vector<uint8_t> body;  // the plaintext body it was sealed from
  uint64_t counter = 0;
};

void RunCodec(FuzzInput& in) {
  // Counters near the top of the range reach counter exhaustion.
  uint64_t first = in.U64();
  PacketCodec tx = Sender(first);
  PacketCodec rx = Receiver();
  ReplayModel model;
  std::vector<Sent> sent;
  while (!in.empty()) {
    const uint8_t op = in.Byte();
    if (op & 0x80) {  // deliver one of the datagrams sealed so far
      if (sent.empty()) continue;
      const Sent& s = sent[in.U16() % sent.size()];
      std::vector<uint8_t> copy = s.datagram;
      const DropReason expected = model.Expected(s.counter);
      OpenedPacket packet;
      FB_FUZZ_CHECK(rx.Open(copy, &packet) == expected);
      if (expected == DropReason::kNone) {
        CheckDecoded(packet, s.body);
        model.Accept(s.counter);
      }
      continue;
    }
    const uint32_t path_seq = in.U32();
    const int slack = static_cast<int8_t>(in.Byte());  // room in the output buffer, +/- bytes
    const uint64_t counter = tx.next_send_counter();
    std::vector<uint8_t> body(4);
    transport::StoreBigEndian32(body.data(), path_seq);
    std::vector<uint8_t> out;
    transport::SealResult r;
    size_t need = 0;
    switch (op % 3) {
      case 0: {
        const uint64_t bond_seq = in.U64();
        ConstBytes inner = in.Blob();
        body.resize(transport::kDataPrefixSize);
        transport::StoreBigEndian64(body.data() + 4, bond_seq);
        body.insert(body.end(), inner.begin(), inner.end());
        need = inner.size() + transport::kDataOverhead;
        out.resize(static_cast<size_t>(std::max<int64_t>(0, static_cast<int64_t>(need) + slack)));
        if ((op & 0x40) && out.size() >= need) {  // seal in place
          std::copy(inner.begin(), inner.end(), out.begin() + transport::kDataPayloadOffset);
          r = tx.SealData(path_seq, bond_seq,
                          ConstBytes(out.data() + transport::kDataPayloadOffset, inner.size()),
                          out);
        } else {
          r = tx.SealData(path_seq, bond_seq, inner, out);
        }
        if (inner.empty()) FB_FUZZ_CHECK(r.error == transport::SealError::kEmptyPayload);
        break;
      }
      case 1: {
        transport::Probe probe{.probe_seq = in.U32(), .sender_timestamp_ns = in.U64()};
        ConstBytes padding = in.Blob();
        body.resize(transport::kProbeBodySize);
        transport::StoreBigEndian32(body.data() + 4, probe.probe_seq);
        transport::StoreBigEndian64(body.data() + 8, probe.sender_timestamp_ns);
        body.insert(body.end(), padding.begin(), padding.end());
        need = transport::kHeaderSize + body.size() + transport::kAeadTagSize;
        out.resize(static_cast<size_t>(std::max<int64_t>(0, static_cast<int64_t>(need) + slack)));
        r = tx.SealProbe(path_seq, probe, out, padding);
        break;
      }
      default: {
        transport::ProbeReply reply{.probe_seq = in.U32(),
                                    .echoed_timestamp_ns = in.U64(),
                                    .hold_time_ns = in.U32(),
                                    .highest_path_seq = in.U32(),
                                    .received_on_path = in.U64()};
        uint8_t encoded[transport::kProbeReplyBodySize];
        transport::EncodeProbeReply(path_seq, reply, encoded);
        body.assign(encoded, encoded + sizeof(encoded));
        need = transport::kHeaderSize + body.size() + transport::kAeadTagSize;
        out.resize(static_cast<size_t>(std::max<int64_t>(0, static_cast<int64_t>(need) + slack)));
        r = tx.SealProbeReply(path_seq, reply, out);
        break;
      }
    }
    if (!r.ok()) {
      FB_FUZZ_CHECK(r.error != transport::SealError::kCryptoFailure);
      continue;
    }
    FB_FUZZ_CHECK(r.size == need && out.size() >= need);
    FB_FUZZ_CHECK(counter != transport::Sealer::kLastCounter);
    out.resize(r.size);
    if (sent.size() < 64) sent.push_back(Sent{std::move(out), std::move(body), counter});
  }
}

void RunWindow(FuzzInput& in) {
  ReplayWindow window;
  ReplayModel model;
  uint64_t counter = 0;
  while (!in.empty()) {
    const uint8_t ctl = in.Byte();
    if (ctl & 1) {
      counter = in.U64();
    } else {
      counter += static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(in.U16())));
    }
    const ReplayWindow::Verdict verdict = window.Check(counter);
    FB_FUZZ_CHECK(verdict == model.Check(counter));
    if (verdict == ReplayWindow::Verdict::kFresh && !(ctl & 2)) {
      window.Accept(counter);
      model.Accept(counter);
      FB_FUZZ_CHECK(window.Check(counter) == ReplayWindow::Verdict::kDuplicate);
    }
    FB_FUZZ_CHECK(window.highest() == model.highest());
    FB_FUZZ_CHECK(window.empty() == model.empty());
  }
}

}  // namespace
}  // namespace fleetbond::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fleetbond::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 4) {
    case 0:
      fleetbond::fuzz::RunRaw(in);
      break;
    case 1:
      fleetbond::fuzz::RunSealed(in);
      break;
    case 2:
      fleetbond::fuzz::RunCodec(in);
      break;
    default:
      fleetbond::fuzz::RunWindow(in);
      break;
  }
  return 0;
}
