#!/usr/bin/env python3
"""Reads keys from etcd over its v3 gRPC API, as `etcdctl get --prefix` would (Debian's etcd-server
comes without etcdctl).

    etcd_get.py ENDPOINT PREFIX [--ca F [--cert F --key F]]

Prints one JSON object {key: value} of every key under PREFIX (values as text). Uses the
controller's own definitions of etcd's API (proto/etcd/, compiled with protoc --python_out and
grpc_python_plugin into PYTHONPATH). TLS when --ca is given, with a client certificate when
--cert/--key are. Exits 1 with the gRPC error on stderr when etcd does not answer within 5 s.
"""
import json
import sys

import grpc

from etcdserverpb import rpc_pb2, rpc_pb2_grpc

args = sys.argv[1:]
ENDPOINT, PREFIX = args[0], args[1].encode()
opts = {args[i]: args[i + 1] for i in range(2, len(args) - 1, 2)}


def range_end(prefix):
    end = bytearray(prefix)
    end[-1] += 1
    return bytes(end)


if "--ca" in opts:
    read = lambda k: open(opts[k], "rb").read() if k in opts else None
    channel = grpc.secure_channel(ENDPOINT, grpc.ssl_channel_credentials(
        read("--ca"), read("--key"), read("--cert")))
else:
    channel = grpc.insecure_channel(ENDPOINT)
try:
    reply = rpc_pb2_grpc.KVStub(channel).Range(
        rpc_pb2.RangeRequest(key=PREFIX, range_end=range_end(PREFIX)), timeout=5)
except grpc.RpcError as e:
    print(f"etcd {ENDPOINT}: {e.code()}: {e.details()}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({kv.key.decode(): kv.value.decode(errors="replace") for kv in reply.kvs},
                 sort_keys=True))
