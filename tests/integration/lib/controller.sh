# shellcheck shell=bash
# controller.sh: a fleetbond-controller on the rig and nodes that join it (source rig.sh and
# fleet.sh first). The controller runs in node CTL_NODE's namespace: that node reaches it on
# 127.0.0.1, every other node on CTL_NODE's address on link 0 (10.201.0.CTL_NODE). Every wait is
# bounded in time.
#
#   CTL_BIN=build/controller CTL_CLI=build/node/fleetbond-cli CTL_DIR=/tmp/x/ctl
#   ctl_ca_init                       # CA in $CTL_DIR/ca, server certificate for link 0's address
#   ctl_issue_node 1                  # node 1's certificate (its identity must exist)
#   ctl_start [EXTRA FLAGS...]        # TLS, data in $CTL_DIR/data, log in $CTL_DIR/log
#   ctl_wait_up 20                    # until the operator API answers
#   ctl_node_start 1                  # fleetbond-node --controller ... with node 1's certificate
#   ctl_wait_acked 30 0 ID...         # every ID connected, acked == desired > 0
#   ctl_cli 2 nodes -j                # fleetbond-cli --controller ... (operator certificate)
#   ctl_kill9 / ctl_stop              # crash or stop the controller
#
# A node's controller credentials are $CTL_DIR/ca/node-<id>.{crt,key}; ctl_node_start uses them
# unless CTL_NODE_TLS_<n> names other flags (see ctl_node_start).

CTL_BIN=${CTL_BIN:-build/controller}
CTL_CLI=${CTL_CLI:-build/node/fleetbond-cli}
CTL_DIR=${CTL_DIR:-$(mktemp -d /tmp/fleetbond-ctl.XXXXXX)}
CTL_NODE=${CTL_NODE:-1}
CTL_PORT=${CTL_PORT:-9900}
CTL_METRICS_PORT=${CTL_METRICS_PORT:-9902}
CTL_OPERATOR=${CTL_OPERATOR:-e2e}

ctl_ca() { echo "$CTL_DIR/ca"; }
ctl_log() { echo "$CTL_DIR/log"; }
# ctl_addr NODE: the controller's address as NODE dials it.
ctl_addr() {
  if [[ $1 -eq $CTL_NODE ]]; then echo "127.0.0.1:$CTL_PORT"; else echo "10.201.0.$CTL_NODE:$CTL_PORT"; fi
}

# ctl_ca_init: the fleet CA, with the controller's certificate valid for its link-0 address.
ctl_ca_init() {
  "$CTL_BIN/fleetbond-controller" ca init --dir "$(ctl_ca)" --san "10.201.0.$CTL_NODE" \
    >>"$(ctl_log)" 2>&1 &&
    "$CTL_BIN/fleetbond-controller" ca issue --dir "$(ctl_ca)" --operator "$CTL_OPERATOR" \
      >>"$(ctl_log)" 2>&1
}
# ctl_issue_node NODE: a certificate for the node's id (from its id.json).
ctl_issue_node() {
  "$CTL_BIN/fleetbond-controller" ca issue --dir "$(ctl_ca)" --node "$(fleet_id "$1")" \
    >>"$(ctl_log)" 2>&1
}

# ctl_start [FLAGS...]: the controller in CTL_NODE's namespace, TLS, on the same data every time.
ctl_start() {
  mkdir -p "$CTL_DIR/data"
  local ca
  ca=$(ctl_ca)
  echo "=== start $(date +%T.%N)" >>"$(ctl_log)"
  ip netns exec "$(rig_ns "$CTL_NODE")" "$CTL_BIN/fleetbond-controller" --data "$CTL_DIR/data" \
    --listen "0.0.0.0:$CTL_PORT" --metrics-listen "127.0.0.1:$CTL_METRICS_PORT" \
    --tls-ca "$ca/ca.crt" --tls-cert "$ca/controller.crt" --tls-key "$ca/controller.key" "$@" \
    >>"$(ctl_log)" 2>&1 &
  echo $! >"$CTL_DIR/pid"
}
ctl_alive() { [[ -f "$CTL_DIR/pid" ]] && kill -0 "$(cat "$CTL_DIR/pid")" 2>/dev/null; }
# ctl_term PIDFILE: SIGTERM to the process PIDFILE names (a child of this shell), then (after
# 10 s) SIGKILL; removes PIDFILE. Returns the process's exit status.
ctl_term() {
  local pid rc
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  rm -f "$1"
  return $rc
}
# ctl_stop: ctl_term of the controller, when it was started. Returns its exit status.
ctl_stop() {
  [[ -f "$CTL_DIR/pid" ]] || return 0
  ctl_term "$CTL_DIR/pid"
}
# ctl_kill9: a crash; nothing gets to flush.
ctl_kill9() {
  [[ -f "$CTL_DIR/pid" ]] || return 0
  local pid
  pid=$(cat "$CTL_DIR/pid")
  echo "=== kill -9 $(date +%T.%N)" >>"$(ctl_log)"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -f "$CTL_DIR/pid"
}

# ctl_cli NODE ARGS...: fleetbond-cli against the controller from NODE's namespace, with the
# operator certificate; output on stdout/stderr. Bounded by 30 s.
ctl_cli() {
  local node=$1 ca
  shift
  ca=$(ctl_ca)
  rig_exec "$node" timeout 30 "$CTL_CLI" --controller "$(ctl_addr "$node")" --controller-ca "$ca/ca.crt" \
    --cert "$ca/operator-$CTL_OPERATOR.crt" --key "$ca/operator-$CTL_OPERATOR.key" "$@"
}
# ctl_cli_raw NODE ARGS...: fleetbond-cli --controller ADDR with only the given credentials.
ctl_cli_raw() {
  local node=$1
  shift
  rig_exec "$node" timeout 30 "$CTL_CLI" --controller "$(ctl_addr "$node")" "$@"
}

# ctl_wait_up SECONDS: until the operator API answers.
ctl_wait_up() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    ctl_alive || return 1
    ctl_cli "$CTL_NODE" nodes >/dev/null 2>&1 && return 0
    sleep 0.3
  done
  return 1
}

# ctl_node_start NODE [CONTROLLERS]: fleetbond-node in controller mode, its own certificate (or
# the flags in CTL_NODE_TLS, a bash array name, when set: e.g. a certificate of another CA),
# joining CONTROLLERS ("a:9900,b:9900"; default: this controller, ctl_addr NODE).
ctl_node_start() {
  local node=$1 id ca tls
  id=$(fleet_id "$node")
  ca=$(ctl_ca)
  tls=(--controller-ca "$ca/ca.crt" --controller-cert "$ca/node-$id.crt"
       --controller-key "$ca/node-$id.key")
  echo "=== start $(date +%T.%N)" >>"$(fleet_log "$node")"
  # A plain command (not rig_exec) so that $! is the daemon itself (fleet_start_node says why).
  ip netns exec "$(rig_ns "$node")" "$FLEET_BIN/fleetbond-node" --home "$(fleet_home "$node")" \
    --controller "${2:-$(ctl_addr "$node")}" "${tls[@]}" >>"$(fleet_log "$node")" 2>&1 &
  echo $! >"$(fleet_home "$node")/pid"
}

# ctl_nodes FILE: `nodes -j` into FILE (from CTL_NODE's namespace).
ctl_nodes() { ctl_cli "$CTL_NODE" -j nodes >"$1" 2>/dev/null; }

# ctl_acked FILE MIN ID...: in FILE (nodes -j), every ID is connected and acked == desired > MIN.
ctl_acked() {
  local file=$1 min=$2
  shift 2
  python3 - "$file" "$min" "$@" <<'PY'
import json, sys
nodes = {n["id"]: n for n in json.load(open(sys.argv[1]))["nodes"]}
lo = int(sys.argv[2])
ok = all(i in nodes and nodes[i]["connected"] and int(nodes[i]["ackedVersion"]) == int(nodes[i]["desiredVersion"]) > lo
         for i in sys.argv[3:])
sys.exit(0 if ok else 1)
PY
}

# ctl_wait_acked SECONDS MIN ID...: until ctl_acked holds (bounded); the last nodes -j stays in
# $CTL_DIR/nodes.json.
ctl_wait_acked() {
  local deadline=$((SECONDS + $1)) min=$2
  shift 2
  while ((SECONDS < deadline)); do
    ctl_nodes "$CTL_DIR/nodes.json" && ctl_acked "$CTL_DIR/nodes.json" "$min" "$@" && return 0
    sleep 0.3
  done
  return 1
}

# ctl_max_desired: the highest desired push version in the fleet now (0 when none).
ctl_max_desired() {
  ctl_nodes "$CTL_DIR/max.json" || { echo 0; return; }
  python3 -c 'import json,sys; print(max([int(n["desiredVersion"]) for n in json.load(open(sys.argv[1]))["nodes"]] + [0]))' \
    "$CTL_DIR/max.json"
}

# ctl_node_field FILE ID KEY: a field of one node in a nodes -j document.
ctl_node_field() {
  python3 -c 'import json,sys; print([n for n in json.load(open(sys.argv[1]))["nodes"] if n["id"]==sys.argv[2]][0][sys.argv[3]])' \
    "$1" "$2" "$3" 2>/dev/null
}

# ctl_connected ID: the controller lists ID as connected now.
ctl_connected() {
  ctl_nodes "$CTL_DIR/c.json" && [[ $(ctl_node_field "$CTL_DIR/c.json" "$1" connected) == True ]]
}
