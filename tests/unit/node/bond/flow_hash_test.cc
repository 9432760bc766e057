#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "node/bond/flow_key.h"

namespace fleetbond::bond {
namespace {

constexpr int kFlows = 100000;
constexpr double kTolerancePoints = 1.0;

// ExpectEvenSpread checks that each of `links` buckets gets 100/links % of `keys`, +-1 point,
// both when the link is chosen as hash % links and as the high bits scaled to links.
void ExpectEvenSpread(const std::vector<FlowKey>& keys, int links) {
  std::vector<int> by_modulo(links), by_range(links);
  for (const FlowKey& key : keys) {
    const uint64_t h = FlowHash(key);
    ++by_modulo[h % static_cast<uint64_t>(links)];
    ++by_range[((h >> 32) * static_cast<uint64_t>(links)) >> 32];
  }
  const double even = 100.0 / links;
  for (int link = 0; link < links; ++link) {
    const double modulo_share = 100.0 * by_modulo[link] / static_cast<double>(keys.size());
    const double range_share = 100.0 * by_range[link] / static_cast<double>(keys.size());
    EXPECT_NEAR(modulo_share, even, kTolerancePoints) << "links=" << links << " link=" << link;
    EXPECT_NEAR(range_share, even, kTolerancePoints) << "links=" << links << " link=" << link;
  }
}

TEST(FlowHash, SpreadsRandomFlowsEvenlyOverLinks) {
  std::mt19937_64 rng(2026);
  const uint8_t protocols[] = {6, 17, 132, 136};
  std::vector<FlowKey> keys;
  for (int i = 0; i < kFlows; ++i) {
    keys.push_back(FlowKey{.src_port = static_cast<uint16_t>(rng()),
                           .dst_port = static_cast<uint16_t>(rng()),
                           .protocol = protocols[rng() % 4]});
  }
  for (int links = 2; links <= 16; ++links) ExpectEvenSpread(keys, links);
}

// Real traffic is far from random: many connections to one server port from consecutive
// ephemeral ports. The hash must spread those as well.
TEST(FlowHash, SpreadsConsecutiveEphemeralPortsEvenlyOverLinks) {
  std::vector<FlowKey> keys;
  for (int i = 0; i < kFlows; ++i) {
    keys.push_back(FlowKey{.src_port = static_cast<uint16_t>(32768 + i % 28232),
                           .dst_port = static_cast<uint16_t>(i < 28232 ? 443 : 80 + i / 28232),
                           .protocol = 6});
  }
  for (int links : {2, 3, 4, 5, 7, 8, 16}) ExpectEvenSpread(keys, links);
}

TEST(FlowHash, DependsOnEveryKeyField) {
  const FlowKey base{.src_port = 40000, .dst_port = 443, .protocol = 6};
  FlowKey other = base;
  other.src_port = 40001;
  EXPECT_NE(FlowHash(base), FlowHash(other));
  other = base;
  other.dst_port = 444;
  EXPECT_NE(FlowHash(base), FlowHash(other));
  other = base;
  other.protocol = 17;
  EXPECT_NE(FlowHash(base), FlowHash(other));
  other = FlowKey{.src_port = 443, .dst_port = 40000, .protocol = 6};
  EXPECT_NE(FlowHash(base), FlowHash(other));
}

// Nodes must agree on placement across builds and versions: the value is pinned.
TEST(FlowHash, IsTheSameOnEveryNode) {
  EXPECT_EQ(FlowHash(FlowKey{.src_port = 40000, .dst_port = 443, .protocol = 6}),
            0x3f140ee1bc0da1c5ULL);
}

}  // namespace
}  // namespace fleetbond::bond
