#!/usr/bin/env python3
"""List a fleetbond node's bonds and rotate one, over the node's local gRPC API.

Stubs come from proto/ (see docs/scripting.md):
    protoc -I proto --python_out=gen --grpc_python_out=gen \
        --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin proto/fleetbond/v1/*.proto
    PYTHONPATH=gen python3 docs/examples/fleetbond_bonds.py --api 127.0.0.1:9801 list
    PYTHONPATH=gen python3 docs/examples/fleetbond_bonds.py rotate 77dcbe7120
"""
import argparse
import sys

import grpc

from fleetbond.v1 import node_pb2, node_pb2_grpc, settings_pb2


def list_bonds(stub):
    for summary in stub.ListBonds(node_pb2.ListBondsRequest(), timeout=5).bonds:
        base = settings_pb2.BasePolicy.Name(summary.base_policy)
        print(f"{summary.peer} {summary.policy_name} ({base}) "
              f"{summary.usable_links}/{summary.total_links} links")
        bond = stub.GetBond(node_pb2.GetBondRequest(peer=summary.peer), timeout=5)
        for path in bond.paths:
            lat = f"{path.latency_ms:.2f} ms" if path.measured else "unmeasured"
            print(f"  {path.idx}: {path.interface} -> {path.remote_endpoint} {lat} "
                  f"loss {path.loss_ratio:.4f} alloc {path.allocation:.2f} "
                  f"{'active' if path.active else ''}")


def rotate(stub, peer):
    try:
        r = stub.RotateBond(node_pb2.RotateBondRequest(peer=peer), timeout=5)
    except grpc.RpcError as e:
        # NOT_FOUND: no such peer; FAILED_PRECONDITION: not active-backup, or no other link.
        print(f"rotate refused ({e.code().name}): {e.details()}", file=sys.stderr)
        return 1
    print(f"active link rotated from {getattr(r, 'from')} to {r.to}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="127.0.0.1:9801", help="HOST:PORT or unix:/PATH")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    rot = sub.add_parser("rotate")
    rot.add_argument("peer")
    args = parser.parse_args()

    with grpc.insecure_channel(args.api) as channel:
        stub = node_pb2_grpc.NodeStub(channel)
        try:
            if args.command == "list":
                list_bonds(stub)
                return 0
            return rotate(stub, args.peer)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                print(f"cannot reach fleetbond-node at {args.api}: is it running?", file=sys.stderr)
                return 3
            print(f"{e.code().name}: {e.details()}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
