#include "node/daemon/interface_table.h"

#include <sys/socket.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetbond::daemon {
namespace {

using Kind = InterfaceChange::Kind;
using ::testing::ElementsAre;
using ::testing::Field;

netlink::Events Link(int index, const std::string& name, bool up, bool carrier,
                     bool exists = true) {
  netlink::Events ev;
  ev.links.push_back({index, name, exists, up, carrier});
  return ev;
}

netlink::Events Addr(int index, const std::string& address, uint8_t len, bool added = true) {
  netlink::Events ev;
  ev.addresses.push_back(
      {index, added, address.find(':') == std::string::npos ? AF_INET : AF_INET6, address, len});
  return ev;
}

std::vector<Kind> Kinds(const std::vector<InterfaceChange>& changes) {
  std::vector<Kind> out;
  for (const auto& c : changes) out.push_back(c.kind);
  return out;
}

TEST(InterfaceTable, NewInterfaceWithCarrierAppearsAndComesUp) {
  InterfaceTable t;
  EXPECT_THAT(Kinds(t.Apply(Link(3, "eth0", true, true))),
              ElementsAre(Kind::kAppeared, Kind::kCarrierUp));
  ASSERT_NE(t.Find("eth0"), nullptr);
  EXPECT_FALSE(t.Find("eth0")->usable()) << "no address yet";
  EXPECT_THAT(Kinds(t.Apply(Addr(3, "10.0.0.1", 24))), ElementsAre(Kind::kAddressAdded));
  EXPECT_TRUE(t.Find("eth0")->usable());
}

TEST(InterfaceTable, CarrierLossIsReportedOnceAndReturnIsReported) {
  InterfaceTable t;
  t.Apply(Link(3, "eth0", true, true));
  EXPECT_THAT(Kinds(t.Apply(Link(3, "eth0", true, false))), ElementsAre(Kind::kCarrierDown));
  EXPECT_THAT(Kinds(t.Apply(Link(3, "eth0", true, false))), ElementsAre());
  EXPECT_THAT(Kinds(t.Apply(Link(3, "eth0", true, true))), ElementsAre(Kind::kCarrierUp));
}

TEST(InterfaceTable, AdministrativeDownCountsAsCarrierLoss) {
  InterfaceTable t;
  t.Apply(Link(3, "eth0", true, true));
  EXPECT_THAT(Kinds(t.Apply(Link(3, "eth0", false, true))), ElementsAre(Kind::kCarrierDown));
}

TEST(InterfaceTable, DeletedInterfaceTakesItsAddressesWithIt) {
  InterfaceTable t;
  t.Apply(Link(3, "eth0", true, true));
  t.Apply(Addr(3, "10.0.0.1", 24));
  t.Apply(Addr(3, "fd00::1", 64));
  std::vector<InterfaceChange> c = t.Apply(Link(3, "eth0", false, false, /*exists=*/false));
  EXPECT_THAT(Kinds(c), ElementsAre(Kind::kAddressRemoved, Kind::kAddressRemoved, Kind::kVanished));
  EXPECT_EQ(t.Find("eth0"), nullptr);
}

TEST(InterfaceTable, DuplicateAddressEventsChangeNothing) {
  InterfaceTable t;
  t.Apply(Link(3, "eth0", true, true));
  t.Apply(Addr(3, "10.0.0.1", 24));
  EXPECT_THAT(Kinds(t.Apply(Addr(3, "10.0.0.1", 24))), ElementsAre());
  EXPECT_THAT(Kinds(t.Apply(Addr(3, "10.0.0.1", 24, false))), ElementsAre(Kind::kAddressRemoved));
  EXPECT_THAT(Kinds(t.Apply(Addr(3, "10.0.0.1", 24, false))), ElementsAre());
}

TEST(InterfaceTable, RenamedInterfaceVanishesUnderTheOldNameAndAppearsUnderTheNew) {
  InterfaceTable t;
  t.Apply(Link(3, "eth0", true, true));
  t.Apply(Addr(3, "10.0.0.1", 24));
  std::vector<InterfaceChange> c = t.Apply(Link(3, "wan0", true, true));
  EXPECT_THAT(
      c, ElementsAre(Field(&InterfaceChange::name, "eth0"), Field(&InterfaceChange::name, "eth0"),
                     Field(&InterfaceChange::name, "wan0"), Field(&InterfaceChange::name, "wan0")));
  EXPECT_EQ(t.Find("eth0"), nullptr);
  ASSERT_NE(t.Find("wan0"), nullptr);
  EXPECT_EQ(t.Find("wan0")->addresses.size(), 1u);
}

TEST(InterfaceTable, AddressForUnknownInterfaceIsIgnored) {
  InterfaceTable t;
  EXPECT_THAT(Kinds(t.Apply(Addr(9, "10.0.0.1", 24))), ElementsAre());
}

}  // namespace
}  // namespace fleetbond::daemon
