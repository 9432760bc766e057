#include "node/transport/handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "shared/identity/openssl_error.h"
#include "shared/status_macros.h"

namespace fleetbond::transport {
namespace {

constexpr std::string_view kSalt = "fleetbond v1 handshake";
constexpr std::string_view kInitiationLabel = "initiation";
constexpr std::string_view kResponseLabel = "response";
constexpr size_t kSha256Size = 32;
constexpr size_t kSignedSize = kHandshakeTagOffset;  // header || ephemeral

ConstBytes AsBytes(std::string_view s) {
  return ConstBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Tag computes (seal) or checks (open) the 16-byte tag of a handshake message: an AEAD over an
// empty plaintext with the header and the ephemeral key as associated data. Each key is used for
// exactly one message (it depends on a fresh ephemeral key), so nonce 0 never repeats.
absl::Status SealTag(const AeadKey& key, uint8_t* message) {
  FB_ASSIGN_OR_RETURN(Sealer sealer, Sealer::Create(key, 0));
  std::optional<uint64_t> counter = sealer.TakeCounter();
  if (!counter ||
      sealer.Seal(*counter, ConstBytes(message, kSignedSize), {}, {},
                  MutableBytes(message + kHandshakeTagOffset, kAeadTagSize)) != AeadError::kOk) {
    return absl::InternalError("cannot seal a handshake tag");
  }
  return absl::OkStatus();
}

bool TagVerifies(const AeadKey& key, ConstBytes message) {
  absl::StatusOr<Opener> opener = Opener::Create(key);
  if (!opener.ok()) return false;
  return opener->Open(0, message.first(kSignedSize),
                      message.subspan(kHandshakeTagOffset, kAeadTagSize),
                      MutableBytes()) == AeadError::kOk;
}

void WriteHandshakeHeader(MessageType type, KeyEpoch epoch, NodeId sender, uint64_t timestamp,
                          uint8_t* out) {
  Header header;
  header.type = type;
  header.epoch = epoch;
  header.sender = sender;
  header.counter = timestamp;
  WriteHeader(header, out);
}

}  // namespace

absl::StatusOr<AeadKey> DeriveInitiationKey(const SharedSecret& es, const SharedSecret& ss,
                                            const PublicKey& initiator,
                                            const PublicKey& responder) {
  SecretBytes<2 * kSharedSecretSize> ikm;
  std::copy(es.span().begin(), es.span().end(), ikm.data());
  std::copy(ss.span().begin(), ss.span().end(), ikm.data() + kSharedSecretSize);
  uint8_t info[kInitiationLabel.size() + 2 * kPublicKeySize];
  uint8_t* p = std::copy(kInitiationLabel.begin(), kInitiationLabel.end(), info);
  p = std::copy(initiator.begin(), initiator.end(), p);
  std::copy(responder.begin(), responder.end(), p);
  AeadKey key;
  FB_RETURN_IF_ERROR(HkdfSha256(ConstBytes(ikm.data(), ikm.size()), AsBytes(kSalt), info,
                                MutableBytes(key.data(), key.size())));
  return key;
}

absl::StatusOr<SessionSecrets> DeriveSessionSecrets(const HandshakeSecrets& secrets,
                                                    const PublicKey& initiator,
                                                    const PublicKey& responder,
                                                    ConstBytes initiation,
                                                    ConstBytes response_head) {
  // The transcript hash binds the keys to both messages as sent: a changed byte anywhere gives
  // other keys, and so a response tag that does not verify.
  uint8_t transcript[kSha256Size];
  {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned int len = 0;
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(md.get(), initiation.data(), initiation.size()) != 1 ||
        EVP_DigestUpdate(md.get(), response_head.data(), response_head.size()) != 1 ||
        EVP_DigestFinal_ex(md.get(), transcript, &len) != 1 || len != kSha256Size) {
      return absl::InternalError(absl::StrCat("SHA-256 failed: ", OpenSslError()));
    }
  }
  SecretBytes<4 * kSharedSecretSize> ikm;
  uint8_t* q = ikm.data();
  for (const SharedSecret* s : {&secrets.es, &secrets.ss, &secrets.ee, &secrets.se}) {
    q = std::copy(s->span().begin(), s->span().end(), q);
  }
  uint8_t info[kResponseLabel.size() + 2 * kPublicKeySize + kSha256Size];
  uint8_t* p = std::copy(kResponseLabel.begin(), kResponseLabel.end(), info);
  p = std::copy(initiator.begin(), initiator.end(), p);
  p = std::copy(responder.begin(), responder.end(), p);
  std::copy(transcript, transcript + kSha256Size, p);
  SecretBytes<kSharedSecretSize + kAeadKeySize> okm;
  FB_RETURN_IF_ERROR(HkdfSha256(ConstBytes(ikm.data(), ikm.size()), AsBytes(kSalt), info,
                                MutableBytes(okm.data(), okm.size())));
  SessionSecrets out;
  std::copy_n(okm.data(), kSharedSecretSize, out.session.data());
  std::copy_n(okm.data() + kSharedSecretSize, kAeadKeySize, out.response_key.data());
  return out;
}

absl::StatusOr<Initiation> CreateInitiation(const Identity& self, const PublicKey& responder,
                                            const SharedSecret& static_secret, KeyEpoch epoch,
                                            uint64_t timestamp) {
  FB_ASSIGN_OR_RETURN(Identity ephemeral, Identity::Generate());
  FB_ASSIGN_OR_RETURN(SharedSecret es, ephemeral.ComputeSharedSecret(responder));
  FB_ASSIGN_OR_RETURN(AeadKey key,
                      DeriveInitiationKey(es, static_secret, self.public_key(), responder));
  Initiation out{std::move(ephemeral), epoch, timestamp, {}};
  WriteHandshakeHeader(MessageType::kHandshakeInitiation, epoch, self.id(), timestamp,
                       out.message.data());
  const PublicKey& e = out.ephemeral.public_key();
  std::copy(e.begin(), e.end(), out.message.begin() + kHandshakeEphemeralOffset);
  FB_RETURN_IF_ERROR(SealTag(key, out.message.data()));
  return out;
}

DropReason VerifyInitiation(const Identity& self, const PublicKey& initiator,
                            const SharedSecret& static_secret, ConstBytes message,
                            ReceivedInitiation* out) {
  if (message.size() != kHandshakeMessageSize) return DropReason::kBadBodyLength;
  Header header;
  if (DropReason r = ParseHeader(message, &header); r != DropReason::kNone) return r;
  if (header.type != MessageType::kHandshakeInitiation) return DropReason::kHandshakeUnexpected;
  PublicKey ephemeral;
  std::copy_n(message.begin() + kHandshakeEphemeralOffset, kPublicKeySize, ephemeral.begin());
  // A small-order ephemeral key (all-zero X25519 output) is refused like a bad tag.
  absl::StatusOr<SharedSecret> es = self.ComputeSharedSecret(ephemeral);
  if (!es.ok()) return DropReason::kAuthenticationFailed;
  absl::StatusOr<AeadKey> key =
      DeriveInitiationKey(*es, static_secret, initiator, self.public_key());
  if (!key.ok() || !TagVerifies(*key, message)) return DropReason::kAuthenticationFailed;
  out->header = header;
  out->ephemeral = ephemeral;
  out->es = *es;
  std::copy(message.begin(), message.end(), out->message.begin());
  return DropReason::kNone;
}

absl::StatusOr<Response> CreateResponse(const Identity& self, const PublicKey& initiator,
                                        const SharedSecret& static_secret,
                                        const ReceivedInitiation& initiation) {
  FB_ASSIGN_OR_RETURN(Identity ephemeral, Identity::Generate());
  HandshakeSecrets secrets;
  secrets.es = initiation.es;
  secrets.ss = static_secret;
  FB_ASSIGN_OR_RETURN(secrets.ee, ephemeral.ComputeSharedSecret(initiation.ephemeral));
  FB_ASSIGN_OR_RETURN(secrets.se, ephemeral.ComputeSharedSecret(initiator));

  Response out;
  WriteHandshakeHeader(MessageType::kHandshakeResponse, initiation.header.epoch, self.id(),
                       initiation.header.counter, out.message.data());
  const PublicKey& e = ephemeral.public_key();
  std::copy(e.begin(), e.end(), out.message.begin() + kHandshakeEphemeralOffset);
  FB_ASSIGN_OR_RETURN(
      SessionSecrets session,
      DeriveSessionSecrets(secrets, initiator, self.public_key(), initiation.message,
                           ConstBytes(out.message.data(), kSignedSize)));
  FB_RETURN_IF_ERROR(SealTag(session.response_key, out.message.data()));
  FB_ASSIGN_OR_RETURN(out.keys, DerivePeerKeysFromSecret(session.session, initiation.header.epoch,
                                                         self.public_key(), initiator));
  return out;
}

DropReason ConsumeResponse(const Identity& self, const PublicKey& responder,
                           const SharedSecret& static_secret, const Initiation& initiation,
                           ConstBytes message, PeerKeys* keys) {
  if (message.size() != kHandshakeMessageSize) return DropReason::kBadBodyLength;
  Header header;
  if (DropReason r = ParseHeader(message, &header); r != DropReason::kNone) return r;
  if (header.type != MessageType::kHandshakeResponse || header.epoch != initiation.epoch ||
      header.counter != initiation.timestamp) {
    return DropReason::kHandshakeUnexpected;
  }
  PublicKey ephemeral;
  std::copy_n(message.begin() + kHandshakeEphemeralOffset, kPublicKeySize, ephemeral.begin());
  HandshakeSecrets secrets;
  absl::StatusOr<SharedSecret> es = initiation.ephemeral.ComputeSharedSecret(responder);
  absl::StatusOr<SharedSecret> ee = initiation.ephemeral.ComputeSharedSecret(ephemeral);
  absl::StatusOr<SharedSecret> se = self.ComputeSharedSecret(ephemeral);
  if (!es.ok() || !ee.ok() || !se.ok()) return DropReason::kAuthenticationFailed;
  secrets.es = *es;
  secrets.ss = static_secret;
  secrets.ee = *ee;
  secrets.se = *se;
  absl::StatusOr<SessionSecrets> session = DeriveSessionSecrets(
      secrets, self.public_key(), responder, initiation.message, message.first(kSignedSize));
  if (!session.ok() || !TagVerifies(session->response_key, message)) {
    return DropReason::kAuthenticationFailed;
  }
  absl::StatusOr<PeerKeys> derived =
      DerivePeerKeysFromSecret(session->session, initiation.epoch, self.public_key(), responder);
  if (!derived.ok()) return DropReason::kAuthenticationFailed;
  *keys = *std::move(derived);
  return DropReason::kNone;
}

}  // namespace fleetbond::transport
