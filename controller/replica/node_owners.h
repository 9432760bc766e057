// node_owners.h
//
// Which controller replica holds a node's session (its *owner*), so that a command for the node
// arriving at another replica can be forwarded there (command_forwarder.h). NodeOwners is the
// seam: the etcd store records ownership under each replica's lease and implements it there;
// StaticNodeOwners (in memory) and FileNodeOwners (a text file) serve tests and small setups
// without etcd.
//
// The owners file (`fleetbond-controller --replica-owners FILE`) has one node per line:
//   # node id    replica   its address for ForwardCommand
//   0123456789   ctl-a     ctl-a.example:9900
// Blank lines and `#` comments are allowed. The file is read again at every lookup, so it can be
// rewritten while the replicas run.
//
// Example:
//   StaticNodeOwners owners;
//   owners.Set("0123456789", {"ctl-a", "ctl-a.example:9900"});
//   absl::StatusOr<ReplicaAddress> owner = owners.Owner("0123456789");
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace fleetbond::controller {

// ReplicaAddress names a controller replica and where other replicas reach it.
struct ReplicaAddress {
  std::string replica;  // its name (its replica certificate's, ca issue --replica NAME)
  std::string address;  // "host:port" of its gRPC port (fleetbond.v1.Replica)
  bool operator==(const ReplicaAddress&) const = default;
};

class NodeOwners {
 public:
  virtual ~NodeOwners() = default;
  // Owner returns the replica that holds `node_id`'s session; NotFound when none is recorded,
  // another error when the record cannot be read.
  virtual absl::StatusOr<ReplicaAddress> Owner(const std::string& node_id) = 0;
};

// StaticNodeOwners is a map in memory. Thread-safe.
class StaticNodeOwners : public NodeOwners {
 public:
  void Set(const std::string& node_id, ReplicaAddress owner);
  void Remove(const std::string& node_id);
  absl::StatusOr<ReplicaAddress> Owner(const std::string& node_id) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, ReplicaAddress> owners_ ABSL_GUARDED_BY(mu_);
};

// ParseOwners parses the owners file format above; InvalidArgument naming the first bad line.
absl::StatusOr<std::map<std::string, ReplicaAddress>> ParseOwners(absl::string_view text);

// FileNodeOwners reads an owners file at every lookup.
class FileNodeOwners : public NodeOwners {
 public:
  explicit FileNodeOwners(std::string path) : path_(std::move(path)) {}
  // Check reads the file once, so that main can refuse a bad one before it serves.
  absl::Status Check();
  absl::StatusOr<ReplicaAddress> Owner(const std::string& node_id) override;

 private:
  const std::string path_;
};

}  // namespace fleetbond::controller
