#include "node/daemon/path_planner.h"

#include <sys/socket.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/defaults.h"

namespace fleetbond::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

InterfaceState Iface(const std::string& name, std::vector<InterfaceAddress> addrs) {
  InterfaceState s;
  s.name = name;
  s.admin_up = s.carrier = true;
  s.addresses = std::move(addrs);
  return s;
}

class PathPlannerTest : public ::testing::Test {
 protected:
  // The rig's shape: eth0 and eth1 on IPv4 subnets, eth2 IPv6 only, plus lo and the TUN.
  InterfaceState eth0_ = Iface("eth0", {{AF_INET, "10.201.0.1", 24}, {AF_INET6, "fe80::1", 64}});
  InterfaceState eth1_ = Iface("eth1", {{AF_INET, "10.201.1.1", 24}});
  InterfaceState eth2_ = Iface("eth2", {{AF_INET6, "fd20:0:0:2::1", 64}});
  InterfaceState lo_ = Iface("lo", {{AF_INET, "127.0.0.1", 8}});
  InterfaceState tun_ = Iface("fb0", {{AF_INET, "10.147.0.1", 24}});
  std::vector<const InterfaceState*> all_ = {&eth0_, &eth1_, &eth2_, &lo_, &tun_};
  std::vector<std::string> peer_ = {"10.201.0.2/9800", "10.201.1.2/9800", "fd20:0:0:2::2/9800"};
};

TEST_F(PathPlannerTest, OnLinkEndpointsPairOnlyWithTheLinkOnTheirSubnet) {
  EXPECT_THAT(PlanPaths(all_, nullptr, peer_, {"fb0"}),
              ElementsAre(PlannedPath{"eth0", "10.201.0.1", "10.201.0.2/9800", AF_INET},
                          PlannedPath{"eth1", "10.201.1.1", "10.201.1.2/9800", AF_INET},
                          PlannedPath{"eth2", "fd20:0:0:2::1", "fd20:0:0:2::2/9800", AF_INET6}));
}

TEST_F(PathPlannerTest, RoutedEndpointPairsWithEveryLinkOfItsFamily) {
  EXPECT_THAT(PlanPaths(all_, nullptr, {"192.0.2.7/9800"}, {"fb0"}),
              ElementsAre(PlannedPath{"eth0", "10.201.0.1", "192.0.2.7/9800", AF_INET},
                          PlannedPath{"eth1", "10.201.1.1", "192.0.2.7/9800", AF_INET}));
}

TEST_F(PathPlannerTest, PolicyThatListsLinksRestrictsThePlanToThem) {
  ResolvedPolicy p = DefaultPolicy(BasePolicy::kActiveBackup);
  p.links.push_back({.name = "eth1"});
  EXPECT_THAT(PlanPaths(all_, &p, peer_, {"fb0"}),
              ElementsAre(PlannedPath{"eth1", "10.201.1.1", "10.201.1.2/9800", AF_INET}));
}

TEST_F(PathPlannerTest, LoopbackTunAndLinkLocalNeverCarryPaths) {
  EXPECT_THAT(PlanPaths({&lo_, &tun_}, nullptr, {"127.0.0.2/9800", "10.147.0.2/9800"}, {"fb0"}),
              IsEmpty());
  InterfaceState only_ll = Iface("eth5", {{AF_INET6, "fe80::5", 64}});
  EXPECT_THAT(PlanPaths({&only_ll}, nullptr, {"fd99::1/9800"}, {}), IsEmpty());
}

TEST_F(PathPlannerTest, MalformedEndpointsAreSkipped) {
  EXPECT_THAT(PlanPaths(all_, nullptr, {"nonsense", "10.201.0.2", "10.201.0.2/9800"}, {"fb0"}),
              ElementsAre(PlannedPath{"eth0", "10.201.0.1", "10.201.0.2/9800", AF_INET}));
}

TEST(PrefixContains, ComparesOnlyThePrefixBits) {
  EXPECT_TRUE(PrefixContains("10.201.0.1", 24, "10.201.0.200"));
  EXPECT_FALSE(PrefixContains("10.201.0.1", 24, "10.201.1.2"));
  EXPECT_TRUE(PrefixContains("10.201.0.1", 23, "10.201.1.2"));
  EXPECT_TRUE(PrefixContains("fd20::1", 64, "fd20::ffff"));
  EXPECT_FALSE(PrefixContains("fd20::1", 64, "fd21::1"));
  EXPECT_FALSE(PrefixContains("10.0.0.1", 8, "fd20::1"));
  EXPECT_TRUE(PrefixContains("10.0.0.1", 0, "192.168.1.1"));
}

}  // namespace
}  // namespace fleetbond::daemon
