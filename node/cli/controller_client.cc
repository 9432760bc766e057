#include "node/cli/controller_client.h"

#include <grpcpp/grpcpp.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "shared/tls/credentials.h"

namespace fleetbond::cli {
namespace {

constexpr char kController[] = "fleetbond-controller at ";

// ConnectionFailure picks the cause out of gRPC's text for a connection that never came up
// ("failed to connect to all addresses; last error: ...: Connection refused").
std::string ConnectionFailure(const std::string& detail) {
  const std::string lower = absl::AsciiStrToLower(detail);
  if (absl::StrContains(lower, "handshake") || absl::StrContains(lower, "ssl") ||
      absl::StrContains(lower, "certificate")) {
    return "the TLS handshake failed (is --controller-ca the CA that signed the controller's "
           "certificate, and does the controller serve TLS?)";
  }
  for (const char* known : {"connection refused", "network is unreachable", "no route to host",
                            "name or service not known", "connection reset", "socket closed"}) {
    if (absl::StrContains(lower, known)) return known;
  }
  if (absl::StrContains(lower, "dns resolution failed")) return "the host name does not resolve";
  return detail.empty() ? "no answer" : detail;
}

// OneErrorPerLine puts the errors of an INVALID_ARGUMENT on lines of their own. The controller
// may join them with "; " ("settings.a: ...; settings.b: ..."); a "; " inside one error's
// sentence stays, because a new error starts with its path.
std::string OneErrorPerLine(const std::string& message) {
  if (absl::StrContains(message, '\n')) return message;
  std::string out;
  bool first = true;
  for (absl::string_view part : absl::StrSplit(message, "; ")) {
    if (!first) {
      const bool new_error = absl::StartsWith(part, "settings.") ||
                             absl::StartsWith(part, "settings:") ||
                             absl::StartsWith(part, "scopes[");
      out += new_error ? "\n" : "; ";
    }
    out += std::string(part);
    first = false;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ControllerCredentials(
    const ControllerSecurity& security, absl::string_view address, std::ostream& warnings) {
  const bool tls = !security.ca_file.empty() || !security.cert_file.empty() ||
                   !security.key_file.empty() || !security.token.empty();
  if (security.insecure && tls) {
    return absl::InvalidArgumentError(
        "--insecure is a plaintext connection: it does not go with --controller-ca, --cert, "
        "--key or a token (a token must not travel in plaintext)");
  }
  if (security.insecure) return tls::InsecureClient(address, warnings);
  if (!tls) {
    return absl::InvalidArgumentError(
        "--controller needs TLS options (--controller-ca FILE, with --cert FILE --key FILE "
        "and/or --token TOKEN | --token-file FILE) or, for a plaintext connection, --insecure");
  }
  if (security.cert_file.empty() != security.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--cert and --key go together: the operator certificate and its private key");
  }
  return tls::MakeClientCredentials({.ca_file = security.ca_file,
                                     .cert_file = security.cert_file,
                                     .key_file = security.key_file,
                                     .token = security.token});
}

absl::Status DescribeControllerError(const grpc::Status& status, const std::string& address,
                                     bool reached) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& msg = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (reached) return absl::Status(code, absl::StrCat(kController, address, ": ", msg));
      return absl::Status(code, absl::StrCat("cannot reach ", kController, address, ": ",
                                             ConnectionFailure(msg), " - is it running?"));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(code, absl::StrCat(kController, address,
                                             " did not answer in time - is it running, and is "
                                             "that its gRPC address (--controller)?"));
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::Status(code, absl::StrCat(address,
                                             " does not serve this call of the fleet API - is it "
                                             "a fleetbond-controller of the same version?"));
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::Status(code, OneErrorPerLine(msg));
    case grpc::StatusCode::ABORTED:
      return absl::Status(
          code, absl::StrCat("not changed: ", msg,
                             " - another change came first; read the current settings (settings "
                             "show) and retry with --expect-version of that version"));
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
      return absl::Status(code, msg);  // the controller's reason is already a sentence
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::Status(
          code, absl::StrCat(kController, address, " did not accept our credentials: ", msg,
                             " - give an operator certificate (--cert, --key) or a token "
                             "(--token, --token-file)"));
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::Status(code, absl::StrCat(kController, address, " refused access: ", msg,
                                             " - this operator is not allowed that call"));
    default:
      return absl::Status(code, absl::StrCat(kController, address, " failed: ", msg, " (",
                                             absl::StatusCodeToString(code), ")"));
  }
}

ControllerClient::ControllerClient(std::string address,
                                   std::shared_ptr<grpc::ChannelCredentials> credentials,
                                   absl::Duration timeout)
    : address_(std::move(address)),
      timeout_(timeout),
      channel_(grpc::CreateChannel(address_, std::move(credentials))),
      stub_(v1::Fleet::NewStub(channel_)),
      replica_stub_(v1::Replica::NewStub(channel_)) {}

bool ControllerClient::Reached() const { return channel_->GetState(false) == GRPC_CHANNEL_READY; }

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> ControllerClient::Call(Method method, const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  Response response;
  grpc::Status status = ((*stub_).*method)(&context, request, &response);
  if (!status.ok()) return DescribeControllerError(status, address_, Reached());
  return response;
}

absl::StatusOr<v1::FleetSettings> ControllerClient::GetSettings(const std::string& scope) {
  v1::GetFleetSettingsRequest request;
  request.set_scope(scope);
  return Call<v1::GetFleetSettingsRequest, v1::FleetSettings>(&v1::Fleet::Stub::GetSettings,
                                                              request);
}

absl::StatusOr<v1::FleetSettings> ControllerClient::ReplaceSettings(
    const v1::ReplaceSettingsRequest& request) {
  return Call<v1::ReplaceSettingsRequest, v1::FleetSettings>(&v1::Fleet::Stub::ReplaceSettings,
                                                             request);
}

absl::StatusOr<v1::ValidateSettingsResponse> ControllerClient::ValidateSettings(
    const v1::ValidateSettingsRequest& request) {
  return Call<v1::ValidateSettingsRequest, v1::ValidateSettingsResponse>(
      &v1::Fleet::Stub::ValidateSettings, request);
}

absl::StatusOr<v1::FleetSettings> ControllerClient::PutPolicy(const v1::PutPolicyRequest& request) {
  return Call<v1::PutPolicyRequest, v1::FleetSettings>(&v1::Fleet::Stub::PutPolicy, request);
}

absl::StatusOr<v1::FleetSettings> ControllerClient::DeletePolicy(
    const v1::DeletePolicyRequest& request) {
  return Call<v1::DeletePolicyRequest, v1::FleetSettings>(&v1::Fleet::Stub::DeletePolicy, request);
}

absl::StatusOr<v1::FleetSettings> ControllerClient::SetDefaultPolicy(
    const v1::SetDefaultPolicyRequest& request) {
  return Call<v1::SetDefaultPolicyRequest, v1::FleetSettings>(&v1::Fleet::Stub::SetDefaultPolicy,
                                                              request);
}

absl::StatusOr<v1::FleetSettings> ControllerClient::SetPeerBond(
    const v1::SetPeerBondRequest& request) {
  return Call<v1::SetPeerBondRequest, v1::FleetSettings>(&v1::Fleet::Stub::SetPeerBond, request);
}

absl::StatusOr<v1::FleetSettings> ControllerClient::DeletePeerBond(
    const v1::DeletePeerBondRequest& request) {
  return Call<v1::DeletePeerBondRequest, v1::FleetSettings>(&v1::Fleet::Stub::DeletePeerBond,
                                                            request);
}

absl::StatusOr<v1::ListNodesResponse> ControllerClient::ListNodes(
    const std::string& label_selector) {
  v1::ListNodesRequest request;
  request.set_label_selector(label_selector);
  return Call<v1::ListNodesRequest, v1::ListNodesResponse>(&v1::Fleet::Stub::ListNodes, request);
}

absl::StatusOr<v1::NodeStatus> ControllerClient::GetNode(const std::string& id) {
  v1::GetNodeRequest request;
  request.set_id(id);
  return Call<v1::GetNodeRequest, v1::NodeStatus>(&v1::Fleet::Stub::GetNode, request);
}

absl::StatusOr<v1::ListBondsResponse> ControllerClient::ListNodeBonds(const std::string& node_id) {
  v1::NodeBondRequest request;
  request.set_node_id(node_id);
  return Call<v1::NodeBondRequest, v1::ListBondsResponse>(&v1::Fleet::Stub::ListNodeBonds, request);
}

absl::StatusOr<v1::Bond> ControllerClient::GetNodeBond(const std::string& node_id,
                                                       const std::string& peer) {
  v1::NodeBondRequest request;
  request.set_node_id(node_id);
  request.set_peer(peer);
  return Call<v1::NodeBondRequest, v1::Bond>(&v1::Fleet::Stub::GetNodeBond, request);
}

absl::StatusOr<v1::RotateBondResponse> ControllerClient::RotateNodeBond(const std::string& node_id,
                                                                        const std::string& peer) {
  v1::NodeBondRequest request;
  request.set_node_id(node_id);
  request.set_peer(peer);
  return Call<v1::NodeBondRequest, v1::RotateBondResponse>(&v1::Fleet::Stub::RotateNodeBond,
                                                           request);
}

absl::StatusOr<v1::DrainResponse> ControllerClient::Drain(
    const std::vector<std::string>& redirects) {
  v1::DrainRequest request;
  for (const std::string& r : redirects) request.add_redirect(r);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  v1::DrainResponse response;
  grpc::Status status = replica_stub_->Drain(&context, request, &response);
  if (!status.ok()) return DescribeControllerError(status, address_, Reached());
  return response;
}

absl::StatusOr<size_t> ControllerClient::WatchEvents(
    const std::string& node_id, const WatchBounds& bounds,
    const std::function<void(const v1::FleetEvent&)>& on_event) {
  grpc::ClientContext context;
  if (bounds.timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + bounds.timeout));
  }
  v1::WatchEventsRequest request;
  request.set_node_id(node_id);
  std::unique_ptr<grpc::ClientReader<v1::FleetEvent>> reader =
      stub_->WatchEvents(&context, request);
  size_t received = 0;
  v1::FleetEvent event;
  while ((bounds.count == 0 || received < bounds.count) && reader->Read(&event)) {
    on_event(event);
    ++received;
  }
  const bool enough = bounds.count != 0 && received == bounds.count;
  if (enough) {
    context.TryCancel();
    while (reader->Read(&event)) {
    }
  }
  const grpc::Status status = reader->Finish();
  if (status.ok() || enough) return received;
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && Reached()) return received;
  return DescribeControllerError(status, address_, Reached());
}

}  // namespace fleetbond::cli
