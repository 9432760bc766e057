#!/usr/bin/env python3
"""Simulated node sessions that record every settings push they receive.

    session_sim.py TARGET[,TARGET...] COUNT STATE_FILE [--kill-pid PID --kill-marker M]
                   [--ca F (--cert F --key F | --node-certs DIR)] [--index-base N]

Opens COUNT NodeSession.Connect streams to the controller at TARGET, each with its own channel
(one TCP connection each) and a made-up identity (random 32-byte key, id = its SHA-256's first 5
bytes, as the controller checks). Every push is acknowledged at once; a broken stream is dialled
again after 0.3 s with the last acknowledged version in the Hello, as the node's agent does.

Several TARGETs (controller replicas): session i dials TARGET[i % n] first and the next one of the
list after every broken stream or failed dial, as a node given several controllers does (it does
not follow redirect hints). With --node-certs DIR, session i (numbered from --index-base, default
0) has the identity in DIR/sim-<i>.hex (its public key, hex) and presents DIR/node-<id>.crt and
.key, certificates of the fleet CA (--ca) for that id, so a controller checking node identities
takes it; the test makes them with `fleetbond-controller ca issue --node ID --out DIR`.

The settings documents of the fault tests are "marked": policies q0..q{K-1}, every one with the
same failoverInterval, the marker. For each push the simulator records the marker and whether
the document is whole (all K policies, one marker). With --kill-pid, the first acknowledgement of
a push carrying --kill-marker SIGKILLs that pid (the controller), in the middle of its push to
the other sessions.

STATE_FILE is rewritten (atomically) every 0.2 s: {"sessions": [{"id", "connected", "target" (the
one it is connected to or dials next), "pushes": [[version, marker, whole, unix time], ...],
"acked": version, "error"}], "killed": bool, "killed_at": unix time}. Stops on SIGTERM.
"""
import hashlib
import json
import os
import queue
import signal
import sys
import threading
import time

import grpc

from fleetbond.v1 import session_pb2, session_pb2_grpc

args = sys.argv[1:]
TARGETS, COUNT, STATE = args[0].split(","), int(args[1]), args[2]
opts = {args[i]: args[i + 1] for i in range(3, len(args) - 1, 2)}
INDEX_BASE = int(opts.get("--index-base", 0))
KILL_PID = int(opts.get("--kill-pid", 0))
KILL_MARKER = int(opts.get("--kill-marker", -1))
stop = threading.Event()
lock = threading.Lock()
killed = {"done": False, "acks_seen": 0}


def marker_of(settings):
    policies = {k: v for k, v in settings.policies.items() if k.startswith("q")}
    values = {p.failover_interval for p in policies.values()}
    if not policies:
        return None, False
    n = len(policies)
    whole = len(values) == 1 and all(f"q{i}" in policies for i in range(n))
    return (values.pop() if len(values) == 1 else None), whole


def credentials(node_id):
    if "--ca" not in opts:
        return None
    read = lambda f: open(f, "rb").read()
    if "--node-certs" in opts:
        d = opts["--node-certs"]
        cert, key = f"{d}/node-{node_id}.crt", f"{d}/node-{node_id}.key"
    else:
        cert, key = opts["--cert"], opts["--key"]
    return grpc.ssl_channel_credentials(read(opts["--ca"]), read(key), read(cert))


class Session(threading.Thread):
    def __init__(self, index):
        super().__init__(daemon=True)
        if "--node-certs" in opts:
            key = bytes.fromhex(open(f"{opts['--node-certs']}/sim-{index}.hex").read().strip())
        else:
            key = os.urandom(32)
        self.id = hashlib.sha256(key).digest()[:5].hex()
        self.key = key
        self.index = index
        self.pushes = []
        self.acked = 0
        self.connected = False
        self.last_error = ""
        self.next = index % len(TARGETS)
        self.target = TARGETS[self.next]

    def run(self):
        creds = credentials(self.id)
        options = [("grpc.max_receive_message_length", 64 << 20), ("fleetbond.sim", self.index)]
        while not stop.is_set():
            self.target = TARGETS[self.next]
            self.next = (self.next + 1) % len(TARGETS)
            channel = (grpc.secure_channel(self.target, creds, options) if creds else
                       grpc.insecure_channel(self.target, options))
            out = queue.Queue()
            # An endpoint in TEST-NET-1: real nodes accept the directory entry, and their probes
            # to it go nowhere.
            ip = f"192.0.2.{self.index % 254 + 1}"
            out.put(session_pb2.NodeMessage(hello=session_pb2.Hello(
                node_id=self.id, public_key=self.key, software_version="sim",
                interfaces=[session_pb2.Interface(name="eth0", addresses=[ip + "/24"],
                                                  endpoints=[ip + "/9800"])],
                last_acked_version=self.acked)))

            def requests():
                while True:
                    m = out.get()
                    if m is None:
                        return
                    yield m

            try:
                stream = session_pb2_grpc.NodeSessionStub(channel).Connect(requests())
                for msg in stream:
                    if not msg.HasField("push"):
                        continue
                    p = msg.push
                    marker, whole = marker_of(p.settings)
                    with lock:
                        self.connected = True
                        self.pushes.append([p.version, marker, whole, time.time()])
                    out.put(session_pb2.NodeMessage(ack=session_pb2.Ack(version=p.version)))
                    self.acked = p.version
                    if KILL_PID and marker == KILL_MARKER:
                        with lock:
                            killed["acks_seen"] += 1
                            if not killed["done"]:
                                killed["done"] = True
                                try:
                                    os.kill(KILL_PID, signal.SIGKILL)
                                except ProcessLookupError:
                                    pass
                                killed["at"] = time.time()
            except grpc.RpcError as e:
                self.last_error = f"{e.code()}: {e.details()}"
            out.put(None)
            with lock:
                self.connected = False
            channel.close()
            stop.wait(0.3)


def write_state(sessions):
    with lock:
        state = {"sessions": [{"id": s.id, "connected": s.connected, "target": s.target,
                               "pushes": list(s.pushes), "acked": s.acked,
                               "error": s.last_error} for s in sessions],
                 "killed": killed["done"],
                 "killed_at": killed.get("at", 0)}
    with open(STATE + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(STATE + ".tmp", STATE)


signal.signal(signal.SIGTERM, lambda *_: stop.set())
sessions = [Session(INDEX_BASE + i) for i in range(COUNT)]
for s in sessions:
    s.start()
while not stop.is_set():
    write_state(sessions)
    stop.wait(0.2)
write_state(sessions)
os._exit(0)
