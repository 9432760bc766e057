// fleetbond-cli: operator CLI. This build implements `config check FILE`.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "shared/settings/config_check.h"

namespace {

constexpr char kUsage[] =
    "usage: fleetbond-cli [-j] <command>\n"
    "commands:\n"
    "  config check FILE   validate a local.conf and print its effective policy table\n"
    "options:\n"
    "  -j                  print JSON\n"
    "  -h, --help          print this help\n";

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-j") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::cout << kUsage;
      return 0;
    } else {
      words.emplace_back(argv[i]);
    }
  }
  if (words.size() == 3 && words[0] == "config" && words[1] == "check") {
    return fleetbond::settings::RunConfigCheck(words[2], json, std::cout, std::cerr);
  }
  std::cerr << "fleetbond-cli: unknown command";
  for (const auto& w : words) std::cerr << ' ' << w;
  std::cerr << "\n" << kUsage;
  return 2;
}
