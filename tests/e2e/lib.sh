# tests/e2e/lib.sh - shared helpers for the end-to-end tests (sourced).
#
# Every test prints TAP (automake's tap-driver reads it): t_ok/t_is record
# results, t_done prints the plan.  Everything a test starts (daemon,
# mosquitto, socat) is registered and killed on exit; every wait is bounded.
# Only loopback addresses are used.

set -u
TE_BUILDDIR=${TE_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TE_SRCDIR=${TE_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TINYEDGED=${TINYEDGED:-$TE_BUILDDIR/tinyedged}
NODESIM=${NODESIM:-$TE_BUILDDIR/tinyedge-nodesim}
T=$(mktemp -d "${TMPDIR:-/tmp}/te-e2e.XXXXXX")
_t_n=0
_t_fail=0
_t_pids=""
_t_mounts=""

# Kill everything we started and remove the scratch dir.
_t_cleanup() {
	local p
	for p in $_t_pids; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for p in $_t_mounts; do
		umount -l "$p" 2>/dev/null
	done
	if [ "${TE_KEEP:-0}" = 1 ] || [ "$_t_fail" != 0 ]; then
		echo "# scratch kept in $T"
	else
		rm -rf "$T"
	fi
}
trap _t_cleanup EXIT

# t_tmpfs DIR SIZE: a tmpfs of SIZE on DIR (made), unmounted at exit;
# fails where the test may not mount.
t_tmpfs() {
	mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" \
	    2>/dev/null || return 1
	_t_mounts="$_t_mounts $1"
}

# Remember a pid to kill at exit.
t_track() { _t_pids="$_t_pids $1"; }

# t_ok DESC CMD...: one test point, passing when CMD succeeds.
t_ok() {
	local desc=$1
	shift
	_t_n=$((_t_n + 1))
	if "$@"; then
		echo "ok $_t_n - $desc"
	else
		echo "not ok $_t_n - $desc"
		_t_fail=$((_t_fail + 1))
	fi
}

# t_is DESC GOT WANT: one test point comparing two strings.
t_is() {
	_t_n=$((_t_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $_t_n - $1"
	else
		echo "not ok $_t_n - $1"
		echo "#   got:  '$2'"
		echo "#   want: '$3'"
		_t_fail=$((_t_fail + 1))
	fi
}

# t_skip_all REASON: the whole script is skipped.
t_skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

# t_skip_models REASON [POINT]: what is left of the script needs the
# shared TinyML models ($TE_MODELS), and they are not there.  It is
# skipped: the whole script if no point has run yet, else as one skipped
# point (POINT names it).  With TE_REQUIRE_MODELS=1 (scripts/test sets it
# when it has the models, so CI does) it is a failing point instead, so
# the suite cannot pass with the model tests silently skipped.
t_skip_models() {
	if [ "${TE_REQUIRE_MODELS:-0}" = 1 ]; then
		t_ok "${2:-models} ($1, and TE_REQUIRE_MODELS=1)" false
		t_done
		exit 1
	fi
	[ "$_t_n" = 0 ] && t_skip_all "$1"
	_t_n=$((_t_n + 1))
	echo "ok $_t_n - ${2:-the rest of the test} # SKIP $1"
	t_done
	exit
}

# t_done: print the plan; exit status tells whether all passed.
t_done() {
	echo "1..$_t_n"
	[ "$_t_fail" = 0 ]
}

# t_diag FILE: show a file as TAP comments (for failures).
t_diag() {
	[ -f "$1" ] && sed 's/^/# /' "$1" | tail -n "${2:-40}"
}

# free_port [udp|tcp]: print a loopback port nothing listens on.
free_port() {
	python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
while True:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    # The same number must be free for the other protocol too.
    o = socket.socket(socket.AF_INET,
        socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM)
    try:
        o.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
PY
}

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}

# start_mosquitto PORT [EXTRA_CONF_LINES]: a throwaway broker on loopback.
# No per-client queue limit: by default mosquitto silently drops QoS 1
# messages for a subscriber more than 1,000 behind, which a loaded test
# machine can hit; a test must only ever see losses that are ours.
start_mosquitto() {
	local port=$1 conf=$T/mosquitto-$1.conf
	{
		echo "listener $port 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence false"
		echo "max_queued_messages 0"
		[ $# -ge 2 ] && printf '%s\n' "$2"
	} > "$conf"
	mosquitto -c "$conf" > "$T/mosquitto-$port.log" 2>&1 &
	MOSQ_PID=$!
	t_track $MOSQ_PID
	wait_for 10 mosquitto_pub -h 127.0.0.1 -p "$port" -t te/probe -m x -q 0
}

# stop_mosquitto: stop the broker started last.
stop_mosquitto() {
	kill "$MOSQ_PID" 2>/dev/null
	wait "$MOSQ_PID" 2>/dev/null
}

# daemon_log_has PATTERN: the daemon's log contains PATTERN.
daemon_log_has() { grep -q -- "$1" "$T/daemon.log"; }

# daemon_log_count PATTERN: how many lines of the daemon's log match.
daemon_log_count() { grep -c -- "$1" "$T/daemon.log" 2>/dev/null; }

# _t_more_than N PATTERN: more than N log lines match PATTERN.
_t_more_than() { [ "$(daemon_log_count "$2")" -gt "$1" ]; }

# start_daemon CONF: run tinyedged in the background and wait for this
# run's own "started" line (the log is shared by every run of a test).
start_daemon() {
	local before
	before=$(daemon_log_count "started, gateway")
	"$TINYEDGED" -c "$1" >> "$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	t_track $DAEMON_PID
	wait_for 10 _t_more_than "${before:-0}" "started, gateway"
}

# wait_exit PID SECONDS: wait for PID to exit, at most SECONDS, then
# kill -9 it; its exit status goes to $EXIT_RC (137 when it was killed).
# Not for $(...): only this shell, the parent, can reap the process.
wait_exit() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -ge $(($2 * 20)) ]; then
			kill -9 "$1" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	wait "$1" 2>/dev/null
	EXIT_RC=$?
}

# stop_daemon: SIGTERM and wait (10 s at most); status in $EXIT_RC.
stop_daemon() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait_exit "$DAEMON_PID" 10
}

# write_conf FILE [LINES...]: a minimal valid config using $T/data; the
# lines follow the [gateway] id and data_dir lines.  Unless the lines have
# a [coap] section, CoAP is off: a test never binds the default port 5683
# (tests run in parallel, and the machine may have a real gateway).
write_conf() {
	local f=$1 l coap=0 store=0
	shift
	for l in "$@"; do
		[ "$l" = "[coap]" ] && coap=1
		[ "$l" = "[store]" ] && store=1
		case $l in commit_interval*) store=2 ;; esac
	done
	{
		echo "[gateway]"
		echo "id = gw-test"
		echo "data_dir = $T/data"
		for l in "$@"; do
			printf '%s\n' "$l"
			[ "$l" = "[store]" ] && [ $store = 1 ] &&
				echo "commit_interval = $TE_COMMIT"
		done
		if [ $store = 0 ]; then
			echo "[store]"
			echo "commit_interval = $TE_COMMIT"
		fi
		if [ $coap = 0 ]; then
			echo "[coap]"
			echo "listen ="
		fi
	} > "$f"
}

# Tests commit to SQLite every TE_COMMIT (the default second would slow
# every check that reads the database); store_settle waits until what was
# acknowledged before it has reached SQLite.
TE_COMMIT=${TE_COMMIT:-50ms}
store_settle() { sleep 0.3; }
