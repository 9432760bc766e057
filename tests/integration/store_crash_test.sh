#!/usr/bin/env bash
# The controller's store under kill -9 at random points (issue 9, "Faults"): a change the operator
# was told is stored survives; a change answered with an error is stored whole or not at all.
#
#   store_crash_test.sh BUILD_DIR SOURCE_DIR [ITERATIONS]
#
# python/store_crash.py drives fleetbond-controller --insecure on 127.0.0.1 of a network
# namespace of its own (unshare -n: no port to share with anything else), ITERATIONS (default 200)
# times: start, check the store against every acknowledged change, send one ReplaceSettings,
# SIGKILL after a random 0..2.5x-the-answer-time delay. Bounded: 240 s.
set -uo pipefail
build=$(cd "${1:?build dir}" && pwd)
src=$(cd "${2:?source dir}" && pwd)
iterations=${3:-200}
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then echo "skipped: needs root (a network namespace of its own)"; exit 77; fi
bin=$build/controller/fleetbond-controller
[[ -x $bin ]] || { echo "no $bin"; exit 1; }
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || { echo "skipped: no python3-grpcio"; exit 77; }

work=$(mktemp -d /tmp/fleetbond-storecrash.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gen"
protoc -I "$src/proto" --python_out="$work/gen" --grpc_python_out="$work/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin "$src"/proto/fleetbond/v1/*.proto ||
  { echo "FAIL protoc python stubs"; exit 1; }
# ASan's leak check would report on every kill -9'd start's siblings: only crashes matter here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
start=$SECONDS
timeout 240 unshare -n sh -c 'ip link set lo up && exec env PYTHONPATH="$0" /usr/bin/python3 "$1" "$2" "$3" 9900 "$4" "$5"' \
  "$work/gen" "$here/python/store_crash.py" "$bin" "$work/data" "$iterations" "$work/log" >"$work/out" 2>"$work/err"
rc=$?
cat "$work/out"
echo "($((SECONDS - start)) s)"
if [[ $rc -ne 0 ]]; then
  echo "FAIL store crash test (exit $rc)"
  tail -20 "$work/err"
  grep -m5 -E "ERROR: AddressSanitizer|runtime error" "$work/log"
  exit 1
fi
if grep -q -E "ERROR: AddressSanitizer|runtime error" "$work/log"; then
  echo "FAIL sanitizer report in the controller's log"; grep -m5 -E "ERROR: AddressSanitizer|runtime error" "$work/log"; exit 1
fi
python3 - "$work/out" "$iterations" <<'PY' || { echo "FAIL"; exit 1; }
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ok = r["iterations"] >= int(sys.argv[2]) and not r["violations"]
print(("ok  " if ok else "FAIL"), f"{r['iterations']} kills: {r['ok']} acknowledged and kept, "
      f"{r['error_stored']} errors stored whole, {r['error_not_stored']} errors not stored, "
      f"{r['acked_checked']} acknowledged changes found in the history")
sys.exit(0 if ok else 1)
PY
