#!/usr/bin/env python3
"""coap-attack.py - a small raw-UDP CoAP client for the hostile-node tests.

Messages are built by hand (RFC 7252 header, token, options in delta
encoding, RFC 7959 Block1 and Size1, RFC 9175 Request-Tag) so a test can
send what no well-behaved client would: lone blocks, lies in Size1, uploads
left open, interleaved tagged uploads, floods of sessions and DTLS
ClientHellos.  Every loop is bounded and every wait has a timeout.  Each
command prints one line per answer: "CODE opt=value ..." (e.g.
"4.13 size1=2048"), or "none" when no answer came.

Commands (see --help of each):
  msg        one request, printed answer
  upload     a whole Block1 upload, one line per block answer
  interleave two uploads under two Request-Tags, blocks interleaved
  open       open N uploads (block 0 only) from N source ports
  flood      N block-0 requests with ignored answers (a big upload)
  sessions   N CoAP pings from N source ports (idle sessions)
  hellos     N one-packet DTLS ClientHellos from N source ports
  dtls       requests over one DTLS-PSK session (openssl s_client), with
             an optional SIGHUP to a pid after rewriting a file between
"""
import argparse
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

OPT_URI_PATH = 11
OPT_CONTENT_FORMAT = 12
OPT_MAX_AGE = 14
OPT_URI_QUERY = 15
OPT_BLOCK1 = 27
OPT_SIZE1 = 60
OPT_RTAG = 292
OPT_NAMES = {OPT_MAX_AGE: "maxage", OPT_BLOCK1: "block1", OPT_SIZE1: "size1",
             OPT_CONTENT_FORMAT: "cf"}
CON, NON, ACK, RST = 0, 1, 2, 3
POST = 2


def uint_bytes(v):
    """A CoAP uint option value: big-endian, no leading zero bytes."""
    out = b""
    while v:
        out = bytes([v & 0xff]) + out
        v >>= 8
    return out


def ext(n):
    """The 4-bit nibble and extended bytes for an option delta/length."""
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes([n - 13])
    return 14, struct.pack(">H", n - 269)


def encode(mtype, code, mid, token, options, payload=b""):
    """One CoAP message; options is a list of (number, bytes)."""
    out = bytes([0x40 | (mtype << 4) | len(token), code]) + \
        struct.pack(">H", mid) + token
    last = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        dn, dx = ext(num - last)
        ln, lx = ext(len(val))
        out += bytes([(dn << 4) | ln]) + dx + lx + val
        last = num
    if payload:
        out += b"\xff" + payload
    return out


def decode(data):
    """(type, code string, mid, token, {option: [values]}, payload)."""
    if len(data) < 4:
        return None
    tkl = data[0] & 15
    mtype = (data[0] >> 4) & 3
    code = "%d.%02d" % (data[1] >> 5, data[1] & 31)
    mid = struct.unpack(">H", data[2:4])[0]
    token = data[4:4 + tkl]
    i, num, opts = 4 + tkl, 0, {}
    while i < len(data) and data[i] != 0xff:
        d, ln = data[i] >> 4, data[i] & 15
        i += 1
        for which in (0, 1):
            n = d if which == 0 else ln
            if n == 13:
                n = data[i] + 13
                i += 1
            elif n == 14:
                n = struct.unpack(">H", data[i:i + 2])[0] + 269
                i += 2
            if which == 0:
                d = n
            else:
                ln = n
        num += d
        opts.setdefault(num, []).append(data[i:i + ln])
        i += ln
    payload = data[i + 1:] if i < len(data) else b""
    return mtype, code, mid, token, opts, payload


def describe(ans):
    """The one-line form of an answer."""
    if ans is None:
        return "none"
    _, code, _, _, opts, payload = ans
    parts = [code]
    for num in sorted(opts):
        if num in OPT_NAMES:
            v = int.from_bytes(opts[num][0], "big")
            if num == OPT_BLOCK1:
                v = "%d/%d/%d" % (v >> 4, (v >> 3) & 1, 1 << ((v & 7) + 4))
            parts.append("%s=%s" % (OPT_NAMES[num], v))
    if payload and code >= "4":
        parts.append("diag=%r" % payload.decode("utf-8", "replace"))
    return " ".join(parts)


class Client:
    """One UDP socket (one source port = one peer for the daemon)."""

    def __init__(self, host, port, src="127.0.0.1", sport=0):
        self.dst = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((src, sport))
        self.mid = random.randint(0, 0xffff)

    def request(self, path, payload=b"", cf=None, block=None, size1=None,
                rtag=None, extra=(), timeout=2.0, tries=2, wait=True):
        """Send one CON POST; return the decoded answer or None."""
        self.mid = (self.mid + 1) & 0xffff
        token = os.urandom(4)
        opts = [(OPT_URI_PATH, seg.encode()) for seg in path.strip("/").split("/")]
        if cf is not None:
            opts.append((OPT_CONTENT_FORMAT, uint_bytes(cf)))
        if block is not None:
            num, more, szx = block
            opts.append((OPT_BLOCK1, uint_bytes((num << 4) | (more << 3) | szx)))
        if size1 is not None:
            opts.append((OPT_SIZE1, uint_bytes(size1)))
        if rtag is not None:
            opts.append((OPT_RTAG, rtag))
        opts.extend(extra)
        msg = encode(CON, POST, self.mid, token, opts, payload)
        for _ in range(tries):
            self.sock.sendto(msg, self.dst)
            if not wait:
                return None
            end = time.monotonic() + timeout
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    break
                ans = decode(self.sock.recv(2048))
                if ans and ans[3] == token:
                    return ans
        return None

    def close(self):
        """Close the socket (the daemon keeps the session until idle)."""
        self.sock.close()


def blocks(body, szx):
    """Split a body into (num, more, chunk) for block size 2**(szx+4)."""
    size = 1 << (szx + 4)
    n = max(1, (len(body) + size - 1) // size)
    return [(i, int(i < n - 1), body[i * size:(i + 1) * size]) for i in range(n)]


def read_body(a):
    """The request body: --file's bytes, or --payload."""
    if a.file:
        with open(a.file, "rb") as f:
            return f.read()
    return a.payload.encode()


def cmd_msg(a):
    """One request with the options given; prints the answer."""
    c = Client(a.host, a.port, a.src, a.sport)
    block = tuple(int(x) for x in a.block.split(",")) if a.block else None
    rtag = bytes.fromhex(a.rtag) if a.rtag is not None else None
    print(describe(c.request(a.path, read_body(a), a.cf, block, a.size1, rtag)))


def cmd_upload(a):
    """A whole body by Block1, stopping at the first answer not 2.31."""
    c = Client(a.host, a.port, a.src, a.sport)
    body = read_body(a)
    rtag = bytes.fromhex(a.rtag) if a.rtag is not None else None
    for num, more, chunk in blocks(body, a.szx):
        size1 = len(body) if a.size1 and num == 0 else None
        ans = c.request(a.path, chunk, a.cf, (num, more, a.szx), size1, rtag)
        print(describe(ans))
        if ans is None or ans[1] != "2.31":
            break


def cmd_interleave(a):
    """Two bodies, two tags, one socket: block i of A, then block i of B."""
    c = Client(a.host, a.port, a.src, a.sport)
    bodies = []
    for f in (a.file_a, a.file_b):
        with open(f, "rb") as fh:
            bodies.append(blocks(fh.read(), a.szx))
    tags = (b"A1", b"B2")
    for i in range(max(len(bodies[0]), len(bodies[1]))):
        for which in (0, 1):
            if i < len(bodies[which]):
                num, more, chunk = bodies[which][i]
                ans = c.request(a.path, chunk, a.cf, (num, more, a.szx),
                                rtag=tags[which])
                print("%s %s" % ("AB"[which], describe(ans)))


def cmd_open(a):
    """N uploads left open: block 0 with more=1 from N source ports."""
    socks = []
    for i in range(a.n):
        c = Client(a.host, a.port, a.src)
        socks.append(c)
        ans = c.request(a.path, b"x" * 64, a.cf, (0, 1, 2))
        print(describe(ans))
    for c in socks:
        c.close()


def cmd_flood(a):
    """A big upload from one port whose answers are not waited for:
    block num of 1 KB each, up to a.total bytes; prints the first answer
    and a count of the answers seen."""
    c = Client(a.host, a.port, a.src, a.sport)
    chunk = b"x" * 1024
    n = a.total // 1024
    first = c.request(a.path, chunk, a.cf, (0, 1, 6), size1=a.size1)
    print("first " + describe(first))
    codes = {}
    for num in range(1, n):
        c.request(a.path, chunk, a.cf, (num, int(num < n - 1), 6), wait=False)
        if num % 64 == 0:
            # Drain what came back, so the socket buffer never fills.
            while select.select([c.sock], [], [], 0)[0]:
                ans = decode(c.sock.recv(2048))
                if ans:
                    codes[ans[1]] = codes.get(ans[1], 0) + 1
            time.sleep(0.002)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        if not select.select([c.sock], [], [], 0.2)[0]:
            continue
        ans = decode(c.sock.recv(2048))
        if ans:
            codes[ans[1]] = codes.get(ans[1], 0) + 1
    print("answers " + " ".join("%s=%d" % kv for kv in sorted(codes.items())))


def cmd_sessions(a):
    """N CoAP pings (empty CON) from N source ports; counts the RSTs."""
    rst = 0
    for _ in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.src, 0))
        s.sendto(encode(CON, 0, random.randint(0, 0xffff), b"", []),
                 (a.host, a.port))
        if select.select([s], [], [], 1.0)[0]:
            ans = decode(s.recv(2048))
            rst += ans is not None and ans[0] == RST
        s.close()
    print("pings %d rst %d" % (a.n, rst))


def client_hello():
    """A DTLS 1.2 ClientHello without cookie, offering PSK suites."""
    suites = [0x00a8, 0xc0a8, 0x00ae, 0x008c]
    body = b"\xfe\xfd" + os.urandom(32) + b"\x00" + b"\x00" + \
        struct.pack(">H", 2 * len(suites)) + \
        b"".join(struct.pack(">H", s) for s in suites) + b"\x01\x00"
    # encrypt_then_mac and extended_master_secret, empty.
    exts = struct.pack(">HH", 0x0016, 0) + struct.pack(">HH", 0x0017, 0)
    body += struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + b"\x00\x00" + \
        b"\x00\x00\x00" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\xfe\xff" + b"\x00\x00" + b"\x00" * 6 + \
        struct.pack(">H", len(hs)) + hs


def cmd_hellos(a):
    """N one-packet ClientHellos from N source ports; counts the answers
    (HelloVerifyRequests) seen within a short wait."""
    socks, answered = [], 0
    for i in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.src, 0))
        s.sendto(client_hello(), (a.host, a.port))
        socks.append(s)
        if len(socks) >= 64 or i == a.n - 1:
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                r, _, _ = select.select(socks, [], [], 0.05)
                for x in r:
                    x.recv(2048)
                    answered += 1
            for x in socks:
                x.close()
            socks = []
    print("hellos %d answered %d" % (a.n, answered))


class DtlsSession:
    """One DTLS-PSK session through openssl s_client: each write to its
    stdin goes out as one record, i.e. one CoAP message."""

    def __init__(self, host, port, identity, key_hex):
        self.p = subprocess.Popen(
            ["openssl", "s_client", "-dtls1_2", "-quiet", "-nocommands",
             "-connect", "%s:%d" % (host, port), "-psk_identity", identity,
             "-psk", key_hex, "-cipher", "PSK"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self.mid = random.randint(0, 0xffff)

    def request(self, path, payload, cf=50, timeout=3.0):
        self.mid = (self.mid + 1) & 0xffff
        token = os.urandom(4)
        opts = [(OPT_URI_PATH, seg.encode()) for seg in path.strip("/").split("/")]
        opts.append((OPT_CONTENT_FORMAT, uint_bytes(cf)))
        try:
            self.p.stdin.write(encode(CON, POST, self.mid, token, opts, payload))
            self.p.stdin.flush()
        except BrokenPipeError:
            return None
        fd = self.p.stdout.fileno()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not select.select([fd], [], [], max(0, end - time.monotonic()))[0]:
                break
            data = os.read(fd, 4096)
            if not data:
                return None
            ans = decode(data)
            if ans and ans[3] == token:
                return ans
        return None

    def close(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def cmd_dtls(a):
    """Requests over one DTLS session: --before N requests, then (with
    --hup) rewrite --psk-file from --new-psk and SIGHUP the daemon, or
    (with --hellos) a ClientHello flood; then --after N requests."""
    s = DtlsSession(a.host, a.port, a.identity, a.key)
    seq = a.seq
    path = "v1/n/%s/inference" % a.identity
    for i in range(a.before):
        body = ('{"seq":%d,"model":"m","label":"l","score":0.5}' % seq).encode()
        print("before %s" % describe(s.request(path, body, timeout=5.0)))
        seq += 1
    sys.stdout.flush()
    if a.hup:
        with open(a.new_psk, "rb") as f:
            data = f.read()
        with open(a.psk_file + ".new", "wb") as f:
            f.write(data)
        os.chmod(a.psk_file + ".new", 0o600)
        os.replace(a.psk_file + ".new", a.psk_file)
        os.kill(a.hup, signal.SIGHUP)
        time.sleep(1.5)
    if a.hellos:
        h = argparse.Namespace(host=a.host, port=a.port, src=a.src, n=a.hellos)
        cmd_hellos(h)
    for i in range(a.after):
        body = ('{"seq":%d,"model":"m","label":"l","score":0.5}' % seq).encode()
        print("after %s" % describe(s.request(path, body)))
        seq += 1
    s.close()


def main():
    """Parse the command line and run one command."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--src", default="127.0.0.1", help="source address")
    p.add_argument("--sport", type=int, default=0, help="source port")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(q, body=True):
        q.add_argument("--path", default="v1/n/n1/window")
        q.add_argument("--cf", type=int, default=50)
        if body:
            q.add_argument("--payload", default="")
            q.add_argument("--file")

    q = sub.add_parser("msg")
    common(q)
    q.add_argument("--block", help="NUM,MORE,SZX")
    q.add_argument("--size1", type=int)
    q.add_argument("--rtag", help="Request-Tag as hex")
    q.set_defaults(fn=cmd_msg)
    q = sub.add_parser("upload")
    common(q)
    q.add_argument("--szx", type=int, default=5)
    q.add_argument("--size1", action="store_true")
    q.add_argument("--rtag", help="Request-Tag as hex")
    q.set_defaults(fn=cmd_upload)
    q = sub.add_parser("interleave")
    common(q, body=False)
    q.add_argument("--szx", type=int, default=5)
    q.add_argument("file_a")
    q.add_argument("file_b")
    q.set_defaults(fn=cmd_interleave)
    q = sub.add_parser("open")
    common(q, body=False)
    q.add_argument("-n", type=int, required=True)
    q.set_defaults(fn=cmd_open)
    q = sub.add_parser("flood")
    common(q, body=False)
    q.add_argument("--total", type=int, default=4 << 20)
    q.add_argument("--size1", type=int)
    q.set_defaults(fn=cmd_flood)
    q = sub.add_parser("sessions")
    q.add_argument("-n", type=int, required=True)
    q.set_defaults(fn=cmd_sessions)
    q = sub.add_parser("hellos")
    q.add_argument("-n", type=int, required=True)
    q.set_defaults(fn=cmd_hellos)
    q = sub.add_parser("dtls")
    q.add_argument("--identity", required=True)
    q.add_argument("--key", required=True, help="key as hex")
    q.add_argument("--seq", type=int, default=1)
    q.add_argument("--before", type=int, default=1)
    q.add_argument("--after", type=int, default=1)
    q.add_argument("--hup", type=int, default=0, help="daemon pid")
    q.add_argument("--psk-file")
    q.add_argument("--new-psk")
    q.add_argument("--hellos", type=int, default=0)
    q.set_defaults(fn=cmd_dtls)
    a = p.parse_args()
    if hasattr(a, "n"):
        a.n = min(a.n, 5000)    # every loop bounded
    if hasattr(a, "total"):
        a.total = min(a.total, 64 << 20)
    a.fn(a)


if __name__ == "__main__":
    main()
