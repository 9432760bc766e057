// commands.h
//
// RunCli is fleetbond-cli: it parses the command line, calls the node API (or, with --controller,
// the controller's operator API) and prints the result as text or, with -j, as JSON (the APIs'
// messages, field names in docs/cli.md). main() only forwards to it, so tests run the whole CLI
// in-process.
//
// Exit codes: 0 done; 1 the node or controller refused or failed (unknown peer, rotate refused,
// invalid settings, a settings version conflict, invalid config file); 2 usage error or
// unreadable file; 3 the node (or the controller, or through it the node) cannot be reached.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "shared/clock.h"

namespace fleetbond::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// The API address when neither --api nor FLEETBOND_API says otherwise.
inline constexpr char kDefaultApi[] = "127.0.0.1:9801";

// CliContext is what a run reads and writes besides its arguments: stdin (`policy put NAME -`),
// stdout, stderr, and the clock that ages are counted with ("last seen 12s ago").
struct CliContext {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  const Clock& clock;
};

// RunCli runs one command; `args` excludes the program name.
int RunCli(const std::vector<std::string>& args, const CliContext& context);

// RunCli with stdin and the system clock.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace fleetbond::cli
