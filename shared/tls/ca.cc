#include "shared/tls/ca.h"

#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "shared/identity/openssl_error.h"
#include "shared/status_macros.h"
#include "shared/tls/fleet_names.h"
#include "shared/tls/openssl_util.h"
#include "shared/tls/secure_files.h"

namespace fleetbond::tls {
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;

// CertificateSpec is what differs between the kinds of certificate the CA makes.
struct CertificateSpec {
  std::string common_name;
  std::string organizational_unit;  // empty: none
  absl::Duration validity;
  // (NID, value in OpenSSL's extension configuration syntax), added in this order.
  std::vector<std::pair<int, std::string>> extensions;
};

// Ca is a loaded CA: its certificate and the key that signs with it.
struct Ca {
  X509Ptr cert;
  EvpPkeyPtr key;
};

absl::StatusOr<EvpPkeyPtr> GenerateKey() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) {
    return absl::InternalError(absl::StrCat("cannot generate a P-256 key: ", OpenSslError()));
  }
  return key;
}

// SetRandomSerial gives `cert` a random 128-bit serial number, as RFC 5280 (section 4.1.2.2)
// and the CA/Browser Forum ask, so serials never repeat and cannot be predicted.
absl::Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError(absl::StrCat("cannot draw a serial number: ", OpenSslError()));
  }
  bytes[0] |= 0x01;  // never zero; the value stays positive (BIGNUM magnitudes are unsigned)
  BignumPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot set a serial number: ", OpenSslError()));
  }
  return absl::OkStatus();
}

absl::Status AddNameEntry(X509_NAME* name, int nid, absl::string_view value) {
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot set the subject ", OBJ_nid2sn(nid), ": ", OpenSslError()));
  }
  return absl::OkStatus();
}

// MakeCertificate builds and signs a certificate for `subject_key`. With `issuer` null it is
// self-signed by `subject_key`; otherwise signed by `issuer_key` under `issuer`'s name.
absl::StatusOr<X509Ptr> MakeCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                        X509* issuer, EVP_PKEY* issuer_key, absl::Time now) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return absl::ResourceExhaustedError("cannot allocate a certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return absl::InternalError(absl::StrCat("cannot set the version: ", OpenSslError()));
  }
  FB_RETURN_IF_ERROR(SetRandomSerial(cert.get()));

  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(now - kBackdate)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(now + spec.validity)) ==
          nullptr) {
    return absl::InternalError(absl::StrCat("cannot set the validity: ", OpenSslError()));
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  FB_RETURN_IF_ERROR(AddNameEntry(subject, NID_organizationName, "fleetbond"));
  if (!spec.organizational_unit.empty()) {
    FB_RETURN_IF_ERROR(AddNameEntry(subject, NID_organizationalUnitName, spec.organizational_unit));
  }
  FB_RETURN_IF_ERROR(AddNameEntry(subject, NID_commonName, spec.common_name));
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : subject;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return absl::InternalError(absl::StrCat("cannot set issuer or key: ", OpenSslError()));
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return absl::InternalError(absl::StrCat("cannot add the ", OBJ_nid2sn(nid), " extension \"",
                                              value, "\": ", OpenSslError()));
    }
  }

  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : subject_key, EVP_sha256()) <= 0) {
    return absl::InternalError(absl::StrCat("cannot sign the certificate: ", OpenSslError()));
  }
  return cert;
}

std::vector<std::pair<int, std::string>> LeafExtensions(absl::string_view extended_key_usage,
                                                        std::string subject_alt_name) {
  return {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, std::string(extended_key_usage)},
      {NID_subject_alt_name, std::move(subject_alt_name)},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
}

absl::StatusOr<std::string> ServerAltNames(const std::vector<std::string>& names) {
  if (names.empty()) {
    return absl::InvalidArgumentError("a server certificate needs at least one DNS name or IP");
  }
  std::vector<std::string> entries;
  for (const std::string& name : names) {
    FB_RETURN_IF_ERROR(ValidateServerName(name));
    std::string entry = absl::StrCat(IsIpAddress(name) ? "IP:" : "DNS:", name);
    if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(entry);
  }
  return absl::StrJoin(entries, ",");
}

// WriteKeyPair writes the key (0600) and then the certificate (0644).
absl::Status WriteKeyPair(const IssuedFiles& files, X509* cert, EVP_PKEY* key, Replace replace_key,
                          Replace replace_cert) {
  FB_ASSIGN_OR_RETURN(std::string key_pem, PrivateKeyToPem(key));
  absl::Status written = WriteFileAtomically(files.key_file, key_pem, kKeyMode, replace_key);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  FB_RETURN_IF_ERROR(written);
  FB_ASSIGN_OR_RETURN(std::string cert_pem, CertificateToPem(cert));
  return WriteFileAtomically(files.cert_file, cert_pem, kCertMode, replace_cert);
}

absl::StatusOr<Ca> LoadCa(const std::string& ca_dir) {
  std::string key_path = JoinPath(ca_dir, kCaKeyFile);
  std::string cert_path = JoinPath(ca_dir, kCaCertFile);
  if (!FileExists(key_path)) {
    return absl::NotFoundError(absl::StrCat(
        "no fleet CA in ", ca_dir, ": ", key_path,
        " does not exist (create one with `fleetbond-controller ca init`, or pass --dir)"));
  }
  FB_ASSIGN_OR_RETURN(std::string key_pem, ReadSmallFile(key_path, "CA key", Secrecy::kSecret));
  auto key = ParsePrivateKeyPem(key_pem, absl::StrCat("CA key ", key_path));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!key.ok()) return key.status();
  FB_ASSIGN_OR_RETURN(std::string cert_pem,
                      ReadSmallFile(cert_path, "CA certificate", Secrecy::kPublic));
  FB_ASSIGN_OR_RETURN(X509Ptr cert,
                      ParseCertificatePem(cert_pem, absl::StrCat("CA certificate ", cert_path)));
  FB_RETURN_IF_ERROR(CheckKeyMatchesCertificate(cert.get(), key->get(),
                                                absl::StrCat("CA certificate ", cert_path),
                                                absl::StrCat("CA key ", key_path)));
  if (X509_check_ca(cert.get()) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(cert_path, " is not a CA certificate (no CA:TRUE basic constraint)"));
  }
  return Ca{std::move(cert), std::move(*key)};
}

// Issue makes a fresh key and a certificate for it signed by `ca`, and writes both.
absl::StatusOr<IssuedFiles> Issue(const Ca& ca, const CertificateSpec& spec,
                                  const std::string& out_dir, absl::string_view base_name,
                                  absl::Time now, Replace replace) {
  FB_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateKey());
  FB_ASSIGN_OR_RETURN(X509Ptr cert,
                      MakeCertificate(spec, key.get(), ca.cert.get(), ca.key.get(), now));
  FB_RETURN_IF_ERROR(EnsurePrivateDirectory(out_dir));
  IssuedFiles files{JoinPath(out_dir, absl::StrCat(base_name, ".crt")),
                    JoinPath(out_dir, absl::StrCat(base_name, ".key"))};
  FB_RETURN_IF_ERROR(WriteKeyPair(files, cert.get(), key.get(), replace, replace));
  return files;
}

CertificateSpec ServerSpec(absl::string_view first_name, std::string alt_names) {
  return {.common_name = std::string(first_name),
          .organizational_unit = "controller",
          .validity = kLeafValidity,
          .extensions = LeafExtensions("serverAuth", std::move(alt_names))};
}

}  // namespace

absl::Status InitCa(const std::string& dir, absl::string_view fleet_name, const CaOptions& options,
                    const Clock& clock) {
  FB_RETURN_IF_ERROR(ValidateFleetName(fleet_name));
  std::vector<std::string> server_names = DefaultServerNames();
  server_names.insert(server_names.end(), options.extra_server_names.begin(),
                      options.extra_server_names.end());
  // Validate every input before anything is written.
  FB_ASSIGN_OR_RETURN(std::string alt_names, ServerAltNames(server_names));
  std::string key_path = JoinPath(dir, kCaKeyFile);
  std::string cert_path = JoinPath(dir, kCaCertFile);
  for (const std::string& path : {key_path, cert_path}) {
    if (FileExists(path)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "a fleet CA already exists in ", dir, " (", path,
          "); refusing to replace it, because every certificate it issued would stop working"));
    }
  }
  FB_RETURN_IF_ERROR(EnsurePrivateDirectory(dir));

  absl::Time now = clock.Now();
  FB_ASSIGN_OR_RETURN(EvpPkeyPtr ca_key, GenerateKey());
  CertificateSpec ca_spec{.common_name = absl::StrCat("fleetbond CA ", fleet_name),
                          .organizational_unit = "",
                          .validity = kCaValidity,
                          .extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                         {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                         {NID_subject_key_identifier, "hash"},
                                         {NID_authority_key_identifier, "keyid:always"}}};
  FB_ASSIGN_OR_RETURN(X509Ptr ca_cert,
                      MakeCertificate(ca_spec, ca_key.get(), nullptr, nullptr, now));
  // ca.key is linked into place only if nothing is there, so of two racing inits one fails
  // before it writes anything else.
  FB_RETURN_IF_ERROR(WriteKeyPair({cert_path, key_path}, ca_cert.get(), ca_key.get(),
                                  Replace::kNever, Replace::kAllowed));

  Ca ca{std::move(ca_cert), std::move(ca_key)};
  FB_ASSIGN_OR_RETURN(EvpPkeyPtr server_key, GenerateKey());
  FB_ASSIGN_OR_RETURN(X509Ptr server_cert,
                      MakeCertificate(ServerSpec(server_names.front(), alt_names), server_key.get(),
                                      ca.cert.get(), ca.key.get(), now));
  return WriteKeyPair({JoinPath(dir, kControllerCertFile), JoinPath(dir, kControllerKeyFile)},
                      server_cert.get(), server_key.get(), Replace::kAllowed, Replace::kAllowed);
}

absl::StatusOr<IssuedFiles> IssueNode(const std::string& ca_dir, absl::string_view node_id,
                                      const std::string& out_dir, const Clock& clock) {
  FB_RETURN_IF_ERROR(ValidateNodeId(node_id));
  FB_ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  CertificateSpec spec{.common_name = std::string(node_id),
                       .organizational_unit = std::string(kNodeUnit),
                       .validity = kLeafValidity,
                       .extensions = LeafExtensions("clientAuth", "URI:" + NodeUri(node_id))};
  return Issue(ca, spec, out_dir, absl::StrCat("node-", node_id), clock.Now(), Replace::kAllowed);
}

absl::StatusOr<IssuedFiles> IssueOperator(const std::string& ca_dir, absl::string_view name,
                                          const std::string& out_dir, const Clock& clock) {
  FB_RETURN_IF_ERROR(ValidateOperatorName(name));
  FB_ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  CertificateSpec spec{.common_name = std::string(name),
                       .organizational_unit = std::string(kOperatorUnit),
                       .validity = kLeafValidity,
                       .extensions = LeafExtensions("clientAuth", "URI:" + OperatorUri(name))};
  return Issue(ca, spec, out_dir, absl::StrCat("operator-", name), clock.Now(), Replace::kAllowed);
}

absl::StatusOr<IssuedFiles> IssueServer(const std::string& ca_dir,
                                        const std::vector<std::string>& names,
                                        const std::string& out_dir, const Clock& clock) {
  FB_ASSIGN_OR_RETURN(std::string alt_names, ServerAltNames(names));
  FB_ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  std::string base = absl::StrCat("server-", absl::StrReplaceAll(names.front(), {{":", "-"}}));
  return Issue(ca, ServerSpec(names.front(), alt_names), out_dir, base, clock.Now(),
               Replace::kAllowed);
}

absl::StatusOr<IssuedFiles> IssueReplica(const std::string& ca_dir, absl::string_view name,
                                         const std::vector<std::string>& names,
                                         const std::string& out_dir, const Clock& clock) {
  FB_RETURN_IF_ERROR(ValidateReplicaName(name));
  if (names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "replica ", name, " needs the DNS names or IP addresses nodes and replicas reach it by"));
  }
  FB_ASSIGN_OR_RETURN(std::string alt_names, ServerAltNames(names));
  FB_ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  CertificateSpec spec{
      .common_name = std::string(name),
      .organizational_unit = std::string(kReplicaUnit),
      .validity = kLeafValidity,
      .extensions = LeafExtensions("serverAuth,clientAuth",
                                   absl::StrCat("URI:", ReplicaUri(name), ",", alt_names))};
  return Issue(ca, spec, out_dir, absl::StrCat("replica-", name), clock.Now(), Replace::kAllowed);
}

}  // namespace fleetbond::tls
