#include "node/transport/peer_session.h"

#include <algorithm>
#include <utility>

#include "shared/status_macros.h"

namespace fleetbond::transport {

HandshakeSettings HandshakeSettings::WithRekeyInterval(absl::Duration interval) const {
  HandshakeSettings out = *this;
  out.rekey_after_time = interval;
  out.responder_grace = std::min(absl::Seconds(10), interval / 2);
  out.reject_after_time = interval + absl::Seconds(60);
  return out;
}

HandshakeCounters& HandshakeCounters::operator+=(const HandshakeCounters& o) {
  initiated += o.initiated;
  responded += o.responded;
  completed += o.completed;
  rekeys += o.rekeys;
  failed += o.failed;
  expired += o.expired;
  return *this;
}

absl::StatusOr<PeerSession> PeerSession::Create(const Identity& self, NodeId peer_id,
                                                const PublicKey& peer_key,
                                                const HandshakeSettings& settings,
                                                const Clock& clock) {
  if (peer_key == self.public_key()) {
    return absl::InvalidArgumentError("a node does not peer with itself");
  }
  FB_ASSIGN_OR_RETURN(SharedSecret static_secret, self.ComputeSharedSecret(peer_key));
  return PeerSession(self, peer_id, peer_key, std::move(static_secret), settings, clock);
}

PeerSession::PeerSession(const Identity& self, NodeId peer_id, const PublicKey& peer_key,
                         SharedSecret static_secret, const HandshakeSettings& settings,
                         const Clock& clock)
    : self_(&self),
      peer_id_(peer_id),
      peer_key_(peer_key),
      static_secret_(std::move(static_secret)),
      settings_(settings),
      clock_(&clock),
      // The lower id proposes odd epochs, the higher one even epochs (never 0, the static keys'),
      // so the two sides' proposals can never name the same epoch. The first one depends on the
      // wall clock's second, so that a node restarted within seconds does not propose the epoch
      // its previous run just used (the peer would take it for a retry: OnInitiation).
      last_own_epoch_(
          static_cast<KeyEpoch>((self.id() < peer_id ? 255 : 0) +
                                2 * ((absl::ToUnixSeconds(clock.Now()) % 128 + 128) % 128))) {}

KeyEpoch PeerSession::NextOwnEpoch() {
  auto live = [&](KeyEpoch e) {
    for (const std::optional<Slot>* s : {&current_, &previous_, &next_}) {
      if (s->has_value() && (*s)->codec.epoch() == e) return true;
    }
    return false;
  };
  KeyEpoch e = last_own_epoch_;
  do {
    e = static_cast<KeyEpoch>(e + 2);
    if (e == 0) e = 2;
  } while (live(e));
  last_own_epoch_ = e;
  return e;
}

absl::StatusOr<PeerSession::Slot> PeerSession::NewSlot(const PeerKeys& keys, absl::Time now,
                                                       bool we_initiated) {
  // Fresh keys: counters start at 0.
  FB_ASSIGN_OR_RETURN(PacketCodec codec, PacketCodec::Create(self_->id(), peer_id_, keys, 0));
  return Slot{std::move(codec), now, we_initiated};
}

std::optional<PeerSession::Outgoing> PeerSession::Tick() {
  const absl::Time now = clock_->Now();
  if (previous_.has_value() && now >= previous_expires_) previous_.reset();
  // Past reject_after_packets SendCodec already refuses to seal, but the epoch still opens: only
  // our direction is used up. Past reject_after_time it goes entirely.
  if (current_.has_value() && now - current_->created >= settings_.reject_after_time) {
    current_.reset();
    ++counters_.expired;
  }
  if (next_.has_value() && now - next_->created >= settings_.reject_after_time) next_.reset();

  if (pending_.has_value()) {
    if (now - pending_->sent_at < settings_.retry_interval) return std::nullopt;
    return Initiate(now, pending_->attempt + 1);
  }
  bool due = !current_.has_value();
  if (current_.has_value()) {
    const absl::Duration limit =
        settings_.rekey_after_time +
        (current_->we_initiated ? absl::ZeroDuration() : settings_.responder_grace);
    due = now - current_->created >= limit ||
          current_->codec.next_send_counter() >= settings_.rekey_after_packets;
  }
  // We answered a rekey the initiator has not used yet: give it time before starting our own,
  // but not forever (its packets may never come if our response was its only copy).
  if (next_.has_value()) due = now - next_->created >= 3 * settings_.retry_interval;
  // The peer sends under an epoch we do not hold: start a handshake (at most one per
  // retry_interval) rather than wait for the rekey timer.
  if (resync_wanted_ && now - last_resync_ >= settings_.retry_interval) {
    due = true;
    last_resync_ = now;
  }
  if (!due) return std::nullopt;
  resync_wanted_ = false;
  return Initiate(now, 0);
}

std::optional<PeerSession::Outgoing> PeerSession::Initiate(absl::Time now, int attempt) {
  // Strictly increasing per sender, from the wall clock so that a restart continues above the
  // previous run (the peer refuses initiations at or below the highest it has seen).
  const int64_t ns = absl::ToUnixNanos(now);
  const uint64_t timestamp =
      std::max(ns > 0 ? static_cast<uint64_t>(ns) : uint64_t{0}, last_timestamp_sent_ + 1);
  const KeyEpoch epoch = pending_.has_value() ? pending_->epoch : NextOwnEpoch();
  absl::StatusOr<Initiation> initiation =
      CreateInitiation(*self_, peer_key_, static_secret_, epoch, timestamp);
  if (!initiation.ok()) {
    ++counters_.failed;
    return std::nullopt;
  }
  last_timestamp_sent_ = timestamp;
  Outgoing out{initiation->message, attempt};
  if (!pending_.has_value()) pending_.emplace(Pending{epoch, {}, now, now, 0});
  pending_->attempts.push_back(*std::move(initiation));
  // Older attempts beyond kept_attempts are erased (their ephemeral secrets with them).
  const size_t kept = static_cast<size_t>(std::max(1, settings_.kept_attempts));
  if (pending_->attempts.size() > kept) {
    pending_->attempts.erase(pending_->attempts.begin(),
                             pending_->attempts.end() - static_cast<std::ptrdiff_t>(kept));
  }
  pending_->sent_at = now;
  pending_->attempt = attempt;
  ++counters_.initiated;
  return out;
}

DropReason PeerSession::OnHandshake(ConstBytes message, std::optional<Outgoing>* reply) {
  reply->reset();
  if (message.size() != kHandshakeMessageSize) return DropReason::kBadBodyLength;
  const absl::Time now = clock_->Now();
  switch (static_cast<MessageType>(message[kTypeOffset])) {
    case MessageType::kHandshakeInitiation:
      return OnInitiation(message, now, reply);
    case MessageType::kHandshakeResponse:
      return OnResponse(message, now);
    default:
      return DropReason::kUnknownType;
  }
}

DropReason PeerSession::OnInitiation(ConstBytes message, absl::Time now,
                                     std::optional<Outgoing>* reply) {
  ReceivedInitiation got;
  DropReason r = VerifyInitiation(*self_, peer_key_, static_secret_, message, &got);
  if (r == DropReason::kNone && got.header.sender != peer_id_) r = DropReason::kUnknownPeer;
  if (r == DropReason::kNone && got.header.counter <= highest_timestamp_received_) {
    r = DropReason::kReplayed;
  }
  if (r != DropReason::kNone) {
    ++counters_.failed;
    return r;
  }
  highest_timestamp_received_ = got.header.counter;
  // Both sides initiated at once: the lower id's handshake wins. While it is younger than
  // retry_interval the lower id ignores the peer's; after that (a round trip over retry_interval)
  // it answers, but keeps its own handshake and takes the response to it.
  bool keep_pending = false;
  if (pending_.has_value() && self_->id() < peer_id_) {
    if (now - pending_->started < settings_.retry_interval) {
      return DropReason::kHandshakeUnexpected;
    }
    keep_pending = true;
  }
  if (now - last_response_at_ < settings_.min_response_interval) {
    ++counters_.failed;
    return DropReason::kHandshakeRateLimited;
  }
  // A retry of an initiation we answered (the initiator keeps kept_attempts of them): the same
  // response again, so that both sides hold the same keys for the epoch.
  if (Slot* answered = SlotOf(got.header.epoch);
      answered != nullptr && answered->response.has_value() &&
      now - answered->created < settings_.kept_attempts * settings_.retry_interval) {
    if (!keep_pending) pending_.reset();
    last_response_at_ = now;
    ++counters_.responded;
    reply->emplace(Outgoing{*answered->response, 0});
    return DropReason::kNone;
  }
  absl::StatusOr<Response> response = CreateResponse(*self_, peer_key_, static_secret_, got);
  if (!response.ok()) {
    ++counters_.failed;
    return DropReason::kAuthenticationFailed;
  }
  absl::StatusOr<Slot> slot = NewSlot(response->keys, now, /*we_initiated=*/false);
  if (!slot.ok()) {
    ++counters_.failed;
    return DropReason::kAuthenticationFailed;
  }
  slot->response = response->message;
  if (!keep_pending) pending_.reset();
  // The peer is about to use a new epoch: no resynchronisation of our own.
  resync_wanted_ = false;
  last_response_at_ = now;
  ++counters_.responded;
  // Keys we made earlier for this epoch (an answer past the reuse window) are replaced.
  if (previous_.has_value() && previous_->codec.epoch() == got.header.epoch) previous_.reset();
  if (!current_.has_value() || current_->codec.epoch() == got.header.epoch) {
    if (keep_pending && !current_.has_value()) {
      // Our own handshake decides; these keys are used only if the peer uses them first.
      next_.emplace(*std::move(slot));
    } else {
      // Nothing to keep sealing under (or the peer restarted and reuses the epoch it lost): use
      // the new keys at once.
      next_.reset();
      MakeCurrent(*std::move(slot), now);
    }
  } else {
    next_.emplace(*std::move(slot));
  }
  reply->emplace(Outgoing{response->message, 0});
  return DropReason::kNone;
}

DropReason PeerSession::OnResponse(ConstBytes message, absl::Time now) {
  Header header;
  if (!pending_.has_value() || ParseHeader(message, &header) != DropReason::kNone) {
    ++counters_.failed;
    return DropReason::kHandshakeUnexpected;
  }
  // The response names the initiation it answers by its timestamp.
  const Initiation* answered = nullptr;
  for (const Initiation& attempt : pending_->attempts) {
    if (attempt.timestamp == header.counter) answered = &attempt;
  }
  if (answered == nullptr) {
    ++counters_.failed;
    return DropReason::kHandshakeUnexpected;
  }
  PeerKeys keys;
  DropReason r = ConsumeResponse(*self_, peer_key_, static_secret_, *answered, message, &keys);
  if (r != DropReason::kNone) {
    ++counters_.failed;
    return r;
  }
  absl::StatusOr<Slot> slot = NewSlot(keys, now, /*we_initiated=*/true);
  if (!slot.ok()) {
    ++counters_.failed;
    return DropReason::kAuthenticationFailed;
  }
  pending_.reset();
  MakeCurrent(*std::move(slot), now);
  if (next_.has_value()) {
    // An epoch we had answered for the peer is superseded by ours; still open it for a while
    // (the peer may have sealed under it), but never seal under it.
    previous_ = std::move(next_);
    previous_expires_ = now + settings_.previous_lifetime;
    next_.reset();
  }
  return DropReason::kNone;
}

PeerSession::Slot* PeerSession::SlotOf(KeyEpoch epoch) {
  for (std::optional<Slot>* s : {&current_, &next_, &previous_}) {
    if (s->has_value() && (*s)->codec.epoch() == epoch) return &**s;
  }
  return nullptr;
}

void PeerSession::NoteStale(absl::Time now) {
  if (!current_.has_value()) {
    resync_wanted_ = true;
    return;
  }
  // Stale datagrams for retry_interval, and nothing opened under current in between.
  if (stale_since_ == absl::InfinitePast() || current_->opened != stale_opened_) {
    stale_since_ = now;
    stale_opened_ = current_->opened;
    return;
  }
  if (now - stale_since_ >= settings_.retry_interval &&
      now - current_->created >= settings_.retry_interval) {
    resync_wanted_ = true;
  }
}

void PeerSession::MakeCurrent(Slot slot, absl::Time now) {
  const KeyEpoch epoch = slot.codec.epoch();
  if (current_.has_value()) {
    ++counters_.rekeys;
    if (current_->codec.epoch() != epoch) {
      previous_ = std::move(current_);
      previous_expires_ = now + settings_.previous_lifetime;
    }
  }
  if (previous_.has_value() && previous_->codec.epoch() == epoch) previous_.reset();
  if (next_.has_value() && next_->codec.epoch() == epoch) next_.reset();
  current_.emplace(std::move(slot));
  resync_wanted_ = false;
  stale_since_ = absl::InfinitePast();
  ++counters_.completed;
}

DropReason PeerSession::Open(MutableBytes datagram, OpenedPacket* packet) {
  if (datagram.size() <= kEpochOffset) return DropReason::kTooShort;
  const KeyEpoch epoch = datagram[kEpochOffset];
  if (!current_.has_value() && !next_.has_value() && !previous_.has_value()) {
    return DropReason::kNoSession;
  }
  Slot* slot = SlotOf(epoch);
  if (slot == nullptr) {
    NoteStale(clock_->Now());
    return DropReason::kUnknownKeyEpoch;
  }
  const DropReason r = slot->codec.Open(datagram, packet);
  if (r != DropReason::kNone) {
    // Keys we answered with that never opened anything may be keys the peer does not have (an
    // initiation replayed to us after a restart).
    if (r == DropReason::kAuthenticationFailed && slot->response.has_value() && slot->opened == 0) {
      NoteStale(clock_->Now());
    }
    return r;
  }
  ++slot->opened;
  if (next_.has_value() && slot == &*next_) {
    // The initiator uses the epoch we answered: it has the keys, so we switch too.
    Slot taken = std::move(*next_);
    next_.reset();
    MakeCurrent(std::move(taken), clock_->Now());
  }
  return DropReason::kNone;
}

}  // namespace fleetbond::transport
