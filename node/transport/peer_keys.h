// peer_keys.h
//
// PeerKeys are the two ChaCha20-Poly1305 keys a pair of nodes use: one for each direction, so the
// two sides never encrypt under the same key and their independent counters can never produce
// the same (key, nonce) pair.
//
// Derivation (docs/wire-format.md, "Key derivation"):
//   ikm  = X25519(own secret, peer public)
//   salt = "fleetbond v1 peer keys"
//   info = "fleetbond v1 " || epoch (1 byte) || lower public key || higher public key
//   okm  = HKDF-SHA256(ikm, salt, info, 64 bytes)
//   key(lower -> higher) = okm[0..32), key(higher -> lower) = okm[32..64)
// "lower" and "higher" order the two public keys bytewise, so both sides compute the same info
// string and agree on which half is whose without any exchange.
//
// Epoch 0 is the static key set derived from the identities alone; data is never sealed under it
// (a stolen identity would decrypt it). Every completed handshake (handshake.h) yields a session
// secret from ephemeral exchanges, and this same HKDF step turns it into a further epoch's keys.
//
// Example:
//   FB_ASSIGN_OR_RETURN(PeerKeys keys, DerivePeerKeys(self, peer_public_key));
//   FB_ASSIGN_OR_RETURN(PacketCodec codec, PacketCodec::Create(self.id(), peer_id, keys, ...));
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "node/transport/aead.h"
#include "shared/identity/identity.h"

namespace fleetbond::transport {

// KeyEpoch numbers the key sets of one peer pair. It is one byte on the wire and compared only
// for equality: a receiver holds at most a handful of live epochs (current, previous for the
// replay window's overlap, next during a rekey), so wrapping after 255 is harmless.
using KeyEpoch = uint8_t;

// kStaticKeyEpoch is the epoch of keys derived from the static identities alone.
inline constexpr KeyEpoch kStaticKeyEpoch = 0;

// PeerKeys is one epoch's pair of directional keys, seen from one side.
struct PeerKeys {
  KeyEpoch epoch = kStaticKeyEpoch;
  // send encrypts what this node sends to the peer.
  AeadKey send;
  // receive decrypts what the peer sends to this node.
  AeadKey receive;
};

// HkdfSha256 is HKDF (RFC 5869) with SHA-256: extract from `ikm` with `salt`, expand with `info`
// into all of `out`.
absl::Status HkdfSha256(ConstBytes ikm, ConstBytes salt, ConstBytes info, MutableBytes out);

// DerivePeerKeys derives the static (epoch 0) keys between `self` and the peer whose public key is
// `peer`. It refuses the node's own key (a node does not peer with itself, and both directions
// would coincide) and small-order keys.
absl::StatusOr<PeerKeys> DerivePeerKeys(const Identity& self, const PublicKey& peer);

// DerivePeerKeysFromSecret runs the HKDF step on an already computed shared secret. The handshake
// uses it for every session epoch with its session secret; `own` and `peer` are the two static
// public keys.
absl::StatusOr<PeerKeys> DerivePeerKeysFromSecret(const SharedSecret& secret, KeyEpoch epoch,
                                                  const PublicKey& own, const PublicKey& peer);

}  // namespace fleetbond::transport
