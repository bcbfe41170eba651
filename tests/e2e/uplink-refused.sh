#!/bin/bash
# uplink-refused.sh - rows a broker will not take (security finding 8),
# against a real mosquitto with max_packet_size 131072:
#  1. a node sends 2,500 inferences with distinct 60-character labels in
#     one summary interval (unfolded, its summary is ~270 KB): the summary
#     lists summary.max_labels (64) labels plus "_other_", says how many
#     it folded, and is delivered; summary-check.py recomputes it from the
#     stored rows;
#  2. SIGHUP raises max_labels to 10000 (mqtt.max_payload is 1M, so the
#     store keeps the row): the next such summary is over the broker's
#     limit; the broker drops the connection each time it is published;
#     after 3 strikes it is set aside (aside table, store.set_aside in
#     P/metrics, one log line with its id), events queued behind it
#     arrive, and the uplink stops reconnecting (P/status does not flap);
#  3. SIGHUP lowers mqtt.max_payload to 2K: a summary over it is not
#     stored (store.oversize), and the uplink stays connected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-mqtt.sh"
CHECK="python3 $TE_SRCDIR/tests/e2e/summary-check.py"
POST="python3 $TE_SRCDIR/tests/e2e/uplink-refused-post.py"
IV=10000
PROTO=${PROTO:-3.1.1}
echo "# MQTT $PROTO"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
U="coap://127.0.0.1:$COAP_PORT/v1/n"
start_mosquitto "$MQTT_PORT" "max_packet_size 131072"
conf() {
	write_conf "$T/d.ini" "log_level = debug" \
		"[coap]" "listen = 127.0.0.1:$COAP_PORT" \
		"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" \
		"metrics_interval = 1s" "max_payload = $2" "protocol = $PROTO" \
		"[summary]" "interval = 10s" "debounce = 0" \
		"event_min_score = 0.8" "ignore_labels = idle" \
		"max_labels = $1"
}
conf 64 1M
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v \
	-t "$PREFIX/events/#" -t "$PREFIX/summary/#" > "$T/mqtt.txt" 2>/dev/null &
t_track $!
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t "$PREFIX/status" \
	> "$T/status.txt" 2>/dev/null &
t_track $!
# Line-buffered: metric() reads the newest whole line (a file gets stdio's
# 4 KB blocks otherwise: no line at all for the first few seconds).
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 0 \
	-t "$PREFIX/metrics" > "$T/metrics.txt" 2>/dev/null &
t_track $!
t_ok "daemon starts" start_daemon "$T/d.ini"
t_ok "uplink connects" wait_for 10 daemon_log_has "uplink: .* -> connected"

# inf NODE SEQ LABEL SCORE: POST one inference with coap-client.
inf() {
	coap_code -m post -t 50 -e "{\"seq\":$2,\"model\":\"m1\",\"label\":\"$3\",\"score\":$4}" "$U/$1/inference"
}

# wide_summaries NODE: the summaries received for NODE, one per line.
wide_summaries() { grep -h "/summary/$1 " "$T/mqtt.txt" | cut -d' ' -f2- | sort -u; }

# summed NODE: the n of NODE's summaries, summed.
summed() { wide_summaries "$1" | python3 -c 'import json,sys; print(sum(json.loads(l)["n"] for l in sys.stdin))'; }

# summed_is NODE N: NODE's summaries count N inferences (for wait_for).
summed_is() { [ "$(summed "$1")" = "$2" ]; }

# metric KEY: the store or uplink counter in the newest P/metrics.
metric() {
	python3 - "$T/metrics.txt" "$1" <<'PY'
import json, sys
o = None
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        pass
a, b = sys.argv[2].split(".")
print(o[a][b] if o else "")
PY
}

# metric_is KEY VALUE: the newest P/metrics says VALUE (for wait_for).
metric_is() { [ "$(metric "$1")" = "$2" ]; }

# 1. 2,500 labels folded into max_labels + _other_.
t_is "2,500 inferences with distinct labels acknowledged" "$($POST "$COAP_PORT" wide 1 2500 60)" 2500
t_ok "wide's summaries arrive with all 2,500 counted" wait_for 30 summed_is wide 2500
python3 - "$T/mqtt.txt" > "$T/fold.out" <<'PY'
import json, sys
ok = True
size = 0
for line in open(sys.argv[1]):
    topic, _, p = line.rstrip("\n").partition(" ")
    if not topic.endswith("/summary/wide"):
        continue
    o = json.loads(p)
    size = max(size, len(p))
    labels = o["labels"]
    if len(labels) != 65 or "_other_" not in labels:
        ok = False
    if o.get("folded", 0) < 1:
        ok = False
    if sum(l["n"] for l in labels.values()) != o["n"]:
        ok = False
    # Each label came once: _other_ holds the folded ones and, past the
    # 4 x max_labels labels told apart, the untracked ones (then the
    # node's own "_other_" entry is one of the folded).
    u = o.get("untracked", 0)
    if labels["_other_"]["n"] != o["folded"] + u - (1 if u else 0):
        ok = False
print("fold", "ok" if ok else "bad", size)
PY
t_is "each summary of wide: 64 labels + _other_, n summed, folded counted" "$(cut -d' ' -f1-2 "$T/fold.out")" "fold ok"
t_ok "a folded summary is small ($(cut -d' ' -f3 "$T/fold.out") bytes)" test "$(cut -d' ' -f3 "$T/fold.out")" -lt 16384
$CHECK "$T/data/tinyedge.db" "$T/mqtt.txt" $IV 0 0.8 idle "" 64 > "$T/check.out"
while read -r line; do
	case $line in
	ok\ *) t_ok "${line#ok }" true ;;
	FAIL\ *) t_ok "${line#FAIL }" false ;;
	*) echo "$line" ;;
	esac
done < <(grep -v 'windows\|rows of values' "$T/check.out")
t_ok "a P/metrics line came" wait_for 10 sh -c "grep -q reconnects '$T/metrics.txt'"
t_is "no reconnect so far" "$(metric uplink.reconnects)" 0

# 2. An unfolded summary over the broker's limit: set aside after 3 strikes.
conf 10000 1M
kill -HUP "$DAEMON_PID"
t_ok "reload with max_labels = 10000" wait_for 5 daemon_log_has "reload: summary.max_labels changed"
t_is "2,500 more distinct labels acknowledged" "$($POST "$COAP_PORT" huge 1 2500 60)" 2500
t_ok "the broker drops the connection for the big summary" wait_for 30 daemon_log_has "connection to .* lost"
# Queued behind it: events of another node, while the uplink is cut off.
codes=""
for s in 1 2 3 4 5; do codes+=$(inf late $s yes 0.9); done
t_is "five events queued behind it acknowledged" "$codes" "2.042.042.042.042.04"
t_ok "the big summary is set aside (logged with its id)" wait_for 40 daemon_log_has "uplink: row [0-9]* set aside: connection dropped after it was published, 3 times"
t_is "set aside logged once" "$(daemon_log_count "set aside:")" 1
t_ok "the events behind it arrive" wait_for 20 sh -c "[ \$(grep -c '/events/late ' '$T/mqtt.txt') -ge 5 ]"
# aside_topic: what the aside table holds (committed within a second).
aside_topic() { [ "$(db "SELECT topic FROM aside")" = summary/huge ]; }
t_ok "the aside table holds the summary of huge" wait_for 5 aside_topic
t_ok "it was over the broker's limit" test "$(db "SELECT length(payload) FROM aside")" -gt 131072
t_ok "store.set_aside = 1 in P/metrics" wait_for 10 metric_is store.set_aside 1
r1=$(metric uplink.reconnects)
t_ok "a handful of reconnects ($r1), not a loop" test "$r1" -ge 1 -a "$r1" -le 6
sleep 4
t_is "no reconnect after the set-aside" "$(metric uplink.reconnects)" "$r1"
t_ok "connected" metric_is uplink.connected True
on=$(grep -c '"state":"online"' "$T/status.txt")
t_ok "P/status went online $on times, once per connect" test "$on" -eq $((r1 + 1))
t_ok "the outbox empties" wait_for 5 outbox_empty
t_ok "the new store counters are in P/metrics" sh -c "tail -n 1 '$T/metrics.txt' | grep -q '\"commits\":[1-9].*\"journal_bytes\":[1-9]'"
t_ok "P/metrics still has the SPEC store fields" sh -c "tail -n 1 '$T/metrics.txt' | grep -q '\"store\":{\"queued\":0,\"bytes\":[0-9]*,\"oldest_age_s\":[0-9]*,\"dropped\":0'"
t_is "a later summary of wide is delivered too" "$($POST "$COAP_PORT" wide 3001 5 60)" 5
t_ok "it arrives" wait_for 25 summed_is wide 2505

# 3. mqtt.max_payload: a row over it is not stored, and nothing reconnects.
conf 10000 2K
kill -HUP "$DAEMON_PID"
t_ok "reload with max_payload = 2K" wait_for 5 daemon_log_has "reload: mqtt.max_payload changed"
t_is "50 labels for a 6 KB summary acknowledged" "$($POST "$COAP_PORT" mid 1 50 60)" 50
t_ok "it is counted in store.oversize" wait_for 25 metric_is store.oversize 1
t_ok "logged" daemon_log_has "summary/mid: [0-9]* bytes is over mqtt.max_payload"
t_is "still no reconnect" "$(metric uplink.reconnects)" "$r1"

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
