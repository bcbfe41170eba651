#!/bin/bash
# learn-fail.sh - a training that fails, end to end (SPEC 11): a node whose
# windows are all the same (a stuck sensor) has nothing to learn from, so
# its training in the pool refuses; P/learn/flat/s-1 (retained) says
# "failed" with the reason, the log says why, no node model is served,
# later windows are neither collected nor scored, kill -9 keeps the
# failed state, and P/cmd/learn restart starts the node over: with
# windows that vary it becomes ready.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v mosquitto > /dev/null || t_skip_all "mosquitto not installed"
command -v mosquitto_sub > /dev/null || t_skip_all "mosquitto_sub not installed"

COAP_PORT=$(free_port udp)
MQTT_PORT=$(free_port)
U=coap://127.0.0.1:$COAP_PORT
P=tinyedge/gw-test
start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" \
	"[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "commands = on" \
	"[learn:flat]" "nodes = s-*" "features = raw" "windows = 10"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/#" -v > "$T/sub.txt" 2> /dev/null &
t_track $!
t_ok "daemon starts with [learn:flat]" start_daemon "$T/d.ini"

# send SEQ VARY: a JSON window of 8 frames, constant unless VARY is 1.
send() {
	python3 - "$1" "$2" > "$T/w.json" <<'PY'
import json, sys
seq, vary = int(sys.argv[1]), sys.argv[2] == "1"
rows = [[1.5 + (0.1 * ((seq * 7 + i * 3) % 5) if vary else 0)] for i in range(8)]
print(json.dumps({"seq": seq, "boot": 1, "interval_ms": 1,
    "sensors": [{"name": "x"}], "values": rows}, separators=(",", ":")))
PY
	coap_code -m post -t 50 -f "$T/w.json" "$U/v1/n/s-1/window"
}
# retained FIELD: a field of the retained P/learn/flat/s-1.
retained() {
	timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/learn/flat/s-1" \
		--retained-only -C 1 -W 3 > "$T/learn.json" 2> /dev/null
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2]))' "$T/learn.json" "$1"
}
state_field() {
	sqlite3 "$T/data/tinyedge.db" "SELECT json_extract(CAST(val AS TEXT), '\$.$1') FROM state WHERE key = 'learn/flat/s-1/s'"
}
windows_kept() {
	sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM state WHERE key LIKE 'learn/flat/s-1/w/%'"
}
tier2() {
	sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM msg WHERE kind = 4 AND node = 's-1'"
}

ok=0
for s in $(seq 1 10); do
	[ "$(send "$s" 0)" = 2.04 ] && ok=$((ok + 1))
done
t_is "10 identical windows acknowledged" "$ok" 10
failed() { [ "$(retained state)" = failed ]; }
t_ok "P/learn/flat/s-1 becomes failed" wait_for 30 failed
t_diag "$T/learn.json" 3
t_ok "the reason says why" sh -c "grep -q 'all the same' '$T/learn.json'"
t_is "no model in it" "$(retained sha256)" None
t_ok "the log says the training failed" \
	daemon_log_has "learn flat: s-1: training failed: the 10 windows are all the same"
t_is "no node model learn-flat-s-1: 4.04" \
	"$(coap_code "$U/v1/models/learn-flat-s-1")" 4.04
t_is "a window while failed: 2.04" "$(send 11 1)" 2.04
store_settle
t_is "...not collected" "$(windows_kept)" 10
t_is "...not scored" "$(tier2)" 0

kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
t_ok "daemon restarts after kill -9" start_daemon "$T/d.ini"
store_settle
t_is "the failed state is kept" "$(state_field state)" failed
t_ok "with its reason" sh -c "sqlite3 '$T/data/tinyedge.db' \"SELECT val FROM state WHERE key = 'learn/flat/s-1/s'\" | grep -q 'all the same'"
sleep 1
t_ok "not trained again" sh -c "[ \$(grep -c 'learn flat: s-1: training on' '$T/daemon.log') = 1 ]"

mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/learn/flat/s-1" \
	-m '{"id":"lf-1","action":"restart"}'
got_ok() { grep -q "^$P/results/lf-1 .*\"ok\":true" "$T/sub.txt"; }
t_ok "restart: ok true" wait_for 10 got_ok
is_collecting() { [ "$(retained state)" = collecting ] && [ "$(retained windows)" = 0 ]; }
t_ok "collecting again, 0 windows, no reason" wait_for 10 is_collecting
t_is "the reason is gone" "$(retained reason)" None
ok=0
for s in $(seq 12 21); do
	[ "$(send "$s" 1)" = 2.04 ] && ok=$((ok + 1))
done
t_is "10 windows that vary acknowledged" "$ok" 10
ready() { [ "$(retained state)" = ready ]; }
t_ok "now ready" wait_for 30 ready
served() { [ "$(coap_code -B 10 "$U/v1/models/learn-flat-s-1")" = 2.05 ]; }
t_ok "and served: 2.05" wait_for 10 served

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
