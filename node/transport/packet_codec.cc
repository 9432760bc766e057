#include "node/transport/packet_codec.h"

#include <utility>

#include "shared/status_macros.h"

namespace fleetbond::transport {

absl::string_view SealErrorName(SealError error) {
  switch (error) {
    case SealError::kOk:
      return "ok";
    case SealError::kBufferTooSmall:
      return "buffer_too_small";
    case SealError::kPayloadTooLarge:
      return "payload_too_large";
    case SealError::kEmptyPayload:
      return "empty_payload";
    case SealError::kCounterExhausted:
      return "counter_exhausted";
    case SealError::kCryptoFailure:
      return "crypto_failure";
  }
  return "unknown";
}

uint64_t InitialSendCounter(absl::Time now) {
  int64_t ns = absl::ToUnixNanos(now);
  return ns > 0 ? static_cast<uint64_t>(ns) : 0;
}

absl::StatusOr<PacketCodec> PacketCodec::Create(NodeId self, NodeId peer, const PeerKeys& keys,
                                                uint64_t first_send_counter) {
  FB_ASSIGN_OR_RETURN(Sealer sealer, Sealer::Create(keys.send, first_send_counter));
  FB_ASSIGN_OR_RETURN(Opener opener, Opener::Create(keys.receive));
  return PacketCodec(self, peer, keys.epoch, std::move(sealer), std::move(opener));
}

PacketCodec::PacketCodec(NodeId self, NodeId peer, KeyEpoch epoch, Sealer sealer, Opener opener)
    : self_(self),
      peer_(peer),
      epoch_(epoch),
      sealer_(std::move(sealer)),
      opener_(std::move(opener)) {}

SealResult PacketCodec::Seal(MessageType type, ConstBytes head, ConstBytes body, MutableBytes out) {
  size_t size = kHeaderSize + head.size() + body.size() + kAeadTagSize;
  if (body.size() > kMaxDatagramSize || size > kMaxDatagramSize) {
    return {SealError::kPayloadTooLarge, 0};
  }
  if (out.size() < size) return {SealError::kBufferTooSmall, 0};
  std::optional<uint64_t> counter = sealer_.TakeCounter();
  if (!counter.has_value()) return {SealError::kCounterExhausted, 0};

  Header header;
  header.type = type;
  header.epoch = epoch_;
  header.sender = self_;
  header.counter = *counter;
  WriteHeader(header, out.data());
  AeadError error = sealer_.Seal(*counter, out.first(kHeaderSize), head, body,
                                 out.subspan(kHeaderSize, size - kHeaderSize));
  if (error != AeadError::kOk) {
    return {error == AeadError::kBufferTooSmall ? SealError::kBufferTooSmall
                                                : SealError::kCryptoFailure,
            0};
  }
  return {SealError::kOk, size};
}

SealResult PacketCodec::SealData(uint32_t path_seq, uint64_t bond_seq, ConstBytes inner_packet,
                                 MutableBytes out) {
  // An empty data packet would carry nothing to the TUN; receivers refuse it, so never send one.
  if (inner_packet.empty()) return {SealError::kEmptyPayload, 0};
  uint8_t prefix[kDataPrefixSize];
  EncodeDataPrefix(path_seq, bond_seq, prefix);
  return Seal(MessageType::kData, prefix, inner_packet, out);
}

SealResult PacketCodec::SealProbe(uint32_t path_seq, const Probe& probe, MutableBytes out,
                                  ConstBytes padding) {
  uint8_t body[kProbeBodySize];
  EncodeProbe(path_seq, probe, body);
  return Seal(MessageType::kProbe, body, padding, out);
}

SealResult PacketCodec::SealProbeReply(uint32_t path_seq, const ProbeReply& reply,
                                       MutableBytes out) {
  uint8_t body[kProbeReplyBodySize];
  EncodeProbeReply(path_seq, reply, body);
  return Seal(MessageType::kProbeReply, body, {}, out);
}

DropReason PacketCodec::Open(MutableBytes datagram, OpenedPacket* packet) {
  Header header;
  if (DropReason r = ParseHeader(datagram, &header); r != DropReason::kNone) return r;
  if (header.sender != peer_) return DropReason::kUnknownPeer;
  if (header.epoch != epoch_) return DropReason::kUnknownKeyEpoch;

  MutableBytes sealed = datagram.subspan(kHeaderSize);
  MutableBytes plaintext = sealed.first(sealed.size() - kAeadTagSize);
  if (opener_.Open(header.counter, datagram.first(kHeaderSize), sealed, plaintext) !=
      AeadError::kOk) {
    return DropReason::kAuthenticationFailed;
  }
  switch (replay_window_.Check(header.counter)) {
    case ReplayWindow::Verdict::kFresh:
      break;
    case ReplayWindow::Verdict::kDuplicate:
      return DropReason::kReplayed;
    case ReplayWindow::Verdict::kTooOld:
      return DropReason::kTooOld;
  }

  // ParseHeader has already checked the body length for the type, so decoding cannot fail; the
  // checks stay as a second line of defence.
  packet->header = header;
  bool decoded = false;
  switch (header.type) {
    case MessageType::kData:
      decoded = DecodeDataPrefix(plaintext, &packet->path_seq, &packet->bond_seq) &&
                plaintext.size() > kDataPrefixSize;
      if (decoded) packet->inner_packet = plaintext.subspan(kDataPrefixSize);
      break;
    case MessageType::kProbe:
      decoded = DecodeProbe(plaintext, &packet->path_seq, &packet->probe);
      break;
    case MessageType::kProbeReply:
      decoded = DecodeProbeReply(plaintext, &packet->path_seq, &packet->probe_reply);
      break;
    default:
      break;
  }
  if (!decoded) return DropReason::kBadBodyLength;
  replay_window_.Accept(header.counter);
  return DropReason::kNone;
}

}  // namespace fleetbond::transport
