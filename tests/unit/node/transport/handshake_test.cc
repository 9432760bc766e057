#include "node/transport/handshake.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::transport {
namespace {

using ::fleetbond::testing::IsOk;

Identity NewIdentity() {
  auto identity = Identity::Generate();
  EXPECT_THAT(identity, IsOk());
  return std::move(identity).value();
}

SharedSecret Dh(const Identity& self, const PublicKey& peer) {
  auto s = self.ComputeSharedSecret(peer);
  EXPECT_THAT(s, IsOk());
  return std::move(s).value();
}

bool SameKey(const AeadKey& a, const AeadKey& b) {
  return std::equal(a.data(), a.data() + a.size(), b.data());
}

constexpr uint64_t kTimestamp = 1'764'000'000'000'000'000;

// HandshakeBetweenPeers runs the two halves of one handshake: a initiates, b responds.
class HandshakeBetweenPeers : public ::testing::Test {
 protected:
  HandshakeBetweenPeers()
      : a_(NewIdentity()),
        b_(NewIdentity()),
        ss_ab_(Dh(a_, b_.public_key())),
        ss_ba_(Dh(b_, a_.public_key())) {}

  Initiation Initiate(KeyEpoch epoch = 7) {
    auto init = CreateInitiation(a_, b_.public_key(), ss_ab_, epoch, kTimestamp);
    EXPECT_THAT(init, IsOk());
    return std::move(init).value();
  }

  Response Respond(const Initiation& init) {
    ReceivedInitiation got;
    EXPECT_EQ(VerifyInitiation(b_, a_.public_key(), ss_ba_, init.message, &got), DropReason::kNone);
    auto response = CreateResponse(b_, a_.public_key(), ss_ba_, got);
    EXPECT_THAT(response, IsOk());
    return std::move(response).value();
  }

  Identity a_;
  Identity b_;
  SharedSecret ss_ab_;
  SharedSecret ss_ba_;
};

TEST_F(HandshakeBetweenPeers, CompletesWithMatchingDirectionalKeys) {
  Initiation init = Initiate(7);
  Header header;
  ASSERT_EQ(ParseHeader(init.message, &header), DropReason::kNone);
  EXPECT_EQ(header.type, MessageType::kHandshakeInitiation);
  EXPECT_EQ(header.epoch, 7);
  EXPECT_EQ(header.sender, a_.id());
  EXPECT_EQ(header.counter, kTimestamp);

  Response response = Respond(init);
  ASSERT_EQ(ParseHeader(response.message, &header), DropReason::kNone);
  EXPECT_EQ(header.type, MessageType::kHandshakeResponse);
  EXPECT_EQ(header.sender, b_.id());
  EXPECT_EQ(header.counter, kTimestamp);  // echoed

  PeerKeys a_keys;
  ASSERT_EQ(ConsumeResponse(a_, b_.public_key(), ss_ab_, init, response.message, &a_keys),
            DropReason::kNone);
  EXPECT_EQ(a_keys.epoch, 7);
  EXPECT_EQ(response.keys.epoch, 7);
  EXPECT_TRUE(SameKey(a_keys.send, response.keys.receive));
  EXPECT_TRUE(SameKey(a_keys.receive, response.keys.send));
  EXPECT_FALSE(SameKey(a_keys.send, a_keys.receive));
}

TEST_F(HandshakeBetweenPeers, EveryTamperedBitOfEitherMessageIsRefused) {
  Initiation init = Initiate();
  for (size_t i = 0; i < init.message.size() * 8; ++i) {
    HandshakeMessage m = init.message;
    m[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    ReceivedInitiation got;
    EXPECT_NE(VerifyInitiation(b_, a_.public_key(), ss_ba_, m, &got), DropReason::kNone) << i;
  }
  Response response = Respond(init);
  for (size_t i = 0; i < response.message.size() * 8; ++i) {
    HandshakeMessage m = response.message;
    m[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    PeerKeys keys;
    EXPECT_NE(ConsumeResponse(a_, b_.public_key(), ss_ab_, init, m, &keys), DropReason::kNone) << i;
  }
}

TEST_F(HandshakeBetweenPeers, WrongStaticKeysAreRefused) {
  Identity c = NewIdentity();
  Initiation init = Initiate();
  ReceivedInitiation got;
  // b thinks the initiation comes from c: a's key made it, so it does not verify.
  EXPECT_EQ(VerifyInitiation(b_, c.public_key(), Dh(b_, c.public_key()), init.message, &got),
            DropReason::kAuthenticationFailed);
  // c receives an initiation a made for b.
  EXPECT_EQ(VerifyInitiation(c, a_.public_key(), Dh(c, a_.public_key()), init.message, &got),
            DropReason::kAuthenticationFailed);

  // c impersonates a towards b: a's id in the header, but c's static secret in the tag key.
  auto forged = CreateInitiation(c, b_.public_key(), Dh(c, b_.public_key()), 7, kTimestamp);
  ASSERT_THAT(forged, IsOk());
  HandshakeMessage m = forged->message;
  Header header;
  ASSERT_EQ(ParseHeader(m, &header), DropReason::kNone);
  header.sender = a_.id();
  WriteHeader(header, m.data());
  auto es = forged->ephemeral.ComputeSharedSecret(b_.public_key());
  ASSERT_THAT(es, IsOk());
  auto key = DeriveInitiationKey(*es, Dh(c, b_.public_key()), a_.public_key(), b_.public_key());
  ASSERT_THAT(key, IsOk());
  auto sealer = Sealer::Create(*key, 0);
  ASSERT_THAT(sealer, IsOk());
  ASSERT_EQ(sealer->TakeCounter(), 0u);
  ASSERT_EQ(sealer->Seal(0, ConstBytes(m.data(), kHandshakeTagOffset), {}, {},
                         MutableBytes(m.data() + kHandshakeTagOffset, kAeadTagSize)),
            AeadError::kOk);
  EXPECT_EQ(VerifyInitiation(b_, a_.public_key(), ss_ba_, m, &got),
            DropReason::kAuthenticationFailed);

  // A response made by c (not b) to a's initiation is refused by a.
  ASSERT_EQ(VerifyInitiation(b_, a_.public_key(), ss_ba_, init.message, &got), DropReason::kNone);
  ReceivedInitiation as_c = got;
  auto es_c = c.ComputeSharedSecret(as_c.ephemeral);
  ASSERT_THAT(es_c, IsOk());
  as_c.es = *es_c;
  auto fake = CreateResponse(c, a_.public_key(), Dh(c, a_.public_key()), as_c);
  ASSERT_THAT(fake, IsOk());
  HandshakeMessage r = fake->message;
  ASSERT_EQ(ParseHeader(r, &header), DropReason::kNone);
  header.sender = b_.id();
  WriteHeader(header, r.data());
  PeerKeys keys;
  EXPECT_EQ(ConsumeResponse(a_, b_.public_key(), ss_ab_, init, r, &keys),
            DropReason::kAuthenticationFailed);
}

TEST_F(HandshakeBetweenPeers, SmallOrderEphemeralKeyIsRefused) {
  Initiation init = Initiate();
  std::fill(init.message.begin() + kHandshakeEphemeralOffset,
            init.message.begin() + kHandshakeTagOffset, 0);
  ReceivedInitiation got;
  EXPECT_EQ(VerifyInitiation(b_, a_.public_key(), ss_ba_, init.message, &got),
            DropReason::kAuthenticationFailed);
}

TEST_F(HandshakeBetweenPeers, ResponseToAnotherInitiationIsUnexpected) {
  Initiation first = Initiate(7);
  Initiation second = Initiate(9);
  Response response = Respond(first);
  PeerKeys keys;
  EXPECT_EQ(ConsumeResponse(a_, b_.public_key(), ss_ab_, second, response.message, &keys),
            DropReason::kHandshakeUnexpected);
}

// Forward secrecy: an attacker who recorded both messages and later stole both static secrets
// knows es, ss and se, but not ee, which needs an ephemeral secret that no longer exists.
TEST_F(HandshakeBetweenPeers, StaticSecretsAndTheTranscriptDoNotGiveTheSessionKeys) {
  Initiation init = Initiate(7);
  Response response = Respond(init);
  PeerKeys session;
  ASSERT_EQ(ConsumeResponse(a_, b_.public_key(), ss_ab_, init, response.message, &session),
            DropReason::kNone);

  // The session keys are not the static keys (of any epoch).
  auto static0 = DerivePeerKeys(a_, b_.public_key());
  ASSERT_THAT(static0, IsOk());
  EXPECT_FALSE(SameKey(session.send, static0->send));
  auto static7 = DerivePeerKeysFromSecret(ss_ab_, 7, a_.public_key(), b_.public_key());
  ASSERT_THAT(static7, IsOk());
  EXPECT_FALSE(SameKey(session.send, static7->send));
  EXPECT_FALSE(SameKey(session.receive, static7->receive));

  // What the attacker can compute from the recording and the static secrets.
  PublicKey e_a, e_b;
  std::copy_n(init.message.begin() + kHandshakeEphemeralOffset, kPublicKeySize, e_a.begin());
  std::copy_n(response.message.begin() + kHandshakeEphemeralOffset, kPublicKeySize, e_b.begin());
  HandshakeSecrets known;
  known.es = Dh(b_, e_a);  // X25519(s_B, E_A) = X25519(e_A, S_B)
  known.ss = ss_ab_;
  known.se = Dh(a_, e_b);  // X25519(s_A, E_B)
  // Every ee the attacker can form without an ephemeral secret.
  std::vector<SharedSecret> guesses;
  guesses.emplace_back();  // all zero
  guesses.push_back(ss_ab_);
  guesses.push_back(known.es);
  guesses.push_back(known.se);
  guesses.push_back(Dh(a_, e_a));
  guesses.push_back(Dh(b_, e_b));
  for (size_t i = 0; i < guesses.size(); ++i) {
    HandshakeSecrets attempt = known;
    attempt.ee = guesses[i];
    auto derived = DeriveSessionSecrets(attempt, a_.public_key(), b_.public_key(), init.message,
                                        ConstBytes(response.message.data(), kHandshakeTagOffset));
    ASSERT_THAT(derived, IsOk());
    auto keys = DerivePeerKeysFromSecret(derived->session, 7, a_.public_key(), b_.public_key());
    ASSERT_THAT(keys, IsOk());
    EXPECT_FALSE(SameKey(keys->send, session.send)) << i;
    EXPECT_FALSE(SameKey(keys->receive, session.receive)) << i;
    // And the guess does not even reproduce the response's tag.
    auto opener = Opener::Create(derived->response_key);
    ASSERT_THAT(opener, IsOk());
    EXPECT_EQ(opener->Open(0, ConstBytes(response.message.data(), kHandshakeTagOffset),
                           ConstBytes(response.message.data() + kHandshakeTagOffset, kAeadTagSize),
                           MutableBytes()),
              AeadError::kAuthenticationFailed)
        << i;
  }
}

TEST_F(HandshakeBetweenPeers, EveryHandshakeGivesDifferentKeys) {
  PeerKeys first, second;
  Initiation i1 = Initiate(7);
  ASSERT_EQ(ConsumeResponse(a_, b_.public_key(), ss_ab_, i1, Respond(i1).message, &first),
            DropReason::kNone);
  Initiation i2 = Initiate(7);
  ASSERT_EQ(ConsumeResponse(a_, b_.public_key(), ss_ab_, i2, Respond(i2).message, &second),
            DropReason::kNone);
  EXPECT_FALSE(SameKey(first.send, second.send));
  EXPECT_FALSE(SameKey(first.receive, second.receive));
}

}  // namespace
}  // namespace fleetbond::transport
