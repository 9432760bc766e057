// ca_command.h
//
// `fleetbond-controller ca ...`: the command line of the fleet CA (ca.h).
//
//   ca init  [--dir DIR] [--name FLEET] [--san NAME]...
//   ca issue --node ID       [--dir DIR] [--out DIR]
//   ca issue --operator NAME [--dir DIR] [--out DIR]
//   ca issue --server NAME [--server NAME]... [--dir DIR] [--out DIR]
//   ca --help
//
// --dir is the CA directory (default: the controller's data dir + "/ca", passed in by main);
// --out is where issued files go (default: the CA directory). Every command says which files it
// wrote and the flags that use them.
//
// Example (in the controller's main):
//   if (argc > 1 && std::string(argv[1]) == "ca") {
//     return RunCaCommand({argv + 2, argv + argc}, data_dir + "/ca", std::cout, std::cerr);
//   }
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "shared/clock.h"

namespace fleetbond::tls {

inline constexpr int kCaCommandOk = 0;
inline constexpr int kCaCommandFailed = 1;
inline constexpr int kCaCommandUsage = 2;

// RunCaCommand runs one `ca` command. `args` are the words after `ca` (a leading "ca" is
// skipped too). Returns 0 on success, 1 when the command failed, 2 for a usage error; results go
// to `out`, errors to `err`.
int RunCaCommand(const std::vector<std::string>& args, absl::string_view default_dir,
                 std::ostream& out, std::ostream& err, const Clock& clock = SystemClock::Get());

}  // namespace fleetbond::tls
