#!/usr/bin/env bash
# A fleetbond-node under hostile datagrams, and a link that appears while it runs.
#
#   node_robustness_test.sh [BIN_DIR]
#
# Three namespaces: nodes 1 and 2 are peers; node 3 runs fleetbond-node with its own identity and
# nodes 1 and 2 as its peers, while they do not know it (every datagram it sends them is keyed
# with an identity they do not hold: probes, and its pings across the overlay).
#
# 1. From node 3's namespace, at node 2's port 9800 on an IPv4 and on the IPv6 link, 300 each of:
#    random garbage (1-1400 bytes), a valid-looking header with a random sender and body, a real
#    data datagram (captured with AF_PACKET as node 2 received it) truncated at a random length,
#    the same datagram with one bit flipped, and the same datagram unchanged (a replay). Meanwhile
#    node 1 pings node 2 across the overlay: >= 90 % of 100 answered; afterwards node 2 still
#    runs, still forwards, its log has no sanitizer report or crash; node 3's overlay pings to
#    node 2 are never answered, and node 2's TUN received only node 1's 100 echo requests (its
#    rx counter: no replay, nothing from an unknown identity reached it). Part 3 reads the drop
#    counters by reason.
# 2. A new link eth3 (10.201.3.0/24, listed in the peers' endpoints from the start) is created on
#    every node while they run; then node 1's eth0, eth1 and eth2 are blackholed: pings still
#    cross (>= 80 % of 30) and node 1's eth3 transmits them (kernel counter).
# 3. A bounded flood (20,000 hostile datagrams a second for 7 s, from node 3 at node 2's eth0 port)
#    while iperf3 TCP runs from node 1 to node 2: throughput during the flood is reported next to
#    the throughput without it (>= 25 % kept), and node 2's fleetbond_dataplane_drops_total (its
#    --metrics-listen) grows by at least half of what was sent.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/rig.sh"
source "$here/lib/fleet.sh"
source "$here/lib/node_test.sh"
node_test_init "$@"

S='{"defaultBondingPolicy": "ab500", "policies": {"ab500": {"basePolicy": "active-backup", "failoverInterval": 500}}}'
export FLEET_ENDPOINT_LINKS=4  # eth3 comes later (part 2)
node_test_up 3 3 "$S" || { echo "fleet did not come up"; fail=1; node_test_summary; exit 1; }
# Nodes 1 and 2 forget node 3; node 3 keeps them as peers.
FLEET_NODES=2 fleet_restart 1 "$S"
FLEET_NODES=2 fleet_restart 2 "$S"
fleet_wait_overlay 1 2 20
expect "nodes 1 and 2 reach each other without node 3" "$?==0"

# --- 1. hostile datagrams
traffic 2 capture --ifname any --port 9800 --seconds 8 --out "$WORK/captured.hex" --ready "$WORK/cap.ready" >"$WORK/capture" &
cap=$!
for _ in $(seq 50); do [[ -f "$WORK/cap.ready" ]] && break; sleep 0.1; done
rig_exec 1 ping -c 5 -i 0.2 "$(fleet_overlay 2)" >/dev/null 2>&1
wait $cap
expect "a real data datagram captured at node 2" "'$(json "$WORK/capture" '["captured"]')' not in ('None','0')" "$(cat "$WORK/capture")"

tun_rx() { rig_exec 2 cat /sys/class/net/fb0/statistics/rx_packets; }  # packets the daemon wrote to its TUN
tun0=$(tun_rx)
rig_exec 1 ping -c 100 -i 0.05 -W 1 "$(fleet_overlay 2)" >"$WORK/ping-attack" 2>&1 &
pinger=$!
rig_exec 3 ping -c 20 -i 0.1 -W 1 "$(fleet_overlay 2)" >"$WORK/ping-unknown" 2>&1 &
unknown=$!
for target in "$(rig_addr 2 0)" "$(rig_addr 2 2)"; do
  traffic 3 attack --to "$target" --port 9800 --count 300 --replay "$WORK/captured.hex" >"$WORK/attack-$target"
  expect "attack sent to $target" "sum(__import__('json').load(open('$WORK/attack-$target')).values()) >= 1400" "$(cat "$WORK/attack-$target")"
done
wait $pinger
wait $unknown
tun1=$(tun_rx)
replies=$(grep -c "bytes from" "$WORK/ping-attack")
expect "node 1 -> 2 pings answered during the attack" "$replies >= 90" "$replies/100"
# Node 2's TUN received node 1's 100 echo requests and nothing else: no replayed copy (600 sent),
# nothing from node 3.
expect "only authentic, fresh packets reached node 2's TUN" "90 <= $((tun1 - tun0)) <= 105" \
  "$((tun1 - tun0)) packets written to fb0 for 100 pings and 600 replays"
replies=$(grep -c "bytes from" "$WORK/ping-unknown")
expect "node 3 (unknown identity) gets nothing through node 2's TUN" "$replies == 0" "$replies/20 answered"
expect "node 2 still runs after the attack" "$(node_alive 2 && echo 1 || echo 0) == 1"
rig_exec 1 ping -c 10 -i 0.1 -W 1 "$(fleet_overlay 2)" >"$WORK/ping-after" 2>&1
replies=$(grep -c "bytes from" "$WORK/ping-after")
expect "node 2 still forwards after the attack" "$replies >= 9" "$replies/10"
expect "node 2 log clean (no sanitizer report or crash)" "$(log_clean 2 && echo 1 || echo 0) == 1"
expect "node 1 log clean (no sanitizer report or crash)" "$(log_clean 1 && echo 1 || echo 0) == 1"

# --- 2. a link added while running
rig_add_link 3
sleep 2
expect "node 1 opened a socket on the new eth3" "$(grep -c 'link eth3 10.201.3.1/9800 open' "$(fleet_log 1)") >= 1"
for k in 0 1 2; do rig_blackhole 1 $k; done
sleep 1.5
a=$(fleet_tx_packets 1 3)
rig_exec 1 ping -c 30 -i 0.1 -W 1 "$(fleet_overlay 2)" >"$WORK/ping-eth3" 2>&1
b=$(fleet_tx_packets 1 3)
replies=$(grep -c "bytes from" "$WORK/ping-eth3")
expect "only eth3 left: pings still cross" "$replies >= 24" "$replies/30"
expect "eth3 carries them (node 1's tx counter)" "$((b - a)) >= 24" "$((b - a)) packets"
for k in 0 1 2; do rig_unblackhole 1 $k; done

# --- 3. a bounded flood at node 2's data-plane port while TCP crosses the overlay
# Node 2 again, with its metrics endpoint (the drop counters by reason).
fleet_stop_node 2
echo "=== start with metrics $(date +%T.%N)" >>"$(fleet_log 2)"
ip netns exec "$(rig_ns 2)" "$FLEET_BIN/fleetbond-node" --home "$(fleet_home 2)" \
  --metrics-listen 127.0.0.1:9812 >>"$(fleet_log 2)" 2>&1 &
echo $! >"$(fleet_home 2)/pid"
fleet_wait_overlay 1 2 20
expect "node 2 back with its metrics endpoint" "$?==0"
drops() {  # "TOTAL reason=n,..." of node 2's fleetbond_dataplane_drops_total
  rig_exec 2 curl -s --max-time 5 http://127.0.0.1:9812/metrics | python3 -c '
import re, sys
d = {}
for line in sys.stdin:
    m = re.match(r"fleetbond_dataplane_drops_total\{.*reason=\"([a-z_]+)\".*\} ([0-9.e+]+)", line)
    if m: d[m.group(1)] = float(m.group(2))
print(int(sum(d.values())), ",".join(f"{k}={int(v)}" for k, v in sorted(d.items()) if v))'
}
iperf 1 2 "$WORK/base.json" -t 4
base=$(json <(traffic 1 iperf "$WORK/base.json") '["bps"]')
read -r d0 _ <<<"$(drops)"
traffic 3 flood --to "$(rig_addr 2 0)" --port 9800 --rate 20000 --seconds 7 --replay "$WORK/captured.hex" >"$WORK/flood" &
flooder=$!
sleep 1
iperf 1 2 "$WORK/during.json" -t 4
during=$(json <(traffic 1 iperf "$WORK/during.json") '["bps"]')
wait $flooder
sleep 0.5
read -r d1 reasons <<<"$(drops)"
sent=$(python3 -c "import json; d=json.load(open('$WORK/flood')); print(sum(v for k, v in d.items() if k not in ('seconds', 'send_errors')))" 2>/dev/null || echo 0)
echo "     flood: $(cat "$WORK/flood")"
echo "     iperf3 TCP node 1 -> 2: $(python3 -c "print(round(float('$base')/1e6,1))" 2>/dev/null) Mbit/s without, $(python3 -c "print(round(float('$during')/1e6,1))" 2>/dev/null) Mbit/s during the flood"
expect "node 2 keeps forwarding during the flood (>= 25 % of the throughput without it)" \
  "'$base' != 'None' and '$during' != 'None' and float('$during') >= 0.25 * float('$base')" \
  "$(python3 -c "print(round(100*float('$during')/float('$base')))" 2>/dev/null) % kept"
expect "node 2's drop counters count the flood (>= half of what was sent; the rest the kernel's queues may drop)" \
  "$sent > 0 and $((d1 - d0)) >= 0.5 * $sent" "$((d1 - d0)) drops for $sent sent: $reasons"
expect "node 2 still runs after the flood" "$(node_alive 2 && echo 1 || echo 0) == 1"

for n in 1 2 3; do
  expect "node $n still running" "$(node_alive $n && echo 1 || echo 0) == 1"
  fleet_stop_node $n
  expect "node $n log clean after stop" "$(log_clean $n && echo 1 || echo 0) == 1"
done
node_test_summary
