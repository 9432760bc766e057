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
};

}  // namespace fleetbond::controller
