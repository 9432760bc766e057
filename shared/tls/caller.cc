#include "shared/tls/caller.h"

#include <grpc/grpc_security_constants.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/status_macros.h"
#include "shared/tls/fleet_names.h"
#include "shared/tls/openssl_util.h"

namespace fleetbond::tls {
namespace {

constexpr absl::string_view kAuthorizationKey = "authorization";

Caller Unknown(std::string problem) {
  Caller caller;
  caller.problem = std::move(problem);
  return caller;
}

// FleetUris returns the fleetbond:// URIs among `cert`'s subject alternative names.
std::vector<std::string> FleetUris(X509* cert) {
  std::vector<std::string> uris;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
    if (absl::StartsWith(text, kUriScheme)) uris.push_back(std::move(text));
  }
  return uris;
}

// ParseBearer returns the token of an `authorization: Bearer <token>` value (RFC 6750; the
// scheme is case-insensitive).
std::optional<std::string> ParseBearer(absl::string_view value) {
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !absl::StartsWithIgnoreCase(value, kScheme)) {
    return std::nullopt;
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

}  // namespace

std::string Caller::Describe() const {
  if (insecure) return "caller on an --insecure server (not authenticated)";
  switch (role) {
    case kNode:
      return absl::StrCat("node ", name);
    case kOperator:
      return absl::StrCat("operator ", name, by_token ? " (bearer token)" : "");
    case kReplica:
      return absl::StrCat("controller replica ", name);
    case kNone:
      break;
  }
  return absl::StrCat("unauthenticated caller (", problem, ")");
}

absl::StatusOr<Caller> IdentityOfCertificate(absl::string_view pem) {
  FB_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificatePem(pem, "the client certificate"));
  std::vector<std::string> uris = FleetUris(cert.get());
  if (uris.empty()) {
    return absl::InvalidArgumentError(
        "the client certificate names no fleet identity (no fleetbond:// URI); only node and "
        "operator certificates issued by `fleetbond-controller ca issue` are accepted");
  }
  if (uris.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the client certificate names ", uris.size(), " fleet identities; one only"));
  }
  absl::string_view path = absl::string_view(uris.front()).substr(kUriScheme.size());
  size_t slash = path.find('/');
  absl::string_view unit = path.substr(0, slash);
  absl::string_view name = slash == absl::string_view::npos ? "" : path.substr(slash + 1);
  Caller caller;
  if (unit == kNodeUnit) {
    FB_RETURN_IF_ERROR(ValidateNodeId(name));
    caller.role = Caller::kNode;
  } else if (unit == kOperatorUnit) {
    FB_RETURN_IF_ERROR(ValidateOperatorName(name));
    caller.role = Caller::kOperator;
  } else if (unit == kReplicaUnit) {
    FB_RETURN_IF_ERROR(ValidateReplicaName(name));
    caller.role = Caller::kReplica;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("the client certificate's URI ", uris.front(),
                     " is neither a node, an operator nor a replica"));
  }
  caller.name = std::string(name);
  // The subject must tell the same story as the URI, so that no certificate can be read as two
  // different identities by two different readers.
  auto ou = SubjectField(cert.get(), NID_organizationalUnitName);
  auto cn = SubjectField(cert.get(), NID_commonName);
  if (!ou.ok() || !cn.ok() || *ou != unit || *cn != name) {
    return absl::InvalidArgumentError(
        absl::StrCat("the client certificate's subject (OU=", ou.ok() ? *ou : "?",
                     ", CN=", cn.ok() ? *cn : "?", ") disagrees with its URI ", uris.front()));
  }
  return caller;
}

Caller IdentifyCaller(const std::optional<std::string>& peer_certificate_pem,
                      const std::vector<std::string>& authorization, const TokenSet& tokens,
                      bool insecure) {
  if (insecure) {
    Caller caller;
    caller.insecure = true;
    return caller;
  }
  if (peer_certificate_pem.has_value()) {
    absl::StatusOr<Caller> caller = IdentityOfCertificate(*peer_certificate_pem);
    if (!caller.ok()) return Unknown(std::string(caller.status().message()));
    return *std::move(caller);
  }
  if (authorization.empty()) return Unknown("no client certificate and no bearer token");
  if (authorization.size() > 1) return Unknown("more than one authorization header");
  std::optional<std::string> token = ParseBearer(authorization.front());
  if (!token.has_value()) return Unknown("the authorization header is not `Bearer <token>`");
  std::optional<std::string> name = tokens.Match(*token);
  if (!name.has_value()) {
    return Unknown(tokens.empty() ? "bearer tokens are not accepted: the controller has no "
                                    "--operator-tokens file"
                                  : "the bearer token matches no operator");
  }
  Caller caller;
  caller.role = Caller::kOperator;
  caller.name = *std::move(name);
  caller.by_token = true;
  return caller;
}

Caller Authenticate(const grpc::ServerContextBase& ctx, const TokenSet& tokens, bool insecure) {
  std::optional<std::string> pem;
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> values =
        auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!values.empty()) pem.emplace(values.front().data(), values.front().size());
  }
  std::vector<std::string> authorization;
  auto [begin, end] = ctx.client_metadata().equal_range(
      grpc::string_ref(kAuthorizationKey.data(), kAuthorizationKey.size()));
  for (auto it = begin; it != end; ++it)
    authorization.emplace_back(it->second.data(), it->second.size());
  return IdentifyCaller(pem, authorization, tokens, insecure);
}

absl::Status RequireNode(const Caller& caller, absl::string_view claimed_id) {
  if (caller.insecure) return absl::OkStatus();
  switch (caller.role) {
    case Caller::kNode:
      if (caller.name == claimed_id) return absl::OkStatus();
      return absl::PermissionDeniedError(
          absl::StrCat("certificate is for node ", caller.name, ", not ", claimed_id));
    case Caller::kOperator:
    case Caller::kReplica:
      return absl::PermissionDeniedError(
          absl::StrCat(caller.role == Caller::kOperator ? "operator" : "replica",
                       " credentials cannot open a node session (", caller.Describe(), ")"));
    case Caller::kNone:
      break;
  }
  return absl::UnauthenticatedError(
      absl::StrCat("a node session needs the node's client certificate: ", caller.problem));
}

absl::Status RequireOperator(const Caller& caller) {
  if (caller.insecure) return absl::OkStatus();
  switch (caller.role) {
    case Caller::kOperator:
      return absl::OkStatus();
    case Caller::kNode:
      return absl::PermissionDeniedError(
          absl::StrCat("node certificates cannot call the operator API (this one is for node ",
                       caller.name, ")"));
    case Caller::kReplica:
      return absl::PermissionDeniedError(
          absl::StrCat("replica certificates cannot call the operator API (", caller.Describe(),
                       "); a replica forwards through fleetbond.v1.Replica"));
    case Caller::kNone:
      break;
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the operator API needs an operator certificate or bearer token: ", caller.problem));
}

absl::Status RequireReplica(const Caller& caller) {
  if (caller.insecure) return absl::OkStatus();
  switch (caller.role) {
    case Caller::kReplica:
      return absl::OkStatus();
    case Caller::kNode:
    case Caller::kOperator:
      return absl::PermissionDeniedError(absl::StrCat(
          "only controller replicas may forward commands (replica certificates from `fleetbond-"
          "controller ca issue --replica`); the caller is ",
          caller.Describe()));
    case Caller::kNone:
      break;
  }
  return absl::UnauthenticatedError(
      absl::StrCat("the replica API needs a replica certificate: ", caller.problem));
}

}  // namespace fleetbond::tls
