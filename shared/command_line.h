// command_line.h
//
// AcceptDashedFlags lets every fleetbond binary take its long flags spelled with dashes, as the
// docs write them (`--check-config`, `--metrics-listen`), although absl flags are named with
// underscores and absl does not map one to the other. Call it before absl::ParseCommandLine.
//
// Example:
//   int main(int argc, char** argv) {
//     fleetbond::AcceptDashedFlags(argc, argv);
//     absl::ParseCommandLine(argc, argv);
#pragma once

#include <cstring>

namespace fleetbond {

// AcceptDashedFlags rewrites, in place, the dashes inside the name of every `--long-flag` (up to
// an `=`) into underscores. Values, positional arguments and everything after a bare `--` are
// left alone.
inline void AcceptDashedFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return;
    if (std::strncmp(arg, "--", 2) != 0) continue;
    for (char* c = arg + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

}  // namespace fleetbond
