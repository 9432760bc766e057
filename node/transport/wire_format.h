// wire_format.h
//
// The layout of fleetbond's data-plane datagrams (version 1), and the bounds-checked code that
// reads and writes it. docs/wire-format.md is the same information as tables and prose.
//
// Every datagram is: header (20 bytes, authenticated, not encrypted) || sealed body || tag (16).
//
//   offset size field
//   0      1    version       kWireVersion
//   1      1    type          MessageType
//   2      1    flags         none defined in version 1; must be 0
//   3      1    key epoch     which session epoch's keys sealed this packet (never 0)
//   4      5    sender id     40-bit NodeId of the sender
//   9      3    reserved      must be 0
//   12     8    counter       AEAD nonce counter, per (sender, receiver, epoch)
//
// The body is encrypted; its first field is always the 32-bit per-path sequence number:
//   data         path seq u32 | bond seq u64 | inner IP packet (>= 1 byte)
//   probe        path seq u32 | probe seq u32 | sender timestamp ns u64 | padding (ignored)
//   probe reply  path seq u32 | probe seq u32 | echoed timestamp ns u64 | hold time ns u32 |
//                highest path seq received u32 | packets received on path u64
// All integers are big-endian.
//
// Handshake messages (handshake.h) share the 20-byte header, but their body is not sealed under a
// session key: initiation and response are header || ephemeral public key (32) || tag (16), where
// the header's epoch byte is the proposed key epoch and its counter field is the initiation's
// timestamp (echoed by the response).
//
// Example:
//   Header header;
//   if (DropReason r = ParseHeader(datagram, &header); r != DropReason::kNone) {
//     path.CountDrop(r);                   // never reaches the crypto
//     return;
//   }
//   PacketCodec* codec = peers.Find(header.sender);  // then codec->Open(datagram, &packet)
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "node/transport/aead.h"
#include "node/transport/bytes.h"
#include "node/transport/peer_keys.h"
#include "shared/identity/identity.h"

namespace fleetbond::transport {

inline constexpr uint8_t kWireVersion = 1;

// MessageType is the header's type byte.
enum class MessageType : uint8_t {
  kData = 0x01,        // an inner IP packet
  kProbe = 0x02,       // path probe: sequence number and the sender's timestamp
  kProbeReply = 0x03,  // echo of a probe plus the receiver's counts for that path
  // The authenticated ephemeral key exchange (handshake.h, docs/wire-format.md).
  kHandshakeInitiation = 0x10,
  kHandshakeResponse = 0x11,
  // Reserved for a cookie reply under load (not implemented: dropped as kUnknownType).
  kHandshakeCookie = 0x12,
};

// Header offsets and sizes.
inline constexpr size_t kVersionOffset = 0;
inline constexpr size_t kTypeOffset = 1;
inline constexpr size_t kFlagsOffset = 2;
inline constexpr size_t kEpochOffset = 3;
inline constexpr size_t kSenderOffset = 4;
inline constexpr size_t kReservedOffset = 9;
inline constexpr size_t kReservedSize = 3;
inline constexpr size_t kCounterOffset = 12;
inline constexpr size_t kHeaderSize = 20;

// Body sizes (plaintext, before the tag).
inline constexpr size_t kPathSeqSize = 4;
inline constexpr size_t kDataPrefixSize = kPathSeqSize + 8;
inline constexpr size_t kProbeBodySize = kPathSeqSize + 4 + 8;
inline constexpr size_t kProbeReplyBodySize = kPathSeqSize + 4 + 8 + 4 + 4 + 8;
// kHandshakeMessageSize is the whole size of an initiation or a response: header, ephemeral
// public key, tag.
inline constexpr size_t kHandshakeMessageSize = kHeaderSize + 32 + kAeadTagSize;

// kDataPayloadOffset is where the inner IP packet's ciphertext starts in a data datagram. A
// sender that reads the inner packet to exactly this offset of its send buffer seals in place.
inline constexpr size_t kDataPayloadOffset = kHeaderSize + kDataPrefixSize;
// kDataOverhead is what a data datagram adds to the inner packet: 48 bytes.
inline constexpr size_t kDataOverhead = kDataPayloadOffset + kAeadTagSize;
// kMaxDatagramSize bounds what we send and accept (the largest UDP payload over IPv6).
inline constexpr size_t kMaxDatagramSize = 65527;

// Outer headers below our datagram, for the MTU arithmetic.
inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr size_t kUdpHeaderSize = 8;

// InnerMtu returns the largest inner packet that fits a link of `link_mtu` without fragmenting,
// assuming the worst case of an IPv6 path (any packet may move to any path of the bond at any
// time, so the TUN MTU has to fit the largest outer header): link_mtu - 40 - 8 - 48. With a
// 1500-byte link that is 1404.
constexpr size_t InnerMtu(size_t link_mtu) {
  size_t outer = kIpv6HeaderSize + kUdpHeaderSize + kDataOverhead;
  return link_mtu > outer ? link_mtu - outer : 0;
}

// DropReason says why a received datagram was dropped. Every value is counted per path; kNone
// means the datagram was accepted.
enum class DropReason : uint8_t {
  kNone = 0,
  kTooShort,              // shorter than the header plus the smallest body of its type
  kTooLong,               // longer than kMaxDatagramSize
  kBadVersion,            // version byte is not kWireVersion
  kUnknownType,           // type byte is not a MessageType
  kHandshakeUnexpected,   // a handshake message that matches no state: a response to no
                          // initiation of ours, or an initiation that lost a simultaneous tie
  kReservedBitsSet,       // flags or reserved bytes are not zero
  kBadBodyLength,         // a fixed-size body has the wrong length
  kUnknownPeer,           // sender id belongs to no configured peer (or not to this codec's)
  kUnknownKeyEpoch,       // no keys for the header's epoch
  kAuthenticationFailed,  // the AEAD tag did not verify
  kReplayed,              // authentic, but its counter was already accepted
  kTooOld,                // authentic, but its counter is behind the replay window
  kHandshakeRateLimited,  // a handshake initiation beyond the per-peer or global rate limit
  kNoSession,             // no session keys with the peer yet (or any more): nothing to open
                          // or seal with until a handshake completes
};
inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kNoSession) + 1;

// DropReasonName returns a stable snake_case name, for metric labels and logs.
absl::string_view DropReasonName(DropReason reason);

// Header is the parsed cleartext header.
struct Header {
  uint8_t version = kWireVersion;
  MessageType type = MessageType::kData;
  uint8_t flags = 0;
  KeyEpoch epoch = kStaticKeyEpoch;
  NodeId sender;
  uint64_t counter = 0;
};

// Probe is the body of a probe after its path sequence number.
struct Probe {
  // probe_seq identifies the probe among the sender's outstanding probes.
  uint32_t probe_seq = 0;
  // sender_timestamp_ns is the sender's own clock, opaque to the receiver, which echoes it so the
  // sender computes the round trip from one clock.
  uint64_t sender_timestamp_ns = 0;
};

// ProbeReply is the body of a probe reply after its path sequence number. It is sent back on the
// path the probe arrived on, and its counts describe that path in the probe sender's direction.
struct ProbeReply {
  uint32_t probe_seq = 0;
  uint64_t echoed_timestamp_ns = 0;
  // hold_time_ns is how long the probe waited at the replier before the reply was sealed
  // (saturating), which the prober subtracts from the round trip.
  uint32_t hold_time_ns = 0;
  // highest_path_seq is the highest path sequence number received on this path from the prober
  // (serial-number arithmetic, RFC 1982).
  uint32_t highest_path_seq = 0;
  // received_on_path counts the authentic packets received on this path from the prober so far.
  // With highest_path_seq it lets the prober compute its loss on this path between two replies:
  // 1 - (received delta / highest seq delta).
  uint64_t received_on_path = 0;
};

// ParseHeader reads and checks the header of `datagram` and the datagram's length for its type
// (handshake initiations and responses are exactly kHandshakeMessageSize bytes). It touches only
// the cleartext; on kNone `header` is filled in. It never reads out of bounds.
DropReason ParseHeader(ConstBytes datagram, Header* header);

// WriteHeader writes `header` into the first kHeaderSize bytes of `out` (reserved bytes zero).
void WriteHeader(const Header& header, uint8_t* out);

// EncodeDataPrefix / EncodeProbe / EncodeProbeReply write the fixed plaintext fields of a body.
void EncodeDataPrefix(uint32_t path_seq, uint64_t bond_seq, uint8_t (&out)[kDataPrefixSize]);
void EncodeProbe(uint32_t path_seq, const Probe& probe, uint8_t (&out)[kProbeBodySize]);
void EncodeProbeReply(uint32_t path_seq, const ProbeReply& reply,
                      uint8_t (&out)[kProbeReplyBodySize]);

// DecodeDataPrefix / DecodeProbe / DecodeProbeReply read them back from a plaintext body; they
// return false when `body` is shorter than the fixed fields.
bool DecodeDataPrefix(ConstBytes body, uint32_t* path_seq, uint64_t* bond_seq);
bool DecodeProbe(ConstBytes body, uint32_t* path_seq, Probe* probe);
bool DecodeProbeReply(ConstBytes body, uint32_t* path_seq, ProbeReply* reply);

}  // namespace fleetbond::transport
