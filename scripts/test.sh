#!/usr/bin/env bash
# The test command: installs what is missing, builds with ASan+UBSan and runs every test, then
# builds the fuzz targets with clang and runs each for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
scripts/build.sh asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build/asan && ctest --output-on-failure -j "$(nproc)" --timeout 600)

# Fuzzing (issue 9): the libFuzzer targets, built with clang-14, each run FUZZ_SECONDS (60) on the
# committed corpus; any crash, leak or sanitizer report fails the run (tests/fuzz/run_fuzz.sh).
scripts/build.sh fuzz
tests/fuzz/run_fuzz.sh build/fuzz "${FUZZ_SECONDS:-60}"
