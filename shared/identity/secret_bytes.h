// secret_bytes.h
//
// SecretBytes<N> holds key material: a fixed-size byte array that is wiped (OPENSSL_cleanse, which
// the compiler may not optimise away) when it goes out of scope, so secret keys, shared secrets
// and AEAD keys do not linger in freed memory.
//
// Example:
//   SecretBytes<32> key;
//   RAND_bytes(key.data(), key.size());
//   Use(key.span());
//   // wiped here
#pragma once

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace fleetbond {

// SecretBytes is N bytes of key material, zero-initialised and wiped on destruction. Copies are
// allowed (each copy wipes itself); comparison is deliberately not provided.
template <size_t N>
class SecretBytes {
 public:
  SecretBytes() { bytes_.fill(0); }
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  ~SecretBytes() { OPENSSL_cleanse(bytes_.data(), N); }

  static constexpr size_t size() { return N; }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  std::span<const uint8_t, N> span() const { return std::span<const uint8_t, N>(bytes_); }

 private:
  std::array<uint8_t, N> bytes_;
};

}  // namespace fleetbond
