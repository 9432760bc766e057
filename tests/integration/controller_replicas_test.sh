#!/usr/bin/env bash
# Two controller replicas on the rig, ctl-a in node 1's namespace and ctl-b in node 2's, each on
# its own SQLite store (issue 8's etcd store is not needed for what this checks), with replica
# certificates and a static owners file (--replica-owners):
#   (1) a rotate sent to ctl-b for a node whose session ctl-a holds is forwarded to ctl-a and
#       answered by the node, as if asked of ctl-a;
#   (2) a node given both addresses (--controller a,b) joins one; kill -9 of that one moves it to
#       the other, where it acks a push;
#   (3) a replica stopped with SIGTERM drains: its node is sent (redirect hint) to the other one;
#   (4) with ctl-a dead, a rotate sent to ctl-b names ctl-a in its UNAVAILABLE error.
#   controller_replicas_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/ctl_test.sh"
ctl_test_init "$build" fb-replicas-test
source "$here/lib/controller.sh"  # ctl_ca, ctl_issue_node, ctl_acked, ctl_node_field, ctl_node_start
source "$here/lib/replicas.sh"

cleanup() {
  rep_kill_all ctl-a ctl-b
  ctl_test_teardown
}
trap cleanup EXIT

# Replica NAME runs in node REP_NODE[NAME]'s namespace; others reach it on link 0.
REP_DIR=$tmp
declare -A REP_NODE=([ctl-a]=1 [ctl-b]=2)
declare -A REP_PORT=([ctl-a]=9900 [ctl-b]=9900)
declare -A REP_OTHER=([ctl-a]=ctl-b [ctl-b]=ctl-a)
rep_start() {
  local r=$1 ca
  ca=$(ctl_ca)
  rep_run "$r" --listen 0.0.0.0:9900 --metrics-listen "" --metrics-interval-ms 1000 \
    --tls-ca "$ca/ca.crt" --tls-cert "$ca/replica-$r.crt" --tls-key "$ca/replica-$r.key" \
    --replica-owners "$tmp/owners" --drain-redirect "$(rep_addr "${REP_OTHER[$r]}")"
}
# rep_acked NAME ID: replica NAME holds ID's session and ID acked what it pushed.
rep_acked() { rep_cli "$1" -j nodes >"$tmp/n-$1.json" 2>/dev/null && ctl_acked "$tmp/n-$1.json" 0 "$2"; }
rep_holds() {
  rep_cli "$1" -j nodes >"$tmp/h-$1.json" 2>/dev/null &&
    [[ $(ctl_node_field "$tmp/h-$1.json" "$2" connected) == True ]]
}

rig_up 3 2
ctl_test_identities 3
id1=$(fleet_id 1)
id2=$(fleet_id 2)
id3=$(fleet_id 3)
echo "nodes: 1=$id1 2=$id2 3=$id3"

section "credentials: the fleet CA, a replica certificate each, node and operator certificates"
ca=$(ctl_ca)
if "$CTL_BIN/fleetbond-controller" ca init --dir "$ca" >>"$(ctl_log)" 2>&1 &&
  "$CTL_BIN/fleetbond-controller" ca issue --dir "$ca" --operator "$CTL_OPERATOR" >>"$(ctl_log)" 2>&1 &&
  "$CTL_BIN/fleetbond-controller" ca issue --dir "$ca" --replica ctl-a --server 10.201.0.1 \
    --server 127.0.0.1 >>"$(ctl_log)" 2>&1 &&
  "$CTL_BIN/fleetbond-controller" ca issue --dir "$ca" --replica ctl-b --server 10.201.0.2 \
    --server 127.0.0.1 >>"$(ctl_log)" 2>&1 &&
  ctl_issue_node 1 && ctl_issue_node 2 && ctl_issue_node 3; then ok "certificates issued"; else
  bad "ca init / ca issue"; tail -20 "$(ctl_log)"; exit 1
fi
# Nodes 1 and 2 join ctl-a only; the owners file says so, for ctl-b's forwarding.
# abcdef0123 is no node at all: the record alone sends ctl-b to ctl-a for it (test 4).
printf '# node replica address\n%s ctl-a %s\n%s ctl-a %s\nabcdef0123 ctl-a %s\n' \
  "$id1" "$(rep_addr ctl-a)" "$id2" "$(rep_addr ctl-a)" "$(rep_addr ctl-a)" >"$tmp/owners"

section "two replicas up; nodes 1 and 2 on ctl-a, node 3 given both"
rep_start ctl-a
rep_start ctl-b
for r in ctl-a ctl-b; do
  if wait_for 30 rep_cli "$r" nodes; then ok "$r answers"; else bad "$r never answered"; tail -20 "$tmp/$r.log"; exit 1; fi
done
# Rotate needs active-backup bonds.
if rep_cli ctl-a policy default active-backup >"$tmp/p.out" 2>&1; then ok "ctl-a: default policy active-backup"; else
  bad "policy default on ctl-a: $(cat "$tmp/p.out")"; fi
ctl_node_start 1 "$(rep_addr ctl-a)"
ctl_node_start 2 "$(rep_addr ctl-a)"
ctl_node_start 3 "$(rep_addr ctl-a),$(rep_addr ctl-b)"
for id in "$id1" "$id2"; do
  if wait_for 40 rep_acked ctl-a "$id"; then ok "node $id acked ctl-a's push"; else
    bad "node $id never acked on ctl-a"; cat "$tmp/n-ctl-a.json"; fi
done
if wait_for 40 rep_holds ctl-a "$id3" || rep_holds ctl-b "$id3"; then
  holder=ctl-a
  rep_holds ctl-a "$id3" || holder=ctl-b
  ok "node 3 joined $holder"
else
  bad "node 3 joined no replica"; tail -20 "$(fleet_log 3)"; exit 1
fi

section "(1) a rotate sent to ctl-b for node 1 (on ctl-a) is forwarded"
if wait_for 40 rep_usable ctl-a "$id1" "$id2" 2; then ok "node 1's bond to node 2 has 2 usable links"; else
  bad "node 1's bond to node 2 never had 2 usable links"; cat "$tmp/u.json"; fi
if rep_cli ctl-b -j --node "$id1" bond "$id2" show >"$tmp/fwd-show.json" 2>"$tmp/fwd-show.err" &&
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["summary"]["peer"]==sys.argv[2] else 1)' \
    "$tmp/fwd-show.json" "$id2" 2>/dev/null; then
  ok "bond show through ctl-b answered by node 1"
else
  bad "bond show through ctl-b: $(cat "$tmp/fwd-show.err") $(head -c 300 "$tmp/fwd-show.json")"
fi
if rep_cli ctl-b --node "$id1" bond "$id2" rotate >"$tmp/fwd.out" 2>"$tmp/fwd.err" &&
  grep -q "rotated" "$tmp/fwd.out"; then
  ok "rotate through ctl-b: $(cat "$tmp/fwd.out")"
else
  bad "rotate through ctl-b: $(cat "$tmp/fwd.out" "$tmp/fwd.err")"
fi
# Not in the owners file: ctl-b answers for itself, as a single controller would.
rep_cli ctl-b --node 0000000000 bond "$id2" rotate >"$tmp/nf.out" 2>"$tmp/nf.err"
if grep -q "no node 0000000000" "$tmp/nf.err"; then ok "a node nobody owns: ctl-b's own NOT_FOUND"; else
  bad "unknown node through ctl-b: $(cat "$tmp/nf.out" "$tmp/nf.err")"; fi

section "(2) kill -9 of node 3's replica ($holder): it moves to the other and takes its push"
other=${REP_OTHER[$holder]}
t0=$SECONDS
rep_kill9 "$holder"
if wait_for 30 rep_acked "$other" "$id3"; then ok "node 3 acked $other's push $((SECONDS - t0)) s after the kill"; else
  bad "node 3 never acked on $other"; tail -20 "$(fleet_log 3)"; fi
rep_start "$holder"
wait_for 30 rep_cli "$holder" nodes || bad "$holder did not come back"

section "(3) SIGTERM drains $other: node 3 is sent to $holder"
t0=$SECONDS
if rep_term "$other"; then ok "$other stopped cleanly"; else bad "$other exit status $?"; fi
# Node 3, and nodes 1 and 2 when $other is ctl-a.
if grep -Eq "draining [1-3] node session" "$tmp/$other.log"; then
  ok "$other drained: $(grep -Eo "draining [1-3] node session.*" "$tmp/$other.log")"
else
  bad "$other's log: $(tail -5 "$tmp/$other.log")"; fi
if wait_for 30 rep_acked "$holder" "$id3"; then ok "node 3 acked $holder's push $((SECONDS - t0)) s after the drain"; else
  bad "node 3 never acked on $holder"; tail -20 "$(fleet_log 3)"; fi
if grep -q "sent to $(rep_addr "$holder")" "$(fleet_log 3)"; then ok "node 3 followed the redirect hint"; else
  bad "node 3's log has no redirect to $(rep_addr "$holder")"; tail -10 "$(fleet_log 3)"; fi
rep_start "$other"
wait_for 30 rep_cli "$other" nodes || bad "$other did not come back"

section "(4) ctl-a dead: a rotate through ctl-b names the owner that did not answer"
# (Nodes 1 and 2 may sit on ctl-b by now, after a drain of ctl-a: the record of abcdef0123 is
# ctl-a's whatever happened.)
rep_kill9 ctl-a
rep_cli ctl-b --node abcdef0123 bond "$id2" rotate >"$tmp/dead.out" 2>"$tmp/dead.err"
if grep -q "owned by replica ctl-a at $(rep_addr ctl-a), which did not answer" "$tmp/dead.err"; then
  ok "owner unreachable: $(head -1 "$tmp/dead.err")"
else
  bad "owner unreachable: $(cat "$tmp/dead.out" "$tmp/dead.err")"
fi

for n in 1 2 3; do kill "$(cat "$(fleet_home "$n")/pid")" 2>/dev/null; done
echo "passed $pass, failed $fail (${SECONDS}s)"
((fail == 0))
