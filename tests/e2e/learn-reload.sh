#!/bin/bash
# learn-reload.sh - [learn:NAME] sections across SIGHUP and -t (SPEC 11):
# a bad section is a rejected configuration (-t exit 1 naming the line);
# a reload that changes only nodes or threshold_quantile keeps a ready
# node; one that changes windows starts the section's nodes over (windows
# and model deleted, the node model no longer served, P/learn says
# collecting); a removed section loses its
# records; P/metrics has the learn object with the scoring time.
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
conf() {
	write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
		"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s" \
		"$@"
}

# -t: a feature parameter the library refuses, a name too long.
conf "[learn:vib]" "spectral_bands = 0"
"$TINYEDGED" -t -c "$T/d.ini" > "$T/t.out" 2>&1
t_is "-t: spectral_bands = 0 is refused" "$?" 1
t_ok "-t names the section" grep -q "\[learn:vib\]" "$T/t.out"
conf "[learn:$(printf 'a%.0s' $(seq 65))]"
"$TINYEDGED" -t -c "$T/d.ini" > "$T/t.out" 2>&1
t_is "-t: a 65-character name is refused" "$?" 1
conf "[learn:vib]" "windows = 9"
"$TINYEDGED" -t -c "$T/d.ini" > "$T/t.out" 2>&1
t_is "-t: windows = 9 is refused (10 to 5000)" "$?" 1

# LONG: learn-LONG-long-1 is 73 characters, over the 64 of a model name.
LONG=l234567890123456789012345678901234567890123456789012345678
conf "[learn:vib]" "nodes = pump-*" "spectral_axes = 1" "windows = 10" \
	"[learn:$LONG]" "nodes = long-*" "spectral_axes = 1" "windows = 10"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/#" -v > "$T/sub.txt" 2> /dev/null &
t_track $!
t_ok "daemon starts" start_daemon "$T/d.ini"

# send NODE SEQ HZ AMP: a 64-frame one-axis JSON window at 1 kHz.
send() {
	python3 - "$2" "$3" "$4" > "$T/w.json" <<'PY'
import json, math, random, sys
seq, hz, amp = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
r = random.Random(seq)
ph = r.uniform(0, 2 * math.pi)
rows = [[round(amp * math.sin(2 * math.pi * hz * i / 1000 + ph) + r.gauss(0, 0.05), 5)]
        for i in range(64)]
print(json.dumps({"seq": seq, "boot": 1, "interval_ms": 1,
    "sensors": [{"name": "v"}], "values": rows}, separators=(",", ":")))
PY
	coap_code -m post -t 50 -f "$T/w.json" "$U/v1/n/$1/window"
}
records() {
	sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM state WHERE key LIKE 'learn/vib/%' AND key != 'learn/vib/sig'"
}
last_learn() {
	grep "^$P/learn/vib/pump-1 " "$T/sub.txt" | tail -n 1 | cut -d' ' -f2- |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
ok=0
for s in $(seq 1 10); do
	[ "$(send pump-1 "$s" 40 1)" = 2.04 ] && ok=$((ok + 1))
done
t_is "10 windows acknowledged" "$ok" 10
ready() { [ "$(last_learn state 2> /dev/null)" = ready ]; }
t_ok "pump-1 ready" wait_for 30 ready
for s in $(seq 11 15); do send pump-1 "$s" 40 1 > /dev/null; done
for s in $(seq 1 10); do send long-1 "$s" 40 1 > /dev/null; done
long_ready() { grep "^$P/learn/$LONG/long-1 " "$T/sub.txt" | grep -q '"state":"ready"'; }
t_ok "long-1 ready" wait_for 30 long_ready
t_ok "...but not served: its model name is too long" \
	sh -c "grep '^$P/learn/$LONG/long-1 ' '$T/sub.txt' | tail -n 1 | grep -q '\"served\":false'"
t_ok "...and the log says why" daemon_log_has "long-1: not served: node model name learn-$LONG-long-1 is longer than 64"
metrics_learn() {
	grep "^$P/metrics " "$T/sub.txt" | tail -n 1 | cut -d' ' -f2- |
		python3 -c 'import json,sys; d=json.load(sys.stdin)["learn"]["vib"]; print(d["scored"], d["score_us"])'
}
scored5() { [ "$(metrics_learn | cut -d' ' -f1)" = 5 ]; }
t_ok "P/metrics: learn.vib.scored = 5" wait_for 10 scored5
echo "# scoring on the loop (features + int8 invoke), mean us: $(metrics_learn | cut -d' ' -f2)"

# Only nodes and threshold_quantile change: the ready node stays.
conf "[learn:vib]" "nodes = pump-?" "spectral_axes = 1" "windows = 10" \
	"threshold_quantile = 0.9"
kill -HUP "$DAEMON_PID"
t_ok "reloaded" wait_for 10 daemon_log_has "reload: done"
sleep 0.5
t_ok "no start-over for nodes/threshold_quantile" sh -c "! grep -q 'learn vib: changed' '$T/daemon.log'"
t_is "a window is still scored" "$(send pump-1 16 40 1)" 2.04
scored6() { [ "$(metrics_learn | cut -d' ' -f1)" = 6 ]; }
t_ok "scored by the kept model" wait_for 10 scored6

# A broker that lost its retained messages gets P/learn again on reconnect.
stop_mosquitto
start_mosquitto "$MQTT_PORT"
back() {
	timeout 3 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/learn/vib/pump-1" \
		--retained-only -C 1 -W 1 2> /dev/null | grep -q '"state":"ready"'
}
t_ok "after a broker restart P/learn/vib/pump-1 is retained again" wait_for 30 back

# windows changes: every node starts over.
conf "[learn:vib]" "nodes = pump-?" "spectral_axes = 1" "windows = 12"
kill -HUP "$DAEMON_PID"
t_ok "windows changed: the section starts over" wait_for 10 daemon_log_has "learn vib: changed: every node starts over"
store_settle
t_is "its records are gone" "$(records)" 0
t_is "its old node model is no longer served: 4.04" \
	"$(coap_code "$U/v1/models/learn-vib-pump-1")" 4.04
t_is "a window is collected again" "$(send pump-1 17 40 1)" 2.04
store_settle
t_is "1 record of windows plus the status" "$(records)" 2

# The section removed: its records go.
conf
kill -HUP "$DAEMON_PID"
t_ok "section removed" wait_for 10 daemon_log_has "learn vib: removed"
store_settle
t_is "no record left" "$(records)" 0
cleared() {
	[ -z "$(timeout 3 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/learn/vib/pump-1" \
		--retained-only -C 1 -W 1 2> /dev/null)" ]
}
t_ok "its retained P/learn/vib/pump-1 is cleared" wait_for 10 cleared
t_is "windows still accepted" "$(send pump-1 18 40 1)" 2.04

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0

# kill -9 after a training, before the store committed its result (a
# 10 s commit interval): the journal gives the windows back, the node is
# trained again and gets the same model (the seed comes from the node id).
conf "[store]" "commit_interval = 10s" \
	"[learn:k]" "nodes = k-*" "spectral_axes = 1" "windows = 10"
t_ok "daemon starts with a 10 s commit interval" start_daemon "$T/d.ini"
for s in $(seq 1 10); do send k-1 "$s" 40 1 > /dev/null; done
t_ok "k-1 trained" wait_for 30 daemon_log_has "learn k: k-1: ready in"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
t_ok "daemon restarts" start_daemon "$T/d.ini"
t_ok "k-1 trained again from the journaled windows" \
	wait_for 30 sh -c "[ \$(grep -c 'learn k: k-1: ready in' '$T/daemon.log') = 2 ]"
sums=$(grep -o 'node model learn-k-k-1@[0-9a-f]*' "$T/daemon.log" | sort -u | wc -l)
t_is "the same model both times" "$sums" 1
stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
