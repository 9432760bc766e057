#include "node/cli/commands.h"

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "node/cli/api_client.h"
#include "node/cli/bond_view.h"
#include "node/cli/controller_client.h"
#include "node/cli/fleet_view.h"
#include "node/cli/node_view.h"
#include "node/cli/settings_view.h"
#include "node/daemon/standalone_config.h"
#include "shared/proto/proto_json.h"
#include "shared/settings/config_check.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/tls/credentials.h"

namespace fleetbond::cli {
namespace {

constexpr char kUsage[] =
    "usage: fleetbond-cli [-j] [--api ADDR] <command>\n"
    "       fleetbond-cli [-j] --controller ADDR <TLS options> <controller command>\n"
    "commands (the local node):\n"
    "  bond list                 every bond: peer, policy, usable/total links\n"
    "  bond <peer> show          one bond: its parameters, paths and what each path measures\n"
    "  bond <peer> rotate        move an active-backup bond to its next usable link\n"
    "  peers                     this node's peers: overlay address, bond, endpoints\n"
    "  info                      this node: id, public key, overlay, version\n"
    "  settings show             the effective settings, each value with its source\n"
    "  settings apply FILE       validate a local.conf and apply its settings live\n"
    "  config check FILE         validate a local.conf and print its effective policy table\n"
    "controller commands (with --controller; change commands take [--scope SEL]\n"
    "[--expect-version N]):\n"
    "  settings show [--scope SEL]        the settings version and documents (all scopes if none)\n"
    "  settings apply FILE                replace a document with a local.conf's settings\n"
    "  settings check FILE [--scope SEL]  validate a local.conf against the fleet's settings\n"
    "  policy put NAME FILE|-             add or replace one policy (JSON object; - is stdin)\n"
    "  policy delete NAME                 remove one policy\n"
    "  policy default NAME                set defaultBondingPolicy (\"\" removes it)\n"
    "  peer-bond set PEER POLICY          bond to PEER with POLICY (peerSpecificBonds)\n"
    "  peer-bond delete PEER              remove PEER's entry\n"
    "  nodes [--selector SEL]             every node (matching SEL): connection, versions\n"
    "  node ID                            one node, every field\n"
    "  --node ID bond list                a node's bonds, as `bond list` on that node\n"
    "  --node ID bond <peer> show         as `bond <peer> show` on that node\n"
    "  --node ID bond <peer> rotate       as `bond <peer> rotate` on that node\n"
    "  events [--node ID] [--count N] [--timeout S]\n"
    "                                     fleet events, one line each as they arrive\n"
    "  drain [--redirect ADDR[,ADDR...]]  this controller replica sends its nodes to other\n"
    "                                     replicas (default: its --drain-redirect) and refuses\n"
    "                                     new sessions until it restarts\n"
    "options:\n"
    "  -j, --json                print JSON (field names: docs/cli.md)\n"
    "  --api ADDR                the node's API: HOST:PORT or unix:/PATH (default: "
    "$FLEETBOND_API,\n"
    "                            else 127.0.0.1:9801)\n"
    "  --controller ADDR         the controller's HOST:PORT (default: $FLEETBOND_CONTROLLER)\n"
    "  --controller-ca FILE      the fleet CA that signed the controller's certificate\n"
    "  --cert FILE --key FILE    this operator's certificate and private key\n"
    "  --token TOKEN, --token-file FILE   this operator's bearer token\n"
    "  --insecure                a plaintext connection to the controller (no TLS)\n"
    "  -h, --help                print this help\n"
    "exit codes: 0 done, 1 refused or failed, 2 usage, 3 node or controller unreachable\n";

// Options that take a value; each may be written "--name VALUE" or "--name=VALUE".
const std::set<std::string>& ValueOptions() {
  static const auto* names = new std::set<std::string>{
      "--api",      "--controller", "--controller-ca", "--cert",    "--key",
      "--token",    "--token-file", "--node",          "--scope",   "--expect-version",
      "--selector", "--count",      "--timeout",       "--redirect"};
  return *names;
}

// The options of one controller command, which only that command accepts.
const std::set<std::string> kCommandOptions = {
    "--node", "--scope", "--expect-version", "--selector", "--count", "--timeout", "--redirect"};

struct Options {
  bool json = false;
  bool insecure = false;
  std::map<std::string, std::string> values;  // "--scope" -> "site=berlin"
  std::vector<std::string> words;

  bool Has(const std::string& name) const { return values.contains(name); }
  std::string Get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? "" : it->second;
  }
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

nlohmann::json ErrorJson(const absl::Status& s) {
  return {{"error",
           {{"code", absl::StatusCodeToString(s.code())}, {"message", std::string(s.message())}}}};
}

// PrintError prints a failed call: its sentence on stderr and, with -j, the error's JSON.
int PrintError(const Options& o, const absl::Status& s, const CliContext& io) {
  io.err << "fleetbond-cli: " << s.message() << "\n";
  if (o.json) io.out << ErrorJson(s).dump(2) << "\n";
  return ExitCodeFor(s);
}

// Print prints a call's result: its JSON with -j, its text otherwise; or the error.
template <typename T>
int Print(const Options& o, const absl::StatusOr<T>& result,
          const std::function<std::string(const T&)>& text, const CliContext& io) {
  if (!result.ok()) return PrintError(o, result.status(), io);
  if (o.json) {
    io.out << ProtoToJson(*result).dump(2) << "\n";
  } else {
    io.out << text(*result);
  }
  return kExitOk;
}

int Usage(std::ostream& err, const std::string& why) {
  err << "fleetbond-cli: " << why << "\n" << kUsage;
  return kExitUsage;
}

// ReadInput reads FILE, or stdin for "-". Its errors say "cannot read PATH: REASON".
absl::StatusOr<std::string> ReadInput(const std::string& path, std::istream& in) {
  if (path != "-") return settings::ReadLocalConfFile(path);
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) return absl::DataLossError("cannot read stdin");
  return text;
}

std::string Words(const std::vector<std::string>& w) { return absl::StrJoin(w, " "); }

// CheckCommandOptions refuses the command options that `command` does not take.
absl::Status CheckCommandOptions(const Options& o, const std::string& command,
                                 const std::set<std::string>& accepted) {
  for (const auto& [name, value] : o.values) {
    if (kCommandOptions.contains(name) && !accepted.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " does not apply to `", command, "`"));
    }
  }
  return absl::OkStatus();
}

// ChangeFields reads --scope and --expect-version, shared by every settings change.
struct ChangeFields {
  std::string scope;
  uint64_t expected_version = 0;
};

absl::StatusOr<ChangeFields> ReadChangeFields(const Options& o) {
  ChangeFields f;
  f.scope = o.Get("--scope");
  if (o.Has("--expect-version") &&
      !absl::SimpleAtoi(o.Get("--expect-version"), &f.expected_version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--expect-version needs a settings version (a number), not \"",
                     o.Get("--expect-version"), "\""));
  }
  return f;
}

absl::StatusOr<WatchBounds> ReadWatchBounds(const Options& o) {
  WatchBounds b;
  if (o.Has("--count")) {
    uint64_t count = 0;
    if (!absl::SimpleAtoi(o.Get("--count"), &count) || count == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--count needs a number of events (1 or more), not \"", o.Get("--count"), "\""));
    }
    b.count = count;
  }
  if (o.Has("--timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(o.Get("--timeout"), &seconds) || !std::isfinite(seconds) ||
        seconds <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--timeout needs a number of seconds above 0, not \"", o.Get("--timeout"), "\""));
    }
    b.timeout = absl::Seconds(seconds);
  }
  return b;
}

// Security reads the TLS options; the token from --token or --token-file.
absl::StatusOr<ControllerSecurity> ReadSecurity(const Options& o) {
  ControllerSecurity s;
  s.insecure = o.insecure;
  s.ca_file = o.Get("--controller-ca");
  s.cert_file = o.Get("--cert");
  s.key_file = o.Get("--key");
  if (o.Has("--token") && o.Has("--token-file")) {
    return absl::InvalidArgumentError("give the token once: --token or --token-file");
  }
  // --token-file FILE is --token @FILE: shared/tls reads it and refuses a file others can read.
  if (o.Has("--token") || o.Has("--token-file")) {
    const std::string argument =
        o.Has("--token") ? o.Get("--token") : absl::StrCat("@", o.Get("--token-file"));
    absl::StatusOr<std::string> token = tls::ReadTokenArgument(argument);
    if (!token.ok()) return token.status();
    s.token = *std::move(token);
  }
  return s;
}

int RunSettingsApply(const Options& o, ControllerClient& client, const ChangeFields& change,
                     const std::string& file, const CliContext& io) {
  absl::StatusOr<std::string> text = settings::ReadLocalConfFile(file);
  if (!text.ok()) {
    io.err << "fleetbond-cli: " << text.status().message() << "\n";
    return kExitUsage;
  }
  // Validating first gets every error and warning as such (ReplaceSettings answers with the
  // version only), so a refusal lists each error on a line of its own.
  v1::ValidateSettingsRequest check;
  check.set_local_conf_json(*text);
  check.set_scope(change.scope);
  absl::StatusOr<v1::ValidateSettingsResponse> validation = client.ValidateSettings(check);
  if (!validation.ok()) return PrintError(o, validation.status(), io);
  std::vector<v1::SettingsIssue> warnings;
  std::vector<v1::SettingsIssue> errors;
  for (const v1::SettingsIssue& i : validation->issues()) {
    (i.severity() == v1::SettingsIssue::SEVERITY_WARNING ? warnings : errors).push_back(i);
  }
  if (!validation->valid()) {
    std::string listing;
    for (const v1::SettingsIssue& e : errors) listing += RenderIssue(e);
    const absl::Status refused = absl::InvalidArgumentError(
        absl::StrCat("settings not applied: ", errors.size(),
                     errors.size() == 1 ? " error\n" : " errors\n", listing));
    io.err << "fleetbond-cli: " << refused.message();
    if (o.json) {
      nlohmann::json e = ErrorJson(refused);
      e["error"]["issues"] = nlohmann::json::array();
      for (const v1::SettingsIssue& i : validation->issues()) {
        e["error"]["issues"].push_back(ProtoToJson(i));
      }
      io.out << e.dump(2) << "\n";
    }
    return kExitRefused;
  }

  v1::ReplaceSettingsRequest replace;
  replace.set_expected_version(change.expected_version);
  replace.set_local_conf_json(*text);
  replace.set_scope(change.scope);
  absl::StatusOr<v1::FleetSettings> stored = client.ReplaceSettings(replace);
  if (!stored.ok()) return PrintError(o, stored.status(), io);
  if (o.json) {
    nlohmann::json j = ProtoToJson(*stored);
    j["warnings"] = nlohmann::json::array();
    for (const v1::SettingsIssue& w : warnings) j["warnings"].push_back(ProtoToJson(w));
    io.out << j.dump(2) << "\n";
  } else {
    io.out << RenderSettingsChange(*stored, warnings);
  }
  return kExitOk;
}

int RunSettings(const Options& o, ControllerClient& client, const CliContext& io) {
  const std::vector<std::string>& w = o.words;
  absl::StatusOr<ChangeFields> change = ReadChangeFields(o);
  if (!change.ok()) return Usage(io.err, std::string(change.status().message()));
  if (w.size() == 2 && w[1] == "show") {
    if (absl::Status s = CheckCommandOptions(o, "settings show", {"--scope"}); !s.ok()) {
      return Usage(io.err, std::string(s.message()));
    }
    const bool scoped = o.Has("--scope");
    return Print<v1::FleetSettings>(
        o, client.GetSettings(change->scope),
        [&](const v1::FleetSettings& s) { return RenderFleetSettings(s, change->scope, scoped); },
        io);
  }
  if (w.size() == 3 && w[1] == "apply") {
    if (absl::Status s = CheckCommandOptions(o, "settings apply", {"--scope", "--expect-version"});
        !s.ok()) {
      return Usage(io.err, std::string(s.message()));
    }
    return RunSettingsApply(o, client, *change, w[2], io);
  }
  if (w.size() == 3 && w[1] == "check") {
    if (absl::Status s = CheckCommandOptions(o, "settings check", {"--scope"}); !s.ok()) {
      return Usage(io.err, std::string(s.message()));
    }
    absl::StatusOr<std::string> text = settings::ReadLocalConfFile(w[2]);
    if (!text.ok()) {
      io.err << "fleetbond-cli: " << text.status().message() << "\n";
      return kExitUsage;
    }
    v1::ValidateSettingsRequest request;
    request.set_local_conf_json(*text);
    request.set_scope(change->scope);
    absl::StatusOr<v1::ValidateSettingsResponse> validation = client.ValidateSettings(request);
    const int code = Print<v1::ValidateSettingsResponse>(o, validation, RenderValidation, io);
    if (code != kExitOk) return code;
    return validation->valid() ? kExitOk : kExitRefused;
  }
  return Usage(io.err, "expected: settings show | settings apply FILE | settings check FILE");
}

// RunChange runs one of the policy and peer-bond commands: each is one call that answers with the
// new settings version.
int RunChange(const Options& o, ControllerClient& client, const CliContext& io) {
  const std::vector<std::string>& w = o.words;
  if (absl::Status s = CheckCommandOptions(o, w[0], {"--scope", "--expect-version"}); !s.ok()) {
    return Usage(io.err, std::string(s.message()));
  }
  absl::StatusOr<ChangeFields> change = ReadChangeFields(o);
  if (!change.ok()) return Usage(io.err, std::string(change.status().message()));
  const auto text = [](const v1::FleetSettings& s) { return RenderSettingsChange(s, {}); };
  const auto fill = [&](auto& request) {
    request.set_scope(change->scope);
    request.set_expected_version(change->expected_version);
  };
  if (w[0] == "policy") {
    if (w.size() == 4 && w[1] == "put") {
      absl::StatusOr<std::string> policy = ReadInput(w[3], io.in);
      if (!policy.ok()) {
        io.err << "fleetbond-cli: " << policy.status().message() << "\n";
        return kExitUsage;
      }
      v1::PutPolicyRequest request;
      fill(request);
      request.set_name(w[2]);
      request.set_policy_json(*policy);
      return Print<v1::FleetSettings>(o, client.PutPolicy(request), text, io);
    }
    if (w.size() == 3 && w[1] == "delete") {
      v1::DeletePolicyRequest request;
      fill(request);
      request.set_name(w[2]);
      return Print<v1::FleetSettings>(o, client.DeletePolicy(request), text, io);
    }
    if (w.size() == 3 && w[1] == "default") {
      v1::SetDefaultPolicyRequest request;
      fill(request);
      request.set_name(w[2]);
      return Print<v1::FleetSettings>(o, client.SetDefaultPolicy(request), text, io);
    }
    return Usage(io.err,
                 "expected: policy put NAME FILE|- | policy delete NAME | policy default "
                 "NAME");
  }
  if (w.size() == 4 && w[1] == "set") {
    v1::SetPeerBondRequest request;
    fill(request);
    request.set_peer(w[2]);
    request.set_policy(w[3]);
    return Print<v1::FleetSettings>(o, client.SetPeerBond(request), text, io);
  }
  if (w.size() == 3 && w[1] == "delete") {
    v1::DeletePeerBondRequest request;
    fill(request);
    request.set_peer(w[2]);
    return Print<v1::FleetSettings>(o, client.DeletePeerBond(request), text, io);
  }
  return Usage(io.err, "expected: peer-bond set PEER POLICY | peer-bond delete PEER");
}

int RunEvents(const Options& o, ControllerClient& client, const CliContext& io) {
  absl::StatusOr<WatchBounds> bounds = ReadWatchBounds(o);
  if (!bounds.ok()) return Usage(io.err, std::string(bounds.status().message()));
  absl::StatusOr<size_t> received =
      client.WatchEvents(o.Get("--node"), *bounds, [&](const v1::FleetEvent& event) {
        if (o.json) {
          io.out << ProtoToJson(event).dump() << "\n";
        } else {
          io.out << RenderEvent(event);
        }
        io.out.flush();  // a script (or a person) reads each event as it arrives
      });
  if (!received.ok()) {
    io.err << "fleetbond-cli: " << received.status().message() << "\n";
    if (o.json) io.out << ErrorJson(received.status()).dump() << "\n";
    return ExitCodeFor(received.status());
  }
  if (bounds->count != 0 && *received < bounds->count) {
    io.err << "fleetbond-cli: the watch ended after " << *received << " of the " << bounds->count
           << " events asked for (--count)\n";
    return kExitRefused;
  }
  return kExitOk;
}

// ReadRedirects splits --redirect (repeated or comma-separated) into HOST:PORT addresses.
absl::StatusOr<std::vector<std::string>> ReadRedirects(const Options& o) {
  std::vector<std::string> out;
  if (!o.Has("--redirect")) return out;
  for (absl::string_view part : absl::StrSplit(o.Get("--redirect"), ',')) {
    const std::string a(absl::StripAsciiWhitespace(part));
    const size_t colon = a.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--redirect needs the HOST:PORT of another controller replica, not \"", a, "\""));
    }
    out.push_back(a);
  }
  return out;
}

int RunAgainstController(const Options& o, const std::string& address, const CliContext& io) {
  const std::vector<std::string>& w = o.words;
  const std::string& command = w[0];
  static const std::set<std::string> kCommands = {"settings", "policy", "peer-bond", "nodes",
                                                  "node",     "bond",   "events",    "drain"};
  if (!kCommands.contains(command)) {
    if (command == "info" || command == "peers") {
      return Usage(io.err, absl::StrCat("`", command,
                                        "` asks the local node; against the controller use "
                                        "`nodes` or `node ID`"));
    }
    return Usage(io.err, absl::StrCat("unknown command: ", Words(w)));
  }
  // Usage errors come before any connection is made.
  std::map<std::string, std::set<std::string>> accepted = {
      {"nodes", {"--selector"}},
      {"node", {}},
      {"bond", {"--node"}},
      {"events", {"--node", "--count", "--timeout"}},
      {"drain", {"--redirect"}}};
  if (accepted.contains(command)) {
    if (absl::Status s = CheckCommandOptions(o, command, accepted[command]); !s.ok()) {
      return Usage(io.err, std::string(s.message()));
    }
  }
  absl::StatusOr<std::vector<std::string>> redirects = ReadRedirects(o);
  if (!redirects.ok()) return Usage(io.err, std::string(redirects.status().message()));
  if (command == "bond" && !o.Has("--node")) {
    return Usage(io.err,
                 "against the controller, bond commands need --node ID: the node whose bonds");
  }
  absl::StatusOr<ControllerSecurity> security = ReadSecurity(o);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      security.ok() ? ControllerCredentials(*security, address, io.err) : security.status();
  if (!credentials.ok()) {
    io.err << "fleetbond-cli: " << credentials.status().message() << "\n";
    return kExitUsage;
  }
  ControllerClient client(address, *credentials);
  const absl::Time now = io.clock.Now();

  if (command == "settings") return RunSettings(o, client, io);
  if (command == "policy" || command == "peer-bond") return RunChange(o, client, io);
  if (command == "nodes" && w.size() == 1) {
    return Print<v1::ListNodesResponse>(
        o, client.ListNodes(o.Get("--selector")),
        [&](const v1::ListNodesResponse& n) { return RenderNodes(n, now); }, io);
  }
  if (command == "node" && w.size() == 2) {
    return Print<v1::NodeStatus>(
        o, client.GetNode(w[1]), [&](const v1::NodeStatus& n) { return RenderNode(n, now); }, io);
  }
  if (command == "bond") {
    const std::string node = o.Get("--node");
    if (w.size() == 2 && w[1] == "list") {
      return Print<v1::ListBondsResponse>(o, client.ListNodeBonds(node), RenderBondList, io);
    }
    if (w.size() == 3 && w[2] == "show") {
      return Print<v1::Bond>(o, client.GetNodeBond(node, w[1]), RenderBondShow, io);
    }
    if (w.size() == 3 && w[2] == "rotate") {
      return Print<v1::RotateBondResponse>(o, client.RotateNodeBond(node, w[1]), RenderRotation,
                                           io);
    }
    return Usage(io.err, "expected: --node ID bond list | bond <peer> show | bond <peer> rotate");
  }
  if (command == "events" && w.size() == 1) return RunEvents(o, client, io);
  if (command == "drain" && w.size() == 1) {
    return Print<v1::DrainResponse>(
        o, client.Drain(*redirects),
        [&](const v1::DrainResponse& d) { return RenderDrain(d, address); }, io);
  }
  return Usage(io.err,
               absl::StrCat("expected: ", command == "nodes"   ? "nodes [--selector SEL]"
                                          : command == "node"  ? "node ID"
                                          : command == "drain" ? "drain [--redirect ADDR]"
                                                               : "events [--node ID] [--count N] "
                                                                 "[--timeout S]"));
}

int RunAgainstNode(const Options& o, const std::string& api, const CliContext& io) {
  const std::vector<std::string>& w = o.words;
  static const std::set<std::string> kControllerOnly = {"policy", "peer-bond", "nodes",
                                                        "node",   "events",    "drain"};
  if (kControllerOnly.contains(w[0]) || (w[0] == "settings" && w.size() > 1 && w[1] == "check")) {
    return Usage(io.err, absl::StrCat("`", Words(w),
                                      "` is a controller command: give --controller "
                                      "ADDR (or set FLEETBOND_CONTROLLER)"));
  }
  NodeClient client(api);
  if (w[0] == "bond") {
    if (w.size() == 2 && w[1] == "list") {
      return Print<v1::ListBondsResponse>(o, client.ListBonds(), RenderBondList, io);
    }
    if (w.size() == 3 && w[2] == "show") {
      return Print<v1::Bond>(o, client.GetBond(w[1]), RenderBondShow, io);
    }
    if (w.size() == 3 && w[2] == "rotate") {
      return Print<v1::RotateBondResponse>(o, client.RotateBond(w[1]), RenderRotation, io);
    }
    return Usage(io.err, "expected: bond list | bond <peer> show | bond <peer> rotate");
  }
  if (w[0] == "info" && w.size() == 1) {
    return Print<v1::NodeInfo>(o, client.GetInfo(), RenderInfo, io);
  }
  if (w[0] == "peers" && w.size() == 1) {
    return Print<v1::ListPeersResponse>(o, client.ListPeers(), RenderPeers, io);
  }
  if (w[0] == "settings") {
    if (w.size() == 2 && w[1] == "show") {
      return Print<v1::GetSettingsResponse>(o, client.GetSettings(), RenderSettings, io);
    }
    if (w.size() == 3 && w[1] == "apply") {
      absl::StatusOr<std::string> text = settings::ReadLocalConfFile(w[2]);
      if (!text.ok()) {
        io.err << "fleetbond-cli: " << text.status().message() << "\n";
        return kExitUsage;
      }
      return Print<v1::ApplySettingsResponse>(o, client.ApplySettings(*text), RenderApplied, io);
    }
    return Usage(io.err, "expected: settings show | settings apply FILE");
  }
  return Usage(io.err, absl::StrCat("unknown command: ", Words(w)));
}

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const CliContext& io) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const std::string name = a.substr(0, a.find('='));
    if (a == "-j" || a == "--json") {
      o.json = true;
    } else if (a == "-h" || a == "--help" || a == "help") {
      io.out << kUsage;
      return kExitOk;
    } else if (a == "--insecure") {
      o.insecure = true;
    } else if (ValueOptions().contains(name)) {
      std::string value;
      if (name != a) {
        value = a.substr(name.size() + 1);
      } else if (i + 1 == args.size()) {
        const bool address = name == "--api" || name == "--controller" || name == "--redirect";
        return Usage(io.err, absl::StrCat(a, address ? " needs an address" : " needs a value"));
      } else {
        value = args[++i];
      }
      // --redirect may be given several times: the addresses add up (a comma list, as one).
      if (name == "--redirect" && o.Has(name)) value = absl::StrCat(o.Get(name), ",", value);
      o.values[name] = value;
    } else if (absl::StartsWith(a, "-") && a.size() > 1) {
      return Usage(io.err, absl::StrCat("unknown option ", a));
    } else {
      o.words.push_back(a);
    }
  }
  if (o.words.empty()) return Usage(io.err, "no command");

  // An explicit --api picks the node even when FLEETBOND_CONTROLLER is set; --api and
  // --controller together are two targets for one command.
  if (o.Has("--api") && o.Has("--controller")) {
    return Usage(io.err, "--api (a node) and --controller: give one of them");
  }
  std::string controller = o.Get("--controller");
  if (!o.Has("--controller") && !o.Has("--api") && Env("FLEETBOND_CONTROLLER") != nullptr) {
    controller = Env("FLEETBOND_CONTROLLER");
  }
  if (o.Has("--controller") && controller.empty()) {
    return Usage(io.err, "--controller needs an address");
  }

  if (o.words[0] == "config") {
    if (o.words.size() == 3 && o.words[1] == "check") {
      return settings::RunConfigCheck(o.words[2], o.json, io.out, io.err, daemon::StandaloneIssues);
    }
    return Usage(io.err, "expected: config check FILE");
  }
  if (!controller.empty()) return RunAgainstController(o, controller, io);

  std::vector<std::string> controller_options;
  for (const auto& [name, value] : o.values) {
    if (name != "--api") controller_options.push_back(name);
  }
  if (o.insecure) controller_options.push_back("--insecure");
  if (!controller_options.empty()) {
    return Usage(io.err, absl::StrCat(absl::StrJoin(controller_options, ", "),
                                      controller_options.size() == 1 ? " needs" : " need",
                                      " --controller ADDR"));
  }
  std::string api = o.Get("--api");
  if (!o.Has("--api")) api = Env("FLEETBOND_API") != nullptr ? Env("FLEETBOND_API") : kDefaultApi;
  return RunAgainstNode(o, api, io);
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunCli(args, {.in = std::cin, .out = out, .err = err, .clock = SystemClock::Get()});
}

}  // namespace fleetbond::cli
