#!/usr/bin/env bash
# A link dies mid-transfer between two fleetbond-node daemons (three links: IPv4, IPv4, IPv6), and
# comes back. Traffic: sequence-numbered UDP streams across the overlay (lib/traffic.py), 200
# packets/s per stream (a gap is measured to 5 ms), kernel tx counters per link on node 1.
#
#   node_failover_test.sh [BIN_DIR]
#
# 1. active-backup, failoverInterval 500: the active link (the one whose tx counter moves) loses
#    carrier on node 1, later (restored, then the new active one) dies silently (nft blackhole).
#    Both directions keep flowing: largest gap between two arrivals < 500 + 300 ms (the margin
#    covers the monitor tick, scheduling on 2 loaded cores and ASan), >= 85 % of packets arrive.
#    Carrier loss: the gap is < 250 ms each way, half the failoverInterval, so the move came from
#    the rtnetlink event and not from probe silence (on a veth pair both ends lose carrier; on a
#    switch only the end whose cable is pulled does, and the far end needs failoverInterval).
# 2. active-backup with eth0 primary, linkSelectMethod always, upDelay 1500: eth0 carries the
#    stream; set down, the stream moves to another link; set up again, eth0 carries < 20 % during
#    the first second (upDelay not yet over) and > 80 % from upDelay + 1 s on.
# 3. broadcast: node 1's eth0 loses carrier, then eth1 is blackholed, while two streams (1->2,
#    2->1) run: every sequence number of both streams arrives.
# 4. balance-xor and balance-aware: 9 UDP flows (distinct ports); the link carrying the most is
#    set down. The surviving links keep every flow they had (each link's share of the data sent,
#    net of its idle probe traffic, drops by less than half a flow's), every flow keeps arriving
#    (largest gap < 1.5 s, >= 85 %: the dead link's flows moved). The link comes back and 12 new
#    flows use it.
#    Before the failure the 9 flows must cover all three links (equal links, no hints).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/rig.sh"
source "$here/lib/fleet.sh"
source "$here/lib/node_test.sh"
node_test_init "$@"

RATE=200
node_test_up 2 3 '{"defaultBondingPolicy": "active-backup"}' || { echo "fleet did not come up"; fail=1; node_test_summary; exit 1; }

# stream_start NAME FROM TO PORTS SECONDS [SPORT_BASE]: receiver on TO, sender on FROM, background.
stream_start() {
  local name=$1 from=$2 to=$3 ports=$4 secs=$5 sport=${6:-0}
  rm -f "$WORK/$name.ready"
  traffic "$to" recv --bind "$(fleet_overlay "$to")" --ports "$ports" --seconds "$((secs + 4))" \
    --idle 3 --ready "$WORK/$name.ready" >"$WORK/$name.recv" &
  echo $! >"$WORK/$name.recvpid"
  for _ in $(seq 50); do [[ -f "$WORK/$name.ready" ]] && break; sleep 0.1; done
  traffic "$from" send --to "$(fleet_overlay "$to")" --ports "$ports" --rate "$RATE" \
    --seconds "$secs" --sport-base "$sport" >"$WORK/$name.send" &
  echo $! >"$WORK/$name.sendpid"
}
stream_wait() {
  wait "$(cat "$WORK/$1.sendpid")" 2>/dev/null
  wait "$(cat "$WORK/$1.recvpid")" 2>/dev/null
}
# stream_expect NAME PORT LABEL MAX_GAP_MS MIN_FRACTION
stream_expect() {
  local name=$1 port=$2 label=$3 gap=$4 frac=$5
  local sent rec g
  sent=$(json "$WORK/$name.send" "['sent']['$port']")
  rec=$(json "$WORK/$name.recv" "['$port']['received']")
  g=$(json "$WORK/$name.recv" "['$port']['max_gap_ms']")
  expect "$label: stream continues" "'$rec' != 'None' and int('$rec') >= $frac * int('$sent')" "$rec/$sent arrived"
  expect "$label: largest gap < $gap ms" "'$g' != 'None' and float('$g') < $gap" "gap ${g} ms"
}

# --- 1. active-backup failover, carrier loss then silent death
AB='{"defaultBondingPolicy": "ab500", "policies": {"ab500": {"basePolicy": "active-backup", "failoverInterval": 500}}}'
restart_all "$AB"
expect "active-backup: overlay up" "$?==0"
for fault in carrier blackhole; do
  stream_start "ab-$fault-12" 1 2 5001 7
  traffic 2 send --to "$(fleet_overlay 1)" --ports 5002 --rate $RATE --seconds 7 >"$WORK/ab-$fault-21.send" &
  p21=$!
  traffic 1 recv --bind "$(fleet_overlay 1)" --ports 5002 --seconds 11 --idle 3 >"$WORK/ab-$fault-21.recv" &
  r21=$!
  sleep 1
  before=$(tx_window 1 1)
  active=$(argmax $before)
  if [[ $fault == carrier ]]; then rig_link_down 1 "$active"; else rig_blackhole 1 "$active"; fi
  sleep 1.5
  after=$(tx_window 1 2)
  wait $p21 2>/dev/null
  stream_wait "ab-$fault-12"
  wait $r21 2>/dev/null
  stream_expect "ab-$fault-12" 5001 "active-backup $fault on eth$active, 1->2" 800 0.85
  stream_expect "ab-$fault-21" 5002 "active-backup $fault on eth$active, 2->1" 800 0.85
  if [[ $fault == carrier ]]; then
    for dir in "12 5001 1->2" "21 5002 2->1"; do
      set -- $dir
      g=$(json "$WORK/ab-carrier-$1.recv" "['$2']['max_gap_ms']")
      expect "active-backup carrier $3: moved on the carrier event (gap < 250 ms)" \
        "'$g' != 'None' and float('$g') < 250" "gap $g ms"
    done
  fi
  newa=$(argmax $after)
  expect "active-backup $fault: another link carries the stream" \
    "$newa != $active and [$(echo $after | tr ' ' ,)][$newa] >= 0.8*2*$RATE" "tx packets before [$before] after [$after]"
  rig_link_up 1 "$active"
  rig_unblackhole 1 "$active"
  sleep 1
done

# --- 2. primary returns after upDelay (linkSelectMethod always)
restart_all '{"defaultBondingPolicy": "ab-primary", "policies": {"ab-primary": {"basePolicy": "active-backup",
  "failoverInterval": 500, "upDelay": 1500, "linkSelectMethod": "always",
  "links": {"eth0": {"mode": "primary"}, "eth1": {"mode": "spare"}, "eth2": {"mode": "spare"}}}}}'
expect "primary: overlay up" "$?==0"
stream_start primary 1 2 5003 10
sleep 1
w1=($(tx_window 1 1))
rig_link_down 1 0
sleep 0.5
w2=($(tx_window 1 1))
rig_link_up 1 0
sleep 0.2
w3=($(tx_window 1 0.8))
sleep 1.5
w4=($(tx_window 1 1))
stream_wait primary
expect "primary eth0 carries the stream" "${w1[0]} >= 0.8*$RATE" "eth0 ${w1[0]} of ~$RATE packets/s"
expect "primary down: the stream moved off eth0" "${w2[0]} == 0 and ${w2[1]} + ${w2[2]} >= 0.8*$RATE" "tx [${w2[*]}]"
expect "primary back: not used before upDelay" "${w3[0]} < 0.2*0.8*$RATE" "eth0 ${w3[0]} in 0.2-1.0 s after up"
expect "primary back: used again after upDelay" "${w4[0]} >= 0.8*$RATE" "eth0 ${w4[0]} in 2.5-3.5 s after up, tx [${w4[*]}]"
stream_expect primary 5003 "primary down and back" 800 0.85

# --- 3. broadcast loses nothing
restart_all '{"defaultBondingPolicy": "bc500", "policies": {"bc500": {"basePolicy": "broadcast", "failoverInterval": 500}}}'
expect "broadcast: overlay up" "$?==0"
stream_start bc12 1 2 5004 6
stream_start bc21 2 1 5005 6
sleep 2
rig_link_down 1 0
sleep 2
rig_blackhole 1 1
stream_wait bc12
stream_wait bc21
for dir in "bc12 5004 1->2" "bc21 5005 2->1"; do
  set -- $dir
  sent=$(json "$WORK/$1.send" "['sent']['$2']")
  rec=$(json "$WORK/$1.recv" "['$2']['received']")
  dup=$(json "$WORK/$1.recv" "['$2']['duplicates']")
  expect "broadcast $3: no packet lost (eth0 down, then eth1 blackholed)" "'$rec' != 'None' and int('$rec') == int('$sent')" "$rec/$sent arrived, $dup duplicates reached the application"
  expect "broadcast $3: no duplicate reaches the application" "'$dup' == '0'" ""
done
rig_link_up 1 0
rig_unblackhole 1 1

# --- 4. balance-xor / balance-aware move only the dead link's flows
PORTS=$(seq -s, 5101 5109)
NEWPORTS=$(seq -s, 5201 5212)
for policy in balance-xor balance-aware; do
  restart_all "{\"defaultBondingPolicy\": \"p500\", \"policies\": {\"p500\": {\"basePolicy\": \"$policy\", \"failoverInterval\": 500}}}"
  expect "$policy: overlay up" "$?==0"
  base=$(tx_window 1 2)
  RATE=100 stream_start "$policy" 1 2 "$PORTS" 9 41000
  sleep 1.5
  t1=$(tx_window 1 2)
  s1=($(shares "$base" "$t1"))
  dead=$(argmax "${s1[@]}")
  # Equal links, no capacity hints: the 9 flows land on every link (the hash is deterministic,
  # so this is not luck: it holds for these ports under a correct placement).
  expect "$policy: 9 flows spread over the 3 equal links" \
    "min([${s1[0]},${s1[1]},${s1[2]}]) >= 0.5/9" "data shares [${s1[*]}] (1/9 per flow); tx per 2 s [$t1], idle [$base]"
  rig_link_down 1 "$dead"
  sleep 1
  t2=$(tx_window 1 2)
  s2=($(shares "$base" "$t2"))
  stream_wait "$policy"
  kept=1
  for k in 0 1 2; do
    [[ $k -eq $dead ]] && continue
    # A flow that moved away would take 1/9 of the data with it; senders starved unevenly on a
    # loaded machine move a share by up to about half a flow (CI saw 0.058), so allow 0.75 of one.
    python3 -c "import sys; sys.exit(0 if ${s2[k]} >= ${s1[k]} - 0.75/9 else 1)" || kept=0
  done
  expect "$policy: surviving links keep their flows (eth$dead down)" "$kept == 1" "data shares before [${s1[*]}] after [${s2[*]}]"
  worst=$(python3 -c "
import json; d=json.load(open('$WORK/$policy.recv')); s=json.load(open('$WORK/$policy.send'))['sent']
print(max(v['max_gap_ms'] for v in d.values()), min(d[p]['received']/max(1,s[p]) for p in s))" 2>/dev/null)
  set -- $worst
  expect "$policy: every flow keeps arriving (the dead link's flows moved)" "'${1:-}' != '' and float('$1') < 1500 and float('$2') >= 0.85" "largest gap ${1:-?} ms, worst flow ${2:-?} arrived"
  rig_link_up 1 "$dead"
  sleep 1.5
  RATE=100 stream_start "$policy-new" 1 2 "$NEWPORTS" 3 42000
  sleep 1
  t3=$(tx_window 1 1.5)
  s3=($(shares "$(python3 -c "print(' '.join(str(int(x)*0.75) for x in '$base'.split()))")" "$t3"))
  stream_wait "$policy-new"
  expect "$policy: eth$dead is back and carries new flows" "${s3[$dead]} >= 0.5/12" "data shares of 12 new flows [${s3[*]}], tx per 1.5 s [$t3]"
done

for n in 1 2; do
  expect "node $n still running" "$(node_alive $n && echo 1 || echo 0) == 1"
  fleet_stop_node $n
  expect "node $n log clean (no sanitizer report or crash)" "$(log_clean $n && echo 1 || echo 0) == 1"
done
node_test_summary
