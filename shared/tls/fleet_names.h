// fleet_names.h
//
// The names a fleet certificate is bound to, and how they are written into it. A node certificate
// names its node id, an operator certificate its operator name, each twice: as the subject
// (CN=<name>, OU=node|operator) for people reading `openssl x509 -text`, and as a URI subject
// alternative name (fleetbond://node/<id>, fleetbond://operator/<name>) that the controller
// checks. Server certificates carry DNS names and IP addresses.
//
// Example:
//   FB_RETURN_IF_ERROR(ValidateNodeId(id));
//   std::string san = NodeUri(id);  // "fleetbond://node/0123456789"
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fleetbond::tls {

inline constexpr absl::string_view kUriScheme = "fleetbond://";
inline constexpr absl::string_view kNodeUnit = "node";
inline constexpr absl::string_view kOperatorUnit = "operator";
// kReplicaUnit names a controller replica's certificate: it serves nodes and operators like a
// server certificate and also authenticates the replica to the other replicas (mutual TLS).
inline constexpr absl::string_view kReplicaUnit = "replica";

// ValidateNodeId accepts exactly 10 lowercase hex digits, the form nodes print their ids in.
absl::Status ValidateNodeId(absl::string_view id);

// ValidateOperatorName accepts 1 to 64 characters of letters, digits, '.', '_', '-' and '@',
// starting with a letter or digit (a login or an e-mail address).
absl::Status ValidateOperatorName(absl::string_view name);

// ValidateReplicaName accepts a replica's name by the rules of ValidateOperatorName (it is what
// the replica calls itself, e.g. its --replica-id).
absl::Status ValidateReplicaName(absl::string_view name);

// ValidateServerName accepts an IPv4 or IPv6 address, or a DNS name (labels of letters, digits
// and '-', at most 253 characters).
absl::Status ValidateServerName(absl::string_view name);

// IsIpAddress says whether `name` is an IPv4 or IPv6 address literal.
bool IsIpAddress(absl::string_view name);

// ValidateFleetName accepts 1 to 48 printable ASCII characters other than ',', '/', '=' and '\\'.
absl::Status ValidateFleetName(absl::string_view name);

// NodeUri and OperatorUri return the URI subject alternative names of the two roles.
std::string NodeUri(absl::string_view node_id);
std::string OperatorUri(absl::string_view operator_name);
std::string ReplicaUri(absl::string_view replica_name);

}  // namespace fleetbond::tls
