// privilege.h
//
// DropPrivileges gives up what fleetbond-node no longer needs once its TUN is open and its sockets
// are bound. What stays is CAP_NET_ADMIN: routes and addresses change while the node runs, and a
// link that appears later gets a socket bound to its device. Every other capability leaves the
// effective, permitted, inheritable, ambient and (when CAP_SETPCAP allows it) bounding sets, and
// no_new_privs is set, so nothing the process could ever execute regains them. With a user, the
// process also switches to that user's uid and gid (PR_SET_KEEPCAPS carries CAP_NET_ADMIN across
// the switch).
//
// Capabilities are per thread: DropPrivileges must run while the process has one thread, before
// gRPC, the API or the agent start theirs (every thread created afterwards inherits the reduced
// sets). It refuses with FAILED_PRECONDITION otherwise.
//
// Example:
//   FB_ASSIGN_OR_RETURN(DroppedPrivileges dropped, DropPrivileges({.user = "fleetbond"}));
//   std::cerr << dropped.Describe() << "\n";
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace fleetbond::daemon {

// PrivilegeOptions says what DropPrivileges keeps.
struct PrivilegeOptions {
  // user, when not empty, is the account (name or numeric uid) to switch to; its primary group
  // becomes the process's only group.
  std::string user;
  // bind_privileged_port keeps CAP_NET_BIND_SERVICE: the data-plane port is below 1024, and links
  // appearing later bind it again.
  bool bind_privileged_port = false;
};

// DroppedPrivileges is what the process holds afterwards.
struct DroppedPrivileges {
  uint64_t kept = 0;              // capability mask left in the effective and permitted sets
  bool bounding_reduced = false;  // false: no CAP_SETPCAP, the bounding set is as it was
  uid_t uid = 0;
  gid_t gid = 0;

  // Describe is a one-line summary for the log: "capabilities cap_net_admin, uid 998, gid 998".
  std::string Describe() const;
};

// KeptCapabilities is the mask DropPrivileges keeps for `options` on this kernel: CAP_NET_ADMIN,
// CAP_NET_BIND_SERVICE when asked, and CAP_NET_RAW on kernels before 5.7, where SO_BINDTODEVICE
// needed it.
uint64_t KeptCapabilities(const PrivilegeOptions& options);

// DropPrivileges applies `options` to the calling (single-threaded) process. NOT_FOUND for an
// unknown user; FAILED_PRECONDITION when the process has several threads or may not switch users;
// the errno's status when a system call fails.
absl::StatusOr<DroppedPrivileges> DropPrivileges(const PrivilegeOptions& options);

}  // namespace fleetbond::daemon
