#!/usr/bin/env python3
"""fl-update.py - build a federated-learning update (SPEC 10) for the
end-to-end tests, from the round document GET /v1/fl/{NAME} gave.

  fl-update.py DOC OUT [--round-add N] [--samples S] [--delta D]
               [--bad-base] [--nan] [--cut N]

The update is "FL", version 1, dtype 3, the round, the base (sha256 of the
head), samples, then rows*cols + rows float32 deltas, all little-endian.
--bad-base flips a bit of the base, --nan puts a NaN in the delta, --cut
drops the last N bytes: the malformed cases the gateway must refuse.
"""
import argparse
import json
import struct


def main():
    p = argparse.ArgumentParser()
    p.add_argument("doc")
    p.add_argument("out")
    p.add_argument("--round-add", type=int, default=0)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--delta", type=float, default=0.01)
    p.add_argument("--bad-base", action="store_true")
    p.add_argument("--nan", action="store_true")
    p.add_argument("--cut", type=int, default=0)
    a = p.parse_args()
    with open(a.doc) as f:
        d = json.load(f)
    base = bytearray(bytes.fromhex(d["base"]))
    if a.bad_base:
        base[0] ^= 1
    n = d["rows"] * d["cols"] + d["rows"]
    deltas = [a.delta] * n
    if a.nan:
        deltas[n // 2] = float("nan")
    body = b"FL" + bytes([1, 3]) + struct.pack("<I", d["round"] + a.round_add)
    body += bytes(base) + struct.pack("<I", a.samples)
    body += struct.pack("<%df" % n, *deltas)
    if a.cut:
        body = body[:-a.cut]
    with open(a.out, "wb") as f:
        f.write(body)


if __name__ == "__main__":
    main()
