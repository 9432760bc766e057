// settings_issue.h
//
// Issue is one problem found in a settings document: an error (the document must not be applied)
// or a warning (legal, but probably not what the operator meant), with the JSON path of the value
// and a sentence that says what is wrong and how to fix it. The parser and the validator both
// produce them; every output (check-config, the node API's Nack, the controller) prints them.
//
// Example:
//   Issue e = Error("settings.policies.fast-ab.upDelay",
//                   "expected a whole number from 0 to 65535, got \"fast\"");
//   FormatIssue(e);  // "error: settings.policies.fast-ab.upDelay: expected a whole ..."
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "fleetbond/v1/settings.pb.h"

namespace fleetbond::settings {

enum class Severity { kError, kWarning };

// Issue is one problem. An empty path means the document as a whole (e.g. malformed JSON).
struct Issue {
  Severity severity = Severity::kError;
  std::string path;
  std::string message;

  friend bool operator==(const Issue&, const Issue&) = default;
};

Issue Error(std::string path, std::string message);
Issue Warning(std::string path, std::string message);

// FormatIssue renders "error: PATH: MESSAGE" (or "warning: ..."), without a newline.
std::string FormatIssue(const Issue& issue);

// HasErrors is true when any issue is an error.
bool HasErrors(const std::vector<Issue>& issues);

// ToProto converts for the node API and the controller.
v1::SettingsIssue ToProto(const Issue& issue);

// PrintTo lets gtest print issues readably.
void PrintTo(const Issue& issue, std::ostream* os);

}  // namespace fleetbond::settings
