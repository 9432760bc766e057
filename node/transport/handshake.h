// handshake.h
//
// The messages and the key schedule of fleetbond's data-plane handshake: a one-round-trip exchange
// of ephemeral X25519 keys, authenticated by the two nodes' static identities, whose result is one
// key epoch of forward-secret session keys. PeerSession (peer_session.h) runs it; this file only
// builds, checks and derives, and holds no state between calls.
//
// Both messages are exactly kHandshakeMessageSize (68) bytes:
//   header (20, as every datagram: type 0x10 or 0x11, epoch = proposed epoch, sender id,
//           counter = the initiation's timestamp, echoed by the response)
//   ephemeral public key (32)
//   tag (16): ChaCha20-Poly1305 with nonce 0 over an empty plaintext, AAD = header || ephemeral
//
// With I the initiator, R the responder, s/S static secret/public keys, e/E ephemeral ones:
//   ss = X25519(s_I, S_R)  es = X25519(e_I, S_R)  ee = X25519(e_I, E_R)  se = X25519(s_I, E_R)
//   initiation key = HKDF(es || ss, salt, "initiation" || S_I || S_R)
//   okm            = HKDF(es || ss || ee || se, salt,
//                         "response" || S_I || S_R || SHA-256(initiation || response header ||
//                         E_R))
//   session secret = okm[0..32), response key = okm[32..64)
//   epoch keys     = DerivePeerKeysFromSecret(session secret, epoch, ...)
// Only R (s_R) can compute es, so only R can answer; only I (s_I) can compute ss and se, so only I
// can initiate and derive. ee needs an ephemeral secret, which is erased after the handshake: the
// static secrets and a recording of both messages do not give the session keys (forward secrecy).
//
// Example (the two sides in one process, as the tests run it):
//   FB_ASSIGN_OR_RETURN(Initiation init, CreateInitiation(a, b.public_key(), ss_ab, 1, now_ns));
//   ReceivedInitiation got;
//   if (VerifyInitiation(b, a.public_key(), ss_ba, init.message, &got) != DropReason::kNone) ...
//   FB_ASSIGN_OR_RETURN(Response resp, CreateResponse(b, a.public_key(), ss_ba, got));
//   PeerKeys keys;
//   DropReason r = ConsumeResponse(a, b.public_key(), ss_ab, init, resp.message, &keys);
#pragma once

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "node/transport/aead.h"
#include "node/transport/bytes.h"
#include "node/transport/peer_keys.h"
#include "node/transport/wire_format.h"
#include "shared/identity/identity.h"

namespace fleetbond::transport {

inline constexpr size_t kHandshakeEphemeralOffset = kHeaderSize;
inline constexpr size_t kHandshakeTagOffset = kHeaderSize + kPublicKeySize;

using HandshakeMessage = std::array<uint8_t, kHandshakeMessageSize>;

// HandshakeSecrets are the four X25519 results one handshake mixes (names as in the banner).
struct HandshakeSecrets {
  SharedSecret es;
  SharedSecret ss;
  SharedSecret ee;
  SharedSecret se;
};

// SessionSecrets are what the full exchange yields.
struct SessionSecrets {
  // session feeds DerivePeerKeysFromSecret for the epoch's two directional keys.
  SharedSecret session;
  // response_key authenticates the response.
  AeadKey response_key;
};

// DeriveInitiationKey derives the key that authenticates an initiation from I to R.
absl::StatusOr<AeadKey> DeriveInitiationKey(const SharedSecret& es, const SharedSecret& ss,
                                            const PublicKey& initiator, const PublicKey& responder);

// DeriveSessionSecrets derives the session secret and the response key from the four secrets and
// the transcript: the whole initiation and the first 52 bytes of the response (header and
// ephemeral key). Exposed so that tests can show what an attacker without ee cannot compute.
absl::StatusOr<SessionSecrets> DeriveSessionSecrets(const HandshakeSecrets& secrets,
                                                    const PublicKey& initiator,
                                                    const PublicKey& responder,
                                                    ConstBytes initiation,
                                                    ConstBytes response_head);

// Initiation is one initiation the initiator sent, with the ephemeral key pair it must keep until
// the response arrives (Identity is the project's X25519 key-pair type; its secret is wiped when
// the object is destroyed).
struct Initiation {
  Identity ephemeral;
  KeyEpoch epoch = 0;
  uint64_t timestamp = 0;
  HandshakeMessage message{};
};

// CreateInitiation builds an initiation from `self` to the peer whose static key is `responder`.
// `static_secret` is X25519(self, responder), which callers compute once per peer.
absl::StatusOr<Initiation> CreateInitiation(const Identity& self, const PublicKey& responder,
                                            const SharedSecret& static_secret, KeyEpoch epoch,
                                            uint64_t timestamp);

// ReceivedInitiation is an initiation whose tag verified.
struct ReceivedInitiation {
  Header header;
  PublicKey ephemeral{};
  SharedSecret es;
  HandshakeMessage message{};
};

// VerifyInitiation checks an initiation (kHandshakeMessageSize bytes whose header ParseHeader
// accepted) from the peer whose static key is `initiator`. kNone fills `out`;
// kAuthenticationFailed means it was not made by the holder of that key for this node (or was
// changed on the way). It does not judge the timestamp: that is the caller's replay state.
DropReason VerifyInitiation(const Identity& self, const PublicKey& initiator,
                            const SharedSecret& static_secret, ConstBytes message,
                            ReceivedInitiation* out);

// Response is the responder's answer and the epoch keys it derived (from its own side).
struct Response {
  HandshakeMessage message{};
  PeerKeys keys;
};

// CreateResponse answers a verified initiation with a fresh ephemeral key (generated, used and
// erased inside the call) and derives the epoch keys.
absl::StatusOr<Response> CreateResponse(const Identity& self, const PublicKey& initiator,
                                        const SharedSecret& static_secret,
                                        const ReceivedInitiation& initiation);

// ConsumeResponse checks a response to `initiation` and derives the epoch keys into `keys`.
// kHandshakeUnexpected: it answers some other initiation (epoch or timestamp differ);
// kAuthenticationFailed: the tag did not verify.
DropReason ConsumeResponse(const Identity& self, const PublicKey& responder,
                           const SharedSecret& static_secret, const Initiation& initiation,
                           ConstBytes message, PeerKeys* keys);

}  // namespace fleetbond::transport
