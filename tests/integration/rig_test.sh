#!/usr/bin/env bash
# The rig itself: every node reaches every other on every link; faults do what they say; nothing
# is left behind.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/rig.sh"
if [[ $(id -u) -ne 0 ]]; then echo "skipped: the rig needs root (network namespaces)"; exit 77; fi
pass=0
fail=0
check() {  # check NAME CMD...
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
check_not() {  # check_not NAME CMD...: passes when CMD fails
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then fail=$((fail + 1)); echo "FAIL $name"; else pass=$((pass + 1)); fi
}
reach() {  # reach FROM TO LINK: one UDP datagram crosses, answered by a listener
  local addr
  addr=$(rig_addr "$2" "$3")
  rig_exec "$2" timeout 3 python3 -c '
import socket,sys
fam=socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s=socket.socket(fam,socket.SOCK_DGRAM); s.bind((sys.argv[1],7777)); s.settimeout(2)
d,a=s.recvfrom(100); s.sendto(d,a)' "$addr" &
  local listener=$!
  sleep 0.3
  rig_exec "$1" timeout 3 python3 -c '
import socket,sys
fam=socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s=socket.socket(fam,socket.SOCK_DGRAM); s.settimeout(1.5); s.sendto(b"x",(sys.argv[1],7777))
sys.exit(0 if s.recvfrom(100)[0]==b"x" else 1)' "$addr"
  local rc=$?
  wait $listener 2>/dev/null
  return $rc
}

rig_up 2 3
for k in 0 1 2; do check "reach link $k" reach 1 2 "$k"; done
rig_link_down 1 0
check_not "carrier down cuts link 0" reach 1 2 0
rig_link_up 1 0
rig_blackhole 1 1
check_not "blackhole cuts link 1" reach 1 2 1
rig_unblackhole 1 1
check "link 1 back" reach 1 2 1
check "rate limit applies" rig_rate 1 1 50mbit
check "loss rule applies" rig_drop 1 0 10
rig_down
trap - EXIT
check "nothing left behind" bash -c "! ip netns list | grep -q '^$RIG_PREFIX'"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
