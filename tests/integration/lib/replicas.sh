# shellcheck shell=bash
# replicas.sh: controller replicas on the rig (source rig.sh, fleet.sh and controller.sh first;
# the replicas use controller.sh's CA, $CTL_DIR/ca). Replica NAME runs in node REP_NODE[NAME]'s
# namespace on port REP_PORT[NAME] (the test declares both associative arrays); the other nodes
# reach it on that node's link-0 address. Its data is $REP_DIR/NAME, its log $REP_DIR/NAME.log,
# its pid $REP_DIR/NAME.pid.
#
#   REP_DIR=$tmp
#   declare -A REP_NODE=([ctl-a]=1 [ctl-b]=2) REP_PORT=([ctl-a]=9900 [ctl-b]=9900)
#   rep_run ctl-a --listen 0.0.0.0:9900 ...   # fleetbond-controller --data $REP_DIR/ctl-a ...
#   rep_cli ctl-a -j nodes                    # fleetbond-cli against it (operator certificate)
#   rep_kill9 ctl-a / rep_term ctl-a          # crash it, or SIGTERM (drain) and its exit status
#
# REP_CLI_LOCAL=1: rep_cli dials 127.0.0.1:REP_PORT[NAME] rather than rep_addr.
# shellcheck disable=SC2154  # REP_NODE, REP_PORT: the test's

# rep_addr NAME: the replica's address as the nodes and the other replicas dial it.
rep_addr() { echo "10.201.0.${REP_NODE[$1]}:${REP_PORT[$1]}"; }
# rep_local NAME: the replica's address from its own namespace.
rep_local() { echo "127.0.0.1:${REP_PORT[$1]}"; }

# rep_run NAME FLAGS...: fleetbond-controller --data $REP_DIR/NAME FLAGS... in the background, in
# REP_NODE[NAME]'s namespace (the flags say how it listens, stores and proves itself).
rep_run() {
  local r=$1
  shift
  mkdir -p "$REP_DIR/$r"
  echo "=== start $(date +%T.%N)" >>"$REP_DIR/$r.log"
  ip netns exec "$(rig_ns "${REP_NODE[$r]}")" "$CTL_BIN/fleetbond-controller" --data "$REP_DIR/$r" \
    "$@" >>"$REP_DIR/$r.log" 2>&1 &
  echo $! >"$REP_DIR/$r.pid"
}
# rep_alive NAME: the replica's process runs.
rep_alive() { [[ -f "$REP_DIR/$1.pid" ]] && kill -0 "$(cat "$REP_DIR/$1.pid")" 2>/dev/null; }
# rep_kill9 NAME: a crash; nothing gets to flush.
rep_kill9() {
  echo "=== kill -9 $(date +%T.%N)" >>"$REP_DIR/$1.log"
  kill -9 "$(cat "$REP_DIR/$1.pid")" 2>/dev/null
  wait "$(cat "$REP_DIR/$1.pid")" 2>/dev/null
  rm -f "$REP_DIR/$1.pid"
}
# rep_term NAME: SIGTERM (drain, then stop), SIGKILL after 10 s (ctl_term); the exit status.
rep_term() { ctl_term "$REP_DIR/$1.pid"; }
# rep_kill_all NAME...: kill -9 those of the replicas that have a pid file (for a cleanup trap).
rep_kill_all() {
  local r
  for r in "$@"; do [[ -f "$REP_DIR/$r.pid" ]] && kill -9 "$(cat "$REP_DIR/$r.pid")" 2>/dev/null; done
}

# rep_cli NAME ARGS...: fleetbond-cli against replica NAME with the operator certificate, from
# the replica's namespace; bounded by 30 s.
rep_cli() {
  local r=$1 ca addr
  shift
  ca=$(ctl_ca)
  if [[ ${REP_CLI_LOCAL:-0} == 1 ]]; then addr=$(rep_local "$r"); else addr=$(rep_addr "$r"); fi
  rig_exec "${REP_NODE[$r]}" timeout 30 "$CTL_CLI" --controller "$addr" --controller-ca "$ca/ca.crt" \
    --cert "$ca/operator-$CTL_OPERATOR.crt" --key "$ca/operator-$CTL_OPERATOR.key" "$@"
}

# rep_usable NAME NODE_ID PEER N: through replica NAME, NODE_ID's bond to PEER has >= N usable
# links (the bond show answer stays in $REP_DIR/u.json).
rep_usable() {
  rep_cli "$1" -j --node "$2" bond "$3" show >"$REP_DIR/u.json" 2>/dev/null &&
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if s["usableLinks"]>=int(sys.argv[2]) else 1)' \
      "$REP_DIR/u.json" "$4"
}
