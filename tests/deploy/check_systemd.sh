#!/usr/bin/env bash
# deploy/systemd/ checked by systemd itself and against the binaries they start:
# - `systemd-analyze verify` on copies of the units whose ExecStart points at the built binaries
#   (verify refuses a unit whose binary does not exist); any message at all fails, because verify
#   exits 0 on unknown keys and only prints them. A copy with a misspelt directive must be caught.
# - `systemd-analyze security --offline=yes`: the exposure score stays low.
# - the security-relevant directives are present (node: CAP_NET_ADMIN only, /dev/net/tun, ...;
#   controller: no capabilities at all), both run as users that fleetbond.sysusers.conf creates;
# - every --flag the units and env files pass is a flag the binary knows (--helpfull).
# Skips (77) when systemd-analyze is missing or the binaries are not built.
#   check_systemd.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1
src=$2
dir=$src/deploy/systemd
node=$build/node/fleetbond-node
controller=$build/controller/fleetbond-controller
if ! command -v systemd-analyze >/dev/null; then
  echo "skip: systemd-analyze is not installed (Debian package systemd)"
  exit 77
fi
for b in "$node" "$controller"; do
  if [[ ! -x $b ]]; then echo "skip: $b is not built"; exit 77; fi
done
tmp=$(mktemp -d)
cleanup_ns() { :; }
trap 'cleanup_ns; rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# Units as installed would name /usr/local/bin/...; the copies name the build's binaries.
for u in fleetbond-node fleetbond-controller; do
  sed -e "s#/usr/local/bin/fleetbond-node#$node#g" \
      -e "s#/usr/local/bin/fleetbond-controller#$controller#g" "$dir/$u.service" >"$tmp/$u.service"
  if ! grep -q "^ExecStart=$build/" "$tmp/$u.service"; then
    bad "$u.service: ExecStart is not /usr/local/bin/$u (the rewrite found nothing)"
  fi
done

verify() {  # verify UNIT_FILE: exit 0 and not a word of complaint
  (cd "$tmp" && systemd-analyze verify "$1") >"$tmp/verify.out" 2>&1
  local rc=$?
  [[ $rc -eq 0 && ! -s $tmp/verify.out ]]
}
for u in fleetbond-node fleetbond-controller; do
  if verify "$u.service"; then ok "$u.service: systemd-analyze verify is silent"; else
    bad "$u.service: systemd-analyze verify complains:"; sed 's/^/  /' "$tmp/verify.out"; fi
done
# The check itself is honest: a misspelt directive (which verify only prints) fails it.
sed 's/^ProtectSystem=strict/ProtectSystm=strict/' "$tmp/fleetbond-node.service" >"$tmp/typo.service"
if verify typo.service; then bad "a unit with a misspelt directive passed verify"; else
  ok "a misspelt directive is caught ($(grep -o "Unknown key[^,]*" "$tmp/verify.out" | head -1))"; fi

# Exposure score (0 = locked down, 10 = unprotected); the node needs the host's network and
# CAP_NET_ADMIN, so it cannot reach the controller's.
score() {
  (cd "$tmp" && systemd-analyze security --offline=yes "$1" 2>&1) |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
for pair in fleetbond-node:2.5 fleetbond-controller:2.0; do
  u=${pair%%:*} limit=${pair#*:}
  s=$(score "$u.service")
  if [[ -n $s ]] && awk -v s="$s" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
    ok "$u.service: exposure $s <= $limit (systemd-analyze security)"
  elif [[ -z $s ]]; then
    echo "note: systemd-analyze security --offline is not available here; exposure not scored"
  else
    bad "$u.service: exposure $s > $limit"
  fi
done

# Directives only: comments may name what the units leave out.
directives() { grep -v '^[[:space:]]*#' "$dir/$1.service"; }
has() {  # has UNIT REGEX DESCRIPTION
  if directives "$1" | grep -Eq "$2"; then ok "$1: $3"; else bad "$1: $3 (no line matching $2)"; fi
}
hasnt() {
  if directives "$1" | grep -Eq "$2"; then bad "$1: $3 (found $2)"; else ok "$1: $3"; fi
}
n=fleetbond-node
has $n '^CapabilityBoundingSet=CAP_NET_ADMIN$' "bounding set is CAP_NET_ADMIN alone"
has $n '^AmbientCapabilities=CAP_NET_ADMIN$' "ambient CAP_NET_ADMIN for the unprivileged user"
has $n '^DeviceAllow=/dev/net/tun rw$' "may open /dev/net/tun"
has $n '^DevicePolicy=closed$' "no other devices"
has $n '^StateDirectory=fleetbond$' "state directory /var/lib/fleetbond"
has $n '^ExecStart=[^ ]*fleetbond-node --home /var/lib/fleetbond ' "home is the state directory"
for af in AF_NETLINK AF_INET AF_INET6 AF_UNIX; do
  has $n "^RestrictAddressFamilies=.*\\b$af\\b" "address family $af allowed"
done
hasnt $n 'CAP_SYS_ADMIN|CAP_NET_RAW|^User=root|^PrivateNetwork=yes|^PrivateUsers=yes' \
  "no CAP_SYS_ADMIN/CAP_NET_RAW, not root, host network"
c=fleetbond-controller
has $c '^CapabilityBoundingSet=$' "empty capability bounding set"
has $c '^AmbientCapabilities=$' "no ambient capabilities"
has $c '^PrivateDevices=yes$' "no devices"
has $c '^StateDirectory=fleetbond-controller$' "state directory /var/lib/fleetbond-controller"
has $c '^ExecStart=[^ ]*fleetbond-controller --data /var/lib/fleetbond-controller ' "data is the state directory"
hasnt $c 'AF_NETLINK|AF_PACKET' "no netlink or packet sockets"
for u in $n $c; do
  for d in '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^PrivateTmp=yes$' '^ProtectHome=yes$' \
           '^SystemCallFilter=@system-service$' '^RestrictNamespaces=yes$' '^StateDirectoryMode=0700$'; do
    has $u "$d" "${d//[\^\$]/}"
  done
  user=$(sed -n 's/^User=//p' "$dir/$u.service")
  if [[ -n $user && $user != root ]] && grep -Eq "^u[[:space:]]+$user[[:space:]]" "$dir/fleetbond.sysusers.conf"; then
    ok "$u: runs as $user, which fleetbond.sysusers.conf creates"
  else
    bad "$u: User=$user is missing, root, or not in fleetbond.sysusers.conf"
  fi
  if grep -Eq "^d[[:space:]]+/var/lib/$u[[:space:]]+0700[[:space:]]+$user[[:space:]]" "$dir/fleetbond.tmpfiles.conf" ||
     { [[ $u == fleetbond-node ]] && grep -Eq "^d[[:space:]]+/var/lib/fleetbond[[:space:]]+0700[[:space:]]+$user[[:space:]]" "$dir/fleetbond.tmpfiles.conf"; }; then
    ok "$u: fleetbond.tmpfiles.conf makes its state directory 0700 for $user"
  else
    bad "$u: fleetbond.tmpfiles.conf does not make its state directory for $user"
  fi
done

# Every flag named in a unit or env file exists in the binary it is meant for.
"$node" --helpfull >"$tmp/node.help" 2>&1
"$controller" --helpfull >"$tmp/controller.help" 2>&1
check_flags() {  # check_flags FILE HELP
  local f flags
  # Commented-out alternatives count too; `ca init|issue` lines are the ca subcommand's flags.
  flags=$(grep -Ev ' ca (init|issue) ' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  for f in $flags; do
    local name=${f#--}
    name=${name//-/_}
    if grep -Eq -- "^[[:space:]]+--$name[[:space:]]" "$2"; then ok "$(basename "$1"): $f is a flag of $(basename "${2%.help}")"
    else bad "$(basename "$1"): $f is not a flag of $(basename "${2%.help}")"; fi
  done
}
check_flags "$dir/fleetbond-node.service" "$tmp/node.help"
check_flags "$dir/node.env" "$tmp/node.help"
check_flags "$dir/fleetbond-controller.service" "$tmp/controller.help"
check_flags "$dir/controller.env" "$tmp/controller.help"

# What the node unit grants is enough, today: fleetbond-node started as an unprivileged user with
# CAP_NET_ADMIN as its only (ambient, bounding) capability and no_new_privs, as the unit starts it,
# creates its TUN, binds its link socket to the interface and carries a ping to a peer. Runs in
# two network namespaces joined by a veth pair; needs root, setpriv and ip (skipped otherwise).
privilege_check() {
  a=fbsd$$a b=fbsd$$b
  local home=$tmp/home-a homeb=$tmp/home-b user=65534
  if [[ $(id -u) -ne 0 ]] || ! command -v setpriv >/dev/null || ! command -v ip >/dev/null; then
    echo "note: not root or no setpriv/ip: the node's privileges were not exercised"; return; fi
  if ! ip netns add "$a" 2>/dev/null; then echo "note: cannot make network namespaces here"; return; fi
  ip netns add "$b"
  pa= pb=
  cleanup_ns() {
    [[ -n $pa ]] && kill -TERM "$pa" 2>/dev/null; [[ -n $pb ]] && kill -TERM "$pb" 2>/dev/null
    wait 2>/dev/null
    ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null
    pa= pb=
  }
  ip link add "fb$$a" type veth peer name "fb$$b"
  ip link set "fb$$a" netns "$a"; ip link set "fb$$b" netns "$b"
  ip -n "$a" addr add 10.99.0.1/24 dev "fb$$a"; ip -n "$a" link set "fb$$a" up
  ip -n "$b" addr add 10.99.0.2/24 dev "fb$$b"; ip -n "$b" link set "fb$$b" up
  mkdir -m 0700 "$home" "$homeb"; chown "$user:$user" "$home"
  chmod 0755 "$tmp"  # the unprivileged user must reach its home
  local unpriv=(setpriv --reuid="$user" --regid="$user" --clear-groups --inh-caps=-all,+net_admin
                --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin --no-new-privs)
  local ida idb
  ida=$("${unpriv[@]}" "$node" --home "$home" --init 2>/dev/null)
  idb=$("$node" --home "$homeb" --init 2>/dev/null)
  /usr/bin/python3 - "$ida" "$idb" "$home/local.conf" "$homeb/local.conf" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def conf(me, peer, peer_overlay, endpoint):
    return {"settings": {"defaultBondingPolicy": "active-backup"}, "overlay": me,
            "peers": {peer["id"]: {"publicKey": peer["publicKey"], "overlay": peer_overlay,
                                   "endpoints": [endpoint]}}}
json.dump(conf("10.148.0.1/24", b, "10.148.0.2", "10.99.0.2/9800"), open(sys.argv[3], "w"))
json.dump(conf("10.148.0.2/24", a, "10.148.0.1", "10.99.0.1/9800"), open(sys.argv[4], "w"))
PY
  chown "$user:$user" "$home/local.conf"
  ip netns exec "$a" "${unpriv[@]}" "$node" --home "$home" --api "" >"$tmp/node-a.log" 2>&1 &
  pa=$!
  ip netns exec "$b" "$node" --home "$homeb" --api "" >"$tmp/node-b.log" 2>&1 &
  pb=$!
  local i caps=""
  for i in $(seq 1 80); do  # up to 20 s: an ASan build on a busy machine starts slowly
    grep -q forwarding "$tmp/node-a.log" && grep -q forwarding "$tmp/node-b.log" && break
    sleep 0.25
  done
  caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pa/status" 2>/dev/null)
  local crossed=no
  for i in $(seq 1 10); do  # the first path may take a probe or two to be judged up
    if ip netns exec "$a" ping -c 1 -W 1 10.148.0.2 >>"$tmp/ping" 2>&1; then crossed=yes; break; fi
  done
  if [[ $crossed == yes ]] && grep -q "fb$$a" <(ip netns exec "$a" ss -uan); then
    ok "node as uid $user with only CAP_NET_ADMIN (CapEff $caps): TUN up, socket bound to its link, ping crosses the bond"
  else
    bad "node as uid $user with only CAP_NET_ADMIN did not carry traffic:"
    sed 's/^/  a: /' "$tmp/node-a.log" | head -20; sed 's/^/  ping: /' "$tmp/ping"
  fi
  cleanup_ns
}
privilege_check

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
