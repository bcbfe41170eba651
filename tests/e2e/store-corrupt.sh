#!/bin/sh
# store-corrupt.sh - an unusable database at start is moved aside with a
# timestamp (never deleted), logged loudly, and the daemon runs with a
# fresh store: a file that is not SQLite at all, and a real store whose
# pages were overwritten.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"

PORT=$(free_port)
mqtt_conf "$T/c.ini" "$PORT"

# case NAME: start the daemon on the damaged file and check the outcome.
check_case() {
	: > "$T/daemon.log"
	start_daemon "$T/c.ini"
	t_ok "$1: daemon runs" kill -0 "$DAEMON_PID"
	t_ok "$1: logged loudly" daemon_log_has \
	    "error: store: database .*tinyedge.db is unusable; moved to"
	aside=$(ls "$T/data" | grep -c '^tinyedge.db.corrupt-[0-9]\{8\}T[0-9]\{6\}Z$')
	t_is "$1: moved aside with a timestamp" "$aside" 1
	t_is "$1: the old bytes are kept" \
	    "$(cat "$T/data"/tinyedge.db.corrupt-*Z | cksum)" "$sum"
	t_is "$1: fresh store usable" \
	    "$(sqlite3 "$T/data/tinyedge.db" 'PRAGMA user_version')" 5
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	t_is "$1: clean stop" "$?" 0
	rm -rf "$T/data"
}

mkdir -p "$T/data"
head -c 20000 /dev/urandom > "$T/data/tinyedge.db"
sum=$(cksum < "$T/data/tinyedge.db")
check_case "not a database"

# A real store with rows, then garbage over its pages 2..4.
"$STOREPUT" -c "$T/c.ini" -n 2000 -m > "$T/out.txt" 2>>"$T/driver.log" &
pid=$!
t_track $pid
wait_for 20 file_has "$T/out.txt" committed
kill -TERM $pid
wait $pid
dd if=/dev/urandom of="$T/data/tinyedge.db" bs=4096 seek=1 count=3 \
    conv=notrunc 2>/dev/null
sum=$(cksum < "$T/data/tinyedge.db")
check_case "damaged pages"

# A database newer than this build is refused, not moved (exit 3).
mkdir -p "$T/data"
sqlite3 "$T/data/tinyedge.db" 'PRAGMA user_version = 99'
"$TINYEDGED" -c "$T/c.ini" > "$T/new.log" 2>&1
t_is "newer schema: exit 3" "$?" 3
t_ok "newer schema: says why" grep -q 'schema version 99 is newer' \
    "$T/new.log"
t_ok "newer schema: file left in place" test -f "$T/data/tinyedge.db"
[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_clean_logs
t_done
