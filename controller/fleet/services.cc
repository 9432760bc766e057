#include "controller/fleet/services.h"

#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "shared/identity/identity.h"
#include "shared/settings/settings_validator.h"

namespace fleetbond::controller {
namespace {

// A node that stops reading its stream is cut off rather than buffered without bound.
constexpr size_t kMaxQueuedMessages = 256;

using Reactor = grpc::ServerBidiReactor<v1::NodeMessage, v1::ControllerMessage>;

// Sink queues a session's outgoing messages and writes them one at a time (the callback API
// allows one outstanding write). Decisions are taken under its lock; gRPC is called outside it.
class Sink : public SessionSink {
 public:
  Sink(Reactor* reactor, grpc::CallbackServerContext* context)
      : reactor_(reactor), context_(context) {}

  void Send(const v1::ControllerMessage& message) override {
    const v1::ControllerMessage* start = nullptr;
    bool overflow = false;
    {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr || finishing_) return;
      if (queue_.size() >= kMaxQueuedMessages) {
        overflow = true;
      } else {
        queue_.push_back(message);
        if (!writing_) {
          writing_ = true;
          start = &queue_.front();
        }
      }
    }
    if (overflow) {
      Close(absl::ResourceExhaustedError("the node is not reading its session; closing it"));
      return;
    }
    if (start != nullptr) reactor_->StartWrite(start);
  }

  void Close(const absl::Status& status) override {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr || finishing_) return;
      finishing_ = true;
      status_ = ToGrpc(status);
      // A draining replica names another one (replica.proto, "Redirect").
      if (absl::optional<absl::Cord> to = status.GetPayload(kRedirectPayload); to.has_value()) {
        context_->AddTrailingMetadata(kRedirectPayload, std::string(*to));
      }
      finish = !writing_;
    }
    if (finish) reactor_->Finish(status_);
  }

  // WriteDone: the write in progress ended.
  void WriteDone(bool ok) {
    const v1::ControllerMessage* next = nullptr;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      queue_.pop_front();
      if (!ok) queue_.clear();  // the stream is broken; its read side ends the session
      if (!queue_.empty() && !finishing_) {
        next = &queue_.front();
      } else {
        writing_ = false;
        finish = finishing_;
      }
    }
    if (next != nullptr) reactor_->StartWrite(next);
    if (finish) reactor_->Finish(status_);
  }

  void Detach() {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
  }

 private:
  absl::Mutex mu_;
  Reactor* reactor_;
  grpc::CallbackServerContext* const context_;
  std::deque<v1::ControllerMessage> queue_;  // front: being written
  bool writing_ = false;
  bool finishing_ = false;
  grpc::Status status_;
};

class SessionReactor : public Reactor {
 public:
  SessionReactor(Fleet& fleet, const Auth& auth, grpc::CallbackServerContext* context)
      : fleet_(fleet),
        auth_(auth),
        context_(context),
        sink_(std::make_shared<Sink>(this, context)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the node closed its side, or the stream broke
      sink_->Close(absl::OkStatus());
      return;
    }
    absl::Status status = session_ == 0 ? Hello() : fleet_.OnMessage(node_id_, session_, in_);
    if (!status.ok()) {
      sink_->Close(status);
      return;
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override { sink_->WriteDone(ok); }

  void OnCancel() override { sink_->Close(absl::CancelledError("session cancelled")); }

  void OnDone() override {
    sink_->Detach();
    if (session_ != 0) fleet_.Disconnect(node_id_, session_);
    delete this;
  }

 private:
  absl::Status Hello() {
    if (!in_.has_hello()) {
      return absl::FailedPreconditionError("a session starts with Hello");
    }
    if (auth_.node) {
      absl::Status allowed = auth_.node(*context_, in_.hello().node_id());
      if (!allowed.ok()) return allowed;
    }
    absl::StatusOr<uint64_t> session = fleet_.Connect(in_.hello(), sink_);
    if (!session.ok()) return session.status();
    node_id_ = in_.hello().node_id();
    session_ = *session;
    return absl::OkStatus();
  }

  Fleet& fleet_;
  const Auth& auth_;
  grpc::CallbackServerContext* context_;
  std::shared_ptr<Sink> sink_;
  v1::NodeMessage in_;
  std::string node_id_;
  uint64_t session_ = 0;
};

void FillStatus(const NodeSnapshot& n, v1::NodeStatus* out) {
  out->set_id(n.record.id);
  out->mutable_labels()->insert(n.record.labels.begin(), n.record.labels.end());
  out->set_connected(n.connected);
  out->set_overlay_address(n.overlay);
  out->set_software_version(n.record.software_version);
  out->set_acked_version(n.record.acked_version);
  out->set_desired_version(n.desired_version);
  out->set_nacked_version(n.record.nacked_version);
  out->set_last_nack_error(n.record.last_nack_error);
  out->set_last_seen_unix_ms(n.record.last_seen_unix_ms);
  for (const std::string& e : n.record.endpoints) out->add_endpoints(e);
  if (n.record.public_key.size() == kPublicKeySize) {
    PublicKey key;
    std::copy(n.record.public_key.begin(), n.record.public_key.end(), key.begin());
    out->set_public_key(EncodePublicKey(key));
  }
}

absl::StatusOr<std::string> CanonicalScope(const std::string& scope) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(scope);
  if (!selector.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("scope: ", selector.status().message()));
  }
  return selector->ToString();
}

grpc::Status Refuse(const std::vector<settings::Issue>& issues) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("settings refused, nothing stored: ", IssuesMessage(issues)));
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::ServerBidiReactor<v1::NodeMessage, v1::ControllerMessage>* SessionService::Connect(
    grpc::CallbackServerContext* context) {
  return new SessionReactor(fleet_, auth_, context);
}

// --- operator API ---

absl::StatusOr<std::string> FleetService::Operator(grpc::ServerContext* context) {
  if (!auth_.op) return std::string();
  return auth_.op(*context);
}

grpc::Status FleetService::Edit(grpc::ServerContext* context, const std::string& scope,
                                uint64_t expected,
                                const std::function<absl::Status(v1::Settings&)>& edit,
                                v1::FleetSettings* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  absl::StatusOr<std::string> canonical = CanonicalScope(scope);
  if (!canonical.ok()) return ToGrpc(canonical.status());
  absl::StatusOr<uint64_t> version = fleet_.EditScope(*canonical, expected, *who, edit);
  if (!version.ok()) return ToGrpc(version.status());
  v1::GetFleetSettingsRequest get;
  get.set_scope(*canonical);
  return GetSettings(context, &get, response);
}

grpc::Status FleetService::GetSettings(grpc::ServerContext* context,
                                       const v1::GetFleetSettingsRequest* request,
                                       v1::FleetSettings* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  absl::StatusOr<std::string> scope = CanonicalScope(request->scope());
  if (!scope.ok()) return ToGrpc(scope.status());
  Fleet::Settings s = fleet_.GetSettings();
  response->set_version(s.version);
  v1::Settings doc;
  if (auto it = s.scopes.find(*scope); it != s.scopes.end()) doc = it->second;
  response->set_local_conf_json(DocumentJson(doc));
  *response->mutable_settings() = std::move(doc);
  if (scope->empty()) {
    for (const auto& [name, scoped] : s.scopes) {
      if (name.empty()) continue;
      v1::ScopedSettings* out = response->add_scopes();
      out->set_scope(name);
      *out->mutable_settings() = scoped;
      out->set_local_conf_json(DocumentJson(scoped));
    }
  }
  return grpc::Status::OK;
}

grpc::Status FleetService::ReplaceSettings(grpc::ServerContext* context,
                                           const v1::ReplaceSettingsRequest* request,
                                           v1::FleetSettings* response) {
  auto [document, issues] = ParseDocument(request->local_conf_json());
  if (settings::HasErrors(issues)) return Refuse(issues);
  return Edit(
      context, request->scope(), request->expected_version(),
      [&parsed = document](v1::Settings& doc) {
        doc = parsed;
        return absl::OkStatus();
      },
      response);
}

grpc::Status FleetService::ValidateSettings(grpc::ServerContext* context,
                                            const v1::ValidateSettingsRequest* request,
                                            v1::ValidateSettingsResponse* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  absl::StatusOr<std::string> scope = CanonicalScope(request->scope());
  if (!scope.ok()) return ToGrpc(scope.status());
  auto [document, issues] = ParseDocument(request->local_conf_json());
  if (!settings::HasErrors(issues)) {
    std::vector<settings::Issue> more = fleet_.Validate(*scope, document);
    issues.insert(issues.end(), more.begin(), more.end());
  }
  response->set_valid(!settings::HasErrors(issues));
  for (const settings::Issue& issue : issues) *response->add_issues() = settings::ToProto(issue);
  return grpc::Status::OK;
}

grpc::Status FleetService::PutPolicy(grpc::ServerContext* context,
                                     const v1::PutPolicyRequest* request,
                                     v1::FleetSettings* response) {
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "policy name is empty");
  }
  auto [policy, issues] = ParsePolicy(request->name(), request->policy_json());
  if (settings::HasErrors(issues)) return Refuse(issues);
  return Edit(
      context, request->scope(), request->expected_version(),
      [&, &parsed = policy](v1::Settings& doc) {
        (*doc.mutable_policies())[request->name()] = parsed;
        return absl::OkStatus();
      },
      response);
}

grpc::Status FleetService::DeletePolicy(grpc::ServerContext* context,
                                        const v1::DeletePolicyRequest* request,
                                        v1::FleetSettings* response) {
  return Edit(
      context, request->scope(), request->expected_version(),
      [&](v1::Settings& doc) {
        if (doc.mutable_policies()->erase(request->name()) == 0) {
          return absl::NotFoundError(
              absl::StrCat("no policy \"", request->name(), "\" in this scope"));
        }
        return absl::OkStatus();
      },
      response);
}

grpc::Status FleetService::SetDefaultPolicy(grpc::ServerContext* context,
                                            const v1::SetDefaultPolicyRequest* request,
                                            v1::FleetSettings* response) {
  return Edit(
      context, request->scope(), request->expected_version(),
      [&](v1::Settings& doc) {
        if (request->name().empty()) {
          doc.clear_default_bonding_policy();
        } else {
          doc.set_default_bonding_policy(request->name());
        }
        return absl::OkStatus();
      },
      response);
}

grpc::Status FleetService::SetPeerBond(grpc::ServerContext* context,
                                       const v1::SetPeerBondRequest* request,
                                       v1::FleetSettings* response) {
  return Edit(
      context, request->scope(), request->expected_version(),
      [&](v1::Settings& doc) {
        (*doc.mutable_peer_specific_bonds())[request->peer()] = request->policy();
        return absl::OkStatus();
      },
      response);
}

grpc::Status FleetService::DeletePeerBond(grpc::ServerContext* context,
                                          const v1::DeletePeerBondRequest* request,
                                          v1::FleetSettings* response) {
  return Edit(
      context, request->scope(), request->expected_version(),
      [&](v1::Settings& doc) {
        if (doc.mutable_peer_specific_bonds()->erase(request->peer()) == 0) {
          return absl::NotFoundError(
              absl::StrCat("no peer-specific bond for ", request->peer(), " in this scope"));
        }
        return absl::OkStatus();
      },
      response);
}

grpc::Status FleetService::ListNodes(grpc::ServerContext* context,
                                     const v1::ListNodesRequest* request,
                                     v1::ListNodesResponse* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(request->label_selector());
  if (!selector.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("label selector: ", selector.status().message()));
  }
  for (const NodeSnapshot& n : fleet_.Nodes(*selector)) FillStatus(n, response->add_nodes());
  return grpc::Status::OK;
}

grpc::Status FleetService::GetNode(grpc::ServerContext* context, const v1::GetNodeRequest* request,
                                   v1::NodeStatus* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  absl::StatusOr<NodeSnapshot> node = fleet_.Node(request->id());
  if (!node.ok()) return ToGrpc(node.status());
  FillStatus(*node, response);
  return grpc::Status::OK;
}

grpc::Status FleetService::ListNodeBonds(grpc::ServerContext* context,
                                         const v1::NodeBondRequest* request,
                                         v1::ListBondsResponse* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  absl::StatusOr<NodeSnapshot> node = fleet_.Node(request->node_id());
  if (!node.ok()) return ToGrpc(node.status());
  if (!node->connected) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("node ", request->node_id(), " is not connected to the controller"));
  }
  if (node->report == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("node ", request->node_id(),
                                     " has not sent a metrics report yet; try again shortly"));
  }
  for (const v1::Bond& b : node->report->bonds()) *response->add_bonds() = b.summary();
  return grpc::Status::OK;
}

absl::StatusOr<v1::CommandResult> FleetService::Command(const std::string& node_id,
                                                        v1::Command command) {
  // A node whose session another replica holds: that replica runs the command.
  if (forwarder_ != nullptr && !fleet_.HasSession(node_id)) {
    std::optional<absl::StatusOr<v1::CommandResult>> forwarded =
        forwarder_->Forward(node_id, command);
    if (forwarded.has_value()) {
      if (!forwarded->ok()) return forwarded->status();
      if ((*forwarded)->code() != 0) {
        return absl::Status(static_cast<absl::StatusCode>((*forwarded)->code()),
                            (*forwarded)->message());
      }
      return *std::move(forwarded);
    }
  }
  absl::StatusOr<v1::CommandResult> result = RunCommand(fleet_, node_id, std::move(command));
  if (!result.ok()) return result.status();
  if (result->code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(result->code()), result->message());
  }
  return result;
}

absl::StatusOr<v1::CommandResult> RunCommand(Fleet& fleet, const std::string& node_id,
                                             v1::Command command) {
  struct Waiter {
    absl::Notification done;
    absl::StatusOr<v1::CommandResult> result = absl::UnknownError("no answer");
  };
  auto waiter = std::make_shared<Waiter>();
  fleet.SendCommand(node_id, std::move(command), [waiter](absl::StatusOr<v1::CommandResult> r) {
    waiter->result = std::move(r);
    waiter->done.Notify();
  });
  // Fleet answers every command by its deadline; the margin covers a stalled pump.
  if (!waiter->done.WaitForNotificationWithTimeout(fleet.options().command_timeout +
                                                   absl::Seconds(5))) {
    return absl::DeadlineExceededError(absl::StrCat("node ", node_id, " did not answer in time"));
  }
  return waiter->result;
}

grpc::Status FleetService::GetNodeBond(grpc::ServerContext* context,
                                       const v1::NodeBondRequest* request, v1::Bond* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  v1::Command command;
  command.mutable_get_bond()->set_peer(request->peer());
  absl::StatusOr<v1::CommandResult> result = Command(request->node_id(), std::move(command));
  if (!result.ok()) return ToGrpc(result.status());
  *response = result->bond();
  return grpc::Status::OK;
}

grpc::Status FleetService::RotateNodeBond(grpc::ServerContext* context,
                                          const v1::NodeBondRequest* request,
                                          v1::RotateBondResponse* response) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  v1::Command command;
  command.mutable_rotate()->set_peer(request->peer());
  absl::StatusOr<v1::CommandResult> result = Command(request->node_id(), std::move(command));
  if (!result.ok()) return ToGrpc(result.status());
  *response = result->rotate();
  return grpc::Status::OK;
}

grpc::Status FleetService::WatchEvents(grpc::ServerContext* context,
                                       const v1::WatchEventsRequest* request,
                                       grpc::ServerWriter<v1::FleetEvent>* writer) {
  absl::StatusOr<std::string> who = Operator(context);
  if (!who.ok()) return ToGrpc(who.status());
  std::shared_ptr<Fleet::EventQueue> queue = fleet_.Watch(request->node_id());
  // Bounded waits, so a client that went away is noticed within half a second.
  while (!context->IsCancelled()) {
    std::optional<v1::FleetEvent> event = queue->Next(absl::Milliseconds(500));
    if (event && !writer->Write(*event)) break;
  }
  return grpc::Status::OK;
}

}  // namespace fleetbond::controller
