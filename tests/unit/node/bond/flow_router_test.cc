#include "node/bond/flow_router.h"

#include "gtest/gtest.h"

namespace fleetbond::bond {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

FlowKey Key(int i) {
  return FlowKey{.src_port = static_cast<uint16_t>(i), .dst_port = 80, .protocol = 17};
}

TEST(FlowRouter, NewFlowsFollowThePlacementAndStay) {
  FlowTable flows({.max_flows = 1024});
  FlowRouter router(flows);
  FlowPlacement placement;
  placement.Build({{0, 1.0}, {1, 1.0}});
  uint64_t moved = 0;
  for (int i = 0; i < 500; ++i) {
    LinkId l = router.Route(Key(i), 10, kStart, 0b11, placement, &moved);
    EXPECT_EQ(l, placement.Pick(FlowHash(Key(i))));
    EXPECT_EQ(flows.Find(Key(i), kStart)->path, l);
  }
  // A new placement does not move known flows.
  placement.Build({{0, 1.0}});
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(router.Route(Key(i), 10, kStart + absl::Seconds(3), 0b11, placement, &moved),
              flows.Find(Key(i), kStart + absl::Seconds(3))->path);
  }
  EXPECT_EQ(moved, 0u);
}

TEST(FlowRouter, FlowOnALinkThatIsNoLongerSendableMovesAtOnce) {
  FlowTable flows({.max_flows = 1024});
  FlowRouter router(flows);
  FlowPlacement placement;
  placement.Build({{0, 1.0}, {1, 1.0}});
  uint64_t moved = 0;
  int on_1 = 0;
  for (int i = 0; i < 200; ++i) on_1 += router.Route(Key(i), 10, kStart, 0b11, placement, &moved);
  placement.Build({{0, 1.0}});
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(router.Route(Key(i), 10, kStart, 0b01, placement, &moved), 0u);  // same second
  }
  EXPECT_EQ(moved, static_cast<uint64_t>(on_1));
}

TEST(FlowRouter, FollowsFlowsMovedInTheTableAfterInvalidate) {
  FlowTable flows({.max_flows = 1024});
  FlowRouter router(flows);
  FlowPlacement placement;
  placement.Build({{0, 1.0}});
  uint64_t moved = 0;
  for (int i = 0; i < 100; ++i) router.Route(Key(i), 10, kStart, 0b11, placement, &moved);
  flows.ForEach([](FlowEntry& e) { e.path = 1; });
  router.Invalidate();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(router.Route(Key(i), 10, kStart, 0b11, placement, &moved), 1u);
  }
}

TEST(FlowRouter, TouchesTheTableOftenEnoughForIdleExpiry) {
  FlowTable flows({.max_flows = 1024, .idle_timeout = absl::Seconds(10)});
  FlowRouter router(flows);
  FlowPlacement placement;
  placement.Build({{0, 1.0}, {1, 1.0}});
  uint64_t moved = 0;
  // A flow sending every 100 ms for a minute is never forgotten.
  for (int t = 0; t < 600; ++t) {
    router.Route(Key(1), 10, kStart + t * absl::Milliseconds(100), 0b11, placement, &moved);
    ASSERT_NE(flows.Find(Key(1), kStart + t * absl::Milliseconds(100)), nullptr) << t;
  }
  // Once silent, it expires on time.
  EXPECT_EQ(flows.ExpireIdle(kStart + absl::Seconds(60) + absl::Seconds(11)), 1u);
}

TEST(FlowRouter, LiveFlowEvictedFromAFullTableKeepsItsLink) {
  FlowTable flows({.max_flows = 16});
  FlowRouter router(flows);
  FlowPlacement placement;
  placement.Build({{0, 1.0}, {1, 1.0}});
  uint64_t moved = 0;
  LinkId first = router.Route(Key(1), 10, kStart, 0b11, placement, &moved);
  // Flood the table (16 flows) so Key(1) is evicted, but not the router's cache (64 entries);
  // then change the placement so that a new placement would choose the other link.
  int extra = 100;
  while (flows.Find(Key(1), kStart) != nullptr) {
    router.Route(Key(extra++), 10, kStart + absl::Milliseconds(1), 0b11, placement, &moved);
  }
  ASSERT_LT(extra, 140);
  placement.Build({{first == 0 ? 1u : 0u, 1.0}});
  EXPECT_EQ(router.Route(Key(1), 10, kStart + absl::Seconds(2), 0b11, placement, &moved), first);
}

}  // namespace
}  // namespace fleetbond::bond
