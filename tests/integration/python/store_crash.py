#!/usr/bin/env python3
"""kill -9 of fleetbond-controller while an operator's change is in flight, many times over.

    store_crash.py CONTROLLER_BIN DATA_DIR PORT ITERATIONS LOG

Each iteration starts the controller (--insecure on 127.0.0.1:PORT, store in DATA_DIR), checks
what the store holds against every change the controller acknowledged so far, sends one
ReplaceSettings (a policy whose failoverInterval is unique to the iteration), and SIGKILLs the
controller after a random delay of 0 to 1.5 times the measured answer time, so the kill lands
before, during and after the commit. The rule checked (issue 9): a change answered OK is stored,
with its version and its content; a change answered with an error is either stored whole or not
at all. At the end the store's history (read with Python's sqlite3 after the last kill) must hold
every acknowledged (version, document) pair.

Prints one JSON line with the counts and exits 1 on any violation. Needs stubs generated from
proto/ on PYTHONPATH.
"""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import grpc

from fleetbond.v1 import controller_pb2, controller_pb2_grpc, settings_pb2

BIN, DATA, PORT, ITERATIONS, LOG = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
TARGET = f"127.0.0.1:{PORT}"
violations = []


def start():
    log = open(LOG, "ab")
    return subprocess.Popen([BIN, "--data", DATA, "--listen", TARGET, "--metrics-listen", "",
                             "--insecure"], stdout=log, stderr=log)


def connect(proc, deadline_s=20):
    """A stub once GetSettings answers; the settings it answered."""
    # Dialled before the controller listens: retry every 20 ms, not after gRPC's 1 s backoff.
    channel = grpc.insecure_channel(TARGET, [("grpc.initial_reconnect_backoff_ms", 20),
                                             ("grpc.min_reconnect_backoff_ms", 20),
                                             ("grpc.max_reconnect_backoff_ms", 50)])
    stub = controller_pb2_grpc.FleetStub(channel)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"controller exited with {proc.returncode} while starting")
        try:
            return channel, stub, stub.GetSettings(controller_pb2.GetFleetSettingsRequest(),
                                                   timeout=2, wait_for_ready=True)
        except grpc.RpcError:
            time.sleep(0.02)
    raise RuntimeError("controller did not answer within %d s" % deadline_s)


def document(i):
    return {"settings": {"defaultBondingPolicy": "p",
                         "policies": {"p": {"basePolicy": "active-backup",
                                            "failoverInterval": 1000 + i}}}}


def interval_of(settings):
    p = settings.policies.get("p")
    return p.failover_interval if p is not None else None


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()


# What the store must hold: (version, failoverInterval); None before the first change.
expected = None
acked = []  # every (version, failoverInterval) answered OK
counts = {"iterations": 0, "ok": 0, "error_stored": 0, "error_not_stored": 0}
latencies = []
started = time.monotonic()

# Calibration: the answer time of an uninterrupted change sets the kill window.
proc = start()
channel, stub, current = connect(proc)
for i in range(5):
    t = time.monotonic()
    r = stub.ReplaceSettings(controller_pb2.ReplaceSettingsRequest(
        expected_version=current.version, local_conf_json=json.dumps(document(100000 + i))),
        timeout=5)
    latencies.append(time.monotonic() - t)
    current = r
    expected = (r.version, 101000 + i)
    acked.append(expected)
kill(proc)
channel.close()
latencies.sort()
window = max(0.002, 1.5 * latencies[len(latencies) // 2])

# After an error the next start decides: the store holds either the state before the change or
# the change, whole. `allowed` lists what the store may hold at the next start.
allowed = [expected]
pending_error = None
startup = []


def judge(i, have):
    """Checks what a start found against `allowed`; counts the outcome of an unanswered change."""
    if have not in allowed:
        violations.append(f"iteration {i}: the store holds version {have[0]} with "
                          f"failoverInterval {have[1]}, expected one of {allowed}")
    elif pending_error is not None:
        counts["error_not_stored" if have == pending_error else "error_stored"] += 1


for i in range(ITERATIONS + 1):
    proc = start()
    t = time.monotonic()
    try:
        channel, stub, current = connect(proc)
    except RuntimeError as e:
        violations.append(f"iteration {i}: {e}")
        kill(proc)
        break
    startup.append(time.monotonic() - t)
    have = (current.version, interval_of(current.settings))
    judge(i, have)
    if i == ITERATIONS:  # the last start only checks
        kill(proc)
        channel.close()
        break
    before = have
    future = stub.ReplaceSettings.future(controller_pb2.ReplaceSettingsRequest(
        expected_version=current.version, local_conf_json=json.dumps(document(i))), timeout=5)
    time.sleep(random.uniform(0, window))
    kill(proc)
    try:
        r = future.result()
        if r.version != before[0] + 1:
            violations.append(f"iteration {i}: answered version {r.version} after {before[0]}")
        allowed = [(r.version, 1000 + i)]
        acked.append(allowed[0])
        pending_error = None
        counts["ok"] += 1
    except grpc.RpcError:
        allowed = [before, (before[0] + 1, 1000 + i)]
        pending_error = before
    channel.close()
    counts["iterations"] += 1

# Every acknowledged change is in the history, version and document.
db = sqlite3.connect(f"file:{DATA}/fleet.db?mode=ro", uri=True)
history = {}
for version, blob in db.execute("SELECT version, settings FROM settings_history WHERE scope = ''"):
    s = settings_pb2.Settings()
    s.ParseFromString(blob or b"")
    history[version] = interval_of(s)
for version, interval in acked:
    if history.get(version) != interval:
        violations.append(f"acknowledged version {version} (failoverInterval {interval}) is "
                          f"{'missing from' if version not in history else 'different in'} the "
                          f"history")
counts.update({"acked_checked": len(acked), "kill_window_ms": round(window * 1000, 2),
               "answer_ms_median": round(latencies[len(latencies) // 2] * 1000, 2),
               "start_ms_median": round(sorted(startup)[len(startup) // 2] * 1000, 1),
               "seconds": round(time.monotonic() - started, 1), "violations": violations[:10]})
print(json.dumps(counts))
sys.exit(1 if violations else 0)
