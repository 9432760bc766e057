// peer_session.h
//
// PeerSession is the key state of one peer pair: the handshake state machine (handshake.h) and the
// PacketCodecs of the key epochs it has produced. The data plane holds one per peer and asks it
// which codec seals (SendCodec) and which opens (Open, by the header's epoch byte); handshake
// messages go to OnHandshake, and Tick says when an initiation is due.
//
// Epochs and slots:
//   current   seals everything we send, opens what the peer sends under it
//   previous  the epoch before current, opened only for `previous_lifetime` after the switch (so
//             packets in flight on slower paths are not lost), then erased
//   next      (responder only, during a rekey) the epoch we answered but the initiator has not
//             yet used: we open with it, and its first authentic packet makes it current — so a
//             lost response never leaves us sealing under keys the initiator does not have
// Keys are SecretBytes and OpenSSL cipher contexts; both are wiped when a slot is dropped.
//
// No data is ever sealed under the static keys of epoch 0. Until the first handshake completes
// there is no current epoch: SendCodec returns null and the caller drops (and counts) the packet.
//
// Handshakes start when there is no session, when the current one is older than
// rekey_after_time, or when it has sealed rekey_after_packets; an unanswered initiation is
// retried every retry_interval with a fresh ephemeral key, for the same epoch. A response to any
// of the handshake's last kept_attempts initiations completes it, so a round trip longer than
// retry_interval (a slow link) still completes in one round trip. A session older than
// reject_after_time is dropped; one that sealed reject_after_packets seals no more (but still
// opens).
//
// Simultaneous initiations: the node with the higher id abandons its own handshake and answers.
// The lower id ignores the peer's initiation while its own handshake is younger than
// retry_interval; when it is older (a round trip over retry_interval), it answers but keeps its
// own handshake and takes the response to it: both sides end on the lower id's epoch.
//
// A retried initiation for an epoch we answered less than kept_attempts * retry_interval ago gets
// the same response again, never new keys: an epoch has one set of keys on both sides.
//
// Resynchronisation: a datagram under an epoch we do not hold (or failing authentication under
// an epoch we answered and that has never opened a packet) while our current epoch has opened
// nothing for retry_interval means the two sides may hold different epochs (a restart, a replayed
// initiation): we start a handshake, at most one per retry_interval. Such a datagram is not
// authenticated; all it can force is a rekey per retry_interval, and only while the peer is not
// reaching us under our current epoch.
//
// Replay: an initiation's timestamp (ns, strictly increasing per sender) must exceed the highest
// authentic one seen from that peer; a replayed response matches no pending initiation.
// Not thread-safe: the data plane calls it from its one forwarding thread, so the per-packet path
// takes no lock.
//
// Example:
//   FB_ASSIGN_OR_RETURN(PeerSession s, PeerSession::Create(self, peer_id, peer_key, {}, clock));
//   if (std::optional<PeerSession::Outgoing> out = s.Tick()) Send(out->message, out->attempt);
//   if (PacketCodec* codec = s.SendCodec()) codec->SealData(...); else CountDrop(kNoSession);
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/transport/handshake.h"
#include "node/transport/packet_codec.h"
#include "shared/clock.h"
#include "shared/identity/identity.h"

namespace fleetbond::transport {

// HandshakeSettings are the timers and limits of the key schedule (docs/wire-format.md).
struct HandshakeSettings {
  // The session's initiator starts a rekey when its current epoch is this old; the responder
  // waits responder_grace longer, so that normally one side does it.
  absl::Duration rekey_after_time = absl::Seconds(120);
  absl::Duration responder_grace = absl::Seconds(10);
  // A session this old is no longer used to seal or open: rekeying has failed for a minute.
  absl::Duration reject_after_time = absl::Seconds(180);
  // Volume: rekey after this many datagrams sealed under one key; stop sealing at the second.
  // Both are far below the 2^64 nonce space and ChaCha20-Poly1305's usage limits.
  uint64_t rekey_after_packets = uint64_t{1} << 32;
  uint64_t reject_after_packets = uint64_t{1} << 33;
  // An initiation without a response is repeated (fresh ephemeral key) after this long.
  absl::Duration retry_interval = absl::Seconds(1);
  // How long the previous epoch is still opened after a switch (the replay window's overlap).
  absl::Duration previous_lifetime = absl::Seconds(10);
  // At most one response per this interval per peer (authentic initiations beyond it are
  // dropped as handshake_rate_limited).
  absl::Duration min_response_interval = absl::Milliseconds(50);
  // The initiator keeps this many initiations of one handshake (their ephemeral keys) and takes a
  // response to any of them: handshakes complete over round trips up to about
  // kept_attempts * retry_interval.
  int kept_attempts = 8;

  // WithRekeyInterval returns these settings with rekeys every `interval` (tests use seconds).
  HandshakeSettings WithRekeyInterval(absl::Duration interval) const;
};

// HandshakeCounters count one peer's handshakes (summed per node for the metrics).
struct HandshakeCounters {
  uint64_t initiated = 0;  // initiations sent, retries included
  uint64_t responded = 0;  // responses sent
  uint64_t completed = 0;  // epochs that became current (on either side)
  uint64_t rekeys = 0;     // of those, the ones that replaced an earlier epoch
  uint64_t failed = 0;     // handshake messages refused: bad tag, replayed, unexpected, limited
  uint64_t expired = 0;    // sessions dropped at reject_after_time without a new handshake

  HandshakeCounters& operator+=(const HandshakeCounters& o);
};

class PeerSession {
 public:
  // Create prepares the key state with one peer. It computes the static X25519 secret once.
  static absl::StatusOr<PeerSession> Create(const Identity& self, NodeId peer_id,
                                            const PublicKey& peer_key,
                                            const HandshakeSettings& settings, const Clock& clock);

  PeerSession(PeerSession&&) = default;
  PeerSession& operator=(PeerSession&&) = default;

  // Outgoing is a handshake message to send. `attempt` counts the tries of one handshake from 0;
  // the caller sends try k on another path than try k-1 when it can.
  struct Outgoing {
    HandshakeMessage message;
    int attempt = 0;
  };

  // Tick expires old epochs and returns the initiation to send now, if one is due.
  std::optional<Outgoing> Tick();

  // OnHandshake handles an initiation or a response from the peer (ParseHeader accepted it).
  // kNone means it was taken; for an initiation `reply` is then the response to send back on the
  // path it came in on.
  DropReason OnHandshake(ConstBytes message, std::optional<Outgoing>* reply);

  // SendCodec is the codec to seal with, or null while there is no usable session.
  PacketCodec* SendCodec() {
    if (!current_.has_value() ||
        current_->codec.next_send_counter() >= settings_.reject_after_packets) {
      return nullptr;
    }
    return &current_->codec;
  }

  // Open opens a data, probe or probe reply datagram with the codec of its epoch.
  DropReason Open(MutableBytes datagram, OpenedPacket* packet);

  // established says whether a current epoch exists.
  bool established() const { return current_.has_value(); }
  // current_epoch is the epoch we seal under (meaningful only when established()).
  KeyEpoch current_epoch() const { return current_.has_value() ? current_->codec.epoch() : 0; }
  // handshaking says whether an initiation of ours awaits its response.
  bool handshaking() const { return pending_.has_value(); }
  const HandshakeCounters& counters() const { return counters_; }

 private:
  struct Slot {
    PacketCodec codec;
    absl::Time created;
    bool we_initiated = false;
    // When we answered the initiation that made it: the response, sent again to a retry.
    std::optional<HandshakeMessage> response;
    // How many datagrams opened under it.
    uint64_t opened = 0;
  };

  PeerSession(const Identity& self, NodeId peer_id, const PublicKey& peer_key,
              SharedSecret static_secret, const HandshakeSettings& settings, const Clock& clock);

  std::optional<Outgoing> Initiate(absl::Time now, int attempt);
  DropReason OnInitiation(ConstBytes message, absl::Time now, std::optional<Outgoing>* reply);
  DropReason OnResponse(ConstBytes message, absl::Time now);
  // SlotOf returns the slot holding `epoch`, or null.
  Slot* SlotOf(KeyEpoch epoch);
  // NoteStale records a datagram that did not open because the sides may hold different epochs.
  void NoteStale(absl::Time now);
  // MakeCurrent installs `slot` as the current epoch; the old current becomes previous.
  void MakeCurrent(Slot slot, absl::Time now);
  KeyEpoch NextOwnEpoch();
  absl::StatusOr<Slot> NewSlot(const PeerKeys& keys, absl::Time now, bool we_initiated);

  const Identity* self_;
  NodeId peer_id_;
  PublicKey peer_key_;
  SharedSecret static_secret_;
  HandshakeSettings settings_;
  const Clock* clock_;

  std::optional<Slot> current_;
  std::optional<Slot> previous_;
  absl::Time previous_expires_ = absl::InfinitePast();
  std::optional<Slot> next_;

  // Pending is our handshake in progress: its epoch and its last kept_attempts initiations.
  struct Pending {
    KeyEpoch epoch = 0;
    std::vector<Initiation> attempts;  // oldest first
    absl::Time started;                // the first attempt
    absl::Time sent_at;                // the last attempt
    int attempt = 0;
  };
  std::optional<Pending> pending_;
  // Resynchronisation (see the banner): stale datagrams seen since stale_since_, while current
  // had opened stale_opened_ datagrams.
  absl::Time stale_since_ = absl::InfinitePast();
  uint64_t stale_opened_ = 0;
  bool resync_wanted_ = false;
  absl::Time last_resync_ = absl::InfinitePast();
  KeyEpoch last_own_epoch_;
  uint64_t last_timestamp_sent_ = 0;
  uint64_t highest_timestamp_received_ = 0;
  absl::Time last_response_at_ = absl::InfinitePast();
  HandshakeCounters counters_;
};

}  // namespace fleetbond::transport
