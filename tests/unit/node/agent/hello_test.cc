#include "node/agent/hello.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

namespace fleetbond::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(HelloTest, OnlyAddressesThatCarryPathsAreReported) {
  daemon::InterfaceState wan{.ifindex = 3, .name = "wwan0"};
  wan.addresses = {{AF_INET6, "fe80::5", 64}, {AF_INET6, "2001:db8::5", 64}};
  daemon::InterfaceState eth{.ifindex = 2, .name = "eth0"};
  eth.addresses = {{AF_INET, "192.0.2.1", 24}};
  daemon::InterfaceState lo{.ifindex = 1, .name = "lo"};
  lo.addresses = {{AF_INET, "127.0.0.1", 8}};
  daemon::InterfaceState tun{.ifindex = 9, .name = "fb1"};
  tun.addresses = {{AF_INET, "10.147.0.1", 24}};
  daemon::InterfaceState local_only{.ifindex = 4, .name = "eth9"};
  local_only.addresses = {{AF_INET6, "fe80::9", 64}};

  std::vector<v1::Interface> out = HelloInterfaces({wan, eth, lo, tun, local_only}, "fb1", 9811);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name(), "eth0");
  EXPECT_THAT(out[0].endpoints(), ElementsAre("192.0.2.1/9811"));
  EXPECT_EQ(out[1].name(), "wwan0");
  EXPECT_THAT(out[1].addresses(), ElementsAre("2001:db8::5/64"));
  EXPECT_THAT(out[1].endpoints(), ElementsAre("2001:db8::5/9811"));
}

TEST(HelloTest, LabelsFromRepeatedFlagsAndCommaLists) {
  absl::StatusOr<std::map<std::string, std::string>> labels =
      ParseLabels({"site=fra1,rack=r12", " role = edge", "site=ams1"});
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->at("site"), "ams1");
  EXPECT_EQ(labels->at("rack"), "r12");
  EXPECT_EQ(labels->size(), 3u);
  EXPECT_THAT(ParseLabels({"site"}).status().message(), HasSubstr("\"site\""));
  EXPECT_FALSE(ParseLabels({"=x"}).ok());
}

}  // namespace
}  // namespace fleetbond::agent
