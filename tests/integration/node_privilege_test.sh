#!/usr/bin/env bash
# fleetbond-node with least privilege (issue 9): after set-up it holds CAP_NET_ADMIN and nothing
# else, and with --user it runs as that user.
#
#   node_privilege_test.sh [BIN_DIR]
#
# Two nodes, three links (eth3 comes later). Node 1 runs with --user (a user this test creates
# and removes) and its API on a unix socket in its home; node 2 runs as root without --user.
# 1. /proc/PID/status of every thread of both daemons: CapEff = CapPrm = CapBnd = cap_net_admin
#    only, CapInh = CapAmb = 0, NoNewPrivs 1; node 1's uid and gid are the user's, node 2's 0.
# 2. Files: identity.secret 0600 and node 1's home the user's; the API socket 0600 and the user's;
#    the API answers root, and refuses another unprivileged user (nobody).
# 3. Traffic crosses the overlay (ping and iperf3 TCP); then a link that appears while they run
#    (eth3) gets its sockets (SO_BINDTODEVICE with only CAP_NET_ADMIN), and with eth0..eth2
#    blackholed the overlay still works over it.
# 4. --user with a home the user cannot write is refused at start, saying what to do.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/rig.sh"
source "$here/lib/fleet.sh"
source "$here/lib/node_test.sh"
node_test_init "$@"
command -v useradd >/dev/null && command -v setpriv >/dev/null || { echo "skipped: no useradd/setpriv"; exit 77; }
cli=$FLEET_BIN/fleetbond-cli
user=fbnode$$
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
  { echo "FAIL useradd"; exit 1; }
uid=$(id -u "$user")
gid=$(id -g "$user")
privilege_exit() { node_test_exit; userdel "$user" 2>/dev/null; }
trap privilege_exit EXIT

S='{"defaultBondingPolicy": "ab", "policies": {"ab": {"basePolicy": "active-backup", "failoverInterval": 500}}}'
export FLEET_ENDPOINT_LINKS=4  # eth3 comes later (part 3)
node_test_up 2 3 "$S" || { echo "fleet did not come up"; fail=1; node_test_summary; exit 1; }
trap privilege_exit EXIT  # node_test_up installed its own
# Node 1 again, as the user, with its API on a unix socket in its home.
home1=$(fleet_home 1)
sock=$home1/api.sock
fleet_stop_node 1
chmod 755 "$WORK" "$FLEET_DIR"
chown -R "$user:" "$home1"
echo "=== start --user $(date +%T.%N)" >>"$(fleet_log 1)"
ip netns exec "$(rig_ns 1)" "$FLEET_BIN/fleetbond-node" --home "$home1" --user "$user" \
  --api "unix:$sock" >>"$(fleet_log 1)" 2>&1 &
echo $! >"$home1/pid"
fleet_wait_overlay 1 2 20
expect "node 1 (--user $user) reaches node 2" "$?==0"

# --- 1. capabilities and uid of every thread
NET_ADMIN=0000000000001000
for n in 1 2; do
  pid=$(cat "$(fleet_home "$n")/pid")
  want_uid=0
  [[ $n -eq 1 ]] && want_uid=$uid
  python3 - "$pid" "$NET_ADMIN" "$want_uid" "$([[ $n -eq 1 ]] && echo "$gid" || echo 0)" >"$WORK/caps$n" <<'PY'
import os, sys
pid, want, uid, gid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
bad = []
tasks = os.listdir(f"/proc/{pid}/task")
for t in tasks:
    st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/task/{t}/status") if ":" in l)
    st = {k: v.strip() for k, v in st.items()}
    for key, val in (("CapEff", want), ("CapPrm", want), ("CapBnd", want), ("CapInh", "0" * 16),
                     ("CapAmb", "0" * 16), ("NoNewPrivs", "1")):
        if st.get(key) != val:
            bad.append(f"thread {t} {key} {st.get(key)}")
    if st["Uid"].split() != [uid] * 4 or st["Gid"].split() != [gid] * 4:
        bad.append(f"thread {t} Uid {st['Uid']} Gid {st['Gid']}")
main = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
print(f"{len(tasks)} threads; CapEff {main['CapEff'].strip()} CapPrm {main['CapPrm'].strip()} "
      f"CapBnd {main['CapBnd'].strip()} Uid {main['Uid'].split()[0]}" + ("; " + "; ".join(bad[:4]) if bad else ""))
sys.exit(1 if bad else 0)
PY
  rc=$?
  who="as root"
  [[ $n -eq 1 ]] && who="--user $user (uid $uid)"
  expect "node $n ($who): only cap_net_admin, in every thread, and the expected uid" "$rc == 0" "$(cat "$WORK/caps$n")"
done
expect "node 1 logs what it kept" "$(grep -c "running with capabilities cap_net_admin, uid $uid" "$(fleet_log 1)") >= 1"

# --- 2. files
mode() { stat -c '%a %U' "$1" 2>/dev/null || echo missing; }
m=$(mode "$home1/identity.secret")
expect "node 1's identity.secret is 0600 and $user's" "'$m' == '600 $user'" "$m"
m=$(mode "$(fleet_home 2)/identity.secret")
expect "node 2's identity.secret is 0600" "'$m'.startswith('600 ')" "$m"
m=$(mode "$sock")
expect "the API socket is 0600 and $user's" "'$m' == '600 $user'" "$m"
rig_exec 1 timeout 10 "$cli" --api "unix:$sock" bond list >"$WORK/api-root" 2>&1
expect "root uses the API socket" "$?==0" "$(head -c 200 "$WORK/api-root")"
rig_exec 1 timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups "$cli" --api "unix:$sock" bond list >"$WORK/api-nobody" 2>&1
rc=$?
expect "another user cannot use the API socket" "$rc != 0" "exit $rc: $(head -c 160 "$WORK/api-nobody")"

# --- 3. traffic, and a link that appears at runtime
iperf 1 2 "$WORK/tcp.json" -t 3
traffic 1 iperf "$WORK/tcp.json" >"$WORK/tcp"
bps=$(json "$WORK/tcp" '["bps"]')
expect "iperf3 TCP node 1 -> 2 across the overlay" "'$bps' != 'None' and float('$bps') > 1e6" \
  "$(python3 -c "print(round(float('$bps')/1e6,1))" 2>/dev/null) Mbit/s"
rig_add_link 3
sleep 2
expect "node 1 (unprivileged user) opened a socket on the new eth3" "$(grep -c 'link eth3 10.201.3.1/9800 open' "$(fleet_log 1)") >= 1"
expect "node 2 opened a socket on the new eth3" "$(grep -c 'link eth3 10.201.3.2/9800 open' "$(fleet_log 2)") >= 1"
for k in 0 1 2; do rig_blackhole 1 $k; done
sleep 1.5
a=$(fleet_tx_packets 1 3)
rig_exec 1 ping -c 30 -i 0.1 -W 1 "$(fleet_overlay 2)" >"$WORK/ping-eth3" 2>&1
b=$(fleet_tx_packets 1 3)
replies=$(grep -c "bytes from" "$WORK/ping-eth3")
expect "only eth3 left: pings still cross" "$replies >= 24" "$replies/30"
expect "eth3 carries them (node 1's tx counter)" "$((b - a)) >= 24" "$((b - a)) packets"
for k in 0 1 2; do rig_unblackhole 1 $k; done

for n in 1 2; do
  expect "node $n still running" "$(node_alive $n && echo 1 || echo 0) == 1"
  fleet_stop_node $n
  expect "node $n log clean after stop" "$(log_clean $n && echo 1 || echo 0) == 1"
done
m=$(mode "$home1/state.json")
expect "node 1 wrote state.json at stop as $user" "'$m'.endswith(' $user')" "$m"

# --- 4. a home the user cannot write
chown -R root: "$home1"
chmod 755 "$home1"
rig_exec 1 timeout 20 "$FLEET_BIN/fleetbond-node" --home "$home1" --user "$user" --api "" >"$WORK/nohome" 2>&1
rc=$?
expect "--user with a home the user cannot write: refused" "$rc != 0 and 'chown -R $user' in open('$WORK/nohome').read()" \
  "exit $rc: $(grep -m1 'cannot write' "$WORK/nohome")"
rig_exec 1 timeout 20 "$FLEET_BIN/fleetbond-node" --home "$home1" --user nosuchuser$$ --api "" >"$WORK/nouser" 2>&1
rc=$?
expect "--user with an unknown user: refused" "$rc != 0 and 'no user' in open('$WORK/nouser').read()" "exit $rc"
node_test_summary
