// ca.h
//
// The fleet certificate authority: one self-signed EC P-256 CA per fleet, kept in a directory
// on the controller, that issues
//   - node certificates (CN=<node id>, OU=node, URI fleetbond://node/<id>, clientAuth),
//   - operator certificates (CN=<name>, OU=operator, URI fleetbond://operator/<name>, clientAuth),
//   - server certificates for the controller (DNS and IP names, serverAuth),
//   - replica certificates for one of several controller replicas (CN=<name>, OU=replica, URI
//     fleetbond://replica/<name>, DNS and IP names, serverAuth and clientAuth): the replica serves
//     nodes and operators with it and presents it to the other replicas when it forwards a
//     command (docs/controller.md, "Replicas").
// The controller's TLS code (credentials.h) trusts exactly this CA for client certificates and
// reads the caller's role from the OU and URI, so a node certificate can never pass as an
// operator's, nor one node's as another's.
//
// Layout of a CA directory (mode 0700; keys 0600, certificates 0644):
//   ca.key ca.crt                  the CA; ca.key is never overwritten
//   controller.key controller.crt  the controller's server certificate made by InitCa
//
// Example:
//   FB_RETURN_IF_ERROR(InitCa("/var/lib/fleetbond-controller/ca", "prod", {}));
//   FB_ASSIGN_OR_RETURN(IssuedFiles files,
//                       IssueNode("/var/lib/fleetbond-controller/ca", "0123456789", "/tmp/out"));
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/clock.h"

namespace fleetbond::tls {

inline constexpr absl::string_view kCaKeyFile = "ca.key";
inline constexpr absl::string_view kCaCertFile = "ca.crt";
inline constexpr absl::string_view kControllerKeyFile = "controller.key";
inline constexpr absl::string_view kControllerCertFile = "controller.crt";

// kCaValidity is how long the CA certificate is valid; kLeafValidity every issued certificate.
inline constexpr absl::Duration kCaValidity = absl::Hours(24 * 3650);
inline constexpr absl::Duration kLeafValidity = absl::Hours(24 * 365);
// kBackdate moves every notBefore into the past so that hosts whose clocks run a little behind
// accept a certificate issued a moment ago.
inline constexpr absl::Duration kBackdate = absl::Hours(1);

// kDefaultServerNames are always in the controller certificate InitCa makes, so a local demo
// works out of the box.
inline const std::vector<std::string>& DefaultServerNames() {
  static const auto* names = new std::vector<std::string>{"localhost", "127.0.0.1", "::1"};
  return *names;
}

// CaOptions adjusts InitCa.
struct CaOptions {
  // extra_server_names (DNS names or IP addresses) are added to the controller certificate's
  // subject alternative names after DefaultServerNames().
  std::vector<std::string> extra_server_names;
};

// IssuedFiles names the certificate and key files an Issue* call wrote.
struct IssuedFiles {
  std::string cert_file;
  std::string key_file;
};

// InitCa creates a new fleet CA in `dir` (created 0700 if missing): ca.key and ca.crt
// (CN "fleetbond CA <fleet_name>", CA:TRUE, keyCertSign, valid kCaValidity), and the controller's
// server certificate controller.crt/controller.key. It fails with AlreadyExists, changing nothing,
// when `dir` already holds a ca.key: a CA is never replaced by accident.
absl::Status InitCa(const std::string& dir, absl::string_view fleet_name,
                    const CaOptions& options = {}, const Clock& clock = SystemClock::Get());

// IssueNode writes out_dir/node-<id>.crt and node-<id>.key for `node_id` (10 lowercase hex
// digits, InvalidArgument otherwise), signed by the CA in `ca_dir`. Existing files of the same
// name are replaced (that is how a certificate is renewed).
absl::StatusOr<IssuedFiles> IssueNode(const std::string& ca_dir, absl::string_view node_id,
                                      const std::string& out_dir,
                                      const Clock& clock = SystemClock::Get());

// IssueOperator writes out_dir/operator-<name>.crt and .key (see ValidateOperatorName).
absl::StatusOr<IssuedFiles> IssueOperator(const std::string& ca_dir, absl::string_view name,
                                          const std::string& out_dir,
                                          const Clock& clock = SystemClock::Get());

// IssueServer writes out_dir/server-<first name>.crt and .key (':' in an IPv6 name becomes '-')
// for a controller reachable under `names` (DNS names or IP addresses; at least one).
absl::StatusOr<IssuedFiles> IssueServer(const std::string& ca_dir,
                                        const std::vector<std::string>& names,
                                        const std::string& out_dir,
                                        const Clock& clock = SystemClock::Get());

// IssueReplica writes out_dir/replica-<name>.crt and .key for the controller replica `name`
// (ValidateReplicaName), reachable under `names` (DNS names or IP addresses; at least one).
absl::StatusOr<IssuedFiles> IssueReplica(const std::string& ca_dir, absl::string_view name,
                                         const std::vector<std::string>& names,
                                         const std::string& out_dir,
                                         const Clock& clock = SystemClock::Get());

}  // namespace fleetbond::tls
