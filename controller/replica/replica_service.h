// replica_service.h
//
// ReplicaService serves fleetbond.v1.Replica (proto/fleetbond/v1/replica.proto) on the
// controller's gRPC port:
//   ForwardCommand - another replica hands over an operator's command for a node whose session
//                    this replica holds. Only replicas may call it (a replica certificate,
//                    tls::RequireReplica). It runs on this replica's own sessions only and is
//                    never forwarded again: FAILED_PRECONDITION when the session is not here.
//                    The node's outcome (also "not connected", "did not answer") travels in the
//                    CommandResult's code, so a failed call always means the replica itself did
//                    not answer or refused.
//   Drain          - an operator makes this replica send its nodes elsewhere (Fleet::Drain).
//
// Example:
//   ReplicaService replica(fleet, {.self = "ctl-a", .drain_redirects = {"ctl-b:9900"}}, auth);
//   builder.RegisterService(&replica);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controller/fleet/fleet.h"
#include "fleetbond/v1/replica.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace fleetbond::controller {

struct ReplicaAuth {
  // OK when the caller is another replica (ForwardCommand).
  std::function<absl::Status(const grpc::ServerContextBase& context)> replica;
  // OK when the caller is an operator (Drain).
  std::function<absl::Status(const grpc::ServerContextBase& context)> op;
};

struct ReplicaServiceOptions {
  std::string self;                          // this replica's name, for messages
  std::vector<std::string> drain_redirects;  // Drain's redirects when the request names none
  // When neither the request nor drain_redirects names any: the other live replicas' addresses
  // (on etcd, from their registrations); none when unset or when it fails.
  std::function<std::vector<std::string>()> live_replicas;
};

class ReplicaService : public v1::Replica::Service {
 public:
  ReplicaService(Fleet& fleet, ReplicaServiceOptions options, ReplicaAuth auth)
      : fleet_(fleet), options_(std::move(options)), auth_(std::move(auth)) {}

  grpc::Status ForwardCommand(grpc::ServerContext* context,
                              const v1::ForwardCommandRequest* request,
                              v1::CommandResult* response) override;
  grpc::Status Drain(grpc::ServerContext* context, const v1::DrainRequest* request,
                     v1::DrainResponse* response) override;

 private:
  Fleet& fleet_;
  const ReplicaServiceOptions options_;
  const ReplicaAuth auth_;
};

}  // namespace fleetbond::controller
