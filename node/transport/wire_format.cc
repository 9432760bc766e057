#include "node/transport/wire_format.h"

namespace fleetbond::transport {

absl::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kTooShort:
      return "too_short";
    case DropReason::kTooLong:
      return "too_long";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kUnknownType:
      return "unknown_type";
    case DropReason::kHandshakeUnexpected:
      return "handshake_unexpected";
    case DropReason::kReservedBitsSet:
      return "reserved_bits_set";
    case DropReason::kBadBodyLength:
      return "bad_body_length";
    case DropReason::kUnknownPeer:
      return "unknown_peer";
    case DropReason::kUnknownKeyEpoch:
      return "unknown_key_epoch";
    case DropReason::kAuthenticationFailed:
      return "authentication_failed";
    case DropReason::kReplayed:
      return "replayed";
    case DropReason::kTooOld:
      return "too_old";
    case DropReason::kHandshakeRateLimited:
      return "handshake_rate_limited";
    case DropReason::kNoSession:
      return "no_session";
  }
  return "unknown";
}

DropReason ParseHeader(ConstBytes datagram, Header* header) {
  // Version and type come first so that a future version or an unknown type is reported as such
  // even when its length would not suit a version 1 data header.
  if (datagram.size() < 2) return DropReason::kTooShort;
  if (datagram.size() > kMaxDatagramSize) return DropReason::kTooLong;
  const uint8_t* p = datagram.data();
  if (p[kVersionOffset] != kWireVersion) return DropReason::kBadVersion;

  size_t min_body = 0;
  size_t max_body = kMaxDatagramSize;
  auto type = static_cast<MessageType>(p[kTypeOffset]);
  switch (type) {
    case MessageType::kData:
      min_body = kDataPrefixSize + 1;
      break;
    case MessageType::kProbe:
      min_body = kProbeBodySize;
      break;
    case MessageType::kProbeReply:
      min_body = max_body = kProbeReplyBodySize;
      break;
    case MessageType::kHandshakeInitiation:
    case MessageType::kHandshakeResponse:
      min_body = max_body = kHandshakeMessageSize - kHeaderSize - kAeadTagSize;
      break;
    default:
      return DropReason::kUnknownType;
  }
  if (datagram.size() < kHeaderSize + min_body + kAeadTagSize) return DropReason::kTooShort;
  if (datagram.size() - kHeaderSize - kAeadTagSize > max_body) return DropReason::kBadBodyLength;
  if (p[kFlagsOffset] != 0) return DropReason::kReservedBitsSet;
  for (size_t i = 0; i < kReservedSize; ++i) {
    if (p[kReservedOffset + i] != 0) return DropReason::kReservedBitsSet;
  }
  header->version = p[kVersionOffset];
  header->type = type;
  header->flags = p[kFlagsOffset];
  header->epoch = p[kEpochOffset];
  header->sender = NodeId(LoadBigEndian(p + kSenderOffset, NodeId::kBytes));
  header->counter = LoadBigEndian64(p + kCounterOffset);
  return DropReason::kNone;
}

void WriteHeader(const Header& header, uint8_t* out) {
  out[kVersionOffset] = header.version;
  out[kTypeOffset] = static_cast<uint8_t>(header.type);
  out[kFlagsOffset] = header.flags;
  out[kEpochOffset] = header.epoch;
  StoreBigEndian(out + kSenderOffset, header.sender.value(), NodeId::kBytes);
  for (size_t i = 0; i < kReservedSize; ++i) out[kReservedOffset + i] = 0;
  StoreBigEndian64(out + kCounterOffset, header.counter);
}

void EncodeDataPrefix(uint32_t path_seq, uint64_t bond_seq, uint8_t (&out)[kDataPrefixSize]) {
  StoreBigEndian32(out, path_seq);
  StoreBigEndian64(out + 4, bond_seq);
}

void EncodeProbe(uint32_t path_seq, const Probe& probe, uint8_t (&out)[kProbeBodySize]) {
  StoreBigEndian32(out, path_seq);
  StoreBigEndian32(out + 4, probe.probe_seq);
  StoreBigEndian64(out + 8, probe.sender_timestamp_ns);
}

void EncodeProbeReply(uint32_t path_seq, const ProbeReply& reply,
                      uint8_t (&out)[kProbeReplyBodySize]) {
  StoreBigEndian32(out, path_seq);
  StoreBigEndian32(out + 4, reply.probe_seq);
  StoreBigEndian64(out + 8, reply.echoed_timestamp_ns);
  StoreBigEndian32(out + 16, reply.hold_time_ns);
  StoreBigEndian32(out + 20, reply.highest_path_seq);
  StoreBigEndian64(out + 24, reply.received_on_path);
}

bool DecodeDataPrefix(ConstBytes body, uint32_t* path_seq, uint64_t* bond_seq) {
  if (body.size() < kDataPrefixSize) return false;
  *path_seq = LoadBigEndian32(body.data());
  *bond_seq = LoadBigEndian64(body.data() + 4);
  return true;
}

bool DecodeProbe(ConstBytes body, uint32_t* path_seq, Probe* probe) {
  if (body.size() < kProbeBodySize) return false;
  *path_seq = LoadBigEndian32(body.data());
  probe->probe_seq = LoadBigEndian32(body.data() + 4);
  probe->sender_timestamp_ns = LoadBigEndian64(body.data() + 8);
  return true;
}

bool DecodeProbeReply(ConstBytes body, uint32_t* path_seq, ProbeReply* reply) {
  if (body.size() < kProbeReplyBodySize) return false;
  *path_seq = LoadBigEndian32(body.data());
  reply->probe_seq = LoadBigEndian32(body.data() + 4);
  reply->echoed_timestamp_ns = LoadBigEndian64(body.data() + 8);
  reply->hold_time_ns = LoadBigEndian32(body.data() + 16);
  reply->highest_path_seq = LoadBigEndian32(body.data() + 20);
  reply->received_on_path = LoadBigEndian64(body.data() + 24);
  return true;
}

}  // namespace fleetbond::transport
