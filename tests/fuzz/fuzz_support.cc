#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_identities.h"
#include "tests/fuzz/fuzz_input.h"

namespace fleetbond::fuzz {

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, condition);
  std::abort();
}

namespace {

// Fixed secrets (not secret at all): the fuzz targets' inputs must authenticate under keys the
// corpus generator also knows, run after run.
Identity Fixed(uint8_t seed) {
  SecretKey secret;
  for (size_t i = 0; i < secret.size(); ++i) secret.data()[i] = static_cast<uint8_t>(seed + 7 * i);
  absl::StatusOr<Identity> identity = Identity::FromSecretKey(secret);
  if (!identity.ok()) CheckFailed("fixed identity", __FILE__, __LINE__);
  return *std::move(identity);
}

}  // namespace

const Identity& IdentityA() {
  static const Identity identity = Fixed(0x11);
  return identity;
}

const Identity& IdentityB() {
  static const Identity identity = Fixed(0x5a);
  return identity;
}

const Identity& IdentityC() {
  static const Identity identity = Fixed(0xc3);
  return identity;
}

}  // namespace fleetbond::fuzz
