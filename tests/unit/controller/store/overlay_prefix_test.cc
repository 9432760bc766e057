#include "controller/store/overlay_prefix.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::fleetbond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::uint128 Key(absl::string_view address) {
  std::optional<absl::uint128> key = ParseAddressKey(address);
  EXPECT_TRUE(key.has_value()) << address;
  return key.value_or(0);
}

// UsedKeys yields `keys` in the order given, as a store would from its index.
NextUsedKey UsedKeys(const std::vector<absl::uint128>& keys) {
  auto it = std::make_shared<size_t>(0);
  return [keys, it]() -> absl::StatusOr<std::optional<absl::uint128>> {
    if (*it == keys.size()) return std::nullopt;
    return keys[(*it)++];
  };
}

std::vector<std::string> Format(const std::vector<absl::uint128>& keys) {
  std::vector<std::string> out;
  for (absl::uint128 key : keys) out.push_back(FormatAddressKey(key));
  return out;
}

TEST(OverlayPrefixTest, Ipv4PrefixExcludesNetworkAndBroadcast) {
  absl::StatusOr<OverlayPrefix> prefix = OverlayPrefix::Parse("10.147.0.0/16");
  ASSERT_THAT(prefix, IsOk());
  EXPECT_TRUE(prefix->is_ipv4());
  EXPECT_EQ(prefix->ToString(), "10.147.0.0/16");
  EXPECT_EQ(FormatAddressKey(prefix->first_host()), "10.147.0.1");
  EXPECT_EQ(FormatAddressKey(prefix->last_host()), "10.147.255.254");
  EXPECT_FALSE(prefix->ContainsHost(Key("10.147.0.0")));
  EXPECT_FALSE(prefix->ContainsHost(Key("10.147.255.255")));
  EXPECT_FALSE(prefix->ContainsHost(Key("10.148.0.1")));
  EXPECT_TRUE(prefix->ContainsHost(Key("10.147.3.7")));
}

TEST(OverlayPrefixTest, Ipv6PrefixExcludesOnlyTheNetworkAddress) {
  absl::StatusOr<OverlayPrefix> prefix = OverlayPrefix::Parse("FD00:0147:0::/64");
  ASSERT_THAT(prefix, IsOk());
  EXPECT_FALSE(prefix->is_ipv4());
  EXPECT_EQ(prefix->ToString(), "fd00:147::/64");
  EXPECT_EQ(FormatAddressKey(prefix->first_host()), "fd00:147::1");
  EXPECT_EQ(FormatAddressKey(prefix->last_host()), "fd00:147::ffff:ffff:ffff:ffff");
  EXPECT_FALSE(prefix->ContainsHost(Key("fd00:147::")));
  EXPECT_FALSE(prefix->ContainsHost(Key("10.147.0.1")));
}

TEST(OverlayPrefixTest, SmallestPrefixesWithRoomForNodes) {
  ASSERT_THAT(OverlayPrefix::Parse("10.0.0.0/30"), IsOk());
  EXPECT_EQ(FormatAddressKey(OverlayPrefix::Parse("10.0.0.0/30")->last_host()), "10.0.0.2");
  ASSERT_THAT(OverlayPrefix::Parse("fd00::/127"), IsOk());
  EXPECT_EQ(FormatAddressKey(OverlayPrefix::Parse("fd00::/127")->last_host()), "fd00::1");
}

TEST(OverlayPrefixTest, BadPrefixesAreInvalidArgumentQuotingTheInput) {
  for (const std::string& bad : std::vector<std::string>{
           "", "10.0.0.0", "10.0.0.0/", "/8", "10.0.0.0/33", "10.0.0.0/16/2", "10.0.0.0/+8",
           "10.0.0.0/ 8", "10.0.0.0/1234", "10.0.0.256/8", "nonsense/8", "fd00::/129", "fd00::g/64",
           std::string("10.0.0.0\0/8", 11), std::string("10.0.0.0/8\0", 11)}) {
    EXPECT_THAT(OverlayPrefix::Parse(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overlay prefix \"")))
        << bad;
  }
  EXPECT_THAT(
      OverlayPrefix::Parse("10.1.2.3/16"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("\"10.1.2.3/16\" has host bits set (the network is 10.1.0.0/16)")));
  EXPECT_THAT(OverlayPrefix::Parse("fd00::1/64"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fd00::/64")));
}

TEST(OverlayPrefixTest, PrefixesWithoutRoomForNodesAreRefused) {
  for (const char* bad : {"10.0.0.0/31", "10.0.0.1/32", "fd00::/128"}) {
    EXPECT_THAT(OverlayPrefix::Parse(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no address for nodes")))
        << bad;
  }
}

TEST(OverlayPrefixTest, Ipv6PrefixesOverlappingIpv4MappedAddressesAreRefused) {
  for (const char* bad : {"::ffff:10.0.0.0/104", "::/0", "::/64", "::ffff:0:0/96"}) {
    EXPECT_THAT(OverlayPrefix::Parse(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IPv4-mapped")))
        << bad;
  }
  EXPECT_THAT(OverlayPrefix::Parse("::1:0:0:0/80"), IsOk());
}

TEST(OverlayPrefixTest, AddressKeysRoundTripAndOrderAsBytes) {
  for (const char* address : {"10.147.0.1", "0.0.0.0", "255.255.255.255", "fd00:147::1",
                              "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    const absl::uint128 key = Key(address);
    EXPECT_EQ(FormatAddressKey(key), address);
    EXPECT_THAT(AddressKeyFromBytes(AddressKeyBytes(key)), ::testing::Optional(key));
  }
  EXPECT_LT(AddressKeyBytes(Key("10.0.0.255")), AddressKeyBytes(Key("10.0.1.0")));
  EXPECT_LT(AddressKeyBytes(Key("fd00::ff")), AddressKeyBytes(Key("fd00::100")));
  EXPECT_EQ(AddressKeyFromBytes("short"), std::nullopt);
  EXPECT_EQ(ParseAddressKey("10.0.0.0/8"), std::nullopt);
  EXPECT_EQ(ParseAddressKey(""), std::nullopt);
}

TEST(AllocateLowestFreeTest, SkipsUsedKeysAndStartsAtTheFirstHost) {
  const OverlayPrefix prefix = *OverlayPrefix::Parse("10.0.0.0/29");
  EXPECT_THAT(
      AllocateLowestFree(prefix, 0, 3, UsedKeys({Key("10.0.0.2"), Key("10.0.0.3")})),
      IsOkAndHolds(::testing::ResultOf(Format, ElementsAre("10.0.0.1", "10.0.0.4", "10.0.0.5"))));
}

TEST(AllocateLowestFreeTest, ToleratesKeysBelowTheStartAndDuplicates) {
  const OverlayPrefix prefix = *OverlayPrefix::Parse("10.0.0.0/29");
  EXPECT_THAT(AllocateLowestFree(prefix, Key("10.0.0.3"), 2,
                                 UsedKeys({Key("10.0.0.1"), Key("10.0.0.4"), Key("10.0.0.4")})),
              IsOkAndHolds(::testing::ResultOf(Format, ElementsAre("10.0.0.3", "10.0.0.5"))));
}

TEST(AllocateLowestFreeTest, FullPrefixIsResourceExhausted) {
  const OverlayPrefix prefix = *OverlayPrefix::Parse("10.0.0.0/30");
  EXPECT_THAT(AllocateLowestFree(prefix, 0, 3, UsedKeys({})),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("overlay prefix 10.0.0.0/30 is full")));
  EXPECT_THAT(AllocateLowestFree(prefix, 0, 1, UsedKeys({Key("10.0.0.1"), Key("10.0.0.2")})),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
  EXPECT_THAT(AllocateLowestFree(prefix, 0, 0, UsedKeys({})), IsOkAndHolds(::testing::IsEmpty()));
}

TEST(AllocateLowestFreeTest, StopsAtTheTopOfTheAddressSpace) {
  const OverlayPrefix prefix = *OverlayPrefix::Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126");
  EXPECT_THAT(AllocateLowestFree(prefix, 0, 3, UsedKeys({})),
              IsOkAndHolds(::testing::ResultOf(
                  Format, ElementsAre("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd",
                                      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
                                      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))));
  EXPECT_THAT(AllocateLowestFree(prefix, 0, 4, UsedKeys({})),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
}

TEST(AllocateLowestFreeTest, ErrorsOfTheUsedKeySourcePassThrough) {
  const OverlayPrefix prefix = *OverlayPrefix::Parse("10.0.0.0/24");
  const NextUsedKey broken = []() -> absl::StatusOr<std::optional<absl::uint128>> {
    return absl::DataLossError("damaged");
  };
  EXPECT_THAT(AllocateLowestFree(prefix, 0, 1, broken),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("damaged")));
}

}  // namespace
}  // namespace fleetbond::controller
