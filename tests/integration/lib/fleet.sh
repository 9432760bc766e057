# fleet.sh: a running fleetbond fleet on the rig (source rig.sh first).
#
#   FLEET_BIN=build/release/node   (where fleetbond-node is)
#   fleet_up 2 3 '{"defaultBondingPolicy": "active-backup"}'   # nodes, links, settings object
#   fleet_exec 1 ping -c 3 "$(fleet_overlay 2)"
#   fleet_restart 1 '{...new settings...}'
#   fleet_down                                               # (rig_down does it too)
#
# Node n's home is $FLEET_DIR/n (identity, local.conf, log); its overlay address is 10.147.0.n,
# and every other node is its static peer, reachable on every link.

FLEET_BIN=${FLEET_BIN:-build/release/node}
FLEET_DIR=${FLEET_DIR:-$(mktemp -d /tmp/fleetbond-fleet.XXXXXX)}
FLEET_NODES=0

fleet_overlay() { echo "10.147.0.$1"; }
fleet_exec() { rig_exec "$@"; }
fleet_home() { echo "$FLEET_DIR/$1"; }
fleet_log() { echo "$FLEET_DIR/$1/log"; }
# fleet_id NODE: the node's 10-hex id (from its --init output).
fleet_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$FLEET_DIR/$1/id.json"; }

# fleet_write_conf NODE SETTINGS_JSON: local.conf for NODE with every other node as a peer.
# Peers' endpoints are their addresses on links 0..FLEET_ENDPOINT_LINKS-1 (default: the rig's
# links); set it higher to list links that rig_add_link will create while the fleet runs.
fleet_write_conf() {
  local node=$1 settings=$2
  python3 - "$FLEET_DIR" "$FLEET_NODES" "${FLEET_ENDPOINT_LINKS:-$RIG_LINKS}" "$RIG_IPV6_LINK" "$node" "$settings" <<'PY'
import json, sys
d, nodes, links, v6link, me, settings = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
peers = {}
for n in range(1, nodes + 1):
    if n == me:
        continue
    ident = json.load(open(f"{d}/{n}/id.json"))
    eps = [f"fd20:0:0:{k}::{n}/9800" if k == v6link else f"10.201.{k}.{n}/9800" for k in range(links)]
    peers[ident["id"]] = {"publicKey": ident["publicKey"], "overlay": f"10.147.0.{n}", "endpoints": eps}
conf = {"settings": json.loads(settings), "overlay": f"10.147.0.{me}/24", "peers": peers}
json.dump(conf, open(f"{d}/{me}/local.conf", "w"), indent=1)
PY
}

fleet_start_node() {
  local node=$1
  # A plain command (not the rig_exec function) so that $! is the daemon itself: ip netns exec
  # execs it, and fleet_stop_node's SIGTERM reaches it (a backgrounded function would be a
  # subshell, and killing that would leave the daemon running).
  ip netns exec "$(rig_ns "$node")" "$FLEET_BIN/fleetbond-node" --home "$(fleet_home "$node")" \
    >>"$(fleet_log "$node")" 2>&1 &
  echo $! >"$(fleet_home "$node")/pid"
}

fleet_stop_node() {
  local pidfile
  pidfile="$(fleet_home "$1")/pid"
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$pidfile"
}

# fleet_wait_overlay FROM TO [SECONDS]: until FROM reaches TO across the overlay (bounded).
fleet_wait_overlay() {
  local deadline=$((SECONDS + ${3:-15}))
  while ((SECONDS < deadline)); do
    rig_exec "$1" ping -c 1 -W 1 "$(fleet_overlay "$2")" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

fleet_up() {
  local nodes=$1 links=$2 settings=$3
  rig_up "$nodes" "$links"
  FLEET_NODES=$nodes
  for ((n = 1; n <= nodes; n++)); do
    mkdir -p "$(fleet_home "$n")"
    "$FLEET_BIN/fleetbond-node" --home "$(fleet_home "$n")" --init >"$(fleet_home "$n")/id.json" 2>/dev/null
  done
  for ((n = 1; n <= nodes; n++)); do
    fleet_write_conf "$n" "$settings"
    fleet_start_node "$n"
  done
  for ((n = 2; n <= nodes; n++)); do
    fleet_wait_overlay 1 "$n" 20 || { echo "fleet: node 1 cannot reach node $n"; return 1; }
  done
}

# fleet_restart NODE SETTINGS_JSON: restart one node with new settings.
fleet_restart() {
  fleet_stop_node "$1"
  fleet_write_conf "$1" "$2"
  fleet_start_node "$1"
}

fleet_down() {
  for ((n = 1; n <= FLEET_NODES; n++)); do fleet_stop_node "$n"; done
}

# fleet_tx_bytes NODE LINK: bytes the node has sent on that link (kernel counters).
fleet_tx_bytes() { rig_exec "$1" cat "/sys/class/net/eth$2/statistics/tx_bytes"; }
fleet_tx_packets() { rig_exec "$1" cat "/sys/class/net/eth$2/statistics/tx_packets"; }
