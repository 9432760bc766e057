#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and fails on any crash, leak, timeout or sanitizer
# report.
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS [TARGET...]
# BUILD_DIR is a FLEETBOND_FUZZ=ON build (scripts/build.sh fuzz: build/fuzz). Each target runs
# for SECONDS (libFuzzer's -max_total_time) on a scratch copy of its committed corpus and crash
# reproducers (tests/fuzz/corpus/<t>, tests/fuzz/regressions/<t>), so the tree is never written.
# FUZZ_JOBS targets run at once (default: the number of CPUs, at most 2). libFuzzer runs with
# -entropic=0: with the thousands of features of the session targets, the entropic scheduler's
# bookkeeping took half the time and cut executions five-fold (node_message: 33/s against 184/s,
# with more coverage in the same 30 s); FUZZ_FLAGS adds or overrides flags. At the end it prints
# executions, executions per second and coverage per target. A failing target's reproducer is
# kept in BUILD_DIR/fuzz-artifacts/<t>/: add it to tests/fuzz/regressions/<t>/ with the fix, and
# the ctest test fuzz_replay_<t> checks it from then on.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(packet_open local_conf config_push node_message flow_classifier handshake)
fi
jobs=${FUZZ_JOBS:-$(nproc)}
((jobs > 2)) && jobs=2
((jobs < 1)) && jobs=1

work=$(mktemp -d "${TMPDIR:-/tmp}/fleetbond-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 bin=$build/tests/fuzz/${1}_fuzzer dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "$here/corpus/$t/." "$dir/corpus/" 2>/dev/null || true
  cp -r "$here/regressions/$t/." "$dir/corpus/" 2>/dev/null || true
  rm -f "$dir/corpus/.gitkeep"
  local rc=0
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=4096 -entropic=0 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" ${FUZZ_FLAGS:-} "$dir/corpus" \
    >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

if [[ ! -x $build/tests/fuzz/${targets[0]}_fuzzer ]]; then
  echo "run_fuzz: no fuzzers in $build (configure with -DFLEETBOND_FUZZ=ON, build target 'fuzz')" >&2
  exit 2
fi
echo "run_fuzz: ${#targets[@]} target(s), ${seconds} s each, $jobs at a time"
start=$SECONDS
running=0
for t in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait

failed=0
printf '%-16s %12s %9s %8s %8s %8s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
  dir=$work/$t
  rc=$(cat "$dir/rc" 2>/dev/null || echo 99)
  log=$dir/log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  # The last status line of libFuzzer: "#N  DONE cov: C ft: F corp: K/..."
  status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
  result=ok
  if [[ $rc != 0 ]] || compgen -G "$dir/artifacts/*" >/dev/null ||
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-16s %12s %9s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$result"
done

if ((failed)); then
  for t in "${targets[@]}"; do
    dir=$work/$t
    if [[ $(cat "$dir/rc" 2>/dev/null || echo 99) != 0 ]] || compgen -G "$dir/artifacts/*" >/dev/null; then
      echo "=== $t: last lines of the log ==="
      tail -n 60 "$dir/log"
      mkdir -p "$artifacts/$t"
      cp "$dir"/artifacts/* "$artifacts/$t/" 2>/dev/null || true
      echo "=== $t: reproducers kept in $artifacts/$t ==="
      ls -l "$artifacts/$t" || true
    fi
  done
  echo "run_fuzz: FAILED after $((SECONDS - start)) s" >&2
  exit 1
fi
echo "run_fuzz: all ${#targets[@]} target(s) clean after $((SECONDS - start)) s"
