// settings_validator.h
//
// ValidateSettings judges a Settings document as a whole, wherever it came from (a node's
// local.conf, or a controller push): every rule between values, every range, and every
// questionable-but-legal choice that earns a warning. It returns ALL problems at once, in path
// order, each with its JSON path and a sentence. A document with any error must not be applied.
// docs/settings.md lists every rule and every warning.
//
// Example:
//   std::vector<Issue> issues = ValidateSettings(settings);
//   if (HasErrors(issues)) { /* refuse, report every issue */ }
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "fleetbond/v1/settings.pb.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::settings {

// ValidationContext carries what the parser saw that the Settings model cannot hold.
struct ValidationContext {
  // Policies written directly under "settings" (see LocalConf::misplaced_policies): a reference
  // to one of them gets a message that says to move it rather than "not defined".
  std::vector<std::string> misplaced_policies;
};

std::vector<Issue> ValidateSettings(const v1::Settings& settings,
                                    const ValidationContext& context = {});

// IsValidInterfaceName is true for a name Linux accepts for a network interface: 1 to 15
// characters, no "/" or white space, not "." or "..".
bool IsValidInterfaceName(absl::string_view name);

// IsValidPeerId is true for exactly 10 hex digits (either case), e.g. "f6203a2db3".
bool IsValidPeerId(absl::string_view peer_id);

}  // namespace fleetbond::settings
