// fleetbond-node: the per-host daemon. Bonds this host's links to every peer and forwards the
// overlay's IP packets over them (node/daemon/data_plane.h).
#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "node/agent/agent.h"
#include "node/agent/hello.h"
#include "node/api/api_server.h"
#include "node/api/node_backend.h"
#include "node/api/node_service.h"
#include "node/daemon/data_plane.h"
#include "node/daemon/privilege.h"
#include "node/daemon/standalone_config.h"
#include "node/metrics/node_metrics.h"
#include "shared/command_line.h"
#include "shared/identity/identity.h"
#include "shared/settings/config_check.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/settings_issue.h"
#include "shared/status_macros.h"
#include "shared/tls/credentials.h"

ABSL_FLAG(std::string, home, "/var/lib/fleetbond",
          "Home directory: identity, local.conf and persisted state live here.");
ABSL_FLAG(std::string, config, "", "local.conf to use instead of HOME/local.conf.");
ABSL_FLAG(int32_t, port, 9800, "UDP port of the data plane, on every bonded interface.");
ABSL_FLAG(std::string, tun, "fb0", "Name of the overlay TUN interface.");
ABSL_FLAG(bool, init, false,
          "Create the identity in HOME if missing, print {\"id\", \"publicKey\"} and exit.");
ABSL_FLAG(std::string, check_config, "",
          "Validate this local.conf, print the effective policy table and exit (0 valid, 1 "
          "invalid, 2 unreadable).");
ABSL_FLAG(bool, j, false, "With --check-config or --init: print JSON.");
ABSL_FLAG(std::string, api, "127.0.0.1:9801",
          "Address of the local gRPC API (fleetbond-cli, scripts): HOST:PORT or unix:/PATH (a "
          "socket only its owner can use). Empty: no API.");
ABSL_FLAG(std::string, metrics_listen, "",
          "Serve this node's Prometheus metrics on HOST:PORT (/metrics). Empty (default): off.");
ABSL_FLAG(std::string, controller, "",
          "Join the fleet controller at HOST:PORT: it pushes the settings, overlay address and "
          "peers (local.conf then supplies only this host's links; see docs/agent.md). Several "
          "replicas: HOST:PORT,HOST:PORT,... or a name with several addresses.");
ABSL_FLAG(std::vector<std::string>, label, {},
          "key=value labels this node reports to its controller; repeat the flag or give a "
          "comma list (--label site=fra1,rack=r12).");
ABSL_FLAG(std::string, controller_ca, "",
          "CA certificate (PEM) that the controller's must chain to.");
ABSL_FLAG(std::string, controller_cert, "",
          "This node's client certificate (PEM) for the controller.");
ABSL_FLAG(std::string, controller_key, "", "The private key (PEM) of --controller-cert.");
ABSL_FLAG(std::string, user, "",
          "After set-up (TUN open, sockets bound), switch to this user (name or uid) and its "
          "primary group, keeping only CAP_NET_ADMIN. HOME, the controller's TLS files and a "
          "unix: API socket's directory must be this user's. Empty: keep the uid; every "
          "capability but CAP_NET_ADMIN is dropped either way (docs/SECURITY.md).");
ABSL_FLAG(bool, insecure, false,
          "With --controller and no TLS flags: talk to the controller in plaintext (a trusted "
          "network only).");

namespace {

using fleetbond::settings::FormatIssue;
using fleetbond::settings::Issue;

constexpr char kEmbeddedDefaults[] = R"({"settings": {"defaultBondingPolicy": "active-backup"}})";

int Init(const std::string& home) {
  bool created = false;
  absl::StatusOr<fleetbond::Identity> id = fleetbond::Identity::LoadOrCreate(home, &created);
  if (!id.ok()) {
    std::cerr << "fleetbond-node: " << id.status().message() << "\n";
    return 1;
  }
  nlohmann::json out = {{"id", id->id().ToString()},
                        {"publicKey", fleetbond::EncodePublicKey(id->public_key())}};
  std::cout << out.dump() << "\n";
  if (created) std::cerr << "fleetbond-node: created a new identity in " << home << "\n";
  return 0;
}

// Writes what the node knew when it stopped, for whoever investigates later (atomically).
void PersistState(const std::string& home, fleetbond::daemon::DataPlane& dp) {
  nlohmann::json bonds = nlohmann::json::array();
  for (const fleetbond::bond::BondSnapshot& b : dp.Snapshots()) {
    nlohmann::json paths = nlohmann::json::array();
    for (const fleetbond::bond::PathSnapshot& p : b.paths) {
      paths.push_back({{"link", p.spec.link},
                       {"local", p.spec.local},
                       {"remote", p.spec.remote},
                       {"latencyMs", p.metrics.latency_ms},
                       {"lossRatio", p.metrics.plr},
                       {"txPackets", p.tx_packets},
                       {"rxPackets", p.rx_packets}});
    }
    bonds.push_back({{"peer", b.peer},
                     {"policy", b.policy_name},
                     {"failovers", b.failovers},
                     {"paths", paths}});
  }
  nlohmann::json state = {{"stoppedAtUnixMs", absl::ToUnixMillis(absl::Now())}, {"bonds", bonds}};
  const std::string path = home + "/state.json";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << state.dump(2) << "\n";
    if (!f) {
      std::cerr << "fleetbond-node: cannot write " << tmp << "\n";
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::cerr << "fleetbond-node: cannot replace " << path << "\n";
  }
}

absl::StatusOr<fleetbond::daemon::DataPlane::Options> DataPlaneOptions() {
  fleetbond::daemon::DataPlane::Options options;
  options.tun_name = absl::GetFlag(FLAGS_tun);
  const int32_t port = absl::GetFlag(FLAGS_port);
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--port must be 1 to 65535, got ", port));
  }
  options.port = static_cast<uint16_t>(port);
  return options;
}

// DropPrivileges keeps only what the running node needs (node/daemon/privilege.h). Called right
// after the data plane is created: TUN and sockets are open, and no thread has started yet.
absl::Status DropPrivileges(const std::string& home,
                            const fleetbond::daemon::DataPlane::Options& options) {
  fleetbond::daemon::PrivilegeOptions privilege;
  privilege.user = absl::GetFlag(FLAGS_user);
  privilege.bind_privileged_port = options.port < 1024;
  absl::StatusOr<fleetbond::daemon::DroppedPrivileges> dropped =
      fleetbond::daemon::DropPrivileges(privilege);
  if (!dropped.ok()) return dropped.status();
  std::cerr << "fleetbond-node: running with " << dropped->Describe() << "\n";
  // The saved push and state.json are written here later; say so now, not at the first push.
  if (!privilege.user.empty() && access(home.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("--user ", privilege.user, " cannot write ",
                                                      home, " (chown -R ", privilege.user, " ",
                                                      home, ")"));
  }
  return absl::OkStatus();
}

// Serve runs the local API and the exporter around the data plane until it stops. `agent`, when
// set, is the controller session, started once the rest is up and stopped first.
int Serve(const std::string& home, fleetbond::daemon::DataPlane& dp,
          fleetbond::api::NodeBackend& backend, fleetbond::api::NodeFacts facts,
          fleetbond::settings::Source source, std::vector<Issue> warnings,
          fleetbond::agent::ControllerAgent* agent) {
  facts.port = dp.port();
  facts.tun = dp.tun().name();
  facts.mtu = dp.tun().mtu();

  // The API, the exporter and the agent run on threads of their own, created here: they inherit
  // the signal mask DataPlane::Create set, so SIGTERM and SIGINT still reach Run's signalfd only.
  fleetbond::api::NodeServiceImpl service(backend, std::move(facts), source, std::move(warnings));
  std::unique_ptr<fleetbond::api::ApiServer> api;
  const std::string api_address = absl::GetFlag(FLAGS_api);
  if (!api_address.empty()) {
    absl::StatusOr<std::unique_ptr<fleetbond::api::ApiServer>> started =
        fleetbond::api::ApiServer::Start(api_address, {&service});
    if (!started.ok()) {
      std::cerr << "fleetbond-node: " << started.status().message() << "\n";
      return 1;
    }
    api = *std::move(started);
    std::cerr << "fleetbond-node: API on " << api_address << "\n";
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  auto metrics = std::make_shared<fleetbond::metrics::NodeMetrics>(backend, dp.id().ToString());
  const std::string metrics_address = absl::GetFlag(FLAGS_metrics_listen);
  if (!metrics_address.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(metrics_address);
    } catch (const std::exception& e) {  // CivetException: the address cannot be bound
      std::cerr << "fleetbond-node: cannot serve metrics on " << metrics_address << ": " << e.what()
                << "\n";
      return 1;
    }
    exposer->RegisterCollectable(metrics);
    std::cerr << "fleetbond-node: metrics on http://" << metrics_address << "/metrics\n";
  }
  if (agent != nullptr) agent->Start();

  absl::Status run = dp.Run();
  if (agent != nullptr) agent->Stop();
  service.Stop();
  if (api) api->Shutdown();
  exposer.reset();
  PersistState(home, dp);
  if (!run.ok()) {
    std::cerr << "fleetbond-node: " << run.message() << "\n";
    return 1;
  }
  std::cerr << "fleetbond-node: stopped\n";
  return 0;
}

// CheckControllerFlags refuses a --controller without TLS flags or --insecure, or with both.
absl::Status CheckControllerFlags() {
  if (absl::StatusOr<std::vector<fleetbond::agent::HostPort>> list =
          fleetbond::agent::ParseControllerList(absl::GetFlag(FLAGS_controller));
      !list.ok()) {
    return list.status();
  }
  const bool tls = !absl::GetFlag(FLAGS_controller_ca).empty() ||
                   !absl::GetFlag(FLAGS_controller_cert).empty() ||
                   !absl::GetFlag(FLAGS_controller_key).empty();
  const bool insecure = absl::GetFlag(FLAGS_insecure);
  if (tls && insecure) {
    return absl::InvalidArgumentError(
        "--insecure and --controller-ca/--controller-cert/--controller-key exclude each other");
  }
  if (!tls && !insecure) {
    return absl::InvalidArgumentError(
        "--controller needs TLS (--controller-ca, --controller-cert, --controller-key, as the "
        "fleet CA issued them) or, on a trusted network only, an explicit --insecure");
  }
  return absl::OkStatus();
}

// ControllerCredentials are the session's channel credentials, or why there are none. Called
// once the data plane has blocked SIGTERM and SIGINT: gRPC starts threads of its own, which must
// inherit that mask, or a signal would kill the node instead of stopping it.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ControllerCredentials(
    const std::string& controller) {
  const std::string ca = absl::GetFlag(FLAGS_controller_ca);
  const std::string cert = absl::GetFlag(FLAGS_controller_cert);
  const std::string key = absl::GetFlag(FLAGS_controller_key);
  FB_RETURN_IF_ERROR(CheckControllerFlags());
  if (absl::GetFlag(FLAGS_insecure)) return fleetbond::tls::InsecureClient(controller);
  return fleetbond::tls::MakeClientCredentials({.ca_file = ca, .cert_file = cert, .key_file = key});
}

// RunWithController runs a node that joins a controller: local.conf supplies this host's links
// (and, until the first push, the settings when they are valid alone); the controller the rest.
int RunWithController(const std::string& home, fleetbond::Identity identity,
                      const std::string& config_path, const std::string& text,
                      const std::string& controller, std::map<std::string, std::string> labels) {
  // Only what the file says by itself must hold (syntax, keys, types); rules between values are
  // judged on the document merged with the controller's push.
  fleetbond::settings::ParsedLocalConf parsed = fleetbond::settings::ParseLocalConf(text);
  for (const Issue& issue : parsed.issues) {
    std::cerr << "fleetbond-node: " << config_path << ": " << FormatIssue(issue) << "\n";
  }
  if (fleetbond::settings::HasErrors(parsed.issues)) {
    std::cerr << "fleetbond-node: refusing to start with an invalid " << config_path << "\n";
    return 1;
  }
  if (!parsed.conf.overlay.is_null() || !parsed.conf.peers.is_null()) {
    std::cerr << "fleetbond-node: " << config_path
              << ": \"overlay\" and \"peers\" are ignored with --controller (the controller "
                 "assigns them)\n";
  }
  // Before the first push: local.conf's settings if they stand alone, else the defaults.
  fleetbond::settings::LocalConfCheck check = fleetbond::settings::CheckLocalConf(text);
  fleetbond::settings::Source source = fleetbond::settings::Source::kLocalConf;
  std::vector<Issue> warnings;
  if (!check.valid()) {
    std::cerr << "fleetbond-node: " << config_path
              << " is not a complete settings document by itself; the built-in defaults apply "
                 "until the controller's first push\n";
    check = fleetbond::settings::CheckLocalConf(kEmbeddedDefaults);
    source = fleetbond::settings::Source::kDefault;
  }
  for (const Issue& issue : check.issues) {
    if (issue.severity == fleetbond::settings::Severity::kWarning) warnings.push_back(issue);
  }
  check.conf.overlay = nullptr;
  check.conf.peers = nullptr;
  fleetbond::settings::LoadedLocalConf loaded{std::move(check.conf), *std::move(check.resolver),
                                              warnings};

  absl::StatusOr<fleetbond::daemon::DataPlane::Options> options = DataPlaneOptions();
  if (!options.ok()) {
    std::cerr << "fleetbond-node: " << options.status().message() << "\n";
    return 2;
  }
  fleetbond::api::NodeFacts facts;
  facts.id = identity.id().ToString();
  facts.public_key = fleetbond::EncodePublicKey(identity.public_key());
  facts.version = FLEETBOND_VERSION;
  fleetbond::agent::AgentOptions agent_options;
  agent_options.controller = controller;
  agent_options.home = home;
  agent_options.hello = {.id = identity.id(),
                         .public_key = identity.public_key(),
                         .software_version = FLEETBOND_VERSION,
                         .port = options->port,
                         .tun = options->tun_name,
                         .labels = std::move(labels)};

  // No overlay and no peers yet: the saved push or the controller brings them.
  absl::StatusOr<std::unique_ptr<fleetbond::daemon::DataPlane>> dp =
      fleetbond::daemon::DataPlane::Create(*options, std::move(identity), std::move(loaded), {},
                                           fleetbond::SystemClock::Get());
  if (!dp.ok()) {
    std::cerr << "fleetbond-node: cannot start: " << dp.status().message() << "\n";
    return 1;
  }
  if (absl::Status dropped = DropPrivileges(home, *options); !dropped.ok()) {
    std::cerr << "fleetbond-node: " << dropped.message() << "\n";
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ControllerCredentials(controller);
  if (!credentials.ok()) {
    std::cerr << "fleetbond-node: " << credentials.status().message() << "\n";
    return 2;
  }
  agent_options.credentials = *std::move(credentials);
  fleetbond::api::DataPlaneBackend data_plane(**dp);
  fleetbond::agent::DataPlaneControl control(**dp);
  fleetbond::agent::ControllerAgent agent(std::move(agent_options), std::move(parsed.conf),
                                          data_plane, control, fleetbond::SystemClock::Get());
  agent.RestoreSavedPush();
  fleetbond::agent::ControllerModeBackend backend(data_plane, agent);
  std::cerr << "fleetbond-node: joining the controller at " << controller << "\n";
  return Serve(home, **dp, backend, std::move(facts), source, std::move(warnings), &agent);
}

// RepeatedFlag gathers every value of a flag: absl keeps only the last occurrence of a flag, and
// the flag may be repeated.
std::vector<std::string> RepeatedFlag(int argc, char** argv, const std::string& name) {
  std::vector<std::string> values;
  const std::string with_value = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind(with_value, 0) == 0) {
      values.push_back(arg.substr(with_value.size()));
    } else if (arg == "--" + name && i + 1 < argc) {
      values.push_back(argv[++i]);
    }
  }
  return values;
}

int Run(const std::string& home, const std::vector<std::string>& label_values) {
  const std::string controller = absl::GetFlag(FLAGS_controller);
  std::map<std::string, std::string> labels;
  if (!controller.empty()) {
    absl::Status flags = CheckControllerFlags();
    if (!flags.ok()) {
      std::cerr << "fleetbond-node: " << flags.message() << "\n";
      return 2;
    }
    absl::StatusOr<std::map<std::string, std::string>> parsed =
        fleetbond::agent::ParseLabels(label_values);
    if (!parsed.ok()) {
      std::cerr << "fleetbond-node: " << parsed.status().message() << "\n";
      return 2;
    }
    labels = *std::move(parsed);
  }

  bool created = false;
  absl::StatusOr<fleetbond::Identity> identity = fleetbond::Identity::LoadOrCreate(home, &created);
  if (!identity.ok()) {
    std::cerr << "fleetbond-node: " << identity.status().message() << "\n";
    return 1;
  }
  if (created) std::cerr << "fleetbond-node: created a new identity in " << home << "\n";

  std::string config_path = absl::GetFlag(FLAGS_config);
  const bool explicit_config = !config_path.empty();
  if (!explicit_config) config_path = home + "/local.conf";
  std::string text;
  struct stat st;
  if (!explicit_config && stat(config_path.c_str(), &st) != 0) {
    std::cerr << "fleetbond-node: no " << config_path
              << (controller.empty() ? "; running on the embedded defaults (active-backup, no "
                                       "static peers)\n"
                                     : "; every setting will come from the controller\n");
    text = controller.empty() ? kEmbeddedDefaults : R"({"settings": {}})";
  } else {
    absl::StatusOr<std::string> read = fleetbond::settings::ReadLocalConfFile(config_path);
    if (!read.ok()) {
      std::cerr << "fleetbond-node: " << read.status().message() << "\n";
      return 2;
    }
    text = *std::move(read);
  }

  if (!controller.empty()) {
    return RunWithController(home, *std::move(identity), config_path, text, controller,
                             std::move(labels));
  }

  fleetbond::settings::LocalConfCheck check = fleetbond::settings::CheckLocalConf(text);
  fleetbond::daemon::ParsedStandaloneConfig standalone =
      fleetbond::daemon::ParseStandaloneConfig(check.conf);
  std::vector<Issue> issues = check.issues;
  issues.insert(issues.end(), standalone.issues.begin(), standalone.issues.end());
  for (const Issue& issue : issues) {
    std::cerr << "fleetbond-node: " << config_path << ": " << FormatIssue(issue) << "\n";
  }
  if (!check.valid() || fleetbond::settings::HasErrors(standalone.issues)) {
    std::cerr << "fleetbond-node: refusing to start with an invalid " << config_path << "\n";
    return 1;
  }

  std::vector<Issue> warnings;
  for (const Issue& issue : issues) {
    if (issue.severity == fleetbond::settings::Severity::kWarning) warnings.push_back(issue);
  }
  fleetbond::api::NodeFacts facts;
  facts.id = identity->id().ToString();
  facts.public_key = fleetbond::EncodePublicKey(identity->public_key());
  facts.version = FLEETBOND_VERSION;
  facts.overlay = standalone.config.overlay;
  facts.peers = standalone.config.peers;
  fleetbond::settings::LoadedLocalConf loaded{std::move(check.conf), *std::move(check.resolver),
                                              warnings};
  absl::StatusOr<fleetbond::daemon::DataPlane::Options> options = DataPlaneOptions();
  if (!options.ok()) {
    std::cerr << "fleetbond-node: " << options.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<fleetbond::daemon::DataPlane>> dp =
      fleetbond::daemon::DataPlane::Create(*options, *std::move(identity), std::move(loaded),
                                           std::move(standalone.config),
                                           fleetbond::SystemClock::Get());
  if (!dp.ok()) {
    std::cerr << "fleetbond-node: cannot start: " << dp.status().message() << "\n";
    return 1;
  }
  if (absl::Status dropped = DropPrivileges(home, *options); !dropped.ok()) {
    std::cerr << "fleetbond-node: " << dropped.message() << "\n";
    return 1;
  }
  fleetbond::api::DataPlaneBackend backend(**dp);
  return Serve(home, **dp, backend, std::move(facts), fleetbond::settings::Source::kLocalConf,
               warnings, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fleetbond-node: multipath bonding daemon.\n"
      "  fleetbond-node --home DIR --init            create the identity, print id and key\n"
      "  fleetbond-node --home DIR [--config FILE]   run (needs CAP_NET_ADMIN)\n"
      "                 [--user NAME]                then as NAME with only CAP_NET_ADMIN\n"
      "  fleetbond-node --home DIR --controller HOST:PORT (--insecure | --controller-ca ...)\n"
      "                 [--label k=v ...]            join a fleet controller (docs/agent.md)\n"
      "  fleetbond-node --check-config FILE [-j]     validate a local.conf");
  fleetbond::AcceptDashedFlags(argc, argv);
  const std::vector<std::string> labels = RepeatedFlag(argc, argv, "label");
  absl::ParseCommandLine(argc, argv);
  const std::string check = absl::GetFlag(FLAGS_check_config);
  if (!check.empty()) {
    return fleetbond::settings::RunConfigCheck(check, absl::GetFlag(FLAGS_j), std::cout, std::cerr,
                                               fleetbond::daemon::StandaloneIssues);
  }
  const std::string home = absl::GetFlag(FLAGS_home);
  if (absl::GetFlag(FLAGS_init)) return Init(home);
  return Run(home, labels);
}
