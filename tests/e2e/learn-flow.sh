#!/bin/bash
# learn-flow.sh - learning at the gateway (SPEC 11) with the real daemon,
# mosquitto, coap-client and the node simulator: a node's normal windows
# collected (wrong-shape and malformed ones counted, never collected),
# kill -9 during collection keeps them, training in the pool, the
# retained P/learn/vib/pump-1 says ready (threshold, model bytes, sha256,
# agreement of int8 and float), a clearly abnormal window becomes a tier-2
# "anomaly" inference and event while a normal one stays "normal", the
# model downloads over CoAP as node model learn-vib-pump-1 and loads in
# the runtime, kill -9 after ready keeps the model, the max_nodes bound
# counts simulated nodes past it, and P/cmd/learn restart starts over
# (the old model no longer served, its file deleted).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v mosquitto > /dev/null || t_skip_all "mosquitto not installed"
command -v mosquitto_sub > /dev/null || t_skip_all "mosquitto_sub not installed"
NODESIM=${NODESIM:-$TE_BUILDDIR/tinyedge-nodesim}
INFER=${INFER:-$TE_BUILDDIR/tinyedge-infer}

COAP_PORT=$(free_port udp)
MQTT_PORT=$(free_port)
U=coap://127.0.0.1:$COAP_PORT
P=tinyedge/gw-test
start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" "log_level = debug" \
	"[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "commands = on" \
	"[summary]" "debounce = 0" \
	"[learn:vib]" "nodes = pump-*" "features = spectral" \
	"spectral_axes = 1" "windows = 20" "threshold_quantile = 0.99" \
	"max_nodes = 3"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/#" -v > "$T/sub.txt" 2> /dev/null &
t_track $!
t_ok "daemon starts with [learn:vib]" start_daemon "$T/d.ini"

# win SEQ HZ AMP [FRAMES] [AXES]: a JSON window, 1 kHz sampling, a sine
# of HZ at AMP plus a little noise (seeded by SEQ).
win() {
	python3 - "$@" <<'PY'
import json, math, random, sys
seq, hz, amp = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
frames = int(sys.argv[4]) if len(sys.argv) > 4 else 64
axes = int(sys.argv[5]) if len(sys.argv) > 5 else 1
r = random.Random(seq)
ph = r.uniform(0, 2 * math.pi)
rows = [[round(amp * math.sin(2 * math.pi * hz * i / 1000 + ph) +
         r.gauss(0, 0.05), 5) for a in range(axes)] for i in range(frames)]
print(json.dumps({"seq": seq, "boot": 1, "interval_ms": 1,
    "sensors": [{"name": "v%d" % a} for a in range(axes)], "values": rows},
    separators=(",", ":")))
PY
}
# send NODE SEQ HZ AMP [FRAMES] [AXES]: POST it as a node would (retried
# without an answer or on 5.03), print the code.
send() {
	local node=$1
	shift
	win "$@" > "$T/w.json"
	coap_code_retry -m post -t 50 -f "$T/w.json" "$U/v1/n/$node/window"
}
windows_kept() {
	sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM state WHERE key LIKE 'learn/vib/pump-1/w/%'"
}
state_field() {
	sqlite3 "$T/data/tinyedge.db" "SELECT json_extract(CAST(val AS TEXT), '\$.$1') FROM state WHERE key = 'learn/vib/pump-1/s'"
}
# retained FIELD: a field of the retained P/learn/vib/pump-1.
retained() {
	timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/learn/vib/pump-1" \
		--retained-only -C 1 -W 3 > "$T/learn.json" 2> /dev/null
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2]))' "$T/learn.json" "$1"
}

# --- collection, refusals, kill -9 -----------------------------------------
ok=0
for s in 1 2 3 4 5 6 7 8; do
	[ "$(send pump-1 "$s" 50 1)" = 2.04 ] && ok=$((ok + 1))
done
t_is "8 normal windows acknowledged" "$ok" 8
t_is "a window of another length: 2.04 (stored)" "$(send pump-1 9 50 1 32)" 2.04
t_is "a window of 2 axes: 2.04 (stored)" "$(send pump-1 10 50 1 64 2)" 2.04
store_settle
t_is "8 feature vectors kept in the store" "$(windows_kept)" 8
t_is "the other length is counted as shape" "$(state_field rej_shape)" 1
t_is "the 2-axis window is counted as bad (features)" "$(state_field rej_bad)" 1
t_is "P/learn/vib/pump-1 retained: collecting" "$(retained state)" collecting
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
t_ok "daemon restarts after kill -9 during collection" start_daemon "$T/d.ini"
t_ok "the 8 collected windows are kept" daemon_log_has "learn vib: pump-1: collecting, 8 of 20 windows kept"

# --- training ------------------------------------------------------------
ok=0
for s in $(seq 11 22); do
	[ "$(send pump-1 "$s" 50 1)" = 2.04 ] && ok=$((ok + 1))
done
t_is "12 more normal windows acknowledged" "$ok" 12
is_ready() { [ "$(retained state)" = ready ]; }
t_ok "P/learn/vib/pump-1 becomes ready" wait_for 30 is_ready
t_diag "$T/learn.json" 3
t_ok "trained in the pool, logged with the int8 check" daemon_log_has "learn vib: pump-1: ready in"
SHA=$(retained sha256)
t_ok "sha256 is 64 hex digits" test "${#SHA}" = 64
BYTES=$(retained model_bytes)
t_ok "model_bytes > 0 ($BYTES)" test "$BYTES" -gt 0
t_ok "threshold > 0 ($(retained threshold))" python3 -c "import sys; sys.exit(not float('$(retained threshold)') > 0)"
t_ok "agreement reported in 0..1 ($(retained agreement))" python3 -c "import sys; a=float('$(retained agreement)'); sys.exit(not 0 <= a <= 1)"
t_is "windows: 20" "$(retained windows)" 20
t_ok "train_ms present" test "$(retained train_ms)" -ge 0

# --- scoring --------------------------------------------------------------
t_is "a normal window: 2.04" "$(send pump-1 100 50 1)" 2.04
t_is "a clearly abnormal window (300 Hz, 5x): 2.04" "$(send pump-1 101 300 5)" 2.04
label_of() {
	sqlite3 "$T/data/tinyedge.db" "SELECT json_extract(body, '\$.label') FROM msg WHERE kind = 4 AND node = 'pump-1' AND json_extract(body, '\$.window') = $1"
}
score_of() {
	sqlite3 "$T/data/tinyedge.db" "SELECT json_extract(body, '\$.score') FROM msg WHERE kind = 4 AND node = 'pump-1' AND json_extract(body, '\$.window') = $1"
}
scored() { [ -n "$(label_of 101)" ]; }
t_ok "the abnormal window is scored as a tier-2 inference" wait_for 10 scored
t_is "label anomaly" "$(label_of 101)" anomaly
t_ok "its score is over 0.5 ($(score_of 101)) and over the normal one's ($(score_of 100))" \
	python3 -c "import sys; a, n = float('$(score_of 101)'), float('$(score_of 100)'); sys.exit(not (a > 0.5 and a > n))"
event() { grep "^$P/events/pump-1 " "$T/sub.txt" | grep -q '"label":"anomaly"'; }
t_ok "P/events/pump-1 has a tier-2 anomaly event" wait_for 10 event
grep "^$P/events/pump-1 " "$T/sub.txt" | grep '"anomaly"' | head -n 1 | grep -q '"tier":2'
t_is "the event is tier 2" "$?" 0

# --- serving --------------------------------------------------------------
rm -f "$T/m.tflite"
"$COAP_CLIENT" -B 10 -o "$T/m.tflite" "$U/v1/models/learn-vib-pump-1" > /dev/null 2>&1
t_is "GET /v1/models/learn-vib-pump-1: the model, same sha256" \
	"$(sha256sum "$T/m.tflite" 2> /dev/null | cut -c1-64)" "$SHA"
if [ -x "$INFER" ]; then
	t_ok "the runtime loads the downloaded model" "$INFER" "$T/m.tflite" --info
fi

# --- kill -9 after ready ------------------------------------------------------
store_settle
sleep 0.5
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
t_ok "daemon restarts after kill -9 when ready" start_daemon "$T/d.ini"
t_ok "the ready model is kept" daemon_log_has "learn vib: pump-1: ready, $BYTES byte model"
t_is "another abnormal window: 2.04" "$(send pump-1 102 300 5)" 2.04
scored2() { [ -n "$(label_of 102)" ]; }
t_ok "scored by the kept model" wait_for 10 scored2
t_is "label anomaly after the restart" "$(label_of 102)" anomaly

# --- the node bound, with the simulator -----------------------------------
"$NODESIM" --coap "$U" --windows-only --nodes 4 --rate 5 --duration 1 --seed 3 \
	--prefix pump-sim > "$T/sim.out" 2>&1
t_ok "nodes past max_nodes (3) are refused, logged once" \
	wait_for 5 daemon_log_has "learn vib: more than 3 nodes"
t_is "logged once" "$(daemon_log_count 'learn vib: more than 3 nodes')" 1

# --- restart command ----------------------------------------------------------
result() {
	timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/results/$1" \
		-C 1 -W 4 2> /dev/null
}
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/learn/vib/pump-1" \
	-m '{"id":"lr-1","action":"explode"}'
got_bad() { grep -q "^$P/results/lr-1 .*\"ok\":false" "$T/sub.txt"; }
t_ok "an unknown action: ok false" wait_for 10 got_bad
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/learn/vib/pump-1" \
	-m '{"id":"lr-2","action":"restart"}'
got_ok() { grep -q "^$P/results/lr-2 .*\"ok\":true" "$T/sub.txt"; }
t_ok "restart: ok true" wait_for 10 got_ok
is_collecting() { [ "$(retained state)" = collecting ] && [ "$(retained windows)" = 0 ]; }
t_ok "P/learn/vib/pump-1: collecting, 0 windows" wait_for 10 is_collecting
store_settle
t_is "the windows are gone from the store" "$(windows_kept)" 0
t_is "the model is gone from the store" \
	"$(sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM state WHERE key = 'learn/vib/pump-1/m'")" 0
t_is "the old model is no longer served: 4.04" \
	"$(coap_code "$U/v1/models/learn-vib-pump-1")" 4.04
gone() { [ -z "$(ls "$T/data/models/learn-vib-pump-1" 2> /dev/null)" ]; }
t_ok "its file is deleted" wait_for 5 gone
t_is "a window after the restart is collected again" "$(send pump-1 200 50 1)" 2.04
store_settle
t_is "1 window kept" "$(windows_kept)" 1

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
