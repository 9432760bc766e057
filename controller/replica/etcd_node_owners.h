// etcd_node_owners.h
//
// EtcdNodeOwners answers NodeOwners (node_owners.h) from etcd: the owners/ and replicas/ keys
// that every replica's EtcdOwnership (controller/store/etcd_ownership.h) keeps under its lease.
// A node whose owner died is found by nobody once the dead replica's lease expired.
//
// Example:
//   EtcdNodeOwners owners(*ownership);
//   ReplicaForwarder forwarder(owners, client, {.self = "ctl-a"});
#pragma once

#include <string>

#include "controller/replica/node_owners.h"
#include "controller/store/etcd_ownership.h"

namespace fleetbond::controller {

class EtcdNodeOwners : public NodeOwners {
 public:
  explicit EtcdNodeOwners(EtcdOwnership& ownership) : ownership_(ownership) {}
  // Owner: NOT_FOUND when no replica holds the node; UNAVAILABLE when etcd cannot say, or when
  // the owner's registration (its address) is gone.
  absl::StatusOr<ReplicaAddress> Owner(const std::string& node_id) override;

 private:
  EtcdOwnership& ownership_;
};

}  // namespace fleetbond::controller
