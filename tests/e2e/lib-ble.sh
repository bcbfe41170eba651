# tests/e2e/lib-ble.sh - helpers for the BLE e2e tests (sourced after
# lib.sh, lib-mqtt.sh and lib-serial.sh): a private D-Bus "system bus"
# (dbus-daemon with tests/e2e/bluez/bus.conf on a unix socket in $T), the
# BlueZ mock on it (tests/e2e/bluez/mock.py) and its remote control, byte
# streams of frames written by tinyedge-nodesim into a file and sent to the
# daemon as notifications, and the per-link counters.  The daemon finds
# the bus through DBUS_SYSTEM_BUS_ADDRESS, exported here: no test touches
# the machine's system bus.  Every wait is bounded.

# The mock needs the distribution's python3 (python3-dbus, python3-gi),
# not whatever python3 comes first in PATH.
BLE_PY=${BLE_PY:-/usr/bin/python3}
BLE_DIR=$TE_SRCDIR/tests/e2e/bluez
BUS_ADDR=unix:path=$T/bus
export DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDR
command -v dbus-daemon > /dev/null || t_skip_all "dbus-daemon not installed"
"$BLE_PY" -c 'import dbus, gi' 2> /dev/null ||
	t_skip_all "python3-dbus or python3-gi not installed"

# start_bus: the private bus at $BUS_ADDR (again at the same address after
# stop_bus); its pid goes to $BUS_PID.
start_bus() {
	rm -f "$T/bus"
	dbus-daemon --config-file="$BLE_DIR/bus.conf" --address="$BUS_ADDR" \
	    --nofork 2>> "$T/bus.log" &
	BUS_PID=$!
	t_track $BUS_PID
	wait_for 5 test -S "$T/bus"
}

# stop_bus: the bus goes away the hard way; the mock on it exits.
stop_bus() {
	kill -9 "$BUS_PID" 2>/dev/null
	wait "$BUS_PID" 2>/dev/null
	wait_exit "$MOCK_PID" 5
	return 0
}

# start_mock [--device SPEC]...: the BlueZ mock on the bus, waited for
# until it answers; its pid goes to $MOCK_PID.  SPEC is
# ADDR[,name=N][,known=1][,inrange=0][,acquire=0].
start_mock() {
	"$BLE_PY" -B "$BLE_DIR/mock.py" --address "$BUS_ADDR" \
	    --log "$T/mock.log" "$@" 2>> "$T/mock.log" &
	MOCK_PID=$!
	t_track $MOCK_PID
	wait_for 10 ctl ping > /dev/null
}

# ctl OP [KEY=VALUE]...: one command to the mock; its JSON answer on stdout.
ctl() {
	timeout -k 2 300 "$BLE_PY" -B "$BLE_DIR/ctl.py" --address "$BUS_ADDR" \
	    "$@" 2>> "$T/ctl.err"
}

# mock_get JQ: a value from the mock's stats (jq -r).
mock_get() { ctl stats | jq -r "$1"; }

# dev_get ADDR KEY: one device's counter or state in the mock.
dev_get() { mock_get ".devices[\"$1\"].$2"; }

# dev_is ADDR KEY VALUE: the device's KEY is VALUE (for wait_for).
dev_is() { [ "$(dev_get "$1" "$2")" = "$3" ]; }

# mock_wait ADDR KEY VALUE SECONDS: the mock answers once the device's KEY
# is VALUE (JSON: true, "fd", "signal"), or fails after SECONDS.
mock_wait() {
	ctl wait addr="$1" key="$2" value="$3" timeout="$4" > /dev/null
}

# ble_conf FILE MQTT_PORT [EXTRA LINES]: a daemon config with CoAP on a
# free loopback port ($COAP_PORT) and the given [ble:...] sections.
ble_conf() {
	local f=$1 port=$2
	shift 2
	COAP_PORT=${COAP_PORT:-$(free_port udp)}
	mqtt_conf "$f" "$port" "[coap]" "listen = 127.0.0.1:$COAP_PORT" "$@"
}

# ble_link NAME ADDR FRAMING [EXTRA LINES]: the lines of one [ble:NAME]
# section by address, appended to the array BLE_LINES (for ble_conf).
BLE_LINES=()
ble_link() {
	local name=$1 addr=$2 fr=$3
	shift 3
	BLE_LINES+=("[ble:$name]" "address = $addr" "framing = $fr" "$@")
}

# frames_file OUT ARGS...: tinyedge-nodesim writes its traffic into the
# file OUT (not a tty: no termios), its result line to OUT.out and its
# junk tally to OUT.err.
frames_file() {
	local out=$1
	shift
	: > "$out"
	timeout -k 2 60 "$NODESIM" --serial "$out" --rate 0 "$@" \
	    > "$out.out" 2> "$out.err"
}

# ble_send ADDR FILE SEED [KEY=VALUE]...: the file's bytes to the daemon
# as the device's notifications, cut at seeded edges of 20..244 bytes;
# the mock's answer (counts, "complete") goes to $T/send.json.
ble_send() {
	local addr=$1 file=$2 seed=$3
	shift 3
	ctl send addr="$addr" file="$file" seed="$seed" min=20 max=244 "$@" \
	    > "$T/send.json" && [ "$(jq -r .complete "$T/send.json")" = true ]
}

# ble_text ADDR TEXT: a short string as notifications (printf escapes;
# through a file, since $(...) would strip a final newline).
ble_text() {
	printf "$2" > "$T/text"
	ctl send addr="$1" file="$T/text" min=20 max=244 > /dev/null
}

# ble_counter NAME KEY: ble_links.NAME.KEY of the last P/metrics body.
ble_counter() { last_metrics | jq -r ".ble_links[\"$1\"].$2"; }

# ble_counter_is NAME KEY VALUE: for wait_for.
ble_counter_is() { [ "$(ble_counter "$1" "$2")" = "$3" ]; }

# ble_log_counter NAME KEY: a counter from the daemon's last per-link
# summary line of the BLE link NAME (logged at stop).
ble_log_counter() {
	grep "ble $1: frames=" "$T/daemon.log" | tail -n 1 |
	    sed -n "s/.* $2=\([0-9]*\).*/\1/p"
}

# rows_at_least N [WHERE]: at least N messages stored (for wait_for).
rows_at_least() { [ "$(rows "${2:-}")" -ge "$1" ]; }

# addr_of I: the address of simulated device I (0..255).
addr_of() { printf 'C0:FF:EE:00:00:%02X' "$1"; }

# ble_ingest_test FRAMING NOTIFY: the framing test of ble-lines.sh and
# ble-cobs.sh: 500 messages with junk mixed in, sent by one device as
# notifications cut at random edges, are stored exactly and counted per
# link as serial links count them; then 1 MB of random bytes, then valid
# frames again.  NOTIFY is fd (AcquireNotify) or signal (the device
# refuses AcquireNotify: StartNotify and PropertiesChanged).
ble_ingest_test() {
	local fr=$1 how=$2 a m w acq=1 sim=$T/frames
	a=$(addr_of 1)
	[ "$how" = signal ] && acq=0

	MQTT_PORT=$(free_port)
	start_mosquitto "$MQTT_PORT"
	start_sub "$MQTT_PORT" "tinyedge/gw-test/#" "$T/metrics.txt"
	t_ok "private bus up" start_bus
	t_ok "BlueZ mock up with a known device" start_mock \
	    --device "$a,name=nus-1,known=1,acquire=$acq"
	ble_link b0 "$a" "$fr"
	ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}" \
	    "[summary]" "debounce = 0"
	t_ok "daemon starts with a $fr BLE link" start_daemon "$T/d.ini"
	t_or_bail "link subscribed by $how within 10 s" \
	    mock_wait "$a" subscribed "\"$how\"" 10
	t_is "one Connect" "$(dev_get "$a" connect)" 1
	if [ "$how" = signal ]; then
		t_ok "AcquireNotify was tried first" test \
		    "$(dev_get "$a" acquire_notify)" -ge 1
		t_is "then one StartNotify" "$(dev_get "$a" start_notify)" 1
	else
		t_is "no StartNotify beside AcquireNotify" \
		    "$(dev_get "$a" start_notify)" 0
	fi

	t_ok "nodesim writes 500 messages with junk mixed in" frames_file \
	    "$sim" --framing "$fr" --count 500 --nodes 5 --windows-every 4 \
	    --garbage 0.25 --seed 42 --acked-log "$T/acked"
	t_ok "every message written" grep -q '^sent=500 acked=500 failed=0 ' \
	    "$sim.out"
	t_ok "sent as notifications at random edges" ble_send "$a" "$sim" 11
	t_ok "in more notifications than messages" test \
	    "$(jq -r .notifications "$T/send.json")" -gt 500
	t_ok "P/metrics: every notification and byte counted" wait_for 5 \
	    ble_counter_is b0 notifications "$(jq -r .notifications "$T/send.json")"
	t_is "P/metrics: bytes" "$(ble_counter b0 bytes)" \
	    "$(jq -r .bytes "$T/send.json")"
	t_ok "500 rows stored" wait_for 10 rows_are 500
	t_is "exactly the valid messages stored" "$(stored_set | md5sum)" \
	    "$(acked_set "$T/acked" | md5sum)"
	qualifying "$T/acked" | awk '{ print $1 ":" $2 ":" $3 }' |
	    sort > "$T/want-ev"
	t_ok "exactly one event per qualifying inference on P/events" \
	    wait_for 10 events_match "$T/want-ev"
	t_ok "P/metrics: the link's frames counted" wait_for 5 \
	    ble_counter_is b0 rejected "$(tally_of "$sim.err" rejected)"
	if [ "$fr" = lines ]; then
		w=$((500 + $(tally_of "$sim.err" rejected)))
	else
		w=500
	fi
	t_ok "P/metrics: frames = $w" wait_for 5 ble_counter_is b0 frames "$w"
	m=$(last_metrics)
	for k in skipped_lines rejected bad_crc bad_frames dropped_long; do
		t_is "counter $k = junk of that kind" \
		    "$(echo "$m" | jq -r ".ble_links.b0.$k")" \
		    "$(tally_of "$sim.err" $k)"
	done
	t_is "reopens = 0" "$(echo "$m" | jq -r .ble_links.b0.reopens)" 0
	t_is "P/metrics ingest.rejected = rejected" \
	    "$(echo "$m" | jq -r .ingest.rejected)" "$(tally_of "$sim.err" rejected)"
	w=$(grep -c ' window ' "$T/acked")
	t_ok "windows among them ($w)" test "$w" -gt 10

	# 1 MB of noise, then a delimiter (the reader resyncs there).
	random_bytes "$T/noise" 7
	if [ "$fr" = lines ]; then printf '\n' >> "$T/noise"; else
		printf '\0' >> "$T/noise"; fi
	t_ok "1 MB of random bytes as notifications" ble_send "$a" "$T/noise" 12
	t_ok "valid frames after the noise" frames_file "$T/late" \
	    --framing "$fr" --count 20 --seed 9 --prefix late
	t_ok "sent" ble_send "$a" "$T/late" 13
	t_ok "all 20 stored" wait_for 10 rows_are 20 "WHERE node LIKE 'late-%'"
	t_is "still one Connect" "$(dev_get "$a" connect)" 1
	stop_daemon
	t_is "clean stop" "$EXIT_RC" 0
	t_ok "the notify socket was closed at stop" \
	    wait_for 3 dev_is "$a" subscribed null
	t_ok "no sanitizer reports" sh -c \
	    "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
}

# mock_do OP [KEY=VALUE]...: ctl without its answer (for t_ok).
mock_do() { ctl "$@" > /dev/null; }
