#include "controller/replica/command_forwarder.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace fleetbond::controller {

absl::StatusOr<v1::CommandResult> GrpcReplicaClient::ForwardCommand(
    const ReplicaAddress& owner, const v1::ForwardCommandRequest& request, absl::Duration timeout) {
  std::shared_ptr<grpc::Channel> channel;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<grpc::Channel>& slot = channels_[owner.address];
    if (slot == nullptr) slot = grpc::CreateChannel(owner.address, credentials_);
    channel = slot;
  }
  std::unique_ptr<v1::Replica::Stub> stub = v1::Replica::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  v1::CommandResult result;
  grpc::Status status = stub->ForwardCommand(&context, request, &result);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return result;
}

std::optional<absl::StatusOr<v1::CommandResult>> ReplicaForwarder::Forward(
    const std::string& node_id, const v1::Command& command) {
  absl::StatusOr<ReplicaAddress> owner = owners_.Owner(node_id);
  if (absl::IsNotFound(owner.status())) return std::nullopt;
  if (!owner.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot tell which controller replica holds node ",
                                               node_id, ": ", owner.status().message()));
  }
  if (owner->replica == options_.self) return std::nullopt;  // a stale record of our own

  v1::ForwardCommandRequest request;
  request.set_node_id(node_id);
  *request.mutable_command() = command;
  request.set_from_replica(options_.self);
  absl::StatusOr<v1::CommandResult> result =
      client_.ForwardCommand(*owner, request, options_.timeout);
  if (result.ok()) return result;
  const std::string where = absl::StrCat("replica ", owner->replica, " at ", owner->address);
  switch (result.status().code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return absl::UnavailableError(
          absl::StrCat("node ", node_id, " is owned by ", where,
                       ", which did not answer: ", result.status().message()));
    case absl::StatusCode::kFailedPrecondition:
      // The owner no longer holds the session: the node moved, or is gone.
      return absl::UnavailableError(
          absl::StrCat("node ", node_id, " is not connected to ", where,
                       ", which the owners record names: ", result.status().message()));
    default:
      return absl::Status(result.status().code(),
                          absl::StrCat("forwarding the command for node ", node_id, " to ", where,
                                       " failed: ", result.status().message()));
  }
}

}  // namespace fleetbond::controller
