// credentials.h
//
// gRPC credentials for the controller's port and its clients, from the files the fleet CA
// (ca.h) issues.
//
// Server (fleetbond-controller --tls-ca --tls-cert --tls-key [--operator-tokens]): TLS with the
// controller certificate; client certificates are requested and, when presented, must verify
// against the fleet CA, but are not required, because operators may present a bearer token
// instead. Who the caller is and what they may do is decided per RPC by caller.h.
//
// Clients (fleetbond-node --controller-ca --controller-cert --controller-key; fleetbond-cli
// --controller-ca --cert --key --token): TLS that verifies the controller against the fleet CA,
// presents the client certificate, and sends the bearer token as `authorization: Bearer ...`.
//
// --insecure gives plaintext credentials on either side and prints a loud warning: anyone who
// can reach the port can then push settings to the fleet and impersonate nodes.
//
// Example:
//   FB_ASSIGN_OR_RETURN(auto creds, MakeServerCredentials(options));
//   FB_ASSIGN_OR_RETURN(CallerAuthenticator auth, MakeCallerAuthenticator(options));
//   builder.AddListeningPort("0.0.0.0:9900", creds);
//
//   FB_ASSIGN_OR_RETURN(auto channel, DialController("controller:9900", client_options));
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <iostream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/tls/caller.h"
#include "shared/tls/token_set.h"

namespace fleetbond::tls {

// ServerTlsOptions are the controller's TLS files.
struct ServerTlsOptions {
  std::string ca_file;               // --tls-ca: the fleet CA that client certificates chain to
  std::string cert_file;             // --tls-cert: the controller's certificate
  std::string key_file;              // --tls-key: its private key (not readable by others)
  std::string operator_tokens_file;  // --operator-tokens: optional, see token_set.h
};

// MakeServerCredentials reads and checks the files (PEM, the key belongs to the certificate)
// and returns TLS server credentials that request and verify, but do not require, client
// certificates.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);

// MakeCallerAuthenticator loads the operator tokens file, if one is set, for the per-RPC checks.
absl::StatusOr<CallerAuthenticator> MakeCallerAuthenticator(const ServerTlsOptions& options);

// InsecureServer returns plaintext server credentials after printing the --insecure warning for
// `address` to `warnings`.
std::shared_ptr<grpc::ServerCredentials> InsecureServer(absl::string_view address,
                                                        std::ostream& warnings = std::cerr);

// ClientTlsOptions are what a client of the controller presents and trusts.
struct ClientTlsOptions {
  // ca_file verifies the controller's certificate (the fleet CA's ca.crt); empty means the
  // system's trusted roots.
  std::string ca_file;
  // cert_file and key_file are the client certificate (a node's, or an operator's); both or
  // neither.
  std::string cert_file;
  std::string key_file;
  // token is an operator bearer token, sent as `authorization: Bearer <token>` on every call.
  std::string token;
  // target_name_override checks the controller's certificate for this name instead of the host
  // in the address (tests, or a controller reached through an address not in its certificate).
  std::string target_name_override;
};

// MakeClientCredentials reads and checks the files and returns TLS channel credentials, with
// the bearer token attached as call credentials when one is set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(
    const ClientTlsOptions& options);

// DialController returns a channel to `address` over TLS (not yet connected), applying
// target_name_override to `args`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> DialController(const std::string& address,
                                                              const ClientTlsOptions& options,
                                                              grpc::ChannelArguments args = {});

// InsecureClient returns plaintext channel credentials after printing the --insecure warning
// for `address` to `warnings`. Bearer tokens are never sent over it (gRPC refuses call
// credentials on insecure channels), and an --insecure controller does not need them.
std::shared_ptr<grpc::ChannelCredentials> InsecureClient(absl::string_view address,
                                                         std::ostream& warnings = std::cerr);

// ReadTokenArgument turns a --token value into the token: `@PATH` reads it from a file (which
// must not be readable by others; surrounding whitespace dropped), so it need not appear in
// `ps` output or shell history; anything else is the token itself.
absl::StatusOr<std::string> ReadTokenArgument(absl::string_view argument);

}  // namespace fleetbond::tls
