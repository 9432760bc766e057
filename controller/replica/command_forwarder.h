// command_forwarder.h
//
// Forwarding of operator commands between controller replicas. An operator may send
// RotateNodeBond or GetNodeBond to any replica; the one that does not hold the node's session asks
// NodeOwners which replica does and calls that replica's Replica.ForwardCommand
// (proto/fleetbond/v1/replica.proto) with a deadline. The operator sees the node's answer as if it
// had asked the owner, or one clear error:
//   owner unreachable          UNAVAILABLE "node X is owned by replica Y at Z, which did not
//                              answer: ..."
//   owner no longer holds it   UNAVAILABLE "node X is not connected to replica Y at Z, which ..."
//   owners record unreadable   UNAVAILABLE "cannot tell which replica holds node X: ..."
// No owner recorded, or this replica itself named: the command runs here as on a single
// controller (NOT_FOUND, or UNAVAILABLE "not connected").
//
// Loops cannot happen: the owner runs a forwarded command on its own sessions only and never
// forwards it again (replica_service.h).
//
// Example:
//   GrpcReplicaClient client(replica_credentials);
//   ReplicaForwarder forwarder(owners, client, {.self = "ctl-b"});
//   fleet_service.SetForwarder(&forwarder);
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/services.h"
#include "controller/replica/node_owners.h"
#include "fleetbond/v1/replica.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace fleetbond::controller {

// ReplicaClient is how one replica calls another; GrpcReplicaClient in production, fakes in tests.
class ReplicaClient {
 public:
  virtual ~ReplicaClient() = default;
  // ForwardCommand calls `owner`'s Replica.ForwardCommand and waits up to `timeout`. The status
  // is the call's (UNAVAILABLE and DEADLINE_EXCEEDED: the owner did not answer).
  virtual absl::StatusOr<v1::CommandResult> ForwardCommand(const ReplicaAddress& owner,
                                                           const v1::ForwardCommandRequest& request,
                                                           absl::Duration timeout) = 0;
};

// GrpcReplicaClient keeps one channel per replica address, with `credentials` (mutual TLS: the
// fleet CA and this replica's certificate; tls::MakeClientCredentials). Thread-safe.
class GrpcReplicaClient : public ReplicaClient {
 public:
  explicit GrpcReplicaClient(std::shared_ptr<grpc::ChannelCredentials> credentials)
      : credentials_(std::move(credentials)) {}
  absl::StatusOr<v1::CommandResult> ForwardCommand(const ReplicaAddress& owner,
                                                   const v1::ForwardCommandRequest& request,
                                                   absl::Duration timeout) override;

 private:
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

struct ForwarderOptions {
  std::string self;  // this replica's name: a record naming it means "here"
  // How long the owner may take. It runs the command with the fleet's command timeout (10 s) and
  // a margin of its own, so this is longer.
  absl::Duration timeout = absl::Seconds(20);
};

class ReplicaForwarder : public CommandForwarder {
 public:
  ReplicaForwarder(NodeOwners& owners, ReplicaClient& client, ForwarderOptions options)
      : owners_(owners), client_(client), options_(std::move(options)) {}

  std::optional<absl::StatusOr<v1::CommandResult>> Forward(const std::string& node_id,
                                                           const v1::Command& command) override;

 private:
  NodeOwners& owners_;
  ReplicaClient& client_;
  const ForwarderOptions options_;
};

}  // namespace fleetbond::controller
