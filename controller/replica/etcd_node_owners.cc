#include "controller/replica/etcd_node_owners.h"

#include "absl/strings/str_format.h"

namespace fleetbond::controller {

absl::StatusOr<ReplicaAddress> EtcdNodeOwners::Owner(const std::string& node_id) {
  absl::StatusOr<EtcdOwnership::Owner> owner = ownership_.OwnerOf(node_id);
  if (!owner.ok()) return owner.status();
  if (owner->address.empty()) {
    return absl::UnavailableError(absl::StrFormat(
        "node %s is owned by replica %s, whose registration in etcd is gone (it is probably "
        "dying; the node will reconnect elsewhere)",
        node_id, owner->replica_id));
  }
  return ReplicaAddress{.replica = owner->replica_id, .address = owner->address};
}

}  // namespace fleetbond::controller
