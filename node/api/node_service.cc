#include "node/api/node_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "node/api/bond_proto.h"
#include "node/api/grpc_status.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/policy_resolver.h"
#include "shared/settings/proto_enums.h"
#include "shared/settings/settings_json.h"
#include "shared/settings/settings_validator.h"

namespace fleetbond::api {
namespace {

std::optional<settings::PolicyResolver> Resolver(const settings::LocalConf& conf) {
  absl::StatusOr<settings::PolicyResolver> r = settings::PolicyResolver::Create(conf.settings);
  if (!r.ok()) return std::nullopt;
  return *std::move(r);
}

// SamePeers tells whether a document's static peers are the ones the node runs with.
bool SamePeers(const std::vector<daemon::StaticPeer>& a, const std::vector<daemon::StaticPeer>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].public_key != b[i].public_key ||
        a[i].overlay_address != b[i].overlay_address || a[i].endpoints != b[i].endpoints) {
      return false;
    }
  }
  return true;
}

}  // namespace

NodeServiceImpl::NodeServiceImpl(NodeBackend& backend, NodeFacts facts, settings::Source source,
                                 std::vector<settings::Issue> warnings)
    : backend_(backend),
      facts_(std::move(facts)),
      directory_{facts_.overlay, facts_.peers},
      source_(source),
      warnings_(std::move(warnings)) {}

v1::Bond NodeServiceImpl::Bond(const bond::BondSnapshot& snapshot,
                               const settings::LocalConf& conf) const {
  v1::Bond out = BondToProto(snapshot, facts_.port);
  std::optional<settings::PolicyResolver> resolver = Resolver(conf);
  if (resolver) {
    if (const ResolvedPolicy* policy = resolver->Find(snapshot.policy_name)) {
      for (v1::Path& path : *out.mutable_paths()) {
        const LinkPolicy* link = policy->FindLink(path.interface());
        path.set_spare(link != nullptr && link->mode == LinkMode::kSpare);
      }
    }
  }
  return out;
}

grpc::Status NodeServiceImpl::ListBonds(grpc::ServerContext*, const v1::ListBondsRequest*,
                                        v1::ListBondsResponse* response) {
  for (const bond::BondSnapshot& s : backend_.Snapshots()) {
    *response->add_bonds() = SummaryToProto(s);
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetBond(grpc::ServerContext*, const v1::GetBondRequest* request,
                                      v1::Bond* response) {
  absl::StatusOr<bond::BondSnapshot> s = backend_.Snapshot(request->peer());
  if (!s.ok()) return ToGrpcStatus(s.status());
  *response = Bond(*s, backend_.CurrentSettings());
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::RotateBond(grpc::ServerContext*, const v1::RotateBondRequest* request,
                                         v1::RotateBondResponse* response) {
  absl::StatusOr<bond::Rotation> r = backend_.Rotate(request->peer());
  if (!r.ok()) return ToGrpcStatus(r.status());
  // Name both paths as the API does everywhere ("eth0/10.201.0.2/9800"); the engine's own
  // descriptions stand in should a path vanish between the rotation and this snapshot.
  std::string from = r->from_description;
  std::string to = r->to_description;
  absl::StatusOr<bond::BondSnapshot> s = backend_.Snapshot(request->peer());
  if (s.ok()) {
    for (const bond::PathSnapshot& p : s->paths) {
      if (p.id == r->from) from = PathName(p.spec);
      if (p.id == r->to) to = PathName(p.spec);
    }
  }
  response->set_from(from);
  response->set_to(to);
  response->set_from_idx(r->from);
  response->set_to_idx(r->to);
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetSettings(grpc::ServerContext*, const v1::GetSettingsRequest*,
                                          v1::GetSettingsResponse* response) {
  const settings::LocalConf conf = backend_.CurrentSettings();
  *response->mutable_settings() = conf.settings;
  response->set_local_conf_json(
      nlohmann::json{{"settings", settings::SettingsToJson(conf.settings)}}.dump(2));
  const std::optional<ControllerView> controller = backend_.Controller();
  const bool on_push = controller.has_value() && controller->sources.has_value();
  absl::MutexLock lock(&mu_);
  const settings::SourceMap sources =
      on_push ? *controller->sources : settings::SourceMap{.fallback = source_};
  if (std::optional<settings::PolicyResolver> resolver = Resolver(conf)) {
    for (const settings::EffectiveValue& v :
         settings::EffectiveSettings(conf.settings, *resolver, sources)) {
      v1::EffectiveSetting* e = response->add_effective();
      e->set_path(v.path);
      e->set_value(v.value);
      e->set_source(settings::ToProto(v.source));
    }
  }
  for (const settings::Issue& w : on_push ? controller->warnings : warnings_) {
    *response->add_warnings() = settings::ToProto(w);
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::ApplySettings(grpc::ServerContext*,
                                            const v1::ApplySettingsRequest* request,
                                            v1::ApplySettingsResponse* response) {
  if (backend_.Controller().has_value()) {
    // The next push would silently undo it; the settings belong to the controller.
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this node takes its settings from its controller (--controller): change "
                        "the fleet's settings there, or this node's links in its local.conf and "
                        "restart fleetbond-node");
  }
  settings::LocalConfCheck check = settings::CheckLocalConf(request->local_conf_json());
  daemon::ParsedStandaloneConfig standalone = daemon::ParseStandaloneConfig(check.conf);
  std::vector<settings::Issue> issues = check.issues;
  issues.insert(issues.end(), standalone.issues.begin(), standalone.issues.end());
  if (!check.valid() || settings::HasErrors(standalone.issues)) {
    std::vector<std::string> errors;
    for (const settings::Issue& i : issues) {
      if (i.severity == settings::Severity::kError) errors.push_back(settings::FormatIssue(i));
    }
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("settings not applied: ", errors.size(),
                     errors.size() == 1 ? " error" : " errors", "\n", absl::StrJoin(errors, "\n")));
  }
  std::vector<settings::Issue> warnings;
  for (const settings::Issue& i : issues) {
    if (i.severity == settings::Severity::kWarning) warnings.push_back(i);
  }
  // Overlay address and static peers, where the document has them, change live: a peer left out
  // is cut off at once (its keys and bond go), a new one gets a handshake and a bond.
  const bool has_overlay = !check.conf.overlay.is_null();
  const bool has_peers = !check.conf.peers.is_null();
  backend_.ApplySettings(
      settings::LoadedLocalConf{std::move(check.conf), *std::move(check.resolver), warnings});
  for (const settings::Issue& w : warnings) *response->add_warnings() = settings::ToProto(w);
  absl::MutexLock lock(&mu_);
  daemon::StandaloneConfig directory = directory_;
  if (has_overlay) directory.overlay = standalone.config.overlay;
  if (has_peers) directory.peers = standalone.config.peers;
  if (directory.overlay != directory_.overlay || !SamePeers(directory.peers, directory_.peers)) {
    backend_.SetDirectory(directory);
    directory_ = std::move(directory);
  }
  source_ = settings::Source::kLocalConf;
  warnings_ = std::move(warnings);
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::WatchBonds(grpc::ServerContext* context,
                                         const v1::WatchBondsRequest* request,
                                         grpc::ServerWriter<v1::BondSnapshot>* writer) {
  const absl::Duration interval =
      request->interval_ms() == 0
          ? kDefaultWatchInterval
          : std::max(kMinWatchInterval, absl::Milliseconds(request->interval_ms()));
  while (!context->IsCancelled() && !stopping_.HasBeenNotified()) {
    v1::BondSnapshot snapshot;
    snapshot.set_unix_time_ms(absl::ToUnixMillis(absl::Now()));
    const settings::LocalConf conf = backend_.CurrentSettings();
    for (const bond::BondSnapshot& s : backend_.Snapshots()) *snapshot.add_bonds() = Bond(s, conf);
    if (!writer->Write(snapshot)) break;  // the client went away
    stopping_.WaitForNotificationWithTimeout(interval);
  }
  if (stopping_.HasBeenNotified()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fleetbond-node is stopping");
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*,
                                      v1::NodeInfo* response) {
  const std::optional<ControllerView> controller = backend_.Controller();
  response->set_id(facts_.id);
  response->set_public_key(facts_.public_key);
  response->set_version(facts_.version);
  absl::MutexLock lock(&mu_);
  response->set_overlay_address(controller ? controller->directory.overlay : directory_.overlay);
  response->set_port(facts_.port);
  response->set_controller_connected(controller.has_value() && controller->connected);
  response->set_tun(facts_.tun);
  response->set_mtu(facts_.mtu);
  response->set_peers(static_cast<uint32_t>(controller ? controller->directory.peers.size()
                                                       : directory_.peers.size()));
  response->set_uptime_ms(static_cast<uint64_t>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(absl::Now() - facts_.started))));
  const bool on_push = controller.has_value() && controller->sources.has_value();
  response->set_settings_source(
      settings::ToProto(on_push ? settings::Source::kController : source_));
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::ListPeers(grpc::ServerContext*, const v1::ListPeersRequest*,
                                        v1::ListPeersResponse* response) {
  const std::vector<bond::BondSnapshot> bonds = backend_.Snapshots();
  const std::optional<ControllerView> controller = backend_.Controller();
  std::vector<daemon::StaticPeer> peers;
  if (controller) {
    peers = controller->directory.peers;
  } else {
    absl::MutexLock lock(&mu_);
    peers = directory_.peers;
  }
  for (const daemon::StaticPeer& p : peers) {
    v1::Peer* out = response->add_peers();
    out->set_id(p.id.ToString());
    out->set_public_key(EncodePublicKey(p.public_key));
    out->set_overlay_address(p.overlay_address);
    for (const std::string& e : p.endpoints) out->add_endpoints(e);
    auto b = std::find_if(bonds.begin(), bonds.end(),
                          [&](const bond::BondSnapshot& s) { return s.peer == out->id(); });
    if (b == bonds.end()) continue;
    out->set_policy_name(b->policy_name);
    out->set_base_policy(settings::ToProto(b->base));
    out->set_usable_links(static_cast<uint32_t>(b->usable_links));
    out->set_total_links(static_cast<uint32_t>(b->total_links));
    absl::Duration heard = absl::InfiniteDuration();
    for (const bond::PathSnapshot& path : b->paths) heard = std::min(heard, path.rx_age);
    if (heard != absl::InfiniteDuration()) {
      out->set_last_heard_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(heard)));
    }
  }
  return grpc::Status::OK;
}

}  // namespace fleetbond::api
