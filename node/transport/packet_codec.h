// packet_codec.h
//
// PacketCodec seals and opens the datagrams exchanged with one peer under one key epoch: it owns
// the send-direction Sealer (and so the nonce counter), the receive-direction Opener and the
// ReplayWindow. Opening runs every check in a fixed order and reports the first failure as a
// DropReason for the per-path error counters:
//   header and length (ParseHeader) -> sender is this peer -> key epoch -> AEAD tag ->
//   replay window -> accept.
// Nothing in a datagram is trusted before the tag verifies; the replay window moves only for
// authentic packets.
//
// Neither direction allocates: seal writes into the caller's buffer, open decrypts in place and
// returns views into the caller's buffer.
//
// Example (sending):
//   uint8_t buf[2048];
//   SealResult r = codec.SealData(path_seq, bond_seq, inner_packet, buf);
//   if (r.ok()) sendto(fd, buf, r.size, ...);
// Example (receiving):
//   OpenedPacket packet;
//   DropReason why = codec.Open(MutableBytes(buf, n), &packet);
//   if (why != DropReason::kNone) { path.CountDrop(why); return; }
//   if (packet.header.type == MessageType::kData) tun.Write(packet.inner_packet);
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/transport/aead.h"
#include "node/transport/bytes.h"
#include "node/transport/peer_keys.h"
#include "node/transport/replay_window.h"
#include "node/transport/wire_format.h"
#include "shared/identity/identity.h"

namespace fleetbond::transport {

// SealError says why a datagram was not sealed.
enum class SealError : uint8_t {
  kOk = 0,
  kBufferTooSmall,    // the output buffer cannot hold the datagram
  kPayloadTooLarge,   // the datagram would exceed kMaxDatagramSize
  kEmptyPayload,      // a data packet needs at least one byte of inner packet
  kCounterExhausted,  // the send counter is used up: stop sending under these keys
  kCryptoFailure,     // OpenSSL failed (or the buffers overlap in a way sealing cannot allow)
};

// SealErrorName returns a stable snake_case name.
absl::string_view SealErrorName(SealError error);

// SealResult is the outcome of a seal: on kOk, `size` bytes of the output buffer are the datagram.
struct SealResult {
  SealError error = SealError::kOk;
  size_t size = 0;
  bool ok() const { return error == SealError::kOk; }
};

// OpenedPacket is an accepted datagram. Its spans point into the buffer given to Open.
struct OpenedPacket {
  Header header;
  // path_seq is the sender's sequence number on the path this datagram travelled.
  uint32_t path_seq = 0;
  // bond_seq (data only) numbers the inner packet within the bond; broadcast sends one inner
  // packet with one bond_seq on several paths, and the receiver keeps the first copy.
  uint64_t bond_seq = 0;
  // inner_packet (data only) is the decrypted inner IP packet.
  ConstBytes inner_packet;
  Probe probe;             // valid for MessageType::kProbe
  ProbeReply probe_reply;  // valid for MessageType::kProbeReply
};

// InitialSendCounter returns the Unix time in nanoseconds at `now`, a start for numbers that
// must keep increasing across restarts. Session keys (PeerSession) start their nonce counters at
// 0, since each epoch's keys are new; the data plane uses this for bond sequence numbers, which
// the peer's duplicate filter compares across restarts. It relies on the clock not stepping
// backwards across a restart.
uint64_t InitialSendCounter(absl::Time now);

// PacketCodec seals and opens the datagrams of one peer pair under one epoch. Movable, not
// copyable, not thread-safe: the data plane serialises access per peer.
class PacketCodec {
 public:
  // Create builds a codec for the traffic between `self` and `peer` under `keys`. The first
  // datagram sealed uses counter `first_send_counter` (see InitialSendCounter).
  static absl::StatusOr<PacketCodec> Create(NodeId self, NodeId peer, const PeerKeys& keys,
                                            uint64_t first_send_counter);

  // SealData seals an inner IP packet (at least one byte) into `out`, which needs
  // inner_packet.size() + kDataOverhead bytes. `inner_packet` may already sit at
  // out[kDataPayloadOffset] (sealing in place, no copy); otherwise it must not overlap `out`.
  SealResult SealData(uint32_t path_seq, uint64_t bond_seq, ConstBytes inner_packet,
                      MutableBytes out);
  // SealProbe seals a probe, followed by `padding` zero bytes of the caller's (for path MTU
  // probing; the receiver ignores them). `padding` may be empty.
  SealResult SealProbe(uint32_t path_seq, const Probe& probe, MutableBytes out,
                       ConstBytes padding = {});
  // SealProbeReply seals the answer to a probe, to be sent on the path the probe arrived on.
  SealResult SealProbeReply(uint32_t path_seq, const ProbeReply& reply, MutableBytes out);

  // Open checks and decrypts `datagram` in place. On DropReason::kNone `packet` describes it and
  // its spans point into `datagram`; on any other value the datagram must be dropped and the
  // contents of `datagram` and `packet` are unspecified.
  DropReason Open(MutableBytes datagram, OpenedPacket* packet);

  NodeId self() const { return self_; }
  NodeId peer() const { return peer_; }
  KeyEpoch epoch() const { return epoch_; }
  // next_send_counter is the counter the next sealed datagram will carry.
  uint64_t next_send_counter() const { return sealer_.next_counter(); }
  const ReplayWindow& replay_window() const { return replay_window_; }

 private:
  PacketCodec(NodeId self, NodeId peer, KeyEpoch epoch, Sealer sealer, Opener opener);

  SealResult Seal(MessageType type, ConstBytes head, ConstBytes body, MutableBytes out);

  NodeId self_;
  NodeId peer_;
  KeyEpoch epoch_;
  Sealer sealer_;
  Opener opener_;
  ReplayWindow replay_window_;
};

}  // namespace fleetbond::transport
