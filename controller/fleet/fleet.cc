#include "controller/fleet/fleet.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "node/transport/udp_socket.h"
#include "shared/identity/identity.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {
namespace {

constexpr uint64_t kVersionBlock = 1024;
// How far above this replica's versions a node's acked version is followed (NextVersion).
constexpr uint64_t kMaxVersionSkip = uint64_t{1} << 32;

// NextNodeSerial numbers NodeStates, so that work begun on one outside the lock (a lease) is not
// applied to another made for the same node meanwhile (removed, then connected again).
uint64_t NextNodeSerial() {
  static std::atomic<uint64_t> next{1};
  return next++;
}
constexpr absl::Duration kPushTimeout = absl::Seconds(30);
// After the store failed to lease overlay addresses (etcd unreachable, a full disk), the connect
// queue waits this long before it tries again.
constexpr absl::Duration kLeaseRetry = absl::Seconds(1);

// DeterministicBytes serializes `m` with map entries in key order, so equal messages give equal
// bytes.
std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }  // the coded stream flushes into `bytes` when it goes
  return bytes;
}

// IsEndpoint accepts a data-plane endpoint in local.conf's "ip/port" form only.
bool IsEndpoint(absl::string_view text) {
  return absl::StrContains(text, '/') && transport::Endpoint::Parse(text).ok();
}

absl::Status CheckHello(const v1::Hello& hello) {
  FB_ASSIGN_OR_RETURN(NodeId id, NodeId::Parse(hello.node_id()));
  if (hello.public_key().size() != kPublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("hello: public key has ", hello.public_key().size(), " bytes, not 32"));
  }
  PublicKey key;
  std::copy(hello.public_key().begin(), hello.public_key().end(), key.begin());
  FB_RETURN_IF_ERROR(VerifyPeerId(id, key));
  if (hello.node_id() != id.ToString()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hello: node id \"", hello.node_id(), "\" must be lowercase"));
  }
  std::vector<std::string> terms;
  for (const auto& [k, v] : hello.labels()) terms.push_back(absl::StrCat(k, "=", v));
  if (!terms.empty()) {
    absl::StatusOr<Labels> parsed = ParseLabels(absl::StrJoin(terms, ","));
    if (!parsed.ok())
      return absl::InvalidArgumentError(absl::StrCat("hello: ", parsed.status().message()));
  }
  for (const v1::Interface& i : hello.interfaces()) {
    for (const std::string& e : i.endpoints()) {
      if (!IsEndpoint(e)) {
        return absl::InvalidArgumentError(
            absl::StrCat("hello: interface ", i.name(), ": endpoint \"", e, "\" is not ip/port"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct Fleet::NodeState {
  const uint64_t serial = NextNodeSerial();
  NodeRecord record;
  std::string overlay;   // bare IP, "" before the lease
  uint64_t changed = 0;  // directory revision of its last visible change

  std::shared_ptr<SessionSink> sink;
  uint64_t session = 0;

  // What the node runs: the view it acked ("" unknown) and the directory revision it holds.
  std::string acked_view;
  uint64_t acked_dir = 0;
  // The push in flight, if any.
  uint64_t inflight = 0;
  absl::Time inflight_at;
  std::string inflight_view;
  uint64_t inflight_dir = 0;
  size_t inflight_bytes = 0;
  // A view it refused: not pushed again.
  std::string nacked_view;

  uint64_t desired_version = 0;
  uint64_t nacks = 0;
  bool queued = false;         // waiting in the connect queue
  bool lease_failing = false;  // its leases fail, and an event said so (once per session)
  std::shared_ptr<const v1::MetricsReport> report;
  std::map<std::string, uint64_t> failovers;  // per peer, from the last report

  bool connected() const { return sink != nullptr; }
};

absl::StatusOr<std::unique_ptr<Fleet>> Fleet::Create(Store& store, Clock& clock,
                                                     FleetOptions options) {
  std::unique_ptr<Fleet> fleet(new Fleet(store, clock, std::move(options)));
  FB_RETURN_IF_ERROR(fleet->Load());
  // Settings stored through another controller replica reach this one's nodes too.
  Fleet* self = fleet.get();
  FB_RETURN_IF_ERROR(
      store.WatchSettings([self](uint64_t version) { self->OnStoredSettings(version); }));
  // So do nodes registered through it, with their overlay addresses: the directory is the same
  // on every replica. The watch's first report (the whole registry, read after Load) covers what
  // changed between Load and the watch's start.
  FB_RETURN_IF_ERROR(
      store.WatchNodes([self](const RegistryUpdate& update) { self->OnStoredNodes(update); }));
  return fleet;
}

Fleet::Fleet(Store& store, Clock& clock, FleetOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

Fleet::~Fleet() {
  store_.StopWatchingSettings();
  store_.StopWatchingNodes();
  Stop();
}

absl::Status Fleet::Load() {
  FB_ASSIGN_OR_RETURN(SettingsDocuments docs, store_.LoadSettings());
  FB_ASSIGN_OR_RETURN(std::vector<NodeRecord> records, store_.LoadNodes());
  FB_ASSIGN_OR_RETURN(auto leases, store_.Leases());
  absl::MutexLock lock(&mu_);
  settings_.version = docs.version;
  settings_.scopes = std::move(docs.scopes);
  for (NodeRecord& r : records) {
    auto node = std::make_unique<NodeState>();
    if (auto it = leases.find(r.id); it != leases.end()) node->overlay = it->second;
    node->changed = ++dir_revision_;
    changes_[node->changed] = r.id;
    std::string id = r.id;
    node->record = std::move(r);
    nodes_[id] = std::move(node);
  }
  const absl::Time now = clock_.Now();
  tokens_ = options_.connect_burst;
  tokens_at_ = now;
  next_flush_ = now + options_.registry_flush;
  return absl::OkStatus();
}

void Fleet::SetObserver(FleetObserver* observer) {
  absl::MutexLock lock(&mu_);
  observer_ = observer;
  if (observer_ != nullptr) {
    observer_->OnSettingsVersion(settings_.version);
    for (const auto& [id, node] : nodes_) {
      if (node->connected()) observer_->OnSessionOpened(id);
    }
    ReportGauges();
  }
}

// --- sessions ---

absl::StatusOr<uint64_t> Fleet::Connect(const v1::Hello& hello, std::shared_ptr<SessionSink> sink) {
  FB_RETURN_IF_ERROR(CheckHello(hello));
  std::vector<Callback> callbacks;
  std::shared_ptr<SessionSink> replaced;
  uint64_t session = 0;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) return DrainStatus("refuses new sessions");
    const absl::Time now = clock_.Now();
    std::unique_ptr<NodeState>& slot = nodes_[hello.node_id()];
    bool is_new = slot == nullptr;
    if (is_new) {
      slot = std::make_unique<NodeState>();
      slot->record.id = hello.node_id();
      slot->record.first_seen_unix_ms = absl::ToUnixMillis(now);
      tombstones_.erase(hello.node_id());  // expired, and back
    }
    NodeState& node = *slot;
    if (node.connected()) {
      replaced = std::move(node.sink);
      for (auto it = commands_.begin(); it != commands_.end();) {
        if (it->second.node_id == node.record.id && it->second.session == node.session) {
          auto done = std::move(it->second.done);
          callbacks.push_back([done = std::move(done)] {
            done(absl::UnavailableError("the node reconnected before answering"));
          });
          it = commands_.erase(it);
        } else {
          ++it;
        }
      }
      --connected_;
    }
    NodeRecord before = node.record;
    node.record.public_key = hello.public_key();
    node.record.labels = Labels(hello.labels().begin(), hello.labels().end());
    node.record.endpoints.clear();
    for (const v1::Interface& i : hello.interfaces()) {
      for (const std::string& e : i.endpoints()) node.record.endpoints.push_back(e);
    }
    std::sort(node.record.endpoints.begin(), node.record.endpoints.end());
    node.record.software_version = hello.software_version();
    node.record.last_seen_unix_ms = absl::ToUnixMillis(now);
    if (is_new || before.public_key != node.record.public_key ||
        before.endpoints != node.record.endpoints) {
      DirectoryChanged(node.record.id, now);
    }
    // A node that runs what this controller last saw it ack keeps it; otherwise (a restart on
    // either side) what it runs is unknown and it gets its whole view.
    if (hello.last_acked_version() == 0 ||
        hello.last_acked_version() != node.record.acked_version) {
      node.acked_view.clear();
      node.acked_dir = 0;
    }
    node.record.acked_version = hello.last_acked_version();
    EndInflight(node);
    node.sink = std::move(sink);
    node.lease_failing = false;
    session = node.session = next_session_++;
    ++connected_;
    unsaved_.insert(node.record.id);
    if (!node.queued) {
      node.queued = true;
      connect_queue_.push_back(node.record.id);
    }
    if (observer_) observer_->OnSessionOpened(node.record.id);
    Emit(v1::FleetEvent::KIND_CONNECTED, node.record.id,
         absl::StrCat("software ", hello.software_version(), ", ", node.record.endpoints.size(),
                      " endpoint(s)"));
    ReportGauges();
  }
  if (replaced) replaced->Close(absl::AbortedError("replaced by a newer session of the same node"));
  RunCallbacks(callbacks);
  Wake();
  return session;
}

absl::Status Fleet::OnMessage(const std::string& node_id, uint64_t session,
                              const v1::NodeMessage& m) {
  std::vector<Callback> callbacks;
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second->session != session || !it->second->connected()) {
      return absl::AbortedError("session is no longer current");
    }
    NodeState& node = *it->second;
    const absl::Time now = clock_.Now();
    node.record.last_seen_unix_ms = absl::ToUnixMillis(now);
    switch (m.kind_case()) {
      case v1::NodeMessage::kHello:
        return absl::FailedPreconditionError("hello sent twice");
      case v1::NodeMessage::kAck:
        HandleAck(node, m.ack().version(), now);
        wake = !waiting_.empty();  // the budget it freed may send a waiting push
        break;
      case v1::NodeMessage::kNack:
        HandleNack(node, m.nack(), now);
        wake = !waiting_.empty();
        break;
      case v1::NodeMessage::kMetrics:
        HandleMetrics(node, m.metrics());
        break;
      case v1::NodeMessage::kCommandResult: {
        auto c = commands_.find(m.command_result().id());
        if (c == commands_.end() || c->second.node_id != node_id) break;  // late: timed out
        auto done = std::move(c->second.done);
        commands_.erase(c);
        callbacks.push_back([done = std::move(done), r = m.command_result()] { done(r); });
        break;
      }
      case v1::NodeMessage::KIND_NOT_SET:
        return absl::InvalidArgumentError("empty message");
    }
  }
  RunCallbacks(callbacks);
  if (wake) Wake();
  return absl::OkStatus();
}

void Fleet::Disconnect(const std::string& node_id, uint64_t session) {
  std::vector<Callback> callbacks;
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second->session != session || !it->second->connected()) return;
    NodeState& node = *it->second;
    node.sink = nullptr;
    EndInflight(node);
    node.report = nullptr;
    --connected_;
    if (observer_) observer_->OnSessionClosed(node_id);
    node.record.last_seen_unix_ms = absl::ToUnixMillis(clock_.Now());
    unsaved_.insert(node_id);
    for (auto c = commands_.begin(); c != commands_.end();) {
      if (c->second.node_id == node_id && c->second.session == session) {
        auto done = std::move(c->second.done);
        callbacks.push_back([done = std::move(done)] {
          done(absl::UnavailableError("the node disconnected before answering"));
        });
        c = commands_.erase(c);
      } else {
        ++c;
      }
    }
    Emit(v1::FleetEvent::KIND_DISCONNECTED, node_id, "session ended");
    ReportGauges();
  }
  RunCallbacks(callbacks);
}

bool Fleet::HasSession(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  return it != nodes_.end() && it->second->connected();
}

absl::Status Fleet::DrainStatus(absl::string_view what) {
  absl::Status status = absl::UnavailableError(
      absl::StrCat("this controller replica is draining and ", what,
                   redirects_.empty() ? "; try another replica" : "; try the one named"));
  if (!redirects_.empty()) {
    const std::string& to = redirects_[next_redirect_++ % redirects_.size()];
    status = absl::UnavailableError(
        absl::StrCat("this controller replica is draining and ", what, "; go to ", to));
    status.SetPayload(kRedirectPayload, absl::Cord(to));
  }
  return status;
}

size_t Fleet::Drain(std::vector<std::string> redirects) {
  std::vector<std::pair<std::shared_ptr<SessionSink>, absl::Status>> closing;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    redirects_ = std::move(redirects);
    for (const auto& [id, node] : nodes_) {
      if (node->connected()) closing.emplace_back(node->sink, DrainStatus("ends its sessions"));
    }
  }
  // Outside the lock: a sink may finish the stream at once, and its end calls Disconnect.
  for (auto& [sink, status] : closing) sink->Close(status);
  return closing.size();
}

bool Fleet::draining() {
  absl::MutexLock lock(&mu_);
  return draining_;
}

void Fleet::HandleAck(NodeState& node, uint64_t version, absl::Time now) {
  if (version == 0 || version != node.inflight) return;  // not the push in flight: ignore
  if (observer_) observer_->OnAck(now - node.inflight_at);
  node.acked_view = std::move(node.inflight_view);
  node.acked_dir = node.inflight_dir;
  node.record.acked_version = version;
  EndInflight(node);
  unsaved_.insert(node.record.id);
  Emit(v1::FleetEvent::KIND_ACKED, node.record.id, absl::StrCat("version ", version), version);
  PushIfNeeded(node, now);  // what changed while it was in flight
}

void Fleet::HandleNack(NodeState& node, const v1::Nack& nack, absl::Time now) {
  if (nack.version() == 0 || nack.version() != node.inflight) return;
  std::vector<std::string> errors;
  bool directory_only = nack.errors_size() > 0;
  for (const v1::SettingsIssue& e : nack.errors()) {
    errors.push_back(e.path().empty() ? e.message() : absl::StrCat(e.path(), ": ", e.message()));
    if (e.path() != "peers") directory_only = false;
  }
  ++node.nacks;
  if (observer_) observer_->OnNack();
  node.record.nacked_version = nack.version();
  node.record.last_nack_error = absl::StrJoin(errors, "; ");
  EndInflight(node);
  unsaved_.insert(node.record.id);
  Emit(v1::FleetEvent::KIND_NACKED, node.record.id, node.record.last_nack_error, nack.version());
  if (directory_only) {
    // The node does not hold the directory the delta was made against: send it whole.
    node.acked_dir = 0;
    PushIfNeeded(node, now);
  } else {
    node.nacked_view = std::move(node.inflight_view);
  }
}

void Fleet::HandleMetrics(NodeState& node, const v1::MetricsReport& report) {
  for (const v1::Bond& b : report.bonds()) {
    const std::string& peer = b.summary().peer();
    auto [it, inserted] = node.failovers.try_emplace(peer, b.failovers());
    if (!inserted && b.failovers() > it->second) {
      std::string active = "none";
      for (const v1::Path& p : b.paths()) {
        if (p.active() || (p.bonded() && !b.has_active_path())) {
          active = absl::StrCat(p.interface(), "/", p.remote_endpoint());
          break;
        }
      }
      Emit(v1::FleetEvent::KIND_FAILOVER, node.record.id,
           absl::StrCat("bond to ", peer, ": ", b.failovers() - it->second, " failover(s), now on ",
                        active),
           0, peer);
    }
    it->second = b.failovers();
  }
  node.report = std::make_shared<const v1::MetricsReport>(report);
}

// --- pushes ---

void Fleet::DirectoryChanged(const std::string& id, absl::Time now) {
  NodeState& node = *nodes_.at(id);
  if (node.changed != 0) changes_.erase(node.changed);
  node.changed = ++dir_revision_;
  changes_[node.changed] = id;
  if (node.overlay.empty()) return;  // not in anyone's directory yet
  for (auto& [other, state] : nodes_) {
    if (other != id && state->connected()) dirty_.insert(other);
  }
  if (!first_change_) first_change_ = now;
  last_change_ = now;
}

void Fleet::RemoveNode(const std::string& id, absl::Time now) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second->connected()) return;
  const bool listed = !it->second->overlay.empty();
  if (it->second->changed != 0) changes_.erase(it->second->changed);
  nodes_.erase(it);
  dirty_.erase(id);
  waiting_.erase(id);
  unsaved_.erase(id);
  if (!listed) return;  // in nobody's directory
  tombstones_[id] = ++dir_revision_;
  MarkAllDirty(now);
}

void Fleet::MarkAllDirty(absl::Time now) {
  for (auto& [id, state] : nodes_) {
    if (state->connected()) dirty_.insert(id);
  }
  if (!first_change_) first_change_ = now;
  last_change_ = now;
}

v1::PeerEntry Fleet::EntryFor(const NodeState& node) const {
  v1::PeerEntry e;
  e.set_id(node.record.id);
  e.set_public_key(node.record.public_key);
  e.set_overlay_address(node.overlay);
  for (const std::string& ep : node.record.endpoints) e.add_endpoints(ep);
  return e;
}

std::string Fleet::OverlayWithPrefix(const std::string& ip) const {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(options_.overlay_prefix, absl::MaxSplits('/', 1));
  return absl::StrCat(ip, "/", parts.second);
}

absl::StatusOr<uint64_t> Fleet::NextVersion(uint64_t above) {
  // A node that moved here from another replica may have acked a version of that replica's
  // block, above this one's; it ignores older pushes, so it would never answer again. On a
  // shared store (etcd) a block reserved now lies above every version any replica has handed
  // out. Replicas with stores of their own (--replica-owners) count apart, so even a fresh block
  // may lie below what the node acked: the versions up to it are skipped, and reserved too, so
  // that the store's counter stays above every version handed out. A node's word is followed at
  // most kMaxVersionSkip above a fresh block: one claiming a version near the counter's end must
  // not use it up for the whole fleet; it gets ordinary versions, and ignores them.
  bool fresh = false;
  if (next_version_ > version_last_ || next_version_ <= above) {
    FB_ASSIGN_OR_RETURN(next_version_, store_.ReserveVersions(kVersionBlock));
    version_last_ = next_version_ + (kVersionBlock - 1);  // the store refuses a range past 2^64-1
    fresh = true;
  }
  if (fresh && next_version_ <= above && above - next_version_ < kMaxVersionSkip) {
    if (above < version_last_) {
      next_version_ = above + 1;
    } else {
      // Count: the versions from version_last_ + 1 up to `above`, and a block above it.
      const uint64_t count = (above - version_last_) + kVersionBlock;
      FB_ASSIGN_OR_RETURN(uint64_t more, store_.ReserveVersions(count));
      version_last_ = more + (count - 1);
      next_version_ = std::max(more, above + 1);  // above < version_last_: no overflow
    }
  }
  const uint64_t version = next_version_;
  if (version == version_last_) {
    next_version_ = 1;  // the block is used up (and next_version_ + 1 might overflow)
    version_last_ = 0;
  } else {
    ++next_version_;
  }
  return version;
}

void Fleet::EndInflight(NodeState& node) {
  inflight_bytes_ -= node.inflight_bytes;
  node.inflight_bytes = 0;
  node.inflight = 0;
}

void Fleet::PushIfNeeded(NodeState& node, absl::Time now) {
  if (!node.connected() || node.inflight != 0 || node.overlay.empty()) return;
  if (inflight_bytes_ >= options_.push_budget_bytes) {
    waiting_.insert(node.record.id);  // Pump sends it when answers free the budget
    return;
  }
  waiting_.erase(node.record.id);
  v1::ConfigPush push;
  *push.mutable_settings() = SettingsForNode(settings_.scopes, node.record.labels);
  push.set_overlay_address(OverlayWithPrefix(node.overlay));
  push.set_metrics_interval_ms(options_.metrics_interval_ms);
  // The view without the directory: what a NACK refuses and an ACK confirms. Deterministic
  // bytes: a plain serialization writes map entries (policies, links) in an order seeded at
  // random per map object, so two copies of the same settings would compare as a change and
  // every ACK would trigger the same push again.
  const std::string view = DeterministicBytes(push);

  // The directory: whole, or what changed since the revision the node holds.
  const bool known = node.acked_dir != 0 && !node.acked_view.empty();
  size_t changed = 0;
  if (known) {
    for (auto it = changes_.upper_bound(node.acked_dir); it != changes_.end(); ++it) {
      if (it->second != node.record.id && !nodes_.at(it->second)->overlay.empty()) ++changed;
    }
    for (const auto& [id, rev] : tombstones_) {
      if (rev > node.acked_dir) ++changed;
    }
  }
  const bool view_changed = view != node.acked_view;
  if (known && !view_changed && changed == 0) return;  // nothing it sees changed
  // A view the node refused is not sent again, not even with a newer directory: the node keeps
  // its last good push until the settings change (its NACK shows in `nodes` and the events).
  if (view == node.nacked_view) return;

  absl::StatusOr<uint64_t> version = NextVersion(node.record.acked_version);
  if (!version.ok()) {
    // The store failed: try again on a later change (the node keeps running on what it has).
    dirty_.insert(node.record.id);
    if (!first_change_) first_change_ = now;
    last_change_ = now;
    return;
  }
  push.set_version(*version);
  if (!known || changed > nodes_.size() / 2) {
    push.set_peers_mode(v1::ConfigPush::PEERS_FULL);
    for (const auto& [id, other] : nodes_) {
      if (id != node.record.id && !other->overlay.empty()) *push.add_peers() = EntryFor(*other);
    }
  } else {
    push.set_base_version(node.record.acked_version);
    push.set_peers_mode(changed == 0 ? v1::ConfigPush::PEERS_UNCHANGED
                                     : v1::ConfigPush::PEERS_DELTA);
    for (auto it = changes_.upper_bound(node.acked_dir); it != changes_.end(); ++it) {
      const NodeState& other = *nodes_.at(it->second);
      if (it->second != node.record.id && !other.overlay.empty())
        *push.add_peers() = EntryFor(other);
    }
    for (const auto& [id, rev] : tombstones_) {
      if (rev > node.acked_dir) push.add_removed_peers(id);
    }
  }
  node.inflight = *version;
  node.inflight_at = now;
  node.inflight_view = std::move(view);
  node.inflight_dir = dir_revision_;
  node.desired_version = *version;
  dirty_.erase(node.record.id);
  v1::ControllerMessage message;
  *message.mutable_push() = std::move(push);
  node.inflight_bytes = message.ByteSizeLong();
  inflight_bytes_ += node.inflight_bytes;
  node.sink->Send(message);
  if (observer_) observer_->OnPush();
}

// One thread at a time runs Pump (Start's, or a test's): the batch it takes from the connect
// queue is leased outside the lock.
absl::Time Fleet::Pump() {
  std::vector<Callback> callbacks;
  std::vector<NodeRecord> to_save;
  absl::Time next;

  // First pushes after connect, through the token bucket. The batch leaves the queue under the
  // lock; its overlay addresses are leased in one store transaction outside it, so that a slow
  // or unreachable store (etcd down: each try waits for its deadline) does not stall sessions
  // and operator reads meanwhile. Its nodes stay marked queued until the batch is done.
  std::vector<std::pair<std::string, uint64_t>> batch;  // node id, NodeState serial
  std::vector<std::string> need_lease;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    tokens_ =
        std::min<double>(options_.connect_burst,
                         tokens_ + absl::ToDoubleSeconds(now - tokens_at_) * options_.connect_rate);
    tokens_at_ = now;
    const size_t n = now < lease_retry_at_
                         ? 0
                         : std::min<size_t>(connect_queue_.size(), static_cast<size_t>(tokens_));
    for (size_t i = 0; i < n; ++i) {
      const std::string& id = connect_queue_[i];
      auto it = nodes_.find(id);
      if (it == nodes_.end()) continue;
      batch.emplace_back(id, it->second->serial);
      if (it->second->overlay.empty()) need_lease.push_back(id);
    }
    connect_queue_.erase(connect_queue_.begin(), connect_queue_.begin() + n);
    tokens_ -= n;
  }
  absl::StatusOr<std::map<std::string, std::string>> leases = std::map<std::string, std::string>();
  if (!need_lease.empty()) leases = store_.LeaseOverlays(options_.overlay_prefix, need_lease);

  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    next = now + absl::Seconds(1);

    // The batch, as the nodes are now: one may have left, come back in another session, or got
    // its address from the registry watch in the meantime. A node removed and made anew
    // meanwhile (another serial) is in the queue again by itself.
    // Every address first, so that the first pushes of the batch list each other.
    const auto current = [&](const std::string& id, uint64_t serial) -> NodeState* {
      auto it = nodes_.find(id);
      return it == nodes_.end() || it->second->serial != serial ? nullptr : it->second.get();
    };
    if (leases.ok()) {
      for (const auto& [id, serial] : batch) {
        NodeState* node = current(id, serial);
        if (node == nullptr || !node->overlay.empty()) continue;
        if (auto ip = leases->find(id); ip != leases->end()) {
          node->overlay = ip->second;
          DirectoryChanged(id, now);
        }
      }
    }
    for (const auto& [id, serial] : batch) {
      NodeState* found = current(id, serial);
      if (found == nullptr) continue;
      NodeState& node = *found;
      if (node.overlay.empty() && node.connected()) {
        // Without an address a node gets no push at all, and it would wait for one until it
        // reconnects: it stays queued and is tried again. One event per session, not one per
        // try (an unreachable etcd words its error differently from try to try).
        if (!node.lease_failing) {
          Emit(v1::FleetEvent::KIND_NACKED, id,
               absl::StrCat("no overlay address: ",
                            leases.ok() ? "the store leased it none" : leases.status().message()));
          node.lease_failing = true;
        }
        connect_queue_.push_back(id);
        lease_retry_at_ = now + kLeaseRetry;
        continue;
      }
      node.queued = false;
      node.lease_failing = false;
      PushIfNeeded(node, now);
    }
    if (!connect_queue_.empty()) {
      next =
          std::min(next, std::max(lease_retry_at_,
                                  now + absl::Seconds(1.0 / std::max(1.0, options_.connect_rate))));
    }

    // Debounced pushes.
    if (first_change_) {
      absl::Time due =
          std::min(last_change_ + options_.debounce, *first_change_ + options_.max_delay);
      if (now >= due) {
        std::set<std::string> dirty = std::move(dirty_);
        dirty_.clear();
        first_change_.reset();
        for (const std::string& id : dirty) {
          auto it = nodes_.find(id);
          if (it != nodes_.end() && !it->second->queued) PushIfNeeded(*it->second, now);
        }
        if (!dirty_.empty() && !first_change_) first_change_ = now;  // a store failure re-queued
      } else {
        next = std::min(next, due);
      }
    }

    // Pushes that waited for the byte budget, in id order, while it lasts.
    if (!waiting_.empty()) {
      std::vector<std::string> waiting(waiting_.begin(), waiting_.end());
      for (const std::string& id : waiting) {
        if (inflight_bytes_ >= options_.push_budget_bytes) break;
        waiting_.erase(id);
        auto it = nodes_.find(id);
        if (it != nodes_.end() && !it->second->queued) PushIfNeeded(*it->second, now);
      }
      if (!waiting_.empty()) next = std::min(next, now + absl::Milliseconds(50));
    }

    // Pushes never answered: forget them, so that later changes go out.
    for (auto& [id, node] : nodes_) {
      if (node->inflight != 0 && now - node->inflight_at >= kPushTimeout) {
        EndInflight(*node);
        dirty_.insert(id);
        if (!first_change_) first_change_ = now;
        last_change_ = now;
      }
    }

    // Commands past their deadline.
    for (auto c = commands_.begin(); c != commands_.end();) {
      if (now >= c->second.deadline) {
        auto done = std::move(c->second.done);
        std::string id = c->second.node_id;
        callbacks.push_back([done = std::move(done), id] {
          done(absl::DeadlineExceededError(absl::StrCat("node ", id, " did not answer in time")));
        });
        c = commands_.erase(c);
      } else {
        next = std::min(next, c->second.deadline);
        ++c;
      }
    }

    if (now >= next_flush_) {
      for (const std::string& id : unsaved_) {
        if (auto it = nodes_.find(id); it != nodes_.end()) to_save.push_back(it->second->record);
      }
      unsaved_.clear();
      next_flush_ = now + options_.registry_flush;
    }
    next = std::min(next, next_flush_);
    ReportGauges();
  }
  if (!to_save.empty()) {
    absl::Status saved = store_.SaveNodes(to_save);
    if (!saved.ok()) {
      absl::MutexLock lock(&mu_);
      for (const NodeRecord& r : to_save) unsaved_.insert(r.id);  // retried at the next flush
    }
  }
  RunCallbacks(callbacks);
  return next;
}

void Fleet::Start() {
  absl::MutexLock lock(&run_mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  thread_ = std::make_unique<std::thread>([this] {
    while (true) {
      absl::Time next = Pump();
      absl::MutexLock l(&run_mu_);
      if (stop_) break;
      if (!wake_) run_cv_.WaitWithDeadline(&run_mu_, next);
      wake_ = false;
      if (stop_) break;
    }
  });
}

void Fleet::Wake() {
  absl::MutexLock lock(&run_mu_);
  wake_ = true;
  run_cv_.Signal();
}

void Fleet::Stop() {
  {
    absl::MutexLock lock(&run_mu_);
    if (!running_) return;
    stop_ = true;
    run_cv_.Signal();
  }
  thread_->join();
  thread_.reset();
  {
    absl::MutexLock lock(&run_mu_);
    running_ = false;
  }
  std::vector<NodeRecord> to_save;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : unsaved_) {
      if (auto it = nodes_.find(id); it != nodes_.end()) to_save.push_back(it->second->record);
    }
    unsaved_.clear();
  }
  if (!to_save.empty()) (void)store_.SaveNodes(to_save);
}

// --- settings ---

Fleet::Settings Fleet::GetSettings() {
  absl::MutexLock lock(&mu_);
  return settings_;
}

void Fleet::OnStoredSettings(uint64_t version) {
  {
    absl::MutexLock lock(&mu_);
    if (version <= settings_.version) return;  // ours, or already seen
  }
  // The store may be briefly unreachable (etcd electing a leader): a few tries, then the next
  // change brings this one along.
  absl::StatusOr<SettingsDocuments> docs = store_.LoadSettings();
  for (int attempt = 1; !docs.ok() && attempt < 5; ++attempt) {
    absl::SleepFor(absl::Milliseconds(200) * attempt);
    docs = store_.LoadSettings();
  }
  if (!docs.ok()) return;
  {
    absl::MutexLock lock(&mu_);
    if (docs->version <= settings_.version) return;
    settings_.version = docs->version;
    settings_.scopes = std::move(docs->scopes);
    MarkAllDirty(clock_.Now());
    Emit(v1::FleetEvent::KIND_SETTINGS_CHANGED, "",
         "settings stored through another controller replica", settings_.version);
    if (observer_) observer_->OnSettingsVersion(settings_.version);
  }
  Wake();
}

void Fleet::OnStoredNodes(const RegistryUpdate& update) {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    const uint64_t revision = dir_revision_;
    for (const NodeChange& change : update.changes) ApplyStoredNode(change, now);
    if (update.full) {
      // Not in the registry any more (deleted while the watch was reading it again).
      std::set<std::string> stored;
      for (const NodeChange& change : update.changes) stored.insert(change.id);
      std::vector<std::string> gone;
      for (const auto& [id, node] : nodes_) {
        if (stored.contains(id) || unsaved_.contains(id)) continue;
        if (node->connected()) {
          unsaved_.insert(id);  // its session is here: stored again at the next flush
        } else {
          gone.push_back(id);
        }
      }
      for (const std::string& id : gone) RemoveNode(id, now);
    }
    if (dir_revision_ == revision) return;  // nothing the directory shows changed
  }
  Wake();
}

void Fleet::ApplyStoredNode(const NodeChange& change, absl::Time now) {
  auto it = nodes_.find(change.id);
  // This Fleet's copy is newer: the node's session (its hello) is here, or a write of it is
  // still to be flushed (and will replace what is stored).
  if (it != nodes_.end() && (it->second->connected() || unsaved_.contains(change.id))) {
    // A stored copy that differs from the session here (a late flush of the replica the node
    // left, or its deletion) is overwritten by the next flush, so the other replicas' directories
    // follow the node's hello here.
    const NodeRecord& mine = it->second->record;
    if (it->second->connected() &&
        (!change.record.has_value() || change.record->public_key != mine.public_key ||
         change.record->endpoints != mine.endpoints || change.record->labels != mine.labels)) {
      unsaved_.insert(change.id);
    }
    return;
  }
  if (!change.record.has_value()) {
    if (it != nodes_.end()) RemoveNode(change.id, now);
    return;
  }
  if (it == nodes_.end()) {
    auto node = std::make_unique<NodeState>();
    node->record = *change.record;
    node->record.id = change.id;
    node->overlay = change.overlay;
    nodes_[change.id] = std::move(node);
    tombstones_.erase(change.id);
    DirectoryChanged(change.id, now);
    return;
  }
  NodeState& node = *it->second;
  const bool visible = node.record.public_key != change.record->public_key ||
                       node.record.endpoints != change.record->endpoints ||
                       node.overlay != change.overlay;
  const bool unlisted = !node.overlay.empty() && change.overlay.empty();
  node.record = *change.record;
  node.record.id = change.id;
  node.overlay = change.overlay;
  if (unlisted) {
    // Its lease was reclaimed: it leaves the directories, as a removed node does.
    if (node.changed != 0) changes_.erase(node.changed);
    node.changed = 0;
    tombstones_[change.id] = ++dir_revision_;
    MarkAllDirty(now);  // it is not connected here: these are the nodes that listed it
  } else if (visible) {
    tombstones_.erase(change.id);
    DirectoryChanged(change.id, now);
  }
}

std::vector<settings::Issue> Fleet::Validate(const std::string& scope,
                                             const v1::Settings& document) {
  std::map<std::string, v1::Settings> scopes;
  {
    absl::MutexLock lock(&mu_);
    scopes = settings_.scopes;
  }
  scopes[scope] = document;
  return ValidateDocuments(scopes);
}

absl::StatusOr<uint64_t> Fleet::ReplaceScope(const std::string& scope, const v1::Settings& document,
                                             uint64_t expected_version, const std::string& author,
                                             std::vector<settings::Issue>* issues) {
  return EditScope(
      scope, expected_version, author,
      [&](v1::Settings& doc) {
        doc = document;
        return absl::OkStatus();
      },
      issues);
}

absl::StatusOr<uint64_t> Fleet::EditScope(const std::string& scope, uint64_t expected_version,
                                          const std::string& author,
                                          const std::function<absl::Status(v1::Settings&)>& edit,
                                          std::vector<settings::Issue>* issues) {
  return EditScopeAttempt(scope, expected_version, author, edit, issues, 0);
}

absl::StatusOr<uint64_t> Fleet::EditScopeAttempt(
    const std::string& scope, uint64_t expected_version, const std::string& author,
    const std::function<absl::Status(v1::Settings&)>& edit, std::vector<settings::Issue>* issues,
    int attempt) {
  // An expected version ahead of this replica's: another replica stored it and the watch has not
  // told this one yet. The store decides, not this replica's stale copy: catch up first.
  if (expected_version != 0 && attempt == 0) {
    bool behind = false;
    {
      absl::MutexLock lock(&mu_);
      behind = expected_version > settings_.version;
    }
    if (behind) {
      absl::StatusOr<SettingsDocuments> docs = store_.LoadSettings();
      if (docs.ok()) OnStoredSettings(docs->version);
    }
  }
  uint64_t version = 0;
  bool reload = false;
  {
    absl::MutexLock lock(&mu_);
    if (expected_version != 0 && expected_version != settings_.version) {
      return absl::AbortedError(
          absl::StrCat("settings are at version ", settings_.version, ", not ", expected_version));
    }
    std::map<std::string, v1::Settings> scopes = settings_.scopes;
    v1::Settings& doc = scopes[scope];
    FB_RETURN_IF_ERROR(edit(doc));
    const bool remove = !scope.empty() && doc.ByteSizeLong() == 0;
    if (remove) scopes.erase(scope);
    std::vector<settings::Issue> found = ValidateDocuments(scopes);
    if (issues != nullptr) *issues = found;
    if (settings::HasErrors(found)) {
      return absl::InvalidArgumentError(
          absl::StrCat("settings refused, nothing stored: ", IssuesMessage(found)));
    }
    std::optional<v1::Settings> stored;
    if (!remove) stored = scopes.at(scope);
    absl::StatusOr<uint64_t> put = store_.PutSettings(scope, stored, settings_.version, author);
    // Another replica stored settings this one has not heard of yet: with no expected version
    // from the caller, catch up and edit again (below, without the lock).
    const bool catch_up = absl::IsAborted(put.status()) && expected_version == 0 && attempt < 3;
    if (!catch_up) {
      FB_ASSIGN_OR_RETURN(version, std::move(put));
      // Stored on top of versions this replica has not seen (it held version 0, which the store
      // takes as "any"): its documents are stale, so they are reloaded below instead.
      reload = version != settings_.version + 1;
    }
    if (!catch_up && !reload) {
      settings_.version = version;
      settings_.scopes = std::move(scopes);
      const absl::Time now = clock_.Now();
      MarkAllDirty(now);
      Emit(v1::FleetEvent::KIND_SETTINGS_CHANGED, "",
           absl::StrCat(scope.empty() ? "fleet-wide" : absl::StrCat("scope ", scope),
                        remove ? " removed" : " document changed",
                        author.empty() ? "" : absl::StrCat(" by ", author)),
           version);
      if (observer_) observer_->OnSettingsVersion(version);
    }
  }
  if (version == 0) {
    absl::StatusOr<SettingsDocuments> docs = store_.LoadSettings();
    if (docs.ok()) OnStoredSettings(docs->version);
    return EditScopeAttempt(scope, expected_version, author, edit, issues, attempt + 1);
  }
  if (reload) OnStoredSettings(version);
  Wake();
  return version;
}

// --- nodes ---

NodeSnapshot Fleet::SnapshotOf(const NodeState& node) const {
  NodeSnapshot s;
  s.record = node.record;
  s.overlay = node.overlay;
  s.connected = node.connected();
  s.desired_version = node.desired_version != 0 ? node.desired_version : node.record.acked_version;
  s.report = node.report;
  s.nacks = node.nacks;
  return s;
}

std::vector<NodeSnapshot> Fleet::Nodes(const LabelSelector& selector) {
  absl::MutexLock lock(&mu_);
  std::vector<NodeSnapshot> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) {
    if (selector.Matches(node->record.labels)) out.push_back(SnapshotOf(*node));
  }
  return out;
}

absl::StatusOr<NodeSnapshot> Fleet::Node(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) {
    return absl::NotFoundError(absl::StrCat("no node ", id, " in the fleet"));
  }
  return SnapshotOf(*it->second);
}

void Fleet::SendCommand(const std::string& node_id, v1::Command command,
                        std::function<void(absl::StatusOr<v1::CommandResult>)> done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) {
      refused = absl::NotFoundError(absl::StrCat("no node ", node_id, " in the fleet"));
    } else if (!it->second->connected()) {
      refused = absl::UnavailableError(
          absl::StrCat("node ", node_id, " is not connected to the controller (last seen ",
                       absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                        absl::FromUnixMillis(it->second->record.last_seen_unix_ms),
                                        absl::UTCTimeZone()),
                       ")"));
    } else {
      const uint64_t id = next_command_++;
      command.set_id(id);
      commands_[id] = PendingCommand{node_id, it->second->session,
                                     clock_.Now() + options_.command_timeout, std::move(done)};
      v1::ControllerMessage message;
      *message.mutable_command() = std::move(command);
      it->second->sink->Send(message);
    }
  }
  if (!refused.ok()) {
    done(refused);
    return;
  }
  Wake();
}

// --- events ---

std::shared_ptr<Fleet::EventQueue> Fleet::Watch(const std::string& node_id) {
  auto queue = std::make_shared<EventQueue>(node_id, options_.event_backlog);
  absl::MutexLock lock(&mu_);
  std::erase_if(watchers_, [](const std::weak_ptr<EventQueue>& w) { return w.expired(); });
  watchers_.push_back(queue);
  return queue;
}

void Fleet::Emit(v1::FleetEvent::Kind kind, const std::string& node_id, std::string detail,
                 uint64_t version, std::string peer) {
  if (watchers_.empty()) return;
  v1::FleetEvent event;
  event.set_unix_time_ms(absl::ToUnixMillis(clock_.Now()));
  event.set_node_id(node_id);
  event.set_kind(kind);
  event.set_detail(std::move(detail));
  event.set_version(version);
  event.set_peer(std::move(peer));
  bool expired = false;
  for (const std::weak_ptr<EventQueue>& w : watchers_) {
    std::shared_ptr<EventQueue> q = w.lock();
    if (!q) {
      expired = true;
      continue;
    }
    if (q->node_id_.empty() || q->node_id_ == node_id) q->Push(event);
  }
  if (expired) {
    std::erase_if(watchers_, [](const std::weak_ptr<EventQueue>& w) { return w.expired(); });
  }
}

void Fleet::EventQueue::Push(const v1::FleetEvent& event) {
  absl::MutexLock lock(&mu_);
  if (events_.size() >= limit_) {
    events_.pop_front();
    ++dropped_;
  }
  events_.push_back(event);
}

std::optional<v1::FleetEvent> Fleet::EventQueue::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) return std::nullopt;
  v1::FleetEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

uint64_t Fleet::EventQueue::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

void Fleet::ReportGauges() {
  if (observer_ == nullptr) return;
  observer_->OnSessions(connected_);
  observer_->OnPendingPushes(
      static_cast<int64_t>(dirty_.size() + connect_queue_.size() + waiting_.size()));
}

void Fleet::RunCallbacks(std::vector<Callback>& callbacks) {
  for (Callback& c : callbacks) c();
  callbacks.clear();
}

}  // namespace fleetbond::controller
