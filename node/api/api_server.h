// api_server.h
//
// ApiServer serves gRPC services on the node's --api address, with standard health checking
// (grpc.health.v1.Health) and server reflection (grpc.reflection.v1alpha, the only version gRPC
// 1.51 speaks) so that generic gRPC clients work. It runs on gRPC's own threads.
//
// Addresses: "HOST:PORT" (TCP, e.g. the default 127.0.0.1:9801) or "unix:PATH". A unix socket is
// created readable and writable by its owner only (0600), since the API can change settings; a
// stale socket file left by an earlier run is replaced.
//
// Example:
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<ApiServer> server,
//                       ApiServer::Start("127.0.0.1:9801", {&node_service}));
//   ...
//   server->Shutdown();
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fleetbond::api {

class ApiServer {
 public:
  // Start listens on `address` and serves `services` (which must outlive the server).
  // InvalidArgument for a malformed address; Unavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      const std::string& address, const std::vector<grpc::Service*>& services);
  ~ApiServer();

  // Shutdown stops accepting calls and waits up to `grace` for running ones to finish, then
  // cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(1));

  const std::string& address() const { return address_; }

 private:
  ApiServer(std::string address, std::unique_ptr<grpc::Server> server, std::string socket_path)
      : address_(std::move(address)),
        server_(std::move(server)),
        socket_path_(std::move(socket_path)) {}

  std::string address_;
  std::unique_ptr<grpc::Server> server_;
  std::string socket_path_;  // unix sockets: removed at shutdown
  bool shut_down_ = false;
};

}  // namespace fleetbond::api
