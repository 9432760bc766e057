#include "shared/tls/ca_command.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/tls/ca.h"
#include "shared/tls/secure_files.h"

namespace fleetbond::tls {
namespace {

constexpr absl::string_view kUsage =
    R"(usage: fleetbond-controller ca <command>

  ca init  [--dir DIR] [--name FLEET] [--san NAME]...
      Create the fleet CA (ca.key, ca.crt) and the controller's TLS certificate
      (controller.crt, controller.key; valid for localhost, 127.0.0.1, ::1 and every --san).
      Refuses to replace an existing CA.
  ca issue --node ID [--dir DIR] [--out DIR]
      Certificate for the node with this id (10 lowercase hex digits).
  ca issue --operator NAME [--dir DIR] [--out DIR]
      Certificate for an operator (fleetbond-cli --controller ...).
  ca issue --server NAME [--server NAME]... [--dir DIR] [--out DIR]
      Another controller certificate, for these DNS names or IP addresses.
  ca issue --replica NAME --server NAME [--server NAME]... [--dir DIR] [--out DIR]
      Certificate for one of several controller replicas (docs/controller.md, "Replicas"):
      it serves under the --server names and authenticates the replica to the others.

  --dir   the CA directory (default: %s)
  --out   where issued certificates and keys are written (default: the CA directory)

Keys are written with mode 0600. See docs/tls.md.
)";

// Flags holds the parsed options of one command.
struct Flags {
  std::optional<std::string> dir;
  std::optional<std::string> out;
  std::optional<std::string> name;
  std::optional<std::string> node;
  std::optional<std::string> operator_name;
  std::optional<std::string> replica;
  std::vector<std::string> sans;
  std::vector<std::string> servers;
  bool help = false;
};

std::string Usage(absl::string_view default_dir) {
  std::string text(kUsage);
  size_t at = text.find("%s");
  text.replace(at, 2, std::string(default_dir));
  return text;
}

// ParseFlags reads `--flag VALUE` and `--flag=VALUE` pairs from args[first...], accepting only
// the flags in `allowed`. Returns an error message for a usage error.
std::optional<std::string> ParseFlags(const std::vector<std::string>& args, size_t first,
                                      const std::vector<absl::string_view>& allowed, Flags& flags) {
  for (size_t i = first; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) return absl::StrCat("unexpected argument \"", arg, "\"");
    std::string name(arg.substr(2));
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return absl::StrCat("unknown flag --", name, " here");
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) return absl::StrCat("--", name, " needs a value");
      value = args[++i];
    }
    if (value->empty()) return absl::StrCat("--", name, " needs a non-empty value");
    auto set_once = [&](std::optional<std::string>& slot) -> std::optional<std::string> {
      if (slot.has_value()) return absl::StrCat("--", name, " given twice");
      slot = *value;
      return std::nullopt;
    };
    std::optional<std::string> problem;
    if (name == "dir") problem = set_once(flags.dir);
    if (name == "out") problem = set_once(flags.out);
    if (name == "name") problem = set_once(flags.name);
    if (name == "node") problem = set_once(flags.node);
    if (name == "operator") problem = set_once(flags.operator_name);
    if (name == "replica") problem = set_once(flags.replica);
    if (name == "san") flags.sans.push_back(*value);
    if (name == "server") flags.servers.push_back(*value);
    if (problem.has_value()) return problem;
  }
  return std::nullopt;
}

int Fail(std::ostream& err, absl::string_view command, const absl::Status& status) {
  err << "fleetbond-controller " << command << ": " << status.message() << "\n";
  return kCaCommandFailed;
}

int Init(const Flags& flags, absl::string_view default_dir, std::ostream& out, std::ostream& err,
         const Clock& clock) {
  std::string dir = flags.dir.value_or(std::string(default_dir));
  std::string fleet = flags.name.value_or("fleet");
  CaOptions options{.extra_server_names = flags.sans};
  if (absl::Status s = InitCa(dir, fleet, options, clock); !s.ok()) return Fail(err, "ca init", s);
  std::vector<std::string> names = DefaultServerNames();
  names.insert(names.end(), flags.sans.begin(), flags.sans.end());
  std::string ca_crt = JoinPath(dir, kCaCertFile);
  out << "Created the fleetbond CA \"" << fleet << "\" in " << dir << ":\n"
      << "  " << JoinPath(dir, kCaKeyFile)
      << "          CA private key (0600): keep it here, back it up offline\n"
      << "  " << ca_crt << "          CA certificate: give it to every node and operator\n"
      << "  " << JoinPath(dir, kControllerKeyFile) << "  controller TLS key (0600)\n"
      << "  " << JoinPath(dir, kControllerCertFile) << "  controller TLS certificate for "
      << absl::StrJoin(names, ", ") << "\n\n"
      << "Run the controller with:\n"
      << "  fleetbond-controller --tls-ca " << ca_crt << " --tls-cert "
      << JoinPath(dir, kControllerCertFile) << " --tls-key " << JoinPath(dir, kControllerKeyFile)
      << "\n"
      << "Then issue certificates: fleetbond-controller ca issue --node ID | --operator NAME\n";
  return kCaCommandOk;
}

int Issue(const Flags& flags, absl::string_view default_dir, std::ostream& out, std::ostream& err,
          const Clock& clock) {
  // --replica takes the names it serves under from --server.
  int kinds = flags.node.has_value() + flags.operator_name.has_value() +
              (flags.replica.has_value() || !flags.servers.empty());
  if (kinds != 1) {
    err << "fleetbond-controller ca issue: give exactly one of --node ID, --operator NAME, "
           "--server NAME, --replica NAME --server NAME\n"
        << "Run `fleetbond-controller ca --help` for usage.\n";
    return kCaCommandUsage;
  }
  std::string dir = flags.dir.value_or(std::string(default_dir));
  std::string out_dir = flags.out.value_or(dir);
  std::string ca_crt = JoinPath(dir, kCaCertFile);
  absl::StatusOr<IssuedFiles> files;
  std::string what;
  if (flags.node.has_value()) {
    files = IssueNode(dir, *flags.node, out_dir, clock);
    what = absl::StrCat("node ", *flags.node);
  } else if (flags.operator_name.has_value()) {
    files = IssueOperator(dir, *flags.operator_name, out_dir, clock);
    what = absl::StrCat("operator ", *flags.operator_name);
  } else if (flags.replica.has_value()) {
    files = IssueReplica(dir, *flags.replica, flags.servers, out_dir, clock);
    what = absl::StrCat("controller replica ", *flags.replica, " at ",
                        absl::StrJoin(flags.servers, ", "));
  } else {
    files = IssueServer(dir, flags.servers, out_dir, clock);
    what = absl::StrCat("controller at ", absl::StrJoin(flags.servers, ", "));
  }
  if (!files.ok()) return Fail(err, "ca issue", files.status());
  out << "Issued a certificate for " << what << " (valid one year):\n"
      << "  " << files->cert_file << "\n"
      << "  " << files->key_file << "  (0600, secret)\n\n";
  if (flags.node.has_value()) {
    out << "Copy both and " << ca_crt
        << " to the node, then run it with (paths adjusted to where you put them):\n"
        << "  fleetbond-node --controller ADDR:9900 --controller-ca " << ca_crt
        << " --controller-cert " << files->cert_file << " --controller-key " << files->key_file
        << "\n";
  } else if (flags.operator_name.has_value()) {
    out << "Give both and " << ca_crt
        << " to the operator, who runs (paths adjusted to where they are):\n"
        << "  fleetbond-cli --controller ADDR:9900 --controller-ca " << ca_crt << " --cert "
        << files->cert_file << " --key " << files->key_file << " bond list\n";
  } else {
    out << "Run the controller with:\n"
        << "  fleetbond-controller --tls-ca " << ca_crt << " --tls-cert " << files->cert_file
        << " --tls-key " << files->key_file << "\n";
  }
  return kCaCommandOk;
}

}  // namespace

int RunCaCommand(const std::vector<std::string>& args, absl::string_view default_dir,
                 std::ostream& out, std::ostream& err, const Clock& clock) {
  size_t first = !args.empty() && args.front() == "ca" ? 1 : 0;
  if (first >= args.size()) {
    err << Usage(default_dir);
    return kCaCommandUsage;
  }
  const std::string& command = args[first];
  if (command == "--help" || command == "-h" || command == "help") {
    out << Usage(default_dir);
    return kCaCommandOk;
  }
  Flags flags;
  std::optional<std::string> problem;
  if (command == "init") {
    problem = ParseFlags(args, first + 1, {"dir", "name", "san"}, flags);
  } else if (command == "issue") {
    problem =
        ParseFlags(args, first + 1, {"dir", "out", "node", "operator", "server", "replica"}, flags);
  } else {
    problem = absl::StrCat("unknown command \"", command, "\"");
  }
  if (problem.has_value()) {
    err << "fleetbond-controller ca: " << *problem << "\n"
        << "Run `fleetbond-controller ca --help` for usage.\n";
    return kCaCommandUsage;
  }
  if (flags.help) {
    out << Usage(default_dir);
    return kCaCommandOk;
  }
  if (command == "init") return Init(flags, default_dir, out, err, clock);
  return Issue(flags, default_dir, out, err, clock);
}

}  // namespace fleetbond::tls
