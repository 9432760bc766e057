#!/usr/bin/env python3
"""A paced UDP stream with sequence numbers, for failover blackout measurements.

  udp_stream.py recv ADDR PORT SECONDS OUT.json   # records arrival time of every sequence number
  udp_stream.py send ADDR PORT SECONDS RATE       # RATE packets per second, paced
The receiver writes {"received": n, "max_seq": m, "lost": m+1-n, "max_gap_ms": g}.
"""
import json
import socket
import struct
import sys
import time


def recv(addr, port, seconds, out):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, port))
    s.settimeout(0.2)
    arrivals = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        (seq,) = struct.unpack("!Q", data[:8])
        arrivals.setdefault(seq, time.monotonic())
    seqs = sorted(arrivals)
    times = [arrivals[q] for q in seqs]
    gaps = [b - a for a, b in zip(times, times[1:])]
    max_seq = seqs[-1] if seqs else -1
    res = {"received": len(seqs), "max_seq": max_seq, "lost": max_seq + 1 - len(seqs),
           "max_gap_ms": round(max(gaps) * 1000, 1) if gaps else None}
    json.dump(res, open(out, "w"))


def send(addr, port, seconds, rate):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    interval = 1.0 / rate
    start = time.monotonic()
    n = int(seconds * rate)
    pad = b"\0" * 56
    for seq in range(n):
        target = start + seq * interval
        while True:
            now = time.monotonic()
            if now >= target:
                break
            if target - now > 0.0005:
                time.sleep(target - now - 0.0004)
        try:
            s.sendto(struct.pack("!Q", seq) + pad, (addr, port))
        except OSError:
            pass  # no route for a moment: counted as lost by the receiver


if __name__ == "__main__":
    mode, addr, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    if mode == "recv":
        recv(addr, port, seconds, sys.argv[5])
    else:
        send(addr, port, seconds, float(sys.argv[5]))
