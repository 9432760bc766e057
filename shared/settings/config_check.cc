#include "shared/settings/config_check.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/policy_table.h"

namespace fleetbond::settings {
namespace {

nlohmann::json IssuesJson(const std::vector<Issue>& issues, Severity severity) {
  nlohmann::json list = nlohmann::json::array();
  for (const Issue& i : issues) {
    if (i.severity == severity) list.push_back({{"path", i.path}, {"message", i.message}});
  }
  return list;
}

std::string Count(size_t n, const char* what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

}  // namespace

int RunConfigCheck(const std::string& path, bool json, std::ostream& out, std::ostream& err,
                   const ExtraCheck& extra) {
  absl::StatusOr<std::string> text = ReadLocalConfFile(path);
  if (!text.ok()) {
    if (json) {
      nlohmann::json doc = {{"valid", false},
                            {"errors", {{{"path", ""}, {"message", text.status().message()}}}},
                            {"warnings", nlohmann::json::array()},
                            {"policies", nlohmann::json::array()}};
      out << doc.dump(2) << "\n";
    } else {
      err << "error: " << text.status().message() << "\n";
    }
    return kCheckUnreadable;
  }

  LocalConfCheck check = CheckLocalConf(*text);
  if (extra) {
    std::vector<Issue> more = extra(check.conf);
    check.issues.insert(check.issues.end(), more.begin(), more.end());
  }
  const bool valid = check.valid() && !HasErrors(check.issues);
  if (json) {
    // Ordered, so that a person reading the document sees the verdict first.
    nlohmann::ordered_json doc;
    doc["valid"] = valid;
    doc["errors"] = IssuesJson(check.issues, Severity::kError);
    doc["warnings"] = IssuesJson(check.issues, Severity::kWarning);
    if (valid) {
      nlohmann::json table = PolicyTableJson(*check.resolver);
      doc["defaultBondingPolicy"] = table["defaultBondingPolicy"];
      doc["peerSpecificBonds"] = table["peerSpecificBonds"];
      doc["policies"] = table["policies"];
    } else {
      doc["policies"] = nlohmann::json::array();
    }
    out << doc.dump(2) << "\n";
    return valid ? kCheckValid : kCheckInvalid;
  }

  size_t errors = 0;
  size_t warnings = 0;
  for (const Issue& i : check.issues) {
    (i.severity == Severity::kError ? errors : warnings)++;
    if (i.path.empty()) {
      err << (i.severity == Severity::kError ? "error: " : "warning: ") << path << ": " << i.message
          << "\n";
    } else {
      err << FormatIssue(i) << "\n";
    }
  }
  if (!valid) {
    err << path << ": not valid: " << Count(errors, "error") << ", " << Count(warnings, "warning")
        << "\n";
    return kCheckInvalid;
  }
  out << RenderPolicyTableText(*check.resolver);
  if (warnings > 0) err << path << ": valid, with " << Count(warnings, "warning") << "\n";
  return kCheckValid;
}

}  // namespace fleetbond::settings
