#!/usr/bin/env bash
# Controller load benchmark: for each fleet size N, a fresh fleetbond-controller (its own temporary
# --data, 127.0.0.1 ports, plaintext: --insecure) and controller_load with N simulated node
# sessions over real gRPC. controller_load measures the connect ramp, the controller's RSS per
# session, its CPU at a 5 s metrics interval with 4 paths per node, change-to-ack times and
# /metrics scrapes; this script prints its JSON and a Markdown table for docs/BENCHMARKS.md.
# It builds nothing: give it a Release build directory that has fleetbond-controller and
# controller_load (FLEETBOND_BUILD_BENCH=ON).
#
#   tests/bench/controller_load.sh [BUILD_DIR] [N ...]   (default build/release; N = 1000 10000)
#
# Extra controller flags may come in CONTROLLER_ARGS (e.g. "--metrics-per-peer=false"), extra
# controller_load flags in LOAD_ARGS (e.g. "--cpu-window=10s"). The machine is shared: a controller
# whose RSS passes CONTROLLER_RSS_LIMIT_MB (default 8192) is killed and its run fails. With gdb
# installed, controller_load also measures the RSS left after malloc_trim (--gdb-trim).
#
# REPLICAS="1 3" runs each N twice in the same run: once against one controller on SQLite, once
# against 3 replicas sharing a fresh single-member etcd (Debian's etcd-server), the simulated nodes
# spread over them; at the end the last replica is killed (SIGKILL) and its nodes' move to the
# others is timed. Memory and CPU are then the replicas' sums.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/release}
[ $# -gt 0 ] && shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
controller=$build/controller/fleetbond-controller
load=$build/tests/controller_load
for b in "$controller" "$load"; do
  if [ ! -x "$b" ]; then
    echo "controller_load.sh: $b is missing; build targets fleetbond-controller and controller_load" \
      "in a Release build with -DFLEETBOND_BUILD_BENCH=ON" >&2
    exit 2
  fi
done
command -v curl >/dev/null || { echo "controller_load.sh: needs curl" >&2; exit 2; }

# Every session is one HTTP/2 stream, but allow for many connections and the store's files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tmp=$(mktemp -d /tmp/controller_load.XXXXXX)
pids=()
etcd_pid=
# shellcheck disable=SC2317  # called by the trap
stop_all() {
  local p
  for p in "${pids[@]}" $etcd_pid; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}" $etcd_pid; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  pids=()
  etcd_pid=
}
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  stop_all
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# watch_rss PID: kill the process if its RSS passes CONTROLLER_RSS_LIMIT_MB.
watch_rss() {
  local pid=$1 limit_kb=$((${CONTROLLER_RSS_LIMIT_MB:-8192} * 1024)) rss
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    if [ "${rss:-0}" -gt "$limit_kb" ]; then
      echo "controller_load.sh: controller $pid's RSS reached $((rss / 1024)) MiB; killing it" >&2
      kill -KILL "$pid"
      break
    fi
    sleep 0.5
  done
}

# start_etcd DIR: a single-member etcd on free loopback ports; sets etcd_url.
start_etcd() {
  local dir=$1 client peer
  client=$(free_port)
  peer=$(free_port)
  mkdir -p "$dir"
  /usr/bin/etcd --name bench --data-dir "$dir/data" --listen-client-urls "http://127.0.0.1:$client" \
    --advertise-client-urls "http://127.0.0.1:$client" --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench=http://127.0.0.1:$peer" --log-level error >"$dir/log" 2>&1 &
  etcd_pid=$!
  etcd_url="etcd://127.0.0.1:$client"
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$client/health" && return 0
    kill -0 "$etcd_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "controller_load.sh: etcd did not come up; its log:" >&2
  cat "$dir/log" >&2
  return 1
}

echo "controller_load.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" >&2
# REPLICAS lists the set-ups to run for each N: 1 is one controller on SQLite; R > 1 is R replicas
# sharing one etcd (Debian's etcd-server), the last of which is killed at the end (--failover-kill).
read -r -a replica_counts <<<"${REPLICAS:-1}"
status=0
results=()
for n in "${sizes[@]}"; do
  for r in "${replica_counts[@]}"; do
    run=$n-r$r
    store_args=()
    if [ "$r" -gt 1 ]; then
      [ -x /usr/bin/etcd ] || { echo "controller_load.sh: REPLICAS=$r needs /usr/bin/etcd (etcd-server)" >&2; exit 2; }
      start_etcd "$tmp/etcd-$run" || exit 1
    fi
    targets=()
    metrics=()
    for i in $(seq "$r"); do
      grpc_port=$(free_port)
      metrics_port=$(free_port)
      mkdir -p "$tmp/data-$run-$i"
      store_args=()
      [ "$r" -gt 1 ] && store_args=(--store "$etcd_url" --replica-id "replica-$i" \
        --advertise "127.0.0.1:$grpc_port")
      # shellcheck disable=SC2086
      "$controller" --data "$tmp/data-$run-$i" --listen "127.0.0.1:$grpc_port" \
        --metrics-listen "127.0.0.1:$metrics_port" --overlay-prefix 10.147.0.0/16 \
        --metrics-interval-ms 5000 --insecure "${store_args[@]}" ${CONTROLLER_ARGS:-} \
        2>"$tmp/controller-$run-$i.log" &
      pids+=($!)
      targets+=("127.0.0.1:$grpc_port")
      metrics+=("$metrics_port")
    done
    for i in $(seq 0 $((r - 1))); do
      up=0
      for _ in $(seq 150); do
        if curl -sf -o /dev/null "http://127.0.0.1:${metrics[$i]}/healthz"; then up=1; break; fi
        kill -0 "${pids[$i]}" 2>/dev/null || break
        sleep 0.1
      done
      if [ $up -ne 1 ]; then
        echo "controller_load.sh: controller $((i + 1)) of $r did not come up; its log:" >&2
        cat "$tmp/controller-$run-$((i + 1)).log" >&2
        exit 1
      fi
      watch_rss "${pids[$i]}" &
    done
    trim=
    command -v gdb >/dev/null && trim=--gdb-trim
    failover=()
    [ "$r" -gt 1 ] && failover=(--failover-kill $((r - 1)))
    target_list=$(IFS=,; echo "${targets[*]}")
    pid_list=$(IFS=,; echo "${pids[*]}")
    echo "controller_load.sh: N=$n against $r controller(s), pid(s) $pid_list (gRPC $target_list)" >&2
    # shellcheck disable=SC2086
    "$load" --target "$target_list" --metrics-url "http://127.0.0.1:${metrics[0]}/metrics" \
      --controller-pid "$pid_list" --nodes "$n" --json "$tmp/result-$run.json" $trim \
      "${failover[@]}" ${LOAD_ARGS:-} >/dev/null
    rc=$?
    if [ $rc -ne 0 ]; then
      status=1
      echo "controller_load.sh: N=$n with $r controller(s) failed (exit $rc); the logs end:" >&2
      for i in $(seq "$r"); do tail -20 "$tmp/controller-$run-$i.log" >&2; done
    fi
    if [ -s "$tmp/result-$run.json" ]; then
      /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["replicas"]=int(sys.argv[2]); json.dump(r, open(sys.argv[1], "w"), indent=2)' \
        "$tmp/result-$run.json" "$r"
      results+=("$tmp/result-$run.json")
    fi
    stop_all
  done
done

[ ${#results[@]} -gt 0 ] || exit 1
/usr/bin/python3 - "${results[@]}" <<'EOF'
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
print(json.dumps(runs, indent=2))
def g(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d
def f(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"
rows = [
    ("sessions acked their first push after (s)", lambda r: f(g(r, "connect", "all_first_acks_s"), 1) if g(r, "connect", "all_first_acks_s") is not None else f"only {f(g(r, 'connect', 'first_acks'))} after {f(g(r, 'connect', 'elapsed_s'))} s, RSS {f((g(r, 'connect', 'controller_rss_kb') or 0) / 1024)} MiB"),
    ("pushes stopped after (s)", lambda r: f(g(r, "connect", "settled_s"), 1)),
    ("sessions dropped / reconnects (whole run)", lambda r: f"{f(g(r, 'drops', 'sessions'))} / {f(g(r, 'drops', 'reconnects'))}"),
    ("pushes during the ramp / MB", lambda r: f"{f(g(r, 'connect', 'pushes'))} / {f(g(r, 'connect', 'push_mbytes'))}"),
    ("controller RSS before → after (MiB)", lambda r: f"{f((g(r, 'controller', 'rss_before_kb') or 0) / 1024, 1)} → {f((g(r, 'controller', 'rss_kb') or 0) / 1024, 1)}"),
    ("RSS per session (KiB)", lambda r: f(g(r, "controller", "rss_per_session_kb"), 1)),
    ("RSS after malloc_trim (MiB) / per session (KiB)", lambda r: f"{f((g(r, 'controller', 'trimmed_rss_kb') or 0) / 1024, 1)} / {f(g(r, 'controller', 'trimmed_rss_per_session_kb'), 1)}"),
    ("peak RSS, VmHWM (MiB)", lambda r: f((g(r, "controller", "hwm_kb") or 0) / 1024, 1)),
    ("controller CPU, steady metrics (% of one core)", lambda r: f(g(r, "cpu", "controller_percent_of_core"), 1)),
    ("metrics reports per second", lambda r: f(g(r, "cpu", "reports_per_s"))),
    ("change → ack p50 / p99 / max (ms)", lambda r: " / ".join(f(g(r, "change_to_ack", k)) for k in ("p50_ms", "p99_ms", "max_ms"))),
    ("/metrics scrape, median (ms) / size (MB)", lambda r: f"{f(g(r, 'scrape', 'plain', 'median_ms'))} / {f(g(r, 'scrape', 'plain', 'mbytes'), 1)}"),
    ("/metrics scrape gzip, median (ms) / size (MB)", lambda r: f"{f(g(r, 'scrape', 'gzip', 'median_ms'))} / {f(g(r, 'scrape', 'gzip', 'mbytes'), 1)}"),
    ("series exported", lambda r: f(g(r, "scrape", "series"))),
    ("ListNodes (ms)", lambda r: f(g(r, "operator_api", "list_nodes_ms"))),
    ("rotate (ms) / forwarded to another replica (ms)", lambda r: f"{f(g(r, 'operator_api', 'rotate_ms'), 1)} / {f(g(r, 'operator_api', 'rotate_forwarded_ms'), 1)}"),
    ("replica killed: nodes moved", lambda r: f(g(r, "failover", "nodes_moved"))),
    ("their first ack elsewhere p50 / p99 / max (ms)", lambda r: " / ".join(f(g(r, "failover", k)) for k in ("p50_ms", "p99_ms", "max_ms"))),
    ("change after the kill → ack p99 / max (ms)", lambda r: f"{f(g(r, 'failover', 'change_after', 'p99_ms'))} / {f(g(r, 'failover', 'change_after', 'last_ack_ms'))}"),
    ("load average during the CPU window", lambda r: g(r, "cpu", "load_average") or "n/a"),
]
print()
def title(r):
    who = "1 controller, SQLite" if r.get("replicas", 1) == 1 else f"{r['replicas']} replicas, etcd"
    return f"N = {r['nodes']:,}, {who}" + ("" if r.get("ok") else " (FAILED)")
print("| | " + " | ".join(title(r) for r in runs) + " |")
print("|---|" + "---:|" * len(runs))
for name, fn in rows:
    print(f"| {name} | " + " | ".join(fn(r) for r in runs) + " |")
EOF
exit $status
