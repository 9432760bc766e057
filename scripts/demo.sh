#!/usr/bin/env bash
# The main job, on embedded defaults: installs what is missing, builds, then runs a small fleet on
# this machine — a fleetbond-controller (SQLite store, its own CA) and three fleetbond-nodes in
# network namespaces, each with three links (two IPv4, one IPv6). The nodes join the controller,
# get their overlay addresses and peers from it, carry traffic; a policy is pushed to all of them,
# a failover happens, and the bonds and metrics are shown through the controller. On a terminal it
# then keeps the fleet running until Ctrl-C; otherwise (or with DEMO_HOLD=0) it stops at once.
# Everything is torn down on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
scripts/build.sh release
bin=build/release
node=$bin/node/fleetbond-node
cli=$bin/node/fleetbond-cli
controller=$bin/controller/fleetbond-controller

echo
echo "== fleetbond-node --check-config deploy/examples/local.conf"
"$node" --check-config deploy/examples/local.conf

if [[ $(id -u) -ne 0 ]]; then
  echo "demo: the fleet part needs root (network namespaces, TUN); run it as root" >&2
  exit 1
fi

source tests/integration/lib/rig.sh
source tests/integration/lib/fleet.sh
FLEET_BIN=$bin/node
ctl_pid=""
cleanup() {
  set +e  # tear down everything, even what is already gone
  echo
  echo "== tearing down"
  fleet_down
  [[ -n "$ctl_pid" ]] && kill -TERM "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null
  rig_down
  rm -rf "$FLEET_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo
echo "== a rig of three nodes, each with eth0 (10.201.0.0/24), eth1 (10.201.1.0/24), eth2 (fd20:0:0:2::/64)"
rig_up 3 3
trap cleanup EXIT
FLEET_NODES=3
ctl_home=$FLEET_DIR/controller
mkdir -p "$ctl_home"

echo
echo "== fleetbond-controller ca init: a fleet CA, the controller's certificate, one per node"
"$controller" ca init --data "$ctl_home" --name demo --san 10.201.0.1 | sed 's/^/   /'
for n in 1 2 3; do
  mkdir -p "$(fleet_home "$n")"
  "$node" --home "$(fleet_home "$n")" --init >"$(fleet_home "$n")/id.json" 2>/dev/null
  "$controller" ca issue --data "$ctl_home" --node "$(fleet_id "$n")" --out "$(fleet_home "$n")" >/dev/null
done
"$controller" ca issue --data "$ctl_home" --operator demo --out "$ctl_home" >/dev/null
ca=$ctl_home/ca
ctl() { fleet_exec 1 "$cli" --controller 127.0.0.1:9900 --controller-ca "$ca/ca.crt" \
  --cert "$ctl_home/operator-demo.crt" --key "$ctl_home/operator-demo.key" "$@"; }

echo
echo "== the controller, in node 1's namespace (gRPC :9900, metrics :9902)"
ip netns exec "$(rig_ns 1)" "$controller" --data "$ctl_home" --listen 0.0.0.0:9900 \
  --metrics-listen 127.0.0.1:9902 --metrics-interval-ms 1000 \
  --tls-ca "$ca/ca.crt" --tls-cert "$ca/controller.crt" --tls-key "$ca/controller.key" \
  >"$ctl_home/log" 2>&1 &
ctl_pid=$!
for _ in $(seq 50); do ctl nodes >/dev/null 2>&1 && break; sleep 0.2; done
echo "   $(head -1 "$ctl_home/log")"

echo
echo "== three nodes join it (local.conf is empty: settings, overlay and peers come from the controller)"
for n in 1 2 3; do
  echo '{"settings": {}}' >"$(fleet_home "$n")/local.conf"
  addr=10.201.0.1
  ip netns exec "$(rig_ns "$n")" "$node" --home "$(fleet_home "$n")" --controller "$addr:9900" \
    --controller-ca "$ca/ca.crt" --controller-cert "$(fleet_home "$n")/node-$(fleet_id "$n").crt" \
    --controller-key "$(fleet_home "$n")/node-$(fleet_id "$n").key" --label "site=demo" \
    --label "rack=r$n" >>"$(fleet_log "$n")" 2>&1 &
  echo $! >"$(fleet_home "$n")/pid"
  # One at a time, so that the overlay addresses come in order (10.147.0.1, .2, .3).
  for _ in $(seq 100); do
    ctl -j nodes 2>/dev/null | python3 -c "
import json, sys
nodes = [x for x in json.load(sys.stdin).get('nodes', []) if x['id'] == '$(fleet_id "$n")']
sys.exit(0 if nodes and nodes[0].get('connected') and nodes[0].get('ackedVersion') else 1)" && break
    sleep 0.2
  done
done
ctl nodes
for n in 2 3; do fleet_wait_overlay 1 "$n" 20 || echo "   node 1 cannot reach node $n yet"; done

echo
echo "== traffic: ping and 5 s of TCP (iperf3) from node 1 to node 2 over the bond"
fleet_exec 1 ping -c 5 -i 0.2 "$(fleet_overlay 2)" | tail -2
fleet_exec 2 iperf3 -s -1 -D -B "$(fleet_overlay 2)" >/dev/null 2>&1
sleep 0.3
fleet_exec 1 iperf3 -c "$(fleet_overlay 2)" -t 5 | grep -E "sender|receiver"

echo
echo "== pushing a policy to the whole fleet: fast active-backup (failoverInterval 500 ms)"
cat >"$ctl_home/fleet.conf" <<'EOF'
{"settings": {"defaultBondingPolicy": "fast-failover",
              "policies": {"fast-failover": {"basePolicy": "active-backup",
                                             "failoverInterval": 500}}}}
EOF
ctl settings apply "$ctl_home/fleet.conf"
for _ in $(seq 100); do
  ctl -j nodes | python3 -c "
import json, sys
n = json.load(sys.stdin)['nodes']
sys.exit(0 if all(x.get('ackedVersion') == x.get('desiredVersion') for x in n) else 1)" && break
  sleep 0.2
done
ctl nodes

echo
echo "== bond list of node 1, from the controller"
id1=$(fleet_id 1)
id2=$(fleet_id 2)
ctl --node "$id1" bond list
echo
active=$(ctl -j --node "$id1" bond "$id2" show | python3 -c "
import json, sys
b = json.load(sys.stdin)
print(next((p['interface'] for p in b['paths'] if p.get('active')), 'eth0'))")
# The cut: the switch of node 1's active link fails, so every node loses carrier on it and fails
# over at once. (Pulling only node 1's cable, rig_link_down 1 K, leaves node 2's switch port up:
# node 1 moves at once, but node 2 keeps answering over that link until failoverInterval of probe
# silence has passed, about 500 ms of lost replies. That is the far end's physics.)
switch_ports() { for ((n = 1; n <= RIG_NODES; n++)); do ip -n "$(rig_sw)" link set "n${n}l${active#eth}" "$1"; done; }
echo "== the switch of node 1's active link ($active) fails while node 1 pings node 2 every 20 ms"
echo "   (every node loses carrier on $active; a cable pulled at one end only would be noticed by"
echo "   the other end after failoverInterval of silence)"
fleet_exec 1 ping -D -i 0.02 -c 150 "$(fleet_overlay 2)" >"$FLEET_DIR/ping.log" &
ping_pid=$!
sleep 1
switch_ports down
wait $ping_pid || true
tail -2 "$FLEET_DIR/ping.log"
python3 - "$FLEET_DIR/ping.log" <<'PY'
import re, sys
times = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\].*bytes from", open(sys.argv[1]).read(), re.M)]
gaps = [b - a for a, b in zip(times, times[1:])]
print(f"longest gap between replies: {max(gaps) * 1000:.0f} ms" if gaps else "no replies")
PY
sleep 1.5  # one metrics report
ctl --node "$id1" bond "$id2" show
switch_ports up

echo
echo "== the fleet's metrics (Prometheus text), a few of them"
fleet_exec 1 python3 -c "
import urllib.request
text = urllib.request.urlopen('http://127.0.0.1:9902/metrics', timeout=5).read().decode()
keep = ('fleetbond_node_connected', 'fleetbond_bond_failovers_total', 'fleetbond_path_latency_seconds')
lines = [l for l in text.splitlines() if l.startswith(keep)]
print('\n'.join(lines[:12]))
print(f'... {len(text.splitlines())} lines in all')"
echo
echo "The fleet is running. Look around (as root):"
echo "  metrics:   ip netns exec $(rig_ns 1) curl -s http://127.0.0.1:9902/metrics"
echo "  nodes:     ip netns exec $(rig_ns 1) $cli --controller 127.0.0.1:9900 --controller-ca $ca/ca.crt \\"
echo "               --cert $ctl_home/operator-demo.crt --key $ctl_home/operator-demo.key nodes"
echo "  one node:  ip netns exec $(rig_ns 2) $cli bond list"
if [[ -t 0 && "${DEMO_HOLD:-1}" != 0 ]]; then
  echo "Press Ctrl-C to tear it down."
  while true; do sleep 1; done
fi
