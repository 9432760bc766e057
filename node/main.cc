// fleetbond-node: the per-host daemon. This build implements the settings check; the data plane
// arrives with the node data-plane work (see docs/).
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "shared/settings/config_check.h"

ABSL_FLAG(std::string, check_config, "",
          "Validate this local.conf, print the effective policy table and exit (0 valid, 1 "
          "invalid, 2 unreadable).");
ABSL_FLAG(bool, j, false, "Print JSON instead of text.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fleetbond-node: multipath bonding daemon.\n"
      "  fleetbond-node --check-config FILE [-j]");
  absl::ParseCommandLine(argc, argv);
  const std::string check = absl::GetFlag(FLAGS_check_config);
  if (!check.empty()) {
    return fleetbond::settings::RunConfigCheck(check, absl::GetFlag(FLAGS_j), std::cout,
                                               std::cerr);
  }
  std::cerr << "fleetbond-node: nothing to do; try --check-config FILE or --help\n";
  return 2;
}
