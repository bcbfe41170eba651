#!/usr/bin/python3
"""federated.py - the simulation half of bench/federated (not a test).

  federated.py prepare DIR
  federated.py run DIR --port P --pid PID --name NAME --config CONF [...]

prepare: the digits set of python3-sklearn (load_digits), split into a
held-out test set (30%, stratified), a pretraining set and the nodes'
pool.  A small MLP (64 -> H, ReLU -> 10) is trained with numpy on the
pretraining set, which holds only classes 0-5: its hidden layer is frozen
as the nodes' backbone.  The starting head is its output layer (rows 6-9
are untrained: zeros).  Then, in the same process, the references the
gateway's figures are compared with: the starting head, each node training
alone, and pooled (centralized) training of the head.  Writes DIR/data.npz,
DIR/head0.bin (the SPEC 10 head layout, for te-flhead) and DIR/ref.json.

run: 20 simulated nodes against the real daemon over CoAP (a small raw
client here: Block2 for the head, Block1 for the update, one UDP socket per
node).  Each round every participating node GETs the round document and
the head, trains the head on its own share (a few local epochs), and POSTs
its delta; target_clients is the number of participants, so the round
closes at once.  The bench evaluates the head it downloads on the test
set.  Per round: accuracy, CoAP bytes up and down per node, gateway CPU
seconds (/proc/PID/stat).  Appends to DIR/rounds.csv and DIR/summary.json.
"""
import argparse
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time

import numpy as np

NODES = 20
H = 32
ROWS = 10
PRE_CLASSES = 6
LOCAL_EPOCHS = int(os.environ.get("FL_EPOCHS", "5"))
LOCAL_LR = 0.1
BATCH = 16
# The quantile of the honest steady-state delta norms clip_norm is set to, and
# whether max_weight caps a node's weight at the median node's samples.
CLIP_Q = float(os.environ.get("FL_CLIP_Q", "0.5"))
MAXW = os.environ.get("FL_MAXW", "1") == "1"
CLIP_ROUNDS = 10
# FL_SEED varies the split, the backbone and the rounds (default 0).
SEED = int(os.environ.get("FL_SEED", "0"))


# --- data, backbone, head training ---------------------------------------

def softmax(z):
    """Row-wise softmax, shifted for stability."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def features(x, w1, b1):
    """The frozen backbone: one ReLU layer."""
    return np.maximum(x @ w1.T + b1, 0.0)


def accuracy(w, b, f, y):
    """argmax(W f + b) == y, ties to the lower class, as the gateway."""
    return float(np.mean(np.argmax(f @ w.T + b, axis=1) == y))


def train_head(w, b, f, y, epochs, lr, rng):
    """Minibatch SGD of softmax cross-entropy on the head only."""
    w = w.copy()
    b = b.copy()
    n = len(y)
    for _ in range(epochs):
        idx = rng.permutation(n)
        for s in range(0, n, BATCH):
            j = idx[s:s + BATCH]
            p = softmax(f[j] @ w.T + b)
            p[np.arange(len(j)), y[j]] -= 1.0
            p /= len(j)
            w -= lr * (p.T @ f[j])
            b -= lr * p.sum(axis=0)
    return w, b


def train_backbone(x, y, rng):
    """A 64 -> H -> 10 MLP by minibatch SGD; returns its two layers."""
    w1 = rng.normal(0, np.sqrt(2.0 / x.shape[1]), (H, x.shape[1]))
    b1 = np.zeros(H)
    w2 = rng.normal(0, np.sqrt(1.0 / H), (ROWS, H))
    b2 = np.zeros(ROWS)
    lr = 0.1
    for _ in range(150):
        idx = rng.permutation(len(y))
        for s in range(0, len(y), BATCH):
            j = idx[s:s + BATCH]
            a = x[j] @ w1.T + b1
            h = np.maximum(a, 0.0)
            p = softmax(h @ w2.T + b2)
            p[np.arange(len(j)), y[j]] -= 1.0
            p /= len(j)
            gh = (p @ w2) * (a > 0)
            w2 -= lr * (p.T @ h)
            b2 -= lr * p.sum(axis=0)
            w1 -= lr * (gh.T @ x[j])
            b1 -= lr * gh.sum(axis=0)
    return w1, b1, w2, b2


def split_dirichlet(y, alpha, rng):
    """Each class divided among the nodes by Dirichlet(alpha) shares;
    redrawn until every node has at least 5 examples."""
    for _ in range(100):
        parts = [[] for _ in range(NODES)]
        for c in range(ROWS):
            idx = rng.permutation(np.flatnonzero(y == c))
            cut = (np.cumsum(rng.dirichlet([alpha] * NODES)) *
                   len(idx)).astype(int)[:-1]
            for k, p in enumerate(np.split(idx, cut)):
                parts[k].extend(p.tolist())
        if min(len(p) for p in parts) >= 5:
            return [np.array(sorted(p)) for p in parts]
    sys.exit("federated.py: no Dirichlet split with 5 examples a node")


def split_two_classes(y, rng):
    """Two classes a node: each class cut into 4 shards, the 40 shards
    paired so that no node gets one class twice."""
    for _ in range(1000):
        shards = [c for c in range(ROWS) for _ in range(2 * NODES // ROWS)]
        rng.shuffle(shards)
        pairs = [shards[2 * k:2 * k + 2] for k in range(NODES)]
        if all(a != b for a, b in pairs):
            break
    else:
        sys.exit("federated.py: no two-class split")
    cut = {c: np.array_split(rng.permutation(np.flatnonzero(y == c)),
                             2 * NODES // ROWS) for c in range(ROWS)}
    used = {c: 0 for c in range(ROWS)}
    parts = []
    for pair in pairs:
        p = []
        for c in pair:
            p.extend(cut[c][used[c]].tolist())
            used[c] += 1
        parts.append(np.array(sorted(p)))
    return parts


def head_bytes(w, b):
    """A head in the SPEC 10 layout: float32 weights row by row, biases."""
    return (np.asarray(w, '<f4').tobytes() + np.asarray(b, '<f4').tobytes())


def head_from_bytes(buf, cols):
    """The weights and biases of a head in the SPEC 10 layout."""
    v = np.frombuffer(buf, '<f4').astype(np.float64)
    return v[:ROWS * cols].reshape(ROWS, cols), v[ROWS * cols:]


def prepare(d):
    """Data, backbone, starting head, references and clip_norm into d."""
    rng = np.random.default_rng(20261203 + SEED)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    ds = load_digits()
    x = ds.data / 16.0
    y = ds.target.astype(int)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3,
                                          stratify=y, random_state=1 + SEED)
    # A quarter of the training examples of classes 0-5 pretrain the
    # backbone; the nodes never see them.
    pre = np.zeros(len(ytr), bool)
    for c in range(PRE_CLASSES):
        idx = rng.permutation(np.flatnonzero(ytr == c))
        pre[idx[:len(idx) // 4]] = True
    w1, b1, w2, b2 = train_backbone(xtr[pre], ytr[pre], rng)
    w0 = w2.copy()
    b0 = b2.copy()
    w0[PRE_CLASSES:] = 0.0
    b0[PRE_CLASSES:] = 0.0
    # The head as the gateway will hold it (float32).
    w0 = w0.astype('<f4').astype(np.float64)
    b0 = b0.astype('<f4').astype(np.float64)
    fpool = features(xtr[~pre], w1, b1)
    ypool = ytr[~pre]
    fte = features(xte, w1, b1)
    splits = {"a05": split_dirichlet(ypool, 0.5, rng),
              "two": split_two_classes(ypool, rng)}
    ref = {"test": int(len(yte)), "pool": int(len(ypool)),
           "pretrain": int(pre.sum()), "hidden": H,
           "start": accuracy(w0, b0, fte, yte)}
    # Pooled training of the head: the budget is generous (200 epochs over
    # all the pool; 60 gave within 0.5 point of it) so this is the
    # centralized optimum, not a straw man.
    wc, bc = train_head(w0, b0, fpool, ypool, 200, LOCAL_LR, rng)
    ref["central"] = accuracy(wc, bc, fte, yte)
    for s, parts in splits.items():
        alone = []
        for p in parts:
            # A node alone trains to convergence on its share (the same
            # number of steps as the pooled training over its examples).
            ep = max(60, 60 * len(ypool) // len(p))
            wa, ba = train_head(w0, b0, fpool[p], ypool[p], min(ep, 2000),
                                LOCAL_LR, rng)
            alone.append(accuracy(wa, ba, fte, yte))
        ref["alone_" + s] = {"mean": float(np.mean(alone)),
                            "best": float(np.max(alone)),
                            "sizes": [int(len(p)) for p in parts]}
    # clip_norm for the configuration with a bad node: a quantile (the
    # median by default) of the honest nodes' delta norms in the steady
    # state, as an operator would set it from the norms of trial rounds:
    # a dry run of CLIP_ROUNDS rounds of FedAvg here, without the gateway
    # and without the bad node.  (The norms of the first rounds are several
    # times larger, while the head is still far from the classes 6-9; a
    # clip set from them lets a bad node push that much every round.)
    wd, bd = w0, b0
    for _ in range(CLIP_ROUNDS):
        norms, dw, db = [], 0.0, 0.0
        for p in splits["a05"]:
            wn, bn = train_head(wd, bd, fpool[p], ypool[p], LOCAL_EPOCHS,
                                LOCAL_LR, rng)
            norms.append(float(np.sqrt(((wn - wd) ** 2).sum() +
                                       ((bn - bd) ** 2).sum())))
            dw = dw + len(p) * (wn - wd)
            db = db + len(p) * (bn - bd)
        wd = wd + dw / len(ypool)
        bd = bd + db / len(ypool)
    ref["clip_norm"] = round(float(np.quantile(norms, CLIP_Q)), 3)
    sizes = [len(p) for p in splits["a05"]]
    ref["max_weight"] = int(np.median(sizes)) if MAXW else 0
    ref["bad_samples"] = int(sizes[0])
    np.savez(os.path.join(d, "data.npz"), fpool=fpool, ypool=ypool,
             fte=fte, yte=yte,
             **{"split_%s_%d" % (s, k): p for s, parts in splits.items()
                for k, p in enumerate(parts)})
    with open(os.path.join(d, "head0.bin"), "wb") as f:
        f.write(head_bytes(w0, b0))
    with open(os.path.join(d, "ref.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("rows=%d cols=%d clip_norm=%s max_weight=%d bad_samples=%d" %
          (ROWS, H, ref["clip_norm"], ref["max_weight"], ref["bad_samples"]))


# --- a raw CoAP client ------------------------------------------------------

class Coap:
    """One node's CoAP endpoint: confirmable requests, one at a time,
    retransmitted on a 2 s timeout (at most 4 tries); counts the bytes of
    every datagram sent and received."""

    def __init__(self, port):
        """A socket of its own towards the daemon at port."""
        self.addr = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(2.0)
        self.mid = random.randrange(65536)
        self.up = 0
        self.down = 0

    @staticmethod
    def _opts(opts):
        """Options (number, value), encoded with deltas in order."""
        out = b""
        last = 0
        for num, val in sorted(opts, key=lambda o: o[0]):
            delta = num - last
            last = num
            hdr = b""
            first = 0
            for v, shift in ((delta, 4), (len(val), 0)):
                if v < 13:
                    first |= v << shift
                elif v < 269:
                    first |= 13 << shift
                    hdr += bytes([v - 13])
                else:
                    first |= 14 << shift
                    hdr += struct.pack(">H", v - 269)
            out += bytes([first]) + hdr + val
        return out

    @staticmethod
    def _uint(v):
        """A CoAP uint option value: big-endian, no leading zeros."""
        return v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""

    def _parse(self, m):
        """A message: message id, token, code, options, payload."""
        tkl = m[0] & 15
        code = m[1]
        mid = struct.unpack(">H", m[2:4])[0]
        i = 4 + tkl
        opts = {}
        num = 0
        while i < len(m) and m[i] != 0xFF:
            d, ln = m[i] >> 4, m[i] & 15
            i += 1
            vals = []
            for v in (d, ln):
                if v == 13:
                    v = m[i] + 13
                    i += 1
                elif v == 14:
                    v = struct.unpack(">H", m[i:i + 2])[0] + 269
                    i += 2
                vals.append(v)
            num += vals[0]
            opts[num] = m[i:i + vals[1]]
            i += vals[1]
        payload = m[i + 1:] if i < len(m) else b""
        return mid, m[4:4 + tkl], code, opts, payload

    def request(self, code, path, opts=(), payload=b""):
        """One confirmable request; the answer (code, options, payload)."""
        self.mid = (self.mid + 1) & 0xFFFF
        tok = os.urandom(4)
        o = [(11, p.encode()) for p in path.split("/")] + list(opts)
        m = bytes([0x40 | len(tok), code]) + struct.pack(">H", self.mid)
        m += tok + self._opts(o) + (b"\xff" + payload if payload else b"")
        for _ in range(4):
            self.s.sendto(m, self.addr)
            self.up += len(m)
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                try:
                    r = self.s.recv(2048)
                except socket.timeout:
                    break
                self.down += len(r)
                mid, rtok, rc, ropts, pl = self._parse(r)
                if rtok == tok:
                    return rc, ropts, pl
        raise RuntimeError("no answer to %s" % path)

    def get(self, path):
        """GET by Block2 (1024-byte blocks); the whole body."""
        body = b""
        num = 0
        for _ in range(1000):
            rc, opts, pl = self.request(1, path,
                                        [(23, self._uint(num << 4 | 6))])
            if rc != 0x45:
                raise RuntimeError("GET %s: %d.%02d" %
                                   (path, rc >> 5, rc & 31))
            body += pl
            b2 = int.from_bytes(opts.get(23, b""), "big")
            if not b2 & 8:
                return body
            num = (b2 >> 4) + 1
        raise RuntimeError("GET %s: too many blocks" % path)

    def post(self, path, body):
        """POST by Block1 (1024-byte blocks), content-format 42; the last
        answer's code as "2.04"."""
        n = (len(body) + 1023) // 1024
        for k in range(n):
            more = 8 if k < n - 1 else 0
            rc, opts, pl = self.request(2, path,
                                     [(12, self._uint(42)),
                                      (27, self._uint(k << 4 | more | 6))],
                                     body[1024 * k:1024 * (k + 1)])
            if rc >> 5 != 2 or (more and rc != 0x5F):
                break
        self.max_age = int.from_bytes(opts.get(14, b"\x3c"), "big")
        return "%d.%02d" % (rc >> 5, rc & 31), pl


# --- the rounds against the daemon ------------------------------------------

def cpu_seconds(pid):
    """User plus system CPU seconds of pid (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def post_update(node, path, body, k, rnd, busy):
    """POST one update; a 5.03 (the store deferred the commit during a
    checkpoint, or the round is closing) is sent again after a short
    backoff, at most 30 times, and counted in busy.  A 4.09 after a 5.03
    means the round closed with the first try counted (the daemon adds a
    client before its commit)."""
    pause = 0.05
    for tries in range(30):
        code, pl = node.post(path, body)
        if code == "2.04" or (code == "4.09" and tries > 0):
            if code == "4.09":
                busy.append("then 4.09: round %d closed with the first "
                            "try (node fl%02d)" % (rnd, k))
            return
        if code != "5.03":
            break
        busy.append("%s (Max-Age %d)" % (pl.decode(errors="replace"),
                                         node.max_age))
        time.sleep(pause)
        pause = min(2 * pause, 1.0)
    sys.exit("federated.py: node %d round %d: %s %r" % (k, rnd, code, pl))


def run(a):
    """The rounds of one configuration against the daemon."""
    z = np.load(os.path.join(a.dir, "data.npz"))
    fpool, ypool, fte, yte = z["fpool"], z["ypool"], z["fte"], z["yte"]
    parts = [z["split_%s_%d" % (a.split, k)] for k in range(NODES)]
    rng = np.random.default_rng(a.seed + SEED)
    drop = random.Random(a.seed + SEED)
    nodes = [Coap(a.port) for _ in range(NODES)]
    res = "v1/fl/" + a.name
    rows = []
    cpu0 = cpu_seconds(a.pid)
    t0 = time.monotonic()
    doc = json.loads(nodes[0].get(res))
    acc = None
    busy = []
    for r in range(a.rounds + 1):
        # Every participant fetches the round and the head (the bench
        # evaluates the head node 0 fetched).
        if a.dropout > 0:
            keep = NODES - round(a.dropout * NODES)
            who = sorted(drop.sample(range(NODES), keep))
            if a.bad is not None and a.bad not in who:
                who[drop.randrange(keep)] = a.bad
                who.sort()
        else:
            who = list(range(NODES))
        up0 = sum(n.up for n in nodes)
        down0 = sum(n.down for n in nodes)
        heads = {}
        for k in (who if r < a.rounds else [0]):
            doc = json.loads(nodes[k].get(res))
            heads[k] = nodes[k].get(res + "/head")
        hb = heads[min(heads)]
        if hashlib.sha256(hb).hexdigest() != doc["base"]:
            sys.exit("federated.py: the head is not its base")
        w, b = head_from_bytes(hb, doc["cols"])
        acc = accuracy(w, b, fte, yte)
        if r == a.rounds:
            rows.append((r, acc, 0, 0, cpu_seconds(a.pid) - cpu0))
            break
        rnd = doc["round"]
        for k in who:
            p = parts[k]
            wn, bn = train_head(w, b, fpool[p], ypool[p], LOCAL_EPOCHS,
                                LOCAL_LR, rng)
            dw, db = wn - w, bn - b
            if k == a.bad:
                dw, db = -10 * dw, -10 * db
            body = b"FL\x01\x03" + struct.pack("<I", rnd)
            body += bytes.fromhex(doc["base"]) + struct.pack("<I", len(p))
            body += head_bytes(dw, db)
            post_update(nodes[k], "v1/n/fl%02d/fl/%s" % (k, a.name), body,
                        k, rnd, busy)
        # The last update closes the round (target_clients): wait for the
        # next one to open (bounded).
        for _ in range(200):
            d2 = json.loads(nodes[0].get(res))
            if d2["round"] > rnd:
                break
            time.sleep(0.02)
        else:
            sys.exit("federated.py: round %d never closed" % rnd)
        up = (sum(n.up for n in nodes) - up0) / len(who)
        down = (sum(n.down for n in nodes) - down0) / len(who)
        rows.append((r, acc, up, down, cpu_seconds(a.pid) - cpu0))
    wall = time.monotonic() - t0
    with open(os.path.join(a.dir, "rounds.csv"), "a") as f:
        for r in rows:
            f.write("%s %d %.4f %.0f %.0f %.3f\n" % ((a.name,) + r))
    with open(os.path.join(a.dir, "ref.json")) as f:
        ref = json.load(f)
    out = {"name": a.name, "config": a.config, "split": a.split,
           "rounds": a.rounds, "acc": acc,
           "ratio": acc / ref["central"],
           "first95": next((r[0] for r in rows
                            if r[1] >= 0.95 * ref["central"]), None),
           "up": float(np.mean([r[2] for r in rows[:-1]])),
           "down": float(np.mean([r[3] for r in rows[:-1]])),
           "up_total": sum(n.up for n in nodes) / NODES,
           "down_total": sum(n.down for n in nodes) / NODES,
           "cpu": rows[-1][4], "wall": wall, "busy": len(busy),
           "busy_why": sorted(set(busy))}
    with open(os.path.join(a.dir, "summary.json"), "a") as f:
        f.write(json.dumps(out) + "\n")
    print("%-36s rounds %2d  acc %.4f  ratio %.3f  cpu %.2f s  wall %.1f s"
          "  5.03 retries %d" % (a.config, a.rounds, acc, out["ratio"],
                                 out["cpu"], wall, len(busy)))
    for why in out["busy_why"]:
        print("  5.03: %s" % why)


def main():
    """prepare or run, as the arguments say."""
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["prepare", "run"])
    p.add_argument("dir")
    p.add_argument("--port", type=int)
    p.add_argument("--pid", type=int)
    p.add_argument("--name")
    p.add_argument("--config", default="")
    p.add_argument("--split", default="a05", choices=["a05", "two"])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--bad", type=int)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    if a.cmd == "prepare":
        prepare(a.dir)
    else:
        run(a)


if __name__ == "__main__":
    main()
