#!/usr/bin/env bash
# The Grafana dashboard and the alert rules against a live fleet and a real Prometheus (issue 7):
# a TLS controller and three nodes (each with its own metrics endpoint) on the rig, traffic from
# node 1 to node 2, Debian's Prometheus scraping them every 2 s with deploy/prometheus/prometheus.yml
# (only targets, intervals and the rule file's path replaced) and loading deploy/prometheus/
# alerts.yml. Once every rate() window holds samples and a failover has happened, every panel
# query, variable query and annotation of deploy/grafana/dashboards/fleetbond.json must return
# data for real node/peer/link values (tests/deploy/check_dashboard.py), and every alert
# expression must evaluate without error.
#   deploy_dashboard_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1
src=$2
here=$(cd "$(dirname "$0")" && pwd)
for tool in prometheus promtool; do
  command -v "$tool" >/dev/null ||
    { echo "skipped: $tool is not installed (Debian package prometheus; scripts/setup.sh --test)"; exit 77; }
done
# A prefix of our own, ended by "-" so that rig_down's prefix match cannot take the namespaces
# of a run whose pid starts with ours: other rig tests running at the same time never collide.
RIG_PREFIX=fbdash$$-
source "$here/lib/ctl_test.sh"
ctl_test_init "$build" fb-deploy-dash  # exit 77 without root
mkdir -p "$tmp/prom"
source "$here/lib/node_test.sh"  # TEST_LIB
source "$here/lib/controller.sh"
checker=$src/tests/deploy/check_dashboard.py
dashboard=$src/deploy/grafana/dashboards/fleetbond.json
alerts=$src/deploy/prometheus/alerts.yml
NODE_METRICS_PORT=9802
PROM=http://127.0.0.1:9090  # in node 1's namespace, like the controller's metrics
SCRAPE=2s
RATE_INTERVAL=10s  # Grafana's $__rate_interval for a 2 s scrape: at least 4 scrapes

prom_pid=
load_pid=
cleanup() {
  [[ -n "$load_pid" ]] && kill "$load_pid" 2>/dev/null
  [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null
  ctl_test_teardown
}
# promq EXPR: an instant query from node 1's namespace; the JSON answer in $tmp/q.json.
promq() {
  rig_exec 1 curl -sf --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" >"$tmp/q.json"
}
# prom_true EXPR: EXPR returns at least one sample.
prom_true() {
  promq "$1" && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["data"]["result"] else 1)' "$tmp/q.json"
}
# prom_label EXPR LABEL: LABEL of EXPR's first result ("" if none).
prom_label() {
  promq "$1" && python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; print(r[0]["metric"].get(sys.argv[2], "") if r else "")' "$tmp/q.json" "$2"
}
WAIT_FOR_POLL=0.5  # wait_for polls Prometheus every 0.5 s
die() { bad "$*"; exit 1; }

rig_up 3 3
trap cleanup EXIT  # after rig_up, which installs its own EXIT trap (rig_down; cleanup calls it)
ctl_test_identities 3
id1=$(fleet_id 1)
id2=$(fleet_id 2)
id3=$(fleet_id 3)
echo "nodes: 1=$id1 2=$id2 3=$id3"

# node_start NODE: ctl_node_start's node (controller mode, its certificate) with its own metrics
# endpoint on every address of its namespace, so Prometheus in node 1's namespace reaches it.
node_start() {
  local node=$1 id ca
  id=$(fleet_id "$node")
  ca=$(ctl_ca)
  ip netns exec "$(rig_ns "$node")" "$FLEET_BIN/fleetbond-node" --home "$(fleet_home "$node")" \
    --controller "$(ctl_addr "$node")" --controller-ca "$ca/ca.crt" --controller-cert "$ca/node-$id.crt" \
    --controller-key "$ca/node-$id.key" --metrics-listen "0.0.0.0:$NODE_METRICS_PORT" \
    >>"$(fleet_log "$node")" 2>&1 &
  echo $! >"$(fleet_home "$node")/pid"
}

section "fleet up: controller, three nodes with metrics endpoints"
{ ctl_ca_init && ctl_issue_node 1 && ctl_issue_node 2 && ctl_issue_node 3; } ||
  { tail -20 "$(ctl_log)"; die "ca init / ca issue"; }
ctl_start --metrics-interval-ms 1000
ctl_wait_up 30 || { tail -30 "$(ctl_log)"; die "controller never answered"; }
for n in 1 2 3; do
  node_start "$n"
  ctl_wait_acked 40 0 "$(fleet_id "$n")" ||
    { cat "$CTL_DIR/nodes.json"; tail -20 "$(fleet_log "$n")"; die "node $n never connected and acked"; }
done
ok "three nodes connected and acked"
cat >"$tmp/fleet.conf" <<'CONF'
{"settings": {"defaultBondingPolicy": "fast-ab",
  "policies": {"fast-ab": {"basePolicy": "active-backup", "failoverInterval": 500}}}}
CONF
before=$(ctl_max_desired)
ctl_cli 1 settings apply "$tmp/fleet.conf" >"$tmp/apply.out" 2>&1 || { cat "$tmp/apply.out"; die "settings apply"; }
ctl_wait_acked 30 "$before" "$id1" "$id2" "$id3" || { cat "$CTL_DIR/nodes.json"; die "not every node acked fast-ab"; }
ctl_nodes "$tmp/nodes.json"
declare -A OVL
for n in 1 2 3; do
  OVL[$n]=$(ctl_node_field "$tmp/nodes.json" "$(fleet_id "$n")" overlayAddress)
  OVL[$n]=${OVL[$n]%%/*}
done
fleet_overlay() { echo "${OVL[$1]}"; }
fleet_wait_overlay 1 2 20 || die "overlay 1 -> 2"
fleet_wait_overlay 1 3 20 || die "overlay 1 -> 3"
ok "fleet on fast-ab, overlay reachable"
# Traffic for the rest of the test (bounded; killed at teardown): bonds that carry something.
# A plain command, not the traffic function, so that $! is the sender (fleet_start_node says why).
ip netns exec "$(rig_ns 1)" timeout 280 python3 "$TEST_LIB/traffic.py" send --to "${OVL[2]}" \
  --ports 5001 --rate 200 --seconds 270 --size 500 >/dev/null 2>&1 &
load_pid=$!

section "prometheus with deploy/prometheus/prometheus.yml"
promtool check rules "$alerts" >"$tmp/check-rules.txt" 2>&1 && ok "promtool check rules alerts.yml" ||
  { bad "promtool check rules"; cat "$tmp/check-rules.txt"; }
# The committed config, with only what the rig decides replaced: targets (controller and node
# metrics as node 1's namespace reaches them), intervals, and the rule file's absolute path.
python3 - "$src/deploy/prometheus/prometheus.yml" "$tmp/prometheus.yml" "$alerts" "$SCRAPE" \
  "127.0.0.1:$CTL_METRICS_PORT" "127.0.0.1:$NODE_METRICS_PORT" "10.201.0.2:$NODE_METRICS_PORT" \
  "10.201.0.3:$NODE_METRICS_PORT" <<'PY' || die "cannot derive the effective Prometheus config"
import sys, yaml
src, out, rules, interval, ctl, *nodes = sys.argv[1:]
c = yaml.safe_load(open(src))
c["global"]["scrape_interval"] = c["global"]["evaluation_interval"] = interval
c["rule_files"] = [rules]
jobs = {j["job_name"]: j for j in c["scrape_configs"]}
assert set(jobs) == {"fleetbond-controller", "fleetbond-node"}, f"jobs changed: {sorted(jobs)}; update this test"
for name, targets in (("fleetbond-controller", [ctl]), ("fleetbond-node", nodes)):
    j = jobs[name]
    j["scrape_timeout"] = interval
    assert len(j["static_configs"]) == 1, f"{name}: one static_configs entry expected"
    j["static_configs"][0]["targets"] = targets
yaml.safe_dump(c, open(out, "w"), sort_keys=False)
PY
promtool check config "$tmp/prometheus.yml" >"$tmp/check-config.txt" 2>&1 && ok "promtool check config (effective)" ||
  { bad "promtool check config (effective)"; cat "$tmp/check-config.txt"; }
ip netns exec "$(rig_ns 1)" prometheus --config.file="$tmp/prometheus.yml" \
  --storage.tsdb.path="$tmp/prom" --web.listen-address=127.0.0.1:9090 >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
targets_up() {
  prom_true 'up{job="fleetbond-controller"} == 1' &&
    prom_true 'count(up{job="fleetbond-node"} == 1) == 3'
}
wait_for 30 targets_up || { tail -20 "$tmp/prometheus.log"; cat "$tmp/q.json"; die "Prometheus never scraped the controller and three nodes"; }
ok "Prometheus scrapes the controller and three nodes (${SECONDS}s)"
rules_loaded() {
  rig_exec 1 curl -sf --max-time 5 "$PROM/api/v1/rules" >"$tmp/rules.json" &&
    python3 -c '
import json, sys
rules = [r for g in json.load(open(sys.argv[1]))["data"]["groups"] for r in g["rules"]]
sys.exit(0 if len(rules) == 9 and all(r.get("health") == "ok" and r.get("lastEvaluation", "").startswith("2") and not r["lastEvaluation"].startswith("0001") for r in rules) else 1)' "$tmp/rules.json"
}
if wait_for 20 rules_loaded; then ok "alerts.yml loaded: 9 rules evaluated with health ok"; else
  bad "alerts.yml: not 9 rules evaluated with health ok"; head -c 2000 "$tmp/rules.json"; echo; fi

section "samples for every rate() window"
# The bond 1 -> 2 (traffic on it) has latency on every link and 3+ samples of each counter in a
# $__rate_interval window, from both jobs.
enough_samples() {
  prom_true "count(count_over_time(fleetbond_path_latency_seconds{node=\"$id1\",peer=\"$id2\"}[$RATE_INTERVAL]) >= 3) >= 6" &&
    prom_true "min(count_over_time(fleetbond_path_tx_bytes_total[$RATE_INTERVAL])) >= 3" &&
    prom_true "min(count_over_time(fleetbond_controller_pushes_total[$RATE_INTERVAL])) >= 3" &&
    prom_true "sum(rate(fleetbond_path_tx_bytes_total{node=\"$id1\",peer=\"$id2\"}[$RATE_INTERVAL])) > 20000"
}
if wait_for 60 enough_samples; then ok "enough samples: latency of 3 links from 2 jobs, counters with 3+ samples in $RATE_INTERVAL, traffic flowing (${SECONDS}s)"; else
  bad "not enough samples within 60 s (last query: $(head -c 300 "$tmp/q.json"))"; fi

section "a failover"
rig_exec 1 "$cli" -j bond "$id2" show >"$tmp/ab.json" 2>/dev/null
active=$(python3 -c 'import json,sys; print([p["interface"] for p in json.load(open(sys.argv[1]))["paths"] if p["active"]][0])' "$tmp/ab.json" 2>/dev/null)
[[ $active == eth[0-2] ]] || die "no active link on node 1's bond to node 2: $(head -c 500 "$tmp/ab.json")"
failovers() { promq "max(fleetbond_bond_failovers_total{node=\"$id1\",peer=\"$id2\"})" &&
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; print(int(float(r[0]["value"][1])) if r else -1)' "$tmp/q.json"; }
f0=$(failovers)
rig_link_down 1 "${active#eth}"
failover_seen() { local f; f=$(failovers); [[ -n "$f" && $f -gt $f0 ]]; }
if wait_for 30 failover_seen; then ok "failover of node 1's bond to node 2 off $active seen by Prometheus ($f0 -> $(failovers))"; else
  bad "no failover in Prometheus within 30 s of $active going down (failovers $f0 -> $(failovers))"; fi
rig_link_up 1 "${active#eth}"
# A settings push just before the check, so the push-to-ack histogram has a rate in the window.
cat >"$tmp/fleet2.conf" <<'CONF'
{"settings": {"defaultBondingPolicy": "fast-ab",
  "policies": {"fast-ab": {"basePolicy": "active-backup", "failoverInterval": 400}}}}
CONF
before=$(ctl_max_desired)
ctl_cli 1 settings apply "$tmp/fleet2.conf" >"$tmp/apply.out" 2>&1 || bad "second settings apply: $(cat "$tmp/apply.out")"
ctl_wait_acked 30 "$before" "$id1" "$id2" "$id3" || bad "not every node acked the second push"
wait_for 15 prom_true "increase(fleetbond_controller_push_to_ack_seconds_count[$RATE_INTERVAL]) > 0" ||
  bad "the push's acks never reached fleetbond_controller_push_to_ack_seconds_count"

section "the dashboard's queries with real variable values"
# node and peer: the bond that failed over, as Prometheus labels it; link: one of its links.
node=$(prom_label "max by (node, peer) (fleetbond_bond_failovers_total) > 0" node)
peer=$(prom_label "max by (node, peer) (fleetbond_bond_failovers_total{node=\"$node\"}) > 0" peer)
link=$(prom_label "max by (link) (fleetbond_path_latency_seconds{node=\"$node\",peer=\"$peer\"})" link)
echo "variables: node=$node peer=$peer link=$link"
[[ -n "$node" && -n "$peer" && -n "$link" ]] || die "no node/peer/link with a failover in Prometheus"
rig_exec 1 timeout 60 python3 "$checker" "$dashboard" --provisioning "$src/deploy/grafana/provisioning" \
  --prometheus "$PROM" --var "node=$node" --var "peer=$peer" --var "link=$link" \
  --rate-interval "$RATE_INTERVAL" --interval "$SCRAPE" --range 3m --alerts "$alerts" >"$tmp/check.txt" 2>&1
rc=$?
sed 's/^/  /' "$tmp/check.txt"
panels=$(grep -c '^ok   panel ' "$tmp/check.txt")
variables=$(grep -c '^ok   variable ' "$tmp/check.txt")
annotations=$(grep -c '^ok   annotation ' "$tmp/check.txt")
rules=$(grep -c '^ok   rule ' "$tmp/check.txt")
want_targets=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(len(p.get("targets", [])) for p in d["panels"] if p["type"] != "row"))' "$dashboard")
if [[ $rc -eq 0 && $panels -eq $want_targets && $variables -eq 3 && $annotations -ge 1 && $rules -eq 9 ]]; then
  ok "checker: $panels/$want_targets panel queries, $variables variable queries and $annotations annotation(s) non-empty; $rules alert expressions valid"
else
  bad "checker exit $rc: $panels/$want_targets panel queries, $variables/3 variables, $annotations annotations, $rules/9 rules ok"
fi
# The non-empty requirement bites: a node id that does not exist leaves the bond panels empty.
rig_exec 1 timeout 60 python3 "$checker" "$dashboard" --prometheus "$PROM" --var node=0000000000 \
  --var "peer=$peer" --var "link=$link" --rate-interval "$RATE_INTERVAL" --interval "$SCRAPE" \
  --range 3m >"$tmp/check-bad.txt" 2>&1
rc=$?
if [[ $rc -eq 1 ]] && grep -q "^FAIL panel .*Latency per link.*empty result" "$tmp/check-bad.txt"; then
  ok "checker refuses an unknown node ($(grep -c '^FAIL' "$tmp/check-bad.txt") failures)"
else
  bad "checker with node=0000000000: exit $rc"; tail -15 "$tmp/check-bad.txt"
fi

section "teardown"
kill "$load_pid" 2>/dev/null
wait "$load_pid" 2>/dev/null
load_pid=
kill "$prom_pid" 2>/dev/null
wait "$prom_pid" 2>/dev/null
prom_pid=
for n in 1 2 3; do fleet_stop_node "$n"; done
ctl_stop
rc=$?
[[ $rc -eq 0 ]] && ok "controller exits 0 on SIGTERM" || bad "controller exit $rc on SIGTERM"
for f in "$(ctl_log)" "$(fleet_log 1)" "$(fleet_log 2)" "$(fleet_log 3)"; do
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:|terminate called|Segmentation" "$f"; then
    bad "sanitizer report or crash in $f:"; grep -E -A8 "Sanitizer|runtime error:|terminate called" "$f" | head -30
  else ok "no sanitizer report in $(basename "$(dirname "$f")")/$(basename "$f")"; fi
done
echo "$pass passed, $fail failed (${SECONDS}s)"
[[ $fail -eq 0 ]]
