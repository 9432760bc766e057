// fleetbond-controller: the fleet's control plane. Stores the fleet's settings (SQLite in
// --data), keeps one session per node (NodeSession), pushes each node its settings, overlay
// address and peer directory, serves the operator API (Fleet) on the same port and exports the
// fleet's metrics on --metrics-listen. `fleetbond-controller ca ...` manages the fleet CA.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "controller/fleet/fleet.h"
#include "controller/fleet/services.h"
#include "controller/metrics/controller_metrics.h"
#include "controller/metrics/fleet_metrics.h"
#include "controller/replica/command_forwarder.h"
#include "controller/replica/etcd_replica.h"
#include "controller/replica/node_owners.h"
#include "controller/replica/replica_service.h"
#include "controller/store/sqlite_store.h"
#include "shared/clock.h"
#include "shared/command_line.h"
#include "shared/tls/ca_command.h"
#include "shared/tls/caller.h"
#include "shared/tls/credentials.h"
#include "shared/tls/secure_files.h"

ABSL_FLAG(std::string, data, "/var/lib/fleetbond-controller",
          "Data directory: the SQLite store (fleet.db) and, by default, the fleet CA (ca/).");
ABSL_FLAG(std::string, store, "",
          "Where the fleet's state lives: empty for SQLite in --data, or "
          "etcd://HOST:PORT[,HOST:PORT...] for several replicas sharing one etcd "
          "(docs/scale-out.md).");
ABSL_FLAG(std::string, etcd_ca, "", "CA (PEM) of etcd's server certificates: TLS to etcd.");
ABSL_FLAG(std::string, etcd_cert, "", "Client certificate (PEM) for etcd, with --etcd-key.");
ABSL_FLAG(std::string, etcd_key, "", "The private key (PEM) of --etcd-cert.");
ABSL_FLAG(absl::Duration, etcd_wait, absl::Seconds(60),
          "How long to wait for etcd at start before giving up.");
ABSL_FLAG(std::string, replica_id, "",
          "This replica's name in etcd. Default: its replica certificate's name, else the host "
          "name.");
ABSL_FLAG(std::string, advertise, "",
          "HOST:PORT where other replicas reach this one's gRPC port. Default: the host name and "
          "--listen's port.");
ABSL_FLAG(absl::Duration, node_expiry, absl::Hours(24 * 30),
          "With etcd: the elected leader removes nodes not seen for this long (and connected "
          "nowhere) and reclaims their overlay addresses.");
ABSL_FLAG(std::string, listen, "0.0.0.0:9900",
          "gRPC address for node sessions and the operator API.");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9902",
          "HTTP address of /metrics (Prometheus) and /healthz. Empty: off.");
ABSL_FLAG(std::string, overlay_prefix, "10.147.0.0/16",
          "Prefix the nodes' overlay addresses are assigned from (IPv4 or IPv6).");
ABSL_FLAG(int32_t, metrics_interval_ms, 5000,
          "How often every node sends its metrics report, in milliseconds (1000 to 300000).");
ABSL_FLAG(bool, metrics_per_peer, true,
          "Export path series per peer (labels node, peer, link). false: drop the peer label and "
          "aggregate per node and link, for large fleets (docs/metrics.md).");
ABSL_FLAG(double, connect_rate, 500,
          "First pushes per second after nodes connect (a mass reconnect is spread out).");
ABSL_FLAG(std::string, tls_ca, "", "Fleet CA certificate (PEM) that client certificates chain to.");
ABSL_FLAG(std::string, tls_cert, "", "The controller's certificate (PEM).");
ABSL_FLAG(std::string, tls_key, "", "The private key (PEM) of --tls-cert.");
ABSL_FLAG(std::string, operator_tokens, "",
          "File of operator bearer tokens, one \"name token\" per line (docs/tls.md).");
ABSL_FLAG(std::string, replica_owners, "",
          "Several replicas without etcd: a file of \"NODE_ID REPLICA HOST:PORT\" lines naming "
          "the replica that holds each node's session; operator commands for those nodes are "
          "forwarded there (docs/controller.md, \"Replicas\"). Needs a replica certificate.");
ABSL_FLAG(std::string, drain_redirect, "",
          "HOST:PORT of other replicas (comma-separated) that the nodes are sent to when this "
          "replica drains (Replica.Drain, SIGTERM). Empty: with --store etcd://, the other live "
          "replicas' --advertise addresses; otherwise no redirect hint, and nodes move on "
          "through their own lists of controllers.");
ABSL_FLAG(bool, insecure, false,
          "Plaintext gRPC and no caller checks: for local demos only; anyone who can reach "
          "--listen can then change the fleet's settings and impersonate nodes.");

namespace {

using fleetbond::controller::Fleet;
using fleetbond::controller::NodeSnapshot;

constexpr char kUsage[] =
    "fleetbond-controller: the fleetbond fleet controller.\n"
    "usage: fleetbond-controller --data DIR [--listen ADDR] [--metrics-listen ADDR]\n"
    "                            [--overlay-prefix CIDR] (--tls-ca F --tls-cert F --tls-key F |\n"
    "                            --insecure)\n"
    "       fleetbond-controller ca init|issue ... (fleetbond-controller ca --help)\n"
    "docs/controller.md describes the controller, docs/tls.md the CA.";

// FleetView shows the exporter the fleet's nodes at scrape time.
class FleetView : public fleetbond::metrics::FleetView {
 public:
  explicit FleetView(Fleet& fleet) : fleet_(fleet) {}
  std::vector<fleetbond::metrics::NodeView> Nodes() override {
    std::vector<NodeSnapshot> nodes = fleet_.Nodes(fleetbond::controller::LabelSelector());
    std::vector<fleetbond::metrics::NodeView> out;
    out.reserve(nodes.size());
    for (NodeSnapshot& n : nodes) {
      fleetbond::metrics::NodeView v;
      v.id = n.record.id;
      v.connected = n.connected;
      v.software_version = n.record.software_version;
      v.acked_version = n.record.acked_version;
      v.desired_version = n.desired_version;
      v.nacks_total = n.nacks;
      v.report = n.connected ? std::move(n.report) : nullptr;
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  Fleet& fleet_;
};

// Observer feeds the controller's own instruments.
class Observer : public fleetbond::controller::FleetObserver {
 public:
  Observer(fleetbond::metrics::ControllerMetrics& m, fleetbond::controller::EtcdReplica* etcd)
      : m_(m), etcd_(etcd) {}
  // With etcd, the replica records which node sessions it holds (docs/scale-out.md).
  void OnSessionOpened(const std::string& id) override {
    if (etcd_ != nullptr) etcd_->OnSessionOpened(id);
  }
  void OnSessionClosed(const std::string& id) override {
    if (etcd_ != nullptr) etcd_->OnSessionClosed(id);
  }
  void OnPush() override { m_.CountPush(); }
  void OnAck(absl::Duration d) override { m_.ObservePushToAck(absl::ToDoubleSeconds(d)); }
  void OnNack() override { m_.CountNack(); }
  void OnSessions(int64_t n) override { m_.SetSessions(n); }
  void OnSettingsVersion(uint64_t v) override { m_.SetSettingsVersion(v); }
  void OnPendingPushes(int64_t n) override { m_.SetPendingPushes(n); }

 private:
  fleetbond::metrics::ControllerMetrics& m_;
  fleetbond::controller::EtcdReplica* const etcd_;
};

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "controller";
  return name;
}

// OpenEtcd opens the etcd store and the replica's lease, registration and election for
// --store etcd://..., waiting for etcd with progress messages.
absl::StatusOr<std::unique_ptr<fleetbond::controller::EtcdReplica>> OpenEtcd(
    const std::string& url, const std::string& replica_name, const std::string& listen) {
  absl::StatusOr<fleetbond::controller::EtcdOptions> etcd =
      fleetbond::controller::ParseEtcdUrl(url);
  if (!etcd.ok()) return etcd.status();
  etcd->ca_file = absl::GetFlag(FLAGS_etcd_ca);
  etcd->cert_file = absl::GetFlag(FLAGS_etcd_cert);
  etcd->key_file = absl::GetFlag(FLAGS_etcd_key);
  fleetbond::controller::EtcdReplicaOptions options;
  options.etcd = *std::move(etcd);
  options.replica_id = absl::GetFlag(FLAGS_replica_id);
  if (options.replica_id.empty()) options.replica_id = replica_name;
  if (options.replica_id.empty()) options.replica_id = HostName();
  options.advertise = absl::GetFlag(FLAGS_advertise);
  if (options.advertise.empty()) {
    const size_t colon = listen.rfind(':');
    options.advertise =
        absl::StrCat(HostName(), colon == std::string::npos ? ":9900" : listen.substr(colon));
  }
  options.wait = absl::GetFlag(FLAGS_etcd_wait);
  options.jobs.node_expiry = absl::GetFlag(FLAGS_node_expiry);
  std::cerr << "fleetbond-controller: connecting to etcd " << url << " as replica "
            << options.replica_id << "\n";
  return fleetbond::controller::EtcdReplica::Open(options, [](const absl::Status& status) {
    std::cerr << "fleetbond-controller: still waiting for etcd: " << status.message() << "\n";
  });
}

// NodeOwnersRef lends a NodeOwners owned elsewhere (the EtcdReplica's) to `owners`.
class NodeOwnersRef : public fleetbond::controller::NodeOwners {
 public:
  explicit NodeOwnersRef(fleetbond::controller::NodeOwners& owners) : owners_(owners) {}
  absl::StatusOr<fleetbond::controller::ReplicaAddress> Owner(const std::string& id) override {
    return owners_.Owner(id);
  }

 private:
  fleetbond::controller::NodeOwners& owners_;
};

int Fail(const absl::Status& status) {
  std::cerr << "fleetbond-controller: " << status.message() << "\n";
  return 1;
}

int Serve() {
  const std::string data = absl::GetFlag(FLAGS_data);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const int32_t interval = absl::GetFlag(FLAGS_metrics_interval_ms);
  if (interval < 1000 || interval > 300000) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--metrics-interval-ms must be 1000 to 300000, got ", interval)));
  }

  // Credentials first: a controller that cannot authenticate its callers does not start.
  const bool insecure = absl::GetFlag(FLAGS_insecure);
  fleetbond::tls::ServerTlsOptions tls{absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_cert),
                                       absl::GetFlag(FLAGS_tls_key),
                                       absl::GetFlag(FLAGS_operator_tokens)};
  const bool has_tls = !tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty();
  if (insecure == has_tls) {
    return Fail(absl::InvalidArgumentError(
        insecure ? "--insecure and --tls-* exclude each other"
                 : "give --tls-ca, --tls-cert and --tls-key (make them with `fleetbond-controller "
                   "ca init`), or --insecure for a local demo"));
  }
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::shared_ptr<fleetbond::tls::CallerAuthenticator> authenticator;
  if (insecure) {
    credentials = fleetbond::tls::InsecureServer(listen);
    authenticator = std::make_shared<fleetbond::tls::CallerAuthenticator>(
        fleetbond::tls::TokenSet(), /*insecure=*/true);
  } else {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
        fleetbond::tls::MakeServerCredentials(tls);
    if (!creds.ok()) return Fail(creds.status());
    absl::StatusOr<fleetbond::tls::CallerAuthenticator> auth =
        fleetbond::tls::MakeCallerAuthenticator(tls);
    if (!auth.ok()) return Fail(auth.status());
    credentials = *creds;
    authenticator = std::make_shared<fleetbond::tls::CallerAuthenticator>(*std::move(auth));
  }
  fleetbond::controller::Auth auth;
  auth.node = [authenticator](const grpc::ServerContextBase& ctx, const std::string& id) {
    return authenticator->RequireNode(ctx, id);
  };
  auth.op = [authenticator](const grpc::ServerContextBase& ctx) -> absl::StatusOr<std::string> {
    fleetbond::tls::Caller caller = authenticator->Authenticate(ctx);
    absl::Status allowed = fleetbond::tls::RequireOperator(caller);
    if (!allowed.ok()) return allowed;
    return caller.name;
  };

  // This replica's name is its replica certificate's (ca issue --replica NAME); none otherwise.
  std::string replica_name;
  if (!insecure) {
    absl::StatusOr<std::string> pem = fleetbond::tls::ReadSmallFile(
        tls.cert_file, "controller certificate (--tls-cert)", fleetbond::tls::Secrecy::kPublic);
    if (!pem.ok()) return Fail(pem.status());
    absl::StatusOr<fleetbond::tls::Caller> self = fleetbond::tls::IdentityOfCertificate(*pem);
    if (self.ok() && self->role == fleetbond::tls::Caller::kReplica) replica_name = self->name;
  }
  std::vector<std::string> drain_redirects =
      absl::StrSplit(absl::GetFlag(FLAGS_drain_redirect), ',', absl::SkipWhitespace());

  // The store: SQLite in --data, or etcd (several replicas).
  const std::string store_url = absl::GetFlag(FLAGS_store);
  std::unique_ptr<fleetbond::controller::EtcdReplica> etcd;
  std::unique_ptr<fleetbond::controller::SqliteStore> sqlite;
  fleetbond::controller::Store* store = nullptr;
  std::string store_name;
  if (!store_url.empty()) {
    if (!insecure && replica_name.empty()) {
      return Fail(absl::InvalidArgumentError(
          "--store etcd://: replicas forward commands to each other over mutual TLS, which needs "
          "a replica certificate as --tls-cert (fleetbond-controller ca issue --replica NAME "
          "--server HOST)"));
    }
    absl::StatusOr<std::unique_ptr<fleetbond::controller::EtcdReplica>> opened =
        OpenEtcd(store_url, replica_name, listen);
    if (!opened.ok()) return Fail(opened.status());
    etcd = *std::move(opened);
    store = &etcd->store();
    store_name = absl::StrCat(store_url, " as replica ", etcd->options().replica_id);
    // Forwarding compares owner records with this name: it must be the one etcd records.
    replica_name = etcd->options().replica_id;
  } else {
    absl::StatusOr<std::unique_ptr<fleetbond::controller::SqliteStore>> opened =
        fleetbond::controller::SqliteStore::Open(data);
    if (!opened.ok()) return Fail(opened.status());
    sqlite = *std::move(opened);
    store = sqlite.get();
    store_name = absl::StrCat(data, "/fleet.db");
  }
  // Where the node sessions of other replicas are (a static file; a replicated store knows it).
  std::unique_ptr<fleetbond::controller::NodeOwners> owners;
  if (const std::string file = absl::GetFlag(FLAGS_replica_owners); !file.empty()) {
    if (!insecure && replica_name.empty()) {
      return Fail(absl::InvalidArgumentError(
          "--replica-owners: replicas forward commands to each other over mutual TLS, which "
          "needs a replica certificate as --tls-cert (fleetbond-controller ca issue --replica "
          "NAME --server HOST)"));
    }
    auto from_file = std::make_unique<fleetbond::controller::FileNodeOwners>(file);
    if (absl::Status ok = from_file->Check(); !ok.ok()) return Fail(ok);
    owners = std::move(from_file);
  }
  if (etcd != nullptr) {
    if (owners != nullptr) {
      return Fail(absl::InvalidArgumentError(
          "--replica-owners and --store etcd:// exclude each other: etcd records the owners"));
    }
    owners = std::make_unique<NodeOwnersRef>(etcd->owners());
  }
  std::unique_ptr<fleetbond::controller::GrpcReplicaClient> replica_client;
  std::unique_ptr<fleetbond::controller::ReplicaForwarder> forwarder;
  if (owners != nullptr) {
    std::shared_ptr<grpc::ChannelCredentials> replica_credentials =
        grpc::InsecureChannelCredentials();
    if (!insecure) {
      absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
          fleetbond::tls::MakeClientCredentials(
              {.ca_file = tls.ca_file, .cert_file = tls.cert_file, .key_file = tls.key_file});
      if (!creds.ok()) return Fail(creds.status());
      replica_credentials = *creds;
    }
    replica_client =
        std::make_unique<fleetbond::controller::GrpcReplicaClient>(replica_credentials);
    forwarder = std::make_unique<fleetbond::controller::ReplicaForwarder>(
        *owners, *replica_client, fleetbond::controller::ForwarderOptions{.self = replica_name});
  }

  fleetbond::controller::FleetOptions options;
  options.overlay_prefix = absl::GetFlag(FLAGS_overlay_prefix);
  options.metrics_interval_ms = static_cast<uint32_t>(interval);
  options.connect_rate = absl::GetFlag(FLAGS_connect_rate);
  // The prefix is checked before anything listens (LeaseOverlays of no node parses it).
  if (absl::StatusOr<std::map<std::string, std::string>> ok =
          store->LeaseOverlays(options.overlay_prefix, {});
      !ok.ok()) {
    return Fail(ok.status());
  }
  absl::StatusOr<std::unique_ptr<Fleet>> fleet =
      Fleet::Create(*store, fleetbond::SystemClock::Get(), options);
  if (!fleet.ok()) return Fail(fleet.status());

  auto registry = std::make_shared<prometheus::Registry>();
  fleetbond::metrics::ControllerMetrics controller_metrics(*registry);
  Observer observer(controller_metrics, etcd.get());
  (*fleet)->SetObserver(&observer);
  FleetView view(**fleet);
  fleetbond::metrics::ExportOptions export_options;
  export_options.per_peer = absl::GetFlag(FLAGS_metrics_per_peer);
  auto fleet_metrics = std::make_shared<fleetbond::metrics::FleetMetrics>(view, export_options);
  std::unique_ptr<prometheus::Exposer> exposer;
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(metrics_listen);
    } catch (const std::exception& e) {
      return Fail(absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", metrics_listen, ": ", e.what())));
    }
    exposer->RegisterCollectable(registry);
    exposer->RegisterCollectable(fleet_metrics);
    // /healthz answers 200 while the process serves.
    exposer->RegisterCollectable(std::make_shared<prometheus::Registry>(), "/healthz");
  }

  fleetbond::controller::SessionService sessions(**fleet, auth);
  fleetbond::controller::FleetService operators(**fleet, auth);
  if (forwarder != nullptr) operators.SetForwarder(forwarder.get());
  fleetbond::controller::ReplicaAuth replica_auth;
  replica_auth.replica = [authenticator](const grpc::ServerContextBase& ctx) {
    return authenticator->RequireReplica(ctx);
  };
  replica_auth.op = [authenticator](const grpc::ServerContextBase& ctx) {
    return authenticator->RequireOperator(ctx);
  };
  // With etcd and no --drain-redirect, a draining replica sends its nodes to the other live
  // replicas (their registrations, which die with their leases).
  std::function<std::vector<std::string>()> live_replicas;
  if (etcd != nullptr) {
    live_replicas = [&etcd, self = replica_name]() {
      std::vector<std::string> addresses;
      absl::StatusOr<std::map<std::string, std::string>> replicas = etcd->ownership().Replicas();
      if (!replicas.ok()) {
        std::cerr << "fleetbond-controller: cannot list the other replicas for the drain: "
                  << replicas.status().message() << "\n";
        return addresses;
      }
      for (const auto& [id, address] : *replicas) {
        if (id != self && !address.empty()) addresses.push_back(address);
      }
      return addresses;
    };
  }
  fleetbond::controller::ReplicaService replica(
      **fleet,
      {.self = replica_name, .drain_redirects = drain_redirects, .live_replicas = live_replicas},
      replica_auth);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, credentials, &port);
  // Dead nodes are noticed within about a minute even when their TCP connection hangs; the
  // timeout is generous because a ping waits behind whatever the connection is sending.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
  builder.AddChannelArgument(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 256 << 20);
  builder.RegisterService(&sessions);
  builder.RegisterService(&operators);
  builder.RegisterService(&replica);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::UnavailableError(absl::StrCat("cannot listen on ", listen)));
  }
  (*fleet)->Start();
  if (etcd != nullptr) etcd->StartSingletonJobs();
  fleetbond::controller::Fleet::Settings settings = (*fleet)->GetSettings();
  std::cerr << "fleetbond-controller: serving on " << listen << " (settings version "
            << settings.version << ", store " << store_name
            << (replica_name.empty() ? std::string() : absl::StrCat(", replica ", replica_name))
            << (owners == nullptr ? "" : ", forwarding commands to their nodes' replicas") << ")"
            << (metrics_listen.empty()
                    ? ""
                    : absl::StrCat(", metrics on http://", metrics_listen, "/metrics"))
            << "\n";

  // Until SIGTERM or SIGINT.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal = 0;
  sigwait(&signals, &signal);
  // Draining first: the nodes are told where to go (--drain-redirect, or on etcd the other live
  // replicas) instead of finding out.
  if (drain_redirects.empty() && live_replicas) drain_redirects = live_replicas();
  const size_t drained = (*fleet)->Drain(drain_redirects);
  std::cerr << "fleetbond-controller: " << strsignal(signal) << ", draining " << drained
            << " node session(s)"
            << (drain_redirects.empty()
                    ? std::string()
                    : absl::StrCat(" to ", absl::StrJoin(drain_redirects, ", ")))
            << ", stopping\n";
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  (*fleet)->Stop();
  std::cerr << "fleetbond-controller: stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are blocked before any thread starts, so every thread inherits the mask and sigwait
  // in Serve receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (argc > 1 && std::string(argv[1]) == "ca") {
    std::string data = "/var/lib/fleetbond-controller";
    std::vector<std::string> args;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--data=", 0) == 0) {
        data = a.substr(7);
      } else if (a == "--data" && i + 1 < argc) {
        data = argv[++i];
      } else {
        args.push_back(a);
      }
    }
    return fleetbond::tls::RunCaCommand(args, data + "/ca", std::cout, std::cerr);
  }
  absl::SetProgramUsageMessage(kUsage);
  fleetbond::AcceptDashedFlags(argc, argv);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "fleetbond-controller: unexpected argument \"" << rest[1] << "\"\n"
              << kUsage << "\n";
    return 2;
  }
  return Serve();
}
