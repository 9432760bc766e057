#include "shared/tls/openssl_util.h"

#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "shared/identity/openssl_error.h"

namespace fleetbond::tls {
namespace {

// PEM input never needs to exceed this; a larger "certificate" is not one.
constexpr size_t kMaxPemSize = 1 << 20;

absl::StatusOr<BioPtr> ReadOnlyBio(absl::string_view pem, absl::string_view what) {
  if (pem.size() > kMaxPemSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", pem.size(), " bytes, too large for a PEM file"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("reading ", what, ": ", OpenSslError()));
  }
  return bio;
}

absl::StatusOr<std::string> DrainBio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || data == nullptr) {
    return absl::InternalError(absl::StrCat("writing PEM: ", OpenSslError()));
  }
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what) {
  auto bio = ReadOnlyBio(pem, what);
  if (!bio.ok()) return bio.status();
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " does not hold a PEM certificate (", OpenSslError(), ")"));
  }
  return cert;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what) {
  auto bio = ReadOnlyBio(pem, what);
  if (!bio.ok()) return bio.status();
  // An empty passphrase callback result makes an encrypted key fail instead of prompting on the
  // terminal of a daemon.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, no_passphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " does not hold an unencrypted PEM private key (", OpenSslError(), ")"));
  }
  return key;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return absl::InternalError(absl::StrCat("writing a PEM certificate: ", OpenSslError()));
  }
  return DrainBio(bio.get());
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("writing a PEM private key: ", OpenSslError()));
  }
  return DrainBio(bio.get());
}

absl::Status CheckKeyMatchesCertificate(X509* cert, EVP_PKEY* key, absl::string_view cert_what,
                                        absl::string_view key_what) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat(key_what, " is not the private key of ", cert_what));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SubjectField(X509* cert, int nid) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, nid, -1);
  if (index < 0) {
    return absl::NotFoundError(absl::StrCat("the subject has no ", OBJ_nid2sn(nid)));
  }
  if (X509_NAME_get_index_by_NID(subject, nid, index) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the subject has more than one ", OBJ_nid2sn(nid)));
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the subject's ", OBJ_nid2sn(nid), " is not valid text"));
  }
  std::string value(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return value;
}

}  // namespace fleetbond::tls
