// fleetbond-node: the per-host daemon. Bonds this host's links to every peer and forwards the
// overlay's IP packets over them (node/daemon/data_plane.h).
#include <prometheus/exposer.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "node/api/api_server.h"
#include "node/api/node_backend.h"
#include "node/api/node_service.h"
#include "node/daemon/data_plane.h"
#include "node/daemon/standalone_config.h"
#include "node/metrics/node_metrics.h"
#include "shared/command_line.h"
#include "shared/identity/identity.h"
#include "shared/settings/config_check.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/settings_issue.h"

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

int Run(const std::string& home) {
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
              << "; running on the embedded defaults (active-backup, no static peers)\n";
    text = kEmbeddedDefaults;
  } else {
    absl::StatusOr<std::string> read = fleetbond::settings::ReadLocalConfFile(config_path);
    if (!read.ok()) {
      std::cerr << "fleetbond-node: " << read.status().message() << "\n";
      return 2;
    }
    text = *std::move(read);
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
  fleetbond::daemon::DataPlane::Options options;
  options.tun_name = absl::GetFlag(FLAGS_tun);
  const int32_t port = absl::GetFlag(FLAGS_port);
  if (port <= 0 || port > 65535) {
    std::cerr << "fleetbond-node: --port must be 1 to 65535, got " << port << "\n";
    return 2;
  }
  options.port = static_cast<uint16_t>(port);
  absl::StatusOr<std::unique_ptr<fleetbond::daemon::DataPlane>> dp =
      fleetbond::daemon::DataPlane::Create(options, *std::move(identity), std::move(loaded),
                                           std::move(standalone.config),
                                           fleetbond::SystemClock::Get());
  if (!dp.ok()) {
    std::cerr << "fleetbond-node: cannot start: " << dp.status().message() << "\n";
    return 1;
  }
  facts.port = (*dp)->port();
  facts.tun = (*dp)->tun().name();
  facts.mtu = (*dp)->tun().mtu();

  // The API and the exporter run on threads of their own, created here: they inherit the signal
  // mask DataPlane::Create set, so SIGTERM and SIGINT still reach Run's signalfd only.
  fleetbond::api::DataPlaneBackend backend(**dp);
  fleetbond::api::NodeServiceImpl service(backend, std::move(facts),
                                          fleetbond::settings::Source::kLocalConf, warnings);
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
  auto metrics = std::make_shared<fleetbond::metrics::NodeMetrics>(backend, (*dp)->id().ToString());
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

  absl::Status run = (*dp)->Run();
  service.Stop();
  if (api) api->Shutdown();
  exposer.reset();
  PersistState(home, **dp);
  if (!run.ok()) {
    std::cerr << "fleetbond-node: " << run.message() << "\n";
    return 1;
  }
  std::cerr << "fleetbond-node: stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fleetbond-node: multipath bonding daemon.\n"
      "  fleetbond-node --home DIR --init            create the identity, print id and key\n"
      "  fleetbond-node --home DIR [--config FILE]   run (needs CAP_NET_ADMIN)\n"
      "  fleetbond-node --check-config FILE [-j]     validate a local.conf");
  fleetbond::AcceptDashedFlags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const std::string check = absl::GetFlag(FLAGS_check_config);
  if (!check.empty()) {
    return fleetbond::settings::RunConfigCheck(check, absl::GetFlag(FLAGS_j), std::cout, std::cerr,
                                               fleetbond::daemon::StandaloneIssues);
  }
  const std::string home = absl::GetFlag(FLAGS_home);
  if (absl::GetFlag(FLAGS_init)) return Init(home);
  return Run(home);
}
