#include "node/cli/commands.h"

#include <cstdlib>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/cli/api_client.h"
#include "node/cli/bond_view.h"
#include "node/cli/node_view.h"
#include "node/cli/settings_view.h"
#include "node/daemon/standalone_config.h"
#include "shared/proto/proto_json.h"
#include "shared/settings/config_check.h"
#include "shared/settings/local_conf_loader.h"

namespace fleetbond::cli {
namespace {

constexpr char kUsage[] =
    "usage: fleetbond-cli [-j] [--api ADDR] <command>\n"
    "commands:\n"
    "  bond list                 every bond: peer, policy, usable/total links\n"
    "  bond <peer> show          one bond: its parameters, paths and what each path measures\n"
    "  bond <peer> rotate        move an active-backup bond to its next usable link\n"
    "  peers                     this node's peers: overlay address, bond, endpoints\n"
    "  info                      this node: id, public key, overlay, version\n"
    "  settings show             the effective settings, each value with its source\n"
    "  settings apply FILE       validate a local.conf and apply its settings live\n"
    "  config check FILE         validate a local.conf and print its effective policy table\n"
    "options:\n"
    "  -j, --json                print JSON (field names: docs/cli.md)\n"
    "  --api ADDR                the node's API: HOST:PORT or unix:/PATH (default: "
    "$FLEETBOND_API,\n"
    "                            else 127.0.0.1:9801)\n"
    "  -h, --help                print this help\n"
    "exit codes: 0 done, 1 refused or failed, 2 usage, 3 node unreachable\n";

struct Options {
  bool json = false;
  std::string api;
  std::vector<std::string> words;
};

int ExitCodeFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnimplemented:
      return kExitUnreachable;
    default:
      return kExitRefused;
  }
}

// Print prints a call's result: its JSON with -j, its text otherwise; or the error.
template <typename T>
int Print(const Options& o, const absl::StatusOr<T>& result,
          const std::function<std::string(const T&)>& text, std::ostream& out, std::ostream& err) {
  if (!result.ok()) {
    err << "fleetbond-cli: " << result.status().message() << "\n";
    if (o.json) {
      nlohmann::json e = {{"error",
                           {{"code", absl::StatusCodeToString(result.status().code())},
                            {"message", std::string(result.status().message())}}}};
      out << e.dump(2) << "\n";
    }
    return ExitCodeFor(result.status());
  }
  if (o.json) {
    out << ProtoToJson(*result).dump(2) << "\n";
  } else {
    out << text(*result);
  }
  return kExitOk;
}

int Usage(std::ostream& err, const std::string& why) {
  err << "fleetbond-cli: " << why << "\n" << kUsage;
  return kExitUsage;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options o;
  const char* env = std::getenv("FLEETBOND_API");
  o.api = env != nullptr && *env != '\0' ? env : kDefaultApi;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-j" || a == "--json") {
      o.json = true;
    } else if (a == "-h" || a == "--help" || a == "help") {
      out << kUsage;
      return kExitOk;
    } else if (a == "--api") {
      if (i + 1 == args.size()) return Usage(err, "--api needs an address");
      o.api = args[++i];
    } else if (absl::StartsWith(a, "--api=")) {
      o.api = a.substr(6);
    } else if (absl::StartsWith(a, "-") && a.size() > 1) {
      return Usage(err, absl::StrCat("unknown option ", a));
    } else {
      o.words.push_back(a);
    }
  }
  const std::vector<std::string>& w = o.words;
  if (w.empty()) return Usage(err, "no command");

  if (w[0] == "config") {
    if (w.size() == 3 && w[1] == "check") {
      return settings::RunConfigCheck(w[2], o.json, out, err, daemon::StandaloneIssues);
    }
    return Usage(err, "expected: config check FILE");
  }

  NodeClient client(o.api);
  if (w[0] == "bond") {
    if (w.size() == 2 && w[1] == "list") {
      return Print<v1::ListBondsResponse>(o, client.ListBonds(), RenderBondList, out, err);
    }
    if (w.size() == 3 && w[2] == "show") {
      return Print<v1::Bond>(o, client.GetBond(w[1]), RenderBondShow, out, err);
    }
    if (w.size() == 3 && w[2] == "rotate") {
      return Print<v1::RotateBondResponse>(o, client.RotateBond(w[1]), RenderRotation, out, err);
    }
    return Usage(err, "expected: bond list | bond <peer> show | bond <peer> rotate");
  }
  if (w[0] == "info" && w.size() == 1) {
    return Print<v1::NodeInfo>(o, client.GetInfo(), RenderInfo, out, err);
  }
  if (w[0] == "peers" && w.size() == 1) {
    return Print<v1::ListPeersResponse>(o, client.ListPeers(), RenderPeers, out, err);
  }
  if (w[0] == "settings") {
    if (w.size() == 2 && w[1] == "show") {
      return Print<v1::GetSettingsResponse>(o, client.GetSettings(), RenderSettings, out, err);
    }
    if (w.size() == 3 && w[1] == "apply") {
      absl::StatusOr<std::string> text = settings::ReadLocalConfFile(w[2]);
      if (!text.ok()) {
        err << "fleetbond-cli: " << text.status().message() << "\n";
        return kExitUsage;
      }
      return Print<v1::ApplySettingsResponse>(o, client.ApplySettings(*text), RenderApplied, out,
                                              err);
    }
    return Usage(err, "expected: settings show | settings apply FILE");
  }
  std::string words;
  for (const std::string& x : w) absl::StrAppend(&words, " ", x);
  return Usage(err, absl::StrCat("unknown command:", words));
}

}  // namespace fleetbond::cli
