// Fuzz target: the data-plane handshake (node/transport/handshake.h, peer_session.h) as a node
// receives it from the wire, between the fixed identities of fuzz_identities.h.
//
// The first byte picks a mode:
//   0 messages  handshake.h alone: CreateInitiation from A to B (or C) with a fuzzed epoch and
//               timestamp, a fuzzed set of byte changes and a fuzzed length, VerifyInitiation;
//               then CreateResponse, changed the same way, ConsumeResponse. An unchanged message
//               must verify (and the two sides' keys must match: A's send key is B's receive key
//               and back), a changed one must not; a response to another timestamp is
//               handshake_unexpected.
//   1 sessions  two PeerSessions (A and B or C) on one fake clock and a fake network the input
//               drives: ticks, deliveries in any order, duplicated, truncated or with bytes
//               changed, data sealed with SendCodec, raw datagrams, restarts of either side.
//   2 raw       datagrams from the input into B's PeerSession (ParseHeader, then OnHandshake or
//               Open, as DataPlane::OnSocketReadable does), with ticks and clock steps between.
//               The corpus holds initiations sealed from A to B, so mutations of real ones get
//               past the tag check.
// Each run starts from fresh sessions and a fresh clock: nothing carries over between inputs.
//
// Properties checked beyond "no crash":
//   - a side accepts (kNone) only bytes the other side produced, unchanged, and each at most once
//     per instance (handshake messages and data alike; only an initiation is accepted again, by
//     a restarted instance); in raw mode, no response and no data is ever accepted
//     (nobody outside the process has the keys) and each distinct initiation at most once, with
//     strictly increasing timestamps;
//   - an accepted initiation yields exactly one reply, a well-formed response that echoes its
//     epoch and timestamp, or (a retry of an initiation answered before) the very response this
//     side sent for that epoch, again; a refused one yields none; a side answers at most once per
//     min_response_interval, and initiates at most once per retry_interval (a second Tick at the
//     same instant sends nothing); the counters agree with what the harness saw;
//   - an accepted response leaves the side established under the response's epoch;
//   - a model of the keys: each side's keys for an epoch are named by the response that made
//     them (sent or taken). A data packet from the peer opens (to exactly what was sealed) only
//     when the receiver's keys for its epoch have the name of those it was sealed under, and is
//     refused as authentication_failed only when they have another name; delivered unchanged
//     for the first time, nothing but no_session, unknown_key_epoch or that refuses it;
//   - convergence (mode 1): after the input's operations, whatever they left (restarts, replays,
//     crossing initiations, lost or duplicated messages), everything still on the wire arrives,
//     and the two sides then run as the data plane does (a Tick every 100 ms, one data datagram
//     each way per tick, a one-way delay of up to 3 s, from the input's second byte): data from
//     each side must open at the other within 20 s + 4 round trips. (Before the handshake's
//     hardening, crossing initiations over a round trip above retry_interval, or an initiation
//     replayed to a restarted node, left the sides on different epochs until the rekey timer,
//     130 s.)
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "node/transport/handshake.h"
#include "node/transport/packet_codec.h"
#include "node/transport/peer_session.h"
#include "node/transport/wire_format.h"
#include "shared/clock.h"
#include "tests/fuzz/fuzz_identities.h"
#include "tests/fuzz/fuzz_input.h"

namespace fleetbond::fuzz {
namespace {

using transport::ConstBytes;
using transport::DropReason;
using transport::HandshakeMessage;
using transport::HandshakeSettings;
using transport::Header;
using transport::kHandshakeMessageSize;
using transport::MessageType;
using transport::OpenedPacket;
using transport::PeerSession;
using Bytes = std::vector<uint8_t>;

// With FB_FUZZ_TRACE set, modes 1 and 2 print what each datagram did (to check a seed).
bool Tracing() {
  static const bool tracing = std::getenv("FB_FUZZ_TRACE") != nullptr;
  return tracing;
}

bool SameKey(const transport::AeadKey& a, const transport::AeadKey& b) {
  return std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// StaticSecret is X25519(self, peer), computed once per pair and process (it never changes).
const SharedSecret& StaticSecret(const Identity& self, const Identity& peer) {
  static std::map<std::pair<const Identity*, const Identity*>, SharedSecret>* const cache =
      new std::map<std::pair<const Identity*, const Identity*>, SharedSecret>();
  auto it = cache->find({&self, &peer});
  if (it == cache->end()) {
    absl::StatusOr<SharedSecret> s = self.ComputeSharedSecret(peer.public_key());
    FB_FUZZ_CHECK(s.ok());
    it = cache->emplace(std::make_pair(&self, &peer), *s).first;
  }
  return it->second;
}

// Mutate applies the input's changes to `message`: up to three byte XORs, then optionally a new
// length (cut, or zero-extended). It returns whether the bytes differ from the original.
bool Mutate(FuzzInput& in, Bytes& message) {
  const Bytes original = message;
  const uint8_t plan = in.Byte();
  for (int i = 0; i < (plan & 3); ++i) {
    const uint8_t pos = in.Byte();
    const uint8_t x = in.Byte();
    if (!message.empty()) message[pos % message.size()] ^= x;
  }
  if (plan & 4) message.resize(in.Byte() % (kHandshakeMessageSize + 12));
  return message != original;
}

// --- mode 0: the functions of handshake.h ---

void Messages(FuzzInput& in) {
  const Identity& initiator = IdentityA();
  const Identity& responder = in.Bool() ? IdentityC() : IdentityB();
  const transport::KeyEpoch epoch = in.Byte();
  const uint64_t timestamp = in.U64();
  const SharedSecret& ss_i = StaticSecret(initiator, responder);
  const SharedSecret& ss_r = StaticSecret(responder, initiator);

  absl::StatusOr<transport::Initiation> init =
      transport::CreateInitiation(initiator, responder.public_key(), ss_i, epoch, timestamp);
  FB_FUZZ_CHECK(init.ok());
  Bytes m(init->message.begin(), init->message.end());
  const bool changed = Mutate(in, m);
  transport::ReceivedInitiation got;
  const DropReason r =
      transport::VerifyInitiation(responder, initiator.public_key(), ss_r, m, &got);
  FB_FUZZ_CHECK((r == DropReason::kNone) == !changed);
  if (changed) return;
  FB_FUZZ_CHECK(got.header.type == MessageType::kHandshakeInitiation);
  FB_FUZZ_CHECK(got.header.epoch == epoch && got.header.counter == timestamp);
  FB_FUZZ_CHECK(got.header.sender == initiator.id());
  FB_FUZZ_CHECK(got.ephemeral == init->ephemeral.public_key());
  if (in.Bool()) {
    // The same bytes do not verify as an initiation from another static key.
    const Identity& other = &responder == &IdentityC() ? IdentityB() : IdentityC();
    transport::ReceivedInitiation unused;
    FB_FUZZ_CHECK(transport::VerifyInitiation(responder, other.public_key(),
                                              StaticSecret(responder, other), m,
                                              &unused) == DropReason::kAuthenticationFailed);
  }

  absl::StatusOr<transport::Response> resp =
      transport::CreateResponse(responder, initiator.public_key(), ss_r, got);
  FB_FUZZ_CHECK(resp.ok());
  FB_FUZZ_CHECK(resp->keys.epoch == epoch);
  Bytes m2(resp->message.begin(), resp->message.end());
  const bool changed2 = Mutate(in, m2);

  // A response judged against another initiation (other timestamp) is unexpected before any
  // cryptography; the real one is not touched by that.
  if (in.Bool() && !changed2) {
    transport::PeerKeys unused;
    init->timestamp = timestamp + 1;
    FB_FUZZ_CHECK(transport::ConsumeResponse(initiator, responder.public_key(), ss_i, *init, m2,
                                             &unused) == DropReason::kHandshakeUnexpected);
    init->timestamp = timestamp;
  }
  transport::PeerKeys keys;
  const DropReason d =
      transport::ConsumeResponse(initiator, responder.public_key(), ss_i, *init, m2, &keys);
  FB_FUZZ_CHECK((d == DropReason::kNone) == !changed2);
  if (d != DropReason::kNone) return;
  FB_FUZZ_CHECK(keys.epoch == epoch);
  FB_FUZZ_CHECK(SameKey(keys.send, resp->keys.receive));
  FB_FUZZ_CHECK(SameKey(keys.receive, resp->keys.send));
  FB_FUZZ_CHECK(!SameKey(keys.send, keys.receive));
}

// --- the receive path of a node, shared by modes 1 and 2 ---

HandshakeSettings SettingsOf(uint8_t b) {
  HandshakeSettings s;
  if (b & 1) s = s.WithRekeyInterval(absl::Seconds(5));
  if (b & 2) {
    s.rekey_after_packets = 1 + ((b >> 2) & 7);
    s.reject_after_packets = 2 * s.rekey_after_packets;
  }
  return s;
}

// Received is what a node did with one datagram.
struct Received {
  DropReason why = DropReason::kNone;
  MessageType type = MessageType::kData;
  Header header;
  std::optional<PeerSession::Outgoing> reply;
  Bytes inner;  // data: the opened inner packet
};

// Receive handles a datagram as DataPlane::OnSocketReadable does for a known peer: ParseHeader,
// then the session's OnHandshake or Open. `datagram` is opened in place (a copy is passed).
Received Receive(PeerSession& session, NodeId peer, Bytes datagram) {
  Received out;
  out.why = transport::ParseHeader(datagram, &out.header);
  if (out.why != DropReason::kNone) return out;
  out.type = out.header.type;
  if (out.header.sender != peer) {
    out.why = DropReason::kUnknownPeer;  // the data plane finds no peer with that id
    return out;
  }
  if (out.type == MessageType::kHandshakeInitiation ||
      out.type == MessageType::kHandshakeResponse) {
    out.why = session.OnHandshake(datagram, &out.reply);
    if (out.why != DropReason::kNone) FB_FUZZ_CHECK(!out.reply.has_value());
    return out;
  }
  OpenedPacket packet;
  out.why = session.Open(datagram, &packet);
  if (out.why == DropReason::kNone && packet.header.type == MessageType::kData) {
    out.inner.assign(packet.inner_packet.begin(), packet.inner_packet.end());
  }
  return out;
}

// CheckReply holds the reply to an accepted initiation to the initiation it answers: a response
// to it, or (`sent` holds the responses this node sent before) one sent before for its epoch, to
// an earlier initiation, again. It returns whether the reply is such a repeat.
bool CheckReply(const Received& r, NodeId self, const std::set<Bytes>& sent) {
  FB_FUZZ_CHECK(r.reply.has_value());
  Header h;
  FB_FUZZ_CHECK(transport::ParseHeader(r.reply->message, &h) == DropReason::kNone);
  FB_FUZZ_CHECK(h.type == MessageType::kHandshakeResponse);
  FB_FUZZ_CHECK(h.sender == self);
  FB_FUZZ_CHECK(h.epoch == r.header.epoch);
  FB_FUZZ_CHECK(r.reply->attempt == 0);
  if (h.counter == r.header.counter) return false;
  FB_FUZZ_CHECK(h.counter < r.header.counter);
  FB_FUZZ_CHECK(sent.count(Bytes(r.reply->message.begin(), r.reply->message.end())) == 1);
  return true;
}

// --- mode 1: two sessions ---

struct Side {
  const Identity* self = nullptr;
  const Identity* peer = nullptr;
  std::optional<PeerSession> session;
  int generation = 0;        // restarts
  uint64_t initiations = 0;  // Tick results since the last restart
  uint64_t responses = 0;    // accepted initiations since the last restart
  absl::Time last_response = absl::InfinitePast();
  std::set<Bytes> sent_responses;  // since the last restart
  // keys names the keys this instance holds per epoch by the response that made them (the one
  // it sent, or the one it took): two sides hold the same keys for an epoch exactly when they
  // name the same response.
  std::map<transport::KeyEpoch, Bytes> keys;
};

// Produced is a datagram one side sent: handshake or data.
struct Produced {
  std::set<int> accepted_by;  // generations of the receiver that accepted it
  bool data = false;
  Bytes inner;  // data: what was sealed
  Bytes keys;   // data: the sender's keys (Side::keys) it was sealed under
  int sender_generation = 0;
  int receiver_generation = 0;
};

// InFlight is a datagram on the fake network, on its way to side `to`.
struct InFlight {
  Bytes bytes;
  int to = 0;
};

class Sessions {
 public:
  Sessions(FuzzInput& in) : in_(in) {
    const uint8_t ctl = in.Byte();
    // The one-way delay of the convergence phase (Converge): 50 ms to 3 s.
    converge_delay_ = absl::Milliseconds(50 + 100 * ((ctl >> 1) % 30));
    settings_ = SettingsOf(in.Byte());
    sides_[0].self = &IdentityA();
    sides_[0].peer = (ctl & 1) ? &IdentityC() : &IdentityB();
    sides_[1].self = sides_[0].peer;
    sides_[1].peer = sides_[0].self;
    Start(0);
    Start(1);
  }

  void Run() {
    Operations();
    Converge();
  }

 private:
  void Operations() {
    int ops = 0;
    while (!in_.empty() && ++ops <= 64) {
      const uint8_t op = in_.Byte();
      const int s = (op >> 3) & 1;
      switch (op % 8) {
        case 0: {
          // A clock step, then both sides tick (with bit 3 set: time passes, nobody ticks).
          const uint16_t v = in_.U16();
          clock_.Advance((v & 0x8000) ? absl::Seconds(v & 0x3ff) : absl::Milliseconds(v));
          if (s == 0) {
            Tick(0);
            Tick(1);
          }
          break;
        }
        case 1: {
          if (wire_.empty()) break;
          const size_t k = in_.Byte() % wire_.size();
          const uint8_t how = in_.Byte();
          Bytes bytes = wire_[k].bytes;
          const int to = wire_[k].to;
          const bool changed = (how & 2) ? Mutate(in_, bytes) : false;
          if (!(how & 1)) wire_.erase(wire_.begin() + static_cast<std::ptrdiff_t>(k));
          Deliver(to, std::move(bytes), changed);
          break;
        }
        case 2: {
          std::span<const uint8_t> blob = in_.Blob();
          Seal(s, Bytes(blob.begin(), blob.end()));
          break;
        }
        case 3: {
          std::span<const uint8_t> raw = in_.Blob();
          Deliver(s, Bytes(raw.begin(), raw.end()), /*changed=*/true);
          break;
        }
        case 4:
          Start(s);
          break;
        case 5:
          Tick(s);
          break;
        case 6:
          if (!wire_.empty()) {
            InFlight m = std::move(wire_.back());
            wire_.pop_back();
            Deliver(m.to, std::move(m.bytes), false);
          }
          break;
        default: {
          // A short step, then everything on the wire arrives in order.
          clock_.Advance(absl::Milliseconds(in_.Byte()));
          std::vector<InFlight> all = std::move(wire_);
          wire_.clear();
          for (InFlight& m : all) Deliver(m.to, std::move(m.bytes), false);
          break;
        }
      }
      CheckCounters(0);
      CheckCounters(1);
    }
  }

  // Converge runs the two sides as the data plane does after the input's operations and requires
  // that data opens both ways in bounded time.
  void Converge() {
    const absl::Duration delay = converge_delay_;
    const absl::Time start = clock_.Now();
    const absl::Time deadline = start + absl::Seconds(20) + 8 * delay;
    struct Timed {
      absl::Time at;
      InFlight m;
    };
    std::vector<Timed> queue;
    // What is still on the wire arrives first, in order.
    for (InFlight& m : wire_) queue.push_back(Timed{start, std::move(m)});
    wire_.clear();
    std::array<bool, 2> opened = {false, false};  // data from side 1-i opened at side i
    while (!(opened[0] && opened[1])) {
      FB_FUZZ_CHECK(clock_.Now() < deadline);
      clock_.Advance(absl::Milliseconds(100));
      std::stable_sort(queue.begin(), queue.end(),
                       [](const Timed& a, const Timed& b) { return a.at < b.at; });
      size_t due = 0;
      while (due < queue.size() && queue[due].at <= clock_.Now()) ++due;
      std::vector<Timed> arriving(std::make_move_iterator(queue.begin()),
                                  std::make_move_iterator(queue.begin() + due));
      queue.erase(queue.begin(), queue.begin() + due);
      for (Timed& t : arriving) {
        const int to = t.m.to;
        if (Deliver(to, std::move(t.m.bytes), false) == kDataOpened) opened[to] = true;
      }
      Tick(0);
      Tick(1);
      Seal(0, Bytes{0x45, 0});
      Seal(1, Bytes{0x45, 1});
      for (InFlight& m : wire_) queue.push_back(Timed{clock_.Now() + delay, std::move(m)});
      wire_.clear();
      CheckCounters(0);
      CheckCounters(1);
    }
    if (Tracing()) {
      std::fprintf(stderr, "converged after %.1f s (one-way delay %.2f s)\n",
                   absl::ToDoubleSeconds(clock_.Now() - start), absl::ToDoubleSeconds(delay));
    }
  }

  void Start(int s) {
    Side& side = sides_[s];
    absl::StatusOr<PeerSession> created = PeerSession::Create(
        *side.self, side.peer->id(), side.peer->public_key(), settings_, clock_);
    FB_FUZZ_CHECK(created.ok());
    side.session.reset();
    side.session.emplace(*std::move(created));
    ++side.generation;
    if (Tracing()) std::fprintf(stderr, "start %d, generation %d\n", s, side.generation);
    side.initiations = 0;
    side.responses = 0;
    side.last_response = absl::InfinitePast();
    side.sent_responses.clear();
    side.keys.clear();
    FB_FUZZ_CHECK(!side.session->established() && !side.session->handshaking());
  }

  // Send puts a datagram on the wire; `again` marks a response sent before, repeated.
  void Send(int from, const uint8_t* data, size_t size, Produced p, bool again = false) {
    Bytes bytes(data, data + size);
    p.sender_generation = sides_[from].generation;
    p.receiver_generation = sides_[1 - from].generation;
    // A message is produced once (fresh ephemeral keys, increasing counters and timestamps),
    // unless it is a response repeated to a retry.
    if (again) {
      FB_FUZZ_CHECK(produced_[from].count(bytes) == 1);
    } else {
      FB_FUZZ_CHECK(produced_[from].emplace(bytes, std::move(p)).second);
    }
    if (wire_.size() >= 16) wire_.erase(wire_.begin());
    wire_.push_back(InFlight{std::move(bytes), 1 - from});
  }

  void Tick(int s) {
    Side& side = sides_[s];
    std::optional<PeerSession::Outgoing> out = side.session->Tick();
    if (!out.has_value()) return;
    ++side.initiations;
    FB_FUZZ_CHECK(side.session->handshaking());
    Header h;
    FB_FUZZ_CHECK(transport::ParseHeader(out->message, &h) == DropReason::kNone);
    FB_FUZZ_CHECK(h.type == MessageType::kHandshakeInitiation && h.sender == side.self->id());
    FB_FUZZ_CHECK(h.epoch != transport::kStaticKeyEpoch);
    // At most one initiation per retry_interval.
    FB_FUZZ_CHECK(!side.session->Tick().has_value());
    Send(s, out->message.data(), out->message.size(), Produced{});
  }

  void Seal(int s, Bytes inner) {
    Side& side = sides_[s];
    transport::PacketCodec* codec = side.session->SendCodec();
    if (codec == nullptr) return;
    FB_FUZZ_CHECK(side.session->established());
    FB_FUZZ_CHECK(codec->epoch() == side.session->current_epoch());
    FB_FUZZ_CHECK(codec->epoch() != transport::kStaticKeyEpoch);
    if (inner.empty()) inner.push_back(0x45);
    Bytes out(inner.size() + transport::kDataOverhead);
    transport::SealResult r = codec->SealData(7, 42, inner, out);
    if (!r.ok()) return;  // too large for a datagram
    Produced p;
    p.data = true;
    p.inner = std::move(inner);
    auto keys = side.keys.find(codec->epoch());
    FB_FUZZ_CHECK(keys != side.keys.end());
    p.keys = keys->second;
    Send(s, out.data(), r.size, std::move(p));
  }

  // Deliver hands a datagram to side `to`; kDataOpened: genuine data from the peer opened.
  static constexpr int kDataOpened = 1;
  int Deliver(int to, Bytes bytes, bool changed) {
    Side& side = sides_[to];
    auto it = produced_[1 - to].find(bytes);
    const bool genuine = it != produced_[1 - to].end();
    const Received r = Receive(*side.session, side.peer->id(), bytes);
    if (Tracing()) {
      std::fprintf(stderr, "deliver to %d: %zu bytes type %d%s%s -> %s (epoch now %d)\n", to,
                   bytes.size(), bytes.size() > 1 ? bytes[1] : -1, genuine ? " genuine" : "",
                   changed ? " changed" : "", std::string(DropReasonName(r.why)).c_str(),
                   side.session->established() ? side.session->current_epoch() : -1);
    }
    auto keys = side.keys.find(r.header.epoch);
    if (genuine && it->second.data) {
      // Data from the peer opens exactly with the keys it was sealed under: accepted only with
      // those, refused as authentication_failed only by other keys for its epoch.
      const bool same_keys = keys != side.keys.end() && keys->second == it->second.keys;
      if (r.why == DropReason::kNone) FB_FUZZ_CHECK(same_keys);
      if (r.why == DropReason::kAuthenticationFailed) {
        FB_FUZZ_CHECK(keys != side.keys.end() && !same_keys);
      }
      // Delivered unchanged for the first time: nothing else refuses it.
      if (!changed && it->second.accepted_by.empty()) {
        FB_FUZZ_CHECK(r.why == DropReason::kNone || r.why == DropReason::kNoSession ||
                      r.why == DropReason::kUnknownKeyEpoch ||
                      r.why == DropReason::kAuthenticationFailed);
      }
    }
    if (r.why != DropReason::kNone) return 0;
    // Accepted: it must be something the peer sent, unchanged, and not accepted before by this
    // instance of the receiver. (A restarted node has forgotten the highest initiation timestamp
    // it saw, so an initiation made for its previous instance is answered again: a replay across
    // a restart, docs/SECURITY.md. The keys model above covers what follows from it.)
    FB_FUZZ_CHECK(genuine);
    FB_FUZZ_CHECK(it->second.accepted_by.insert(side.generation).second);
    if (it->second.receiver_generation != side.generation) {
      FB_FUZZ_CHECK(r.type == MessageType::kHandshakeInitiation);
    }
    switch (r.type) {
      case MessageType::kData:
        FB_FUZZ_CHECK(it->second.data);
        FB_FUZZ_CHECK(r.inner == it->second.inner);
        return kDataOpened;
      case MessageType::kHandshakeInitiation: {
        const bool again = CheckReply(r, side.self->id(), side.sent_responses);
        const absl::Time now = clock_.Now();
        FB_FUZZ_CHECK(now - side.last_response >= settings_.min_response_interval);
        side.last_response = now;
        ++side.responses;
        Bytes response(r.reply->message.begin(), r.reply->message.end());
        // A repeated response names the keys this side made when it first sent it.
        if (again) FB_FUZZ_CHECK(side.keys[r.header.epoch] == response);
        side.keys[r.header.epoch] = response;
        side.sent_responses.insert(response);
        Send(to, r.reply->message.data(), r.reply->message.size(), Produced{}, again);
        break;
      }
      case MessageType::kHandshakeResponse:
        FB_FUZZ_CHECK(side.session->established());
        FB_FUZZ_CHECK(side.session->current_epoch() == r.header.epoch);
        FB_FUZZ_CHECK(!side.session->handshaking());
        side.keys[r.header.epoch] = bytes;
        break;
      default:
        FB_FUZZ_CHECK(false);  // only data is ever sealed here
    }
    return 0;
  }

  void CheckCounters(int s) {
    Side& side = sides_[s];
    const transport::HandshakeCounters& c = side.session->counters();
    FB_FUZZ_CHECK(c.initiated == side.initiations);
    FB_FUZZ_CHECK(c.responded == side.responses);
    FB_FUZZ_CHECK(c.rekeys <= c.completed);
    FB_FUZZ_CHECK(side.session->established() || side.session->SendCodec() == nullptr);
  }

  FuzzInput& in_;
  FakeClock clock_;
  HandshakeSettings settings_;
  absl::Duration converge_delay_;
  std::array<Side, 2> sides_;
  std::array<std::map<Bytes, Produced>, 2> produced_;  // by sender
  std::vector<InFlight> wire_;
};

// --- mode 2: raw datagrams into one node ---

void Raw(FuzzInput& in) {
  FakeClock clock;
  const HandshakeSettings settings = SettingsOf(in.Byte());
  const Identity& self = IdentityB();
  const Identity& peer = IdentityA();
  absl::StatusOr<PeerSession> session =
      PeerSession::Create(self, peer.id(), peer.public_key(), settings, clock);
  FB_FUZZ_CHECK(session.ok());
  std::set<Bytes> accepted;
  std::set<Bytes> responses;
  uint64_t highest_timestamp = 0;
  absl::Time last_response = absl::InfinitePast();
  int ops = 0;
  while (!in.empty() && ++ops <= 64) {
    const uint8_t op = in.Byte();
    switch (op % 4) {
      case 0:
        clock.Advance(absl::Milliseconds(in.U16()));
        break;
      case 1:
        (void)session->Tick();  // a pending initiation of our own: responses are looked at
        break;
      default: {
        std::span<const uint8_t> raw = in.Blob();
        Bytes bytes(raw.begin(), raw.end());
        const Received r = Receive(*session, peer.id(), bytes);
        if (Tracing()) {
          std::fprintf(stderr, "raw: %zu bytes -> %s\n", bytes.size(),
                       std::string(DropReasonName(r.why)).c_str());
        }
        if (r.why != DropReason::kNone) break;
        // Nothing outside this process holds the keys of a response to our initiation or of a
        // session we answered.
        FB_FUZZ_CHECK(r.type == MessageType::kHandshakeInitiation);
        FB_FUZZ_CHECK(accepted.insert(bytes).second);
        FB_FUZZ_CHECK(r.header.counter > highest_timestamp);
        highest_timestamp = r.header.counter;
        CheckReply(r, self.id(), responses);
        responses.emplace(r.reply->message.begin(), r.reply->message.end());
        FB_FUZZ_CHECK(clock.Now() - last_response >= settings.min_response_interval);
        last_response = clock.Now();
        // Answered: current at once, or (our own handshake older than retry_interval, kept as
        // the tie-break wants) waiting for the peer to use it.
        FB_FUZZ_CHECK(session->established() || session->handshaking());
        break;
      }
    }
  }
}

}  // namespace
}  // namespace fleetbond::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fleetbond::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 3) {
    case 0:
      fleetbond::fuzz::Messages(in);
      break;
    case 1: {
      fleetbond::fuzz::Sessions sessions(in);
      sessions.Run();
      break;
    }
    default:
      fleetbond::fuzz::Raw(in);
      break;
  }
  return 0;
}
