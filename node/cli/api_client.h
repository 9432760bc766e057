// api_client.h
//
// NodeClient is fleetbond-cli's side of the node API: one channel to the node's --api address,
// each call with a deadline, and every failure turned into a sentence a person can act on
// ("cannot reach fleetbond-node at 127.0.0.1:9801: connection refused - is it running?")
// instead of a gRPC code.
//
// Example:
//   NodeClient client("127.0.0.1:9801");
//   absl::StatusOr<v1::Bond> bond = client.GetBond("77dcbe7120");
//   if (!bond.ok()) std::cerr << bond.status().message();
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fleetbond/v1/node.grpc.pb.h"
#include "grpcpp/support/status.h"

namespace fleetbond::cli {

// DescribeRpcError turns a failed call to the node at `address` into an absl::Status with the
// same code and a sentence for its message.
absl::Status DescribeRpcError(const grpc::Status& status, const std::string& address);

class NodeClient {
 public:
  explicit NodeClient(std::string address, absl::Duration timeout = absl::Seconds(5));

  absl::StatusOr<v1::ListBondsResponse> ListBonds();
  absl::StatusOr<v1::Bond> GetBond(const std::string& peer);
  absl::StatusOr<v1::RotateBondResponse> RotateBond(const std::string& peer);
  absl::StatusOr<v1::GetSettingsResponse> GetSettings();
  absl::StatusOr<v1::ApplySettingsResponse> ApplySettings(const std::string& local_conf_json);
  absl::StatusOr<v1::NodeInfo> GetInfo();
  absl::StatusOr<v1::ListPeersResponse> ListPeers();

 private:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request);

  std::string address_;
  absl::Duration timeout_;
  std::unique_ptr<v1::Node::Stub> stub_;
};

}  // namespace fleetbond::cli
