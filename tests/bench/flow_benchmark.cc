// flow_benchmark.cc: per-packet cost of the flow layer (classification, flow table, dedup).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "node/bond/duplicate_filter.h"
#include "node/bond/flow_key.h"
#include "node/bond/flow_table.h"

namespace fleetbond::bond {
namespace {

std::vector<uint8_t> TcpPacket(bool ipv6) {
  std::vector<uint8_t> p(ipv6 ? 40 : 20, 0);
  std::vector<uint8_t> tcp(20, 0);
  tcp[0] = 0xc0;
  tcp[1] = 0xde;
  tcp[3] = 0x50;
  tcp[12] = 0x50;
  const size_t payload = tcp.size() + 1400;
  if (ipv6) {
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>(payload >> 8);
    p[5] = static_cast<uint8_t>(payload);
    p[6] = 6;
  } else {
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>((p.size() + payload) >> 8);
    p[3] = static_cast<uint8_t>(p.size() + payload);
    p[9] = 6;
  }
  p.insert(p.end(), tcp.begin(), tcp.end());
  p.resize(p.size() + 1400, 0xab);
  return p;
}

void BM_ClassifyIpv4Tcp(benchmark::State& state) {
  const std::vector<uint8_t> packet = TcpPacket(false);
  for (auto _ : state) {
    auto key = ClassifyPacket(packet);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_ClassifyIpv4Tcp);

void BM_ClassifyIpv6Tcp(benchmark::State& state) {
  const std::vector<uint8_t> packet = TcpPacket(true);
  for (auto _ : state) {
    auto key = ClassifyPacket(packet);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_ClassifyIpv6Tcp);

void BM_FlowHash(benchmark::State& state) {
  FlowKey key{.src_port = 1, .dst_port = 443, .protocol = 6};
  for (auto _ : state) {
    ++key.src_port;
    benchmark::DoNotOptimize(FlowHash(key));
  }
}
BENCHMARK(BM_FlowHash);

std::vector<FlowKey> RandomKeys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<FlowKey> keys;
  keys.reserve(n);
  while (keys.size() < n) {
    const uint64_t r = rng();
    keys.push_back(FlowKey{.src_port = static_cast<uint16_t>(r),
                           .dst_port = static_cast<uint16_t>(r >> 16),
                           .protocol = (r >> 32) % 2 ? uint8_t{6} : uint8_t{17}});
  }
  return keys;
}

// Find-hit with state.range(0) live flows in a 65,536-flow table, packets of random flows in turn
// (the worst case for caches: no two consecutive packets share a flow).
void BM_FlowTableFindHit(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  FlowTable table({.max_flows = 65536, .idle_timeout = absl::Seconds(60)});
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::vector<FlowKey> keys = RandomKeys(live, 1);
  for (const FlowKey& key : keys) table.Insert(key, 0, now);
  // Filling to the bound evicts a few flows whose probe window was taken: look up survivors only.
  std::erase_if(keys, [&](const FlowKey& key) { return table.Find(key, now) == nullptr; });
  std::vector<FlowKey> order;
  std::mt19937_64 rng(2);
  for (size_t i = 0; i < 1 << 20; ++i) order.push_back(keys[rng() % keys.size()]);
  size_t i = 0;
  for (auto _ : state) {
    FlowEntry* e = table.Find(order[i], now);
    benchmark::DoNotOptimize(e);
    e->Touch(now, 1400);
    i = (i + 1) & ((1 << 20) - 1);
  }
  state.counters["flows"] = static_cast<double>(table.size());
  state.counters["fill_evictions"] = static_cast<double>(table.evictions());
}
BENCHMARK(BM_FlowTableFindHit)->Arg(10)->Arg(10000)->Arg(65536);

// The per-packet path of a policy: Find, and Insert on a miss.
void BM_FlowTableFindOrInsertMiss(benchmark::State& state) {
  FlowTable table({.max_flows = 65536, .idle_timeout = absl::Seconds(60)});
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::vector<FlowKey> keys = RandomKeys(1 << 20, 3);
  for (size_t k = 0; k < 65536; ++k) table.Insert(keys[k], 0, now);
  size_t i = 65536;
  for (auto _ : state) {
    FlowEntry* e = table.Find(keys[i], now);
    if (e == nullptr) e = table.Insert(keys[i], 1, now);
    benchmark::DoNotOptimize(e);
    i = (i + 1) & ((1 << 20) - 1);
  }
}
BENCHMARK(BM_FlowTableFindOrInsertMiss);

// Insert churn: a full 65,536-flow table, every insert a new flow that evicts one.
void BM_FlowTableInsertChurn(benchmark::State& state) {
  FlowTable table({.max_flows = 65536, .idle_timeout = absl::Seconds(60)});
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::vector<FlowKey> keys = RandomKeys(1 << 20, 4);
  size_t i = 0;
  for (; i < 65536; ++i) table.Insert(keys[i], 0, now);
  for (auto _ : state) {
    now += absl::Nanoseconds(100);
    benchmark::DoNotOptimize(table.Insert(keys[i], 1, now));
    i = (i + 1) & ((1 << 20) - 1);
  }
  state.counters["evictions"] = static_cast<double>(table.evictions());
}
BENCHMARK(BM_FlowTableInsertChurn);

// The periodic sweeps: ExpireIdle (nothing idle) and CountOnPath over a table of 65,536 flows.
void BM_FlowTableExpireIdleSweep(benchmark::State& state) {
  FlowTable table({.max_flows = 65536, .idle_timeout = absl::Seconds(60)});
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  for (const FlowKey& key : RandomKeys(65536, 5)) table.Insert(key, 0, now);
  for (auto _ : state) benchmark::DoNotOptimize(table.ExpireIdle(now));
}
BENCHMARK(BM_FlowTableExpireIdleSweep)->Unit(benchmark::kMicrosecond);

void BM_FlowTableCountOnPath(benchmark::State& state) {
  FlowTable table({.max_flows = 65536, .idle_timeout = absl::Seconds(60)});
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  PathId path = 0;
  for (const FlowKey& key : RandomKeys(65536, 6)) table.Insert(key, path++ % 4, now);
  for (auto _ : state) benchmark::DoNotOptimize(table.CountOnPath(1));
}
BENCHMARK(BM_FlowTableCountOnPath)->Unit(benchmark::kMicrosecond);

void BM_DuplicateFilterTwoLinks(benchmark::State& state) {
  DuplicateFilter filter;
  uint64_t seq = 10000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.Check(seq));         // fast link: new
    benchmark::DoNotOptimize(filter.Check(seq - 5000));  // slow link: duplicate
    ++seq;
  }
  state.SetItemsProcessed(2 * static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DuplicateFilterTwoLinks);

}  // namespace
}  // namespace fleetbond::bond

BENCHMARK_MAIN();
