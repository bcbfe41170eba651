#!/usr/bin/env python3
"""coap-nodes.py - a small CoAP/UDP client of our own for nodes-hostile.sh.

It sends many POSTs quickly from one loopback source address (which the
daemon sees as the "source" of new node ids) and tallies the answers, which
spawning coap-client thousands of times could not do in a bounded time.

usage: coap-nodes.py PORT SRC_ADDR [options]
  --ids PREFIX:FIRST:COUNT   node ids PREFIX{FIRST}..; one request each
  --kind heartbeat|inference path /v1/n/{node}/{kind}
  --body TEXT                JSON body ({i} is the request's index)
  --fields N                 heartbeat body of N new keys per request
  --repeat N                 send to the one id N times (with --ids P:0:1)
  --legit NODE --every K     also an inference of NODE after every K ids
  --pause-every K --pause S  sleep S seconds after every K ids
Prints one JSON line: {"codes": {"2.04": n, ...}, "legit": {...},
"max_age": seconds seen on refusals (or null), "max_ms": slowest answer,
"diag": first diagnostic text}.  Every wait is bounded (2 s per answer).
"""
import json
import os
import socket
import struct
import sys
import time


def option(delta, value):
    """One CoAP option with its delta from the previous number."""
    def nib(n):
        if n < 13:
            return n, b""
        if n < 269:
            return 13, bytes([n - 13])
        return 14, struct.pack(">H", n - 269)
    d, dx = nib(delta)
    ln, lx = nib(len(value))
    return bytes([d << 4 | ln]) + dx + lx + value


def request(mid, token, path, body):
    """A confirmable POST with Uri-Path segments and content-format 50."""
    out = bytes([0x40 | len(token), 0x02]) + struct.pack(">H", mid) + token
    last = 0
    for seg in path:
        out += option(11 - last, seg.encode())
        last = 11
    out += option(12 - last, bytes([50]))
    return out + b"\xff" + body.encode()


def parse(pkt):
    """(type, code, mid, token, max_age, payload) of a CoAP message."""
    t = (pkt[0] >> 4) & 3
    tkl = pkt[0] & 15
    code = pkt[1]
    mid = struct.unpack(">H", pkt[2:4])[0]
    token = pkt[4:4 + tkl]
    i, num, max_age, payload = 4 + tkl, 0, None, b""
    while i < len(pkt):
        if pkt[i] == 0xFF:
            payload = pkt[i + 1:]
            break
        d, ln = pkt[i] >> 4, pkt[i] & 15
        i += 1
        ext = []
        for n in (d, ln):
            if n == 13:
                ext.append(pkt[i] + 13)
                i += 1
            elif n == 14:
                ext.append(struct.unpack(">H", pkt[i:i + 2])[0] + 269)
                i += 2
            else:
                ext.append(n)
        num += ext[0]
        val = pkt[i:i + ext[1]]
        i += ext[1]
        if num == 14:
            max_age = int.from_bytes(val, "big") if val else 0
    return t, code, mid, token, max_age, payload


class Client:
    """One socket bound to a loopback source address."""

    def __init__(self, port, src):
        self.dst = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((src, 0))
        self.s.settimeout(2.0)
        self.mid = int.from_bytes(os.urandom(2), "big")
        self.max_age = None
        self.diag = None
        self.max_ms = 0.0

    def post(self, node, kind, body):
        """Send one POST; return its response code as "c.dd" or "none"."""
        self.mid = (self.mid + 1) & 0xFFFF
        token = os.urandom(4)
        pkt = request(self.mid, token, ["v1", "n", node, kind], body)
        t0 = time.monotonic()
        for _attempt in range(3):
            self.s.sendto(pkt, self.dst)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    data, _ = self.s.recvfrom(2048)
                except socket.timeout:
                    break
                t, code, mid, tok, max_age, payload = parse(data)
                if t == 2 and code == 0 and mid == self.mid:
                    continue        # empty ACK: a separate answer follows
                if tok != token:
                    continue
                if t == 0:          # separate CON answer: acknowledge it
                    self.s.sendto(bytes([0x60, 0]) + struct.pack(">H", mid),
                                  self.dst)
                c = "%d.%02d" % (code >> 5, code & 31)
                if code >= 0x80:
                    if max_age is not None:
                        self.max_age = max_age
                    if self.diag is None and payload:
                        self.diag = payload.decode(errors="replace")
                self.max_ms = max(self.max_ms,
                                  (time.monotonic() - t0) * 1000)
                return c
        return "none"


def main():
    port, src = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:]
    opt = {"--kind": "heartbeat", "--body": "{}", "--every": "0",
           "--pause-every": "0", "--pause": "0", "--repeat": "1",
           "--fields": "0"}
    for i in range(0, len(args), 2):
        opt[args[i]] = args[i + 1]
    prefix, first, count = opt["--ids"].split(":")
    first, count = int(first), int(count)
    repeat, every = int(opt["--repeat"]), int(opt["--every"])
    pause_every, pause = int(opt["--pause-every"]), float(opt["--pause"])
    nfields = int(opt["--fields"])
    c = Client(port, src)
    codes, legit = {}, {}
    n = 0
    for k in range(first, first + count):
        for r in range(repeat):
            if nfields:
                body = json.dumps({"seq": n, **{"k%d_%d" % (n, j): j
                                               for j in range(nfields)}})
            else:
                body = opt["--body"].replace("{i}", str(n))
            code = c.post("%s%d" % (prefix, k), opt["--kind"], body)
            codes[code] = codes.get(code, 0) + 1
            n += 1
            if every and n % every == 0:
                lb = '{"seq":%d,"model":"m","label":"l","score":0.5}' % n
                lc = c.post(opt["--legit"], "inference", lb)
                legit[lc] = legit.get(lc, 0) + 1
            if pause_every and n % pause_every == 0:
                time.sleep(pause)
    print(json.dumps({"codes": codes, "legit": legit, "max_age": c.max_age,
                      "max_ms": round(c.max_ms), "diag": c.diag}))


if __name__ == "__main__":
    main()
