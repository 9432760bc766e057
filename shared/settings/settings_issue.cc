#include "shared/settings/settings_issue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fleetbond::settings {

Issue Error(std::string path, std::string message) {
  return Issue{Severity::kError, std::move(path), std::move(message)};
}

Issue Warning(std::string path, std::string message) {
  return Issue{Severity::kWarning, std::move(path), std::move(message)};
}

std::string FormatIssue(const Issue& issue) {
  const char* prefix = issue.severity == Severity::kError ? "error: " : "warning: ";
  if (issue.path.empty()) return absl::StrCat(prefix, issue.message);
  return absl::StrCat(prefix, issue.path, ": ", issue.message);
}

bool HasErrors(const std::vector<Issue>& issues) {
  return std::any_of(issues.begin(), issues.end(),
                     [](const Issue& i) { return i.severity == Severity::kError; });
}

v1::SettingsIssue ToProto(const Issue& issue) {
  v1::SettingsIssue p;
  p.set_severity(issue.severity == Severity::kError ? v1::SettingsIssue::SEVERITY_ERROR
                                                    : v1::SettingsIssue::SEVERITY_WARNING);
  p.set_path(issue.path);
  p.set_message(issue.message);
  return p;
}

void PrintTo(const Issue& issue, std::ostream* os) { *os << FormatIssue(issue); }

}  // namespace fleetbond::settings
