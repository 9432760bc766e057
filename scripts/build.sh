#!/usr/bin/env bash
# Configures and builds one flavour of fleetbond.
#   scripts/build.sh release   optimised binaries (no tests) in build/release
#   scripts/build.sh asan      ASan+UBSan binaries and tests in build/asan
#   scripts/build.sh fuzz      the libFuzzer targets (tests/fuzz) with clang-14 in build/fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
target=()
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release -DFLEETBOND_SANITIZE=OFF -DFLEETBOND_BUILD_TESTS=OFF
                 -DFLEETBOND_BUILD_BENCH=OFF) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEETBOND_SANITIZE=ON) ;;
  # -O1 and line tables only: quicker to build than -O2 -g, and what fuzzing wants (fast, with
  # stack traces). Only the fuzz targets and the libraries they use are built.
  fuzz) export CC=${CC:-clang-14} CXX=${CXX:-clang++-14}
        args=(-DCMAKE_BUILD_TYPE=None "-DCMAKE_C_FLAGS=-O1 -gline-tables-only"
              "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" -DFLEETBOND_FUZZ=ON)
        target=(--target fuzz) ;;
  *) echo "build: unknown flavour '$flavour' (release|asan|fuzz)" >&2; exit 2 ;;
esac

dir=build/$flavour
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
jobs=$(nproc)
echo "build: building $flavour in $dir with $jobs jobs"
cmake --build "$dir" -j "$jobs" "${target[@]}"
