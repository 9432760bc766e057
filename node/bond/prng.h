// prng.h
//
// Prng is the bond engine's source of randomness (balance-rr with packetsPerLink 0, portless
// packets under balance-xor and balance-aware). It is SplitMix64: one add and three
// multiply-xorshift steps per draw, no allocation, and seedable so that tests are deterministic.
// It is not cryptographic; nothing in path choice needs that.
//
// Example:
//   Prng rng(42);
//   uint32_t i = rng.Below(n);  // uniform in [0, n)
#pragma once

#include <cstdint>

namespace fleetbond::bond {

class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}

  // Next returns 64 uniformly distributed bits.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Below returns a uniform integer in [0, n) for n > 0 (Lemire's multiply-shift; the bias is at
  // most n / 2^32, irrelevant for n <= 64).
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }

 private:
  uint64_t state_;
};

}  // namespace fleetbond::bond
