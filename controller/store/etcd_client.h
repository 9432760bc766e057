// etcd_client.h
//
// EtcdClient is the controller's small client of etcd's v3 gRPC API (proto/etcd/): KV calls,
// leases and watches, over one channel per endpoint, with failover between the endpoints and
// optional TLS. It is what EtcdStore, EtcdSession and LeaderElection are built on.
//
// Every unary call has a deadline (`call_timeout`, 5 s by default) that spans failover: an
// endpoint that answers UNAVAILABLE (connection refused, no leader, restarting) is skipped and
// the next one tried, rounds repeating with a short backoff until the deadline. What then fails is
// UNAVAILABLE and names every endpoint with its last error. Other etcd errors are returned as
// etcd gave them, prefixed with the method ("etcd Txn: ...").
//
// Example:
//   FB_ASSIGN_OR_RETURN(EtcdOptions options, ParseEtcdUrl("etcd://10.0.0.1:2379,10.0.0.2:2379"));
//   FB_ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> etcd, EtcdClient::Create(options));
//   FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse r,
//   etcd->Get("/fleetbond/v1/settings/version"));
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "mvccpb/kv.pb.h"

namespace fleetbond::controller {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "host:port"
  // TLS when ca_file is set; cert_file and key_file (both or neither) authenticate us to etcd.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // How long one call may take, failover and retries included.
  absl::Duration call_timeout = absl::Seconds(5);
};

// ParseEtcdUrl turns "etcd://host:2379,host:2379" into options with those endpoints (a missing
// port is 2379). INVALID_ARGUMENT quoting the input otherwise.
absl::StatusOr<EtcdOptions> ParseEtcdUrl(absl::string_view url);

// PrefixEnd returns the range_end that makes a range cover every key starting with `prefix`.
std::string PrefixEnd(absl::string_view prefix);

class EtcdWatch;

class EtcdClient {
 public:
  // Create reads the TLS files and makes the channels; it does not connect (see WaitReachable).
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(EtcdOptions options);

  // WaitReachable tries a read until one succeeds or `timeout` passes, calling `progress` with
  // the last error after every failed round (about once a second).
  absl::Status WaitReachable(absl::Duration timeout,
                             const std::function<void(const absl::Status&)>& progress);

  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& request);
  // Get reads one key; RangePrefix every key starting with `prefix`, ascending.
  absl::StatusOr<etcdserverpb::RangeResponse> Get(absl::string_view key);
  absl::StatusOr<etcdserverpb::RangeResponse> RangePrefix(absl::string_view prefix);
  absl::StatusOr<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& request);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> DeleteRange(
      const etcdserverpb::DeleteRangeRequest& request);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request);

  // LeaseGrant returns the ID of a new lease of `ttl_seconds`.
  absl::StatusOr<int64_t> LeaseGrant(int64_t ttl_seconds);
  absl::Status LeaseRevoke(int64_t id);
  // LeaseKeepAliveOnce renews the lease and returns its new TTL; NOT_FOUND when it is gone.
  absl::StatusOr<int64_t> LeaseKeepAliveOnce(int64_t id);

  // Watch reports every event on [key, range_end) from `start_revision` (0: from now) to
  // `on_events` on a thread of its own, reconnecting (from the revision after the last one seen)
  // until the returned watch is destroyed. When etcd compacted the revisions it needed,
  // `on_events` gets `resync` true with no events: the caller must re-read what it watches. The
  // watch then resumes from the oldest revision etcd kept, so events may follow that the re-read
  // already saw (their mod_revision is at or below the read's revision), but none is missed.
  using WatchCallback =
      std::function<void(const std::vector<mvccpb::Event>& events, int64_t revision, bool resync)>;
  std::unique_ptr<EtcdWatch> Watch(std::string key, std::string range_end, int64_t start_revision,
                                   WatchCallback on_events);

  const EtcdOptions& options() const { return options_; }

 private:
  friend class EtcdWatch;
  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  };

  explicit EtcdClient(EtcdOptions options) : options_(std::move(options)) {}

  // Call runs `attempt` against the endpoints as the banner describes, for `timeout` (default
  // call_timeout). `idempotent` calls are also retried after an attempt's deadline passed (a
  // write might then have applied).
  absl::Status Call(absl::string_view method, bool idempotent,
                    const std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>& attempt,
                    std::optional<absl::Duration> timeout = std::nullopt);

  const EtcdOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> current_{0};  // the endpoint that answered last
};

// EtcdWatch is one running watch (EtcdClient::Watch); destroying it stops the watch.
class EtcdWatch {
 public:
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

 private:
  friend class EtcdClient;
  EtcdWatch(EtcdClient& client, std::string key, std::string range_end, int64_t start_revision,
            EtcdClient::WatchCallback on_events);
  void Run();

  EtcdClient& client_;
  const std::string key_;
  const std::string range_end_;
  const EtcdClient::WatchCallback on_events_;
  int64_t next_revision_;  // only the thread touches it
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace fleetbond::controller
