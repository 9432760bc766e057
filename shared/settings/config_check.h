// config_check.h
//
// RunConfigCheck is `fleetbond-node --check-config FILE` and `fleetbond-cli config check FILE`:
// one implementation, so both print the same thing.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "shared/settings/local_conf_parser.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::settings {

// Exit codes of a config check.
inline constexpr int kCheckValid = 0;       // valid (warnings may have been printed)
inline constexpr int kCheckInvalid = 1;     // the document has errors; every one was printed
inline constexpr int kCheckUnreadable = 2;  // the file could not be read

// ExtraCheck judges the parts of local.conf that the settings library keeps but does not judge
// (the node's "overlay" and "peers"); its issues are reported with the settings' own.
using ExtraCheck = std::function<std::vector<Issue>(const LocalConf&)>;

// RunConfigCheck reads local.conf at `path`, validates it (and runs `extra`, when given) and
// prints to `out` the effective policy table (every resolved parameter of every policy, and its
// links) when it is valid, or every error when not; warnings and errors go to `err` in text mode.
// With `json`, one JSON document goes to `out` in every case. Returns one of the exit codes above.
int RunConfigCheck(const std::string& path, bool json, std::ostream& out, std::ostream& err,
                   const ExtraCheck& extra = nullptr);

}  // namespace fleetbond::settings
