#include "node/agent/controller_rotation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace fleetbond::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Outcome = ControllerRotation::Outcome;

// FakeResolver answers from a table; a host not in it does not resolve. It counts lookups.
class FakeResolver : public Resolver {
 public:
  absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) override {
    ++lookups[host];
    auto it = table.find(host);
    if (it == table.end()) return absl::UnavailableError("cannot resolve " + host);
    return it->second;
  }
  std::map<std::string, std::vector<std::string>> table;
  std::map<std::string, int> lookups;
};

std::vector<HostPort> List(const std::string& text) {
  absl::StatusOr<std::vector<HostPort>> list = ParseControllerList(text);
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : std::vector<HostPort>{};
}

std::string NextTarget(ControllerRotation& r) {
  absl::StatusOr<DialTarget> t = r.Next();
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->target : "";
}

class ControllerRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resolver_.table["a"] = {"10.0.0.1"};
    resolver_.table["b"] = {"10.0.0.2"};
    resolver_.table["c"] = {"10.0.0.3"};
  }
  FakeResolver resolver_;
  std::mt19937_64 gen_{42};  // fixed seed: the same draws every run
};

TEST(ControllerListTest, ParsesNamesAddressesAndIpv6) {
  absl::StatusOr<std::vector<HostPort>> list =
      ParseControllerList("ctl.example:9900, 10.0.0.2:9901,[fd00::1]:9902");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0], (HostPort{"ctl.example", 9900}));
  EXPECT_EQ((*list)[1], (HostPort{"10.0.0.2", 9901}));
  EXPECT_EQ((*list)[2], (HostPort{"fd00::1", 9902}));
  EXPECT_EQ((*list)[2].ToString(), "[fd00::1]:9902");
  // The same controller twice is dialed once per pass.
  EXPECT_EQ(ParseControllerList("a:1,a:1")->size(), 1u);
}

TEST(ControllerListTest, RefusesWhatIsNotHostPort) {
  EXPECT_THAT(ParseControllerList("").status().message(), HasSubstr("no HOST:PORT"));
  EXPECT_THAT(ParseControllerList("a:9900,b").status().message(), HasSubstr("\"b\""));
  EXPECT_THAT(ParseControllerList("a:0").status().message(), HasSubstr("1 to 65535"));
  EXPECT_THAT(ParseControllerList("fd00::1:9900").status().message(), HasSubstr("brackets"));
  EXPECT_THAT(ParseControllerList("[nonsense]:9900").status().message(),
              HasSubstr("not an IPv6 address"));
}

TEST_F(ControllerRotationTest, StartsAtARandomAddressSoAFleetSpreadsOverTheReplicas) {
  std::set<std::string> starts;
  for (int seed = 0; seed < 50; ++seed) {
    std::mt19937_64 gen(seed);
    ControllerRotation r(List("a:9900,b:9900,c:9900"), resolver_, BackoffPolicy{}, gen);
    starts.insert(NextTarget(r));
  }
  EXPECT_EQ(starts, (std::set<std::string>{"ipv4:10.0.0.1:9900", "ipv4:10.0.0.2:9900",
                                           "ipv4:10.0.0.3:9900"}));
}

TEST_F(ControllerRotationTest, EveryFailureMovesToTheNextAddressWithGrowingBackoff) {
  BackoffPolicy policy;  // 0.5 s doubling to 30 s
  ControllerRotation r(List("a:9900,b:9900,c:9900"), resolver_, policy, gen_);
  std::vector<std::string> dialed;
  for (int i = 0; i < 9; ++i) {
    dialed.push_back(NextTarget(r));
    const absl::Duration wait = r.Done(Outcome::kDialFailed, std::nullopt, gen_);
    // Full jitter under a ceiling that doubles with each failure: no address is hammered.
    EXPECT_LE(wait, BackoffCeiling(policy, i)) << "failure " << i;
    EXPECT_EQ(r.attempt(), i + 1);
  }
  // Round robin from the random start: each address once per pass, in list order.
  for (int i = 0; i < 9; ++i) EXPECT_NE(dialed[i], dialed[(i + 1) % 9]) << i;
  for (int i = 0; i + 3 < 9; ++i) EXPECT_EQ(dialed[i], dialed[i + 3]) << i;
  EXPECT_EQ(BackoffCeiling(policy, r.attempt()), absl::Seconds(30));
}

TEST_F(ControllerRotationTest, AWorkingSessionResetsTheBackoffAndTheNodeMovesOn) {
  ControllerRotation r(List("a:9900,b:9900"), resolver_, BackoffPolicy{}, gen_);
  for (int i = 0; i < 6; ++i) {
    NextTarget(r);
    r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  }
  ASSERT_EQ(r.attempt(), 6);
  const std::string worked = NextTarget(r);
  const absl::Duration wait = r.Done(Outcome::kSessionWorked, std::nullopt, gen_);
  EXPECT_LE(wait, absl::Milliseconds(500));  // back to the first ceiling
  EXPECT_EQ(r.attempt(), 1);
  // Its replica died (or drained without a hint): the next dial goes to the other one.
  EXPECT_NE(NextTarget(r), worked);
}

TEST_F(ControllerRotationTest, ASessionThatAckedNothingCountsAsAFailure) {
  ControllerRotation r(List("a:9900"), resolver_, BackoffPolicy{}, gen_);
  for (int i = 0; i < 3; ++i) {
    NextTarget(r);
    r.Done(Outcome::kSessionEnded, std::nullopt, gen_);
  }
  EXPECT_EQ(r.attempt(), 3);
}

TEST_F(ControllerRotationTest, ADnsNameWithSeveralAddressesIsDialedAddressByAddress) {
  resolver_.table["ctl.example"] = {"10.0.0.7", "fd00::7"};
  ControllerRotation r(List("ctl.example:9900"), resolver_, BackoffPolicy{}, gen_);
  std::set<std::string> dialed;
  absl::StatusOr<DialTarget> first = r.Next();
  ASSERT_TRUE(first.ok());
  // TLS checks the certificate for the name given, not the address it resolved to.
  EXPECT_EQ(first->authority, "ctl.example");
  EXPECT_THAT(first->display, HasSubstr("ctl.example:9900 ("));
  for (int i = 0; i < 2; ++i) {
    dialed.insert(NextTarget(r));
    r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  }
  EXPECT_EQ(dialed, (std::set<std::string>{"ipv4:10.0.0.7:9900", "ipv6:[fd00::7]:9900"}));
}

TEST_F(ControllerRotationTest, NamesAreResolvedAgainAfterEachFullPass) {
  resolver_.table["ctl.example"] = {"10.0.0.7", "10.0.0.8"};
  ControllerRotation r(List("ctl.example:9900"), resolver_, BackoffPolicy{}, gen_);
  NextTarget(r);
  r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  NextTarget(r);
  EXPECT_EQ(resolver_.lookups["ctl.example"], 1);
  r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  // The replicas moved: the next pass dials the new address.
  resolver_.table["ctl.example"] = {"10.0.0.9"};
  EXPECT_EQ(NextTarget(r), "ipv4:10.0.0.9:9900");
  EXPECT_EQ(resolver_.lookups["ctl.example"], 2);
}

TEST_F(ControllerRotationTest, ANameThatDoesNotResolveIsSkippedAndNoneResolvingIsAnError) {
  ControllerRotation r(List("gone.example:9900,b:9900"), resolver_, BackoffPolicy{}, gen_);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(NextTarget(r), "ipv4:10.0.0.2:9900");
    r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  }
  ControllerRotation none(List("gone.example:9900"), resolver_, BackoffPolicy{}, gen_);
  absl::StatusOr<DialTarget> t = none.Next();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(t.status().message(), HasSubstr("cannot resolve gone.example"));
  none.Done(Outcome::kDialFailed, std::nullopt, gen_);
  EXPECT_EQ(none.attempt(), 1);  // it backs off like a failed dial
}

TEST_F(ControllerRotationTest, ARedirectIsDialedNextOnceThenTheWalkGoesOn) {
  ControllerRotation r(List("a:9900,b:9900,c:9900"), resolver_, BackoffPolicy{}, gen_);
  for (int i = 0; i < 4; ++i) {  // some failures first: a redirect is no failure
    NextTarget(r);
    r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  }
  const std::string draining = NextTarget(r);
  const absl::Duration wait = r.Done(Outcome::kSessionWorked, std::string("c:9900"), gen_);
  EXPECT_LE(wait, absl::Milliseconds(500));
  EXPECT_EQ(r.attempt(), 0);
  absl::StatusOr<DialTarget> redirected = r.Next();
  ASSERT_TRUE(redirected.ok());
  EXPECT_EQ(redirected->target, "ipv4:10.0.0.3:9900");
  EXPECT_EQ(redirected->authority, "c");
  EXPECT_EQ(NextTarget(r), "ipv4:10.0.0.3:9900");  // Next alone does not move on
  // The redirect target died too: the walk continues after the draining replica.
  r.Done(Outcome::kDialFailed, std::nullopt, gen_);
  const std::string after = NextTarget(r);
  EXPECT_NE(after, draining);
}

TEST_F(ControllerRotationTest, ARedirectOutsideTheListIsFollowedAndABadOneIgnored) {
  resolver_.table["d"] = {"10.0.0.4"};
  ControllerRotation r(List("a:9900"), resolver_, BackoffPolicy{}, gen_);
  NextTarget(r);
  r.Done(Outcome::kSessionWorked, std::string("d:9911"), gen_);
  EXPECT_EQ(NextTarget(r), "ipv4:10.0.0.4:9911");
  r.Done(Outcome::kSessionEnded, std::string("no port"), gen_);
  EXPECT_EQ(NextTarget(r), "ipv4:10.0.0.1:9900");
  r.Done(Outcome::kSessionEnded, std::string("unknown.example:9900"), gen_);
  EXPECT_EQ(NextTarget(r), "ipv4:10.0.0.1:9900");
}

}  // namespace
}  // namespace fleetbond::agent
