// bond_benchmark.cc: per-packet path choice (Bond::Select) for every policy, with 1, 4 and 16
// links and 10, 10,000 and 65,536 live flows. Packets come from the flows in a random order (and
// 10 % portless for the flow policies' random path); the flow table is warm. Target: < 50 ns per
// packet at 65,536 flows on one core (TARGETS.md).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "node/bond/bond.h"
#include "shared/clock.h"
#include "shared/settings/defaults.h"

namespace fleetbond::bond {
namespace {

struct Setup {
  FakeClock clock;
  std::unique_ptr<Bond> bond;
  std::vector<PacketMeta> packets;
};

std::unique_ptr<Setup> Build(BasePolicy base, int links, int flows) {
  auto s = std::make_unique<Setup>();
  ResolvedPolicy policy = DefaultPolicy(base);
  s->bond = std::make_unique<Bond>("bench", policy, s->clock,
                                   Bond::Options{.max_flows = 65536, .seed = 1});
  for (int i = 0; i < links; ++i) {
    (void)s->bond->AddPath(PathSpec{.link = "eth" + std::to_string(i),
                                    .local = "10.0." + std::to_string(i) + ".1",
                                    .remote = "10.0." + std::to_string(i) + ".2/9800"});
  }
  // Every path answers its first probe, so every link is up.
  for (const Probe& p : s->bond->Tick().probes) s->bond->OnProbeReply(p.path, p.seq);
  std::mt19937_64 rng(42);
  const size_t n = 1 << 20;
  s->packets.reserve(n);
  const bool flow_policy = base == BasePolicy::kBalanceXor || base == BasePolicy::kBalanceAware;
  for (size_t i = 0; i < n; ++i) {
    PacketMeta m{.size = 1400};
    if (!flow_policy || rng() % 10 != 0) {
      uint32_t f = static_cast<uint32_t>(rng() % flows);
      m.flow = FlowKey{.src_port = static_cast<uint16_t>(f & 0xffff),
                       .dst_port = static_cast<uint16_t>(443 + (f >> 16)),
                       .protocol = 6};
    }
    s->packets.push_back(m);
  }
  // Warm the flow table with every flow.
  const absl::Time now = s->clock.Now();
  for (const PacketMeta& m : s->packets) s->bond->Select(m, now);
  return s;
}

void BM_Select(benchmark::State& state, BasePolicy base) {
  const int links = static_cast<int>(state.range(0));
  const int flows = static_cast<int>(state.range(1));
  std::unique_ptr<Setup> s = Build(base, links, flows);
  const absl::Time now = s->clock.Now();
  const size_t mask = s->packets.size() - 1;
  size_t i = 0;
  for (auto _ : state) {
    PathSet out = s->bond->Select(s->packets[i++ & mask], now);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["flows_in_table"] = static_cast<double>(s->bond->flows().size());
}

void Args(benchmark::internal::Benchmark* b) {
  for (int links : {1, 4, 16}) {
    for (int flows : {10, 10000, 65536}) b->Args({links, flows});
  }
  b->ArgNames({"links", "flows"});
}

BENCHMARK_CAPTURE(BM_Select, active_backup, BasePolicy::kActiveBackup)->Apply(Args);
BENCHMARK_CAPTURE(BM_Select, broadcast, BasePolicy::kBroadcast)->Apply(Args);
BENCHMARK_CAPTURE(BM_Select, balance_rr, BasePolicy::kBalanceRr)->Apply(Args);
BENCHMARK_CAPTURE(BM_Select, balance_xor, BasePolicy::kBalanceXor)->Apply(Args);
BENCHMARK_CAPTURE(BM_Select, balance_aware, BasePolicy::kBalanceAware)->Apply(Args);

// Floor for the flow policies: the flow-table lookup (and touch) alone, on the same stream.
void BM_FlowTableLookupOnly(benchmark::State& state) {
  const int flows = static_cast<int>(state.range(0));
  std::unique_ptr<Setup> s = Build(BasePolicy::kBalanceXor, 4, flows);
  FlowTable table(FlowTable::Options{.max_flows = 65536});
  const absl::Time now = s->clock.Now();
  for (const PacketMeta& m : s->packets) {
    if (m.flow && table.Find(*m.flow, now) == nullptr) table.Insert(*m.flow, 0, now);
  }
  const size_t mask = s->packets.size() - 1;
  size_t i = 0;
  for (auto _ : state) {
    const PacketMeta& m = s->packets[i++ & mask];
    if (m.flow) {
      FlowEntry* e = table.Find(*m.flow, now);
      if (e != nullptr) e->Touch(now, m.size);
      benchmark::DoNotOptimize(e);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowTableLookupOnly)->Arg(10)->Arg(10000)->Arg(65536)->ArgName("flows");

// Select reading the clock itself (SystemClock), as a daemon that does not batch would.
void BM_SelectSystemClock(benchmark::State& state) {
  ResolvedPolicy policy = DefaultPolicy(BasePolicy::kBalanceXor);
  Bond bond("bench", policy, SystemClock::Get(), Bond::Options{.seed = 1});
  for (int i = 0; i < 4; ++i) {
    (void)bond.AddPath(PathSpec{.link = "eth" + std::to_string(i), .local = "l", .remote = "r"});
  }
  for (const Probe& p : bond.Tick().probes) bond.OnProbeReply(p.path, p.seq);
  uint32_t f = 0;
  for (auto _ : state) {
    PacketMeta m{.flow = FlowKey{.src_port = static_cast<uint16_t>(f++ & 0xffff),
                                 .dst_port = 443,
                                 .protocol = 6},
                 .size = 1400};
    benchmark::DoNotOptimize(bond.Select(m));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SelectSystemClock);

}  // namespace
}  // namespace fleetbond::bond

BENCHMARK_MAIN();
