// services.h
//
// The controller's two gRPC services over a Fleet, on the same port:
//   SessionService - fleetbond.v1.NodeSession: one bidirectional stream per node (gRPC's callback
//                    API, so ten thousand idle streams cost no threads).
//   FleetService   - fleetbond.v1.Fleet: the operator API.
// Who may call what is decided by the Auth hooks, which main builds from the TLS set-up
// (shared/tls): a node session must present that node's certificate, the operator API an
// operator's certificate or token. Without hooks (tests, --insecure) every caller is trusted.
//
// Example:
//   SessionService sessions(fleet, auth);
//   FleetService operators(fleet, auth);
//   builder.RegisterService(&sessions);
//   builder.RegisterService(&operators);
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "controller/fleet/fleet.h"
#include "fleetbond/v1/controller.grpc.pb.h"
#include "fleetbond/v1/session.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace fleetbond::controller {

struct Auth {
  // OK when the caller may open a session as node `node_id`.
  std::function<absl::Status(const grpc::ServerContextBase& context, const std::string& node_id)>
      node;
  // The operator's name ("" unknown) when the caller may use the operator API.
  std::function<absl::StatusOr<std::string>(const grpc::ServerContextBase& context)> op;
};

// ToGrpc turns an absl::Status into a grpc::Status with the same code and message.
grpc::Status ToGrpc(const absl::Status& status);

// RunCommand sends `command` down the session this controller holds of `node_id` and waits for
// the node's result (whose code may be an error: the caller maps it). NotFound for a node the
// fleet does not know, Unavailable when it is not connected here, DeadlineExceeded when it does
// not answer within the fleet's command timeout.
absl::StatusOr<v1::CommandResult> RunCommand(Fleet& fleet, const std::string& node_id,
                                             v1::Command command);

// CommandForwarder hands a command for a node whose session this controller does not hold to the
// replica that holds it (controller/replica/command_forwarder.h).
class CommandForwarder {
 public:
  virtual ~CommandForwarder() = default;
  // Forward returns nullopt when no other replica is known to hold the node's session (the
  // command then fails here as usual), else the owner's result or why it could not be had.
  virtual std::optional<absl::StatusOr<v1::CommandResult>> Forward(const std::string& node_id,
                                                                   const v1::Command& command) = 0;
};

class SessionService : public v1::NodeSession::CallbackService {
 public:
  SessionService(Fleet& fleet, Auth auth) : fleet_(fleet), auth_(std::move(auth)) {}

  grpc::ServerBidiReactor<v1::NodeMessage, v1::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  Fleet& fleet_;
  Auth auth_;
};

class FleetService : public v1::Fleet::Service {
 public:
  FleetService(Fleet& fleet, Auth auth) : fleet_(fleet), auth_(std::move(auth)) {}
  // SetForwarder makes GetNodeBond and RotateNodeBond forward to the replica that holds the
  // node's session when this one does not (several replicas; null: never).
  void SetForwarder(CommandForwarder* forwarder) { forwarder_ = forwarder; }

  grpc::Status GetSettings(grpc::ServerContext* context, const v1::GetFleetSettingsRequest* request,
                           v1::FleetSettings* response) override;
  grpc::Status ReplaceSettings(grpc::ServerContext* context,
                               const v1::ReplaceSettingsRequest* request,
                               v1::FleetSettings* response) override;
  grpc::Status ValidateSettings(grpc::ServerContext* context,
                                const v1::ValidateSettingsRequest* request,
                                v1::ValidateSettingsResponse* response) override;
  grpc::Status PutPolicy(grpc::ServerContext* context, const v1::PutPolicyRequest* request,
                         v1::FleetSettings* response) override;
  grpc::Status DeletePolicy(grpc::ServerContext* context, const v1::DeletePolicyRequest* request,
                            v1::FleetSettings* response) override;
  grpc::Status SetDefaultPolicy(grpc::ServerContext* context,
                                const v1::SetDefaultPolicyRequest* request,
                                v1::FleetSettings* response) override;
  grpc::Status SetPeerBond(grpc::ServerContext* context, const v1::SetPeerBondRequest* request,
                           v1::FleetSettings* response) override;
  grpc::Status DeletePeerBond(grpc::ServerContext* context,
                              const v1::DeletePeerBondRequest* request,
                              v1::FleetSettings* response) override;
  grpc::Status ListNodes(grpc::ServerContext* context, const v1::ListNodesRequest* request,
                         v1::ListNodesResponse* response) override;
  grpc::Status GetNode(grpc::ServerContext* context, const v1::GetNodeRequest* request,
                       v1::NodeStatus* response) override;
  grpc::Status ListNodeBonds(grpc::ServerContext* context, const v1::NodeBondRequest* request,
                             v1::ListBondsResponse* response) override;
  grpc::Status GetNodeBond(grpc::ServerContext* context, const v1::NodeBondRequest* request,
                           v1::Bond* response) override;
  grpc::Status RotateNodeBond(grpc::ServerContext* context, const v1::NodeBondRequest* request,
                              v1::RotateBondResponse* response) override;
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::FleetEvent>* writer) override;

 private:
  // Operator returns the caller's name, or the refusal.
  absl::StatusOr<std::string> Operator(grpc::ServerContext* context);
  // Edit runs one settings change and fills `response` with the result.
  grpc::Status Edit(grpc::ServerContext* context, const std::string& scope, uint64_t expected,
                    const std::function<absl::Status(v1::Settings&)>& edit,
                    v1::FleetSettings* response);
  absl::StatusOr<v1::CommandResult> Command(const std::string& node_id, v1::Command command);

  Fleet& fleet_;
  Auth auth_;
  CommandForwarder* forwarder_ = nullptr;
};

}  // namespace fleetbond::controller
