# tests/e2e/lib-serial.sh - helpers for the serial e2e tests (sourced after
# lib.sh and lib-mqtt.sh): socat pty pairs standing in for a BLE dongle or
# a USB CDC port, tinyedge-nodesim --serial writing to them, and the
# daemon's per-link counters.  Every wait is bounded.

NODESIM=${NODESIM:-$TE_BUILDDIR/tinyedge-nodesim}
command -v socat > /dev/null || t_skip_all "socat not installed"
command -v sqlite3 > /dev/null || t_skip_all "sqlite3 not installed"
command -v jq > /dev/null || t_skip_all "jq not installed"

# start_pty [A B]: a pty pair; nodes write to $T/A, the daemon reads $T/B
# (default a and b).  Its pid goes to $SOCAT_PID.
start_pty() {
	local a=$T/${1:-a} b=$T/${2:-b}
	rm -f "$a" "$b"
	socat pty,raw,echo=0,link="$a" pty,raw,echo=0,link="$b" \
	    2>> "$T/socat.log" &
	SOCAT_PID=$!
	t_track $SOCAT_PID
	wait_for 5 test -e "$a" -a -e "$b"
}

# t_or_bail DESC CMD...: t_ok, but when it fails the rest of the script
# would only wait out its timeouts: print the plan and stop.
t_or_bail() {
	local before=$_t_fail
	t_ok "$@"
	if [ "$_t_fail" != "$before" ]; then
		t_diag "$T/daemon.log"
		t_done
		exit 1
	fi
}

# unplug_pty [PID]: kill a pair the hard way (its links are left dangling,
# as a vanished /dev/ttyACM0 would be); default $SOCAT_PID.
unplug_pty() {
	kill -9 "${1:-$SOCAT_PID}" 2>/dev/null
	wait "${1:-$SOCAT_PID}" 2>/dev/null
	return 0
}

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# serial_conf FILE MQTT_PORT FRAMING [EXTRA LINES]: a daemon config with
# one link "s0" on $T/b, CoAP on a free loopback port ($COAP_PORT).
serial_conf() {
	local f=$1 port=$2 framing=$3
	shift 3
	COAP_PORT=${COAP_PORT:-$(free_port udp)}
	mqtt_conf "$f" "$port" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	    "[serial:s0]" "device = $T/b" "framing = $framing" "$@"
}

# nodesim_serial OUT ARGS...: run the simulator on $T/a; stdout (the result
# line) to OUT, stderr (the garbage tally) to OUT.err.
nodesim_serial() {
	local out=$1
	shift
	timeout -k 2 30 "$NODESIM" --serial "$T/a" "$@" > "$out" 2> "$out.err"
}

# tally_of FILE KEY: a number from the simulator's "garbage:" line.
tally_of() { sed -n "s/^garbage:.* $2=\([0-9]*\).*/\1/p" "$1" | tail -n 1; }

# counter_of KEY: a counter from the daemon's last per-link summary line
# (logged at stop).
counter_of() {
	grep 'serial s0: frames=' "$T/daemon.log" | tail -n 1 |
	    sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

# rows [WHERE]: messages stored.
rows() { store_settle; sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM msg ${1:-}"; }

# rows_are N [WHERE]: exactly N messages stored (for wait_for).
rows_are() { [ "$(rows "${2:-}")" = "$1" ]; }

# stored_set: "node boot seq kind" of every stored message, sorted.
stored_set() {
	store_settle
	sqlite3 -separator ' ' "$T/data/tinyedge.db" \
	    "SELECT node, boot, seq, CASE kind WHEN 1 THEN 'inference'
	    WHEN 2 THEN 'window' ELSE 'heartbeat' END FROM msg" | sort
}

# acked_set FILE: the same from a simulator's --acked-log.
acked_set() { awk '{ print $1, $2, $3, $4 }' "$1" | sort; }

# last_metrics: the last P/metrics body the subscriber saw.
last_metrics() { grep ' tinyedge/gw-test/metrics ' "$T/metrics.txt" |
    tail -n 1 | cut -d' ' -f3-; }

# qualifying FILE: acked-log inferences that make an event (the defaults
# of [summary]: score >= 0.8, label not ignored).
qualifying() {
	awk '$4 == "inference" && $6 >= 0.8 && $5 != "_silence_" &&
	    $5 != "_unknown_" && $5 != "background" && $5 != "idle"' "$1"
}

# events_match FILE: the event ids seen on P/events/# are exactly the
# "node:boot:seq" lines of FILE (each event once).
events_match() {
	grep ' tinyedge/gw-test/events/' "$T/metrics.txt" |
	    grep -o '"id":"ev:[^"]*"' | sed 's/"id":"ev:\(.*\):1"/\1/' |
	    sort -u | cmp -s - "$1"
}

# link_counter JSON KEY: serial_links.s0.KEY of a P/metrics body.
link_counter() { echo "$1" | jq -r ".serial_links.s0.$2"; }

# metrics_serial_is N: P/metrics reports ingest.serial == N.
metrics_serial_is() { [ "$(last_metrics | jq -r .ingest.serial)" = "$1" ]; }

# to_pty NAME TEXT: printf TEXT into $T/NAME, giving up after 5 s when
# nobody reads the other end.
to_pty() { timeout -k 1 5 sh -c "printf '$2' > '$T/$1'"; }

# random_bytes FILE SEED: 1 MB from a seeded generator.
random_bytes() {
	python3 -c 'import random, sys
r = random.Random(int(sys.argv[2]))
open(sys.argv[1], "wb").write(bytes(r.getrandbits(8) for _ in range(1 << 20)))' "$1" "$2"
}

# serial_ingest_test FRAMING: the whole framing test (serial-lines.sh and
# serial-cobs.sh): 500 messages with junk, exact rows and counters, then
# 1 MB of random bytes, then valid frames again.
serial_ingest_test() {
	local fr=$1 sim=$T/sim.out m n w

	MQTT_PORT=$(free_port)
	start_mosquitto "$MQTT_PORT"
	start_sub "$MQTT_PORT" "tinyedge/gw-test/#" "$T/metrics.txt"
	t_ok "pty pair up" start_pty
	serial_conf "$T/d.ini" "$MQTT_PORT" "$fr" "[summary]" "debounce = 0"
	t_ok "daemon starts with a $fr link" start_daemon "$T/d.ini"
	t_or_bail "link opened" wait_for 5 daemon_log_has "serial s0: $T/b open at 115200 baud"

	t_ok "nodesim writes 500 messages with junk mixed in" nodesim_serial \
	    "$sim" --framing "$fr" --count 500 --rate 0 --nodes 5 \
	    --windows-every 4 --garbage 0.25 --seed 42 --acked-log "$T/acked"
	t_ok "every message written" grep -q '^sent=500 acked=500 failed=0 ' "$sim"
	t_is "acked log has 500 lines" "$(wc -l < "$T/acked")" 500
	t_ok "500 rows stored" wait_for 10 rows_are 500
	t_is "exactly the valid messages stored" "$(stored_set | md5sum)" \
	    "$(acked_set "$T/acked" | md5sum)"
	# Forwarded: with debounce = 0 each qualifying inference is an event.
	qualifying "$T/acked" | awk '{ print $1 ":" $2 ":" $3 }' | sort > "$T/want-ev"
	t_ok "qualifying inferences among them ($(wc -l < "$T/want-ev"))" \
	    test -s "$T/want-ev"
	t_ok "exactly one event per qualifying inference on P/events" \
	    wait_for 10 events_match "$T/want-ev"
	t_ok "P/metrics ingest.serial = 500" wait_for 5 metrics_serial_is 500
	# Every junk piece came before the last message: counters are final.
	m=$(last_metrics)
	t_is "link open in P/metrics" "$(link_counter "$m" open)" true
	if [ "$fr" = lines ]; then
		t_is "frames = valid lines + rejected JSON" \
		    "$(link_counter "$m" frames)" $((500 + $(tally_of "$sim.err" rejected)))
	else
		t_is "frames = valid frames" "$(link_counter "$m" frames)" 500
	fi
	for k in skipped_lines rejected bad_crc bad_frames dropped_long; do
		t_is "counter $k = junk of that kind" \
		    "$(link_counter "$m" $k)" "$(tally_of "$sim.err" $k)"
	done
	t_is "reopens = 0" "$(link_counter "$m" reopens)" 0
	if [ "$fr" = lines ]; then
		t_ok "junk of every lines kind was sent" test \
		    "$(tally_of "$sim.err" skipped_lines)" -gt 0 -a \
		    "$(tally_of "$sim.err" rejected)" -gt 0 -a \
		    "$(tally_of "$sim.err" dropped_long)" -gt 0
	else
		t_ok "junk of every cobs kind was sent" test \
		    "$(tally_of "$sim.err" bad_crc)" -gt 0 -a \
		    "$(tally_of "$sim.err" bad_frames)" -gt 0 -a \
		    "$(tally_of "$sim.err" dropped_long)" -gt 0
	fi
	t_is "P/metrics ingest.rejected = rejected" "$(echo "$m" | jq -r .ingest.rejected)" \
	    "$(tally_of "$sim.err" rejected)"
	n=$(grep -c '^sim-00[0-9] [0-9]* [0-9]* heartbeat' "$T/acked")
	t_ok "heartbeats among them ($n)" test "$n" -gt 10
	w=$(grep -c ' window ' "$T/acked")
	t_ok "windows among them ($w)" test "$w" -gt 10
	t_ok "node status published" wait_for 5 file_has "$T/metrics.txt" \
	    'tinyedge/gw-test/nodes/sim-000/status .*"state":"online"'

	# 1 MB of noise, then a delimiter (the reader resyncs there).
	random_bytes "$T/noise" 7
	if [ "$fr" = lines ]; then d='\n'; else d='\0'; fi
	t_ok "1 MB of random bytes written" timeout -k 1 10 sh -c \
	    "cat '$T/noise' > '$T/a' && printf '$d' > '$T/a'"
	t_ok "valid frames still work after the noise" nodesim_serial \
	    "$T/sim2.out" --framing "$fr" --count 20 --rate 0 --seed 9 \
	    --prefix late --acked-log "$T/acked2"
	t_ok "all 20 stored" wait_for 10 rows_are 20 "WHERE node LIKE 'late-%'"
	t_ok "daemon still running" kill -0 "$DAEMON_PID"

	stop_daemon
	t_is "clean stop" "$EXIT_RC" 0
	t_ok "counters logged at stop" daemon_log_has "serial s0: frames="
	t_ok "the noise was counted as junk" test $(($(counter_of bad_crc) + \
	    $(counter_of bad_frames) + $(counter_of skipped_lines) + \
	    $(counter_of dropped_long))) -gt $(($(tally_of "$sim.err" bad_crc) + \
	    $(tally_of "$sim.err" bad_frames) + $(tally_of "$sim.err" skipped_lines) + \
	    $(tally_of "$sim.err" dropped_long)))
	t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
}
