# shellcheck shell=bash
# node_test.sh: shared parts of the fleetbond-node integration tests (sourced after rig.sh and
# fleet.sh). Each test script: source this, then check/expect..., then `node_test_summary`.
#
#   node_test_init "$@"      # FLEET_BIN from $1 (the build's node/ directory), root check
#   expect NAME EXPR MSG     # a python3 boolean expression; MSG (the measured values) printed
#   json FILE KEYPATH        # a value from a JSON document (python3 subscript, e.g. '["bps"]')
#   traffic NODE ARGS...     # lib/traffic.py inside node NODE's namespace
#   link_tx NODE             # "p0 p1 p2 ..." tx packet counters of the node's links

TEST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pass=0
fail=0

node_test_init() {
  if [[ $(id -u) -ne 0 ]]; then echo "skipped: the rig needs root (network namespaces)"; exit 77; fi
  FLEET_BIN=${1:-${FLEET_BIN:-build/release/node}}
  FLEET_BIN=$(cd "$FLEET_BIN" && pwd)
  if [[ ! -x "$FLEET_BIN/fleetbond-node" ]]; then echo "no fleetbond-node in $FLEET_BIN"; exit 1; fi
  WORK=$(mktemp -d /tmp/fleetbond-test.XXXXXX)
  rmdir "$FLEET_DIR" 2>/dev/null  # fleet.sh's default, unused
  FLEET_DIR=$WORK/fleet
  mkdir -p "$FLEET_DIR"
  # ASan: a leak report at exit is a failure we want to see in the node's log, not an abort.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
}

# expect NAME PYTHON_BOOL_EXPR [DETAIL]
expect() {
  local name=$1 cond=$2 detail=${3:-}
  if python3 -c "import sys; sys.exit(0 if ($cond) else 1)" 2>/dev/null; then
    pass=$((pass + 1))
    echo "ok   $name ${detail:+($detail)}"
  else
    fail=$((fail + 1))
    echo "FAIL $name ${detail:+($detail)} [expected: $cond]"
  fi
}

json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null || echo None; }

traffic() {
  local node=$1
  shift
  rig_exec "$node" timeout 120 python3 "$TEST_LIB/traffic.py" "$@"
}

link_tx() {
  local node=$1 out=() k
  for ((k = 0; k < ${2:-$RIG_LINKS}; k++)); do out+=("$(fleet_tx_packets "$node" "$k")"); done
  echo "${out[@]}"
}

# tx_window NODE SECONDS: per-link tx packet deltas over the next SECONDS, space-separated.
tx_window() {
  local a b
  a=($(link_tx "$1"))
  sleep "$2"
  b=($(link_tx "$1"))
  local k out=()
  for ((k = 0; k < ${#a[@]}; k++)); do out+=($((b[k] - a[k]))); done
  echo "${out[@]}"
}
argmax() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(v.index(max(v)))" "$@"; }

# Per-link data shares: tx packets over a window minus the link's idle rate (probes and their
# replies, measured before the stream), as fractions of all data sent. Shares, not rates, so that
# a sender slowed down by a loaded machine does not look like flows leaving a link.
shares() {  # shares "BASE..." "WINDOW...": data share per link
  python3 -c "
import sys
b=[float(x) for x in sys.argv[1].split()]; w=[float(x) for x in sys.argv[2].split()]
d=[max(0.0, x-y) for x,y in zip(w,b)]; t=sum(d) or 1.0
print(' '.join(str(round(x/t,3)) for x in d))" "$1" "$2"
}
# node_alive NODE: the daemon process of NODE still runs.
node_alive() {
  local pidfile
  pidfile="$(fleet_home "$1")/pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# log_clean NODE: the node's log shows no sanitizer report, crash or assertion.
log_clean() {
  ! grep -qiE "AddressSanitizer|LeakSanitizer|runtime error|Segmentation|Aborted|terminate called|Assertion" \
    "$(fleet_log "$1")"
}

# node_test_up NODES LINKS SETTINGS: fleet_up, with an exit trap that tears the rig down and
# removes the work directory (kept, and named, when a check failed).
node_test_up() {
  fleet_up "$@"
  local rc=$?
  trap node_test_exit EXIT
  return $rc
}
node_test_exit() {
  rig_down
  if ((fail == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}

# restart_all SETTINGS: every node restarted with new settings; waits for the overlay.
restart_all() {
  local n
  for ((n = 1; n <= FLEET_NODES; n++)); do fleet_stop_node "$n"; done
  for ((n = 1; n <= FLEET_NODES; n++)); do
    fleet_write_conf "$n" "$1"
    fleet_start_node "$n"
  done
  for ((n = 2; n <= FLEET_NODES; n++)); do fleet_wait_overlay 1 "$n" 20 || return 1; done
}

# iperf NODE_FROM NODE_TO OUT ARGS...: one iperf3 run across the overlay, JSON in OUT.
iperf() {
  local from=$1 to=$2 outfile=$3
  shift 3
  rig_exec "$to" timeout 40 iperf3 -s -1 -B "$(fleet_overlay "$to")" >/dev/null 2>&1 &
  local server=$!
  sleep 0.5
  rig_exec "$from" timeout 40 iperf3 -c "$(fleet_overlay "$to")" -J --connect-timeout 3000 "$@" \
    >"$outfile" 2>/dev/null
  wait $server 2>/dev/null
}

node_test_summary() {
  if ((fail > 0)); then
    for ((n = 1; n <= FLEET_NODES; n++)); do
      echo "--- node $n log (last 15 lines)"
      tail -15 "$(fleet_log "$n")" 2>/dev/null
    done
  fi
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
}
