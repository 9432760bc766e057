#include "shared/settings/did_you_mean.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetbond::settings {
namespace {

TEST(DidYouMean, CountsEditsIgnoringCase) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("eth0", "eth0"), 0u);
  EXPECT_EQ(EditDistance("FailoverInterval", "failoverInterval"), 0u);
  EXPECT_EQ(EditDistance("lat_weigth", "lat_weight"), 1u);  // transposition
  EXPECT_EQ(EditDistance("polices", "policies"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(DidYouMean, SuggestsTheClosestCandidate) {
  EXPECT_EQ(ClosestMatch("failoverIntreval", {"upDelay", "failoverInterval"}), "failoverInterval");
  EXPECT_EQ(ClosestMatch("linkselectmethod", {"linkSelectMethod", "links"}), "linkSelectMethod");
}

TEST(DidYouMean, SuggestsNothingWhenNothingIsClose) {
  EXPECT_EQ(ClosestMatch("frobnicate", {"settings", "overlay", "peers"}), std::nullopt);
  EXPECT_EQ(ClosestMatch("abc", {"xyz"}), std::nullopt);
  EXPECT_EQ(DidYouMean("zzz", {"settings"}), "");
}

TEST(DidYouMean, BreaksTiesByTheLongerCommonPrefix) {
  EXPECT_EQ(ClosestMatch("balance-xr", {"balance-rr", "balance-xor"}), "balance-xor");
}

TEST(DidYouMean, FormatsTheSuggestion) {
  EXPECT_EQ(DidYouMean("setings", {"settings"}), " (did you mean \"settings\"?)");
}

}  // namespace
}  // namespace fleetbond::settings
