#include "node/cli/api_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fleetbond::cli {
namespace {

// Reason picks the cause out of gRPC's connection error text ("... Connection refused").
std::string Reason(const std::string& detail) {
  const std::string lower = absl::AsciiStrToLower(detail);
  for (const char* known : {"connection refused", "no such file or directory", "permission denied",
                            "network is unreachable", "no route to host",
                            "name or service not known", "connection reset"}) {
    if (absl::StrContains(lower, known)) return known;
  }
  if (absl::StrContains(lower, "dns resolution failed")) return "the host name does not resolve";
  return detail.empty() ? "no answer" : detail;
}

}  // namespace

absl::Status DescribeRpcError(const grpc::Status& status, const std::string& address) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& msg = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (absl::StrContains(msg, "stopping")) {
        return absl::Status(code, absl::StrCat("fleetbond-node at ", address, " is stopping"));
      }
      return absl::Status(code, absl::StrCat("cannot reach fleetbond-node at ", address, ": ",
                                             Reason(msg), " - is it running?"));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(code, absl::StrCat("fleetbond-node at ", address,
                                             " did not answer in time - is it running, and is "
                                             "that the API address (--api)?"));
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::Status(code, absl::StrCat(address,
                                             " does not serve this call of the fleetbond node API "
                                             "- is it a fleetbond-node of the same version?"));
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::Status(code, msg);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::Status(code, msg);  // the engine's reason is already a sentence
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::Status(code,
                          absl::StrCat("fleetbond-node at ", address, " refused access: ", msg));
    default:
      return absl::Status(code, absl::StrCat("fleetbond-node at ", address, " failed: ", msg, " (",
                                             absl::StatusCodeToString(code), ")"));
  }
}

NodeClient::NodeClient(std::string address, absl::Duration timeout)
    : address_(std::move(address)),
      timeout_(timeout),
      stub_(v1::Node::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()))) {}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> NodeClient::Call(Method method, const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  Response response;
  grpc::Status status = ((*stub_).*method)(&context, request, &response);
  if (!status.ok()) return DescribeRpcError(status, address_);
  return response;
}

absl::StatusOr<v1::ListBondsResponse> NodeClient::ListBonds() {
  return Call<v1::ListBondsRequest, v1::ListBondsResponse>(&v1::Node::Stub::ListBonds, {});
}

absl::StatusOr<v1::Bond> NodeClient::GetBond(const std::string& peer) {
  v1::GetBondRequest request;
  request.set_peer(peer);
  return Call<v1::GetBondRequest, v1::Bond>(&v1::Node::Stub::GetBond, request);
}

absl::StatusOr<v1::RotateBondResponse> NodeClient::RotateBond(const std::string& peer) {
  v1::RotateBondRequest request;
  request.set_peer(peer);
  return Call<v1::RotateBondRequest, v1::RotateBondResponse>(&v1::Node::Stub::RotateBond, request);
}

absl::StatusOr<v1::GetSettingsResponse> NodeClient::GetSettings() {
  return Call<v1::GetSettingsRequest, v1::GetSettingsResponse>(&v1::Node::Stub::GetSettings, {});
}

absl::StatusOr<v1::ApplySettingsResponse> NodeClient::ApplySettings(
    const std::string& local_conf_json) {
  v1::ApplySettingsRequest request;
  request.set_local_conf_json(local_conf_json);
  return Call<v1::ApplySettingsRequest, v1::ApplySettingsResponse>(&v1::Node::Stub::ApplySettings,
                                                                   request);
}

absl::StatusOr<v1::NodeInfo> NodeClient::GetInfo() {
  return Call<v1::GetInfoRequest, v1::NodeInfo>(&v1::Node::Stub::GetInfo, {});
}

absl::StatusOr<v1::ListPeersResponse> NodeClient::ListPeers() {
  return Call<v1::ListPeersRequest, v1::ListPeersResponse>(&v1::Node::Stub::ListPeers, {});
}

}  // namespace fleetbond::cli
