#include "node/cli/fleet_view.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "node/cli/node_view.h"
#include "shared/text_table.h"

namespace fleetbond::cli {
namespace {

// The `nodes` table shows the start of a NACK error; `node ID` shows all of it.
constexpr size_t kShortErrorLength = 40;

std::string WithNewline(std::string text) {
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::string Document(const std::string& heading, const std::string& local_conf_json) {
  return absl::StrCat("\n", heading, ":\n", WithNewline(local_conf_json));
}

std::string ShortError(const std::string& error) {
  if (error.empty()) return "-";
  std::string first_line = error.substr(0, error.find('\n'));
  if (first_line.size() <= kShortErrorLength && first_line.size() == error.size()) return error;
  return absl::StrCat(first_line.substr(0, kShortErrorLength - 3), "...");
}

std::string VersionOrDash(uint64_t version) { return version == 0 ? "-" : absl::StrCat(version); }

std::string KindName(v1::FleetEvent::Kind kind) {
  const std::string& name = v1::FleetEvent::Kind_Name(kind);
  if (name.empty()) return absl::StrCat("kind-", static_cast<int>(kind));
  return absl::StrReplaceAll(absl::AsciiStrToLower(absl::StripPrefix(name, "KIND_")), {{"_", "-"}});
}

}  // namespace

std::string RenderFleetSettings(const v1::FleetSettings& settings, const std::string& scope,
                                bool scope_given) {
  std::string out = absl::StrCat("settings version ", settings.version(), "\n");
  if (scope_given && !scope.empty()) {
    return out + Document(absl::StrCat("scope ", scope), settings.local_conf_json());
  }
  out += Document("fleet-wide", settings.local_conf_json());
  if (scope_given) return out;
  for (const v1::ScopedSettings& s : settings.scopes()) {
    out += Document(absl::StrCat("scope ", s.scope()), s.local_conf_json());
  }
  return out;
}

std::string RenderIssue(const v1::SettingsIssue& issue) {
  const char* kind =
      issue.severity() == v1::SettingsIssue::SEVERITY_WARNING ? "warning: " : "error: ";
  return absl::StrCat(kind, issue.path().empty() ? "" : absl::StrCat(issue.path(), ": "),
                      issue.message(), "\n");
}

std::string RenderSettingsChange(const v1::FleetSettings& settings,
                                 const std::vector<v1::SettingsIssue>& warnings) {
  std::string out = absl::StrCat("settings version ", settings.version(), "\n");
  for (const v1::SettingsIssue& w : warnings) out += RenderIssue(w);
  return out;
}

std::string RenderValidation(const v1::ValidateSettingsResponse& validation) {
  size_t errors = 0;
  for (const v1::SettingsIssue& i : validation.issues()) {
    if (i.severity() != v1::SettingsIssue::SEVERITY_WARNING) ++errors;
  }
  std::string out = validation.valid() ? std::string("settings valid\n")
                                       : absl::StrCat("settings invalid: ", errors,
                                                      errors == 1 ? " error\n" : " errors\n");
  for (const v1::SettingsIssue& i : validation.issues()) out += RenderIssue(i);
  return out;
}

std::string FormatAge(int64_t unix_ms, absl::Time now) {
  if (unix_ms <= 0) return "never";
  const absl::Duration age = std::max(absl::ZeroDuration(), now - absl::FromUnixMillis(unix_ms));
  return absl::StrCat(FormatUptime(absl::ToInt64Milliseconds(age)), " ago");
}

std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return "-";
  const std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

std::string RenderNodes(const v1::ListNodesResponse& nodes, absl::Time now) {
  TextTable t({"<node>", "<connected>", "<overlay>", "<version>", "<acked/desired>", "<last seen>",
               "<labels>", "<last nack>"});
  t.AlignRight(4);
  for (const v1::NodeStatus& n : nodes.nodes()) {
    t.AddRow(
        {n.id(), n.connected() ? "yes" : "no",
         n.overlay_address().empty() ? "-" : n.overlay_address(),
         n.software_version().empty() ? "-" : n.software_version(),
         absl::StrCat(VersionOrDash(n.acked_version()), "/", VersionOrDash(n.desired_version())),
         FormatAge(n.last_seen_unix_ms(), now), FormatLabels(n.labels()),
         ShortError(n.last_nack_error())});
  }
  return t.Render();
}

std::string RenderNode(const v1::NodeStatus& node, absl::Time now) {
  KeyValueList kv;
  kv.Add("Node", node.id());
  kv.Add("Labels", FormatLabels(node.labels()));
  kv.Add("Connected", node.connected() ? "yes" : "no");
  kv.Add("Last Seen",
         node.last_seen_unix_ms() <= 0
             ? "never"
             : absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                             absl::FromUnixMillis(node.last_seen_unix_ms()),
                                             absl::UTCTimeZone()),
                            " (", FormatAge(node.last_seen_unix_ms(), now), ")"));
  kv.Add("Overlay", node.overlay_address().empty() ? "-" : node.overlay_address());
  kv.Add("Software Version", node.software_version().empty() ? "-" : node.software_version());
  kv.Add("Public Key", node.public_key().empty() ? "-" : node.public_key());
  kv.Add("Endpoints", node.endpoints().empty() ? "-" : absl::StrJoin(node.endpoints(), ","));
  kv.Add("Desired Version", VersionOrDash(node.desired_version()));
  kv.Add("Acked Version", VersionOrDash(node.acked_version()));
  kv.Add("Nacked Version", VersionOrDash(node.nacked_version()));
  kv.Add("Last NACK Error", node.last_nack_error().empty() ? "-" : node.last_nack_error());
  return kv.Render();
}

std::string RenderDrain(const v1::DrainResponse& drain, const std::string& address) {
  const std::vector<std::string> to(drain.redirect().begin(), drain.redirect().end());
  return absl::StrCat(
      "controller replica at ", address, " is draining: ", drain.sessions_ended(),
      drain.sessions_ended() == 1 ? " node session" : " node sessions", " ended, ",
      to.empty() ? "without a redirect (each node moves on through its own list of controllers)"
                 : absl::StrCat("nodes sent to ", absl::StrJoin(to, ", ")),
      "; it refuses new sessions until it restarts\n");
}

std::string RenderEvent(const v1::FleetEvent& event) {
  std::vector<std::string> about;
  if (!event.peer().empty()) about.push_back(absl::StrCat("peer ", event.peer()));
  if (event.version() != 0) about.push_back(absl::StrCat("version ", event.version()));
  std::string detail = absl::StrJoin(about, " ");
  if (!event.detail().empty()) {
    absl::StrAppend(&detail, detail.empty() ? "" : ": ", event.detail());
  }
  std::string kind = KindName(event.kind());
  kind.resize(std::max(kind.size(), sizeof("settings-changed") - 1), ' ');
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(event.unix_time_ms()),
                       absl::UTCTimeZone()),
      "  ", event.node_id().empty() ? "-" : event.node_id(), "  ", kind, "  ", detail);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

}  // namespace fleetbond::cli
