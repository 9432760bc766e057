// openssl_util.h
//
// Owning pointers for the OpenSSL objects the TLS code handles, and PEM conversion with errors as
// sentences. Nothing here does cryptography itself: it wraps OpenSSL 3's X509 and EVP_PKEY APIs.
//
// Example:
//   FB_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificatePem(text, "CA certificate /etc/ca.crt"));
//   FB_ASSIGN_OR_RETURN(std::string pem, CertificateToPem(cert.get()));
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::tls {

template <typename T, void (*Free)(T*)>
struct OpenSslFree {
  void operator()(T* p) const { Free(p); }
};

using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509, X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BIGNUM, BN_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES, GENERAL_NAMES_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION, X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX, X509_STORE_CTX_free>>;

// ParseCertificatePem reads the first PEM certificate in `pem`. `what` names the source in the
// error ("controller certificate /etc/fleetbond/tls/controller.crt").
absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what);
// ParsePrivateKeyPem reads an unencrypted PEM private key.
absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what);

// CertificateToPem and PrivateKeyToPem write the PEM forms (the key as unencrypted PKCS#8).
absl::StatusOr<std::string> CertificateToPem(X509* cert);
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

// CheckKeyMatchesCertificate returns FailedPrecondition when `key` is not the private half of
// `cert`'s public key, naming both sources.
absl::Status CheckKeyMatchesCertificate(X509* cert, EVP_PKEY* key, absl::string_view cert_what,
                                        absl::string_view key_what);

// SubjectField returns the one value of `nid` (NID_commonName, NID_organizationalUnitName) in
// `cert`'s subject; NotFound when absent, InvalidArgument when repeated.
absl::StatusOr<std::string> SubjectField(X509* cert, int nid);

}  // namespace fleetbond::tls
