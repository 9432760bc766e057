#!/usr/bin/env python3
"""traffic.py: bounded test traffic and measurements for the integration tests (stdlib only).

Every mode is bounded in packets and in time. Run it inside a rig namespace (ip netns exec).

  recv   --bind ADDR --ports P[,P...] --seconds S
         Receives sequence-numbered datagrams on each port until S seconds pass (or --idle
         seconds without a packet after the first); prints JSON: per port the count of distinct
         sequence numbers, duplicates, the largest sequence, and the largest gap between two
         arrivals (ms) after the first packet.
  send   --to ADDR --ports P[,P...] --rate PPS --seconds S [--sport-base N] [--size B]
         Sends datagrams carrying (sequence number, send time) to every port (one flow per
         port, from source port sport-base+i when given) at PPS per flow; prints JSON with the
         count sent per port.
  pinggaps FILE     Parses `ping -D` output: prints JSON {replies, max_gap_ms} (gap between two
                    consecutive replies' timestamps).
  iperf FILE        Parses iperf3 -J output: prints JSON {bps, lost_percent} of the receiver.
  capture --ifname IF|any --port P --seconds S --out FILE
         AF_PACKET: saves the UDP payload of the first data datagram this host receives for
         port P on IF (hex).
  attack --to ADDR --port P --count N [--replay FILE] [--seed X]
         Sends N each of: garbage, truncated, header-only and bit-flipped datagrams, and N
         copies of the captured datagram (a replay); prints JSON counts.
  flood  --to ADDR --port P --rate PPS --seconds S [--replay FILE] [--seed X]
         Sends PPS hostile datagrams a second for S seconds (garbage, headers of unknown
         senders, and with --replay bit-flipped and replayed copies of the captured datagram, in
         turn); prints JSON counts.
"""
import argparse
import json
import os
import random
import re
import select
import socket
import struct
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def cmd_recv(a):
    ports = [int(p) for p in a.ports.split(",")]
    socks = {}
    for p in ports:
        s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((a.bind, p))
        s.setblocking(False)
        socks[s.fileno()] = (p, s)
    stats = {p: {"seen": set(), "dups": 0, "last": None, "max_gap_ms": 0.0, "first": None,
                 "max_seq": -1, "gap_at": None} for p in ports}
    if a.ready:
        open(a.ready, "w").close()
    start = time.monotonic()
    deadline = start + a.seconds
    last_any = None
    while True:
        now = time.monotonic()
        if now >= deadline or (last_any is not None and now - last_any > a.idle):
            break
        r, _, _ = select.select(list(socks), [], [], min(0.05, deadline - now))
        for fd in r:
            p, s = socks[fd]
            while True:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    break
                t = time.monotonic()
                last_any = t
                if len(data) < 8:
                    continue
                seq = struct.unpack("!Q", data[:8])[0]
                st = stats[p]
                if seq in st["seen"]:
                    st["dups"] += 1
                    continue
                st["seen"].add(seq)
                st["max_seq"] = max(st["max_seq"], seq)
                if st["last"] is not None:
                    gap = (t - st["last"]) * 1000
                    if gap > st["max_gap_ms"]:
                        st["max_gap_ms"] = gap
                        st["gap_at"] = round(t - start, 3)
                else:
                    st["first"] = round(t - start, 3)
                st["last"] = t
    out = {}
    for p, st in stats.items():
        out[str(p)] = {"received": len(st["seen"]), "duplicates": st["dups"],
                       "max_seq": st["max_seq"], "max_gap_ms": round(st["max_gap_ms"], 1),
                       "gap_at_s": st["gap_at"], "first_at_s": st["first"]}
    print(json.dumps(out))


def cmd_send(a):
    ports = [int(p) for p in a.ports.split(",")]
    socks = []
    for i, p in enumerate(ports):
        s = socket.socket(family(a.to), socket.SOCK_DGRAM)
        if a.sport_base:
            s.bind(("", a.sport_base + i))
        socks.append((p, s))
    pad = b"\0" * max(0, a.size - 16)
    interval = 1.0 / a.rate
    total = int(a.rate * a.seconds)
    sent = {p: 0 for p in ports}
    start = time.monotonic()
    hard_deadline = start + a.seconds + 5
    for seq in range(total):
        target = start + seq * interval
        now = time.monotonic()
        if now > hard_deadline:
            break
        if target > now:
            time.sleep(target - now)
        for p, s in socks:
            try:
                s.sendto(struct.pack("!Qd", seq, time.time()) + pad, (a.to, p))
                sent[p] += 1
            except OSError:
                pass  # e.g. no route while the overlay is down: counted as not sent
    print(json.dumps({"sent": {str(p): n for p, n in sent.items()}, "attempted": total}))


def cmd_pinggaps(a):
    stamps = []
    for line in open(a.file, errors="replace"):
        m = re.match(r"\[(\d+\.\d+)\].*icmp_seq=(\d+)", line)
        if m and "time=" in line:
            stamps.append(float(m.group(1)))
    gaps = [(b - x) * 1000 for x, b in zip(stamps, stamps[1:])]
    print(json.dumps({"replies": len(stamps), "max_gap_ms": round(max(gaps), 1) if gaps else None}))


def cmd_iperf(a):
    try:
        d = json.load(open(a.file))
    except (OSError, ValueError) as e:
        print(json.dumps({"error": f"unreadable iperf3 output: {e}"}))
        return
    if "error" in d:
        print(json.dumps({"error": d["error"]}))
        return
    end = d.get("end", {})
    if "sum_received" in end:
        print(json.dumps({"bps": end["sum_received"]["bits_per_second"], "lost_percent": 0.0}))
    else:
        s = end.get("sum", {})
        print(json.dumps({"bps": s.get("bits_per_second", 0) * (1 - s.get("lost_percent", 100) / 100),
                          "lost_percent": s.get("lost_percent", 100.0)}))


def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    if a.ifname != "any":
        s.bind((a.ifname, 0))
    s.settimeout(0.2)
    if a.ready:
        open(a.ready, "w").close()
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue  # only datagrams this host received
        eth_type = struct.unpack("!H", frame[12:14])[0]
        if eth_type == 0x0800:
            ihl = (frame[14] & 0x0F) * 4
            if frame[23] != 17:
                continue
            udp = 14 + ihl
        elif eth_type == 0x86DD:
            if frame[20] != 17:
                continue
            udp = 14 + 40
        else:
            continue
        dport = struct.unpack("!H", frame[udp + 2:udp + 4])[0]
        ulen = struct.unpack("!H", frame[udp + 4:udp + 6])[0]
        payload = frame[udp + 8:udp + ulen]
        # Only data datagrams (version 1, type 1), big enough to carry an inner packet.
        if dport == a.port and len(payload) >= 49 and payload[0] == 1 and payload[1] == 1:
            open(a.out, "w").write(payload.hex())
            print(json.dumps({"captured": len(payload)}))
            return
    print(json.dumps({"captured": 0}))
    sys.exit(1)


def cmd_attack(a):
    rnd = random.Random(a.seed)
    s = socket.socket(family(a.to), socket.SOCK_DGRAM)
    dst = (a.to, a.port)
    counts = {"garbage": 0, "truncated": 0, "header_only": 0, "bitflip": 0, "replay": 0}
    real = bytes.fromhex(open(a.replay).read().strip()) if a.replay else None
    deadline = time.monotonic() + 30

    def send(kind, data):
        if time.monotonic() > deadline:
            return
        try:
            s.sendto(data, dst)
            counts[kind] += 1
        except OSError:
            pass

    for i in range(a.count):
        send("garbage", os.urandom(rnd.randint(1, 1400)))
        # Plausible header (version 1, data), then cut anywhere.
        hdr = bytes([1, 1, 0, 0]) + os.urandom(5) + b"\0\0\0" + os.urandom(8)
        send("header_only", hdr + os.urandom(rnd.randint(0, 80)))
        if real:
            send("truncated", real[:rnd.randint(0, len(real) - 1)])
            b = bytearray(real)
            pos = rnd.randrange(len(b))
            b[pos] ^= 1 << rnd.randrange(8)
            send("bitflip", bytes(b))
            send("replay", real)
        else:
            send("truncated", hdr[:rnd.randint(0, len(hdr))])
        if i % 50 == 49:
            time.sleep(0.01)  # a flood, not a wall: keep the kernel's socket buffers honest
    print(json.dumps(counts))


def cmd_flood(a):
    """A bounded flood of hostile datagrams: --rate a second for --seconds, a mix of garbage,
    plausible headers from unknown senders, and (with --replay) bit-flipped and replayed copies
    of a real datagram."""
    rnd = random.Random(a.seed)
    s = socket.socket(family(a.to), socket.SOCK_DGRAM)
    dst = (a.to, a.port)
    real = bytes.fromhex(open(a.replay).read().strip()) if a.replay else None
    kinds = ["garbage", "header_only"] + (["bitflip", "replay"] if real else [])
    counts = {k: 0 for k in kinds}
    counts["send_errors"] = 0
    # Precomputed payloads: the sender's time goes to sending, not to os.urandom.
    pool = {"garbage": [os.urandom(rnd.randint(1, 1400)) for _ in range(256)],
            "header_only": [bytes([1, 1, 0, 0]) + os.urandom(5) + b"\0\0\0" + os.urandom(8 + rnd.randint(0, 80))
                            for _ in range(256)]}
    if real:
        flips = []
        for _ in range(256):
            b = bytearray(real)
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
            flips.append(bytes(b))
        pool["bitflip"] = flips
        pool["replay"] = [real]
    start = time.monotonic()
    end = start + a.seconds
    sent = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * a.rate)
        while sent < due:
            kind = kinds[sent % len(kinds)]
            data = pool[kind][sent % len(pool[kind])]
            try:
                s.sendto(data, dst)
                counts[kind] += 1
            except OSError:
                counts["send_errors"] += 1
            sent += 1
        time.sleep(0.001)
    counts["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(counts))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--ports", required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--idle", type=float, default=3.0)
    r.add_argument("--ready")
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--ports", required=True)
    s.add_argument("--rate", type=float, required=True)
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--sport-base", type=int, default=0)
    s.add_argument("--size", type=int, default=64)
    p = sub.add_parser("pinggaps")
    p.add_argument("file")
    i = sub.add_parser("iperf")
    i.add_argument("file")
    c = sub.add_parser("capture")
    c.add_argument("--ifname", required=True)
    c.add_argument("--port", type=int, default=9800)
    c.add_argument("--seconds", type=float, default=5)
    c.add_argument("--out", required=True)
    c.add_argument("--ready")
    f = sub.add_parser("flood")
    f.add_argument("--to", required=True)
    f.add_argument("--port", type=int, default=9800)
    f.add_argument("--rate", type=float, default=20000)
    f.add_argument("--seconds", type=float, default=5)
    f.add_argument("--replay")
    f.add_argument("--seed", type=int, default=1)
    t = sub.add_parser("attack")
    t.add_argument("--to", required=True)
    t.add_argument("--port", type=int, default=9800)
    t.add_argument("--count", type=int, default=200)
    t.add_argument("--replay")
    t.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
