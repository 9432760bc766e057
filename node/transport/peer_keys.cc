#include "node/transport/peer_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "shared/identity/openssl_error.h"
#include "shared/status_macros.h"

namespace fleetbond::transport {
namespace {

constexpr std::string_view kSalt = "fleetbond v1 peer keys";
constexpr std::string_view kInfoLabel = "fleetbond v1 ";

ConstBytes AsBytes(std::string_view s) {
  return ConstBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

absl::Status HkdfSha256(ConstBytes ikm, ConstBytes salt, ConstBytes info, MutableBytes out) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        &EVP_KDF_free);
  if (!kdf) return absl::InternalError(absl::StrCat("OpenSSL has no HKDF: ", OpenSslError()));
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                &EVP_KDF_CTX_free);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return absl::InternalError(absl::StrCat("HKDF-SHA256 failed: ", OpenSslError()));
  }
  return absl::OkStatus();
}

absl::StatusOr<PeerKeys> DerivePeerKeysFromSecret(const SharedSecret& secret, KeyEpoch epoch,
                                                  const PublicKey& own, const PublicKey& peer) {
  int order = std::memcmp(own.data(), peer.data(), own.size());
  if (order == 0) {
    return absl::InvalidArgumentError(absl::StrCat("peer public key ", EncodePublicKey(peer),
                                                   " is this node's own key; refusing to peer"));
  }
  const PublicKey& lower = order < 0 ? own : peer;
  const PublicKey& higher = order < 0 ? peer : own;

  uint8_t info[kInfoLabel.size() + 1 + 2 * kPublicKeySize];
  uint8_t* p = std::copy(kInfoLabel.begin(), kInfoLabel.end(), info);
  *p++ = epoch;
  p = std::copy(lower.begin(), lower.end(), p);
  std::copy(higher.begin(), higher.end(), p);

  SecretBytes<2 * kAeadKeySize> okm;
  FB_RETURN_IF_ERROR(
      HkdfSha256(secret.span(), AsBytes(kSalt), info, MutableBytes(okm.data(), okm.size())));
  PeerKeys keys;
  keys.epoch = epoch;
  const uint8_t* lower_to_higher = okm.data();
  const uint8_t* higher_to_lower = okm.data() + kAeadKeySize;
  std::copy_n(order < 0 ? lower_to_higher : higher_to_lower, kAeadKeySize, keys.send.data());
  std::copy_n(order < 0 ? higher_to_lower : lower_to_higher, kAeadKeySize, keys.receive.data());
  return keys;
}

absl::StatusOr<PeerKeys> DerivePeerKeys(const Identity& self, const PublicKey& peer) {
  if (peer == self.public_key()) {
    return absl::InvalidArgumentError(absl::StrCat("peer public key ", EncodePublicKey(peer),
                                                   " is this node's own key; refusing to peer"));
  }
  FB_ASSIGN_OR_RETURN(SharedSecret secret, self.ComputeSharedSecret(peer));
  return DerivePeerKeysFromSecret(secret, kStaticKeyEpoch, self.public_key(), peer);
}

}  // namespace fleetbond::transport
