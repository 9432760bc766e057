#!/usr/bin/env bash
# Three controller replicas on one etcd (issue 8, "Scale-out"), on the rig, TLS everywhere: etcd
# (Debian's etcd-server, started here on 127.0.0.1 of the control-plane namespace) serves TLS and
# checks client certificates (a CA and certificates made with openssl); the replicas
# (--store etcd://, replica certificates) serve TLS to nodes and operators. Two real nodes (node 1
# given all three replicas, node 2 the two that node 1 is not on, so they hold sessions with
# different replicas, A and B; C is the third) and 30 simulated sessions (python/session_sim.py,
# with node certificates; 10 start on each replica, each given all three):
#   (1) a settings change made through C is acked at the new version by every session, the real
#       nodes and simulated ones on A and B included;
#   (3) the real nodes, held by different replicas, have each other in their peer directories and
#       ping each other across the overlay (needs the replicas to share the node registry);
#   (2) a rotate sent to C for node 1 (held by A) is forwarded to A and answered by the node, and
#       one sent to A for node 2 (held by B) likewise;
#   (5) two conflicting writes through A and B with the same expected version, 5 rounds: exactly
#       one wins, the other is ABORTED naming the version the winner made;
#   (4) kill -9 of the leader (and, if the leader held no real node, of node 1's replica too):
#       its sessions, real and simulated, move to the others and converge; the settings stored
#       before the kill read back whole through another replica; its ownership records and
#       registration vanish with its lease; another replica takes the leader key;
#   (D) `fleetbond-cli drain --redirect` of the replica holding node 2: its sessions move, node 2
#       follows the redirect hint, and the draining replica refuses a new session;
#   (6) etcd killed with kill -9 and restarted while a stream of settings changes runs through
#       every replica and 5 more simulated sessions join: the replicas carry on by themselves (a
#       change after the restart is acked by all 37 sessions, no replica exited, the ownership
#       records are right again).
# Every wait is bounded; the trap removes etcd, replicas, nodes and namespaces; logs are kept on
# failure.
#   controller_etcd_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "${1:?build dir}" && pwd)
src=$(cd "${2:?source dir}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ETCD=/usr/bin/etcd
[[ -x $ETCD ]] || { echo "skipped: no $ETCD (Debian's etcd-server: scripts/setup.sh --test)"; exit 77; }
command -v openssl >/dev/null || { echo "skipped: no openssl"; exit 77; }
PY=/usr/bin/python3
$PY -c 'import grpc, google.protobuf' 2>/dev/null || { echo "skipped: no python3-grpcio"; exit 77; }
source "$here/lib/ctl_test.sh"
ctl_test_init "$build" fb-etcd-test  # exit 77 without root
mkdir -p "$tmp/gen" "$tmp/sims" "$tmp/etcd"
source "$here/lib/controller.sh"  # ctl_ca, ctl_issue_node, ctl_node_field, ctl_node_start
source "$here/lib/replicas.sh"
SIMS=30   # simulated sessions from the start, 10 starting on each replica
CHURN=5   # more that join while etcd restarts (identities SIMS..SIMS+CHURN-1)
PROBE=$((SIMS + CHURN))  # the identity of the session a draining replica refuses
CP=3      # the control plane's namespace: etcd, the replicas, the simulated sessions
REPS=(ctl-1 ctl-2 ctl-3)
# The replicas: all in the control-plane namespace, each on its own port; the CLI dials them on
# 127.0.0.1 there.
REP_DIR=$tmp
declare -A REP_NODE=([ctl-1]=$CP [ctl-2]=$CP [ctl-3]=$CP)
declare -A REP_PORT=([ctl-1]=9901 [ctl-2]=9902 [ctl-3]=9903)
REP_CLI_LOCAL=1

sims=()
cleanup() {
  for p in "${sims[@]}"; do kill -9 "$p" 2>/dev/null; done
  [[ -n "${stream:-}" ]] && kill "$stream" 2>/dev/null
  rep_kill_all "${REPS[@]}"
  [[ -f "$tmp/etcd.pid" ]] && kill -9 "$(cat "$tmp/etcd.pid")" 2>/dev/null
  ctl_test_teardown
}
trap cleanup EXIT

# --- etcd: TLS with client certificates, on 127.0.0.1 of the control-plane namespace ---
free_port() {
  rig_exec "$CP" $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
etcd_certs() {
  local d=$tmp/etcd/pki
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
      -days 2 -subj "/CN=fleetbond test etcd CA" &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
        -subj "/CN=etcd" &&
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out server.crt \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n') &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr \
        -subj "/CN=fleetbond-controller" &&
      openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt \
        -extfile <(printf 'extendedKeyUsage=clientAuth\n')
  ) >>"$tmp/etcd/pki.log" 2>&1
}
etcd_start() {
  local d=$tmp/etcd/pki
  echo "=== start $(date +%T.%N)" >>"$tmp/etcd/log"
  ip netns exec "$(rig_ns "$CP")" "$ETCD" --name fbe --data-dir "$tmp/etcd/data" \
    --listen-client-urls "https://127.0.0.1:$etcd_port" --advertise-client-urls "https://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "fbe=http://127.0.0.1:$etcd_peer" \
    --cert-file "$d/server.crt" --key-file "$d/server.key" --trusted-ca-file "$d/ca.crt" \
    --client-cert-auth --logger zap --log-level warn >>"$tmp/etcd/log" 2>&1 &
  echo $! >"$tmp/etcd.pid"
}
etcd_kill9() {
  echo "=== kill -9 $(date +%T.%N)" >>"$tmp/etcd/log"
  kill -9 "$(cat "$tmp/etcd.pid")" 2>/dev/null
  wait "$(cat "$tmp/etcd.pid")" 2>/dev/null
  rm -f "$tmp/etcd.pid"
}
# etcd_get PREFIX [TLS FLAGS]: {key: value} of the keys under /fleetbond/v1/PREFIX, on stdout.
etcd_get() {
  local p=$1 d=$tmp/etcd/pki
  shift
  [[ $# -gt 0 ]] || set -- --ca "$d/ca.crt" --cert "$d/client.crt" --key "$d/client.key"
  rig_exec "$CP" env PYTHONPATH="$tmp/gen" timeout 10 $PY "$here/python/etcd_get.py" \
    "127.0.0.1:$etcd_port" "/fleetbond/v1/$p" "$@"
}
etcd_leader() { etcd_get leader | $PY -c 'import json,sys; print(json.load(sys.stdin).get("/fleetbond/v1/leader", ""))'; }

# --- replicas (rep_addr: as the nodes and the other replicas dial them; rep_local: as the CLI and
# the simulated sessions do) ---
rep_start() {
  local r=$1 ca d=$tmp/etcd/pki
  ca=$(ctl_ca)
  rep_run "$r" \
    --store "etcd://127.0.0.1:$etcd_port" --etcd-ca "$d/ca.crt" --etcd-cert "$d/client.crt" \
    --etcd-key "$d/client.key" --etcd-wait 30s --replica-id "$r" --advertise "$(rep_addr "$r")" \
    --listen "0.0.0.0:${REP_PORT[$r]}" --metrics-listen "" --metrics-interval-ms 1000 \
    --tls-ca "$ca/ca.crt" --tls-cert "$ca/replica-$r.crt" --tls-key "$ca/replica-$r.key"
}
live_reps() { for r in "${REPS[@]}"; do rep_alive "$r" && echo "$r"; done; }
# survey: every live replica's `nodes -j`, merged into $tmp/survey.json: holders[id] = the
# replicas listing id as connected, acked[id] = acked == desired > 0 on them.
survey() {
  local r files=()
  for r in $(live_reps); do
    rep_cli "$r" -j nodes >"$tmp/nodes-$r.json" 2>/dev/null || return 1
    files+=("$r=$tmp/nodes-$r.json")
  done
  $PY - "$tmp/survey.json" "${files[@]}" <<'PY'
import json, sys
holders, acked, versions = {}, {}, {}
for arg in sys.argv[2:]:
    r, f = arg.split("=", 1)
    for n in json.load(open(f))["nodes"]:
        if n["connected"]:
            holders.setdefault(n["id"], []).append(r)
            acked[n["id"]] = acked.get(n["id"], True) and int(n["ackedVersion"]) == int(n["desiredVersion"]) > 0
            versions.setdefault(n["id"], []).append("%s: acked %s desired %s" % (r, n["ackedVersion"], n["desiredVersion"]))
json.dump({"holders": holders, "acked": acked, "versions": versions}, open(sys.argv[1], "w"))
PY
}
holder() { jget "$tmp/survey.json" "','.join(j['holders'].get('$1', []))"; }
held_by() { jget "$tmp/survey.json" "' '.join(sorted(i for i, h in j['holders'].items() if h == ['$1']))"; }

# --- nodes (ctl_node_start NODE CONTROLLERS) and simulated sessions ---
# sim_start NAME COUNT BASE TARGETS: session_sim.py with identities BASE.. in the background.
sim_start() {
  ip netns exec "$(rig_ns "$CP")" env PYTHONPATH="$tmp/gen" $PY "$here/python/session_sim.py" "$4" "$2" \
    "$tmp/$1.json" --ca "$(ctl_ca)/ca.crt" --node-certs "$tmp/sims" --index-base "$3" >"$tmp/$1.log" 2>&1 &
  sims+=($!)
  eval "sim_pid_$1=$!"
}
sim_ids() { jget "$tmp/$1.json" "' '.join(s['id'] for s in j['sessions'])"; }
# sims_on STATE MARKER: every session of STATE is connected and its last push (acked at once)
# carries MARKER, whole.
sims_on() {
  $PY - "$tmp/$1.json" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ok = all(s["connected"] and s["pushes"] and s["pushes"][-1][1] == int(sys.argv[2]) and s["pushes"][-1][2]
         and s["acked"] == s["pushes"][-1][0] for s in j["sessions"])
sys.exit(0 if ok and j["sessions"] else 1)
PY
}
sims_why() { jget "$tmp/$1.json" "'markers %s, %d/%d connected, errors %s' % (sorted({str(s['pushes'][-1][1]) if s['pushes'] else 'none' for s in j['sessions']}), sum(s['connected'] for s in j['sessions']), len(j['sessions']), sorted({s['error'][:90] for s in j['sessions'] if s['error']})[:2])"; }
# node_marker NODE: the failoverInterval of the q* policies node NODE runs ("1002"; "1001,1002": a mix).
node_marker() {
  rig_exec "$1" timeout 10 "$cli" -j settings show 2>/dev/null |
    $PY -c 'import json,sys; s=json.loads(json.load(sys.stdin)["localConfJson"])["settings"]; p={k:v for k,v in s.get("policies",{}).items() if k.startswith("q")}; print(",".join(sorted({str(v.get("failoverInterval")) for v in p.values()})))'
}
# doc FILE MARKER: a settings document whose policies q0..q2 all carry failoverInterval MARKER.
doc() {
  $PY - "$1" "$2" <<'PY'
import json, sys
m = int(sys.argv[2])
pol = {f"q{i}": {"basePolicy": "active-backup", "failoverInterval": m} for i in range(3)}
json.dump({"settings": {"defaultBondingPolicy": "q0", "policies": pol}}, open(sys.argv[1], "w"))
PY
}
# converged MARKER STATE...: every simulated session of the STATE files and both real nodes run
# MARKER, and each is held by exactly one live replica, acked == desired there.
converged() {
  local m=$1 st n
  shift
  for st in "$@"; do sims_on "$st" "$m" || return 1; done
  for n in 1 2; do [[ $(node_marker "$n") == "$m" ]] || return 1; done
  survey || return 1
  local ids
  ids="$id1 $id2"
  for st in "$@"; do ids="$ids $(sim_ids "$st")"; done
  $PY - "$tmp/survey.json" $ids <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if all(len(j["holders"].get(i, [])) == 1 and j["acked"].get(i) for i in sys.argv[2:]) else 1)
PY
}
converged_why() {
  local m=$1 st
  shift
  survey
  for st in "$@"; do echo "     $st: $(sims_why "$st")"; done
  echo "     real nodes run $(node_marker 1) and $(node_marker 2); holders: node 1 $(holder "$id1"), node 2 $(holder "$id2")"
  jget "$tmp/survey.json" "'     sessions not held by exactly one replica, or not acked: %d %s' % (sum(1 for i in j['holders'] if len(j['holders'][i]) != 1 or not j['acked'][i]), [(i, j['versions'][i]) for i in j['holders'] if len(j['holders'][i]) != 1 or not j['acked'][i]][:3])"
  local ids="$id1 $id2"
  for st in "$@"; do ids="$ids $(sim_ids "$st")"; done
  jget "$tmp/survey.json" "'     held by no live replica: %s' % [i for i in '$ids'.split() if i not in j['holders']]"
}
# owners_match: etcd's owners/ records name, for every session a live replica holds, that replica.
owners_match() {
  survey && etcd_get owners/ >"$tmp/owners.json" &&
    $PY - "$tmp/survey.json" "$tmp/owners.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["holders"]
o = {k.rsplit("/", 1)[1]: v for k, v in json.load(open(sys.argv[2])).items()}
bad = [i for i, r in h.items() if len(r) != 1 or o.get(i) != r[0]]
sys.exit(0 if not bad else 1)
PY
}
settings_json() { rep_cli "$1" -j settings show >"$2" 2>/dev/null; }
same_settings() {
  $PY -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:3]); sys.exit(0 if a["version"]==b["version"] and a.get("settings")==b.get("settings") and a.get("scopes")==b.get("scopes") else 1)' "$1" "$2"
}

rig_up 3 2
ctl_test_identities 2
id1=$(fleet_id 1)
id2=$(fleet_id 2)
echo "nodes: 1=$id1 2=$id2"
protoc -I "$src/proto" --python_out="$tmp/gen" --grpc_python_out="$tmp/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin "$src"/proto/fleetbond/v1/*.proto &&
  protoc -I "$src/proto/etcd" --python_out="$tmp/gen" --grpc_python_out="$tmp/gen" \
    --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin "$src/proto/etcd/etcdserverpb/rpc.proto" \
    "$src/proto/etcd/mvccpb/kv.proto" || { bad "protoc"; exit 1; }

section "credentials: etcd's CA (openssl), the fleet CA, replica, operator, node and $((PROBE + 1)) simulated node certificates"
if etcd_certs; then ok "etcd CA, server and client certificates"; else bad "openssl: $(tail -5 "$tmp/etcd/pki.log")"; exit 1; fi
ca=$(ctl_ca)
issue() { "$CTL_BIN/fleetbond-controller" ca issue --dir "$ca" "$@" >>"$(ctl_log)" 2>&1; }
certs_ok=1
"$CTL_BIN/fleetbond-controller" ca init --dir "$ca" >>"$(ctl_log)" 2>&1 || certs_ok=0
issue --operator "$CTL_OPERATOR" || certs_ok=0
for r in "${REPS[@]}"; do issue --replica "$r" --server "10.201.0.$CP" --server 127.0.0.1 || certs_ok=0; done
ctl_issue_node 1 && ctl_issue_node 2 || certs_ok=0
# The simulated sessions' identities: a random key each, its id, a node certificate for the id.
$PY - "$tmp/sims" $((PROBE + 1)) >"$tmp/sims/ids" <<'PY'
import hashlib, os, sys
for i in range(int(sys.argv[2])):
    key = os.urandom(32)
    open(f"{sys.argv[1]}/sim-{i}.hex", "w").write(key.hex())
    print(hashlib.sha256(key).digest()[:5].hex())
PY
xargs -P 2 -I{} "$CTL_BIN/fleetbond-controller" ca issue --dir "$ca" --node {} --out "$tmp/sims" \
  <"$tmp/sims/ids" >>"$(ctl_log)" 2>&1 || certs_ok=0
if ((certs_ok)) && [[ $(ls "$tmp"/sims/node-*.crt | wc -l) -eq $((PROBE + 1)) ]]; then
  ok "fleet certificates issued (${SECONDS}s)"
else
  bad "ca init / ca issue: $(tail -5 "$(ctl_log)")"; exit 1
fi

section "etcd with TLS and client certificates; three replicas on it"
etcd_port=$(free_port)
etcd_peer=$(free_port)
while [[ $etcd_peer == "$etcd_port" ]]; do etcd_peer=$(free_port); done
etcd_start
if wait_for 20 etcd_get settings/; then ok "etcd answers over TLS with the client certificate (127.0.0.1:$etcd_port)"; else
  bad "etcd never answered"; tail -20 "$tmp/etcd/log"; exit 1; fi
if etcd_get settings/ --ca "$tmp/etcd/pki/ca.crt" >/dev/null 2>"$tmp/etcd/nocert.err"; then
  bad "etcd answered a client without a certificate"
else
  ok "etcd refuses a client without a certificate: $(tail -1 "$tmp/etcd/nocert.err" | head -c 150)"
fi
for r in "${REPS[@]}"; do rep_start "$r"; done
for r in "${REPS[@]}"; do
  if wait_for 40 rep_cli "$r" nodes; then ok "$r answers"; else bad "$r never answered"; tail -20 "$tmp/$r.log"; exit 1; fi
done
etcd_get replicas/ >"$tmp/replicas.json"
if [[ $(jget "$tmp/replicas.json" "len(j)") == 3 ]]; then ok "3 replicas registered in etcd: $(cat "$tmp/replicas.json")"; else
  bad "replicas/ in etcd: $(cat "$tmp/replicas.json")"; fi
if wait_for 15 etcd_leader; then leader=$(etcd_leader); fi
if [[ " ${REPS[*]} " == *" ${leader:-none} "* ]]; then ok "the leader key names $leader"; else bad "no leader: '${leader:-}'"; fi

doc "$tmp/d1001.conf" 1001
if rep_cli ctl-1 settings apply "$tmp/d1001.conf" >"$tmp/apply.out" 2>&1; then ok "first document through ctl-1: $(cat "$tmp/apply.out")"; else
  bad "first document: $(cat "$tmp/apply.out")"; fi
all_targets="$(rep_local ctl-1),$(rep_local ctl-2),$(rep_local ctl-3)"
sim_start sim "$SIMS" 0 "$all_targets"
ctl_node_start 1 "$(rep_addr ctl-1),$(rep_addr ctl-2),$(rep_addr ctl-3)"
holds1() { survey && [[ -n $(holder "$id1") ]]; }
if wait_for 40 holds1; then A=$(holder "$id1"); ok "node 1 joined $A"; else bad "node 1 joined no replica"; tail -20 "$(fleet_log 1)"; exit 1; fi
others=()
for r in "${REPS[@]}"; do [[ $r == "$A" ]] || others+=("$r"); done
ctl_node_start 2 "$(rep_addr "${others[0]}"),$(rep_addr "${others[1]}")"
holds2() { survey && [[ -n $(holder "$id2") ]]; }
if wait_for 40 holds2; then B=$(holder "$id2"); ok "node 2 joined $B"; else bad "node 2 joined no replica"; tail -20 "$(fleet_log 2)"; exit 1; fi
for r in "${REPS[@]}"; do [[ $r == "$A" || $r == "$B" ]] || C=$r; done
echo "     A=$A (node 1), B=$B (node 2), C=$C"
t0=$SECONDS
if wait_for 60 converged 1001 sim; then ok "all $((SIMS + 2)) sessions run the first document, acked ($((SECONDS - t0)) s)"; else
  bad "sessions did not converge on the first document"; converged_why 1001 sim; fi
spread=$(jget "$tmp/survey.json" "' '.join('%s:%d' % (r, sum(1 for h in j['holders'].values() if h == [r])) for r in sorted({x for h in j['holders'].values() for x in h}))")
echo "     sessions per replica: $spread"
if wait_for 15 owners_match; then ok "etcd's owners/ records name each session's replica ($(jget "$tmp/owners.json" "len(j)") records)"; else
  bad "owners/ records do not match the sessions: $(head -c 300 "$tmp/owners.json")"; fi

section "(1) a settings change through $C reaches the sessions of every replica"
doc "$tmp/d1002.conf" 1002
before=$(jget "$tmp/survey.json" "' '.join('%s:%d' % (r, sum(1 for h in j['holders'].values() if h == [r])) for r in ['$A', '$B'])")
t0=$SECONDS
if rep_cli "$C" settings apply "$tmp/d1002.conf" >"$tmp/apply.out" 2>&1; then ok "change through $C: $(cat "$tmp/apply.out")"; else
  bad "change through $C: $(cat "$tmp/apply.out")"; fi
if wait_for 30 converged 1002 sim; then
  ok "acked at the new document by all $((SIMS + 2)) sessions, those of $A and $B included ($before; real node 1 on $A, node 2 on $B) in $((SECONDS - t0)) s"
else
  bad "the change through $C did not reach every session"; converged_why 1002 sim
fi
for r in "$A" "$B"; do
  settings_json "$r" "$tmp/s-$r.json"
  if grep -q 1002 "$tmp/s-$r.json"; then ok "$r's settings show has the change (version $(jget "$tmp/s-$r.json" "j['version']"))"; else
    bad "$r's settings show: $(head -c 300 "$tmp/s-$r.json")"; fi
done

section "(3) nodes 1 ($A) and 2 ($B) see each other and talk across the overlay"
peer_of() {
  rig_exec "$1" timeout 5 "$cli" -j peers 2>/dev/null |
    $PY -c 'import json,sys; sys.exit(0 if any(p["id"]==sys.argv[1] for p in json.load(sys.stdin)["peers"]) else 1)' "$2"
}
overlay_of() {
  rig_exec "$1" timeout 5 "$cli" -j info 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["overlayAddress"].split("/")[0])'
}
ping_overlay() { local to; to=$(overlay_of "$2") && [[ -n $to ]] && rig_exec "$1" ping -c 1 -W 1 "$to"; }
for pair in "1 2 $id2" "2 1 $id1"; do
  read -r a b id <<<"$pair"
  if wait_for 30 peer_of "$a" "$id"; then ok "node $a has node $b in its peer directory"; else
    bad "node $a's peer directory lacks node $b (a replica's directory has the nodes of the others only with registry sharing)"; fi
done
t0=$SECONDS
if wait_for 30 ping_overlay 1 2 && wait_for 10 ping_overlay 2 1; then ok "nodes 1 and 2 ping each other across the overlay ($(overlay_of 1) <-> $(overlay_of 2), $((SECONDS - t0)) s)"; else
  bad "no ping across the overlay between nodes 1 and 2"; fi

section "(2) rotates sent to the replica that does not hold the node are forwarded"
for c in "$C $id1 $id2 $A" "$A $id2 $id1 $B"; do
  read -r via node peer owner <<<"$c"
  if wait_for 30 rep_usable "$via" "$node" "$peer" 2; then ok "bond show of $node through $via (held by $owner): 2 usable links"; else
    bad "bond show of $node through $via never had 2 usable links: $(head -c 200 "$tmp/u.json")"; fi
  if rep_cli "$via" --node "$node" bond "$peer" rotate >"$tmp/rot.out" 2>&1 && grep -q rotated "$tmp/rot.out"; then
    ok "rotate of $node's bond sent to $via, forwarded to $owner: $(cat "$tmp/rot.out")"
  else
    bad "rotate of $node through $via: $(cat "$tmp/rot.out")"
  fi
done

section "(5) conflicting writes through $A and $B with the same expected version, 5 rounds"
version_of() { rep_cli "$1" -j settings show 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
agree() { local v; v=$(version_of "$A") && [[ $v == $(version_of "$B") && $v == $(version_of "$C") ]]; }
for round in 1 2 3 4 5; do
  wait_for 10 agree
  v=$(version_of "$A")
  for r in "$A" "$B"; do
    echo "{\"basePolicy\": \"active-backup\", \"failoverInterval\": $((300 + round * 10 + ${REP_PORT[$r]} % 10))}" >"$tmp/race-$r.json"
  done
  rep_cli "$A" policy put race "$tmp/race-$A.json" --expect-version "$v" >"$tmp/race-$A.out" 2>"$tmp/race-$A.err" &
  pid_a=$!
  rep_cli "$B" policy put race "$tmp/race-$B.json" --expect-version "$v" >"$tmp/race-$B.out" 2>"$tmp/race-$B.err" &
  pid_b=$!
  wait "$pid_a"
  rc_a=$?
  wait "$pid_b"
  rc_b=$?
  if ((rc_a == 0)); then win=$A lose=$B rc_lose=$rc_b; else win=$B lose=$A rc_lose=$rc_a; fi
  # Exactly one wins (exit 0), the other is refused (exit 1) naming the winner's version.
  if (((rc_a == 0) + (rc_b == 0) == 1)) && ((rc_lose == 1)) &&
    grep -q "settings version $((v + 1))" "$tmp/race-$win.out" &&
    grep -q "settings are at version $((v + 1)), not $v" "$tmp/race-$lose.err"; then
    ok "round $round at version $v: $win won ($(cat "$tmp/race-$win.out")), $lose refused: $(head -c 90 "$tmp/race-$lose.err")"
  else
    bad "round $round at version $v: $A exit $rc_a ($(cat "$tmp/race-$A.out" "$tmp/race-$A.err")), $B exit $rc_b ($(cat "$tmp/race-$B.out" "$tmp/race-$B.err"))"
  fi
done
after=$(version_of "$C")
if [[ $after == $((v + 1)) ]]; then ok "settings at version $after after 5 rounds: one change per round"; else bad "settings at version $after, expected $((v + 1))"; fi

victims=("$leader")
[[ $leader == "$C" ]] && victims+=("$A")  # the leader holds no real node: node 1's replica too
section "(4) kill -9 of ${victims[*]} (the leader: $leader; node 1 on $A, node 2 on $B)"
marker=1002
for victim in "${victims[@]}"; do
  survey
  moved=$(held_by "$victim")
  nmoved=$(wc -w <<<"$moved")
  real=""
  [[ " $moved " == *" $id1 "* ]] && real="node 1"
  [[ " $moved " == *" $id2 "* ]] && real="${real:+$real and }node 2"
  was_leader=$(etcd_leader)
  etcd_get owners/ >"$tmp/owners-before.json"
  mine=$(jget "$tmp/owners-before.json" "sum(1 for v in j.values() if v == '$victim')")
  if [[ $mine == "$nmoved" && $nmoved -gt 0 ]]; then ok "$victim holds $nmoved sessions (${real:-no real node}), and etcd has $mine owners/ records of it"; else
    bad "$victim holds $nmoved sessions, etcd has $mine owners/ records of it"; fi
  settings_json "$victim" "$tmp/before-kill.json"
  t0=$SECONDS
  rep_kill9 "$victim"
  if wait_for 60 converged "$marker" sim; then
    ok "kill -9 of $victim: its $nmoved sessions (${real:-no real node}) moved to the others and acked in $((SECONDS - t0)) s"
  else
    bad "after kill -9 of $victim, the sessions did not converge"; converged_why "$marker" sim
  fi
  for r in $moved; do
    h=$(holder "$r")
    [[ $h == "$victim" || -z $h ]] && { bad "session $r still not on a live replica"; break; }
  done
  other=$(live_reps | head -1)
  settings_json "$other" "$tmp/after-kill.json"
  if same_settings "$tmp/before-kill.json" "$tmp/after-kill.json"; then
    ok "settings stored before the kill read back whole through $other (version $(jget "$tmp/after-kill.json" "j['version']"))"
  else
    bad "settings through $other differ from those read before the kill"
  fi
  gone() {
    etcd_get "" >"$tmp/all-keys.json" &&
      [[ $(jget "$tmp/all-keys.json" "sum(1 for k, v in j.items() if (k.startswith('/fleetbond/v1/owners/') and v == '$victim') or k == '/fleetbond/v1/replicas/$victim')") == 0 ]]
  }
  if wait_for 25 gone; then ok "$victim's owners/ records and registration vanished $((SECONDS - t0)) s after the kill (lease TTL 10 s)"; else
    bad "$victim's records are still in etcd $((SECONDS - t0)) s after the kill"; fi
  if wait_for 15 owners_match; then ok "the moved sessions are recorded under their new replicas"; else
    bad "owners/ records do not match the sessions after the kill"; fi
  if [[ $was_leader == "$victim" ]]; then
    new_leader() { local l; l=$(etcd_leader) && [[ -n $l && $l != "$victim" ]] && rep_alive "$l"; }
    if wait_for 25 new_leader; then leader=$(etcd_leader); ok "$leader took over as leader $((SECONDS - t0)) s after the kill"; else
      bad "no new leader $((SECONDS - t0)) s after the kill of the leader $victim: '$(etcd_leader)'"; fi
  fi
  rep_start "$victim"
  wait_for 40 rep_cli "$victim" nodes || bad "$victim did not come back"
done

section "(D) fleetbond-cli drain of node 2's replica"
survey
D=$(holder "$id2")
for r in "${REPS[@]}"; do [[ $r != "$D" ]] && R=$r && break; done
drained=$(held_by "$D")
t0=$SECONDS
if rep_cli "$D" drain --redirect "$(rep_addr "$R")" >"$tmp/drain.out" 2>&1 &&
  grep -q "is draining: $(wc -w <<<"$drained") node session" "$tmp/drain.out"; then
  ok "drain $D: $(cat "$tmp/drain.out")"
else
  bad "drain $D ($(wc -w <<<"$drained") sessions held): $(cat "$tmp/drain.out")"
fi
if wait_for 40 converged "$marker" sim; then ok "$D's $(wc -w <<<"$drained") sessions moved to the others and acked in $((SECONDS - t0)) s"; else
  bad "after the drain of $D the sessions did not converge"; converged_why "$marker" sim; fi
if [[ -z $(held_by "$D") ]]; then ok "$D holds no session"; else bad "$D still holds $(held_by "$D")"; fi
if [[ $(holder "$id2") == "$R" ]] && grep -q "sent to $(rep_addr "$R")" "$(fleet_log 2)"; then ok "node 2 followed the redirect hint to $R"; else
  bad "node 2 is on $(holder "$id2"), its log: $(grep -m1 "sent to" "$(fleet_log 2)")"; fi
sim_start probe 1 "$PROBE" "$(rep_local "$D")"
sleep 3
kill -TERM "$sim_pid_probe" 2>/dev/null
wait "$sim_pid_probe" 2>/dev/null
if [[ $(jget "$tmp/probe.json" "j['sessions'][0]['connected'] or bool(j['sessions'][0]['pushes'])") == False ]] &&
  grep -q "draining" <<<"$(jget "$tmp/probe.json" "j['sessions'][0]['error']")"; then
  ok "$D refuses a new session: $(jget "$tmp/probe.json" "j['sessions'][0]['error']")"
else
  bad "a new session on draining $D: $(cat "$tmp/probe.json")"
fi
if rep_term "$D"; then ok "$D stopped cleanly after the drain"; else bad "$D exit status $?"; fi
rep_start "$D"
wait_for 40 rep_cli "$D" nodes || bad "$D did not come back"

section "(6) etcd kill -9 and restart under a stream of settings changes and $CHURN joining sessions"
settings_json "$A" "$tmp/s-before-stream.json"
v0=$(jget "$tmp/s-before-stream.json" "j['version']")
# The stream: a change every 0.3 s through each replica in turn, at most 40 and 45 s.
(
  end=$((SECONDS + 45))
  for k in $(seq 1 40); do
    ((SECONDS < end)) || break
    r=${REPS[$((k % 3))]}
    doc "$tmp/stream-$k.conf" $((3000 + k))
    if rep_cli "$r" settings apply "$tmp/stream-$k.conf" >"$tmp/stream-$k.out" 2>&1; then
      echo "$k $r ok $(date +%s.%N) $(head -1 "$tmp/stream-$k.out")"
    else
      echo "$k $r failed $(date +%s.%N) $(tr '\n' ' ' <"$tmp/stream-$k.out")"
    fi
    sleep 0.3
  done
) >"$tmp/stream.log" 2>&1 &
stream=$!
sleep 2
sim_start churn "$CHURN" "$SIMS" "$all_targets"
etcd_kill9
# Longer than a call's 5 s deadline (so some changes are refused), shorter than the replicas'
# 10 s leases.
sleep 7
etcd_start
t_back=$(date +%s.%N)
wait_for 20 etcd_get settings/ || bad "etcd did not come back"
deadline=$((SECONDS + 60))
while kill -0 "$stream" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
kill "$stream" 2>/dev/null
wait "$stream" 2>/dev/null
stream=""
read -r n_ok n_failed n_after first_after <<<"$($PY - "$tmp/stream.log" "$t_back" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
back = float(sys.argv[2])
ok = [r for r in rows if r[2] == "ok"]
after = [float(r[3]) - back for r in ok if float(r[3]) > back]
print(len(ok), len(rows) - len(ok), len(after), "%.1f" % min(after) if after else "none")
PY
)"
echo "     stream: $n_ok changes stored, $n_failed refused (etcd down), $n_after after the restart (first answered ${first_after} s after etcd was started again)"
grep -m2 failed "$tmp/stream.log" | cut -c1-250 | sed 's/^/     /'
others=$(grep failed "$tmp/stream.log" | grep -cvE "no endpoint answered within|did not answer in time")
if ((n_failed > 0 && others == 0)); then ok "the $n_failed changes made while etcd was down were refused as unavailable, naming etcd or the deadline"; else
  bad "$n_failed changes refused while etcd was down, $others of them for another reason"; fi
if ((n_after > 0)); then ok "changes go through again after etcd's restart without anyone doing anything"; else
  bad "no change of the stream went through after etcd's restart"; fi
for r in "${REPS[@]}"; do
  if rep_alive "$r"; then ok "$r is still running"; else bad "$r exited: $(tail -3 "$tmp/$r.log")"; fi
done
doc "$tmp/d5000.conf" 5000
t0=$SECONDS
if rep_cli "$B" settings apply "$tmp/d5000.conf" >"$tmp/apply.out" 2>&1; then ok "a change through $B after the restart: $(cat "$tmp/apply.out")"; else
  bad "change through $B after the restart: $(cat "$tmp/apply.out")"; fi
if wait_for 60 converged 5000 sim churn; then ok "acked by all $((SIMS + CHURN + 2)) sessions, the $CHURN that joined while etcd was down included, in $((SECONDS - t0)) s"; else
  bad "the change after etcd's restart did not reach every session"; converged_why 5000 sim churn; fi
settings_json "$C" "$tmp/s-final.json"
vfinal=$(jget "$tmp/s-final.json" "j['version']")
if ((vfinal >= v0 + n_ok + 1)); then ok "settings version $vfinal holds every acknowledged change ($v0 + $n_ok of the stream + 1)"; else
  bad "settings version $vfinal < $v0 + $n_ok + 1: an acknowledged change is missing"; fi
if wait_for 20 owners_match; then ok "etcd's owners/ records name each session's replica again ($(jget "$tmp/owners.json" "len(j)") records)"; else
  bad "owners/ records do not match the sessions after etcd's restart"; fi

section "teardown"
for p in "${sims[@]}"; do kill -TERM "$p" 2>/dev/null; done
for n in 1 2; do fleet_stop_node "$n"; done
for r in "${REPS[@]}"; do
  rep_alive "$r" || continue
  if rep_term "$r"; then :; else bad "$r exit status $? on SIGTERM"; fi
done
for f in "$tmp"/ctl-*.log "$(fleet_log 1)" "$(fleet_log 2)"; do
  if grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$f"; then
    bad "sanitizer report in $f"; grep -m3 -E "ERROR|runtime error" "$f"; fi
done
echo "passed $pass, failed $fail (${SECONDS}s)"
((fail == 0))
