// fuzz_identities.h
//
// Three fixed node identities for the fuzz targets and the corpus generator. Their secrets are
// constants in fuzz_support.cc, so a datagram sealed by the generator from A to B still opens in
// a later fuzzing run, and a Hello made with A's key still hashes to A's id.
#pragma once

#include "shared/identity/identity.h"

namespace fleetbond::fuzz {

const Identity& IdentityA();
const Identity& IdentityB();
const Identity& IdentityC();

}  // namespace fleetbond::fuzz
