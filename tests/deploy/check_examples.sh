#!/usr/bin/env bash
# deploy/examples/*.conf as an operator uses them: every file is judged by the real
# `fleetbond-node --check-config` (exit 0, no warnings), says what deploy/examples/README.md
# claims it says, and is explained there. A broken copy must be refused, so a binary that
# accepted anything could not pass.
#   check_examples.sh NODE_BIN_DIR SOURCE_DIR
set -uo pipefail
node=$1/fleetbond-node
src=$2
dir=$src/deploy/examples
py=/usr/bin/python3
[[ -x $py ]] || py=python3
if [[ ! -x $node ]]; then
  echo "skip: $node is not built"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

shopt -s nullglob
files=("$dir"/*.conf)
if ((${#files[@]} < 5)); then bad "expected local.conf and four case examples, found ${#files[@]}"; fi

for f in "${files[@]}"; do
  name=$(basename "$f")
  "$node" --check-config "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [[ $rc -eq 0 ]]; then ok "$name: --check-config exits 0"; else
    bad "$name: --check-config exits $rc"; sed 's/^/  /' "$tmp/err" "$tmp/out" | head -20; fi
  if "$node" --check-config "$f" -j >"$tmp/$name.json" 2>/dev/null &&
    "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["valid"] and not d["warnings"] else 1)' "$tmp/$name.json"; then
    ok "$name: valid, no warnings (-j)"
  else
    bad "$name: -j does not say valid without warnings"; head -c 2000 "$tmp/$name.json"; echo
  fi
  if grep -q "\`$name\`" "$dir/README.md"; then ok "$name: explained in README.md"; else
    bad "$name: not mentioned in deploy/examples/README.md"; fi
done

# What README.md says each case does, read back from the validator's resolved policies.
expect() {  # expect FILE DESCRIPTION PYTHON_EXPRESSION_OVER_d_AND_p
  local json=$tmp/$1.json
  if [[ ! -s $json ]]; then bad "$1: no JSON to check '$2'"; return; fi
  if "$py" - "$json" "$3" <<'PY'; then ok "$1: $2"; else bad "$1: $2"; fi
import json, sys
d = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in d["policies"]}
link = lambda pol, name: next(l for l in p[pol]["links"] if l["name"] == name)
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
expect two-wan-active-backup.conf "active-backup, 500 ms, wan0 primary -> wan1, returns to wan0" \
  'p[d["defaultBondingPolicy"]]["basePolicy"] == "active-backup" and p["two-wan-failover"]["failoverInterval"] == 500 and link("two-wan-failover","wan0")["mode"] == "primary" and link("two-wan-failover","wan0")["failoverTo"] == "wan1" and p["two-wan-failover"]["linkSelectMethod"] == "always"'
expect fiber-lte-balance-aware.conf "balance-aware, LTE is the only spare" \
  'p[d["defaultBondingPolicy"]]["basePolicy"] == "balance-aware" and [l["name"] for l in p["fiber-first-lte-spare"]["links"] if l["mode"] == "spare"] == ["wwan0"]'
expect broadcast-voice.conf "voice gateways get broadcast, everyone else active-backup" \
  'd["defaultBondingPolicy"] == "active-backup" and len(d["peerSpecificBonds"]) >= 1 and all(p[v]["basePolicy"] == "broadcast" for v in d["peerSpecificBonds"].values())'
expect datacentre-peers.conf "data-centre peers get their own balancing bond" \
  'len(d["peerSpecificBonds"]) >= 1 and all(p[v]["basePolicy"].startswith("balance-") and v != d["defaultBondingPolicy"] for v in d["peerSpecificBonds"].values())'

# The check is honest: a broken copy of an example is refused with its path.
sed 's/"failoverInterval": 500/"failoverInterval": 5/' "$dir/two-wan-active-backup.conf" >"$tmp/broken.conf"
"$node" --check-config "$tmp/broken.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc -eq 1 ]] && grep -q "settings.policies.two-wan-failover.failoverInterval" "$tmp/out" "$tmp/err"; then
  ok "a broken example (failoverInterval 5) is refused (exit 1)"
else
  bad "a broken example was not refused as expected (exit $rc)"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
