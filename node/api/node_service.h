// node_service.h
//
// NodeServiceImpl is fleetbond.v1.Node, the node's local API (proto/fleetbond/v1/node.proto),
// over a NodeBackend. It runs on gRPC's threads and touches the data plane only through the
// backend's thread-safe calls. Errors keep their meaning on the wire:
//   unknown peer                                      -> NOT_FOUND
//   rotate on a bond that is not active-backup, or
//   with no other usable link                         -> FAILED_PRECONDITION, the engine's reason
//   ApplySettings with any error                      -> INVALID_ARGUMENT listing every error;
//                                                        nothing is applied
//
// Example:
//   DataPlaneBackend backend(*data_plane);
//   NodeServiceImpl service(backend, facts, settings::Source::kLocalConf);
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<ApiServer> server, ApiServer::Start(addr, {&service}));
//   ...
//   service.Stop();  // ends WatchBonds streams
//   server->Shutdown();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fleetbond/v1/node.grpc.pb.h"
#include "node/api/node_backend.h"
#include "node/daemon/standalone_config.h"
#include "shared/settings/effective_settings.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::api {

// NodeFacts are what does not change while a node runs.
struct NodeFacts {
  std::string id;          // 10 hex digits
  std::string public_key;  // base64
  std::string version;
  std::string overlay;  // "ip/prefix"
  std::string tun;
  uint32_t mtu = 0;
  uint16_t port = 0;
  std::vector<daemon::StaticPeer> peers;
  absl::Time started = absl::Now();
};

// Bounds of WatchBonds' interval.
inline constexpr absl::Duration kMinWatchInterval = absl::Milliseconds(100);
inline constexpr absl::Duration kDefaultWatchInterval = absl::Seconds(1);

class NodeServiceImpl final : public v1::Node::Service {
 public:
  // `source` is where the settings the node started with came from; `warnings` are theirs.
  NodeServiceImpl(NodeBackend& backend, NodeFacts facts, settings::Source source,
                  std::vector<settings::Issue> warnings);

  // Stop ends every WatchBonds stream (the node is stopping); later ones end at once.
  void Stop() { stopping_.Notify(); }

  grpc::Status ListBonds(grpc::ServerContext*, const v1::ListBondsRequest*,
                         v1::ListBondsResponse* response) override;
  grpc::Status GetBond(grpc::ServerContext*, const v1::GetBondRequest* request,
                       v1::Bond* response) override;
  grpc::Status RotateBond(grpc::ServerContext*, const v1::RotateBondRequest* request,
                          v1::RotateBondResponse* response) override;
  grpc::Status GetSettings(grpc::ServerContext*, const v1::GetSettingsRequest*,
                           v1::GetSettingsResponse* response) override;
  grpc::Status ApplySettings(grpc::ServerContext*, const v1::ApplySettingsRequest* request,
                             v1::ApplySettingsResponse* response) override;
  grpc::Status WatchBonds(grpc::ServerContext* context, const v1::WatchBondsRequest* request,
                          grpc::ServerWriter<v1::BondSnapshot>* writer) override;
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*,
                       v1::NodeInfo* response) override;
  grpc::Status ListPeers(grpc::ServerContext*, const v1::ListPeersRequest*,
                         v1::ListPeersResponse* response) override;

 private:
  // Bond converts a snapshot and marks the spare links of its policy.
  v1::Bond Bond(const bond::BondSnapshot& snapshot, const settings::LocalConf& conf) const;

  NodeBackend& backend_;
  const NodeFacts facts_;
  absl::Notification stopping_;
  absl::Mutex mu_;
  // A standalone node's overlay address and peers: facts_' at start, then what `settings apply`
  // set.
  daemon::StandaloneConfig directory_ ABSL_GUARDED_BY(mu_);
  settings::Source source_ ABSL_GUARDED_BY(mu_);
  std::vector<settings::Issue> warnings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fleetbond::api
