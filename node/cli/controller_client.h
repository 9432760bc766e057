// controller_client.h
//
// ControllerClient is fleetbond-cli's side of the controller's operator API (fleetbond.v1.Fleet,
// proto/fleetbond/v1/controller.proto, and the operator's call of fleetbond.v1.Replica, Drain):
// one channel to --controller ADDR, each unary call with a
// deadline, and every failure turned into a sentence a person can act on, as NodeClient does for
// the node API ("cannot reach fleetbond-controller at ctl:9900: connection refused - is it
// running?"). A call the controller itself refused keeps the controller's reason: rotating a bond
// of an offline node says which node and why, not "unavailable".
//
// Example:
//   FB_ASSIGN_OR_RETURN(auto creds, ControllerCredentials({.ca_file = "ca.pem", .token = t},
//                                                         "ctl.example:9900", std::cerr));
//   ControllerClient client("ctl.example:9900", creds);
//   absl::StatusOr<v1::ListNodesResponse> nodes = client.ListNodes("site=berlin");
//   if (!nodes.ok()) std::cerr << nodes.status().message();
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fleetbond/v1/controller.grpc.pb.h"
#include "fleetbond/v1/replica.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"

namespace fleetbond::cli {

// ControllerSecurity is how the CLI proves itself to the controller: TLS with the fleet CA
// (`ca_file`; empty: the system's roots), an operator certificate (`cert_file`, `key_file`) and/or
// a bearer token; or, only when asked for explicitly, plaintext (`insecure`).
struct ControllerSecurity {
  bool insecure = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token;
};

// ControllerCredentials checks that `security` is one complete, consistent choice and builds the
// channel credentials with shared/tls: INVALID_ARGUMENT with a sentence naming the flags when it
// is not (neither TLS nor --insecure, --insecure with TLS flags, a certificate without its key);
// shared/tls's error when a file cannot be read or does not hold what it should. --insecure
// prints shared/tls's warning about `address` to `warnings`.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ControllerCredentials(
    const ControllerSecurity& security, absl::string_view address, std::ostream& warnings);

// DescribeControllerError turns a failed call to the controller at `address` into an absl::Status
// with the same code and a sentence for its message. `reached` says whether the controller
// answered (its channel was connected): then an UNAVAILABLE is the controller's own refusal (a
// node offline) rather than the controller being unreachable. Several settings errors in one
// INVALID_ARGUMENT are put one per line.
absl::Status DescribeControllerError(const grpc::Status& status, const std::string& address,
                                     bool reached);

// WatchBounds ends an event watch: after `count` events (0: no limit), or once `timeout` has
// passed (infinite: no limit).
struct WatchBounds {
  size_t count = 0;
  absl::Duration timeout = absl::InfiniteDuration();
};

class ControllerClient {
 public:
  ControllerClient(std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials,
                   absl::Duration timeout = absl::Seconds(5));

  const std::string& address() const { return address_; }

  absl::StatusOr<v1::FleetSettings> GetSettings(const std::string& scope);
  absl::StatusOr<v1::FleetSettings> ReplaceSettings(const v1::ReplaceSettingsRequest& request);
  absl::StatusOr<v1::ValidateSettingsResponse> ValidateSettings(
      const v1::ValidateSettingsRequest& request);
  absl::StatusOr<v1::FleetSettings> PutPolicy(const v1::PutPolicyRequest& request);
  absl::StatusOr<v1::FleetSettings> DeletePolicy(const v1::DeletePolicyRequest& request);
  absl::StatusOr<v1::FleetSettings> SetDefaultPolicy(const v1::SetDefaultPolicyRequest& request);
  absl::StatusOr<v1::FleetSettings> SetPeerBond(const v1::SetPeerBondRequest& request);
  absl::StatusOr<v1::FleetSettings> DeletePeerBond(const v1::DeletePeerBondRequest& request);

  absl::StatusOr<v1::ListNodesResponse> ListNodes(const std::string& label_selector);
  absl::StatusOr<v1::NodeStatus> GetNode(const std::string& id);
  absl::StatusOr<v1::ListBondsResponse> ListNodeBonds(const std::string& node_id);
  absl::StatusOr<v1::Bond> GetNodeBond(const std::string& node_id, const std::string& peer);
  absl::StatusOr<v1::RotateBondResponse> RotateNodeBond(const std::string& node_id,
                                                        const std::string& peer);
  // Drain makes the replica at address() send its nodes elsewhere (Replica.Drain, an operator's
  // call): to `redirects` in turn, or, when empty, to the replica's own --drain-redirect.
  absl::StatusOr<v1::DrainResponse> Drain(const std::vector<std::string>& redirects);

  // WatchEvents calls `on_event` for each fleet event (of node `node_id`; "" every node) as it
  // arrives, until `bounds` end the watch or the controller ends the stream. Returns how many
  // events arrived; an error when the stream failed (events already delivered stay delivered).
  // Reaching the timeout is not an error.
  absl::StatusOr<size_t> WatchEvents(const std::string& node_id, const WatchBounds& bounds,
                                     const std::function<void(const v1::FleetEvent&)>& on_event);

 private:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request);

  // Reached is whether the channel is connected: the controller answered the failed call.
  bool Reached() const;

  std::string address_;
  absl::Duration timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Fleet::Stub> stub_;
  std::unique_ptr<v1::Replica::Stub> replica_stub_;
};

}  // namespace fleetbond::cli
