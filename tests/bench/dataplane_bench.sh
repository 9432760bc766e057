#!/usr/bin/env bash
# Data-plane benchmark on the shape of ../shared/TARGETS.md: two network namespaces joined by veth
# pairs, tunnel endpoints and iperf3 on this machine's cores. Every figure is measured in this
# run, baselines included, and printed as a Markdown table for docs/BENCHMARKS.md.
#
#   tests/bench/dataplane_bench.sh [BUILD_DIR] [RUNS]   (root; default build/release, 3 runs)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/release}
runs=${2:-3}
secs=${BENCH_SECONDS:-5}
cd "$root"
source tests/integration/lib/rig.sh
source tests/integration/lib/fleet.sh
FLEET_BIN=$build/node
stream=$here/lib/udp_stream.py

median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:] if x]; print(round(statistics.median(v),1) if v else "n/a")' "$@"; }

# iperf_tcp FROM_NODE TO_ADDR [PARALLEL]: Mbit/s received.
iperf_tcp() {
  rig_exec 2 iperf3 -s -1 -D -B "$2" >/dev/null 2>&1
  sleep 0.3
  rig_exec "$1" timeout $((secs + 10)) iperf3 -c "$2" -t "$secs" -P "${3:-1}" -J 2>/dev/null |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6,1))' 2>/dev/null
}
# iperf_udp FROM_NODE TO_ADDR TOTAL_RATE_MBIT [FLOWS]: Mbit/s received, over FLOWS flows.
iperf_udp() {
  local flows=${4:-1}
  rig_exec 2 iperf3 -s -1 -D -B "$2" >/dev/null 2>&1
  sleep 0.3
  rig_exec "$1" timeout $((secs + 10)) iperf3 -c "$2" -u -b "$(($3 / flows))M" -P "$flows" -l 1300 -t "$secs" -J 2>/dev/null |
    python3 -c 'import json,sys; e=json.load(sys.stdin)["end"]["sum"]; print(round(e["bits_per_second"]*(1-e["lost_percent"]/100)/1e6,1))' 2>/dev/null
}
# ping_rtt FROM TO_ADDR: average RTT in ms over 20 pings.
ping_rtt() {
  rig_exec "$1" ping -q -c 20 -i 0.05 "$2" | awk -F/ '/rtt/ {print $5}'
}
measure() {  # measure LABEL CMD...: median over $runs runs
  local vals=()
  for ((r = 0; r < runs; r++)); do vals+=("$("${@:2}")"); done
  echo "$(median "${vals[@]}")"
}

declare -A result
echo "bench: raw veth" >&2
rig_up 2 3
result[raw_tcp]=$(measure raw iperf_tcp 1 10.201.0.2)
result[raw_rtt]=$(ping_rtt 1 10.201.0.2)

echo "bench: wireguard-go" >&2
if command -v wireguard-go >/dev/null && command -v wg >/dev/null; then
  for n in 1 2; do
    (umask 077 && rig_exec $n wg genkey >"/tmp/wg$n.key")
    rig_exec $n wg pubkey <"/tmp/wg$n.key" >"/tmp/wg$n.pub"
  done
  for n in 1 2; do
    o=$((3 - n))
    rm -f "/var/run/wireguard/wg$n.sock"; rig_exec $n wireguard-go -f "wg$n" >/dev/null 2>&1 &
    for _ in $(seq 50); do rig_exec $n ip link show "wg$n" >/dev/null 2>&1 && break; sleep 0.1; done
    rig_exec $n wg set "wg$n" listen-port 51820 private-key "/tmp/wg$n.key" \
      peer "$(cat /tmp/wg$o.pub)" endpoint "10.201.0.$o:51820" allowed-ips "10.148.0.$o/32"
    rig_exec $n ip addr add "10.148.0.$n/24" dev "wg$n"
    rig_exec $n ip link set "wg$n" mtu 1420 up
  done
  sleep 0.5
  result[wg_tcp]=$(measure wg iperf_tcp 1 10.148.0.2)
  result[wg_rtt]=$(ping_rtt 1 10.148.0.2)
else
  result[wg_tcp]="n/a"
  result[wg_rtt]="n/a"
fi
rig_down

echo "bench: fleetbond, one link" >&2
FLEET_DIR=$(mktemp -d)
one='{"defaultBondingPolicy": "one", "policies": {"one": {"basePolicy": "active-backup", "links": {"eth0": {}}}}}'
fleet_up 2 3 "$one" >/dev/null
result[fb_tcp]=$(measure fb iperf_tcp 1 10.147.0.2)
result[fb_rtt]=$(ping_rtt 1 10.147.0.2)
fleet_down
rig_down

echo "bench: fleetbond, rate-limited links" >&2
# Rates on node 1's egress (the data direction). balance-rr stripes evenly and knows no
# capacities, so it is measured over equal links; balance-aware over unequal ones, with many
# flows (it places flows, and one flow stays on one link).
equal=(150 150 150)
unequal=(200 100 50)
for nlinks in 2 3; do
  sum_eq=0 sum_un=0 links_rr="" links_aware=""
  for ((k = 0; k < nlinks; k++)); do
    sum_eq=$((sum_eq + equal[k]))
    sum_un=$((sum_un + unequal[k]))
    links_rr+="\"eth$k\": {},"
    links_aware+="\"eth$k\": {\"capacity\": ${unequal[k]}},"
  done
  result[sum_eq_$nlinks]=$sum_eq
  result[sum_un_$nlinks]=$sum_un
  rr="{\"defaultBondingPolicy\": \"rr\", \"policies\": {
    \"rr\": {\"basePolicy\": \"balance-rr\", \"links\": {${links_rr%,}}}}}"
  FLEET_DIR=$(mktemp -d)
  fleet_up 2 3 "$rr" >/dev/null
  for ((k = 0; k < nlinks; k++)); do rig_rate 1 "$k" "${equal[k]}mbit"; done
  result[rr_udp_$nlinks]=$(measure rr iperf_udp 1 10.147.0.2 "$((sum_eq * 105 / 100))")
  fleet_down
  rig_down
  aware="{\"defaultBondingPolicy\": \"aware\", \"policies\": {
    \"aware\": {\"basePolicy\": \"balance-aware\", \"links\": {${links_aware%,}}}}}"
  FLEET_DIR=$(mktemp -d)
  fleet_up 2 3 "$aware" >/dev/null
  for ((k = 0; k < nlinks; k++)); do rig_rate 1 "$k" "${unequal[k]}mbit"; done
  sleep 2
  result[aware_tcp_$nlinks]=$(measure aware iperf_tcp 1 10.147.0.2 16)
  result[aware_udp_$nlinks]=$(measure aware iperf_udp 1 10.147.0.2 "$((sum_un * 105 / 100))" 16)
  fleet_down
  rig_down
done

echo "bench: failover blackout" >&2
for policy in active-backup broadcast; do
  for fault in carrier silent; do
    FLEET_DIR=$(mktemp -d)
    s="{\"defaultBondingPolicy\": \"p\", \"policies\": {\"p\": {\"basePolicy\": \"$policy\", \"failoverInterval\": 500}}}"
    fleet_up 2 3 "$s" >/dev/null
    sleep 2
    out=$(mktemp)
    rig_exec 2 python3 "$stream" recv 10.147.0.2 7000 8 "$out" &
    rp=$!
    sleep 0.5
    rig_exec 1 python3 "$stream" send 10.147.0.2 7000 6 1000 &
    sp=$!
    sleep 2
    # The active link: the one that carried the most so far.
    active=0 best=0
    for k in 0 1 2; do b=$(fleet_tx_bytes 1 $k); ((b > best)) && { best=$b; active=$k; }; done
    if [[ $fault == carrier ]]; then rig_link_down 1 $active; else rig_blackhole 1 $active; fi
    wait $sp
    wait $rp
    result[fo_${policy}_${fault}]=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%s ms gap, %d lost of %d" % (d["max_gap_ms"], d["lost"], d["max_seq"] + 1))' "$out")
    fleet_down
    rig_down
  done
done

ratio() { python3 -c 'import sys; a,b=sys.argv[1],sys.argv[2]; print("n/a" if "n/a" in (a,b) else f"{float(a)/float(b):.2f}")' "$1" "$2"; }
cat <<MD
| measurement | result | ratio |
| --- | --- | --- |
| TCP, raw veth (ceiling) | ${result[raw_tcp]} Mbit/s | 1.00 |
| TCP, wireguard-go, MTU 1420 | ${result[wg_tcp]} Mbit/s | $(ratio "${result[wg_tcp]}" "${result[raw_tcp]}") of raw |
| TCP, fleetbond, one link | ${result[fb_tcp]} Mbit/s | $(ratio "${result[fb_tcp]}" "${result[raw_tcp]}") of raw, $(ratio "${result[fb_tcp]}" "${result[wg_tcp]}") × wireguard-go |
| ping RTT raw / wireguard-go / fleetbond | ${result[raw_rtt]} / ${result[wg_rtt]} / ${result[fb_rtt]} ms | |
| UDP, balance-rr, 2 × 150 Mbit/s links | ${result[rr_udp_2]} Mbit/s | $(ratio "${result[rr_udp_2]}" "${result[sum_eq_2]}") of the sum |
| UDP, balance-rr, 3 × 150 Mbit/s links | ${result[rr_udp_3]} Mbit/s | $(ratio "${result[rr_udp_3]}" "${result[sum_eq_3]}") of the sum |
| UDP ×16 flows, balance-aware (capacities = rates), 200+100 Mbit/s | ${result[aware_udp_2]} Mbit/s | $(ratio "${result[aware_udp_2]}" "${result[sum_un_2]}") of the sum |
| UDP ×16 flows, balance-aware, 200+100+50 Mbit/s | ${result[aware_udp_3]} Mbit/s | $(ratio "${result[aware_udp_3]}" "${result[sum_un_3]}") of the sum |
| TCP ×16 flows, balance-aware, 200+100 Mbit/s | ${result[aware_tcp_2]} Mbit/s | $(ratio "${result[aware_tcp_2]}" "${result[sum_un_2]}") of the sum |
| TCP ×16 flows, balance-aware, 200+100+50 Mbit/s | ${result[aware_tcp_3]} Mbit/s | $(ratio "${result[aware_tcp_3]}" "${result[sum_un_3]}") of the sum |
| failover, active-backup, carrier lost (1 pkt/ms) | ${result[fo_active-backup_carrier]} | |
| failover, active-backup, silent death, failoverInterval 500 | ${result[fo_active-backup_silent]} | |
| failover, broadcast, carrier lost | ${result[fo_broadcast_carrier]} | |
| failover, broadcast, silent death | ${result[fo_broadcast_silent]} | |
MD
