// fleetbond-cli: the operator CLI (node/cli/commands.h; docs/cli.md).
#include <iostream>
#include <string>
#include <vector>

#include "node/cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return fleetbond::cli::RunCli(args, std::cout, std::cerr);
}
