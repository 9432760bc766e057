# shellcheck shell=bash
# ctl_test.sh: the common start and end of the controller integration tests (controller_test,
# controller_replicas, controller_etcd, controller_crash, deploy_dashboard). Sourcing it sources
# report.sh (ok/bad/section/check/wait_for/jget).
#
#   here=$(cd "$(dirname "$0")" && pwd)
#   source "$here/lib/ctl_test.sh"
#   ctl_test_init "$build" fb-replicas-test   # root, binaries, $tmp, rig.sh and fleet.sh
#   source "$here/lib/controller.sh"           # when the test uses it (CTL_* are set)
#   rig_up 3 2; ctl_test_identities 3         # node identities, settings to come from a controller
#   cleanup() { ...kill what the test started...; ctl_test_teardown; }

CTL_TEST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/report.sh
source "$CTL_TEST_LIB/report.sh"

# ctl_test_init BUILD_DIR NAME: exit 77 (skip) without root, 1 when BUILD_DIR lacks the node,
# CLI or controller binary; then sources rig.sh (RIG_PREFIX may be set before) and fleet.sh with
# tmp=/tmp/NAME.XXXXXX, FLEET_DIR=$tmp/fleet, CTL_DIR=$tmp/ctl (both made), FLEET_BIN, CTL_BIN,
# CTL_CLI and cli (fleetbond-cli) from BUILD_DIR; ASan reports leaks without aborting.
# shellcheck disable=SC2034  # CTL_*, cli: for controller.sh and the test
ctl_test_init() {
  local build=$1 b
  if [[ $(id -u) -ne 0 ]]; then echo "skipped: the rig needs root (network namespaces)"; exit 77; fi
  for b in node/fleetbond-node node/fleetbond-cli controller/fleetbond-controller; do
    [[ -x "$build/$b" ]] || { echo "no $b in $build"; exit 1; }
  done
  # shellcheck source=lib/rig.sh
  source "$CTL_TEST_LIB/rig.sh"
  tmp=$(mktemp -d "/tmp/$2.XXXXXX")
  FLEET_DIR=$tmp/fleet
  FLEET_BIN=$build/node
  CTL_BIN=$build/controller
  CTL_CLI=$build/node/fleetbond-cli
  CTL_DIR=$tmp/ctl
  mkdir -p "$FLEET_DIR" "$CTL_DIR"
  # shellcheck source=lib/fleet.sh
  source "$CTL_TEST_LIB/fleet.sh"
  cli=$CTL_CLI
  # ASan: a leak report at exit is a failure we want in the log, not an abort.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
}

# ctl_test_identities COUNT: FLEET_NODES=COUNT, and nodes 1..COUNT each get an identity
# ($FLEET_DIR/n/id.json) and a local.conf without settings: the controller gives them theirs.
ctl_test_identities() {
  local n
  FLEET_NODES=$1
  for ((n = 1; n <= FLEET_NODES; n++)); do
    mkdir -p "$(fleet_home "$n")"
    "$FLEET_BIN/fleetbond-node" --home "$(fleet_home "$n")" --init >"$(fleet_home "$n")/id.json" 2>/dev/null
    echo '{"settings": {}}' >"$(fleet_home "$n")/local.conf"
  done
}

# ctl_test_teardown: the rig down; $tmp removed when no check failed, else kept and named.
ctl_test_teardown() {
  rig_down
  if ((fail == 0)); then rm -rf "$tmp"; else echo "logs kept in $tmp"; fi
}
