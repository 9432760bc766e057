// fuzz_input.h
//
// FuzzInput reads a fuzzer's input as a stream of small fields: a byte that picks a mode, an
// integer, a length-prefixed blob. Reading past the end yields zeros and empty blobs, so a target
// never has to check how much is left before it asks; it stops when empty() says so.
//
// It stands in for clang's FuzzedDataProvider, which the replay driver (built with GCC in the
// ASan build) does not have.
//
// Example:
//   FuzzInput in(data, size);
//   uint8_t mode = in.Byte();
//   std::span<const uint8_t> body = in.Blob();  // u16 length, then that many bytes (or fewer)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace fleetbond::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return size_ - pos_; }

  // Byte returns the next byte, or 0 past the end.
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // Bool reads one byte and returns its low bit.
  bool Bool() { return (Byte() & 1) != 0; }
  // Big-endian integers, zero-filled past the end.
  uint16_t U16() { return static_cast<uint16_t>(Int(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Int(4)); }
  uint64_t U64() { return Int(8); }

  // Bytes returns the next `n` bytes, or fewer at the end.
  std::span<const uint8_t> Bytes(size_t n) {
    if (n > remaining()) n = remaining();
    std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  // Blob reads a 16-bit length and then that many bytes (or fewer at the end).
  std::span<const uint8_t> Blob() { return Bytes(U16()); }
  std::string BlobString() {
    std::span<const uint8_t> b = Blob();
    return std::string(b.begin(), b.end());
  }
  // Rest returns everything not read yet.
  std::span<const uint8_t> Rest() { return Bytes(remaining()); }

 private:
  uint64_t Int(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | Byte();
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Check stops the process (so libFuzzer reports a crash with the input) when a property the
// target asserts does not hold. Unlike assert() it stays on in release builds.
#define FB_FUZZ_CHECK(condition)                                                      \
  do {                                                                                \
    if (!(condition)) ::fleetbond::fuzz::CheckFailed(#condition, __FILE__, __LINE__); \
  } while (false)

[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);

}  // namespace fleetbond::fuzz
