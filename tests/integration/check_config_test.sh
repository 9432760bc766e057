#!/usr/bin/env bash
# The settings check as a user runs it: both binaries, every exit code, text and JSON.
#   check_config_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1
src=$2
node=$build/node/fleetbond-node
cli=$build/node/fleetbond-cli
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

expect() {  # expect NAME WANT_EXIT CMD...
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -eq $want ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: exit $got, want $want"
    sed 's/^/  out: /' "$tmp/out" | head -20
    sed 's/^/  err: /' "$tmp/err" | head -20
  fi
}

expect_grep() {  # expect_grep NAME FILE PATTERN
  if grep -q -- "$3" "$2"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1: '$3' not in $2:"
    sed 's/^/  /' "$2" | head -20
  fi
}

good=$src/deploy/examples/local.conf
expect node-valid 0 "$node" --check-config "$good"
cp "$tmp/out" "$tmp/node.txt"
expect_grep node-valid-prints-policy "$tmp/node.txt" "active-backup"
expect cli-valid 0 "$cli" config check "$good"
if cmp -s "$tmp/out" "$tmp/node.txt"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL node and cli print different tables"; fi

expect node-json 0 "$node" --check-config "$good" -j
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["valid"] else 1)' "$tmp/out"; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL node -j is not valid JSON with valid=true"; fi

cat >"$tmp/bad.conf" <<'CONF'
{"settings": {"defaultBondingPolicy": "fast-ab",
  "policies": {"fast-ab": {"basePolicy": "active-backup", "packetsPerLink": 8,
                           "links": {"eth0": {"mode": "primary"}, "eth1": {"mode": "primary"}}}}}}
CONF
expect node-invalid 1 "$node" --check-config "$tmp/bad.conf"
cat "$tmp/out" "$tmp/err" >"$tmp/all"
expect_grep invalid-names-path "$tmp/all" "settings.policies.fast-ab.packetsPerLink"
expect_grep invalid-lists-every-error "$tmp/all" "primary"
expect cli-invalid 1 "$cli" config check "$tmp/bad.conf"

printf '{"settings": {"defaultBondingPolicy": "broadcast",\n  }' >"$tmp/syntax.conf"
expect node-syntax 1 "$node" --check-config "$tmp/syntax.conf"
cat "$tmp/out" "$tmp/err" >"$tmp/all"
expect_grep syntax-has-line "$tmp/all" "line 2"

expect node-unreadable 2 "$node" --check-config "$tmp/does-not-exist.conf"
cat "$tmp/out" "$tmp/err" >"$tmp/all"
expect_grep unreadable-names-file "$tmp/all" "does-not-exist.conf"
expect cli-unreadable 2 "$cli" config check "$tmp/does-not-exist.conf"
expect cli-help 0 "$cli" --help
expect cli-unknown 2 "$cli" frobnicate

# The standalone keys are judged too, by both binaries.
cat >"$tmp/peers.conf" <<'CONF'
{"settings": {"defaultBondingPolicy": "active-backup"},
 "overlay": "10.147.0.1/24",
 "peers": {"f6203a2db3": {"publicKey": "not base64!", "overlay": "10.147.0.2",
                          "endpoints": ["10.201.0.2:9800"]}}}
CONF
expect node-bad-peer 1 "$node" --check-config "$tmp/peers.conf"
cat "$tmp/out" "$tmp/err" >"$tmp/all"
expect_grep bad-peer-key-path "$tmp/all" "peers.f6203a2db3.publicKey"
expect_grep bad-peer-endpoint-path "$tmp/all" "peers.f6203a2db3.endpoints\[0\]"
expect cli-bad-peer 1 "$cli" config check "$tmp/peers.conf"

for f in "$src"/deploy/examples/*.conf; do
  expect "example-$(basename "$f")" 0 "$node" --check-config "$f"
done

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
