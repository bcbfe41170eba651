#!/bin/sh
# store-full.sh - a full disk: nothing is acknowledged that is not durable.
#
# The data directory is a small tmpfs, mostly taken by a ballast file.
# Nodes post readings until SQLite and then the journal run out of space:
# the store logs it once, readings are answered 5.03 with Max-Age (never
# 2.04), the daemon stays up.  The ballast is removed (space returns): the
# store recovers by itself, applies the journal and takes readings again.
# At the end every reading that got a 2.04 is stored exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"

command -v python3 > /dev/null || t_skip_all "python3 not installed"
command -v sqlite3 > /dev/null || t_skip_all "sqlite3 not installed"
t_tmpfs "$T/data" 4m || t_skip_all "cannot mount a tmpfs (not root?)"
# The ballast leaves room for the journal's first segments and a little.
dd if=/dev/zero of="$T/data/ballast" bs=64k count=40 2> /dev/null
COAP_PORT=$(free_port udp)
write_conf "$T/f.ini" "new_nodes_per_minute = 0" \
	"[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$(free_port)"
INF='{"seq":1,"model":"kws","label":"ok","score":0.5}'
URI="coap://127.0.0.1:$COAP_PORT/v1/n"

start_daemon "$T/f.ini"
t_ok "daemon starts on the small disk" wait_for 10 daemon_log_has "started, gateway"
t_is "a reading is acknowledged" "$(coap_code -m post -e "$INF" "$URI/probe/inference")" 2.04
"$NODESIM" --coap "coap://127.0.0.1:$COAP_PORT" --nodes 5 --rate 400 \
	--window 2 --duration 60 --ack-timeout 200 --seed 11 \
	--acked-log "$T/acked.txt" > "$T/sim.out" 2> "$T/sim.err" &
SIM=$!
t_track $SIM
t_ok "SQLite runs out of space: the store says so" \
	wait_for 40 daemon_log_has "readings go to the journal only"
t_ok "then the journal: new readings are refused, said once" \
	wait_for 40 daemon_log_has "new readings are refused"
sleep 1
"$COAP_CLIENT" -v 6 -B 3 -m post -e '{"seq":2,"model":"kws","label":"ok","score":0.5}' \
	"$URI/probe/inference" > "$T/full.out" 2>&1
t_ok "a reading on the full disk gets 5.03" grep -q ' c:5\.03 ' "$T/full.out"
t_ok "with Max-Age" grep -qi 'max-age' "$T/full.out"
t_ok "the daemon stays up" kill -0 "$DAEMON_PID"
t_is "the refusal is logged once" "$(daemon_log_count "new readings are refused")" 1
acked_full=$(wc -l < "$T/acked.txt")
sleep 1
t_is "nothing is acknowledged while full" "$(wc -l < "$T/acked.txt")" "$acked_full"

rm -f "$T/data/ballast"
t_ok "space returns: the store recovers by itself" \
	wait_for 40 daemon_log_has "journal has room again"
t_ok "and applies the journal to SQLite" \
	wait_for 40 daemon_log_has "space available again"
t_ok "readings are acknowledged again" \
	wait_for 20 sh -c "[ \$(wc -l < '$T/acked.txt') -gt $((acked_full + 50)) ]"
kill -TERM $SIM
wait $SIM
stop_daemon
t_is "clean stop" "$EXIT_RC" 0

# The tmpfs goes at exit: keep the store for a look after a failure.
cp -r "$T/data" "$T/final"
# Stored means in SQLite, or in the journal after the record SQLite last
# committed (replayed at the next start): under this load the small disk
# may fill again after the recovery, and the stop then finds the newest
# readings in the journal only (record layout: src/store_journal.c).
python3 - "$T/acked.txt" "$T/final" > "$T/check.txt" <<'PY'
import glob, sqlite3, struct, sys, zlib
acked = set()
for line in open(sys.argv[1]):
    f = line.split()
    acked.add((f[0], int(f[1]), int(f[2])))
db = sqlite3.connect(sys.argv[2] + "/tinyedge.db")
count = {}
for k in db.execute("SELECT node, boot, seq FROM msg WHERE kind IN (1, 2)"):
    count[k] = count.get(k, 0) + 1
row = db.execute("SELECT val FROM state WHERE key = 'journal'").fetchone()
committed = int(row[0]) if row else 0
pending = set()
for seg in glob.glob(sys.argv[2] + "/journal/seg.*"):
    b = open(seg, "rb").read()
    p = 0
    while p + 48 <= len(b):
        crc, n, rseq = struct.unpack_from("<IIQ", b, p)
        if n < 48 or p + n > len(b) or zlib.crc32(b[p + 4:p + n]) != crc:
            break
        seq, boot, kind, nlen = struct.unpack_from("<qIBB", b, p + 32)
        if rseq > committed and kind in (1, 2):
            pending.add((b[p + 48:p + 48 + nlen].decode(), boot, seq))
        p += n
missing = sum(1 for k in acked if k not in count and k not in pending)
doubled = sum(1 for v in count.values() if v > 1)
print("acked", len(acked), "missing", missing, "doubled", doubled,
      "journal_only", sum(1 for k in acked if k not in count and k in pending))
PY
sed 's/^/# /' "$T/check.txt"
set -- $(cat "$T/check.txt")
t_ok "readings were acknowledged ($2)" test "${2:-0}" -gt 100
t_is "every acknowledged reading is stored (SQLite, or the journal)" "${4:-x}" 0
t_is "none twice" "${6:-x}" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"
[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_done
