#include "node/transport/peer_session.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::transport {
namespace {

using ::fleetbond::testing::IsOk;
using Outgoing = PeerSession::Outgoing;

Identity NewIdentity() {
  auto identity = Identity::Generate();
  EXPECT_THAT(identity, IsOk());
  return std::move(identity).value();
}

// PeerSessions is two nodes' key state for each other on one fake clock. `low_` has the lower
// node id (the tie-break matters for simultaneous initiations).
class PeerSessions : public ::testing::Test {
 protected:
  PeerSessions() : x_(NewIdentity()), y_(NewIdentity()) {}

  void SetUp() override { Start(HandshakeSettings{}); }

  void Start(const HandshakeSettings& settings) {
    settings_ = settings;
    const bool x_lower = x_.id() < y_.id();
    low_id_ = x_lower ? &x_ : &y_;
    high_id_ = x_lower ? &y_ : &x_;
    low_.emplace(NewSession(*low_id_, *high_id_));
    high_.emplace(NewSession(*high_id_, *low_id_));
  }

  PeerSession NewSession(const Identity& self, const Identity& peer) {
    auto s = PeerSession::Create(self, peer.id(), peer.public_key(), settings_, clock_);
    EXPECT_THAT(s, IsOk());
    return std::move(s).value();
  }

  // Deliver hands `message` to `to` and returns its verdict; a reply lands in `reply_`.
  DropReason Deliver(PeerSession& to, const HandshakeMessage& message) {
    return to.OnHandshake(message, &reply_);
  }

  // Handshake runs one complete exchange started by `initiator`'s Tick.
  void Handshake(PeerSession& initiator, PeerSession& responder) {
    std::optional<Outgoing> init = initiator.Tick();
    ASSERT_TRUE(init.has_value());
    ASSERT_EQ(Deliver(responder, init->message), DropReason::kNone);
    ASSERT_TRUE(reply_.has_value());
    HandshakeMessage response = reply_->message;
    ASSERT_EQ(Deliver(initiator, response), DropReason::kNone);
    EXPECT_FALSE(reply_.has_value());
  }

  std::vector<uint8_t> Seal(PeerSession& from, const std::string& text) {
    PacketCodec* codec = from.SendCodec();
    EXPECT_NE(codec, nullptr);
    if (codec == nullptr) return {};
    std::vector<uint8_t> inner(text.begin(), text.end());
    std::vector<uint8_t> out(inner.size() + kDataOverhead);
    SealResult r = codec->SealData(1, 1, inner, out);
    EXPECT_TRUE(r.ok());
    return out;
  }

  DropReason Open(PeerSession& at, std::vector<uint8_t> datagram) {
    OpenedPacket packet;
    return at.Open(datagram, &packet);
  }

  // Exchange seals a packet each way and returns whether both arrived.
  bool Exchange() {
    return Open(*high_, Seal(*low_, "to high")) == DropReason::kNone &&
           Open(*low_, Seal(*high_, "to low")) == DropReason::kNone;
  }

  // --- a network with a one-way delay, for the tests of slow links ---

  struct InFlight {
    absl::Time at;
    bool to_high = false;
    std::vector<uint8_t> bytes;
  };

  // Traffic is what Run saw: when data first opened each way, and what refused it.
  struct Traffic {
    absl::Time low_opened = absl::InfiniteFuture();   // first data from high opened at low
    absl::Time high_opened = absl::InfiniteFuture();  // first data from low opened at high
    absl::Time last_drop = absl::InfinitePast();      // last data datagram refused
    std::map<DropReason, int> drops;
    int opened = 0;

    absl::Time both() const { return std::max(low_opened, high_opened); }
  };

  void Put(bool to_high, ConstBytes bytes, absl::Duration delay) {
    wire_.push_back(InFlight{clock_.Now() + delay, to_high, {bytes.begin(), bytes.end()}});
  }

  // Run runs both nodes for `duration` as the data plane does, in steps of 100 ms: deliveries
  // (one-way delay `delay`, replies on the way back), then each side's Tick, then one data
  // datagram each way from each side that has a session.
  Traffic Run(absl::Duration duration, absl::Duration delay) {
    Traffic t;
    const absl::Time end = clock_.Now() + duration;
    while (clock_.Now() < end) {
      clock_.Advance(absl::Milliseconds(100));
      std::stable_sort(wire_.begin(), wire_.end(),
                       [](const InFlight& a, const InFlight& b) { return a.at < b.at; });
      std::vector<InFlight> due;
      while (!wire_.empty() && wire_.front().at <= clock_.Now()) {
        due.push_back(std::move(wire_.front()));
        wire_.erase(wire_.begin());
      }
      for (InFlight& m : due) {
        PeerSession& to = m.to_high ? *high_ : *low_;
        const auto type = static_cast<MessageType>(m.bytes[kTypeOffset]);
        if (type == MessageType::kHandshakeInitiation || type == MessageType::kHandshakeResponse) {
          std::optional<Outgoing> reply;
          if (to.OnHandshake(m.bytes, &reply) == DropReason::kNone && reply.has_value()) {
            Put(!m.to_high, reply->message, delay);
          }
          continue;
        }
        const DropReason r = Open(to, m.bytes);
        if (r == DropReason::kNone) {
          ++t.opened;
          absl::Time& first = m.to_high ? t.high_opened : t.low_opened;
          first = std::min(first, clock_.Now());
        } else {
          ++t.drops[r];
          t.last_drop = clock_.Now();
        }
      }
      for (bool high : {false, true}) {
        PeerSession& s = high ? *high_ : *low_;
        if (std::optional<Outgoing> init = s.Tick()) Put(!high, init->message, delay);
      }
      for (bool high : {false, true}) {
        PeerSession& s = high ? *high_ : *low_;
        if (s.SendCodec() != nullptr) Put(!high, Seal(s, "data"), delay);
      }
    }
    return t;
  }

  FakeClock clock_;
  std::vector<InFlight> wire_;
  HandshakeSettings settings_;
  Identity x_;
  Identity y_;
  const Identity* low_id_ = nullptr;
  const Identity* high_id_ = nullptr;
  std::optional<PeerSession> low_;
  std::optional<PeerSession> high_;
  std::optional<Outgoing> reply_;
};

TEST_F(PeerSessions, NothingIsSealedOrOpenedBeforeTheFirstHandshake) {
  EXPECT_FALSE(low_->established());
  EXPECT_EQ(low_->SendCodec(), nullptr);
  // A packet under the static keys of epoch 0 is not accepted.
  auto keys = DerivePeerKeys(*high_id_, low_id_->public_key());
  ASSERT_THAT(keys, IsOk());
  auto codec = PacketCodec::Create(high_id_->id(), low_id_->id(), *keys, 0);
  ASSERT_THAT(codec, IsOk());
  std::vector<uint8_t> inner = {1, 2, 3}, out(3 + kDataOverhead);
  ASSERT_TRUE(codec->SealData(1, 1, inner, out).ok());
  EXPECT_EQ(Open(*low_, out), DropReason::kNoSession);

  Handshake(*low_, *high_);
  EXPECT_EQ(Open(*low_, out), DropReason::kUnknownKeyEpoch);
}

TEST_F(PeerSessions, HandshakeCompletesWithANonZeroEpochAndCountersFromZero) {
  Handshake(*low_, *high_);
  ASSERT_TRUE(low_->established());
  ASSERT_TRUE(high_->established());
  EXPECT_NE(low_->current_epoch(), kStaticKeyEpoch);
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
  EXPECT_EQ(low_->SendCodec()->next_send_counter(), 0u);
  EXPECT_EQ(high_->SendCodec()->next_send_counter(), 0u);
  EXPECT_TRUE(Exchange());
  EXPECT_EQ(low_->counters().initiated, 1u);
  EXPECT_EQ(low_->counters().completed, 1u);
  EXPECT_EQ(high_->counters().responded, 1u);
  EXPECT_EQ(high_->counters().completed, 1u);
  EXPECT_EQ(low_->counters().rekeys, 0u);
}

TEST_F(PeerSessions, LowerIdProposesOddEpochsAndHigherIdEvenOnes) {
  Handshake(*low_, *high_);
  EXPECT_EQ(low_->current_epoch() % 2, 1);
  // The higher node (the responder of that session) rekeys after its grace.
  clock_.Advance(settings_.rekey_after_time + settings_.responder_grace);
  Handshake(*high_, *low_);
  EXPECT_EQ(high_->current_epoch() % 2, 0);
  EXPECT_NE(high_->current_epoch(), 0);
}

TEST_F(PeerSessions, RekeysOnTimeAndKeepsTrafficFlowing) {
  Handshake(*low_, *high_);
  const KeyEpoch first = low_->current_epoch();
  clock_.Advance(settings_.rekey_after_time - absl::Seconds(1));
  EXPECT_FALSE(low_->Tick().has_value());
  EXPECT_FALSE(high_->Tick().has_value());
  clock_.Advance(absl::Seconds(1));
  // The session's initiator is due; the responder waits its grace.
  EXPECT_FALSE(high_->Tick().has_value());
  Handshake(*low_, *high_);
  EXPECT_NE(low_->current_epoch(), first);
  EXPECT_EQ(low_->counters().rekeys, 1u);
  // The responder switches when the initiator first uses the new epoch.
  EXPECT_EQ(high_->current_epoch(), first);
  EXPECT_EQ(Open(*high_, Seal(*low_, "new epoch")), DropReason::kNone);
  EXPECT_EQ(high_->current_epoch(), low_->current_epoch());
  EXPECT_EQ(high_->counters().rekeys, 1u);
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, ResponderRekeysWhenTheInitiatorDoesNot) {
  Handshake(*low_, *high_);
  clock_.Advance(settings_.rekey_after_time + settings_.responder_grace);
  Handshake(*high_, *low_);
  EXPECT_EQ(high_->counters().rekeys, 1u);
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, RekeysOnVolumeAndStopsSealingAtTheHardLimit) {
  HandshakeSettings s;
  s.rekey_after_packets = 100;
  s.reject_after_packets = 150;
  Start(s);
  Handshake(*low_, *high_);
  for (int i = 0; i < 99; ++i) Seal(*high_, "x");
  EXPECT_FALSE(high_->Tick().has_value());
  Seal(*high_, "x");
  // The responder sealed 100 packets: it starts a rekey itself.
  std::optional<Outgoing> init = high_->Tick();
  ASSERT_TRUE(init.has_value());
  // That initiation is lost; the old keys go on until the hard limit.
  for (int i = 0; i < 50; ++i) Seal(*high_, "x");
  EXPECT_EQ(high_->SendCodec(), nullptr);
  // It still opens what the peer seals under that epoch.
  EXPECT_EQ(Open(*high_, Seal(*low_, "x")), DropReason::kNone);
  EXPECT_FALSE(high_->Tick().has_value());  // retry not due yet
  clock_.Advance(settings_.retry_interval);
  init = high_->Tick();
  ASSERT_TRUE(init.has_value());
  EXPECT_EQ(init->attempt, 1);
  ASSERT_EQ(Deliver(*low_, init->message), DropReason::kNone);
  ASSERT_TRUE(reply_.has_value());
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(*high_, response), DropReason::kNone);
  EXPECT_EQ(high_->SendCodec()->next_send_counter(), 0u);
  // The new epoch reaches low first from high (low switches on it), then both ways.
  EXPECT_EQ(Open(*low_, Seal(*high_, "x")), DropReason::kNone);
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, PreviousEpochIsOpenedDuringTheOverlapThenRefused) {
  Handshake(*low_, *high_);
  std::vector<uint8_t> early = Seal(*high_, "sealed before the rekey");
  std::vector<uint8_t> late = Seal(*high_, "also before, delivered after the overlap");
  clock_.Advance(settings_.rekey_after_time);
  Handshake(*low_, *high_);
  EXPECT_EQ(Open(*high_, Seal(*low_, "switch")), DropReason::kNone);
  // In flight on a slow path: still accepted.
  EXPECT_EQ(Open(*low_, early), DropReason::kNone);
  clock_.Advance(settings_.previous_lifetime);
  low_->Tick();
  high_->Tick();
  EXPECT_EQ(Open(*low_, late), DropReason::kUnknownKeyEpoch);
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, ReplayedInitiationAndResponseAreRefused) {
  std::optional<Outgoing> init = low_->Tick();
  ASSERT_TRUE(init.has_value());
  ASSERT_EQ(Deliver(*high_, init->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Deliver(*high_, init->message), DropReason::kReplayed);
  EXPECT_FALSE(reply_.has_value());
  EXPECT_EQ(Deliver(*low_, response), DropReason::kHandshakeUnexpected);
  EXPECT_EQ(high_->counters().failed, 1u);
  EXPECT_EQ(low_->counters().failed, 1u);
  EXPECT_TRUE(Exchange());

  // An older initiation (sent, then overtaken by a retry) is refused too.
  clock_.Advance(settings_.rekey_after_time);
  std::optional<Outgoing> older = low_->Tick();
  clock_.Advance(settings_.retry_interval);
  std::optional<Outgoing> newer = low_->Tick();
  ASSERT_TRUE(older.has_value() && newer.has_value());
  EXPECT_NE(older->message, newer->message);
  ASSERT_EQ(Deliver(*high_, newer->message), DropReason::kNone);
  EXPECT_EQ(Deliver(*high_, older->message), DropReason::kReplayed);
}

TEST_F(PeerSessions, TamperedHandshakeIsRefusedAndTheGenuineOneStillCompletes) {
  std::optional<Outgoing> init = low_->Tick();
  ASSERT_TRUE(init.has_value());
  HandshakeMessage bad = init->message;
  bad[kHandshakeEphemeralOffset + 3] ^= 0x40;
  EXPECT_EQ(Deliver(*high_, bad), DropReason::kAuthenticationFailed);
  EXPECT_FALSE(high_->established());
  ASSERT_EQ(Deliver(*high_, init->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  HandshakeMessage bad_response = response;
  bad_response[kHandshakeMessageSize - 1] ^= 1;
  EXPECT_EQ(Deliver(*low_, bad_response), DropReason::kAuthenticationFailed);
  EXPECT_FALSE(low_->established());
  EXPECT_EQ(Deliver(*low_, response), DropReason::kNone);
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, InitiationFromAnotherIdentityIsRefused) {
  Identity intruder = NewIdentity();
  // The intruder runs a session "with high" under its own key; high expects low's key here.
  PeerSession from_intruder = NewSession(intruder, *high_id_);
  std::optional<Outgoing> init = from_intruder.Tick();
  ASSERT_TRUE(init.has_value());
  HandshakeMessage m = init->message;
  Header header;
  ASSERT_EQ(ParseHeader(m, &header), DropReason::kNone);
  header.sender = low_id_->id();
  WriteHeader(header, m.data());
  EXPECT_EQ(Deliver(*high_, m), DropReason::kAuthenticationFailed);
  EXPECT_FALSE(high_->established());
}

TEST_F(PeerSessions, SimultaneousInitiationsConverge) {
  std::optional<Outgoing> from_low = low_->Tick();
  std::optional<Outgoing> from_high = high_->Tick();
  ASSERT_TRUE(from_low.has_value() && from_high.has_value());
  // They cross on the wire. The lower id keeps its own and ignores the peer's...
  EXPECT_EQ(Deliver(*low_, from_high->message), DropReason::kHandshakeUnexpected);
  EXPECT_FALSE(reply_.has_value());
  // ...the higher one abandons its own and answers.
  ASSERT_EQ(Deliver(*high_, from_low->message), DropReason::kNone);
  ASSERT_TRUE(reply_.has_value());
  EXPECT_FALSE(high_->handshaking());
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
  EXPECT_TRUE(Exchange());
  EXPECT_FALSE(low_->Tick().has_value());
  EXPECT_FALSE(high_->Tick().has_value());
}

TEST_F(PeerSessions, SimultaneousRekeysConverge) {
  Handshake(*low_, *high_);
  clock_.Advance(settings_.rekey_after_time + settings_.responder_grace);
  std::optional<Outgoing> from_low = low_->Tick();
  std::optional<Outgoing> from_high = high_->Tick();
  ASSERT_TRUE(from_low.has_value() && from_high.has_value());
  EXPECT_EQ(Deliver(*low_, from_high->message), DropReason::kHandshakeUnexpected);
  ASSERT_EQ(Deliver(*high_, from_low->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  EXPECT_TRUE(Exchange());
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
}

TEST_F(PeerSessions, LostResponseDuringARekeyLosesNoTraffic) {
  Handshake(*low_, *high_);
  const KeyEpoch first = low_->current_epoch();
  clock_.Advance(settings_.rekey_after_time);
  std::optional<Outgoing> init = low_->Tick();
  ASSERT_TRUE(init.has_value());
  ASSERT_EQ(Deliver(*high_, init->message), DropReason::kNone);  // response lost
  // Both still talk under the first epoch.
  EXPECT_EQ(low_->current_epoch(), first);
  EXPECT_EQ(high_->current_epoch(), first);
  EXPECT_TRUE(Exchange());
  // The initiator retries with a fresh initiation; this one completes.
  clock_.Advance(settings_.retry_interval);
  std::optional<Outgoing> retry = low_->Tick();
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->attempt, 1);
  ASSERT_EQ(Deliver(*high_, retry->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  EXPECT_TRUE(Exchange());
  EXPECT_NE(high_->current_epoch(), first);
}

TEST_F(PeerSessions, AnsweredInitiationsAreRateLimited) {
  std::optional<Outgoing> first = low_->Tick();
  clock_.Advance(settings_.retry_interval);
  std::optional<Outgoing> second = low_->Tick();
  ASSERT_TRUE(first.has_value() && second.has_value());
  // Both authentic and in order, but within min_response_interval of each other.
  EXPECT_EQ(Deliver(*high_, first->message), DropReason::kNone);
  EXPECT_EQ(Deliver(*high_, second->message), DropReason::kHandshakeRateLimited);
  EXPECT_FALSE(reply_.has_value());
}

TEST_F(PeerSessions, SessionWithoutRekeyExpires) {
  Handshake(*low_, *high_);
  clock_.Advance(settings_.reject_after_time);
  // Rekey initiations are all lost.
  low_->Tick();
  high_->Tick();
  EXPECT_EQ(low_->SendCodec(), nullptr);
  EXPECT_EQ(high_->SendCodec(), nullptr);
  EXPECT_EQ(low_->counters().expired, 1u);
}

TEST_F(PeerSessions, RestartedPeerIsAcceptedAgain) {
  Handshake(*low_, *high_);
  EXPECT_TRUE(Exchange());
  clock_.Advance(absl::Seconds(5));
  // low restarts: new state, same identity; its clock-based timestamps are above the old ones.
  low_.emplace(NewSession(*low_id_, *high_id_));
  Handshake(*low_, *high_);
  EXPECT_EQ(Open(*high_, Seal(*low_, "after restart")), DropReason::kNone);
  EXPECT_TRUE(Exchange());
}

// Both nodes start at once (both initiate) on a link whose round trip is longer than
// retry_interval: each side's initiation is a retry old when the other's arrives. They must agree
// on one epoch within a few round trips (they used to stay on different epochs until the rekey
// timer, 130 s), and a rekey over the same link loses nothing.
class SlowLink : public PeerSessions, public ::testing::WithParamInterface<absl::Duration> {};

TEST_P(SlowLink, CrossingInitiationsConvergeWithinAFewRoundTrips) {
  const absl::Duration rtt = GetParam();
  const absl::Time start = clock_.Now();
  Traffic t = Run(absl::Seconds(150), rtt / 2);
  ASSERT_LT(t.both(), absl::InfiniteFuture());
  EXPECT_LE(t.both() - start, 2 * rtt + absl::Seconds(1));
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
  // After that, through the rekey at 120 s, nothing sealed is refused.
  EXPECT_LE(t.last_drop, t.both()) << "drops: " << t.drops.size();
  EXPECT_EQ(t.drops[DropReason::kAuthenticationFailed], 0);
  EXPECT_GE(low_->counters().rekeys + high_->counters().rekeys, 1u);
  // One handshake at the start, one rekey: no handshake storm.
  EXPECT_LE(low_->counters().completed, 3u);
  EXPECT_LE(high_->counters().completed, 3u);
}

INSTANTIATE_TEST_SUITE_P(RoundTrips, SlowLink,
                         ::testing::Values(absl::Milliseconds(1500), absl::Seconds(3)),
                         [](const auto& info) {
                           return std::to_string(absl::ToInt64Milliseconds(info.param)) + "ms";
                         });

TEST_F(PeerSessions, ResponseToAnEarlierAttemptCompletes) {
  std::optional<Outgoing> first = low_->Tick();
  clock_.Advance(settings_.retry_interval);
  std::optional<Outgoing> retry = low_->Tick();
  ASSERT_TRUE(first.has_value() && retry.has_value());
  // The first attempt's response arrives after the retry was sent (a round trip over 1 s).
  ASSERT_EQ(Deliver(*high_, first->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  EXPECT_FALSE(low_->handshaking());
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, AttemptsBeyondKeptAttemptsAreForgotten) {
  std::optional<Outgoing> first = low_->Tick();
  ASSERT_TRUE(first.has_value());
  for (int i = 0; i < settings_.kept_attempts; ++i) {
    clock_.Advance(settings_.retry_interval);
    ASSERT_TRUE(low_->Tick().has_value());
  }
  ASSERT_EQ(Deliver(*high_, first->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  EXPECT_EQ(Deliver(*low_, response), DropReason::kHandshakeUnexpected);
  EXPECT_TRUE(low_->handshaking());
}

// Both the first try and the retry of an initiation reach the responder: the retry gets the same
// response, not new keys, so what the responder sealed in between opens at the initiator.
TEST_F(PeerSessions, RetryAnsweredTwiceGetsTheSameResponse) {
  std::optional<Outgoing> first = low_->Tick();
  clock_.Advance(settings_.retry_interval);
  std::optional<Outgoing> retry = low_->Tick();
  ASSERT_TRUE(first.has_value() && retry.has_value());
  ASSERT_EQ(Deliver(*high_, first->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  std::vector<uint8_t> between = Seal(*high_, "sealed between the two answers");
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_EQ(Deliver(*high_, retry->message), DropReason::kNone);
  ASSERT_TRUE(reply_.has_value());
  EXPECT_EQ(reply_->message, response);
  EXPECT_EQ(high_->counters().responded, 2u);
  EXPECT_EQ(high_->counters().completed, 1u);
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  // The second copy finds the handshake done.
  EXPECT_EQ(Deliver(*low_, response), DropReason::kHandshakeUnexpected);
  EXPECT_EQ(Open(*low_, between), DropReason::kNone);
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
  EXPECT_TRUE(Exchange());
}

TEST_F(PeerSessions, RetryDuringARekeyGetsTheSameResponse) {
  Handshake(*low_, *high_);
  clock_.Advance(settings_.rekey_after_time);
  std::optional<Outgoing> first = low_->Tick();
  clock_.Advance(settings_.retry_interval);
  std::optional<Outgoing> retry = low_->Tick();
  ASSERT_TRUE(first.has_value() && retry.has_value());
  ASSERT_EQ(Deliver(*high_, first->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  clock_.Advance(settings_.min_response_interval);
  ASSERT_EQ(Deliver(*high_, retry->message), DropReason::kNone);
  EXPECT_EQ(reply_->message, response);
  ASSERT_EQ(Deliver(*low_, response), DropReason::kNone);
  EXPECT_EQ(Open(*high_, Seal(*low_, "new epoch")), DropReason::kNone);
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
  EXPECT_TRUE(Exchange());
}

// A node restarts and an on-path attacker replays to it the initiation that made the session
// its peer still uses: the restarted node answers (it has forgotten the timestamp) and seals under
// keys the peer lacks. What the peer then sends it does not open, which starts a handshake of its
// own: traffic resumes within seconds, not at the peer's rekey (130 s).
class RestartWithReplay : public PeerSessions, public ::testing::WithParamInterface<bool> {};

TEST_P(RestartWithReplay, TrafficResumesWithinSeconds) {
  const bool restart_high = GetParam();
  PeerSession& initiator = restart_high ? *low_ : *high_;
  PeerSession& responder = restart_high ? *high_ : *low_;
  std::optional<Outgoing> recorded = initiator.Tick();
  ASSERT_TRUE(recorded.has_value());
  ASSERT_EQ(Deliver(responder, recorded->message), DropReason::kNone);
  HandshakeMessage response = reply_->message;
  ASSERT_EQ(Deliver(initiator, response), DropReason::kNone);
  Traffic before = Run(absl::Seconds(5), absl::Milliseconds(50));
  EXPECT_EQ(before.drops.size(), 0u);

  // The responder restarts; the replay reaches it before anything else.
  std::optional<PeerSession>& restarted = restart_high ? high_ : low_;
  restarted.emplace(
      NewSession(restart_high ? *high_id_ : *low_id_, restart_high ? *low_id_ : *high_id_));
  wire_.clear();
  ASSERT_EQ(Deliver(*restarted, recorded->message), DropReason::kNone);
  const absl::Time restart = clock_.Now();
  Traffic t = Run(absl::Seconds(20), absl::Milliseconds(50));
  ASSERT_LT(t.both(), absl::InfiniteFuture());
  EXPECT_LE(t.both() - restart, absl::Seconds(3));
  EXPECT_LE(t.last_drop - restart, absl::Seconds(3));
  EXPECT_EQ(low_->current_epoch(), high_->current_epoch());
}

INSTANTIATE_TEST_SUITE_P(Restarted, RestartWithReplay, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "High" : "Low"; });

// Datagrams under an epoch we do not hold are not authenticated: they start a handshake only
// while nothing opens under the current epoch, and at most one per retry_interval.
TEST_F(PeerSessions, UnknownEpochStartsAHandshakeOnlyWhenThePeerIsNotReachingUs) {
  Handshake(*low_, *high_);
  std::vector<uint8_t> forged = Seal(*high_, "x");
  forged[kEpochOffset] = static_cast<uint8_t>(high_->current_epoch() + 100);
  // The genuine peer keeps reaching us: forged datagrams change nothing.
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(absl::Milliseconds(100));
    EXPECT_EQ(Open(*low_, forged), DropReason::kUnknownKeyEpoch);
    EXPECT_EQ(Open(*low_, Seal(*high_, "genuine")), DropReason::kNone);
    EXPECT_FALSE(low_->Tick().has_value());
  }
  // Nothing genuine for a second: one handshake (then its retries, as any).
  int handshakes = 0;
  absl::Time first = absl::InfiniteFuture();
  const absl::Time quiet = clock_.Now();
  for (int i = 0; i < 25; ++i) {
    clock_.Advance(absl::Milliseconds(100));
    EXPECT_EQ(Open(*low_, forged), DropReason::kUnknownKeyEpoch);
    std::optional<Outgoing> out = low_->Tick();
    if (out.has_value() && out->attempt == 0) {
      ++handshakes;
      first = std::min(first, clock_.Now());
    }
  }
  EXPECT_EQ(handshakes, 1);
  EXPECT_GE(first - quiet, settings_.retry_interval);
  EXPECT_TRUE(low_->handshaking());
}

}  // namespace
}  // namespace fleetbond::transport
