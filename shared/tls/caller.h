// caller.h
//
// Who is calling the controller, and whether they may. Every RPC of the controller starts with
// one of two checks:
//   - RequireNode(ctx, claimed_id) on the node session: the caller must present a node
//     certificate issued for exactly `claimed_id`;
//   - RequireOperator(ctx) on the operator API: the caller must present an operator certificate
//     or an operator bearer token (`authorization: Bearer <token>`).
// A node certificate cannot call the operator API, an operator cannot open a node session, and
// one node cannot speak for another. On a server started with --insecure every caller is trusted
// and both checks pass: that mode exists for local demos only.
//
// The role is read from the client certificate that gRPC verified against the fleet CA (its
// x509_pem_cert auth property): the URI subject alternative name fleetbond://node/<id> or
// fleetbond://operator/<name>, which must agree with the subject's OU and CN. When the caller
// presents a certificate, the certificate decides; a bearer token is looked at only without one.
//
// Example:
//   CallerAuthenticator auth(std::move(tokens), /*insecure=*/false);
//   grpc::Status Fleet::ListNodes(grpc::ServerContext* ctx, ...) {
//     if (absl::Status s = auth.RequireOperator(*ctx); !s.ok()) return ToGrpcStatus(s);
#pragma once

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/tls/token_set.h"

namespace fleetbond::tls {

// Caller is the authenticated identity behind one RPC.
struct Caller {
  enum Role { kNone, kNode, kOperator, kReplica };
  Role role = kNone;
  // name is the node id (kNode), the operator name (kOperator) or the controller replica's name
  // (kReplica); empty for kNone.
  std::string name;
  // insecure is set on a server started with --insecure: nothing was checked and every claim is
  // believed.
  bool insecure = false;
  // by_token says an operator was recognised by bearer token rather than certificate.
  bool by_token = false;
  // problem says why role is kNone ("no client certificate and no bearer token", ...).
  std::string problem;

  // Describe returns "node 0123456789", "operator alice (token)", "unauthenticated caller" ...
  // for logs and messages.
  std::string Describe() const;
};

// IdentityOfCertificate reads the fleet role and name from a PEM client certificate (already
// verified by the TLS handshake). InvalidArgument when the certificate names no fleet identity or
// its names disagree.
absl::StatusOr<Caller> IdentityOfCertificate(absl::string_view pem);

// IdentifyCaller decides the caller from what the transport gave: the verified peer certificate
// (nullopt when none) and the values of the `authorization` metadata (normally none or one).
Caller IdentifyCaller(const std::optional<std::string>& peer_certificate_pem,
                      const std::vector<std::string>& authorization, const TokenSet& tokens,
                      bool insecure);

// Authenticate identifies the caller of the RPC behind `ctx` (a grpc::ServerContext or
// grpc::CallbackServerContext). It never fails: an unknown caller is role kNone with a problem.
Caller Authenticate(const grpc::ServerContextBase& ctx, const TokenSet& tokens, bool insecure);

// RequireNode returns OK when `caller` may open the node session of `claimed_id`;
// PermissionDenied for an operator or another node's certificate, Unauthenticated for a caller
// with no credentials.
absl::Status RequireNode(const Caller& caller, absl::string_view claimed_id);
// RequireOperator returns OK when `caller` may use the operator API; PermissionDenied for a node
// or replica certificate, Unauthenticated for a caller with no or wrong credentials.
absl::Status RequireOperator(const Caller& caller);
// RequireReplica returns OK when `caller` is another controller replica (a replica certificate,
// ca.h IssueReplica), which alone may forward commands (fleetbond.v1.Replica); PermissionDenied
// for node and operator credentials, Unauthenticated for none.
absl::Status RequireReplica(const Caller& caller);

// CallerAuthenticator holds what the checks need (the operator tokens, the --insecure switch), so
// services can call the checks with just their context. Thread-safe (immutable).
class CallerAuthenticator {
 public:
  CallerAuthenticator(TokenSet tokens, bool insecure)
      : tokens_(std::move(tokens)), insecure_(insecure) {}

  Caller Authenticate(const grpc::ServerContextBase& ctx) const {
    return tls::Authenticate(ctx, tokens_, insecure_);
  }
  absl::Status RequireNode(const grpc::ServerContextBase& ctx, absl::string_view claimed_id) const {
    return tls::RequireNode(Authenticate(ctx), claimed_id);
  }
  absl::Status RequireOperator(const grpc::ServerContextBase& ctx) const {
    return tls::RequireOperator(Authenticate(ctx));
  }
  absl::Status RequireReplica(const grpc::ServerContextBase& ctx) const {
    return tls::RequireReplica(Authenticate(ctx));
  }
  bool insecure() const { return insecure_; }

 private:
  TokenSet tokens_;
  bool insecure_;
};

}  // namespace fleetbond::tls
