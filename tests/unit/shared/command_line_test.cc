#include "shared/command_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetbond {
namespace {

std::vector<std::string> Rewrite(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  AcceptDashedFlags(static_cast<int>(argv.size()), argv.data());
  return {argv.begin(), argv.end()};
}

TEST(AcceptDashedFlags, RewritesDashesInLongFlagNamesOnly) {
  EXPECT_THAT(Rewrite({"prog", "--check-config", "my-file.conf", "--metrics-listen=a-b:1", "-j"}),
              ::testing::ElementsAre("prog", "--check_config", "my-file.conf",
                                     "--metrics_listen=a-b:1", "-j"));
}

TEST(AcceptDashedFlags, LeavesEverythingAfterDoubleDashAlone) {
  EXPECT_THAT(Rewrite({"prog", "--", "--not-a-flag"}),
              ::testing::ElementsAre("prog", "--", "--not-a-flag"));
}

}  // namespace
}  // namespace fleetbond
