// Replicas on etcd: leases that die with their replica, node ownership, leader election and the
// leader's singleton jobs, against a real etcd (skipped without one). TTLs are the shortest etcd
// grants (2 s), and every wait is a bounded poll.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "controller/store/etcd_client.h"
#include "controller/store/etcd_election.h"
#include "controller/store/etcd_ownership.h"
#include "controller/store/etcd_session.h"
#include "controller/store/etcd_singleton_jobs.h"
#include "controller/store/etcd_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "tests/unit/controller/store/etcd_server.h"

namespace fleetbond::controller {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::IsOkAndHolds;
using ::fleetbond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

bool PollUntil(absl::Duration limit, const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    EtcdServer* etcd = SharedEtcd(&why);
    if (etcd == nullptr) GTEST_SKIP() << why;
    prefix_ = UniqueEtcdPrefix();
    EtcdOptions options;
    options.endpoints = {etcd->endpoint()};
    absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
    ASSERT_THAT(client, IsOk());
    client_ = std::move(*client);
  }

  std::unique_ptr<EtcdSession> NewSession() {
    absl::StatusOr<std::unique_ptr<EtcdSession>> session =
        EtcdSession::Create(*client_, absl::Seconds(2));
    EXPECT_THAT(session, IsOk());
    return session.ok() ? std::move(*session) : nullptr;
  }

  std::unique_ptr<EtcdOwnership> NewOwnership(EtcdSession& session, const std::string& id) {
    absl::StatusOr<std::unique_ptr<EtcdOwnership>> ownership =
        EtcdOwnership::Create(session, prefix_, id, absl::StrCat(id, ".example:9903"));
    EXPECT_THAT(ownership, IsOk());
    return ownership.ok() ? std::move(*ownership) : nullptr;
  }

  std::string prefix_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(ReplicaTest, Ownership_RecordedAndFoundByOthersAndDisownedOnlyByItsOwner) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdSession> s2 = NewSession();
  std::unique_ptr<EtcdOwnership> r1 = NewOwnership(*s1, "ctl-1");
  std::unique_ptr<EtcdOwnership> r2 = NewOwnership(*s2, "ctl-2");
  EXPECT_THAT(r2->Replicas(), IsOkAndHolds(ElementsAre(Pair("ctl-1", "ctl-1.example:9903"),
                                                       Pair("ctl-2", "ctl-2.example:9903"))));
  r1->Own("aaaaaaaaaa");
  r1->Flush();
  absl::StatusOr<EtcdOwnership::Owner> owner = r2->OwnerOf("aaaaaaaaaa");
  ASSERT_THAT(owner, IsOk());
  EXPECT_EQ(owner->replica_id, "ctl-1");
  EXPECT_EQ(owner->address, "ctl-1.example:9903");

  // The node moves to ctl-2; ctl-1 notices its old session end only afterwards.
  r2->Own("aaaaaaaaaa");
  r2->Flush();
  r1->Disown("aaaaaaaaaa");
  r1->Flush();
  owner = r1->OwnerOf("aaaaaaaaaa");
  ASSERT_THAT(owner, IsOk());
  EXPECT_EQ(owner->replica_id, "ctl-2");
  r2->Disown("aaaaaaaaaa");
  r2->Flush();
  EXPECT_THAT(r1->OwnerOf("aaaaaaaaaa"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(ReplicaTest, Ownership_DisappearsWhenTheReplicasLeaseIsRevoked) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdOwnership> r1 = NewOwnership(*s1, "ctl-1");
  r1->Own("aaaaaaaaaa");
  r1->Flush();
  std::unique_ptr<EtcdSession> s2 = NewSession();
  std::unique_ptr<EtcdOwnership> r2 = NewOwnership(*s2, "ctl-2");
  ASSERT_THAT(r2->OwnerOf("aaaaaaaaaa"), IsOk());
  r1.reset();
  s1->Close();  // revokes
  EXPECT_THAT(r2->OwnerOf("aaaaaaaaaa"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(r2->Replicas(), IsOkAndHolds(ElementsAre(Pair("ctl-2", ::testing::_))));
}

TEST_F(ReplicaTest, Ownership_ExpiresWithTheLeaseOfAReplicaThatDied) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdOwnership> r1 = NewOwnership(*s1, "ctl-1");
  r1->Own("aaaaaaaaaa");
  r1->Flush();
  std::unique_ptr<EtcdSession> s2 = NewSession();
  std::unique_ptr<EtcdOwnership> r2 = NewOwnership(*s2, "ctl-2");
  r1.reset();
  s1->Abandon();  // no more keep-alives, no revoke: a crash
  // Still there for a while (the TTL is 2 s)...
  EXPECT_THAT(r2->OwnerOf("aaaaaaaaaa"), IsOk());
  // ...and gone once the lease expired (etcd checks expiry about every 500 ms).
  const absl::Time start = absl::Now();
  EXPECT_TRUE(PollUntil(absl::Seconds(10),
                        [&] { return absl::IsNotFound(r2->OwnerOf("aaaaaaaaaa").status()); }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
}

TEST_F(ReplicaTest, Ownership_KeptAliveLongPastTheTtl) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdOwnership> r1 = NewOwnership(*s1, "ctl-1");
  r1->Own("aaaaaaaaaa");
  r1->Flush();
  absl::SleepFor(absl::Seconds(5));
  EXPECT_TRUE(s1->Alive());
  EXPECT_THAT(r1->OwnerOf("aaaaaaaaaa"), IsOk());
}

TEST_F(ReplicaTest, Session_ALostLeaseIsReplacedAndOwnershipPutAgain) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdOwnership> r1 = NewOwnership(*s1, "ctl-1");
  r1->Own("aaaaaaaaaa");
  r1->Flush();
  const int64_t first = s1->lease();
  // Somebody (an operator, etcd after a long partition) revokes the lease under the replica.
  ASSERT_THAT(client_->LeaseRevoke(first), IsOk());
  EXPECT_TRUE(PollUntil(absl::Seconds(10), [&] {
    absl::StatusOr<EtcdOwnership::Owner> owner = r1->OwnerOf("aaaaaaaaaa");
    return s1->lease() != first && owner.ok() && owner->address == "ctl-1.example:9903";
  }));
}

TEST_F(ReplicaTest, Election_OneLeaderAndTheSecondTakesOverWhenTheFirstsLeaseDies) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdSession> s2 = NewSession();
  const std::string key = prefix_ + "leader";
  auto e1 = std::make_unique<LeaderElection>(*s1, key, "ctl-1", absl::Milliseconds(200));
  ASSERT_TRUE(PollUntil(absl::Seconds(5), [&] { return e1->IsLeader(); }));
  LeaderElection e2(*s2, key, "ctl-2", absl::Seconds(30));  // only the watch can wake it in time
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_TRUE(e1->IsLeader());
  EXPECT_FALSE(e2.IsLeader());
  EXPECT_THAT(e2.Leader(), IsOkAndHolds("ctl-1"));

  // ctl-1 dies: no resign, its lease just runs out.
  s1->Abandon();
  EXPECT_FALSE(e1->IsLeader()) << "a leader whose lease is not renewed stays leader only until "
                                  "the TTL";
  const absl::Time start = absl::Now();
  EXPECT_TRUE(PollUntil(absl::Seconds(10), [&] { return e2.IsLeader(); }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  EXPECT_THAT(e2.Leader(), IsOkAndHolds("ctl-2"));
}

TEST_F(ReplicaTest, Election_ResignHandsOverAtOnce) {
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdSession> s2 = NewSession();
  const std::string key = prefix_ + "leader";
  LeaderElection e1(*s1, key, "ctl-1", absl::Milliseconds(200));
  ASSERT_TRUE(PollUntil(absl::Seconds(5), [&] { return e1.IsLeader(); }));
  LeaderElection e2(*s2, key, "ctl-2", absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(300));
  e1.Resign();
  EXPECT_FALSE(e1.IsLeader());
  EXPECT_TRUE(PollUntil(absl::Seconds(2), [&] { return e2.IsLeader(); }));
}

NodeRecord Seen(const std::string& id, absl::Time last_seen) {
  NodeRecord node;
  node.id = id;
  node.last_seen_unix_ms = absl::ToUnixMillis(last_seen);
  return node;
}

TEST_F(ReplicaTest, SingletonJobs_LeaderExpiresStaleOfflineNodesAndReclaimsTheirAddresses) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  EtcdStore store(*client_, prefix_, clock);
  std::unique_ptr<EtcdSession> s1 = NewSession();
  std::unique_ptr<EtcdSession> s2 = NewSession();
  std::unique_ptr<EtcdOwnership> r1 = NewOwnership(*s1, "ctl-1");
  std::unique_ptr<EtcdOwnership> r2 = NewOwnership(*s2, "ctl-2");
  LeaderElection e1(*s1, prefix_ + "leader", "ctl-1", absl::Milliseconds(200));
  ASSERT_TRUE(PollUntil(absl::Seconds(5), [&] { return e1.IsLeader(); }));
  LeaderElection e2(*s2, prefix_ + "leader", "ctl-2", absl::Milliseconds(200));

  const absl::Time now = clock.Now();
  ASSERT_THAT(store.SaveNodes({Seen("aaaaaaaaaa", now - absl::Hours(24 * 31)),    // stale
                               Seen("bbbbbbbbbb", now - absl::Hours(24 * 29)),    // recent
                               Seen("cccccccccc", now - absl::Hours(24 * 40))}),  // stale, online
              IsOk());
  ASSERT_THAT(store.LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"}),
              IsOk());
  r2->Own("cccccccccc");  // connected to the other replica
  r2->Flush();

  SingletonJobs follower(e2, store, *r2, clock, SingletonJobOptions());
  EXPECT_THAT(follower.RunOnce(), IsOkAndHolds(IsEmpty()));
  SingletonJobs leader(e1, store, *r1, clock, SingletonJobOptions());
  EXPECT_THAT(leader.RunOnce(), IsOkAndHolds(ElementsAre("aaaaaaaaaa")));

  absl::StatusOr<std::vector<NodeRecord>> nodes = store.LoadNodes();
  ASSERT_THAT(nodes, IsOk());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].id, "bbbbbbbbbb");
  EXPECT_EQ((*nodes)[1].id, "cccccccccc");
  EXPECT_THAT(store.Leases(), IsOkAndHolds(ElementsAre(Pair("bbbbbbbbbb", "10.147.0.2"),
                                                       Pair("cccccccccc", "10.147.0.3"))));
  // The reclaimed address goes to the next new node.
  EXPECT_THAT(store.LeaseOverlays("10.147.0.0/16", {"dddddddddd"}),
              IsOkAndHolds(ElementsAre(Pair("dddddddddd", "10.147.0.1"))));
  // A second pass has nothing left to do.
  EXPECT_THAT(leader.RunOnce(), IsOkAndHolds(IsEmpty()));
}

}  // namespace
}  // namespace fleetbond::controller
