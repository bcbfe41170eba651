#!/usr/bin/python3
"""summary-check.py - what the summary stage should have published, from
the store's own message rows, against what mosquitto_sub received.

usage: summary-check.py DB MQTT_FILE INTERVAL_MS DEBOUNCE_MS MIN_SCORE
                        IGNORE_LABELS EXACT_NODES [MAX_LABELS]

DB is the daemon's store (raw_retention keeps the rows), MQTT_FILE the
output of `mosquitto_sub -v` on P/#.  Summaries are recomputed from the
rows (interval of the gateway receive time, never going back in id order)
and compared field by field.  Events of the nodes in EXACT_NODES (comma
list) are recomputed with the debounce rule and compared field by field;
for every node, the counts of its events add up to its qualifying
inferences.  With MAX_LABELS (summary.max_labels, default 64), a summary
of more labels lists the MAX_LABELS most frequent (ties in name order)
and folds the rest into "_other_" (n summed, mean, min and max over them
all) with "folded" saying how many; a node's own "_other_" always folds.
Only the first 4 x MAX_LABELS distinct labels of a node's interval are
told apart; later new labels are counted as "_other_" and in "untracked".
Prints one "ok ..." or "FAIL ..." line per check, and exits 1
if any check failed.
"""
import json
import sqlite3
import sys
from collections import defaultdict

db, mqtt, iv, debounce, min_score, ignore, exact = sys.argv[1:8]
max_labels = int(sys.argv[8]) if len(sys.argv) > 8 else 64
iv, debounce, min_score = int(iv), int(debounce), float(min_score)
ignore = {x.strip() for x in ignore.split(",") if x.strip()}
exact = {x for x in exact.split(",") if x}
fails = 0


def check(ok, what):
    global fails
    print(("ok " if ok else "FAIL ") + what)
    if not ok:
        fails += 1


con = sqlite3.connect(db)
rows = []
for mid, node, boot, seq, kind, rx, body in con.execute(
        "SELECT id, node, boot, seq, kind, rx_ms, body FROM msg "
        "WHERE kind IN (1, 4) ORDER BY id"):
    b = json.loads(body)
    rows.append(dict(id=mid, node=node, boot=boot, seq=seq,
                     tier=2 if kind == 4 else 1, rx=rx, label=b["label"],
                     score=b["score"], model=b["model"]))

# What arrived: distinct ids; the same id must always carry the same body.
got = {"summary": {}, "events": {}, "windows": {}}
same = True
for line in open(mqtt, encoding="utf-8"):
    topic, _, payload = line.rstrip("\n").partition(" ")
    kind = topic.split("/")[2] if topic.count("/") >= 3 else ""
    if kind not in got:
        continue
    o = json.loads(payload)
    if o["id"] in got[kind] and got[kind][o["id"]] != o:
        same = False
    got[kind][o["id"]] = o
check(same, "a repeated id always carries the same body")

# Summaries.
buckets = defaultdict(list)
latest = 0
for r in rows:
    start = max(r["rx"] - r["rx"] % iv, latest)
    latest = start
    buckets[(r["node"], start)].append(r)
want = {}
for (node, start), rs in buckets.items():
    # At most 4 x max_labels distinct labels are told apart per node and
    # interval (in message order); later new ones count as "_other_".
    labels, untracked = {}, 0
    for r in rs:
        label = r["label"]
        if (label not in labels and len(labels) >= 4 * max_labels and
                label != "_other_"):
            untracked += 1
            label = "_other_"
        labels.setdefault(label, []).append(r["score"])
    want["sum:%s:%d" % (node, start)] = dict(
        node=node, start=start, n=len(rs), labels=labels,
        untracked=untracked)
check(set(got["summary"]) == set(want),
      "summary ids: %d received, %d expected" % (len(got["summary"]),
                                                   len(want)))



def fold(labels):
    """The labels a summary lists: over max_labels, the most frequent
    ones and "_other_" for the rest; and how many were folded."""
    if len(labels) <= max_labels:
        return labels, 0
    rank = sorted((l for l in labels if l != "_other_"),
                  key=lambda l: (-len(labels[l]), l))
    kept = {l: labels[l] for l in rank[:max_labels]}
    rest = [l for l in labels if l not in kept]
    kept["_other_"] = [s for l in rest for s in labels[l]]
    return kept, len(rest)


bad = []
for sid, w in want.items():
    g = got["summary"].get(sid)
    if g is None:
        continue
    w["labels"], folded = fold(w["labels"])
    if (g.get("folded", 0) != folded or
            g.get("untracked", 0) != w["untracked"]):
        bad.append(sid)
        continue
    if (g["node"] != w["node"] or g["from"] != w["start"] or
            g["to"] != w["start"] + iv or g["n"] != w["n"] or
            set(g["labels"]) != set(w["labels"])):
        bad.append(sid)
        continue
    for label, scores in w["labels"].items():
        gl = g["labels"][label]
        mean = sum(scores) / len(scores)
        if (gl["n"] != len(scores) or gl["max"] != max(scores) or
                gl["min"] != min(scores) or
                abs(gl["mean"] - mean) > 1e-9 * max(1.0, abs(mean))):
            bad.append(sid)
check(not bad, "summaries match field by field %s" % bad[:3])
per_node = defaultdict(int)
for g in got["summary"].values():
    per_node[g["node"]] += g["n"]
stored = defaultdict(int)
for r in rows:
    stored[r["node"]] += 1
check(per_node == stored,
      "summed n per node equals the stored inferences (%d nodes, %d "
      "inferences)" % (len(stored), sum(stored.values())))

# Events.
open_ev, closed, ambiguous = {}, [], []
for r in rows:
    if r["score"] < min_score or r["label"] in ignore:
        continue
    key = (r["node"], r["tier"], r["label"])
    e = open_ev.get(key)
    if e is not None and debounce > 0:
        gap = r["rx"] - e["last_ts"]
        if gap < debounce:
            e["count"] += 1
            e["score"] = max(e["score"], r["score"])
            e["last_ts"] = r["rx"]
            continue
        # The housekeeping check runs once a second: a gap just over the
        # debounce may or may not have closed the event first.
        if gap < debounce + 1100 and r["node"] in exact:
            ambiguous.append(key)
        closed.append(open_ev.pop(key))
    e = dict(id="ev:%s:%d:%d:%d" % (r["node"], r["boot"], r["seq"],
                                    r["tier"]),
             node=r["node"], label=r["label"], score=r["score"],
             tier=r["tier"], model=r["model"], seq=r["seq"], count=1,
             first_ts=r["rx"], last_ts=r["rx"])
    if debounce == 0:
        closed.append(e)
    else:
        open_ev[key] = e
closed.extend(open_ev.values())
check(not ambiguous, "scripted gaps are clear of the debounce edge %s" %
      ambiguous[:3])
want_ev = {e["id"]: e for e in closed if e["node"] in exact}
got_ev = {i: e for i, e in got["events"].items() if e["node"] in exact}
check(want_ev == got_ev,
      "events of %s match field by field (%d expected, %d received)" %
      (",".join(sorted(exact)), len(want_ev), len(got_ev)))
if want_ev != got_ev:
    for i in sorted(set(want_ev) | set(got_ev)):
        if want_ev.get(i) != got_ev.get(i):
            print("#  want %s\n#  got  %s" % (want_ev.get(i),
                                              got_ev.get(i)))
counts, want_counts = defaultdict(int), defaultdict(int)
for e in got["events"].values():
    counts[(e["node"], e["tier"], e["label"])] += e["count"]
for e in closed:
    want_counts[(e["node"], e["tier"], e["label"])] += e["count"]
check(counts == want_counts,
      "event counts add up to the qualifying inferences (%d)" %
      sum(want_counts.values()))

# Forwarded windows: one per stored window, JSON with our id.
wins = {"win:%s:%d:%d" % r for r in con.execute(
    "SELECT node, boot, seq FROM msg WHERE kind = 2")}
check(set(got["windows"]) == wins,
      "forwarded windows: %d received, %d stored" % (len(got["windows"]),
                                                      len(wins)))
check(all(isinstance(w.get("values"), list) and w["values"] and
          isinstance(w["values"][0], list) for w in got["windows"].values()),
      "every forwarded window has rows of values")
sys.exit(1 if fails else 0)
