// fleet.h
//
// Fleet is the controller's state and the logic of its node sessions, with no gRPC in it: the
// services (session_service.h, fleet_service.h) translate streams and calls into these methods,
// and tests drive it directly with a FakeClock and fake sessions.
//
// What a node sees is its *view*: its settings (SettingsForNode over the stored documents and
// its labels), its overlay address, the metrics interval, and the peer directory (every other
// registered node with a lease: id, key, overlay address, endpoints). A node gets a ConfigPush
// only when its view differs from the one it acked:
//
//   - After a change (settings stored, a node joining or changing endpoints), pushes wait until
//     the fleet has been quiet for `debounce` (200 ms), but never longer than `max_delay` (1 s)
//     after the first change, so a burst of edits becomes one push per node.
//   - First pushes after a node connects are not debounced but pass a token bucket
//     (`connect_rate` per second, `connect_burst`), so a mass reconnect does not stampede.
//   - One push per node is in flight at a time; what changes meanwhile goes out after its Ack.
//     Fleet-wide, at most `push_budget_bytes` of pushes are in flight; the rest wait their turn.
//   - A NACKed view is not pushed again; the next change makes a new view and a new version.
//   - The directory travels as a delta against the node's acked directory when the controller
//     knows it (PEERS_UNCHANGED / PEERS_DELTA), else whole.
//
// Versions come from Store::ReserveVersions (in blocks), so they only grow, across restarts.
// Registry updates (acks, last seen) are written to the store in batches every second; leases
// are written before the push that hands them out.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/fleet_settings.h"
#include "controller/store/store.h"
#include "fleetbond/v1/controller.pb.h"
#include "fleetbond/v1/session.pb.h"
#include "shared/clock.h"

namespace fleetbond::controller {

// SessionSink is how Fleet talks to one node's stream. Send never blocks (it queues); Close ends
// the stream with `status`. Both may be called after the stream ended (they do nothing then).
class SessionSink {
 public:
  virtual ~SessionSink() = default;
  virtual void Send(const v1::ControllerMessage& message) = 0;
  virtual void Close(const absl::Status& status) = 0;
};

// kRedirectPayload is the absl::Status payload with which Fleet names another replica
// ("host:port") when it refuses or ends a session because it drains; the session service sends
// it to the node as the trailing metadata `fleetbond-redirect` (replica.proto, "Redirect").
inline constexpr char kRedirectPayload[] = "fleetbond-redirect";

// FleetObserver hears what the controller's own metrics count, and which node sessions this
// controller holds (a replicated store records that as the node's owner). Calls come with Fleet's
// lock held: they must be quick and must not call back into Fleet.
class FleetObserver {
 public:
  virtual ~FleetObserver() = default;
  // OnSessionOpened: this controller now holds `node_id`'s session (also when a newer session of
  // the node replaced an older one). OnSessionClosed: it no longer holds one.
  virtual void OnSessionOpened(const std::string& node_id) { (void)node_id; }
  virtual void OnSessionClosed(const std::string& node_id) { (void)node_id; }
  virtual void OnPush() {}
  virtual void OnAck(absl::Duration push_to_ack) { (void)push_to_ack; }
  virtual void OnNack() {}
  virtual void OnSessions(int64_t connected) { (void)connected; }
  virtual void OnSettingsVersion(uint64_t version) { (void)version; }
  virtual void OnPendingPushes(int64_t pending) { (void)pending; }
};

struct FleetOptions {
  std::string overlay_prefix = "10.147.0.0/16";
  absl::Duration debounce = absl::Milliseconds(200);
  absl::Duration max_delay = absl::Seconds(1);
  double connect_rate = 500;  // first pushes per second after connects
  int connect_burst = 200;
  uint32_t metrics_interval_ms = 5000;
  absl::Duration command_timeout = absl::Seconds(10);
  absl::Duration registry_flush = absl::Seconds(1);
  size_t event_backlog = 1024;  // events kept per watcher before the oldest are dropped
  // Bytes of pushes sent but not yet answered, fleet-wide. Beyond it, pushes wait for answers:
  // a mass reconnect of a large fleet (whole directories of N entries to N nodes) cannot then
  // pile gigabytes into gRPC's send buffers faster than nodes read them.
  size_t push_budget_bytes = 64 << 20;
};

// NodeSnapshot is what the operator API shows of one node.
struct NodeSnapshot {
  NodeRecord record;
  std::string overlay;  // bare IP; "" before the first lease
  bool connected = false;
  uint64_t desired_version = 0;
  std::shared_ptr<const v1::MetricsReport> report;
  uint64_t nacks = 0;
};

class Fleet {
 public:
  static absl::StatusOr<std::unique_ptr<Fleet>> Create(Store& store, Clock& clock,
                                                       FleetOptions options);
  ~Fleet();

  // --- sessions (the NodeSession service) ---
  // Connect checks a Hello (id is the hash of the key, fields well formed), registers the node
  // and queues its first push. The caller has checked the TLS identity. A second session of the
  // same node replaces the first, which is closed. Returns a session number for the calls below.
  absl::StatusOr<uint64_t> Connect(const v1::Hello& hello, std::shared_ptr<SessionSink> sink);
  // OnMessage handles every later message of the stream; an error closes the session.
  absl::Status OnMessage(const std::string& node_id, uint64_t session, const v1::NodeMessage& m);
  // Disconnect: the stream ended. Pending commands of the session fail with UNAVAILABLE.
  void Disconnect(const std::string& node_id, uint64_t session);
  // HasSession says whether this controller holds a session of `node_id` now.
  bool HasSession(const std::string& node_id);

  // Drain makes this controller give its nodes to other replicas: from now on Connect refuses
  // with UNAVAILABLE, and every running session is closed with UNAVAILABLE. Both statuses carry
  // the redirect hint (kRedirectPayload) `redirects[i % size]`, in turn, so the nodes spread over
  // the replicas named; none when `redirects` is empty. Returns the number of sessions closed.
  // Calling it again replaces the redirects (and closes any session opened meanwhile: none).
  size_t Drain(std::vector<std::string> redirects);
  bool draining();

  // Pump does what is due (pushes, registry flush) and returns when it next needs to run.
  // Start runs it on a thread of its own (with the real clock); tests call Pump directly.
  absl::Time Pump();
  void Start();
  void Stop();  // also flushes the registry
  // Wake makes the Start thread run Pump now (after a change).
  void Wake();

  // --- settings (the Fleet service) ---
  // Every change is validated (ValidateDocuments) before it is stored: INVALID_ARGUMENT whose
  // message lists every error, with the issues in `issues` when given. ABORTED on a version
  // conflict. Returns the new fleet settings version.
  struct Settings {
    uint64_t version = 0;
    std::map<std::string, v1::Settings> scopes;
  };
  Settings GetSettings();
  absl::StatusOr<uint64_t> ReplaceScope(const std::string& scope, const v1::Settings& document,
                                        uint64_t expected_version, const std::string& author,
                                        std::vector<settings::Issue>* issues = nullptr);
  // EditScope applies `edit` to a copy of the scope's document (empty when absent) and stores it
  // as ReplaceScope does; an edit that returns an error changes nothing.
  absl::StatusOr<uint64_t> EditScope(const std::string& scope, uint64_t expected_version,
                                     const std::string& author,
                                     const std::function<absl::Status(v1::Settings&)>& edit,
                                     std::vector<settings::Issue>* issues = nullptr);
  // OnStoredSettings: the store reports (Store::WatchSettings) that settings are at `version`;
  // when that is newer than what this Fleet holds (stored through another controller replica),
  // it reloads them and pushes to its nodes as after a change of its own.
  void OnStoredSettings(uint64_t version);
  // OnStoredNodes: the store reports (Store::WatchNodes) registry changes, most of them made
  // through other controller replicas. A node whose session this Fleet holds, or whose record it
  // has yet to flush, is left as it is (this Fleet's copy is the newer; the report is mostly an
  // echo of its own write). Every other node takes the stored record and overlay address, and its
  // peers get a push only when what the directory shows of it (key, endpoints, overlay address)
  // changed: a flush that moves only its last-seen time changes nothing. A deleted node (expired
  // by the leader) is dropped and leaves the directories of this Fleet's nodes.
  void OnStoredNodes(const RegistryUpdate& update);
  // Validate judges `document` as if it replaced `scope`, storing nothing.
  std::vector<settings::Issue> Validate(const std::string& scope, const v1::Settings& document);

  // --- nodes ---
  std::vector<NodeSnapshot> Nodes(const LabelSelector& selector);
  absl::StatusOr<NodeSnapshot> Node(const std::string& id);
  // SendCommand sends a command down the node's session and calls `done` with its result (or
  // UNAVAILABLE when the node is offline or goes away, DEADLINE_EXCEEDED after command_timeout).
  // `done` runs on another thread, without Fleet's lock.
  void SendCommand(const std::string& node_id, v1::Command command,
                   std::function<void(absl::StatusOr<v1::CommandResult>)> done);

  // --- events ---
  class EventQueue;
  // Watch returns a queue of events from now on (node_id "" = every node). Dropping it
  // unsubscribes.
  std::shared_ptr<EventQueue> Watch(const std::string& node_id);

  // SetObserver sets the one observer (nullptr: none); it hears of the sessions open already.
  void SetObserver(FleetObserver* observer);
  Clock& clock() { return clock_; }
  const FleetOptions& options() const { return options_; }

 private:
  struct NodeState;
  struct PendingCommand {
    std::string node_id;
    uint64_t session = 0;
    absl::Time deadline;
    std::function<void(absl::StatusOr<v1::CommandResult>)> done;
  };
  using Callback = std::function<void()>;

  Fleet(Store& store, Clock& clock, FleetOptions options);
  absl::Status Load();

  // EditScopeAttempt is EditScope's body; `attempt` counts catch-ups with other replicas.
  absl::StatusOr<uint64_t> EditScopeAttempt(const std::string& scope, uint64_t expected_version,
                                            const std::string& author,
                                            const std::function<absl::Status(v1::Settings&)>& edit,
                                            std::vector<settings::Issue>* issues, int attempt);
  absl::StatusOr<uint64_t> StoreScope(const std::string& scope,
                                      const std::optional<v1::Settings>& document,
                                      uint64_t expected_version, const std::string& author,
                                      std::vector<settings::Issue>* issues);
  void MarkAllDirty(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DirectoryChanged(const std::string& id, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ApplyStoredNode applies one change of OnStoredNodes; `now` as DirectoryChanged.
  void ApplyStoredNode(const NodeChange& change, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RemoveNode forgets a node that has no session here; if it was in the directory, it leaves a
  // tombstone, so the nodes holding it get it in removed_peers.
  void RemoveNode(const std::string& id, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushIfNeeded(NodeState& node, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NextVersion is the next push version, above `above` (the version the node acked last) unless
  // that lies implausibly far ahead (see fleet.cc).
  absl::StatusOr<uint64_t> NextVersion(uint64_t above) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::PeerEntry EntryFor(const NodeState& node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string OverlayWithPrefix(const std::string& ip) const;
  void Emit(v1::FleetEvent::Kind kind, const std::string& node_id, std::string detail,
            uint64_t version = 0, std::string peer = "") ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleAck(NodeState& node, uint64_t version, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleNack(NodeState& node, const v1::Nack& nack, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleMetrics(NodeState& node, const v1::MetricsReport& report)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportGauges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EndInflight forgets the node's push in flight (answered, lost or timed out).
  void EndInflight(NodeState& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  NodeSnapshot SnapshotOf(const NodeState& node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunCallbacks(std::vector<Callback>& callbacks);
  // DrainStatus is UNAVAILABLE with the next redirect hint.
  absl::Status DrainStatus(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store& store_;
  Clock& clock_;
  const FleetOptions options_;

  absl::Mutex mu_;
  FleetObserver* observer_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> redirects_ ABSL_GUARDED_BY(mu_);
  uint64_t next_redirect_ ABSL_GUARDED_BY(mu_) = 0;
  Settings settings_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<NodeState>> nodes_ ABSL_GUARDED_BY(mu_);
  uint64_t next_session_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t connected_ ABSL_GUARDED_BY(mu_) = 0;

  // Push versions: [next_version_, version_last_] is reserved in the store (none while
  // next_version_ > version_last_).
  uint64_t next_version_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t version_last_ ABSL_GUARDED_BY(mu_) = 0;

  // The peer directory's change log: every registry change that others see bumps dir_revision_;
  // a node's entry remembers the revision of its last change, removals leave a tombstone (until
  // the node comes back).
  uint64_t dir_revision_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, uint64_t> tombstones_ ABSL_GUARDED_BY(mu_);

  // Debounce: nodes with a changed view, and when their push may go.
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> first_change_ ABSL_GUARDED_BY(mu_);
  absl::Time last_change_ ABSL_GUARDED_BY(mu_);
  // First pushes after connect, in arrival order, through a token bucket.
  std::deque<std::string> connect_queue_ ABSL_GUARDED_BY(mu_);
  // The store failed to lease addresses: the queue waits until then (kLeaseRetry).
  absl::Time lease_retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time tokens_at_ ABSL_GUARDED_BY(mu_);
  absl::Time next_flush_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> unsaved_ ABSL_GUARDED_BY(mu_);
  // Bytes of pushes in flight, and the nodes whose push waits for them to be answered.
  size_t inflight_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> waiting_ ABSL_GUARDED_BY(mu_);
  // Directory entries by the revision of their last change (each node once).
  std::map<uint64_t, std::string> changes_ ABSL_GUARDED_BY(mu_);

  uint64_t next_command_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, PendingCommand> commands_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<EventQueue>> watchers_ ABSL_GUARDED_BY(mu_);

  // The Start thread.
  absl::Mutex run_mu_;
  bool running_ ABSL_GUARDED_BY(run_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(run_mu_) = false;
  bool wake_ ABSL_GUARDED_BY(run_mu_) = false;
  absl::CondVar run_cv_;
  std::unique_ptr<std::thread> thread_;
};

// EventQueue is one watcher's backlog of events.
class Fleet::EventQueue {
 public:
  EventQueue(std::string node_id, size_t limit) : node_id_(std::move(node_id)), limit_(limit) {}
  // Next waits up to `timeout` for an event; nullopt on timeout.
  std::optional<v1::FleetEvent> Next(absl::Duration timeout);
  uint64_t dropped() const;

 private:
  friend class Fleet;
  void Push(const v1::FleetEvent& event);

  const std::string node_id_;
  const size_t limit_;
  mutable absl::Mutex mu_;
  std::deque<v1::FleetEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fleetbond::controller
