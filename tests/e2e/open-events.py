#!/usr/bin/python3
"""open-events.py - the open events recorded in a tinyedged store.

usage: open-events.py DB

Reads the state record "events" (docs/store.md: "TEEV", version 1, a
count, then per event tier, boot, seq, count, first and last receive
time, score and three length-prefixed strings, little-endian) and prints
one line per event: NODE TIER LABEL COUNT SCORE.  Exits 1 if the record is
malformed; prints nothing when no event is open.
"""
import sqlite3
import struct
import sys

con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
row = con.execute("SELECT val FROM state WHERE key = 'events'").fetchone()
if row is None:
    sys.exit(0)
rec = bytes(row[0])
if rec[:5] != b"TEEV\x01":
    sys.exit("open-events: bad header %r" % rec[:5])
(n,) = struct.unpack_from("<I", rec, 5)
p = 9
for _ in range(n):
    tier, boot, seq, count, first, last, score = struct.unpack_from(
        "<BIqQQQd", rec, p)
    p += 45
    s = []
    for _ in range(3):
        (ln,) = struct.unpack_from("<H", rec, p)
        s.append(rec[p + 2:p + 2 + ln].decode())
        p += 2 + ln
    print(s[0], tier, s[1], count, score)
if p != len(rec):
    sys.exit("open-events: %d trailing bytes" % (len(rec) - p))
