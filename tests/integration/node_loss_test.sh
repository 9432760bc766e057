#!/usr/bin/env bash
# Random loss (nftables numgen) on links between two fleetbond-node daemons: the nodes report it,
# and balance-aware with a plr_max moves flows off the lossy link.
#
#   node_loss_test.sh [BIN_DIR]
#
# How long, and why: the engine's loss ratio is lost probes / decided probes over the last 128
# probes of a path (PathMonitor window), probes every failoverInterval / 4. One report at 10 %
# loss therefore has a binomial standard deviation of sqrt(0.1 * 0.9 / 128) = 2.65 points: a
# single report cannot honestly be held to +-2 points, whatever the test's length (measured here:
# reports at 10 % spread with a standard deviation of about 4 points, 5/128 to 21/128). The test
# holds the mean of 24 independent windows (6 runs x 2 lossy links x 2 nodes, 3072 probes, sigma
# under 0.8 point even at the measured spread) to +-2 points, and each report only to +-12 points
# (3 sigma of the measured spread). failoverInterval 300
# (probe every 75 ms, 128 probes in 9.6 s); each run waits 14 s so that the window holds only
# probes sent after both nodes were up (probes sent before the peer ran count as lost).
#
# 1. 10 % drop on node 1's egress on eth0 and eth1, none on eth2: lossRatio of eth0/eth1 from
#    state.json (both nodes: node 1's probes are dropped, node 2's replies from node 1 are), mean
#    within 0.10 +- 0.02, each within +-0.12; eth2's mean below 0.02.
# 2. balance-aware, plr_max 0.05, 9 UDP flows: eth0 carries flows; 20 % drop on node 1's eth0;
#    once eth0's target allocation is 0 (polled, at most 10 s), eth0's share of the data sent (net of its idle probe traffic) is below half a
#    flow's, and every flow still arrives (>= 85 % of its packets).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/rig.sh"
source "$here/lib/fleet.sh"
source "$here/lib/node_test.sh"
node_test_init "$@"

SETTLE=13
LOSSY='{"defaultBondingPolicy": "ab300", "policies": {"ab300": {"basePolicy": "balance-xor", "failoverInterval": 300}}}'
node_test_up 2 3 "$LOSSY" || { echo "fleet did not come up"; fail=1; node_test_summary; exit 1; }
rig_drop 1 0 10
rig_drop 1 1 10

# stop_both: SIGTERM to both nodes at once, so neither sees its peer vanish before it stops.
stop_both() {
  local pids=() n pid
  for n in 1 2; do
    pid=$(cat "$(fleet_home $n)/pid" 2>/dev/null) && pids+=("$pid") && kill -TERM "$pid"
  done
  for _ in $(seq 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for n in 1 2; do rm -f "$(fleet_home $n)/pid"; done
}

: >"$WORK/loss"
for run in 1 2 3 4 5 6; do
  [[ $run -gt 1 ]] && { restart_all "$LOSSY" || echo "run $run: overlay not up"; }
  sleep "$SETTLE"
  stop_both
  for n in 1 2; do
    python3 -c "
import json
for b in json.load(open('$(fleet_home $n)/state.json'))['bonds']:
    for p in b['paths']: print(p['link'], p['lossRatio'])" >>"$WORK/loss" 2>/dev/null
  done
done
summary=$(python3 -c "
import collections
v = collections.defaultdict(list)
for line in open('$WORK/loss'):
    k, x = line.split(); v[k].append(float(x))
lossy = v['eth0'] + v['eth1']
print(len(lossy), round(sum(lossy)/max(1,len(lossy)),4), round(min(lossy or [0]),4), round(max(lossy or [0]),4),
      len(v['eth2']), round(sum(v['eth2'])/max(1,len(v['eth2'])),4))")
read -r nl mean lo hi nc cmean <<<"$summary"
echo "info lossRatio reports, eth0+eth1: $(grep -E '^eth[01]' "$WORK/loss" | awk '{printf "%s ", $2}')"
expect "24 loss reports for the lossy links" "$nl == 24" "$nl"
expect "lossy links: mean lossRatio within 0.10 +- 0.02" "abs($mean - 0.10) <= 0.02" "mean $mean"
expect "lossy links: every report within 0.10 +- 0.12" "$lo >= 0 and $hi <= 0.22" "min $lo max $hi"
expect "clean link eth2: mean lossRatio < 0.02" "$nc == 12 and $cmean < 0.02" "$nc reports, mean $cmean"
rig_undrop 1 0
rig_undrop 1 1

# --- 2. balance-aware moves flows off a link that breaks plr_max
restart_all '{"defaultBondingPolicy": "aware-plr", "policies": {"aware-plr": {"basePolicy": "balance-aware",
  "failoverInterval": 300, "linkQuality": {"plr_max": 0.05}}}}'
expect "balance-aware plr_max: overlay up" "$?==0"
sleep "$SETTLE"
PORTS=$(seq -s, 5101 5109)
base=$(tx_window 1 2)
traffic 2 recv --bind "$(fleet_overlay 2)" --ports "$PORTS" --seconds 23 --idle 3 >"$WORK/aware.recv" &
recv=$!
sleep 0.5
traffic 1 send --to "$(fleet_overlay 2)" --ports "$PORTS" --rate 100 --seconds 18 --sport-base 41000 >"$WORK/aware.send" &
send=$!
sleep 1.5
w1=$(tx_window 1 2)
s1=($(shares "$base" "$w1"))
rig_drop 1 0 20
# Wait (bounded) for the engine to see eth0 break plr_max: its target allocation drops to 0. Then
# measure, so that the check is about where flows go, not how fast the 128-probe window fills.
peer2=$(fleet_id 2)
moved_after=none
for i in $(seq 40); do
  target=$(rig_exec 1 "$FLEET_BIN/fleetbond-cli" -j bond "$peer2" show 2>/dev/null |
    python3 -c "import json,sys; print([p['targetAllocation'] for p in json.load(sys.stdin)['paths'] if p['interface']=='eth0'][0])" 2>/dev/null)
  if [[ -n "$target" ]] && python3 -c "import sys; sys.exit(0 if float('$target') == 0 else 1)"; then
    moved_after=$(python3 -c "print(round($i * 0.25, 2))")
    break
  fi
  sleep 0.25
done
expect "balance-aware: eth0 breaks plr_max within 10 s of 20 % loss" "'$moved_after' != 'none'" "after ${moved_after} s"
sleep 0.5
w2=$(tx_window 1 2)
s2=($(shares "$base" "$w2"))
wait $send 2>/dev/null
wait $recv 2>/dev/null
expect "balance-aware: eth0 carries flows before the loss" "${s1[0]} >= 0.5/9" "data shares [${s1[*]}] (1/9 per flow); tx per 2 s [$w1], idle [$base]"
expect "balance-aware: flows moved off eth0 (20 % loss > plr_max 5 %)" "${s2[0]} < 0.5/9" "data shares [${s2[*]}]; tx per 2 s [$w2]"
worst=$(python3 -c "
import json; d=json.load(open('$WORK/aware.recv')); s=json.load(open('$WORK/aware.send'))['sent']
print(min(d[p]['received']/max(1,s[p]) for p in s))" 2>/dev/null)
expect "balance-aware: every flow keeps arriving" "'$worst' != '' and float('$worst') >= 0.85" "worst flow: ${worst:-?} of its packets arrived"
rig_undrop 1 0

for n in 1 2; do
  expect "node $n still running" "$(node_alive $n && echo 1 || echo 0) == 1"
  fleet_stop_node $n
  expect "node $n log clean (no sanitizer report or crash)" "$(log_clean $n && echo 1 || echo 0) == 1"
done
node_test_summary
