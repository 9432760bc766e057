#!/usr/bin/env bash
# The test command: installs what is missing, builds with ASan+UBSan and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
scripts/build.sh asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build/asan
ctest --output-on-failure -j "$(nproc)" --timeout 600
