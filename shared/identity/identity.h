// identity.h
//
// A node's identity is an X25519 key pair. Its node id is the first 40 bits of SHA-256 of the
// 32-byte public key, written as 10 lowercase hex digits; a peer that presents a public key that
// does not hash to the id it was configured under is refused (VerifyPeerId).
//
// On disk the identity lives in the node's home directory as two one-line base64 files:
//   identity.secret  the raw 32-byte X25519 private key, mode 0600, never replaced once written
//   identity.public  the raw 32-byte public key (derived data; rewritten if missing)
//
// Example:
//   FB_ASSIGN_OR_RETURN(Identity self, Identity::LoadOrCreate("/var/lib/fleetbond"));
//   std::cout << self.id().ToString() << " " << EncodePublicKey(self.public_key());
//   FB_RETURN_IF_ERROR(VerifyPeerId(peer_id, peer_public_key));
#pragma once

#include <openssl/types.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/identity/secret_bytes.h"

namespace fleetbond {

inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSecretKeySize = 32;
inline constexpr size_t kSharedSecretSize = 32;

// PublicKey is a raw X25519 public key (RFC 7748 u-coordinate, little-endian as on the wire).
using PublicKey = std::array<uint8_t, kPublicKeySize>;
// SecretKey is a raw X25519 private key; it wipes itself when destroyed.
using SecretKey = SecretBytes<kSecretKeySize>;
// SharedSecret is the raw X25519 output of two keys; feed it to a KDF, never use it directly.
using SharedSecret = SecretBytes<kSharedSecretSize>;

// NodeId is a 40-bit node identifier: the first 5 bytes of SHA-256(public key), big-endian.
class NodeId {
 public:
  static constexpr int kBits = 40;
  static constexpr int kBytes = 5;
  static constexpr int kHexDigits = 10;
  static constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;

  constexpr NodeId() = default;
  // Bits above the low 40 are discarded.
  constexpr explicit NodeId(uint64_t value) : value_(value & kMask) {}

  // ForPublicKey derives the id of `key`.
  static NodeId ForPublicKey(const PublicKey& key);
  // Parse accepts exactly 10 hex digits (either case); anything else is an InvalidArgument error
  // that quotes the input.
  static absl::StatusOr<NodeId> Parse(absl::string_view text);

  constexpr uint64_t value() const { return value_; }
  // ToString returns the 10 lowercase hex digits.
  std::string ToString() const;

  friend constexpr auto operator<=>(NodeId, NodeId) = default;
  template <typename H>
  friend H AbslHashValue(H h, NodeId id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  uint64_t value_ = 0;
};

// EncodePublicKey returns the standard (padded) base64 form of `key`: 44 characters.
std::string EncodePublicKey(const PublicKey& key);
// DecodePublicKey parses the base64 form of a public key, ignoring surrounding whitespace; it
// refuses anything that does not decode to exactly 32 bytes or is not in canonical form.
absl::StatusOr<PublicKey> DecodePublicKey(absl::string_view text);

// VerifyPeerId returns OK when `key` hashes to `id`, and otherwise a PermissionDenied error naming
// both ids.
absl::Status VerifyPeerId(NodeId id, const PublicKey& key);

// Identity is this node's X25519 key pair. Movable, not copyable; the secret never leaves the
// object except through Save.
class Identity {
 public:
  static constexpr absl::string_view kSecretFileName = "identity.secret";
  static constexpr absl::string_view kPublicFileName = "identity.public";

  // Generate creates a fresh key pair from OpenSSL's CSPRNG.
  static absl::StatusOr<Identity> Generate();
  // FromSecretKey rebuilds the key pair from a raw private key.
  static absl::StatusOr<Identity> FromSecretKey(const SecretKey& secret);
  // Load reads `home`/identity.secret (which must be a regular file not accessible to group or
  // others) and, when present, checks that `home`/identity.public matches it.
  static absl::StatusOr<Identity> Load(absl::string_view home);
  // LoadOrCreate loads the identity in `home`, or generates and saves one when there is none.
  // `created`, when not null, says which happened.
  static absl::StatusOr<Identity> LoadOrCreate(absl::string_view home, bool* created = nullptr);

  Identity(Identity&&) noexcept;
  Identity& operator=(Identity&&) noexcept;
  ~Identity();

  // Save writes the key pair into `home` (created with mode 0700 if missing). The secret file is
  // created exclusively with mode 0600 under a temporary name and linked into place, so it is
  // never readable by others and never half-written; an existing identity.secret is never
  // overwritten (AlreadyExists).
  absl::Status Save(absl::string_view home) const;

  NodeId id() const { return id_; }
  const PublicKey& public_key() const { return public_key_; }

  // ComputeSharedSecret performs X25519 with `peer`. It fails for keys that give the all-zero
  // output (small-order points), which would otherwise yield a key known to everyone.
  absl::StatusOr<SharedSecret> ComputeSharedSecret(const PublicKey& peer) const;

 private:
  struct PkeyFree {
    void operator()(EVP_PKEY* p) const;
  };
  using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

  explicit Identity(PkeyPtr pkey, const PublicKey& public_key);
  static absl::StatusOr<Identity> FromPkey(PkeyPtr pkey);

  PkeyPtr pkey_;
  PublicKey public_key_{};
  NodeId id_;
};

}  // namespace fleetbond
