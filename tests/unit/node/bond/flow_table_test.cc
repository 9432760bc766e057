#include "node/bond/flow_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace fleetbond::bond {
namespace {

constexpr absl::Duration kIdle = absl::Seconds(60);
const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

FlowKey Tcp(uint16_t src_port, uint16_t dst_port = 443) {
  return FlowKey{.src_port = src_port, .dst_port = dst_port, .protocol = 6};
}

// KeysWithHome returns `count` distinct keys whose home slot in a table of `slots` slots is
// `home`, so a test can lay out probe chains on purpose.
std::vector<FlowKey> KeysWithHome(size_t slots, size_t home, size_t count) {
  std::vector<FlowKey> keys;
  for (uint32_t port = 0; port <= 0xffff && keys.size() < count; ++port) {
    const FlowKey key{.src_port = static_cast<uint16_t>(port), .dst_port = 7, .protocol = 17};
    if ((FlowHash(key) & (slots - 1)) == home) keys.push_back(key);
  }
  return keys;
}

TEST(FlowTable, FindsInsertedFlowOnItsPath) {
  FlowTable table({.max_flows = 1024, .idle_timeout = kIdle});
  FlowEntry* inserted = table.Insert(Tcp(1000), 3, kStart);
  ASSERT_NE(inserted, nullptr);
  EXPECT_EQ(inserted->key, Tcp(1000));
  EXPECT_EQ(inserted->path, 3u);
  EXPECT_EQ(inserted->packets, 0u);

  FlowEntry* found = table.Find(Tcp(1000), kStart);
  EXPECT_EQ(found, inserted);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find(Tcp(1001), kStart), nullptr);
  EXPECT_EQ(table.Find(FlowKey{.src_port = 1000, .dst_port = 443, .protocol = 17}, kStart),
            nullptr);
}

TEST(FlowTable, TouchCountsPacketsAndBytes) {
  FlowTable table({.max_flows = 16, .idle_timeout = kIdle});
  FlowEntry* e = table.Insert(Tcp(1), 0, kStart);
  e->Touch(kStart + absl::Seconds(1), 1500);
  e->Touch(kStart + absl::Seconds(2), 40);
  const FlowEntry* found = table.Find(Tcp(1), kStart + absl::Seconds(2));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->packets, 2u);
  EXPECT_EQ(found->bytes, 1540u);
  EXPECT_EQ(found->last_seen_ns, absl::ToUnixNanos(kStart + absl::Seconds(2)));
}

TEST(FlowTable, InsertReplacesTheEntryOfAKnownFlow) {
  FlowTable table({.max_flows = 16, .idle_timeout = kIdle});
  table.Insert(Tcp(1), 0, kStart)->Touch(kStart, 100);
  FlowEntry* e = table.Insert(Tcp(1), 2, kStart + absl::Seconds(1));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(e->path, 2u);
  EXPECT_EQ(e->packets, 0u);
  EXPECT_EQ(table.Find(Tcp(1), kStart + absl::Seconds(1)), e);
}

TEST(FlowTable, ForgetsFlowAfterIdleTimeout) {
  FlowTable table({.max_flows = 16, .idle_timeout = kIdle});
  table.Insert(Tcp(1), 0, kStart);
  EXPECT_NE(table.Find(Tcp(1), kStart + kIdle - absl::Nanoseconds(1)), nullptr);
  EXPECT_EQ(table.Find(Tcp(1), kStart + kIdle), nullptr);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.expirations(), 1u);
  EXPECT_EQ(table.evictions(), 0u);
  // Forgotten for good, not merely hidden.
  EXPECT_EQ(table.Find(Tcp(1), kStart), nullptr);
}

TEST(FlowTable, KeepsFlowThatKeepsSendingPastTheIdleTimeout) {
  FlowTable table({.max_flows = 16, .idle_timeout = kIdle});
  absl::Time now = kStart;
  table.Insert(Tcp(1), 0, now);
  for (int i = 0; i < 10; ++i) {
    now += absl::Seconds(50);
    FlowEntry* e = table.Find(Tcp(1), now);
    ASSERT_NE(e, nullptr) << "after " << now - kStart;
    e->Touch(now, 64);
  }
  EXPECT_EQ(table.expirations(), 0u);
}

TEST(FlowTable, ExpireIdleForgetsOnlyIdleFlows) {
  FlowTable table({.max_flows = 1024, .idle_timeout = kIdle});
  for (uint16_t port = 0; port < 600; ++port) {
    table.Insert(Tcp(port), 0, kStart + absl::Seconds(port % 2 == 0 ? 0 : 30));
  }
  EXPECT_EQ(table.ExpireIdle(kStart + kIdle - absl::Seconds(1)), 0u);
  EXPECT_EQ(table.ExpireIdle(kStart + kIdle), 300u);
  EXPECT_EQ(table.size(), 300u);
  EXPECT_EQ(table.expirations(), 300u);
  for (uint16_t port = 0; port < 600; ++port) {
    EXPECT_EQ(table.Find(Tcp(port), kStart + kIdle) != nullptr, port % 2 == 1) << port;
  }
}

TEST(FlowTable, RoundsItsBoundUpToAPowerOfTwo) {
  EXPECT_EQ(FlowTable({.max_flows = 1000}).capacity(), 1024u);
  EXPECT_EQ(FlowTable({.max_flows = 65536}).capacity(), 65536u);
  EXPECT_EQ(FlowTable({.max_flows = 0}).capacity(), 1u);
}

TEST(FlowTable, EvictsTheLeastRecentlySeenFlowWhenFull) {
  // 4 flows in 8 slots: every probe window spans the whole table, so the rule is exact LRU.
  FlowTable table({.max_flows = 4, .idle_timeout = kIdle});
  for (uint16_t port = 1; port <= 4; ++port) {
    table.Insert(Tcp(port), 0, kStart + absl::Seconds(port));
  }
  const absl::Time later = kStart + absl::Seconds(10);
  for (uint16_t port : {1, 3, 4}) table.Find(Tcp(port), later)->Touch(later, 1);

  table.Insert(Tcp(5), 0, later);
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.evictions(), 1u);
  EXPECT_EQ(table.Find(Tcp(2), later), nullptr);
  for (uint16_t port : {1, 3, 4, 5}) EXPECT_NE(table.Find(Tcp(port), later), nullptr) << port;
}

TEST(FlowTable, ReclaimsIdleFlowsBeforeEvictingLiveOnes) {
  FlowTable table({.max_flows = 4, .idle_timeout = kIdle});
  table.Insert(Tcp(1), 0, kStart);
  for (uint16_t port = 2; port <= 4; ++port) table.Insert(Tcp(port), 0, kStart + kIdle);
  table.Insert(Tcp(5), 0, kStart + kIdle);
  EXPECT_EQ(table.evictions(), 0u);
  EXPECT_EQ(table.expirations(), 1u);
  EXPECT_EQ(table.size(), 4u);
}

TEST(FlowTable, HoldsItsBoundUnderChurnAndCountsEvictions) {
  FlowTable table({.max_flows = 1024, .idle_timeout = kIdle});
  absl::Time now = kStart;
  constexpr int kInserts = 50000;
  for (int i = 0; i < kInserts; ++i) {
    now += absl::Microseconds(1);
    const FlowKey key = Tcp(static_cast<uint16_t>(i), static_cast<uint16_t>(i >> 16));
    table.Insert(key, static_cast<PathId>(i % 4), now);
    ASSERT_LE(table.size(), table.capacity());
    ASSERT_NE(table.Find(key, now), nullptr) << "just-inserted flow " << i << " is missing";
  }
  EXPECT_EQ(table.size(), 1024u);
  EXPECT_EQ(table.evictions(), static_cast<uint64_t>(kInserts - 1024));
  size_t visited = 0;
  table.ForEach([&](FlowEntry&) { ++visited; });
  EXPECT_EQ(visited, table.size());
  // Eviction approximates LRU: nearly all of the 256 most recent flows are still there (random
  // eviction would keep about 225 of them, exact LRU all 256).
  int recent_found = 0;
  for (int i = kInserts - 256; i < kInserts; ++i) {
    recent_found += table.Find(Tcp(static_cast<uint16_t>(i), 0), now) != nullptr;
  }
  EXPECT_GE(recent_found, 240);
}

TEST(FlowTable, EvictsWithinTheProbeWindowWhenItsChainIsFullEvenBelowTheBound) {
  FlowTable table({.max_flows = 64, .idle_timeout = kIdle});
  const size_t slots = 2 * table.capacity();
  const std::vector<FlowKey> keys = KeysWithHome(slots, 10, FlowTable::kProbeWindow + 1);
  ASSERT_EQ(keys.size(), FlowTable::kProbeWindow + 1);
  for (size_t i = 0; i < keys.size(); ++i) {
    table.Insert(keys[i], 0, kStart + absl::Seconds(static_cast<int64_t>(i)));
  }
  const absl::Time now = kStart + absl::Seconds(20);
  EXPECT_EQ(table.size(), FlowTable::kProbeWindow);
  EXPECT_EQ(table.evictions(), 1u);
  EXPECT_EQ(table.Find(keys[0], now), nullptr);  // the oldest of the chain
  for (size_t i = 1; i < keys.size(); ++i) EXPECT_NE(table.Find(keys[i], now), nullptr) << i;
}

TEST(FlowTable, EvictsTheNextFlowWhenFullAndTheProbeWindowIsEmpty) {
  FlowTable table({.max_flows = 64, .idle_timeout = kIdle});
  const size_t slots = 2 * table.capacity();
  // One flow at each home slot 0..63: each sits at its home, slots 64..127 stay empty.
  std::vector<FlowKey> resident;
  for (size_t home = 0; home < 64; ++home) {
    resident.push_back(KeysWithHome(slots, home, 1).at(0));
    table.Insert(resident.back(), 0, kStart + absl::Milliseconds(100 - static_cast<int64_t>(home)));
  }
  ASSERT_EQ(table.size(), 64u);
  const FlowKey newcomer = KeysWithHome(slots, 100, 1).at(0);
  const absl::Time now = kStart + absl::Milliseconds(101);
  table.Insert(newcomer, 1, now);

  EXPECT_EQ(table.size(), 64u);
  EXPECT_EQ(table.evictions(), 1u);
  EXPECT_NE(table.Find(newcomer, now), nullptr);
  // Slots 100..107 are empty; the first flow after them (wrapping around) is the one at slot 0.
  EXPECT_EQ(table.Find(resident[0], now), nullptr);
  for (size_t home = 1; home < 64; ++home) EXPECT_NE(table.Find(resident[home], now), nullptr);
}

TEST(FlowTable, EraseKeepsTheRestOfAProbeChainFindable) {
  FlowTable table({.max_flows = 64, .idle_timeout = kIdle});
  const size_t slots = 2 * table.capacity();
  std::vector<FlowKey> chain = KeysWithHome(slots, slots - 2, 3);  // wraps past the last slot
  const std::vector<FlowKey> next = KeysWithHome(slots, slots - 1, 2);
  chain.insert(chain.end(), next.begin(), next.end());
  for (const FlowKey& key : chain) table.Insert(key, 0, kStart);

  table.Erase(chain[0]);
  table.Erase(chain[3]);
  table.Erase(Tcp(9));  // unknown: no effect
  EXPECT_EQ(table.size(), 3u);
  for (size_t i : {1, 2, 4}) EXPECT_NE(table.Find(chain[i], kStart), nullptr) << i;
  EXPECT_EQ(table.Find(chain[0], kStart), nullptr);
  EXPECT_EQ(table.Find(chain[3], kStart), nullptr);
}

// Random inserts, erases, lookups and expiries against a std::map model (well below the bound,
// so nothing is evicted and the model is exact).
TEST(FlowTable, AgreesWithAReferenceModelUnderRandomOperations) {
  FlowTable table({.max_flows = 512, .idle_timeout = absl::Seconds(10)});
  std::map<std::tuple<uint16_t, uint16_t, uint8_t>, std::pair<PathId, absl::Time>> model;
  std::mt19937_64 rng(11);
  absl::Time now = kStart;
  auto model_key = [](const FlowKey& k) { return std::tuple(k.src_port, k.dst_port, k.protocol); };
  for (int step = 0; step < 200000; ++step) {
    now += absl::Milliseconds(static_cast<int64_t>(rng() % 3));
    const FlowKey key = Tcp(static_cast<uint16_t>(rng() % 400));
    const auto it = model.find(model_key(key));
    const bool live = it != model.end() && now - it->second.second < absl::Seconds(10);
    switch (rng() % 8) {
      case 0:
        if (model.size() < 200) {
          const PathId path = static_cast<PathId>(rng() % 5);
          table.Insert(key, path, now);
          model[model_key(key)] = {path, now};
        }
        break;
      case 1:
        table.Erase(key);
        model.erase(model_key(key));
        break;
      case 2:
        if (rng() % 64 == 0) {
          table.ExpireIdle(now);
          std::erase_if(
              model, [&](const auto& kv) { return now - kv.second.second >= absl::Seconds(10); });
        }
        break;
      default: {
        FlowEntry* e = table.Find(key, now);
        ASSERT_EQ(e != nullptr, live) << "step " << step;
        if (e != nullptr) {
          ASSERT_EQ(e->path, it->second.first);
          e->Touch(now, 1);
          it->second.second = now;
        } else if (it != model.end()) {
          model.erase(it);
        }
      }
    }
  }
  EXPECT_EQ(table.evictions(), 0u);
  table.ExpireIdle(now);
  std::erase_if(model, [&](const auto& kv) { return now - kv.second.second >= absl::Seconds(10); });
  EXPECT_EQ(table.size(), model.size());
}

TEST(FlowTable, ForEachMovesFlowsBetweenPaths) {
  FlowTable table({.max_flows = 1024, .idle_timeout = kIdle});
  for (uint16_t port = 0; port < 100; ++port) table.Insert(Tcp(port), 1, kStart);
  int visited = 0;
  table.ForEach([&](FlowEntry& e) {
    ++visited;
    if (e.key.src_port % 2 == 0) e.path = 2;
  });
  EXPECT_EQ(visited, 100);
  EXPECT_EQ(table.CountOnPath(1), 50u);
  EXPECT_EQ(table.CountOnPath(2), 50u);
  EXPECT_EQ(table.Find(Tcp(4), kStart)->path, 2u);
  EXPECT_EQ(table.Find(Tcp(5), kStart)->path, 1u);
}

TEST(FlowTable, CountsFlowsPerPath) {
  FlowTable table({.max_flows = 1024, .idle_timeout = kIdle});
  for (uint16_t port = 0; port < 90; ++port) table.Insert(Tcp(port), port % 3, kStart);
  EXPECT_EQ(table.CountOnPath(0), 30u);
  EXPECT_EQ(table.CountOnPath(1), 30u);
  EXPECT_EQ(table.CountOnPath(2), 30u);
  EXPECT_EQ(table.CountOnPath(3), 0u);
  EXPECT_EQ(table.CountOnPath(kNoPath), 0u);
  table.Erase(Tcp(0));
  EXPECT_EQ(table.CountOnPath(0), 29u);
}

TEST(FlowTable, ClearForgetsEveryFlow) {
  FlowTable table({.max_flows = 64, .idle_timeout = kIdle});
  for (uint16_t port = 0; port < 64; ++port) table.Insert(Tcp(port), 0, kStart);
  table.Clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.Find(Tcp(3), kStart), nullptr);
  EXPECT_EQ(table.CountOnPath(0), 0u);
  table.Insert(Tcp(3), 1, kStart);
  EXPECT_EQ(table.Find(Tcp(3), kStart)->path, 1u);
}

}  // namespace
}  // namespace fleetbond::bond
