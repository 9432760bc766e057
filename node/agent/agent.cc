#include "node/agent/agent.h"

#include <chrono>
#include <iostream>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/api/bond_proto.h"
#include "shared/settings/policy_resolver.h"

namespace fleetbond::agent {
namespace {

std::ostream& Log() { return std::cerr << "fleetbond-node: controller: "; }

// DialError asks gRPC why a channel could not connect: a call on it fails at once with the last
// connection error (refused, TLS handshake and certificate failures, ...).
std::string DialError(const std::shared_ptr<grpc::Channel>& channel) {
  std::unique_ptr<v1::NodeSession::Stub> stub = v1::NodeSession::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::unique_ptr<grpc::ClientReaderWriter<v1::NodeMessage, v1::ControllerMessage>> stream =
      stub->Connect(&context);
  grpc::Status status = stream->Finish();
  if (status.ok()) return "no error given";
  std::string error = status.error_message();
  // With TLS 1.3 a controller that refuses this node's certificate just closes the connection.
  if (error.find("Socket closed") != std::string::npos) {
    error +=
        " (the controller closed the connection while setting it up: with TLS, check that "
        "--controller-cert was issued by the fleet CA the controller trusts)";
  }
  return error;
}

// RedirectHint reads the controller's redirect hint from the trailing metadata of an ended session
// (a draining replica names another one; docs/agent.md, "Several controllers").
std::optional<std::string> RedirectHint(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(kRedirectMetadataKey);
  if (it == trailers.end() || it->second.empty()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

// How long one dial may take before it counts as a failed attempt; Stop is checked every step.
constexpr absl::Duration kDialTimeout = absl::Seconds(10);
constexpr absl::Duration kDialStep = absl::Seconds(1);

}  // namespace

v1::NodeCounters MetricsCounters(const daemon::DataPlane::DropCounters& drops) {
  v1::NodeCounters out;
  out.set_drops_unknown_path(drops.unknown_path);
  out.set_drops_no_route(drops.no_route);
  out.set_drops_no_usable_path(drops.no_usable_path);
  out.set_drops_duplicates(drops.duplicates);
  uint64_t bad = 0;
  for (uint64_t n : drops.by_reason) bad += n;
  out.set_drops_bad_packets(bad);
  return out;
}

ControllerAgent::ControllerAgent(AgentOptions options, settings::LocalConf local,
                                 api::NodeBackend& backend, NodeControl& control, Clock& clock)
    : options_(std::move(options)),
      local_(std::move(local)),
      backend_(backend),
      control_(control),
      clock_(clock),
      store_(options_.home) {}

ControllerAgent::~ControllerAgent() { Stop(); }

void ControllerAgent::RestoreSavedPush() {
  absl::StatusOr<std::optional<v1::ConfigPush>> saved = store_.Load();
  if (!saved.ok()) {
    Log() << saved.status().message() << "; starting without a saved push\n";
    return;
  }
  if (!saved->has_value()) return;
  PushVerdict verdict = JudgePush(**saved, local_, options_.hello.id, nullptr);
  if (verdict.kind != PushVerdict::Kind::kApply) {
    Log() << "the saved push " << (*saved)->version()
          << " cannot be used with this local.conf; starting without it:\n";
    for (const settings::Issue& i : verdict.errors)
      Log() << "  " << settings::FormatIssue(i) << "\n";
    return;
  }
  Log() << "running on the saved push " << (*saved)->version() << " until the controller answers\n";
  Apply(*std::move(verdict.applied), /*persist=*/false);
}

void ControllerAgent::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ControllerAgent::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  {
    absl::MutexLock lock(&mu_);
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t ControllerAgent::acked_version() {
  absl::MutexLock lock(&mu_);
  return acked_.has_value() ? acked_->version() : 0;
}

api::ControllerView ControllerAgent::View() {
  absl::MutexLock lock(&mu_);
  return api::ControllerView{.connected = connected_.load(),
                             .sources = sources_,
                             .warnings = warnings_,
                             .directory = directory_};
}

void ControllerAgent::Run() {
  absl::BitGen gen;
  absl::StatusOr<std::vector<HostPort>> controllers = ParseControllerList(options_.controller);
  if (!controllers.ok()) {  // main checked it; a test may not have
    Log() << controllers.status().message() << "\n";
    return;
  }
  Resolver& resolver = options_.resolver != nullptr ? *options_.resolver : SystemResolver::Get();
  ControllerRotation rotation(*std::move(controllers), resolver, options_.backoff, gen);
  while (!stop_.HasBeenNotified()) {
    ControllerRotation::Outcome outcome = ControllerRotation::Outcome::kDialFailed;
    std::optional<std::string> redirect;
    absl::StatusOr<DialTarget> target = rotation.Next();
    if (!target.ok()) {
      Log() << target.status().message() << "\n";
    } else {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options_.keepalive_time));
      args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options_.keepalive_timeout));
      args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
      args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
      // A channel of our own per attempt, with its own subchannels: gRPC's reconnect backoff of a
      // shared subchannel would otherwise stack on top of ours.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      // The target is one resolved address; TLS checks the certificate for the name given.
      args.SetSslTargetNameOverride(target->authority);
      std::shared_ptr<grpc::Channel> channel =
          grpc::CreateCustomChannel(target->target, options_.credentials, args);
      // One connection attempt: a refused or failed one ends it at once (TRANSIENT_FAILURE), so
      // that our backoff, not gRPC's, decides when to try again; a silent one ends after
      // kDialTimeout. Stop is checked every kDialStep.
      const absl::Time give_up = absl::Now() + kDialTimeout;
      grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
      while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
             state != GRPC_CHANNEL_SHUTDOWN && !stop_.HasBeenNotified() && absl::Now() < give_up) {
        channel->WaitForStateChange(
            state, std::chrono::system_clock::now() + absl::ToChronoMilliseconds(kDialStep));
        state = channel->GetState(/*try_to_connect=*/true);
      }
      if (stop_.HasBeenNotified()) break;
      if (state == GRPC_CHANNEL_READY) {
        std::unique_ptr<v1::NodeSession::Stub> stub = v1::NodeSession::NewStub(channel);
        SessionEnd end = Session(*stub, target->display);
        outcome = end.acked ? ControllerRotation::Outcome::kSessionWorked
                            : ControllerRotation::Outcome::kSessionEnded;
        redirect = std::move(end.redirect);
      } else {
        Log() << "cannot reach " << target->display << ": " << DialError(channel) << "\n";
      }
    }
    const absl::Duration wait = rotation.Done(outcome, redirect, gen);
    absl::StatusOr<DialTarget> next = rotation.Next();
    Log() << "dialing " << (next.ok() ? next->display : std::string("the controller")) << " in "
          << wait << "\n";
    stop_.WaitForNotificationWithTimeout(wait);
  }
}

ControllerAgent::SessionEnd ControllerAgent::Session(v1::NodeSession::Stub& stub,
                                                     const std::string& controller) {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stop_.HasBeenNotified()) return {};
    context_ = &context;
    session_done_ = false;
  }
  std::unique_ptr<Stream> stream = stub.Connect(&context);
  v1::NodeMessage hello;
  *hello.mutable_hello() = BuildHello(options_.hello, control_.Interfaces(), acked_version());
  bool acked = false;
  if (Write(*stream, hello)) {
    connected_ = true;
    Log() << "connected to " << controller << " (running on push "
          << hello.hello().last_acked_version() << ")\n";
    absl::Notification metrics_done;
    std::thread metrics([&] {
      SendMetrics(*stream);
      metrics_done.Notify();
    });
    v1::ControllerMessage message;
    while (stream->Read(&message)) {
      if (message.has_push()) {
        std::optional<v1::NodeMessage> answer = HandlePush(message.push());
        if (answer.has_value()) {
          acked = acked || answer->has_ack();
          if (!Write(*stream, *answer)) break;
        }
      } else if (message.has_command()) {
        v1::NodeMessage answer;
        *answer.mutable_command_result() = HandleCommand(message.command());
        if (!Write(*stream, answer)) break;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      session_done_ = true;
    }
    // A Write the metrics thread may be blocked in (a controller that stopped reading) is ended by
    // cancelling. Otherwise the call is left alone: a cancelled call's Finish reports CANCELLED
    // instead of the controller's status and trailers (a draining replica's redirect).
    if (!metrics_done.WaitForNotificationWithTimeout(absl::Seconds(1))) context.TryCancel();
    metrics.join();
    connected_ = false;
  }
  const grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
  }
  SessionEnd end;
  end.acked = acked;
  end.redirect = RedirectHint(context);
  Log() << "session with " << controller << " ended: "
        << (status.ok() ? std::string("closed by the controller")
                        : absl::StrCat("code ", status.error_code(), ", ", status.error_message()))
        << (end.redirect.has_value() ? absl::StrCat("; sent to ", *end.redirect) : "") << "\n";
  return end;
}

bool ControllerAgent::Write(Stream& stream, const v1::NodeMessage& message) {
  absl::MutexLock lock(&write_mu_);
  return stream.Write(message);
}

void ControllerAgent::SendMetrics(Stream& stream) {
  absl::Time last = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Wakes at the due time, at the session's end, or when a push changes the interval.
      while (!session_done_) {
        const uint64_t generation = generation_;
        const absl::Time due = last + MetricsIntervalLocked();
        if (absl::Now() >= due) break;
        auto woken = [&] { return session_done_ || generation_ != generation; };
        mu_.AwaitWithDeadline(absl::Condition(&woken), due);
      }
      if (session_done_) return;
    }
    last = absl::Now();
    v1::NodeMessage message;
    *message.mutable_metrics() = Metrics();
    if (!Write(stream, message)) return;
  }
}

absl::Duration ControllerAgent::MetricsIntervalLocked() {
  if (!acked_.has_value() || acked_->metrics_interval_ms() == 0) {
    return options_.default_metrics_interval;
  }
  return std::max(options_.min_metrics_interval, absl::Milliseconds(acked_->metrics_interval_ms()));
}

v1::Bond ControllerAgent::BondView(const bond::BondSnapshot& snapshot,
                                   const settings::LocalConf& conf) {
  v1::Bond out = api::BondToProto(snapshot, options_.hello.port);
  absl::StatusOr<settings::PolicyResolver> resolver =
      settings::PolicyResolver::Create(conf.settings);
  if (!resolver.ok()) return out;
  if (const ResolvedPolicy* policy = resolver->Find(snapshot.policy_name)) {
    for (v1::Path& path : *out.mutable_paths()) {
      const LinkPolicy* link = policy->FindLink(path.interface());
      path.set_spare(link != nullptr && link->mode == LinkMode::kSpare);
    }
  }
  return out;
}

v1::MetricsReport ControllerAgent::Metrics() {
  v1::MetricsReport report;
  report.set_unix_time_ms(absl::ToUnixMillis(clock_.Now()));
  const settings::LocalConf conf = backend_.CurrentSettings();
  for (const bond::BondSnapshot& s : backend_.Snapshots()) *report.add_bonds() = BondView(s, conf);
  *report.mutable_counters() = MetricsCounters(backend_.Drops());
  return report;
}

std::optional<v1::NodeMessage> ControllerAgent::HandlePush(const v1::ConfigPush& push) {
  std::optional<v1::ConfigPush> acked;
  {
    absl::MutexLock lock(&mu_);
    acked = acked_;
  }
  PushVerdict verdict = JudgePush(push, local_, options_.hello.id, acked ? &*acked : nullptr);
  v1::NodeMessage answer;
  switch (verdict.kind) {
    case PushVerdict::Kind::kIgnore:
      Log() << verdict.reason << "\n";
      return std::nullopt;
    case PushVerdict::Kind::kReAck:
      Log() << verdict.reason << "\n";
      answer.mutable_ack()->set_version(push.version());
      return answer;
    case PushVerdict::Kind::kNack:
      Log() << "push " << push.version() << " refused (" << verdict.errors.size()
            << " error(s)); keeping push " << (acked ? acked->version() : 0) << ":\n";
      answer.mutable_nack()->set_version(push.version());
      for (const settings::Issue& i : verdict.errors) {
        Log() << "  " << settings::FormatIssue(i) << "\n";
        *answer.mutable_nack()->add_errors() = settings::ToProto(i);
      }
      return answer;
    case PushVerdict::Kind::kApply:
      Apply(*std::move(verdict.applied), /*persist=*/true);
      answer.mutable_ack()->set_version(push.version());
      return answer;
  }
  return std::nullopt;
}

void ControllerAgent::Apply(AppliedPush applied, bool persist) {
  const std::vector<settings::Issue> warnings = applied.settings.warnings;
  // Settings first: new peers' bonds are made with the policies in force.
  backend_.ApplySettings(std::move(applied.settings));
  control_.SetDirectory(applied.directory);
  if (persist) {
    absl::Status saved = store_.Save(applied.push);
    if (!saved.ok()) {
      Log() << "push " << applied.push.version() << " applied but not saved: " << saved.message()
            << "; a restart will run on the push saved before it\n";
    }
  }
  for (const settings::Issue& w : warnings) Log() << settings::FormatIssue(w) << "\n";
  Log() << "running on push " << applied.push.version() << ": overlay "
        << (applied.directory.overlay.empty() ? "(none)" : applied.directory.overlay) << ", "
        << applied.directory.peers.size() << " peer(s)\n";
  absl::MutexLock lock(&mu_);
  acked_ = std::move(applied.push);
  sources_ = std::move(applied.sources);
  warnings_ = warnings;
  directory_ = std::move(applied.directory);
  ++generation_;
}

v1::CommandResult ControllerAgent::HandleCommand(const v1::Command& command) {
  v1::CommandResult result;
  result.set_id(command.id());
  auto fail = [&](const absl::Status& status) {
    result.set_code(static_cast<int32_t>(status.code()));
    result.set_message(std::string(status.message()));
  };
  switch (command.kind_case()) {
    case v1::Command::kRotate: {
      const std::string& peer = command.rotate().peer();
      absl::StatusOr<bond::Rotation> r = backend_.Rotate(peer);
      if (!r.ok()) {
        fail(r.status());
        break;
      }
      // Paths named as the local API names them ("eth0/10.201.0.2/9800").
      std::string from = r->from_description;
      std::string to = r->to_description;
      absl::StatusOr<bond::BondSnapshot> s = backend_.Snapshot(peer);
      if (s.ok()) {
        for (const bond::PathSnapshot& p : s->paths) {
          if (p.id == r->from) from = api::PathName(p.spec);
          if (p.id == r->to) to = api::PathName(p.spec);
        }
      }
      v1::RotateBondResponse* out = result.mutable_rotate();
      out->set_from(from);
      out->set_to(to);
      out->set_from_idx(r->from);
      out->set_to_idx(r->to);
      break;
    }
    case v1::Command::kGetBond: {
      absl::StatusOr<bond::BondSnapshot> s = backend_.Snapshot(command.get_bond().peer());
      if (!s.ok()) {
        fail(s.status());
        break;
      }
      *result.mutable_bond() = BondView(*s, backend_.CurrentSettings());
      break;
    }
    default:
      fail(absl::UnimplementedError(
          absl::StrCat("command ", command.id(), " is of a kind this node (fleetbond-node ",
                       options_.hello.software_version, ") does not know")));
      break;
  }
  return result;
}

}  // namespace fleetbond::agent
