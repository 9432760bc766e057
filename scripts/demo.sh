#!/usr/bin/env bash
# The main job, on embedded defaults: installs what is missing, builds, validates the example
# settings, then runs a two-node fleet in network namespaces on this machine — three links
# between the nodes (two IPv4, one IPv6), an active-backup bond, traffic across the overlay, and a
# failover when the active link is cut. Everything is torn down on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
scripts/build.sh release
bin=build/release/node

echo
echo "== fleetbond-node --check-config deploy/examples/local.conf"
"$bin/fleetbond-node" --check-config deploy/examples/local.conf

if [[ $(id -u) -ne 0 ]]; then
  echo "demo: the fleet part needs root (network namespaces, TUN); run it as root" >&2
  exit 1
fi

source tests/integration/lib/rig.sh
source tests/integration/lib/fleet.sh
FLEET_BIN=$bin
cleanup() {
  set +e  # tear down everything, even what is already gone
  echo
  echo "== tearing down"
  fleet_down
  rig_down
  rm -rf "$FLEET_DIR"
}
trap cleanup EXIT INT TERM

echo
echo "== starting two nodes, each with links eth0 (10.201.0.0/24), eth1 (10.201.1.0/24), eth2 (fd20:0:0:2::/64)"
settings='{"defaultBondingPolicy": "fast-failover",
           "policies": {"fast-failover": {"basePolicy": "active-backup", "failoverInterval": 500}}}'
fleet_up 2 3 "$settings"
trap cleanup EXIT INT TERM  # rig_up installed its own; ours also removes the nodes' homes
for n in 1 2; do
  echo "-- node $n: $(cat "$(fleet_home "$n")/id.json"), overlay $(fleet_overlay "$n")"
done

echo
echo "== ping across the overlay (10.147.0.1 -> 10.147.0.2)"
fleet_exec 1 ping -c 5 -i 0.2 "$(fleet_overlay 2)" | tail -2

echo
echo "== 5 s of TCP over the bond (iperf3)"
fleet_exec 2 iperf3 -s -1 -D -B "$(fleet_overlay 2)" >/dev/null 2>&1
sleep 0.3
fleet_exec 1 iperf3 -c "$(fleet_overlay 2)" -t 5 | grep -E "sender|receiver"
echo "bytes sent by node 1 per link:"
for k in 0 1 2; do echo "  eth$k: $(fleet_tx_bytes 1 "$k")"; done

active=0
best=0
for k in 0 1 2; do
  b=$(fleet_tx_bytes 1 "$k")
  if ((b > best)); then best=$b; active=$k; fi
done
echo
echo "== cutting the active link eth$active on node 1 while pinging every 20 ms"
fleet_exec 1 ping -D -i 0.02 -c 150 "$(fleet_overlay 2)" >"$FLEET_DIR/ping.log" &
ping_pid=$!
sleep 1
rig_link_down 1 "$active"
wait $ping_pid || true
tail -2 "$FLEET_DIR/ping.log"
python3 - "$FLEET_DIR/ping.log" <<'PY'
import re, sys
times = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\].*bytes from", open(sys.argv[1]).read(), re.M)]
gaps = [b - a for a, b in zip(times, times[1:])]
print(f"longest gap between replies: {max(gaps) * 1000:.0f} ms" if gaps else "no replies")
PY
echo "bytes sent by node 1 per link after the cut:"
for k in 0 1 2; do echo "  eth$k: $(fleet_tx_bytes 1 "$k")"; done
echo
echo "== the bonds as fleetbond-cli shows them on node 1"
fleet_exec 1 "$bin/fleetbond-cli" bond list || true
peer2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$(fleet_home 2)/id.json")
fleet_exec 1 "$bin/fleetbond-cli" bond "$peer2" show || true
