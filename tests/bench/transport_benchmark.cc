// transport_benchmark.cc: per-packet cost of the data plane's crypto and wire format.
//
// BM_SealOpenData is what one packet costs end to end in one process: PacketCodec::SealData on
// the sending side plus PacketCodec::Open (header checks, AEAD open, replay window) on the
// receiving side. The Gbit/s counter is inner-packet bits per second of CPU time for that pair,
// i.e. the ceiling one core sets when it both encrypts and decrypts.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "node/transport/aead.h"
#include "node/transport/packet_codec.h"
#include "node/transport/peer_keys.h"
#include "node/transport/peer_session.h"
#include "node/transport/replay_window.h"
#include "shared/clock.h"
#include "shared/identity/identity.h"

namespace fleetbond::transport {
namespace {

struct Peers {
  Peers()
      : a(Identity::Generate().value()),
        b(Identity::Generate().value()),
        sender(PacketCodec::Create(a.id(), b.id(), DerivePeerKeys(a, b.public_key()).value(), 1)
                   .value()),
        receiver(PacketCodec::Create(b.id(), a.id(), DerivePeerKeys(b, a.public_key()).value(), 1)
                     .value()) {}
  Identity a;
  Identity b;
  PacketCodec sender;
  PacketCodec receiver;
};

void SetThroughput(benchmark::State& state, size_t inner_size) {
  double bits = static_cast<double>(state.iterations()) * static_cast<double>(inner_size) * 8;
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(inner_size));
  state.counters["Gbit/s"] = benchmark::Counter(bits / 1e9, benchmark::Counter::kIsRate);
}

void BM_SealOpenData(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  Peers peers;
  std::vector<uint8_t> inner(size, 0x45);
  std::vector<uint8_t> wire(size + kDataOverhead);
  uint64_t bond_seq = 0;
  for (auto _ : state) {
    SealResult r = peers.sender.SealData(1, bond_seq++, inner, wire);
    OpenedPacket packet;
    DropReason why = peers.receiver.Open(MutableBytes(wire).first(r.size), &packet);
    benchmark::DoNotOptimize(why);
    benchmark::DoNotOptimize(packet.inner_packet.data());
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_SealOpenData)->Arg(64)->Arg(512)->Arg(1400)->Arg(8192);

// BM_SessionSealOpenData is BM_SealOpenData through the data plane's PeerSession (the codec of
// the current epoch to seal, the codec picked by the header's epoch to open), after a handshake:
// the per-packet cost forward secrecy adds, which should be nothing measurable.
void BM_SessionSealOpenData(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  FakeClock clock;
  Identity a = Identity::Generate().value();
  Identity b = Identity::Generate().value();
  PeerSession sa = PeerSession::Create(a, b.id(), b.public_key(), {}, clock).value();
  PeerSession sb = PeerSession::Create(b, a.id(), a.public_key(), {}, clock).value();
  std::optional<PeerSession::Outgoing> init = sa.Tick(), reply;
  if (!init || sb.OnHandshake(init->message, &reply) != DropReason::kNone || !reply) {
    state.SkipWithError("handshake failed");
    return;
  }
  std::optional<PeerSession::Outgoing> none;
  if (sa.OnHandshake(reply->message, &none) != DropReason::kNone) {
    state.SkipWithError("handshake failed");
    return;
  }
  std::vector<uint8_t> inner(size, 0x45);
  std::vector<uint8_t> wire(size + kDataOverhead);
  uint64_t bond_seq = 0;
  for (auto _ : state) {
    SealResult r = sa.SendCodec()->SealData(1, bond_seq++, inner, wire);
    OpenedPacket packet;
    DropReason why = sb.Open(MutableBytes(wire).first(r.size), &packet);
    benchmark::DoNotOptimize(why);
    benchmark::DoNotOptimize(packet.inner_packet.data());
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_SessionSealOpenData)->Arg(1400);

void BM_SealData(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  Peers peers;
  std::vector<uint8_t> inner(size, 0x45);
  std::vector<uint8_t> wire(size + kDataOverhead);
  uint64_t bond_seq = 0;
  for (auto _ : state) {
    SealResult r = peers.sender.SealData(1, bond_seq++, inner, wire);
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_SealData)->Arg(1400);

// Opening alone, through the AEAD layer (PacketCodec::Open would reject the repeated counter).
void BM_AeadOpen(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  AeadKey key;
  Sealer sealer = Sealer::Create(key, 0).value();
  Opener opener = Opener::Create(key).value();
  std::vector<uint8_t> header(20, 1), plaintext(size, 0x45), sealed(size + kAeadTagSize), out(size);
  uint64_t counter = sealer.TakeCounter().value();
  sealer.Seal(counter, header, {}, plaintext, sealed);
  for (auto _ : state) {
    AeadError e = opener.Open(counter, header, sealed, out);
    benchmark::DoNotOptimize(e);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_AeadOpen)->Arg(1400);

// A garbage datagram with a plausible header costs one failed tag check: the flood price.
void BM_OpenForgedData(benchmark::State& state) {
  Peers peers;
  std::vector<uint8_t> inner(1400, 0x45), wire(1400 + kDataOverhead), forged;
  SealResult r = peers.sender.SealData(1, 0, inner, wire);
  wire[kDataPayloadOffset] ^= 1;
  for (auto _ : state) {
    forged = wire;
    OpenedPacket packet;
    DropReason why = peers.receiver.Open(MutableBytes(forged).first(r.size), &packet);
    benchmark::DoNotOptimize(why);
  }
}
BENCHMARK(BM_OpenForgedData);

void BM_ReplayWindowInOrder(benchmark::State& state) {
  ReplayWindow window;
  uint64_t counter = 1'000'000;
  for (auto _ : state) {
    if (window.Check(counter) == ReplayWindow::Verdict::kFresh) window.Accept(counter);
    ++counter;
  }
}
BENCHMARK(BM_ReplayWindowInOrder);

}  // namespace
}  // namespace fleetbond::transport

BENCHMARK_MAIN();
