// agent.h
//
// ControllerAgent is the node's side of the controller session (proto/fleetbond/v1/session.proto,
// docs/agent.md). On a thread of its own it dials the controller, says Hello, and then:
//   ConfigPush -> JudgePush (push_applier.h) -> apply (settings, then directory), persist, Ack;
//                 or Nack with every error, keeping the settings in force
//   every metrics interval (the push's, 5 s before the first) -> MetricsReport
//   Command (rotate, get_bond) -> CommandResult with the google.rpc code of the outcome
// When the stream ends it dials again after a jittered exponential backoff (backoff.h), the next
// of its controllers, or the one the last controller redirected it to (controller_rotation.h); the
// node keeps forwarding on what it last applied meanwhile. The channel sends keep-alive pings, so a
// controller that vanished without closing the connection is noticed within about 20 s.
//
// Example:
//   ControllerAgent agent(options, local_conf, backend, control, SystemClock::Get());
//   agent.RestoreSavedPush();  // run on the persisted push at once
//   agent.Start();
//   ...
//   agent.Stop();
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "fleetbond/v1/session.grpc.pb.h"
#include "node/agent/backoff.h"
#include "node/agent/controller_rotation.h"
#include "node/agent/hello.h"
#include "node/agent/push_applier.h"
#include "node/agent/push_store.h"
#include "node/api/node_backend.h"
#include "node/daemon/data_plane.h"
#include "shared/clock.h"

namespace fleetbond::agent {

// NodeControl is what the agent changes and reads of the node beyond the local API's backend.
// DataPlaneControl implements it over the data plane; tests give a fake.
class NodeControl {
 public:
  virtual ~NodeControl() = default;
  // SetDirectory replaces the overlay address and the peers (DataPlane::SetDirectory).
  virtual void SetDirectory(daemon::StandaloneConfig directory) = 0;
  // Interfaces lists the host's interfaces, for the Hello.
  virtual std::vector<daemon::InterfaceState> Interfaces() = 0;
};

class DataPlaneControl : public NodeControl {
 public:
  explicit DataPlaneControl(daemon::DataPlane& dp) : dp_(dp) {}
  void SetDirectory(daemon::StandaloneConfig directory) override {
    dp_.SetDirectory(std::move(directory));
  }
  std::vector<daemon::InterfaceState> Interfaces() override { return dp_.Interfaces(); }

 private:
  daemon::DataPlane& dp_;
};

// kRedirectMetadataKey is the trailing metadata of a session's end in which a controller names the
// replica ("host:port") the node should dial next (replica.proto, "Redirect").
inline constexpr char kRedirectMetadataKey[] = "fleetbond-redirect";

struct AgentOptions {
  // controller is one "host:port" or several, comma-separated ("a:9900,b:9900"); a name may
  // resolve to several addresses (controller_rotation.h).
  std::string controller;
  // resolver turns controller names into addresses; null: the system's (getaddrinfo).
  Resolver* resolver = nullptr;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string home;  // where controller-state.pb lives
  HelloFacts hello;
  BackoffPolicy backoff;
  // Keep-alive: a ping after `keepalive_time` of silence, the connection dropped when it goes
  // unanswered for `keepalive_timeout`.
  absl::Duration keepalive_time = absl::Seconds(10);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  absl::Duration default_metrics_interval = absl::Milliseconds(5000);
  absl::Duration min_metrics_interval = absl::Milliseconds(100);
};

class ControllerAgent {
 public:
  // `local` is this node's local.conf (its links; may hold no settings at all).
  ControllerAgent(AgentOptions options, settings::LocalConf local, api::NodeBackend& backend,
                  NodeControl& control, Clock& clock);
  ~ControllerAgent();  // stops

  // RestoreSavedPush runs the node on the push saved by an earlier run, if any, before the
  // controller answers. A corrupt file, or a push this local.conf no longer merges with, is
  // logged and the node starts without it. Call before Start.
  void RestoreSavedPush();
  // Start starts the session thread; Stop ends the session and joins it.
  void Start();
  void Stop();

  // connected is true while a session stream is up.
  bool connected() const { return connected_.load(); }
  // acked_version is the version of the push the node runs on (0: none).
  uint64_t acked_version();
  // View is the session as the local API shows it.
  api::ControllerView View();

 private:
  using Stream = grpc::ClientReaderWriter<v1::NodeMessage, v1::ControllerMessage>;

  struct SessionEnd {
    bool acked = false;                   // the session acked a push
    std::optional<std::string> redirect;  // the controller's hint where to go next
  };

  void Run();
  // Session runs one stream with `controller` (its name, for logs) until it ends.
  SessionEnd Session(v1::NodeSession::Stub& stub, const std::string& controller);
  // SendMetrics sends a MetricsReport every metrics interval until the session ends.
  void SendMetrics(Stream& stream);
  absl::Duration MetricsIntervalLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Write(Stream& stream, const v1::NodeMessage& message);
  // HandlePush judges and applies a push; returns the answer to send (none for a stale push).
  std::optional<v1::NodeMessage> HandlePush(const v1::ConfigPush& push);
  v1::CommandResult HandleCommand(const v1::Command& command);
  // Apply runs the node on `applied` (settings, then directory) and, with `persist`, saves it.
  void Apply(AppliedPush applied, bool persist);
  v1::Bond BondView(const bond::BondSnapshot& snapshot, const settings::LocalConf& conf);
  v1::MetricsReport Metrics();

  const AgentOptions options_;
  const settings::LocalConf local_;
  api::NodeBackend& backend_;
  NodeControl& control_;
  Clock& clock_;
  PushStore store_;

  std::thread thread_;
  absl::Notification stop_;
  std::atomic<bool> connected_{false};
  absl::Mutex write_mu_;  // one writer at a time on the stream

  absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the session's, for Stop
  std::optional<v1::ConfigPush> acked_ ABSL_GUARDED_BY(mu_);
  std::optional<settings::SourceMap> sources_ ABSL_GUARDED_BY(mu_);
  std::vector<settings::Issue> warnings_ ABSL_GUARDED_BY(mu_);
  daemon::StandaloneConfig directory_ ABSL_GUARDED_BY(mu_);
  bool session_done_ ABSL_GUARDED_BY(mu_) = true;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // grows with every applied push
};

// ControllerModeBackend is the local API's backend of a node in controller mode: `inner`'s
// answers, plus the agent's view of the session (GetInfo, settings sources).
class ControllerModeBackend : public api::NodeBackend {
 public:
  ControllerModeBackend(api::NodeBackend& inner, ControllerAgent& agent)
      : inner_(inner), agent_(agent) {}

  std::vector<bond::BondSnapshot> Snapshots() override { return inner_.Snapshots(); }
  absl::StatusOr<bond::BondSnapshot> Snapshot(absl::string_view peer) override {
    return inner_.Snapshot(peer);
  }
  absl::StatusOr<bond::Rotation> Rotate(absl::string_view peer) override {
    return inner_.Rotate(peer);
  }
  void ApplySettings(settings::LoadedLocalConf settings) override {
    inner_.ApplySettings(std::move(settings));
  }
  settings::LocalConf CurrentSettings() override { return inner_.CurrentSettings(); }
  daemon::DataPlane::DropCounters Drops() override { return inner_.Drops(); }
  std::optional<api::ControllerView> Controller() override { return agent_.View(); }
  // The directory is the controller's: the node service refuses `settings apply` first.
  void SetDirectory(daemon::StandaloneConfig) override {}

 private:
  api::NodeBackend& inner_;
  ControllerAgent& agent_;
};

// MetricsCounters converts the data plane's drop counters for a MetricsReport.
v1::NodeCounters MetricsCounters(const daemon::DataPlane::DropCounters& drops);

}  // namespace fleetbond::agent
