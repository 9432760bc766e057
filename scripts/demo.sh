#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds, validates the example
# settings, prints their effective policy table, and starts a node.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release
bin=build/release/node

echo
echo "== fleetbond-node --check-config deploy/examples/local.conf"
"$bin/fleetbond-node" --check-config deploy/examples/local.conf
