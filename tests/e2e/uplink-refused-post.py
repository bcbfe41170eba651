#!/usr/bin/python3
"""uplink-refused-post.py - POST inferences with many distinct labels to
the daemon over CoAP, fast enough that thousands land in one summary
interval (one coap-client process per request is far slower).

usage: uplink-refused-post.py PORT NODE FIRST_SEQ COUNT LABEL_WIDTH

Each request is a confirmable POST to coap://127.0.0.1:PORT/v1/n/NODE/
inference (content-format 50) with {"seq","model","label","score"}; the
label is "L<seq>" padded with "x" to LABEL_WIDTH characters, so every
request has a distinct label.  Requests go one at a time; each waits for
its ACK (resent up to 4 times, 1 s apart); one that gets no answer at all
ends the run.  Prints how many were answered
2.04 and exits 1 if any was not.
"""
import json
import os
import socket
import struct
import sys

port, node, first, count, width = sys.argv[1:6]
port, first, count, width = int(port), int(first), int(count), int(width)


def option(delta, value):
    """One CoAP option with a small delta and a short value."""
    assert delta < 13 and len(value) < 13
    return bytes([(delta << 4) | len(value)]) + value


def request(mid, token, body):
    """A confirmable POST with Uri-Path v1/n/NODE/inference, CF 50."""
    hdr = struct.pack("!BBH", 0x40 | len(token), 0x02, mid) + token
    opts = option(11, b"v1") + option(0, b"n") + \
        option(0, node.encode()) + option(0, b"inference") + \
        option(1, b"\x32")
    return hdr + opts + b"\xff" + body


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect(("127.0.0.1", port))
mid = int.from_bytes(os.urandom(2), "big")
ok = 0
for seq in range(first, first + count):
    mid = (mid + 1) & 0xffff
    token = os.urandom(4)
    label = ("L%d" % seq).ljust(width, "x")[:width]
    body = json.dumps({"seq": seq, "model": "wide", "label": label,
                       "score": round(0.1 + (seq % 80) / 100, 2)},
                      separators=(",", ":")).encode()
    pkt = request(mid, token, body)
    code = None
    for attempt in range(5):
        s.send(pkt)
        try:
            while True:
                r = s.recv(2048)
                if len(r) >= 4 and struct.unpack("!H", r[2:4])[0] == mid:
                    code = r[1]
                    break
        except socket.timeout:
            continue
        break
    if code == 0x44:
        ok += 1
    elif code is None:
        break           # the daemon is gone: do not wait 5 s per request
print(ok)
sys.exit(0 if ok == count else 1)
