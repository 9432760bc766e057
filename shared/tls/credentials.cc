#include "shared/tls/credentials.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>
#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shared/status_macros.h"
#include "shared/tls/openssl_util.h"
#include "shared/tls/secure_files.h"

namespace fleetbond::tls {
namespace {

// PemPair is a certificate and its key, read and checked.
struct PemPair {
  std::string cert;
  std::string key;
};

absl::StatusOr<PemPair> ReadKeyPair(const std::string& cert_file, const std::string& key_file,
                                    absl::string_view cert_what, absl::string_view key_what) {
  PemPair pair;
  FB_ASSIGN_OR_RETURN(pair.cert, ReadSmallFile(cert_file, cert_what, Secrecy::kPublic));
  FB_ASSIGN_OR_RETURN(pair.key, ReadSmallFile(key_file, key_what, Secrecy::kSecret));
  std::string cert_name = absl::StrCat(cert_what, " ", cert_file);
  std::string key_name = absl::StrCat(key_what, " ", key_file);
  FB_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificatePem(pair.cert, cert_name));
  FB_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKeyPem(pair.key, key_name));
  FB_RETURN_IF_ERROR(CheckKeyMatchesCertificate(cert.get(), key.get(), cert_name, key_name));
  return pair;
}

absl::StatusOr<std::string> ReadCa(const std::string& ca_file, absl::string_view what) {
  FB_ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(ca_file, what, Secrecy::kPublic));
  FB_RETURN_IF_ERROR(ParseCertificatePem(pem, absl::StrCat(what, " ", ca_file)).status());
  return pem;
}

absl::Status ValidateToken(absl::string_view token) {
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          "the bearer token has a space or control character; it cannot travel in a header");
    }
  }
  return absl::OkStatus();
}

void Wipe(std::string& secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  if (options.ca_file.empty() || options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs --tls-ca, --tls-cert and --tls-key (make them with `fleetbond-controller ca "
        "init`), or --insecure for a local demo");
  }
  FB_ASSIGN_OR_RETURN(std::string ca, ReadCa(options.ca_file, "fleet CA certificate (--tls-ca)"));
  FB_ASSIGN_OR_RETURN(PemPair pair, ReadKeyPair(options.cert_file, options.key_file,
                                                "controller certificate (--tls-cert)",
                                                "controller key (--tls-key)"));
  // Operators may authenticate with a bearer token instead of a certificate, so a certificate is
  // requested, verified when given, and not required; caller.h decides per RPC.
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = std::move(ca);
  ssl.pem_key_cert_pairs.push_back({pair.key, pair.cert});
  Wipe(pair.key);
  auto credentials = grpc::SslServerCredentials(ssl);
  Wipe(ssl.pem_key_cert_pairs.front().private_key);
  return credentials;
}

absl::StatusOr<CallerAuthenticator> MakeCallerAuthenticator(const ServerTlsOptions& options) {
  TokenSet tokens;
  if (!options.operator_tokens_file.empty()) {
    FB_ASSIGN_OR_RETURN(tokens, TokenSet::Load(options.operator_tokens_file));
  }
  return CallerAuthenticator(std::move(tokens), /*insecure=*/false);
}

std::shared_ptr<grpc::ServerCredentials> InsecureServer(absl::string_view address,
                                                        std::ostream& warnings) {
  warnings << "fleetbond: --insecure: anyone who can reach " << address
           << " can push settings to the fleet and impersonate nodes; use only for local demos"
           << std::endl;
  return grpc::InsecureServerCredentials();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(
    const ClientTlsOptions& options) {
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    FB_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadCa(options.ca_file, "controller CA certificate"));
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs both its certificate and its key file");
  }
  if (!options.cert_file.empty()) {
    FB_ASSIGN_OR_RETURN(PemPair pair, ReadKeyPair(options.cert_file, options.key_file,
                                                  "client certificate", "client key"));
    ssl.pem_cert_chain = std::move(pair.cert);
    ssl.pem_private_key = pair.key;
    Wipe(pair.key);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  Wipe(ssl.pem_private_key);
  if (!options.token.empty()) {
    FB_RETURN_IF_ERROR(ValidateToken(options.token));
    // AccessTokenCredentials sends `authorization: Bearer <token>`, and gRPC sends call
    // credentials only over a channel that is private and authenticated.
    credentials =
        grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(options.token));
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> DialController(const std::string& address,
                                                              const ClientTlsOptions& options,
                                                              grpc::ChannelArguments args) {
  FB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                      MakeClientCredentials(options));
  if (!options.target_name_override.empty()) {
    args.SetSslTargetNameOverride(options.target_name_override);
  }
  return grpc::CreateCustomChannel(address, credentials, args);
}

std::shared_ptr<grpc::ChannelCredentials> InsecureClient(absl::string_view address,
                                                         std::ostream& warnings) {
  warnings << "fleetbond: --insecure: talking to " << address
           << " without TLS: the controller is not verified and everything travels in clear "
              "text; use only for local demos"
           << std::endl;
  return grpc::InsecureChannelCredentials();
}

absl::StatusOr<std::string> ReadTokenArgument(absl::string_view argument) {
  if (argument.empty() || argument.front() != '@') {
    FB_RETURN_IF_ERROR(ValidateToken(argument));
    return std::string(argument);
  }
  FB_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(std::string(argument.substr(1)), "token file",
                                                      Secrecy::kSecret));
  std::string token(absl::StripAsciiWhitespace(text));
  Wipe(text);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", argument.substr(1), " is empty"));
  }
  FB_RETURN_IF_ERROR(ValidateToken(token));
  return token;
}

}  // namespace fleetbond::tls
