#!/usr/bin/env python3
"""coap-observe.py - many Observe registrations of node settings from one
raw UDP socket, for the observer tests of coap-control.sh.

It registers TOKENS observers (GET /v1/n/{node}/config with Observe 0, one
token each) for each of NODES node ids (PREFIX0, PREFIX1, ... or --node),
a window of requests in flight at once; optionally cancels them all
(Observe 1); then runs --trigger (a shell command: change the settings,
SIGHUP) and listens --listen seconds for notifications, acknowledging each
(or resetting it with --rst); then optionally --trigger2 and --listen2.
Every loop is bounded and every wait has a timeout.  Prints:
  registered N observe M      (M answers carried an Observe option)
  cancelled N                 (with --cancel, before the triggers, or
                              --cancel-at-end, after them)
  notified K tokens T,.. revs R,.. late_ms L   (after each trigger; L is
                              the latest notification after the trigger)
Messages are built and read by coap-attack.py's encode/decode.
"""
import argparse
import importlib.util
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

# No bytecode cache next to the sources (a read-only tree in distcheck).
sys.dont_write_bytecode = True
_spec = importlib.util.spec_from_file_location(
    "coap_attack", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "coap-attack.py"))
ca = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ca)

OPT_OBSERVE = 6
OPT_ETAG = 4
GET = 1
WINDOW = 32


def config_request(mid, token, node, observe):
    """A CON GET of node's settings with an Observe option."""
    opts = [(ca.OPT_URI_PATH, p.encode()) for p in ("v1", "n", node,
                                                    "config")]
    opts.append((OPT_OBSERVE, ca.uint_bytes(observe)))
    return ca.encode(ca.CON, GET, mid, token, opts)


def exchange(sock, dst, reqs, deadline):
    """Send (mid, bytes) requests, WINDOW in flight, retrying each up to 3
    times; return {mid: decoded answer} for those answered."""
    pending = list(reqs)
    inflight = {}
    answers = {}
    while (pending or inflight) and time.time() < deadline:
        while pending and len(inflight) < WINDOW:
            mid, msg = pending.pop(0)
            sock.sendto(msg, dst)
            inflight[mid] = [msg, time.time(), 1]
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            data, _ = sock.recvfrom(2048)
            ans = ca.decode(data)
            if ans is not None and ans[2] in inflight:
                answers[ans[2]] = ans
                del inflight[ans[2]]
        now = time.time()
        for mid, st in list(inflight.items()):
            if now - st[1] > 1.0:
                if st[2] >= 3:
                    del inflight[mid]
                    continue
                sock.sendto(st[0], dst)
                st[1], st[2] = now, st[2] + 1
    return answers


def listen(sock, dst, seconds, since, rst):
    """Collect notifications for seconds; acknowledge (or reset) each."""
    seen = {}
    late = 0
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], 0.05)
        if not r:
            continue
        data, _ = sock.recvfrom(2048)
        ans = ca.decode(data)
        if ans is None:
            continue
        mtype, code, mid, token, opts, payload = ans
        if mtype == ca.CON:
            sock.sendto(ca.encode(ca.RST if rst else ca.ACK, 0, mid, b"",
                                  []), dst)
        if code != "2.05" or OPT_OBSERVE not in opts:
            continue
        try:
            rev = json.loads(payload)["rev"]
        except (ValueError, KeyError, TypeError):
            rev = "?"
        if token.hex() not in seen:
            late = max(late, int((time.time() - since) * 1000))
        seen[token.hex()] = rev
    toks = sorted(seen)
    print("notified %d tokens %s revs %s late_ms %d" % (
        len(toks), ",".join(toks) or "-",
        ",".join(str(seen[t]) for t in toks) or "-", late), flush=True)


def cancel(sock, dst, tokens, mid):
    """Cancel every registration (Observe 1); returns the last mid."""
    reqs = []
    for n, tok in tokens:
        mid = (mid + 1) & 0xffff
        reqs.append((mid, config_request(mid, tok, n, 1)))
    ans = exchange(sock, dst, reqs, time.time() + 60)
    print("cancelled %d" % sum(1 for x in ans.values()
                               if OPT_OBSERVE not in x[4]), flush=True)
    return mid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--node", default=None, help="one node id")
    ap.add_argument("--prefix", default="o")
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=1)
    ap.add_argument("--cancel", action="store_true")
    ap.add_argument("--trigger", default=None)
    ap.add_argument("--listen", type=float, default=0)
    ap.add_argument("--rst", action="store_true")
    ap.add_argument("--trigger2", default=None)
    ap.add_argument("--listen2", type=float, default=0)
    ap.add_argument("--cancel-at-end", action="store_true")
    a = ap.parse_args()

    dst = ("127.0.0.1", a.port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    nodes = [a.node] if a.node else ["%s%d" % (a.prefix, i)
                                     for i in range(a.nodes)]
    mid = random.randint(0, 0xffff)
    reqs, tokens = [], []
    for n in nodes:
        for t in range(a.tokens):
            mid = (mid + 1) & 0xffff
            tok = struct.pack(">I", len(tokens) + 1)
            tokens.append((n, tok))
            reqs.append((mid, config_request(mid, tok, n, 0)))
    ans = exchange(sock, dst, reqs, time.time() + 60 + len(reqs) / 100)
    observing = sum(1 for x in ans.values()
                    if x[1] == "2.05" and OPT_OBSERVE in x[4])
    print("registered %d observe %d" % (len(ans), observing), flush=True)
    if a.cancel:
        mid = cancel(sock, dst, tokens, mid)
    for trig, secs in ((a.trigger, a.listen), (a.trigger2, a.listen2)):
        if trig is None:
            continue
        t0 = time.time()
        subprocess.run(trig, shell=True, check=False, timeout=60)
        listen(sock, dst, secs, t0, a.rst)
    if a.cancel_at_end:
        cancel(sock, dst, tokens, mid)


if __name__ == "__main__":
    sys.exit(main())
