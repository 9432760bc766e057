// controller_load.cc: a load generator for fleetbond-controller (tests/bench/controller_load.sh
// runs it; docs/BENCHMARKS.md has the results). It opens --nodes simulated node sessions over real
// gRPC, each a NodeSession.Connect stream with a real X25519 identity, and behaves on the wire as
// the node's agent does: Hello; an Ack of every push as soon as it arrives (a Nack, path "peers",
// when a delta's base is not the push it acked last); a MetricsReport every metrics_interval_ms
// with two bonds of two paths each, counters growing; a made-up answer to every command.
//
// Sessions share --nodes / --per-channel channels, each with its own subchannel pool, so the
// streams are spread over that many TCP connections; gRPC's callback API runs them all on its own
// few threads. With several --target addresses (controller replicas sharing one etcd), node i
// starts on address i mod count and, like the agent, moves to the next one after its session drops.
// Then it measures the controller (its pid from --controller-pid; with replicas, every pid, and
// memory and CPU are their sums):
//   connect  time until every session acked its first push (the controller spreads first pushes
//            with --connect-rate), and until no push has arrived for --quiet;
//   memory   the controller's VmRSS after that, less its VmRSS before the first session, per
//            session (and VmHWM, the peak during the ramp); with --gdb-trim, again after the
//            controller returned its free heap to the system (malloc_trim);
//   cpu      the controller's utime+stime over --cpu-window of steady metrics traffic, as a
//            percentage of one core;
//   change   --changes settings changes through the Fleet API (ReplaceSettings, each a policy
//            with a new failoverInterval); for each, the time from the RPC's return to each node's
//            receipt of the push that carries it (the Ack goes out at once): p50/p99/max;
//   scrape   --scrapes GETs of --metrics-url with curl: median time and size, plain and gzip;
//   failover with --failover-kill K: SIGKILL of the replica at index K of --target (and of
//            --controller-pid), then the time until each of its nodes acked a push from another
//            replica, and one more change through a survivor that every node must ack.
// A session that drops (the controller closed it, or its connection broke) is counted and dialled
// again after the agent's backoff, as a real node would. It prints one JSON object (also to
// --json), and exits 1 with a sentence saying what did not happen when a wait runs out of time.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fleetbond/v1/controller.grpc.pb.h"
#include "fleetbond/v1/session.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "shared/command_line.h"
#include "shared/identity/identity.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9900",
          "The controller's gRPC address, or several (a,b,c: replicas); node i starts on address "
          "i mod count and moves to the next one when its session drops.");
ABSL_FLAG(std::string, metrics_url, "http://127.0.0.1:9902/metrics",
          "The controller's /metrics; empty: no scrapes.");
ABSL_FLAG(std::string, controller_pid, "",
          "The controller's pid, for RSS and CPU, or one per --target address (a,b,c: summed); "
          "empty: not measured.");
ABSL_FLAG(int32_t, failover_kill, -1,
          "After the other measurements, SIGKILL the replica at this index of --target (its pid "
          "at the same index of --controller-pid) and measure how its nodes move; -1: no.");
ABSL_FLAG(int32_t, nodes, 1000, "Simulated node sessions.");
ABSL_FLAG(int32_t, per_channel, 100, "Sessions per gRPC channel (each channel is one connection).");
ABSL_FLAG(int32_t, changes, 5, "Settings changes whose change-to-ack time is measured.");
ABSL_FLAG(absl::Duration, change_spacing, absl::Seconds(3),
          "Pause after every node acked one change, before the next.");
ABSL_FLAG(absl::Duration, cpu_window, absl::Seconds(30),
          "How long the controller's CPU is measured under steady metrics traffic.");
ABSL_FLAG(absl::Duration, quiet, absl::Seconds(3),
          "The ramp is over once no push has arrived for this long.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(180),
          "Every session must have acked its first push (and pushes stopped) within this.");
ABSL_FLAG(absl::Duration, change_timeout, absl::Seconds(60),
          "Every node must ack a change within this.");
ABSL_FLAG(int32_t, scrapes, 5, "GETs of --metrics-url (each plain and gzip).");
ABSL_FLAG(std::string, json, "", "Also write the JSON summary to this file.");
ABSL_FLAG(bool, gdb_trim, false,
          "After the RSS sample, make the controller call malloc_trim(0) through gdb and sample "
          "again: what it holds live, apart from freed heap that glibc keeps from the ramp.");

namespace fleetbond::bench {
namespace {

using Reactor = grpc::ClientBidiReactor<v1::NodeMessage, v1::ControllerMessage>;

// The marker of change k is the failoverInterval of policy "bench": kMarkerBase + k.
constexpr char kMarkerPolicy[] = "bench";
constexpr uint32_t kMarkerBase = 1000;
constexpr int kMaxChanges = 64;

int64_t MonoNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
double NanosToMs(int64_t ns) { return static_cast<double>(ns) / 1e6; }
double NanosToS(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Addresses are strings inside messages only: nothing is ever sent to them. They come from the
// benchmarking range 198.18.0.0/15 and the documentation prefix 2001:db8::/32.
std::string V4(int iface, int node) {
  return absl::StrFormat("198.%d.%d.%d", 18 + iface, (node >> 8) & 0xff, node & 0xff);
}
std::string V6(int iface, int node) { return absl::StrFormat("2001:db8:%x::%x", 18 + iface, node); }

// Totals over every node, updated from gRPC's threads.
struct Stats {
  std::atomic<int64_t> first_acks{0};
  std::atomic<int64_t> pushes{0};
  std::atomic<int64_t> push_bytes{0};
  std::atomic<int64_t> peers_full{0};
  std::atomic<int64_t> peers_delta{0};
  std::atomic<int64_t> peers_unchanged{0};
  std::atomic<int64_t> acks{0};
  std::atomic<int64_t> nacks{0};
  std::atomic<int64_t> reports{0};
  std::atomic<int64_t> commands{0};
  std::atomic<int64_t> last_push_ns{0};
  std::atomic<int64_t> sessions_open{0};  // streams whose OnDone has not run yet
  std::atomic<int64_t> drops{0};          // streams that ended while the benchmark ran
  std::atomic<int64_t> reconnects{0};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> change_seen[kMaxChanges + 1] = {};

  absl::Mutex mu;
  std::string first_drop ABSL_GUARDED_BY(mu);

  std::string Drops() {
    absl::MutexLock lock(&mu);
    if (drops.load() == 0) return "no session dropped";
    return absl::StrCat(drops.load(), " session(s) dropped, ", reconnects.load(),
                        " reconnect(s); the first drop: ", first_drop);
  }
};

class SimNode;

// Session is one stream of a node on the callback API. gRPC handles its reads one at a time;
// writes go through a queue because only one may be outstanding. A hold keeps OnDone back while
// the metrics thread may still start a write; `self_` keeps the session alive until OnDone.
class Session : public Reactor {
 public:
  Session(SimNode& node, Stats& stats) : node_(node), stats_(stats) {}

  // Set by the first push this session acked.
  std::atomic<bool> acked{false};

  void Start(v1::NodeSession::Stub& stub, std::shared_ptr<Session> self, const v1::Hello& hello) {
    self_ = std::move(self);
    stats_.sessions_open.fetch_add(1);
    stub.async()->Connect(&context_, this);  // binds the stream: holds and ops only after it
    AddHold();
    StartRead(&in_);
    v1::NodeMessage m;
    *m.mutable_hello() = hello;
    Send(std::move(m));
    StartCall();
  }

  // Send queues a message; it is dropped once the session is closing.
  void Send(v1::NodeMessage message) {
    const v1::NodeMessage* start = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (closing_) return;
      out_.push_back(std::move(message));
      if (!writing_) {
        writing_ = true;
        start = &out_.front();
      }
    }
    if (start != nullptr) StartWrite(start);
  }

  // Stop cancels the stream; OnDone follows.
  void Stop() {
    Close();
    context_.TryCancel();
  }

  void OnReadDone(bool ok) override;

  void OnWriteDone(bool ok) override {
    const v1::NodeMessage* next = nullptr;
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      out_.pop_front();
      if (!ok || closing_) {
        out_.clear();
        closing_ = true;
      }
      if (!out_.empty()) {
        next = &out_.front();
      } else {
        writing_ = false;
        release = closing_ && !released_;
        released_ = released_ || release;
      }
    }
    if (next != nullptr) StartWrite(next);
    if (release) RemoveHold();
  }

  void OnDone(const grpc::Status& status) override;

 private:
  // Close stops further writes and lets the stream finish once the write in progress is done.
  void Close() {
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
      if (!writing_ && !released_) release = released_ = true;
    }
    if (release) RemoveHold();
  }

  SimNode& node_;
  Stats& stats_;
  std::shared_ptr<Session> self_;
  grpc::ClientContext context_;
  v1::ControllerMessage in_;

  absl::Mutex mu_;
  std::deque<v1::NodeMessage> out_ ABSL_GUARDED_BY(mu_);  // front: being written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

// SimNode is one simulated node: its identity, what it acked, its reports, and its current
// session. Like the node's agent (node/agent/backoff.h) it dials again after a dropped session,
// after a wait drawn uniformly from [0, min(30 s, 0.5 s * 2^attempt)], and with several
// controller addresses it dials the next one.
class SimNode {
 public:
  SimNode(Stats& stats, int index, int nodes, const Identity& identity, int changes,
          std::vector<v1::NodeSession::Stub*> stubs, const std::vector<std::string>& ids)
      : stats_(stats),
        index_(index),
        changes_(changes),
        stubs_(std::move(stubs)),
        ids_(ids),
        target_(index % static_cast<int>(stubs_.size())) {
    v1::Hello& h = hello_;
    h.set_node_id(identity.id().ToString());
    h.set_public_key(identity.public_key().data(), identity.public_key().size());
    h.set_software_version("0.1.0-bench");
    for (int i = 0; i < 2; ++i) {
      v1::Interface* iface = h.add_interfaces();
      iface->set_name(absl::StrCat("eth", i));
      iface->add_addresses(absl::StrCat(V4(i, index), "/15"));
      iface->add_addresses(absl::StrCat(V6(i, index), "/64"));
      iface->add_endpoints(absl::StrCat(V4(i, index), "/9800"));
      iface->add_endpoints(absl::StrCat(V6(i, index), "/9800"));
    }
    (*h.mutable_labels())["site"] = absl::StrFormat("site-%02d", index % 50);
    (*h.mutable_labels())["role"] = index % 10 == 0 ? "gateway" : "edge";
    (*h.mutable_labels())["bench"] = "controller-load";
    peers_[0] = (index + 1) % nodes;
    peers_[1] = (index + 2) % nodes;
    for (auto& seen : change_seen_) seen.store(0);
    started_ = absl::Now();
  }

  // Connect opens a session, with Hello naming the version this node acked last.
  void Connect() {
    v1::Hello hello = hello_;
    hello.set_last_acked_version(last_acked_.load());
    auto session = std::make_shared<Session>(*this, stats_);
    {
      absl::MutexLock lock(&mu_);
      session_ = session;
    }
    session->Start(*stubs_[target_.load()], session, hello);
  }

  // Tick, from the metrics thread: a report when one is due, a reconnect when one is due.
  void Tick(int64_t now_ns, absl::BitGen& gen) {
    const int64_t redial = reconnect_at_ns_.load(std::memory_order_relaxed);
    if (redial != 0 && now_ns >= redial) {
      reconnect_at_ns_.store(0);
      stats_.reconnects.fetch_add(1);
      Connect();
    }
    const int64_t due = next_report_ns_.load(std::memory_order_relaxed);
    if (due == 0 || now_ns < due) return;
    next_report_ns_.store(due + int64_t{interval_ms_.load()} * 1'000'000);
    std::shared_ptr<Session> session = Current();
    if (session == nullptr) return;
    v1::NodeMessage m;
    FillReport(m.mutable_metrics(), gen);
    session->Send(std::move(m));
    stats_.reports.fetch_add(1, std::memory_order_relaxed);
  }

  void Stop() {
    std::shared_ptr<Session> session = Current();
    if (session != nullptr) session->Stop();
  }

  int64_t first_ack_ns() const { return first_ack_ns_.load(); }
  // The index of the address it dials, and when a session of it last acked its first push.
  int target() const { return target_.load(); }
  int64_t session_ack_ns() const { return session_ack_ns_.load(); }
  bool connected() {
    absl::MutexLock lock(&mu_);
    return session_ != nullptr;
  }
  int64_t change_seen_ns(int k) const { return change_seen_[k].load(); }

  // --- from its session ---

  void OnPush(Session& session, const v1::ConfigPush& push) {
    const int64_t now = MonoNanos();
    stats_.pushes.fetch_add(1, std::memory_order_relaxed);
    stats_.push_bytes.fetch_add(static_cast<int64_t>(push.ByteSizeLong()),
                                std::memory_order_relaxed);
    stats_.last_push_ns.store(now, std::memory_order_relaxed);
    switch (push.peers_mode()) {
      case v1::ConfigPush::PEERS_DELTA:
        stats_.peers_delta.fetch_add(1, std::memory_order_relaxed);
        break;
      case v1::ConfigPush::PEERS_UNCHANGED:
        stats_.peers_unchanged.fetch_add(1, std::memory_order_relaxed);
        break;
      default:
        stats_.peers_full.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    v1::NodeMessage reply;
    const uint64_t acked = last_acked_.load();
    if (push.peers_mode() != v1::ConfigPush::PEERS_FULL && push.base_version() != acked) {
      v1::Nack* nack = reply.mutable_nack();
      nack->set_version(push.version());
      v1::SettingsIssue* issue = nack->add_errors();
      issue->set_severity(v1::SettingsIssue::SEVERITY_ERROR);
      issue->set_path("peers");
      issue->set_message(absl::StrCat("the directory is relative to version ", push.base_version(),
                                      ", but this node runs version ", acked));
      session.Send(std::move(reply));
      stats_.nacks.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    reply.mutable_ack()->set_version(push.version());
    session.Send(std::move(reply));
    last_acked_.store(push.version());
    stats_.acks.fetch_add(1, std::memory_order_relaxed);
    {
      absl::MutexLock lock(&mu_);
      attempt_ = 0;  // a session that got this far counts as a success
    }
    if (!session.acked.exchange(true)) session_ack_ns_.store(now);
    if (first_ack_ns_.load() == 0) {
      first_ack_ns_.store(now);
      stats_.first_acks.fetch_add(1);
      // Reports start with the first push, spread evenly over the interval across nodes.
      const uint32_t interval = std::max<uint32_t>(push.metrics_interval_ms(), 1000);
      interval_ms_.store(interval);
      const double phase = std::fmod(index_ * 0.6180339887, 1.0);
      next_report_ns_.store(now + static_cast<int64_t>(phase * interval * 1e6));
    }
    auto policy = push.settings().policies().find(kMarkerPolicy);
    if (policy != push.settings().policies().end() && policy->second.has_failover_interval()) {
      const int64_t k = int64_t{policy->second.failover_interval()} - kMarkerBase;
      if (k >= 1 && k <= changes_ && change_seen_[k].load() == 0) {
        change_seen_[k].store(now);
        stats_.change_seen[k].fetch_add(1);
      }
    }
  }

  void OnCommand(Session& session, const v1::Command& command) {
    v1::NodeMessage reply;
    v1::CommandResult* result = reply.mutable_command_result();
    result->set_id(command.id());
    if (command.has_rotate()) {
      v1::RotateBondResponse* r = result->mutable_rotate();
      r->set_from(absl::StrCat("eth0/", V4(0, peers_[0]), "/9800"));
      r->set_to(absl::StrCat("eth1/", V4(1, peers_[0]), "/9800"));
      r->set_from_idx(0);
      r->set_to_idx(1);
    } else if (command.has_get_bond()) {
      v1::MetricsReport report;
      absl::BitGen gen;
      FillReport(&report, gen);
      *result->mutable_bond() = report.bonds(0);
    } else {
      result->set_code(static_cast<int32_t>(absl::StatusCode::kUnimplemented));
      result->set_message("this simulated node knows rotate and get_bond only");
    }
    session.Send(std::move(reply));
    stats_.commands.fetch_add(1, std::memory_order_relaxed);
  }

  void OnSessionEnded(Session* session, const grpc::Status& status) {
    absl::Duration wait;
    {
      absl::MutexLock lock(&mu_);
      if (session_.get() == session) session_ = nullptr;
      if (stats_.stopping.load()) return;
      const double ceiling =
          std::min(30.0, 0.5 * static_cast<double>(uint64_t{1} << std::min(attempt_, 16)));
      ++attempt_;
      wait = absl::Seconds(absl::Uniform(gen_, 0.0, ceiling));
      target_.store((target_.load() + 1) % static_cast<int>(stubs_.size()));
    }
    stats_.drops.fetch_add(1);
    {
      absl::MutexLock lock(&stats_.mu);
      if (stats_.first_drop.empty()) {
        stats_.first_drop = absl::StrCat("node ", hello_.node_id(), ", code ",
                                         static_cast<int>(status.error_code()), " \"",
                                         status.error_message(), "\"");
      }
    }
    reconnect_at_ns_.store(MonoNanos() + absl::ToInt64Nanoseconds(wait));
  }

 private:
  std::shared_ptr<Session> Current() {
    absl::MutexLock lock(&mu_);
    return session_;
  }

  // FillReport writes what a node with two bonds of two paths each would report: one link
  // carrying the traffic, one spare, counters that grow with the node's age.
  void FillReport(v1::MetricsReport* report, absl::BitGen& gen) const {
    const absl::Time now = absl::Now();
    const double age = absl::ToDoubleSeconds(now - started_);
    report->set_unix_time_ms(absl::ToUnixMillis(now));
    for (int b = 0; b < 2; ++b) {
      const int peer = peers_[b];
      v1::Bond* bond = report->add_bonds();
      v1::BondSummary* s = bond->mutable_summary();
      s->set_peer(ids_[peer]);
      s->set_policy_name("active-backup");
      s->set_base_policy(v1::BASE_POLICY_ACTIVE_BACKUP);
      s->set_usable_links(2);
      s->set_total_links(2);
      bond->set_link_select_method(v1::LINK_SELECT_METHOD_OPTIMIZE);
      bond->set_failover_interval_ms(1000);
      bond->set_up_delay_ms(0);
      bond->set_down_delay_ms(0);
      bond->set_packets_per_link(64);
      bond->set_failovers(1);
      bond->set_probe_interval_ms(1000);
      bond->set_flows(10 + index_ % 20);
      bond->set_flow_evictions(0);
      bond->set_active_path(0);
      for (int p = 0; p < 2; ++p) {
        const bool active = p == 0;
        const double share = active ? 1.0 : 0.0;
        const uint64_t packets = static_cast<uint64_t>(age * (active ? 800.0 : 2.0)) + 10;
        v1::Path* path = bond->add_paths();
        path->set_idx(p);
        path->set_interface(absl::StrCat("eth", p));
        path->set_local_address(V4(p, index_));
        path->set_remote_endpoint(absl::StrCat(V4(p, peer), "/9800"));
        path->set_socket(absl::StrCat("udp4:", V4(p, index_), ":9800"));
        path->set_latency_ms(active ? absl::Uniform(gen, 8.0, 14.0)
                                    : absl::Uniform(gen, 30.0, 45.0));
        path->set_pdv_ms(absl::Uniform(gen, 0.2, 2.0));
        path->set_loss_ratio(absl::Uniform(gen, 0.0, 0.002));
        path->set_error_ratio(0);
        path->set_capacity(active ? 100 : 20);
        path->set_allocation(share);
        path->set_target_allocation(share);
        path->set_rx_age_ms(absl::Uniform<uint64_t>(gen, 0, 1000));
        path->set_tx_age_ms(absl::Uniform<uint64_t>(gen, 0, 1000));
        path->set_eligible(true);
        path->set_bonded(active);
        path->set_flows(active ? bond->flows() : 0);
        path->set_tx_packets(packets);
        path->set_rx_packets(packets - packets / 50);
        path->set_tx_bytes(packets * 900);
        path->set_rx_bytes((packets - packets / 50) * 900);
        path->set_spare(!active);
        path->set_active(active);
        path->set_measured(true);
        path->set_state("up");
        path->set_carrier(true);
        path->set_breaking(false);
        path->set_bad_packets(0);
        path->set_probes_sent(static_cast<uint64_t>(age) + 1);
      }
    }
    v1::NodeCounters* c = report->mutable_counters();
    c->set_drops_unknown_path(static_cast<uint64_t>(age / 60));
    c->set_drops_no_route(static_cast<uint64_t>(age / 30));
    c->set_drops_no_usable_path(0);
    c->set_drops_duplicates(static_cast<uint64_t>(age / 10));
    c->set_drops_bad_packets(0);
  }

  Stats& stats_;
  const int index_;
  const int changes_;
  const std::vector<v1::NodeSession::Stub*> stubs_;  // one per controller address
  const std::vector<std::string>& ids_;
  std::atomic<int> target_;
  std::atomic<int64_t> session_ack_ns_{0};
  v1::Hello hello_;
  int peers_[2];
  absl::Time started_;

  std::atomic<uint64_t> last_acked_{0};
  std::atomic<int64_t> first_ack_ns_{0};
  std::atomic<int64_t> next_report_ns_{0};
  std::atomic<uint32_t> interval_ms_{5000};
  std::atomic<int64_t> reconnect_at_ns_{0};
  std::atomic<int64_t> change_seen_[kMaxChanges + 1];

  absl::Mutex mu_;
  std::shared_ptr<Session> session_ ABSL_GUARDED_BY(mu_);
  int attempt_ ABSL_GUARDED_BY(mu_) = 0;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

void Session::OnReadDone(bool ok) {
  if (!ok) {
    Close();
    return;
  }
  if (in_.has_push()) {
    node_.OnPush(*this, in_.push());
    // A simulated node keeps nothing of the directory; protobuf's Clear would keep its storage
    // (a whole directory per session: 10,000 x 1.4 MB), so the message is swapped out and freed.
    v1::ControllerMessage().Swap(&in_);
  } else if (in_.has_command()) {
    node_.OnCommand(*this, in_.command());
  }
  StartRead(&in_);
}

void Session::OnDone(const grpc::Status& status) {
  std::shared_ptr<Session> keep = std::move(self_);  // this ends with the call
  node_.OnSessionEnded(this, status);
  stats_.sessions_open.fetch_sub(1);
}

// --- the controller process, from /proc ---

struct ProcSample {
  int64_t rss_kb = 0;
  int64_t hwm_kb = 0;
  int64_t threads = 0;
  int64_t cpu_ticks = 0;  // utime + stime
};

absl::StatusOr<ProcSample> SampleProcess(int pid) {
  ProcSample s;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  if (!status) return absl::NotFoundError(absl::StrCat("no process ", pid, " (/proc/", pid, ")"));
  std::string line;
  while (std::getline(status, line)) {
    std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() < 2) continue;
    if (f[0] == "VmRSS:") s.rss_kb = std::stoll(f[1]);
    if (f[0] == "VmHWM:") s.hwm_kb = std::stoll(f[1]);
    if (f[0] == "Threads:") s.threads = std::stoll(f[1]);
  }
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at the state, field 3;
  // utime and stime are fields 14 and 15.
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return absl::DataLossError("cannot read /proc/PID/stat");
  std::vector<std::string> f = absl::StrSplit(text.substr(paren + 2), ' ', absl::SkipEmpty());
  if (f.size() < 13) return absl::DataLossError("short /proc/PID/stat");
  s.cpu_ticks = std::stoll(f[11]) + std::stoll(f[12]);
  return s;
}

// SampleAll adds up the samples of every pid (the replicas of one benchmark).
absl::StatusOr<ProcSample> SampleAll(const std::vector<int>& pids) {
  ProcSample sum;
  for (int pid : pids) {
    absl::StatusOr<ProcSample> s = SampleProcess(pid);
    if (!s.ok()) return s.status();
    sum.rss_kb += s->rss_kb;
    sum.hwm_kb += s->hwm_kb;
    sum.threads += s->threads;
    sum.cpu_ticks += s->cpu_ticks;
  }
  return sum;
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return absl::StrCat(a, " ", b, " ", c);
}

// --- statistics ---

struct Summary {
  double p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};
// Nearest-rank percentiles.
Summary Summarize(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(i, 1, v.size()) - 1];
  };
  s.p50 = rank(0.50);
  s.p99 = rank(0.99);
  s.max = v.back();
  return s;
}
double Median(std::vector<double> v) { return v.empty() ? 0 : Summarize(std::move(v)).p50; }

// --- waiting ---

// WaitFor polls `done` every 20 ms until it holds or `timeout` passes; false on timeout.
template <typename F>
bool WaitFor(absl::Duration timeout, F done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// --- scrapes, with curl ---

struct Scrape {
  double seconds = 0;
  int64_t bytes = 0;
};
absl::StatusOr<Scrape> CurlOnce(const std::string& url, bool gzip) {
  const std::string cmd =
      absl::StrCat("curl -sS --max-time 60 ", gzip ? "--compressed " : "",
                   "-o /dev/null -w '%{http_code} %{time_total} %{size_download}' '", url, "'");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return absl::InternalError("cannot run curl");
  char buf[256] = {};
  size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  const int rc = pclose(p);
  int code = 0;
  Scrape s;
  long long bytes = 0;
  if (rc != 0 ||
      sscanf(std::string(buf, n).c_str(), "%d %lf %lld", &code, &s.seconds, &bytes) != 3 ||
      code != 200) {
    return absl::UnavailableError(absl::StrCat("GET ", url, " failed (curl exit ", rc,
                                               ", output \"", std::string(buf, n), "\")"));
  }
  s.bytes = bytes;
  return s;
}
int64_t CountSeries(const std::string& url) {
  FILE* p = popen(absl::StrCat("curl -s --max-time 60 '", url, "' | grep -c -v '^#'").c_str(), "r");
  if (p == nullptr) return -1;
  long long n = -1;
  if (fscanf(p, "%lld", &n) != 1) n = -1;
  pclose(p);
  return n;
}

// --- the run ---

absl::Status Fail(std::string message) { return absl::DeadlineExceededError(std::move(message)); }

absl::Status Run(nlohmann::json& out) {
  const int n = absl::GetFlag(FLAGS_nodes);
  const int per_channel = std::max(1, absl::GetFlag(FLAGS_per_channel));
  const int changes = std::clamp(absl::GetFlag(FLAGS_changes), 0, kMaxChanges - 1);
  const std::vector<std::string> targets =
      absl::StrSplit(absl::GetFlag(FLAGS_target), ',', absl::SkipWhitespace());
  const std::string target = absl::GetFlag(FLAGS_target);
  std::vector<int> pids;
  for (absl::string_view p :
       absl::StrSplit(absl::GetFlag(FLAGS_controller_pid), ',', absl::SkipWhitespace())) {
    int pid = 0;
    if (!absl::SimpleAtoi(p, &pid) || pid <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--controller-pid: \"", p, "\" is not a pid"));
    }
    pids.push_back(pid);
  }
  const int kill_index = absl::GetFlag(FLAGS_failover_kill);
  const int t = static_cast<int>(targets.size());
  if (n < 3) return absl::InvalidArgumentError("--nodes must be at least 3");
  if (t == 0) return absl::InvalidArgumentError("--target is empty");
  if (kill_index >= 0 && (t < 2 || kill_index >= t || static_cast<int>(pids.size()) != t)) {
    return absl::InvalidArgumentError(
        "--failover-kill needs at least two --target addresses, an index among them, and one "
        "--controller-pid per address");
  }

  out["nodes"] = n;
  out["channels"] = (n + per_channel - 1) / per_channel;
  out["load_average_start"] = LoadAverage();
  ProcSample before;
  if (!pids.empty()) {
    absl::StatusOr<ProcSample> s = SampleAll(pids);
    if (!s.ok()) return s.status();
    before = *s;
    out["controller"]["rss_before_kb"] = before.rss_kb;
  }

  // Identities: real X25519 key pairs, so the controller's id == hash(key) check runs.
  std::cerr << "controller_load: generating " << n << " identities\n";
  std::vector<Identity> identities;
  std::vector<std::string> ids;
  identities.reserve(n);
  ids.reserve(n);
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<Identity> id = Identity::Generate();
    if (!id.ok()) return id.status();
    ids.push_back(id->id().ToString());
    identities.push_back(*std::move(id));
  }

  // Per address, channels for the nodes that start on it; a node that moves to another address
  // shares the channel of its rank there.
  const int per_target = (n + t - 1) / t;
  const int channels = (per_target + per_channel - 1) / per_channel;
  std::vector<std::vector<std::unique_ptr<v1::NodeSession::Stub>>> stubs(t);
  for (int a = 0; a < t; ++a) {
    for (int c = 0; c < channels; ++c) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("fleetbond.bench.channel", c);  // distinct args: never a shared connection
      args.SetMaxReceiveMessageSize(-1);
      stubs[a].push_back(v1::NodeSession::NewStub(
          grpc::CreateCustomChannel(targets[a], grpc::InsecureChannelCredentials(), args)));
    }
  }
  Stats stats;
  std::vector<std::unique_ptr<SimNode>> nodes;
  nodes.reserve(n);
  for (int i = 0; i < n; ++i) {
    std::vector<v1::NodeSession::Stub*> mine;
    for (int a = 0; a < t; ++a) mine.push_back(stubs[a][(i / t) / per_channel].get());
    nodes.push_back(std::make_unique<SimNode>(
        stats, i, n, identities[i], changes + (kill_index >= 0 ? 1 : 0), std::move(mine), ids));
  }

  // The metrics thread: every 20 ms, the reports and reconnects that are due.
  std::atomic<bool> ticking{true};
  std::thread ticker([&] {
    absl::BitGen gen;
    while (ticking.load()) {
      const int64_t now = MonoNanos();
      for (auto& node : nodes) node->Tick(now, gen);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  // Whatever happens from here on, every session ends before `nodes` goes away.
  absl::Cleanup stop_all = [&] {
    stats.stopping.store(true);
    ticking.store(false);
    ticker.join();
    for (auto& node : nodes) node->Stop();
    if (!WaitFor(absl::Seconds(30), [&] { return stats.sessions_open.load() == 0; })) {
      // gRPC still holds sessions: leaving would destroy nodes it will call.
      std::cerr << "controller_load: " << stats.sessions_open.load()
                << " sessions did not end within 30 s of being cancelled\n";
      std::cout.flush();
      _exit(1);
    }
  };

  // 1. Connect: every session at once, as after a controller restart.
  std::cerr << "controller_load: opening " << n << " sessions on " << t * channels
            << " channels to " << target << "\n";
  const int64_t t0 = MonoNanos();
  const double self_cpu0 = SelfCpuSeconds();
  for (auto& node : nodes) node->Connect();
  const absl::Duration connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  const absl::Time connect_deadline = absl::Now() + connect_timeout;
  // Progress every 10 s, and what was reached when the wait fails.
  int64_t next_progress = t0 + 10'000'000'000;
  auto progress = [&] {
    nlohmann::json p = {{"elapsed_s", NanosToS(MonoNanos() - t0)},
                        {"first_acks", stats.first_acks.load()},
                        {"pushes", stats.pushes.load()},
                        {"push_mbytes", static_cast<double>(stats.push_bytes.load()) / 1e6},
                        {"drops", stats.drops.load()}};
    if (!pids.empty()) {
      absl::StatusOr<ProcSample> s = SampleAll(pids);
      if (s.ok()) p["controller_rss_kb"] = s->rss_kb;
    }
    return p;
  };
  bool controller_gone = false;
  if (!WaitFor(connect_timeout,
               [&] {
                 if (MonoNanos() >= next_progress) {
                   next_progress += 10'000'000'000;
                   std::cerr << "controller_load: " << progress().dump() << "\n";
                 }
                 controller_gone = !pids.empty() && !SampleAll(pids).ok();
                 return stats.first_acks.load() == n || controller_gone;
               }) ||
      controller_gone) {
    out["connect"] = progress();
    return Fail(absl::StrCat(controller_gone ? "the controller exited" : "timed out", ": ",
                             stats.first_acks.load(), " of ", n,
                             " nodes had acked their first push after ", NanosToS(MonoNanos() - t0),
                             " s (", stats.Drops(), ")"));
  }
  int64_t last_first_ack = 0;
  for (auto& node : nodes) last_first_ack = std::max(last_first_ack, node->first_ack_ns());
  const absl::Duration quiet = absl::GetFlag(FLAGS_quiet);
  if (!WaitFor(std::max(connect_deadline - absl::Now(), absl::ZeroDuration()), [&] {
        return MonoNanos() - stats.last_push_ns.load() >= absl::ToInt64Nanoseconds(quiet);
      })) {
    return Fail(absl::StrCat("pushes still arriving ", absl::FormatDuration(connect_timeout),
                             " after the sessions opened (", stats.Drops(), ")"));
  }
  const int64_t settled = stats.last_push_ns.load();
  out["connect"] = {
      {"all_first_acks_s", NanosToS(last_first_ack - t0)},
      {"settled_s", NanosToS(settled - t0)},
      {"pushes", stats.pushes.load()},
      {"push_mbytes", static_cast<double>(stats.push_bytes.load()) / 1e6},
      {"peers_full", stats.peers_full.load()},
      {"peers_delta", stats.peers_delta.load()},
      {"peers_unchanged", stats.peers_unchanged.load()},
      {"nacks", stats.nacks.load()},
      {"drops", stats.drops.load()},
      {"loadgen_cpu_s", SelfCpuSeconds() - self_cpu0},
  };
  std::cerr << "controller_load: all " << n << " acked their first push after "
            << NanosToS(last_first_ack - t0) << " s; pushes stopped after "
            << NanosToS(settled - t0) << " s\n";

  // 2. Memory, once the ramp is over.
  if (!pids.empty()) {
    absl::StatusOr<ProcSample> s = SampleAll(pids);
    if (!s.ok()) return s.status();
    out["controller"]["rss_kb"] = s->rss_kb;
    out["controller"]["hwm_kb"] = s->hwm_kb;
    out["controller"]["threads"] = s->threads;
    out["controller"]["rss_per_session_kb"] = static_cast<double>(s->rss_kb - before.rss_kb) / n;
    if (absl::GetFlag(FLAGS_gdb_trim)) {
      bool trimmed = true;
      for (int pid : pids) {
        const std::string cmd =
            absl::StrCat("gdb -p ", pid, " -batch -ex 'call (int)malloc_trim(0)' >/dev/null 2>&1");
        if (std::system(cmd.c_str()) != 0) {
          std::cerr << "controller_load: gdb could not call malloc_trim in " << pid << "\n";
          trimmed = false;
        }
      }
      if (trimmed) {
        absl::StatusOr<ProcSample> after = SampleAll(pids);
        if (!after.ok()) return after.status();
        out["controller"]["trimmed_rss_kb"] = after->rss_kb;
        out["controller"]["trimmed_rss_per_session_kb"] =
            static_cast<double>(after->rss_kb - before.rss_kb) / n;
      }
    }
  }

  // 3. CPU under steady metrics traffic.
  const absl::Duration window = absl::GetFlag(FLAGS_cpu_window);
  if (!pids.empty() && window > absl::ZeroDuration()) {
    std::cerr << "controller_load: measuring CPU for " << absl::FormatDuration(window) << "\n";
    absl::StatusOr<ProcSample> a = SampleAll(pids);
    if (!a.ok()) return a.status();
    const int64_t reports0 = stats.reports.load();
    const double self0 = SelfCpuSeconds();
    const int64_t w0 = MonoNanos();
    absl::SleepFor(window);
    absl::StatusOr<ProcSample> b = SampleAll(pids);
    if (!b.ok()) return b.status();
    const double secs = NanosToS(MonoNanos() - w0);
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    out["cpu"] = {
        {"window_s", secs},
        {"controller_percent_of_core",
         100.0 * static_cast<double>(b->cpu_ticks - a->cpu_ticks) / ticks / secs},
        {"reports_per_s", static_cast<double>(stats.reports.load() - reports0) / secs},
        {"loadgen_percent_of_core", 100.0 * (SelfCpuSeconds() - self0) / secs},
        {"load_average", LoadAverage()},
    };
  }

  // 4. Settings changes: from the RPC's return to every node's receipt of the push.
  grpc::ChannelArguments op_args;
  op_args.SetMaxReceiveMessageSize(-1);
  auto fleet = v1::Fleet::NewStub(
      grpc::CreateCustomChannel(targets[0], grpc::InsecureChannelCredentials(), op_args));
  const absl::Duration change_timeout = absl::GetFlag(FLAGS_change_timeout);
  std::vector<double> all_ms;
  // Change k through `via`: from the RPC's return to each node's receipt of the push.
  auto change = [&](v1::Fleet::Stub& via, int k) -> absl::StatusOr<nlohmann::json> {
    v1::ReplaceSettingsRequest req;
    req.set_local_conf_json(
        absl::StrFormat(R"({"settings": {"defaultBondingPolicy": "%s", "policies": {"%s": )"
                        R"({"basePolicy": "active-backup", "failoverInterval": %d}}}})",
                        kMarkerPolicy, kMarkerPolicy, kMarkerBase + k));
    v1::FleetSettings resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const int64_t call = MonoNanos();
    grpc::Status st = via.ReplaceSettings(&ctx, req, &resp);
    const int64_t returned = MonoNanos();
    if (!st.ok()) {
      return absl::UnavailableError(absl::StrCat("ReplaceSettings failed: ", st.error_message()));
    }
    if (!WaitFor(change_timeout, [&] { return stats.change_seen[k].load() == n; })) {
      return Fail(absl::StrCat("change ", k, ": only ", stats.change_seen[k].load(), " of ", n,
                               " nodes acked it within ", absl::FormatDuration(change_timeout)));
    }
    std::vector<double> ms;
    ms.reserve(n);
    for (auto& node : nodes) {
      ms.push_back(std::max(0.0, NanosToMs(node->change_seen_ns(k) - returned)));
    }
    Summary s = Summarize(ms);
    all_ms.insert(all_ms.end(), ms.begin(), ms.end());
    std::cerr << "controller_load: change " << k << " (settings version " << resp.version()
              << "): p50 " << s.p50 << " ms, p99 " << s.p99 << " ms, last " << s.max << " ms\n";
    return nlohmann::json{{"version", resp.version()},
                          {"rpc_ms", NanosToMs(returned - call)},
                          {"p50_ms", s.p50},
                          {"p99_ms", s.p99},
                          {"last_ack_ms", s.max}};
  };
  nlohmann::json per_change = nlohmann::json::array();
  for (int k = 1; k <= changes; ++k) {
    absl::StatusOr<nlohmann::json> c = change(*fleet, k);
    if (!c.ok()) return c.status();
    per_change.push_back(*std::move(c));
    if (k < changes) absl::SleepFor(absl::GetFlag(FLAGS_change_spacing));
  }
  if (changes > 0) {
    Summary s = Summarize(all_ms);
    out["change_to_ack"] = {{"samples", s.n},
                            {"p50_ms", s.p50},
                            {"p99_ms", s.p99},
                            {"max_ms", s.max},
                            {"changes", per_change}};
  }

  // The operator API at this size: ListNodes (every node acked what it was sent), one rotate.
  {
    v1::ListNodesResponse list;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const int64_t a = MonoNanos();
    grpc::Status st = fleet->ListNodes(&ctx, v1::ListNodesRequest(), &list);
    const int64_t b = MonoNanos();
    if (!st.ok()) {
      return absl::UnavailableError(absl::StrCat("ListNodes failed: ", st.error_message()));
    }
    int64_t connected = 0, in_sync = 0;
    for (const v1::NodeStatus& s : list.nodes()) {
      connected += s.connected();
      in_sync += s.connected() && s.acked_version() == s.desired_version();
    }
    // A rotate of node i through the first address; with replicas, node 1 is on the second.
    auto rotate = [&](int i) {
      v1::RotateBondResponse rotated;
      grpc::ClientContext rctx;
      rctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::NodeBondRequest rreq;
      rreq.set_node_id(ids[i]);
      rreq.set_peer(ids[(i + 1) % n]);
      const int64_t c = MonoNanos();
      grpc::Status rst = fleet->RotateNodeBond(&rctx, rreq, &rotated);
      return std::make_pair(NanosToMs(MonoNanos() - c), rst.ok());
    };
    auto [rotate_ms, rotate_ok] = rotate(0);
    out["operator_api"] = {{"list_nodes_ms", NanosToMs(b - a)},
                           {"list_nodes_mbytes", static_cast<double>(list.ByteSizeLong()) / 1e6},
                           {"listed", list.nodes_size()},
                           {"connected", connected},
                           {"acked_desired", in_sync},
                           {"rotate_ms", rotate_ms},
                           {"rotate_ok", rotate_ok}};
    if (t > 1) {
      auto [forwarded_ms, forwarded_ok] = rotate(1);
      out["operator_api"]["rotate_forwarded_ms"] = forwarded_ms;
      out["operator_api"]["rotate_forwarded_ok"] = forwarded_ok;
    }
  }

  // 5. Scrapes, while the metrics traffic goes on.
  const std::string url = absl::GetFlag(FLAGS_metrics_url);
  if (!url.empty() && absl::GetFlag(FLAGS_scrapes) > 0) {
    std::cerr << "controller_load: scraping " << url << "\n";
    for (bool gzip : {false, true}) {
      std::vector<double> secs;
      int64_t bytes = 0;
      for (int i = 0; i < absl::GetFlag(FLAGS_scrapes); ++i) {
        absl::StatusOr<Scrape> s = CurlOnce(url, gzip);
        if (!s.ok()) {
          return s.status();
        }
        secs.push_back(s->seconds * 1000);
        bytes = s->bytes;
      }
      out["scrape"][gzip ? "gzip" : "plain"] = {
          {"median_ms", Median(secs)},
          {"max_ms", *std::max_element(secs.begin(), secs.end())},
          {"mbytes", static_cast<double>(bytes) / 1e6}};
    }
    out["scrape"]["series"] = CountSeries(url);
  }

  // 6. Failover: SIGKILL one replica; its nodes dial the next address and ack a push there.
  if (kill_index >= 0) {
    std::vector<int> moved;
    for (int i = 0; i < n; ++i) {
      if (nodes[i]->target() == kill_index && nodes[i]->connected()) moved.push_back(i);
    }
    std::cerr << "controller_load: SIGKILL of replica " << targets[kill_index] << " (pid "
              << pids[kill_index] << "), holding " << moved.size() << " sessions\n";
    const int64_t killed = MonoNanos();
    if (kill(pids[kill_index], SIGKILL) != 0) {
      return absl::InternalError(absl::StrCat("kill ", pids[kill_index], " failed"));
    }
    auto all_moved = [&] {
      for (int i : moved) {
        if (nodes[i]->target() == kill_index || nodes[i]->session_ack_ns() <= killed) return false;
      }
      return true;
    };
    if (!WaitFor(absl::GetFlag(FLAGS_connect_timeout), all_moved)) {
      int64_t done = 0;
      for (int i : moved) {
        done += nodes[i]->target() != kill_index && nodes[i]->session_ack_ns() > killed;
      }
      return Fail(absl::StrCat("failover: only ", done, " of ", moved.size(),
                               " nodes of the killed replica acked a push from another one"));
    }
    std::vector<double> ms;
    for (int i : moved) ms.push_back(NanosToMs(nodes[i]->session_ack_ns() - killed));
    Summary s = Summarize(ms);
    out["failover"] = {{"replica", targets[kill_index]},
                       {"nodes_moved", moved.size()},
                       {"p50_ms", s.p50},
                       {"p99_ms", s.p99},
                       {"max_ms", s.max}};
    std::cerr << "controller_load: " << moved.size() << " nodes moved: p50 " << s.p50 << " ms, p99 "
              << s.p99 << " ms, last " << s.max << " ms\n";
    // One more change, through a survivor: every node, moved or not, must ack it.
    const std::string& survivor = targets[kill_index == 0 ? 1 : 0];
    auto via = v1::Fleet::NewStub(
        grpc::CreateCustomChannel(survivor, grpc::InsecureChannelCredentials(), op_args));
    absl::StatusOr<nlohmann::json> c = change(*via, changes + 1);
    if (!c.ok()) return c.status();
    out["failover"]["change_after"] = *std::move(c);
  }

  out["totals"] = {{"pushes", stats.pushes.load()},     {"acks", stats.acks.load()},
                   {"nacks", stats.nacks.load()},       {"reports", stats.reports.load()},
                   {"commands", stats.commands.load()}, {"reconnects", stats.reconnects.load()}};
  out["drops"] = {{"sessions", stats.drops.load()}, {"reconnects", stats.reconnects.load()}};
  if (stats.drops.load() > 0) {
    absl::MutexLock lock(&stats.mu);
    out["drops"]["first"] = stats.first_drop;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace fleetbond::bench

int main(int argc, char** argv) {
  fleetbond::AcceptDashedFlags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  nlohmann::json out;
  absl::Status status = fleetbond::bench::Run(out);
  out["ok"] = status.ok();
  if (!status.ok()) out["error"] = std::string(status.message());
  const std::string text = out.dump(2);
  std::cout << text << "\n";
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream(path) << text << "\n";
  }
  if (!status.ok()) {
    std::cerr << "controller_load: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
