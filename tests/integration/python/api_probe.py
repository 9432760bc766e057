#!/usr/bin/env python3
"""Checks a live fleetbond-node's API the way a generic gRPC client sees it.

    api_probe.py ADDR PEER     (PEER: a bond that is not active-backup)

Prints one "ok NAME" or "FAIL NAME: why" line per check; exits with the number of failures.
Needs stubs generated from proto/ and tests/integration/python/proto on PYTHONPATH.
"""
import sys
import time

import grpc

from fleetbond.v1 import node_pb2, node_pb2_grpc
from grpc_probe import health_pb2, health_pb2_grpc
from grpc_probe import reflection_pb2, reflection_pb2_grpc

failures = 0


def check(name, ok, why=""):
    global failures
    if ok:
        print(f"ok {name}")
    else:
        failures += 1
        print(f"FAIL {name}: {why}")


def code_of(call):
    try:
        call()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


def main():
    addr, peer = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(addr)
    node = node_pb2_grpc.NodeStub(channel)

    health = health_pb2_grpc.HealthStub(channel)
    r = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    check("health SERVING", r.status == health_pb2.HealthCheckResponse.SERVING, str(r))

    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    reqs = [reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="fleetbond.v1.Node")]
    answers = list(refl.ServerReflectionInfo(iter(reqs), timeout=5))
    names = [s.name for s in answers[0].list_services_response.service]
    check("reflection lists fleetbond.v1.Node", "fleetbond.v1.Node" in names, str(names))
    check("reflection lists grpc.health.v1.Health", "grpc.health.v1.Health" in names, str(names))
    fds = answers[1].file_descriptor_response.file_descriptor_proto
    check("reflection describes fleetbond.v1.Node", len(fds) > 0 and b"RotateBond" in b"".join(fds))

    code, _ = code_of(lambda: node.GetBond(node_pb2.GetBondRequest(peer="0000000001"), timeout=5))
    check("GetBond unknown peer -> NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, code)
    code, _ = code_of(lambda: node.RotateBond(node_pb2.RotateBondRequest(peer="0000000001"),
                                              timeout=5))
    check("RotateBond unknown peer -> NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, code)
    code, why = code_of(lambda: node.RotateBond(node_pb2.RotateBondRequest(peer=peer), timeout=5))
    check("RotateBond on a non-active-backup bond -> FAILED_PRECONDITION",
          code == grpc.StatusCode.FAILED_PRECONDITION and "active-backup" in why, f"{code} {why}")
    bad = ('{"settings": {"defaultBondingPolicy": "x", "policies": {"x": '
           '{"basePolicy": "active-backup", "packetsPerLink": 8, "upDelay": 70000}}}}')
    code, why = code_of(lambda: node.ApplySettings(
        node_pb2.ApplySettingsRequest(local_conf_json=bad), timeout=5))
    check("ApplySettings invalid -> INVALID_ARGUMENT with every error",
          code == grpc.StatusCode.INVALID_ARGUMENT and "packetsPerLink" in why and "upDelay" in why,
          f"{code} {why}")
    s = node.GetSettings(node_pb2.GetSettingsRequest(), timeout=5)
    check("GetSettings unchanged after a refused apply",
          s.settings.default_bonding_policy != "x", s.settings.default_bonding_policy)
    info = node.GetInfo(node_pb2.GetInfoRequest(), timeout=5)
    check("GetInfo gives a 10-digit id", len(info.id) == 10, info.id)
    peers = node.ListPeers(node_pb2.ListPeersRequest(), timeout=5)
    check("ListPeers lists the peer", peer in [p.id for p in peers.peers], str(peers))

    # WatchBonds: snapshots at the interval asked, never faster than 100 ms, until cancelled.
    for asked, floor in ((200, 0.17), (10, 0.085)):
        stream = node.WatchBonds(node_pb2.WatchBondsRequest(interval_ms=asked))
        stamps = []
        for snap in stream:
            stamps.append(snap.unix_time_ms / 1000.0)
            if len(stamps) == 5:
                stream.cancel()
                break
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        check(f"WatchBonds interval {asked} ms: 5 snapshots, gaps >= {floor} s",
              len(stamps) == 5 and min(gaps) >= floor and max(gaps) < floor + 1.0, str(gaps))
    return failures


if __name__ == "__main__":
    sys.exit(main())
