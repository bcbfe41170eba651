#!/bin/bash
# store-sync.sh - store.sync = full: no 2.04 leaves before the fdatasync
# that covers its reading has returned, and readings share syncs.
#
# Power loss cannot be tested here; the order of system calls can.  The
# daemon runs under strace (-f: the sync runs in a pool thread).  One node
# sends readings one at a time: for every response on the CoAP socket,
# the last journal write before it must be covered by an fdatasync of the
# same segment that started after the write and returned before the
# response.  Then twenty nodes at once: fewer syncs than readings (the
# readings that arrive while one sync runs share the next one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"

command -v strace > /dev/null || t_skip_all "strace not installed"
command -v python3 > /dev/null || t_skip_all "python3 not installed"
COAP_PORT=$(free_port udp)
write_conf "$T/s.ini" "new_nodes_per_minute = 0" \
	"[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[store]" "sync = ${TE_SYNC:-full}" \
	"[mqtt]" "uri = tcp://127.0.0.1:$(free_port)"

# LeakSanitizer cannot run under ptrace: leaks are checked by every other
# test; here only the order of system calls is.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
	strace -f -ttt -yy -s 16 -o "$T/trace.txt" \
	-e trace=pwrite64,fdatasync,sendmsg,sendto,sendmmsg \
	"$TINYEDGED" -c "$T/s.ini" >> "$T/daemon.log" 2>&1 &
DAEMON_PID=$!
t_track $DAEMON_PID
t_ok "daemon starts under strace" wait_for 20 daemon_log_has "started, gateway"

one=$("$NODESIM" --coap "coap://127.0.0.1:$COAP_PORT" --nodes 1 --rate 0 \
	--window 1 --duration 2 --seed 3 --prefix one)
echo "# one node: $one"
t_ok "one node: readings acknowledged" grep -q 'acked=[1-9]' <<< "$one"
split=$(date +%s.%N)
many=$("$NODESIM" --coap "coap://127.0.0.1:$COAP_PORT" --nodes 20 --rate 0 \
	--window 1 --duration 2 --seed 4 --prefix many)
echo "# twenty nodes: $many"
t_ok "twenty nodes: readings acknowledged, none failed" \
	grep -q 'acked=[1-9][0-9]* failed=0 ' <<< "$many"
# SIGTERM to the daemon itself (strace would only detach); strace ends
# with the daemon's status.
kill -TERM $(pgrep -P "$DAEMON_PID") 2> /dev/null
wait_exit "$DAEMON_PID" 10
t_is "clean stop" "$EXIT_RC" 0

# The order is checked on the one-node part of the trace (before split);
# the syncs are counted on the twenty-node part.
python3 - "$T/trace.txt" "$COAP_PORT" "$split" > "$T/check.txt" <<'PY'
import re, sys
port = sys.argv[2]
split = float(sys.argv[3])
lines = open(sys.argv[1], errors="replace").read().splitlines()
T = r'^(\d+) +([\d.]+) '
jw = re.compile(T + r'pwrite64\((\d+)<([^>]*/journal/seg\.\d+)>, "(.*?)"')
fs = re.compile(T + r'fdatasync\((\d+)<([^>]*/journal/seg\.\d+)>')
fr = re.compile(T + r'<\.\.\. fdatasync resumed>.*= 0')
fd_done = re.compile(T + r'fdatasync\((\d+)<([^>]*/journal/seg\.\d+)>\) += 0')
send = re.compile(T + r'(sendmsg|sendto|sendmmsg)\(\d+<UDP:\[127\.0\.0\.1:%s' % port)
events = []          # (time, kind, path) in trace order
open_sync = {}       # pid -> path of an unfinished sync
for l in lines:
    m = jw.match(l)
    if m:
        if not m.group(5).startswith("\\0\\0\\0\\0\\0\\0\\0\\0"):
            events.append((float(m.group(2)), "write", m.group(4)))
        continue
    m = fd_done.match(l)
    if m:
        events.append((float(m.group(2)), "sync_start", m.group(4)))
        events.append((float(m.group(2)), "sync_end", m.group(4)))
        continue
    m = fs.match(l)
    if m and "unfinished" in l:
        open_sync[m.group(1)] = m.group(4)
        events.append((float(m.group(2)), "sync_start", m.group(4)))
        continue
    m = fr.match(l)
    if m and m.group(1) in open_sync:
        events.append((float(m.group(2)), "sync_end", open_sync.pop(m.group(1))))
        continue
    if send.match(l):
        events.append((float(send.match(l).group(2)), "send", None))
# One node, one reading at a time: a response is covered when, after the
# last journal write before it, a sync of that segment started and ended.
bad = checked = 0
last_w = None
started = set()
covered = False
writes = syncs = 0
for t, kind, path in events:
    if t >= split:
        if kind == "write":
            writes += 1
        elif kind == "sync_start":
            syncs += 1
        continue
    if kind == "write":
        last_w, covered, started = path, False, set()
    elif kind == "sync_start":
        started.add(path)
    elif kind == "sync_end":
        if path == last_w and path in started:
            covered = True
    elif kind == "send" and last_w is not None:
        checked += 1
        if not covered:
            bad += 1
print("writes", writes, "syncs", syncs, "responses", checked, "uncovered", bad)
PY
sed 's/^/# /' "$T/check.txt"
set -- $(cat "$T/check.txt")
t_ok "journal writes seen in the trace ($2)" test "${2:-0}" -gt 50
t_ok "responses seen in the trace ($6)" test "${6:-0}" -gt 50
t_is "no response before the fdatasync covering the last write" "${8:-x}" 0
t_ok "readings share syncs: $4 syncs for $2 writes" \
	test "$((${4:-999999} * 10))" -lt "$((${2:-0} * 9))"
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"
[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_done
