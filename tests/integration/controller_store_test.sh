#!/usr/bin/env bash
# The controller as an unprivileged user, and its store when the disk fails it (issue 9, "Least
# privilege" and "Faults"):
#
# 1. fleetbond-controller started through setpriv as a user this test creates (useradd, removed at
#    the end), TLS, in a network namespace of its own: it runs with that uid and no capability,
#    serves and stores changes; its TLS keys, data directory and store files (fleet.db, -wal,
#    -shm) are 0600/0700 and that user's. Operator credentials cannot open a node session.
# 2. Disk full: the store on a 4 MB tmpfs in a private mount namespace, filled up. A big settings
#    change is refused with RESOURCE_EXHAUSTED saying the disk is full; reads (settings show,
#    nodes) still answer with the last stored document; once space is freed the same change,
#    with the --expect-version read before, is stored as the next version (nothing half-stored,
#    memory and store still agree).
# 3. Read-only: the store on an ext4 image mounted errors=remount-ro, which the kernel then turns
#    read-only under the running controller (trigger_fs_error): a change is refused with
#    UNAVAILABLE saying so, reads still answer, the controller keeps running.
#
#   controller_store_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "${1:?build dir}" && pwd)
src=$(cd "${2:?source dir}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then echo "skipped: needs root (useradd, namespaces, mounts)"; exit 77; fi
for t in setpriv unshare nsenter useradd userdel mkfs.ext4; do
  command -v $t >/dev/null || { echo "skipped: no $t"; exit 77; }
done
ctl=$build/controller/fleetbond-controller
cli=$build/node/fleetbond-cli
for b in "$ctl" "$cli"; do [[ -x $b ]] || { echo "no $b"; exit 1; }; done
PY=/usr/bin/python3

work=$(mktemp -d /tmp/fleetbond-ctlstore.XXXXXX)
chmod 755 "$work"
user=fbctl$$
pids=()
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if $PY -c "import sys; sys.exit(0 if ($2) else 1)" 2>/dev/null; then ok "$1 ${3:+($3)}"; else bad "$1 ${3:+($3)} [expected: $2]"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  sleep 0.2
  userdel "$user" 2>/dev/null
  if ((fail == 0)); then rm -rf "$work"; else echo "logs kept in $work"; fi
}
trap cleanup EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0

useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
  { echo "FAIL useradd"; exit 1; }
uid=$(id -u "$user")
gid=$(id -g "$user")
asuser=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all)

# start_controller NAME MOUNT_SETUP FLAGS...: the controller as $user, in a new network namespace
# (and mount namespace, where MOUNT_SETUP runs first as root); its pid in $work/NAME.pid.
start_controller() {
  local name=$1 setup=$2
  shift 2
  unshare -m -n sh -c "set -e; $setup; ip link set lo up; exec \"\$@\"" sh "${asuser[@]}" "$ctl" \
    --listen 127.0.0.1:9900 --metrics-listen "" "$@" >>"$work/$name.log" 2>&1 &
  pids+=($!)
  echo $! >"$work/$name.pid"
}
# c NAME ARGS...: fleetbond-cli -j inside NAME's network namespace; JSON in $work/out.
c() {
  local name=$1
  shift
  nsenter -t "$(cat "$work/$name.pid")" -n timeout 20 "$cli" -j --controller 127.0.0.1:9900 "$@" \
    >"$work/out" 2>"$work/err"
}
wait_up() {
  local name=$1
  shift
  for _ in $(seq 100); do
    kill -0 "$(cat "$work/$name.pid")" 2>/dev/null || return 1
    c "$name" "$@" nodes && return 0
    sleep 0.2
  done
  return 1
}
jget() { $PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
mode_owner() { stat -c '%a %U' "$1" 2>/dev/null || echo "missing"; }
# doc FILE MARKER POLICIES: a settings document of POLICIES policies q0..qN, all with failoverInterval MARKER.
doc() {
  $PY - "$@" <<'PY'
import json, sys
f, m, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pol = {f"q{i}": {"basePolicy": "active-backup", "failoverInterval": m, "upDelay": 100 + i % 50} for i in range(n)}
json.dump({"settings": {"defaultBondingPolicy": "q0", "policies": pol}}, open(f, "w"))
PY
}

# refused_write INSTANCE WHERE CODE REASON DOC VERSION OLD NEW: a change to DOC (expected VERSION)
# the store cannot take is refused with CODE and a message naming REASON and saying nothing
# changed; settings show still serves VERSION (holding OLD, not NEW); nodes still answers.
refused_write() {
  local inst=$1 where=$2 want=$3 reason=$4 file=$5 version=$6 old=$7 new=$8 rc code msg
  c "$inst" --insecure settings apply "$file" --expect-version "$version"
  rc=$?
  code=$(jget "$work/out" "j['error']['code']")
  msg=$(jget "$work/out" "j['error']['message']")
  check "a change on $where is refused with $want" "$rc != 0 and '$code' == '$want'" "exit $rc, $code"
  check "the error says why ($reason) and that nothing changed" \
    "'$reason' in '''$msg''' and 'changed nothing' in '''$msg'''" "$msg"
  c "$inst" --insecure settings show
  check "reads still served on $where: the last stored document" \
    "'$(jget "$work/out" "j['version']")' == '$version' and '$old' in open('$work/out').read() and '$new' not in open('$work/out').read()"
  c "$inst" --insecure nodes && ok "nodes answers on $where" || bad "nodes on $where: $(cat "$work/err")"
}

# --- 1. unprivileged, TLS, file modes ---
echo "--- 1. the controller as $user (uid $uid)"
mkdir -p "$work/tls"
"$ctl" ca init --dir "$work/tls/ca" >"$work/ca.log" 2>&1 &&
  "$ctl" ca issue --dir "$work/tls/ca" --operator ops >>"$work/ca.log" 2>&1 || { bad "ca init"; cat "$work/ca.log"; exit 1; }
chown -R "$user:" "$work/tls"
ca=$work/tls/ca
tlsflags=(--tls-ca "$ca/ca.crt" --tls-cert "$ca/controller.crt" --tls-key "$ca/controller.key")
opflags=(--controller-ca "$ca/ca.crt" --cert "$ca/operator-ops.crt" --key "$ca/operator-ops.key")
start_controller tls ":" --data "$work/tls/data" "${tlsflags[@]}"
if wait_up tls "${opflags[@]}"; then ok "controller started as $user answers the operator API"; else
  bad "controller as $user never answered"; tail -20 "$work/tls.log"; exit 1; fi
pid=$(cat "$work/tls.pid")
status=$(grep -E '^(Uid|Gid|CapEff|CapPrm|CapInh|CapAmb)' /proc/"$pid"/status | tr '\t' ' ' | tr '\n' ';')
check "runs as $user with no capability" \
  "'Uid: $uid $uid $uid $uid' in '$status' and 'CapEff: 0000000000000000' in '$status' and 'CapPrm: 0000000000000000' in '$status'" "$status"
doc "$work/a.conf" 1111 3
if c tls "${opflags[@]}" settings apply "$work/a.conf"; then ok "a change is stored by the unprivileged controller"; else
  bad "settings apply as $user"; cat "$work/out" "$work/err"; fi
for f in "$ca/ca.key" "$ca/controller.key" "$ca/operator-ops.key" "$work/tls/data/fleet.db" \
  "$work/tls/data/fleet.db-wal" "$work/tls/data/fleet.db-shm"; do
  got=$(mode_owner "$f")
  check "$(basename "$f") is 0600 and $user's" "'$got' == '600 $user'" "$got"
done
got=$(mode_owner "$work/tls/data")
check "data directory is 0700 and $user's" "'$got' == '700 $user'" "$got"
# Operator credentials on a node session: the simulated session is refused.
mkdir -p "$work/gen"
protoc -I "$src/proto" --python_out="$work/gen" --grpc_python_out="$work/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin "$src"/proto/fleetbond/v1/*.proto || bad "protoc"
nsenter -t "$pid" -n env PYTHONPATH="$work/gen" timeout 20 $PY "$here/python/session_sim.py" 127.0.0.1:9900 1 \
  "$work/opsess.json" --ca "$ca/ca.crt" --cert "$ca/operator-ops.crt" --key "$ca/operator-ops.key" &
sim=$!
sleep 3
kill -TERM $sim 2>/dev/null
wait $sim 2>/dev/null
err=$(jget "$work/opsess.json" "j['sessions'][0]['error']")
pushes=$(jget "$work/opsess.json" "len(j['sessions'][0]['pushes'])")
check "operator credentials cannot open a node session" \
  "'$pushes' == '0' and 'PERMISSION_DENIED' in '''$err''' and 'operator credentials' in '''$err'''" "$err"
kill -TERM "$pid"
wait "$pid" 2>/dev/null
check "stopped cleanly on SIGTERM" "$? == 0"

# --- 2. disk full ---
echo "--- 2. disk full"
mkdir -p "$work/full"
start_controller full "mount -t tmpfs -o size=4m,mode=0755 fbfull $work/full && chown $user: $work/full" \
  --data "$work/full/data" --insecure
wait_up full --insecure || { bad "controller on a tmpfs never answered"; tail "$work/full.log"; }
pid=$(cat "$work/full.pid")
doc "$work/a.conf" 2222 3
c full --insecure settings apply "$work/a.conf" || bad "first change on the tmpfs: $(cat "$work/out")"
c full --insecure settings show && v1=$(jget "$work/out" "j['version']")
nsenter -t "$pid" -m dd if=/dev/zero of="$work/full/fill" bs=64k 2>/dev/null
df=$(nsenter -t "$pid" -m df -k --output=avail "$work/full" | tail -1 | tr -d ' ')
echo "     tmpfs filled: ${df} KB available"
doc "$work/big.conf" 3333 3000
refused_write full "a full disk" RESOURCE_EXHAUSTED "disk is full" "$work/big.conf" "$v1" 2222 3333
kill -0 "$pid" 2>/dev/null && ok "controller still running on a full disk" || bad "controller died on a full disk"
nsenter -t "$pid" -m rm -f "$work/full/fill"
if c full --insecure settings apply "$work/big.conf" --expect-version "$v1"; then
  c full --insecure settings show
  check "after space is freed the refused change is stored as the next version" \
    "'$(jget "$work/out" "j['version']")' == '$((v1 + 1))' and '3333' in open('$work/out').read()"
else
  bad "change after freeing space: $(cat "$work/out")"
fi
kill -TERM "$pid"; wait "$pid" 2>/dev/null

# --- 3. read-only ---
echo "--- 3. the store's file system goes read-only"
truncate -s 16M "$work/ext4.img" && mkfs.ext4 -q -F "$work/ext4.img" || bad "mkfs.ext4"
mkdir -p "$work/ro"
start_controller ro "mount -o loop,errors=remount-ro $work/ext4.img $work/ro && chown $user: $work/ro" \
  --data "$work/ro/data" --insecure
wait_up ro --insecure || { bad "controller on ext4 never answered"; tail "$work/ro.log"; }
pid=$(cat "$work/ro.pid")
doc "$work/a.conf" 4444 3
c ro --insecure settings apply "$work/a.conf" || bad "first change on ext4: $(cat "$work/out")"
c ro --insecure settings show && v1=$(jget "$work/out" "j['version']")
dev=$(nsenter -t "$pid" -m findmnt -no SOURCE "$work/ro")
echo test >"/sys/fs/ext4/$(basename "$dev")/trigger_fs_error"
opts=$(nsenter -t "$pid" -m findmnt -no OPTIONS "$work/ro")
check "the kernel turned the store's file system read-only" "'emergency_ro' in '$opts' or '$opts'.startswith('ro')" "$opts"
doc "$work/b.conf" 5555 3
refused_write ro "a read-only store" UNAVAILABLE "read-only" "$work/b.conf" "$v1" 4444 5555
sleep 1.5  # a registry flush (once a second) fails meanwhile: the controller keeps going
kill -0 "$pid" 2>/dev/null && ok "controller still running on a read-only store" || bad "controller died on a read-only store"
kill -TERM "$pid"; wait "$pid" 2>/dev/null

for l in tls full ro; do
  if grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$work/$l.log"; then
    bad "sanitizer report in the $l controller's log"; grep -m3 -E "ERROR|runtime error" "$work/$l.log"
  fi
done
echo "passed $pass, failed $fail"
((fail == 0))
