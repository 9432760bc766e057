// bytes.h
//
// Byte spans and big-endian load/store helpers shared by the wire format and the crypto code.
// Every multi-byte integer on fleetbond's wire is big-endian (network order); these helpers are
// the only place that knows it, so a reader checking the layout in docs/wire-format.md finds the
// byte order here.
//
// Example:
//   uint8_t buf[8];
//   StoreBigEndian64(buf, counter);
//   uint64_t back = LoadBigEndian64(buf);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fleetbond::transport {

// ConstBytes is a read-only view of bytes owned by someone else.
using ConstBytes = std::span<const uint8_t>;
// MutableBytes is a writable view of bytes owned by someone else.
using MutableBytes = std::span<uint8_t>;

// StoreBigEndian stores the low `n` bytes of `v` at `p`, most significant first.
inline void StoreBigEndian(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

// LoadBigEndian reads `n` bytes (n <= 8) at `p` as a big-endian unsigned integer.
inline uint64_t LoadBigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

inline void StoreBigEndian16(uint8_t* p, uint16_t v) { StoreBigEndian(p, v, 2); }
inline void StoreBigEndian32(uint8_t* p, uint32_t v) { StoreBigEndian(p, v, 4); }
inline void StoreBigEndian64(uint8_t* p, uint64_t v) { StoreBigEndian(p, v, 8); }
inline uint16_t LoadBigEndian16(const uint8_t* p) {
  return static_cast<uint16_t>(LoadBigEndian(p, 2));
}
inline uint32_t LoadBigEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(LoadBigEndian(p, 4));
}
inline uint64_t LoadBigEndian64(const uint8_t* p) { return LoadBigEndian(p, 8); }

}  // namespace fleetbond::transport
