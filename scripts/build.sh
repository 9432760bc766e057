#!/usr/bin/env bash
# Configures and builds one flavour of fleetbond.
#   scripts/build.sh release   optimised binaries (no tests) in build/release
#   scripts/build.sh asan      ASan+UBSan binaries and tests in build/asan
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release -DFLEETBOND_SANITIZE=OFF -DFLEETBOND_BUILD_TESTS=OFF
                 -DFLEETBOND_BUILD_BENCH=OFF) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEETBOND_SANITIZE=ON) ;;
  *) echo "build: unknown flavour '$flavour' (release|asan)" >&2; exit 2 ;;
esac

dir=build/$flavour
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
jobs=$(nproc)
echo "build: building $flavour in $dir with $jobs jobs"
cmake --build "$dir" -j "$jobs"
