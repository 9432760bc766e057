# rig.sh: the integration test rig, sourced by tests.
#
# Builds a small fleet on this machine: N nodes, each in its own network namespace, joined by L
# links. Link k is one L2 segment, so every node has the same interfaces eth0..eth{L-1}, as real
# hosts on several networks do. With two nodes a link is a plain veth pair (the shape of
# ../shared/TARGETS.md's measurements); with more, each link is a bridge in a "switch" namespace:
#   link k, IPv4: 10.201.k.<node>/24     (every link but the IPv6 one)
#   link 2, IPv6 only: fd20:0:0:2::<node>/64
# Namespaces carry a per-run prefix so concurrent runs never meet, and rig_down (installed as an
# EXIT trap by rig_up, unless the test has one already, which must call it) removes everything
# even after a failure.
#
#   source tests/integration/lib/rig.sh
#   rig_up 2 3                   # 2 nodes, 3 links
#   rig_exec 1 ip addr           # run a command in node 1
#   rig_link_down 1 0            # carrier loss on node 1's eth0
#   rig_drop 1 0 10              # nftables: drop 10 % of node 1's eth0 egress
#   rig_rate 1 1 50mbit          # tc tbf: cap node 1's eth1 egress

RIG_PREFIX=${RIG_PREFIX:-fb$$}
RIG_NODES=0
RIG_LINKS=0
RIG_IPV6_LINK=${RIG_IPV6_LINK:-2}

rig_ns() { echo "${RIG_PREFIX}n$1"; }
rig_sw() { echo "${RIG_PREFIX}sw"; }

# rig_addr NODE LINK: the node's address on that link (no prefix length).
rig_addr() {
  if [[ $2 -eq $RIG_IPV6_LINK ]]; then echo "fd20:0:0:$2::$1"; else echo "10.201.$2.$1"; fi
}

rig_exec() {
  local node=$1
  shift
  ip netns exec "$(rig_ns "$node")" "$@"
}

rig_up() {
  RIG_NODES=$1
  RIG_LINKS=$2
  # A test that installed its own EXIT trap before (a cleanup that ends with rig_down) keeps it:
  # replacing it would leave its temporary files and its "logs kept" line undone.
  [[ -n $(trap -p EXIT) ]] || trap rig_down EXIT
  local sw
  sw=$(rig_sw)
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  for ((k = 0; k < RIG_LINKS; k++)); do
    ip -n "$sw" link add "br$k" type bridge
    ip -n "$sw" link set "br$k" up
  done
  for ((n = 1; n <= RIG_NODES; n++)); do
    local ns
    ns=$(rig_ns "$n")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # keep_addr_on_down: without it the kernel flushes a static IPv6 address when its link goes
    # down, so rig_link_down/up would leave the IPv6 link without its address.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1
  done
  for ((k = 0; k < RIG_LINKS; k++)); do
    if ((RIG_NODES == 2)); then
      ip link add "eth$k" netns "$(rig_ns 1)" type veth peer name "eth$k" netns "$(rig_ns 2)"
    else
      for ((n = 1; n <= RIG_NODES; n++)); do
        ip link add "eth$k" netns "$(rig_ns "$n")" type veth peer name "n${n}l$k" netns "$sw"
        ip -n "$sw" link set "n${n}l$k" master "br$k" up
      done
    fi
    for ((n = 1; n <= RIG_NODES; n++)); do
      local ns
      ns=$(rig_ns "$n")
      if [[ $k -eq $RIG_IPV6_LINK ]]; then
        ip -n "$ns" addr add "$(rig_addr "$n" "$k")/64" dev "eth$k" nodad
      else
        ip -n "$ns" addr add "$(rig_addr "$n" "$k")/24" dev "eth$k"
      fi
      ip -n "$ns" link set "eth$k" up
    done
  done
}

rig_down() {
  local pids
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${RIG_PREFIX}"); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [[ -n "$pids" ]] && kill $pids 2>/dev/null
  done
  sleep 0.2
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${RIG_PREFIX}"); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [[ -n "$pids" ]] && kill -9 $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}

# rig_link_down NODE LINK / rig_link_up NODE LINK: carrier loss and return on the node's side.
rig_link_down() { ip -n "$(rig_ns "$1")" link set "eth$2" down; }
rig_link_up() { ip -n "$(rig_ns "$1")" link set "eth$2" up; }

# rig_blackhole NODE LINK: the link dies silently (carrier stays up, every packet is dropped).
rig_blackhole() {
  rig_exec "$1" nft -f - <<NFT
table inet rig_eth$2 {
  chain out { type filter hook output priority 0; oifname "eth$2" drop; }
  chain in { type filter hook input priority 0; iifname "eth$2" drop; }
}
NFT
}
rig_unblackhole() { rig_exec "$1" nft delete table inet "rig_eth$2" 2>/dev/null || true; }

# rig_drop NODE LINK PERCENT: drop PERCENT % of the node's packets leaving on that link.
rig_drop() {
  rig_exec "$1" nft -f - <<NFT
table inet rig_loss_eth$2 {
  chain out { type filter hook output priority 0; oifname "eth$2" numgen random mod 100 < $3 drop; }
}
NFT
}
rig_undrop() { rig_exec "$1" nft delete table inet "rig_loss_eth$2" 2>/dev/null || true; }

# rig_rate NODE LINK RATE: cap the node's egress on that link with a token bucket (e.g. 50mbit).
rig_rate() {
  rig_exec "$1" tc qdisc replace dev "eth$2" root tbf rate "$3" burst 64kb latency 50ms
}

# rig_add_link LINK: a new IPv4 link (eth<LINK>, 10.201.<LINK>.<node>/24) on every node, built
# like rig_up's links, while whatever runs in the namespaces keeps running.
rig_add_link() {
  local k=$1 sw n
  sw=$(rig_sw)
  if ((RIG_NODES == 2)); then
    ip link add "eth$k" netns "$(rig_ns 1)" type veth peer name "eth$k" netns "$(rig_ns 2)"
  else
    ip -n "$sw" link add "br$k" type bridge
    ip -n "$sw" link set "br$k" up
    for ((n = 1; n <= RIG_NODES; n++)); do
      ip link add "eth$k" netns "$(rig_ns "$n")" type veth peer name "n${n}l$k" netns "$sw"
      ip -n "$sw" link set "n${n}l$k" master "br$k" up
    done
  fi
  for ((n = 1; n <= RIG_NODES; n++)); do
    ip -n "$(rig_ns "$n")" addr add "10.201.$k.$n/24" dev "eth$k"
    ip -n "$(rig_ns "$n")" link set "eth$k" up
  done
}
