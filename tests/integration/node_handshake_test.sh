#!/usr/bin/env bash
# The data plane's forward-secret key handshake between two fleetbond-node daemons
# (docs/wire-format.md, "The handshake and forward secrecy"), with rekeys forced every 3 s through
# the testing knob FLEETBOND_TESTING_REKEY_SECONDS.
#
#   node_handshake_test.sh [BIN_DIR]
#
# 1. After start both logs report session keys with a non-zero epoch, and a data datagram captured
#    on the wire (AF_PACKET, as node 2 received it) carries a non-zero epoch byte.
# 2. Pings across the overlay for 15 s (about five rekeys): >= 95 % answered; node 2's
#    fleetbond_dataplane_handshakes_total shows the rekeys (completed and rekeyed grow by >= 3)
#    and no expired session; a datagram captured afterwards carries another epoch.
# 3. Node 1 restarts (its keys are gone): node 2 answers its new handshake, the overlay is back
#    within 5 s.
# 4. Logs clean (no sanitizer report, no crash).
# 5. (run before 4) node 2 is given a local.conf without node 1 through `fleetbond-cli settings
#    apply`: node 1 is cut off at once (no ping answered, its datagrams counted as unknown_peer);
#    given back, it handshakes again within 5 s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/rig.sh"
source "$here/lib/fleet.sh"
source "$here/lib/node_test.sh"
node_test_init "$@"

export FLEETBOND_TESTING_REKEY_SECONDS=3
S='{"defaultBondingPolicy": "ab500", "policies": {"ab500": {"basePolicy": "active-backup", "failoverInterval": 500}}}'
node_test_up 2 2 "$S" || { echo "fleet did not come up"; fail=1; node_test_summary; exit 1; }

# Node 2 again, with its metrics endpoint.
fleet_stop_node 2
ip netns exec "$(rig_ns 2)" "$FLEET_BIN/fleetbond-node" --home "$(fleet_home 2)" \
  --metrics-listen 127.0.0.1:9812 >>"$(fleet_log 2)" 2>&1 &
echo $! >"$(fleet_home 2)/pid"
fleet_wait_overlay 1 2 20
expect "node 2 back with its metrics endpoint" "$?==0"

handshakes() {  # "event=n ..." of node 2's fleetbond_dataplane_handshakes_total
  rig_exec 2 curl -s --max-time 5 http://127.0.0.1:9812/metrics | python3 -c '
import re, sys
d = {}
for line in sys.stdin:
    m = re.match(r"fleetbond_dataplane_handshakes_total\{.*event=\"([a-z]+)\".*\} ([0-9.e+]+)", line)
    if m: d[m.group(1)] = int(float(m.group(2)))
print(" ".join(f"{k}={v}" for k, v in sorted(d.items())))'
}
field() { python3 -c "import sys; d=dict(kv.split('=') for kv in sys.argv[1].split()); print(d.get(sys.argv[2], -1))" "$1" "$2"; }

# --- 1. non-zero epoch after start
for n in 1 2; do
  epoch=$(grep -o "session keys established (epoch [0-9]*)" "$(fleet_log $n)" | tail -1 | grep -o "[0-9]*)" | tr -d ')')
  expect "node $n reports session keys with a non-zero epoch" "'${epoch:-0}' != '0'" "epoch ${epoch:-none}"
done
capture_epoch() {  # the epoch byte of a data datagram node 2 receives
  rm -f "$WORK/cap.ready" "$WORK/captured.hex"
  traffic 2 capture --ifname any --port 9800 --seconds 6 --out "$WORK/captured.hex" --ready "$WORK/cap.ready" >/dev/null &
  local cap=$!
  for _ in $(seq 50); do [[ -f "$WORK/cap.ready" ]] && break; sleep 0.1; done
  rig_exec 1 ping -c 5 -i 0.2 "$(fleet_overlay 2)" >/dev/null 2>&1
  wait $cap
  [[ -s "$WORK/captured.hex" ]] && python3 -c "print(int(open('$WORK/captured.hex').read()[6:8], 16))" || echo none
}
first=$(capture_epoch)
expect "a data datagram on the wire carries a non-zero epoch" "'$first' not in ('none', '0')" "epoch $first"

# --- 2. traffic across forced rekeys
h0=$(handshakes)
rig_exec 1 ping -c 150 -i 0.1 -W 1 "$(fleet_overlay 2)" >"$WORK/ping-rekey" 2>&1
h1=$(handshakes)
replies=$(grep -c "bytes from" "$WORK/ping-rekey")
expect "pings across rekeys answered" "$replies >= 143" "$replies/150"
echo "     node 2 handshakes before: $h0; after 15 s: $h1"
expect "node 2 completed handshakes while pinging (rekeys every 3 s)" \
  "$(field "$h1" completed) - $(field "$h0" completed) >= 3" "$h0 -> $h1"
expect "node 2 counted them as rekeys" "$(field "$h1" rekeyed) - $(field "$h0" rekeyed) >= 3"
expect "no session expired" "$(field "$h1" expired) == 0"
second=$(capture_epoch)
expect "the epoch on the wire changed" "'$second' not in ('none', '0', '$first')" "epoch $first, then $second"

# --- 3. a restarted node handshakes again
fleet_stop_node 1
fleet_start_node 1
start=$SECONDS
fleet_wait_overlay 1 2 20
expect "node 1 restarted reaches node 2 again within 5 s" "$?==0 and $((SECONDS - start)) <= 5" "$((SECONDS - start)) s"

# --- 5. a peer left out of local.conf is cut off at once by `settings apply`, and comes back
cli=$FLEET_BIN/fleetbond-cli
unknown_peer() {  # node 2's drops of datagrams from peers it does not know
  rig_exec 2 curl -s --max-time 5 http://127.0.0.1:9812/metrics |
    sed -n 's/^fleetbond_dataplane_drops_total{.*reason="unknown_peer".*} \([0-9.e+]*\)$/\1/p' |
    python3 -c 'import sys; print(sum(int(float(l)) for l in sys.stdin if l.strip()))'
}
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["peers"] = {}; json.dump(c, open(sys.argv[2], "w"))' \
  "$(fleet_home 2)/local.conf" "$WORK/alone.conf"
u0=$(unknown_peer)
rig_exec 2 "$cli" settings apply "$WORK/alone.conf" >"$WORK/apply-alone" 2>&1
expect "node 2 takes a local.conf without node 1 live" "$?==0" "$(tail -1 "$WORK/apply-alone")"
listed=$(rig_exec 2 "$cli" -j peers | python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("peers", [])))')
expect "node 2 lists no peer any more" "'$listed' == '0'"
answered=$(rig_exec 1 ping -c 10 -i 0.2 -W 1 "$(fleet_overlay 2)" 2>&1 | grep -c "bytes from")
expect "node 1 is cut off at once: no ping answered" "$answered == 0" "$answered/10"
u1=$(unknown_peer)
expect "node 2 counts node 1's datagrams as unknown_peer" "$u1 - $u0 >= 3" "$u0 -> $u1"
rig_exec 2 "$cli" settings apply "$(fleet_home 2)/local.conf" >"$WORK/apply-back" 2>&1
expect "node 2 takes node 1 back live" "$?==0" "$(tail -1 "$WORK/apply-back")"
start=$SECONDS
fleet_wait_overlay 1 2 20
expect "node 1 reaches node 2 again within 5 s" "$?==0 and $((SECONDS - start)) <= 5" "$((SECONDS - start)) s"

# --- 4. clean
for n in 1 2; do
  expect "node $n still running" "$(node_alive $n && echo 1 || echo 0) == 1"
  fleet_stop_node $n
  expect "node $n log clean after stop" "$(log_clean $n && echo 1 || echo 0) == 1"
done
node_test_summary
