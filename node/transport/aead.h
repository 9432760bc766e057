// aead.h
//
// ChaCha20-Poly1305 (RFC 8439) sealing and opening for the data plane, through OpenSSL 3's EVP
// interface. A Sealer encrypts one direction of one peer pair under one key; an Opener decrypts
// the other. Each holds its own EVP_CIPHER_CTX, keyed once, so the per-packet path only sets the
// nonce and runs the cipher: no allocation, and output goes into buffers the caller owns.
//
// The 96-bit nonce is 4 zero bytes followed by a 64-bit counter, big-endian. The Sealer owns the
// counter, hands out each value once (TakeCounter) and refuses to seal with any other value, so a
// nonce can never be reused under its key; when the counter space is used up it stops sealing.
//
// Example:
//   FB_ASSIGN_OR_RETURN(Sealer sealer, Sealer::Create(keys.send, first_counter));
//   std::optional<uint64_t> counter = sealer.TakeCounter();
//   if (!counter) return;                     // exhausted: rekey
//   WriteHeader(header, *counter);            // the counter travels in the header (the AAD)
//   AeadError e = sealer.Seal(*counter, header, plaintext, out);
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/transport/bytes.h"
#include "shared/identity/secret_bytes.h"

namespace fleetbond::transport {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kAeadNonceSize = 12;

// AeadKey is a ChaCha20-Poly1305 key; it wipes itself when destroyed.
using AeadKey = SecretBytes<kAeadKeySize>;

// AeadError says why a seal or open did not happen. Hot-path code returns these instead of
// absl::Status so that a flood of bad packets allocates nothing.
enum class AeadError : uint8_t {
  kOk = 0,
  // The counter is not the one TakeCounter most recently handed out (or was already used).
  kCounterNotReserved,
  // The output buffer is smaller than the input plus the tag (seal) or the input minus the tag
  // (open), or the input is shorter than a tag.
  kBufferTooSmall,
  // The tag did not verify: wrong key, wrong counter, or modified header or ciphertext.
  kAuthenticationFailed,
  // OpenSSL reported an internal failure.
  kCryptoFailure,
};

// AeadErrorName returns a stable snake_case name for logs and metrics labels.
absl::string_view AeadErrorName(AeadError error);

// MakeNonce writes the 12-byte nonce for `counter` into `nonce`.
void MakeNonce(uint64_t counter, uint8_t (&nonce)[kAeadNonceSize]);

namespace internal {
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const;
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
}  // namespace internal

// Sealer encrypts and authenticates packets under one key with strictly increasing counters. Not
// thread-safe: one Sealer per (peer, direction), used by one thread at a time. Never create two
// Sealers for the same key with overlapping counter ranges; that reuses nonces.
class Sealer {
 public:
  // kLastCounter is never used: TakeCounter stops before the counter would wrap to 0.
  static constexpr uint64_t kLastCounter = ~uint64_t{0};

  // Create keys a cipher context. `first_counter` is the first nonce counter handed out.
  static absl::StatusOr<Sealer> Create(const AeadKey& key, uint64_t first_counter);

  // TakeCounter reserves and returns the next counter, or nullopt once the counter space is used
  // up (the caller must then stop sending under this key).
  std::optional<uint64_t> TakeCounter();

  // Seal encrypts `head` followed by `body` (either may be empty) into `out` as ciphertext || tag,
  // authenticating `aad` too. `counter` must be the value the latest TakeCounter returned; it is
  // consumed whatever the outcome. `out` needs head.size() + body.size() + kAeadTagSize bytes.
  // `body` may sit exactly at out[head.size()] (in-place sealing); otherwise no input may overlap
  // `out`.
  AeadError Seal(uint64_t counter, ConstBytes aad, ConstBytes head, ConstBytes body,
                 MutableBytes out);

  // next_counter is the counter TakeCounter will return next (for metrics and rekey decisions).
  uint64_t next_counter() const { return next_counter_; }

 private:
  explicit Sealer(internal::CipherCtxPtr ctx, uint64_t first_counter);

  internal::CipherCtxPtr ctx_;
  uint64_t next_counter_;
  std::optional<uint64_t> reserved_;
};

// Opener verifies and decrypts packets under one key. It does not judge counters (that is the
// ReplayWindow's job, after the Opener has proven the packet authentic). Not thread-safe.
class Opener {
 public:
  static absl::StatusOr<Opener> Create(const AeadKey& key);

  // Open verifies `sealed` (ciphertext || tag) with `aad` and the nonce of `counter`, and writes
  // the plaintext (sealed.size() - kAeadTagSize bytes) into `out`. `out` may be exactly
  // `sealed`'s first bytes (in-place decryption) but must not otherwise overlap it. On any error
  // the contents of `out` are unspecified and must not be used.
  AeadError Open(uint64_t counter, ConstBytes aad, ConstBytes sealed, MutableBytes out);

 private:
  explicit Opener(internal::CipherCtxPtr ctx);

  internal::CipherCtxPtr ctx_;
};

}  // namespace fleetbond::transport
