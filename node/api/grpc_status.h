// grpc_status.h
//
// ToGrpcStatus carries an absl::Status across the API unchanged: same code, same message. The
// two code enums have the same numbers (both follow google.rpc.Code).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace fleetbond::api {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace fleetbond::api
