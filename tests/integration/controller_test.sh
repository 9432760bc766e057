#!/usr/bin/env bash
# The fleet controller end to end on the rig: three nodes join a TLS controller running in node
# 1's namespace and take their settings, overlay addresses and peers from it; policy changes
# reach every node (and change what the links carry); settings show marks the controller's
# values; a rotate goes through the controller; the controller survives kill -9 with nothing
# acknowledged lost while the nodes keep forwarding; bad credentials are refused; Debian's real
# Prometheus scrapes the controller; and the documented Python example drives the Fleet API.
#   controller_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1
src=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/ctl_test.sh"  # ok without a name counts silently: most checks here print only failures
ctl_test_init "$build" fb-ctl-test
source "$here/lib/node_test.sh"  # link_tx, traffic
source "$here/lib/controller.sh"

cleanup() {
  [[ -n "${prom_pid:-}" ]] && kill "$prom_pid" 2>/dev/null
  ctl_test_teardown
}
trap cleanup EXIT

# run NODE NAME WANT_EXIT CMD...: a command in NODE's namespace; output in $tmp/out, $tmp/err.
run() {
  local node=$1 name=$2 want=$3
  shift 3
  rig_exec "$node" timeout 30 "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -eq $want ]]; then ok; else
    bad "$name: exit $got, want $want"
    sed 's/^/  out: /' "$tmp/out" | head -30
    sed 's/^/  err: /' "$tmp/err" | head -10
  fi
}
# runc NODE NAME WANT_EXIT ARGS...: fleetbond-cli against the controller (operator certificate).
runc() {
  local node=$1 name=$2 want=$3
  shift 3
  local ca
  ca=$(ctl_ca)
  run "$node" "$name" "$want" "$cli" --controller "$(ctl_addr "$node")" --controller-ca "$ca/ca.crt" \
    --cert "$ca/operator-$CTL_OPERATOR.crt" --key "$ca/operator-$CTL_OPERATOR.key" "$@"
}
# has NAME FILE REGEX / hasnt NAME FILE REGEX
has() { if grep -Eq -- "$3" "$2"; then ok; else bad "$1: /$3/ not in:"; sed 's/^/  /' "$2" | head -30; fi; }
hasnt() { if grep -Eq -- "$3" "$2"; then bad "$1: /$3/ found in:"; sed 's/^/  /' "$2" | head -30; else ok; fi; }
# pycheck NAME FILE EXPR: a Python expression over j = json.load(FILE) must be true.
pycheck() {
  if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
    "$2" "$3" 2>"$tmp/pyerr"; then ok; else
    bad "$1: $3 is false for:"; head -c 1500 "$2" | sed 's/^/  /'; cat "$tmp/pyerr"; echo
  fi
}
# bonds_are NODE POLICY: the node's own `bond list -j` shows every bond (two) on POLICY.
bonds_are() {
  rig_exec "$1" timeout 10 "$cli" -j bond list >"$tmp/b$1.json" 2>/dev/null &&
    python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["bonds"]; sys.exit(0 if len(b)==2 and all(x["policyName"]==sys.argv[2] for x in b) else 1)' \
      "$tmp/b$1.json" "$2"
}
# links_usable NODE PEER N: the node's bond to PEER has N usable links.
links_usable() {
  rig_exec "$1" timeout 10 "$cli" -j bond "$2" show >"$tmp/u.json" 2>/dev/null &&
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if s["usableLinks"]>=int(sys.argv[2]) else 1)' \
      "$tmp/u.json" "$3"
}
# settle: every node connected and acked == desired (the push after a change has landed).
settle() { ctl_wait_acked "${1:-30}" 0 "$id1" "$id2" "$id3"; }
# change_and_wait NAME SECONDS CLI-ARGS...: a settings change through the CLI, then every node
# acks a push newer than anything before the change.
change_and_wait() {
  local name=$1 secs=$2 before
  shift 2
  before=$(ctl_max_desired)
  runc 1 "$name" 0 "$@"
  cp "$tmp/out" "$tmp/change.out"
  if ctl_wait_acked "$secs" "$before" "$id1" "$id2" "$id3"; then ok; else
    bad "$name: not every node acked a push newer than $before within ${secs}s"
    sed 's/^/  /' "$CTL_DIR/nodes.json"
  fi
}
not_connected() { ! ctl_connected "$1"; }
settings_version() { ctl_cli 1 -j settings show >"$tmp/sv.json" 2>/dev/null && jget "$tmp/sv.json" "j['version']"; }

rig_up 3 3
ctl_test_identities 3
id1=$(fleet_id 1)
id2=$(fleet_id 2)
id3=$(fleet_id 3)
echo "nodes: 1=$id1 2=$id2 3=$id3"

# --- credentials: the fleet CA, a certificate per node, an operator certificate and a token ---
section "credentials"
if ctl_ca_init && ctl_issue_node 1 && ctl_issue_node 2 && ctl_issue_node 3; then ok; else
  bad "ca init / ca issue"; tail -20 "$(ctl_log)"; exit 1
fi
token=$(openssl rand -hex 16)
printf '# operator token\nci-e2e %s\n' "$token" >"$CTL_DIR/tokens"
chmod 600 "$CTL_DIR/tokens"
printf '%s\n' "$token" >"$CTL_DIR/token"
chmod 600 "$CTL_DIR/token"
ca=$(ctl_ca)

# --- (1) the fleet comes up: node 1 first, then 2, then 3; overlay addresses in that order ---
section "fleet up"
ctl_start --metrics-interval-ms 1000 --operator-tokens "$CTL_DIR/tokens"
if ctl_wait_up 30; then ok; else bad "controller never answered"; tail -30 "$(ctl_log)"; exit 1; fi
for n in 1 2 3; do
  ctl_node_start "$n"
  id=$(fleet_id "$n")
  if ctl_wait_acked 40 0 "$id"; then ok; else
    bad "node $n never connected and acked"; cat "$CTL_DIR/nodes.json"; tail -20 "$(fleet_log "$n")"
  fi
done
settle 30 || bad "the fleet never settled: $(cat "$CTL_DIR/nodes.json")"
cp "$CTL_DIR/nodes.json" "$tmp/nodes0.json"
declare -A OVL
for n in 1 2 3; do
  OVL[$n]=$(ctl_node_field "$tmp/nodes0.json" "$(fleet_id "$n")" overlayAddress)
  OVL[$n]=${OVL[$n]%%/*}
done
echo "overlay: 1=${OVL[1]} 2=${OVL[2]} 3=${OVL[3]}"
check "overlay addresses in join order" "'${OVL[1]}'=='10.147.0.1' and '${OVL[2]}'=='10.147.0.2' and '${OVL[3]}'=='10.147.0.3'"
fleet_overlay() { echo "${OVL[$1]}"; }  # fleet.sh's helpers use the controller's addresses
pycheck "nodes -j: three nodes, each with its endpoints and key" "$tmp/nodes0.json" \
  "len(j['nodes'])==3 and all(n['connected'] and len(n['publicKey'])==44 and len(n['endpoints'])>=3 and n['lastSeenUnixMs']>0 for n in j['nodes'])"
for pair in "1 2" "1 3" "2 3"; do
  read -r a b <<<"$pair"
  if fleet_wait_overlay "$a" "$b" 20; then ok; else bad "overlay ping $a -> $b"; fi
done
runc 1 "nodes (text)" 0 nodes
has "nodes text: node 1 row" "$tmp/out" "^$id1 +yes +${OVL[1]//./\\.}(/[0-9]+)? "

# --- (2) a policy change reaches every node, and changes what the links carry ---
section "policy change: broadcast"
cat >"$tmp/bc.conf" <<'CONF'
{"settings": {"defaultBondingPolicy": "bc",
  "policies": {"bc": {"basePolicy": "broadcast", "failoverInterval": 200},
               "ab": {"basePolicy": "active-backup", "failoverInterval": 200},
               "ab2": {"basePolicy": "active-backup", "failoverInterval": 300}}}}
CONF
v0=$(settings_version)
runc 1 "settings apply with a stale --expect-version" 1 settings apply "$tmp/bc.conf" --expect-version $((v0 + 5))
has "stale version refused, saying why" "$tmp/err" "not changed: .*version $v0"
change_and_wait "settings apply broadcast" 30 settings apply "$tmp/bc.conf" --expect-version "$v0"
has "apply prints the new version" "$tmp/change.out" "^settings version $((v0 + 1))$"
v1=$(settings_version)
check "settings version bumped by one" "'$v1'=='$((v0 + 1))'" "$v0 -> $v1"
for n in 1 2 3; do
  if wait_for 15 bonds_are "$n" bc; then ok; else bad "node $n's bonds are not on bc:"; cat "$tmp/b$n.json"; fi
done
run 1 "bond list on node 1" 0 "$cli" bond list
has "bond list: broadcast" "$tmp/out" "^$id2 +bc \(broadcast\) +[0-9]/3$"
wait_for 15 links_usable 1 "$id2" 3 || bad "node 1's bond to node 2 never had 3 usable links"
# Every packet to a peer leaves on all three links: per-link tx deltas of a 2,000-datagram burst.
a=($(link_tx 1))
traffic 1 send --to "${OVL[2]}" --ports 5001 --rate 1000 --seconds 2 >/dev/null
b=($(link_tx 1))
d="$((b[0] - a[0])), $((b[1] - a[1])), $((b[2] - a[2]))"
check "broadcast: each link carries the whole burst" "min([$d]) >= 1900 and min([$d]) >= 0.85 * max([$d])" "tx deltas $d"

section "policy change: active-backup"
change_and_wait "policy default ab" 30 policy default ab --expect-version "$v1"
v2=$(settings_version)
for n in 1 2 3; do
  if wait_for 15 bonds_are "$n" ab; then ok; else bad "node $n's bonds are not on ab:"; cat "$tmp/b$n.json"; fi
done
wait_for 15 links_usable 1 "$id2" 3 || bad "node 1's bond to node 2 never had 3 usable links (ab)"
a=($(link_tx 1))
traffic 1 send --to "${OVL[2]}" --ports 5001 --rate 1000 --seconds 2 >/dev/null
b=($(link_tx 1))
d="$((b[0] - a[0])), $((b[1] - a[1])), $((b[2] - a[2]))"
check "active-backup: one link carries the burst, the others only probes" \
  "max([$d]) >= 1900 and sorted([$d])[1] <= 0.25 * max([$d])" "tx deltas $d"
rig_exec 1 "$cli" -j bond "$id2" show >"$tmp/ab.json" 2>/dev/null
check "active-backup: the burst left on the active link" \
  "'$(jget "$tmp/ab.json" "[p['interface'] for p in j['paths'] if p['active']][0]")' == 'eth$(argmax ${d//,/})'" \
  "active $(jget "$tmp/ab.json" "[p['interface'] for p in j['paths'] if p['active']]"), deltas $d"

# --- (3) the node marks the controller's values ---
section "settings show on a node"
run 2 "settings show on node 2" 0 "$cli" settings show
has "defaultBondingPolicy from the controller" "$tmp/out" '^settings\.defaultBondingPolicy +"ab" +controller$'
has "a policy parameter from the controller" "$tmp/out" '^settings\.policies\.ab2\.failoverInterval +300 +controller$'
has "an unwritten value is a default" "$tmp/out" '^settings\.policies\.ab\.upDelay +0 +default$'
run 2 "settings show -j on node 2" 0 "$cli" -j settings show
pycheck "settings show -j: SETTING_SOURCE_CONTROLLER" "$tmp/out" \
  "any(e['path']=='settings.defaultBondingPolicy' and e['source']=='SETTING_SOURCE_CONTROLLER' for e in j['effective'])"
run 2 "info on node 2" 0 "$cli" info
has "info: settings from the controller" "$tmp/out" "controller"
run 2 "local settings apply refused while the controller rules" 1 "$cli" settings apply "$tmp/bc.conf"

# --- (4) rotate through the controller ---
section "rotate through the controller"
wait_for 15 links_usable 1 "$id2" 3 || bad "bond 1->2 not 3/3 before rotate"
rig_exec 1 "$cli" -j bond "$id2" show >"$tmp/before.json" 2>/dev/null
active_before=$(jget "$tmp/before.json" "[p['interface']+'/'+p['remoteEndpoint'] for p in j['paths'] if p['active']][0]")
runc 2 "rotate node 1's bond through the controller (from node 2)" 0 --node "$id1" bond "$id2" rotate
has "rotate prints from/to" "$tmp/out" "^active link rotated from ${active_before//./\\.} to eth[0-2]/[0-9a-f:.]+/9800$"
to=$(sed -n 's/^active link rotated from .* to \(.*\)$/\1/p' "$tmp/out")
rig_exec 1 "$cli" -j bond "$id2" show >"$tmp/after.json" 2>/dev/null
pycheck "the node's own bond show agrees" "$tmp/after.json" \
  "[p['interface']+'/'+p['remoteEndpoint'] for p in j['paths'] if p['active']]==['$to'] and '$to'!='$active_before'"
runc 1 "bond show through the controller" 0 -j --node "$id1" bond "$id2" show
pycheck "bond show through the controller: the same active link" "$tmp/out" \
  "[p['interface']+'/'+p['remoteEndpoint'] for p in j['paths'] if p['active']]==['$to']"
runc 1 "bond list through the controller" 0 --node "$id1" bond list
has "bond list through the controller" "$tmp/out" "^$id2 +ab \(active-backup\) +3/3$"
runc 1 "rotate on an unknown peer" 1 --node "$id1" bond 0000000001 rotate
fleet_stop_node 3
wait_for 15 not_connected "$id3" ||
  bad "node 3 still listed as connected after it stopped"
runc 1 "rotate on an offline node" 3 --node "$id3" bond "$id1" rotate
has "offline: the controller's reason" "$tmp/err" "node $id3 is not connected"
runc 1 "rotate on an offline node -j" 3 -j --node "$id3" bond "$id1" rotate
pycheck "offline -j: UNAVAILABLE" "$tmp/out" "j['error']['code']=='UNAVAILABLE'"
ctl_node_start 3
settle 40 || bad "node 3 did not come back: $(cat "$CTL_DIR/nodes.json")"

# --- (5) kill -9 the controller: forwarding goes on, nothing acknowledged is lost ---
section "controller kill -9"
ctl_cli 1 -j settings show >"$tmp/settings-before.json" 2>/dev/null
ctl_kill9
for pair in "1 2" "2 3" "3 1"; do
  read -r a b <<<"$pair"
  if rig_exec "$a" ping -c 3 -i 0.2 -W 1 -q "${OVL[$b]}" >/dev/null 2>&1; then ok; else
    bad "overlay $a -> $b while the controller is down"; fi
done
# A node restarted meanwhile runs on its persisted push.
fleet_stop_node 2
ctl_node_start 2
# A restarted node's nonce counters and bond sequence numbers start at the wall clock, so its peers'
# replay windows and duplicate filters take its traffic at once, however much it sent before.
reach=""
t0=$SECONDS
for pair in "2 1" "2 3" "1 2"; do
  read -r a b <<<"$pair"
  fleet_wait_overlay "$a" "$b" 10 || reach="$reach $a->$b"
done
if [[ -z "$reach" ]]; then ok; echo "ok   node 2, restarted without a controller, reaches its peers after $((SECONDS - t0)) s"; else
  bad "node 2, restarted without a controller, does not reach its peers (overlay ping fails:$reach)"
  for n in 1 2 3; do echo "  node $n:"; rig_exec "$n" "$cli" bond list 2>&1 | sed 's/^/    /'; done
  for ab in "1 $id2" "2 $id1"; do
    read -r a peer <<<"$ab"
    echo "  node $a's bond to $peer (interface active tx rx bad):"
    rig_exec "$a" "$cli" -j bond "$peer" show 2>/dev/null | python3 -c 'import json,sys; [print("   ", p["interface"], p["active"], p["txPackets"], p["rxPackets"], p["badPackets"]) for p in json.load(sys.stdin)["paths"]]'
  done
  tail -20 "$(fleet_log 2)"
fi
run 2 "bond list on the restarted node" 0 "$cli" bond list
has "restarted node: bonds on ab from its saved push" "$tmp/out" "^$id1 +ab \(active-backup\)"
ctl_start --metrics-interval-ms 1000 --operator-tokens "$CTL_DIR/tokens"
t0=$SECONDS
if ctl_wait_up 30; then ok; else bad "restarted controller never answered"; tail -30 "$(ctl_log)"; fi
if settle 60; then ok; echo "ok   every node reconnected and acked $((SECONDS - t0))s after the restart"; else
  bad "not every node reconnected and acked within 60 s:"; sed 's/^/  /' "$CTL_DIR/nodes.json"; fi
ctl_cli 1 -j settings show >"$tmp/settings-after.json" 2>/dev/null
check "settings version and document survived kill -9" \
  "__import__('json').load(open('$tmp/settings-before.json'))==__import__('json').load(open('$tmp/settings-after.json'))" \
  "version $(jget "$tmp/settings-before.json" "j['version']") -> $(jget "$tmp/settings-after.json" "j['version']")"
check "settings version is still v2" "'$(jget "$tmp/settings-after.json" "j['version']")'=='$v2'"
check "overlay addresses kept across the restart" \
  "[n['overlayAddress'].split('/')[0] for n in sorted(__import__('json').load(open('$CTL_DIR/nodes.json'))['nodes'], key=lambda n: n['id'])] == [n['overlayAddress'].split('/')[0] for n in sorted(__import__('json').load(open('$tmp/nodes0.json'))['nodes'], key=lambda n: n['id'])]"
fleet_wait_overlay 1 3 10 && ok || bad "overlay 1 -> 3 after the controller restart"

# --- (6) bad credentials are refused ---
section "bad credentials"
ca2=$tmp/ca2
"$CTL_BIN/fleetbond-controller" ca init --dir "$ca2" --san "10.201.0.$CTL_NODE" >>"$(ctl_log)" 2>&1 &&
  "$CTL_BIN/fleetbond-controller" ca issue --dir "$ca2" --node "$id3" >>"$(ctl_log)" 2>&1 ||
  bad "second CA"
# Node 3 again, with a certificate for its id from another CA: it never joins.
fleet_stop_node 3
echo "=== start with a foreign certificate $(date +%T.%N)" >>"$(fleet_log 3)"
ip netns exec "$(rig_ns 3)" "$FLEET_BIN/fleetbond-node" --home "$(fleet_home 3)" \
  --controller "$(ctl_addr 3)" --controller-ca "$ca/ca.crt" --controller-cert "$ca2/node-$id3.crt" \
  --controller-key "$ca2/node-$id3.key" >"$tmp/node3-foreign.log" 2>&1 &
echo $! >"$(fleet_home 3)/pid"
joined=0
for _ in $(seq 16); do
  sleep 0.5
  ctl_connected "$id3" && joined=1
done
check "a node certificate of another CA never connects" "$joined == 0"
if wait_for 10 grep -qiE "tls|ssl|handshake|certificate" "$tmp/node3-foreign.log"; then ok; else
  bad "node 3 logs no TLS failure:"; tail -10 "$tmp/node3-foreign.log"; fi
grep -iE "tls|ssl|handshake|certificate" "$tmp/node3-foreign.log" | head -2 | sed 's/^/  node 3: /'
fleet_stop_node 3
cat "$tmp/node3-foreign.log" >>"$(fleet_log 3)"
ctl_node_start 3
# A node certificate on the operator API.
run 1 "node certificate on the operator API" 1 "$cli" --controller "$(ctl_addr 1)" --controller-ca "$ca/ca.crt" \
  --cert "$ca/node-$id1.crt" --key "$ca/node-$id1.key" nodes
has "node certificate: refused access" "$tmp/err" "refused access: .*node"
run 1 "node certificate on the operator API -j" 1 "$cli" -j --controller "$(ctl_addr 1)" --controller-ca "$ca/ca.crt" \
  --cert "$ca/node-$id1.crt" --key "$ca/node-$id1.key" nodes
pycheck "node certificate: PERMISSION_DENIED" "$tmp/out" "j['error']['code']=='PERMISSION_DENIED'"
run 1 "no credentials, no --insecure" 2 "$cli" --controller "$(ctl_addr 1)" nodes
has "no credentials: says what to give" "$tmp/err" "TLS options|--insecure"
run 1 "CA only: no operator identity" 1 "$cli" -j --controller "$(ctl_addr 1)" --controller-ca "$ca/ca.crt" nodes
pycheck "CA only: UNAUTHENTICATED" "$tmp/out" "j['error']['code']=='UNAUTHENTICATED'"
run 1 "wrong token" 1 "$cli" --controller "$(ctl_addr 1)" --controller-ca "$ca/ca.crt" --token 0123456789abcdef0123456789abcdef nodes
has "wrong token: did not accept our credentials" "$tmp/err" "did not accept our credentials"
run 1 "wrong token -j" 1 "$cli" -j --controller "$(ctl_addr 1)" --controller-ca "$ca/ca.crt" --token 0123456789abcdef0123456789abcdef nodes
pycheck "wrong token: UNAUTHENTICATED" "$tmp/out" "j['error']['code']=='UNAUTHENTICATED'"
run 2 "the right token from a file" 0 "$cli" --controller "$(ctl_addr 2)" --controller-ca "$ca/ca.crt" --token "@$CTL_DIR/token" nodes
has "token: nodes listed" "$tmp/out" "^$id1 "
run 1 "a plaintext client against the TLS port" 3 "$cli" --controller "$(ctl_addr 1)" --insecure nodes
run 1 "another CA's operator cannot trust this controller" 3 "$cli" --controller "$(ctl_addr 1)" \
  --controller-ca "$ca2/ca.crt" --token "@$CTL_DIR/token" nodes
settle 40 || bad "node 3 did not rejoin with its own certificate: $(cat "$CTL_DIR/nodes.json")"

# --- (7) Prometheus scrapes the controller ---
section "prometheus"
rig_exec 1 curl -sf "http://127.0.0.1:$CTL_METRICS_PORT/metrics" >"$tmp/metrics.txt" && ok || bad "scrape /metrics"
if promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.txt" 2>&1; then ok; else
  bad "promtool check metrics:"; sed 's/^/  /' "$tmp/promtool.txt" | head -20; fi
mkdir -p "$tmp/prom"
cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: fleetbond
    static_configs:
      - targets: ['127.0.0.1:$CTL_METRICS_PORT']
YML
ip netns exec "$(rig_ns 1)" /usr/bin/prometheus --config.file="$tmp/prometheus.yml" \
  --storage.tsdb.path="$tmp/prom" --web.listen-address=127.0.0.1:9090 >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
# promq EXPR: the query's result vector as JSON, in $tmp/q.json.
promq() {
  rig_exec 1 curl -sf --max-time 5 "http://127.0.0.1:9090/api/v1/query" --data-urlencode "query=$1" >"$tmp/q.json"
}
# prom_value EXPR: the single value of an instant query ("" when there is none).
prom_value() {
  promq "$1" && jget "$tmp/q.json" "float(j['data']['result'][0]['value'][1]) if len(j['data']['result'])==1 else ''"
}
prom_has_fleet() {
  promq 'fleetbond_node_connected' &&
    python3 -c 'import json,sys; sys.exit(0 if len(json.load(open(sys.argv[1]))["data"]["result"])==3 else 1)' "$tmp/q.json"
}
if wait_for 30 prom_has_fleet; then ok; else bad "prometheus never had the three nodes"; tail -5 "$tmp/prometheus.log"; fi
promq 'fleetbond_node_connected'
pycheck "fleetbond_node_connected is 1 for each node" "$tmp/q.json" \
  "sorted((r['metric']['node'], r['value'][1]) for r in j['data']['result'])==sorted([('$id1','1'),('$id2','1'),('$id3','1')])"
bond_links() { [[ $(prom_value "fleetbond_bond_links{node=\"$id1\",peer=\"$id2\"}") == 3.0 ]]; }
if wait_for 15 bond_links; then ok; else bad "fleetbond_bond_links{node1,peer node2} is not 3:"; cat "$tmp/q.json"; echo; fi
ctl_nodes "$tmp/nodes-prom.json"
for n in 1 2 3; do
  id=$(fleet_id "$n")
  want=$(ctl_node_field "$tmp/nodes-prom.json" "$id" ackedVersion)
  got=$(prom_value "fleetbond_node_settings_version_acked{node=\"$id\"}")
  check "fleetbond_node_settings_version_acked of node $n is the CLI's acked version" "'$got' != '' and float('$got') == float('$want')" "prometheus $got, cli $want"
done
tx_expr="sum(fleetbond_path_tx_bytes_total{node=\"$id1\",peer=\"$id2\"})"
tx1=$(prom_value "$tx_expr")
traffic 1 send --to "${OVL[2]}" --ports 5001 --rate 500 --seconds 6 --size 1000 >/dev/null &
load=$!
tx_grew() { local v; v=$(prom_value "$tx_expr"); [[ -n "$v" && -n "$tx1" ]] && python3 -c "import sys; sys.exit(0 if $v > $tx1 + 1000000 else 1)"; }
if wait_for 15 tx_grew; then ok; echo "ok   path tx bytes grew while traffic flowed ($tx1 -> $(prom_value "$tx_expr"))"; else
  bad "fleetbond_path_tx_bytes_total did not grow by 1 MB (3 MB sent): $tx1 -> $(prom_value "$tx_expr")"; fi
wait $load 2>/dev/null
kill "$prom_pid" 2>/dev/null
wait "$prom_pid" 2>/dev/null
prom_pid=

# --- (8) the documented Python example, over TLS with the operator certificate ---
section "python example"
gen=$tmp/gen
mkdir -p "$gen"
if protoc -I "$src/proto" --python_out="$gen" --grpc_python_out="$gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin "$src"/proto/fleetbond/v1/*.proto 2>"$tmp/protoc.err"; then ok; else
  bad "protoc python stubs"; cat "$tmp/protoc.err"; fi
touch "$gen/fleetbond/__init__.py" "$gen/fleetbond/v1/__init__.py"
before=$(ctl_max_desired)
rig_exec 2 env PYTHONPATH="$gen" timeout 120 /usr/bin/python3 "$here/python/fleet_example.py" \
  --controller "$(ctl_addr 2)" --ca "$ca/ca.crt" --cert "$ca/operator-$CTL_OPERATOR.crt" \
  --key "$ca/operator-$CTL_OPERATOR.key" --policy ab2 --rotate "$id1" "$id3" >"$tmp/py.out" 2>"$tmp/py.err"
rc=$?
sed 's/^/  python: /' "$tmp/py.out"
if [[ $rc -eq 0 ]]; then ok; else bad "python example exit $rc"; sed 's/^/  /' "$tmp/py.err"; fi
has "python: lists the nodes" "$tmp/py.out" "^node $id2 +connected +overlay ${OVL[2]//./\\.}(/[0-9]+)? "
has "python: changed the default policy" "$tmp/py.out" "^settings version $v2 -> $((v2 + 1)): default policy ab2$"
has "python: every node acked" "$tmp/py.out" "^all 3 connected nodes run the new settings"
has "python: rotated" "$tmp/py.out" "^node $id1, bond to $id3: active link rotated from eth[0-2]/.* to eth[0-2]/"
ctl_wait_acked 5 "$before" "$id1" "$id2" "$id3" && ok || bad "after the python example, nodes have not acked a newer push"
for n in 1 2 3; do
  if wait_for 10 bonds_are "$n" ab2; then ok; else bad "node $n's bonds are not on ab2 after the python example:"; cat "$tmp/b$n.json"; fi
done
pyto=$(sed -n 's/^node .*: active link rotated from .* to \(.*\)$/\1/p' "$tmp/py.out")
rig_exec 1 "$cli" -j bond "$id3" show >"$tmp/py-bond.json" 2>/dev/null
pycheck "python rotate: node 1's bond agrees" "$tmp/py-bond.json" \
  "[p['interface']+'/'+p['remoteEndpoint'] for p in j['paths'] if p['active']]==['$pyto']"

# --- teardown: stop everything cleanly; no sanitizer report anywhere ---
section "teardown"
for n in 1 2 3; do fleet_stop_node "$n"; done
ctl_stop
rc=$?
check "controller exits 0 on SIGTERM" "$rc == 0" "exit $rc"
for f in "$(ctl_log)" "$(fleet_log 1)" "$(fleet_log 2)" "$(fleet_log 3)"; do
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:|terminate called|Segmentation" "$f"; then
    bad "sanitizer report or crash in $f:"; grep -E -A8 "Sanitizer|runtime error:|terminate called" "$f" | head -30
  else ok; fi
done
if ((fail > 0)); then
  echo "--- controller log (last 25 lines)"
  tail -25 "$(ctl_log)"
  for n in 1 2 3; do
    echo "--- node $n log (last 15 lines)"
    tail -15 "$(fleet_log "$n")"
  done
fi
echo "$pass passed, $fail failed (${SECONDS}s)"
[[ $fail -eq 0 ]]
