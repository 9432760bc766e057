#include "controller/replica/replica_service.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/fleet/services.h"

namespace fleetbond::controller {

grpc::Status ReplicaService::ForwardCommand(grpc::ServerContext* context,
                                            const v1::ForwardCommandRequest* request,
                                            v1::CommandResult* response) {
  if (auth_.replica) {
    if (absl::Status s = auth_.replica(*context); !s.ok()) return ToGrpc(s);
  }
  if (request->node_id().empty() || request->command().kind_case() == v1::Command::KIND_NOT_SET) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a forwarded command needs a node id and a command");
  }
  const std::string& node = request->node_id();
  // Never forwarded again: only a session held here counts.
  if (!fleet_.HasSession(node)) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("controller replica ", options_.self, " holds no session of node ", node));
  }
  const uint64_t forwarder_id = request->command().id();
  absl::StatusOr<v1::CommandResult> result = RunCommand(fleet_, node, request->command());
  if (result.ok()) {
    *response = *std::move(result);
  } else {
    response->set_code(static_cast<int32_t>(result.status().code()));
    response->set_message(std::string(result.status().message()));
  }
  response->set_id(forwarder_id);
  return grpc::Status::OK;
}

grpc::Status ReplicaService::Drain(grpc::ServerContext* context, const v1::DrainRequest* request,
                                   v1::DrainResponse* response) {
  if (auth_.op) {
    if (absl::Status s = auth_.op(*context); !s.ok()) return ToGrpc(s);
  }
  std::vector<std::string> redirects(request->redirect().begin(), request->redirect().end());
  if (redirects.empty()) redirects = options_.drain_redirects;
  if (redirects.empty() && options_.live_replicas) redirects = options_.live_replicas();
  const size_t ended = fleet_.Drain(redirects);
  std::cerr << "fleetbond-controller: draining on request: " << ended << " node session(s) ended"
            << (redirects.empty() ? std::string(" without a redirect")
                                  : absl::StrCat(", sent to ", absl::StrJoin(redirects, ", ")))
            << "\n";
  response->set_sessions_ended(static_cast<uint32_t>(ended));
  for (const std::string& r : redirects) response->add_redirect(r);
  return grpc::Status::OK;
}

}  // namespace fleetbond::controller
