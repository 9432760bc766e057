#!/usr/bin/env python3
"""Drive a fleetbond fleet through the controller's Fleet API (docs/scripting.md).

    fleet_example.py --controller HOST:PORT --ca ca.crt --cert operator.crt --key operator.key \\
        --policy NAME [--rotate NODE PEER] [--timeout SECONDS]

1. Lists the fleet's nodes.
2. Makes NAME the fleet's default bonding policy with SetDefaultPolicy, naming the settings
   version it read (expected_version): if another operator changed the settings in between, the
   controller refuses with ABORTED and this reads the settings again and retries.
3. Waits until every connected node has acknowledged the push that carries the change
   (acked_version == desired_version, newer than every push before the change).
4. Rotates NODE's active-backup bond to PEER (default: the first connected node's first bond)
   and reads the bond back to check that the new active link is the one the rotate named.

Prints what it does; exits 0 when all of it worked, 1 with the reason otherwise. Every wait is
bounded by --timeout. Needs stubs generated from proto/ on PYTHONPATH and Debian's
python3-grpcio (see docs/scripting.md).
"""
import argparse
import sys
import time

import grpc

from fleetbond.v1 import controller_pb2, controller_pb2_grpc

RPC_TIMEOUT = 15  # seconds for one call; the controller gives up on a node after 10


class Failure(Exception):
    pass


def connect(args):
    with open(args.ca, "rb") as ca, open(args.key, "rb") as key, open(args.cert, "rb") as cert:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca.read(), private_key=key.read(), certificate_chain=cert.read())
    return grpc.secure_channel(args.controller, credentials)


def list_nodes(fleet):
    nodes = fleet.ListNodes(controller_pb2.ListNodesRequest(), timeout=RPC_TIMEOUT).nodes
    for n in nodes:
        labels = ",".join(f"{k}={v}" for k, v in sorted(n.labels.items())) or "-"
        print(f"node {n.id} {'connected' if n.connected else 'offline'} "
              f"overlay {n.overlay_address or '-'} acked {n.acked_version}/{n.desired_version} "
              f"labels {labels}")
    return nodes


def set_default_policy(fleet, name, attempts=3):
    """SetDefaultPolicy guarded by expected_version; retried when another change came first."""
    for _ in range(attempts):
        current = fleet.GetSettings(controller_pb2.GetFleetSettingsRequest(), timeout=RPC_TIMEOUT)
        try:
            changed = fleet.SetDefaultPolicy(
                controller_pb2.SetDefaultPolicyRequest(expected_version=current.version, name=name),
                timeout=RPC_TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.ABORTED:  # someone else changed the settings
                print(f"settings changed meanwhile ({e.details()}); reading them again")
                continue
            raise
        print(f"settings version {current.version} -> {changed.version}: default policy {name}")
        return current.settings.default_bonding_policy != name
    raise Failure(f"the settings kept changing under us ({attempts} attempts)")


def wait_for_acks(fleet, pushed_before, must_push, deadline):
    """Until every connected node runs a push newer than `pushed_before` (when the change made a
    new push) and has acknowledged it."""
    while True:
        nodes = [n for n in fleet.ListNodes(controller_pb2.ListNodesRequest(),
                                            timeout=RPC_TIMEOUT).nodes if n.connected]
        waiting = [n for n in nodes
                   if n.acked_version != n.desired_version
                   or (must_push and n.desired_version <= pushed_before)]
        refused = [n for n in nodes if n.nacked_version > pushed_before]
        if refused:
            raise Failure("; ".join(f"node {n.id} refused version {n.nacked_version}: "
                                    f"{n.last_nack_error}" for n in refused))
        if not waiting:
            versions = sorted({n.acked_version for n in nodes})
            print(f"all {len(nodes)} connected nodes run the new settings "
                  f"(push versions {', '.join(map(str, versions))})")
            return
        if time.monotonic() > deadline:
            raise Failure("nodes still without the new settings: " + ", ".join(
                f"{n.id} acked {n.acked_version}/{n.desired_version}" for n in waiting))
        time.sleep(0.3)


def rotate(fleet, node, peer, deadline):
    if node is None:
        connected = sorted(n.id for n in fleet.ListNodes(controller_pb2.ListNodesRequest(),
                                                         timeout=RPC_TIMEOUT).nodes if n.connected)
        if not connected:
            raise Failure("no connected node to rotate a bond on")
        node = connected[0]
        bonds = fleet.ListNodeBonds(controller_pb2.NodeBondRequest(node_id=node),
                                    timeout=RPC_TIMEOUT).bonds
        if not bonds:
            raise Failure(f"node {node} reports no bonds yet")
        peer = bonds[0].peer
    request = controller_pb2.NodeBondRequest(node_id=node, peer=peer)
    # A bond that was just rebuilt by a policy change may not have a second usable link yet.
    while True:
        bond = fleet.GetNodeBond(request, timeout=RPC_TIMEOUT)
        if bond.summary.usable_links >= 2:
            break
        if time.monotonic() > deadline:
            raise Failure(f"node {node}'s bond to {peer} has {bond.summary.usable_links} usable "
                          "link(s); nothing to rotate to")
        time.sleep(0.3)
    r = fleet.RotateNodeBond(request, timeout=RPC_TIMEOUT)
    print(f"node {node}, bond to {peer}: active link rotated from {getattr(r, 'from')} to {r.to}")
    bond = fleet.GetNodeBond(request, timeout=RPC_TIMEOUT)
    active = [p for p in bond.paths if p.active]
    if len(active) != 1 or active[0].idx != r.to_idx:
        raise Failure(f"after the rotate the active path is {[p.idx for p in active]}, "
                      f"not {r.to_idx}")
    print(f"node {node}, bond to {peer} ({bond.summary.policy_name}): active path "
          f"{active[0].idx} {active[0].interface} -> {active[0].remote_endpoint}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--controller", required=True, help="HOST:PORT of fleetbond-controller")
    ap.add_argument("--ca", required=True, help="the fleet CA certificate (ca.crt)")
    ap.add_argument("--cert", required=True, help="an operator certificate")
    ap.add_argument("--key", required=True, help="its private key")
    ap.add_argument("--policy", required=True, help="the policy to make the fleet's default")
    ap.add_argument("--rotate", nargs=2, metavar=("NODE", "PEER"))
    ap.add_argument("--timeout", type=float, default=60, help="bound on every wait (seconds)")
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    try:
        with connect(args) as channel:
            fleet = controller_pb2_grpc.FleetStub(channel)
            nodes = list_nodes(fleet)
            pushed_before = max([n.desired_version for n in nodes] + [0])
            changed = set_default_policy(fleet, args.policy)
            wait_for_acks(fleet, pushed_before, changed, deadline)
            node, peer = args.rotate if args.rotate else (None, None)
            rotate(fleet, node, peer, deadline)
    except grpc.RpcError as e:
        print(f"fleet_example: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    except Failure as e:
        print(f"fleet_example: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
