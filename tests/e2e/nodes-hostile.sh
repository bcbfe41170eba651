#!/bin/bash
# nodes-hostile.sh - the node registry under a hostile peer, against the
# real daemon, real mosquitto and real coap-client plus our own CoAP client
# (coap-nodes.py) for the floods, all on loopback (findings 1 and 5):
#  - 200 heartbeats of 30 new keys each: answered fast, and the retained
#    status holds the last heartbeat's fields only;
#  - a heartbeat over 32 fields or 2048 bytes gets 4.00 and a diagnostic;
#  - 3000 spoofed node ids (max_nodes = 50): at most 50 known, 5.03 with
#    Max-Age once every known node is online, the longest-offline forgotten
#    and their retained status cleared, a legitimate node always accepted;
#  - clears of nodes forgotten while the broker is down are sent at the
#    reconnect (the broker keeps retained messages across its restart);
#  - SIGHUP sets new_nodes_per_minute = 5: a 6th new id from one address
#    gets 4.29 (coap-client from another loopback address), a known node
#    from the same address is still accepted;
#  - a serial link (socat pty): an over-cap heartbeat line is rejected and
#    counted, the link's new ids are rate-limited, known nodes still go in.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v jq > /dev/null || t_skip_all "jq not installed"
CLIENT="python3 $TE_SRCDIR/tests/e2e/coap-nodes.py"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
DTLS_PORT=$(free_port udp)
printf 'd1 %s\nd2 %s\n' "$(psk_hex secret-one-0123456789)" \
    "$(psk_hex secret-two-0123456789)" > "$T/psk"
chmod 600 "$T/psk"
mkdir -p "$T/mq"
# Retained messages must survive the broker restart of the outage step (as
# root, mosquitto would drop to a user that cannot write in $T).
MQ_PERSIST="persistence true
persistence_location $T/mq/
user $(id -un)"
start_mosquitto "$MQTT_PORT" "$MQ_PERSIST"
conf() {
	write_conf "$T/d.ini" "node_timeout = 2s" "max_nodes = 50" \
	    "new_nodes_per_minute = $1" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	    "dtls_listen = 127.0.0.1:$DTLS_PORT" "psk_file = $T/psk" "[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s"
}
conf 0
SUBF=$T/sub.txt
start_sub "$MQTT_PORT" "$PREFIX/#" "$SUBF"
t_ok "daemon starts" start_daemon "$T/d.ini"
U=coap://127.0.0.1:$COAP_PORT/v1/n

# nodes_metric NAME: the last P/metrics' nodes.NAME.
nodes_metric() {
	grep -a "^0 $PREFIX/metrics " "$SUBF" | tail -n 1 | cut -d' ' -f3- |
	    jq -r ".nodes.$1"
}
# metric_is NAME VALUE: the last metrics say so (for wait_for).
metric_is() { [ "$(nodes_metric "$1")" = "$2" ]; }
# retained_statuses: the node ids with a retained status, sorted.
retained_statuses() {
	timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" \
	    -t "$PREFIX/nodes/+/status" --retained-only -W 2 -F '%t' 2>/dev/null |
	    sed "s|^$PREFIX/nodes/||; s|/status\$||" | sort
}
# json_of TEXT EXPR: jq on the client's report.
json_of() { jq -r "$2" <<<"$1"; }

# 1. Heartbeats with new keys every time: replaced, bounded, fast.
r=$($CLIENT "$COAP_PORT" 127.0.0.1 --ids hb:1:1 --repeat 200 --fields 30)
t_is "200 heartbeats of 30 new keys: all 2.04" "$(json_of "$r" '.codes["2.04"]')" 200
t_ok "the slowest answer took under 1 s ($(json_of "$r" .max_ms) ms)" \
    test "$(json_of "$r" .max_ms)" -lt 1000
hb_is_last() { retained_of "$MQTT_PORT" "$PREFIX/nodes/hb1/status" | grep -q k199_29; }
t_ok "status of hb1 shows the last heartbeat" wait_for 5 hb_is_last
st=$(retained_of "$MQTT_PORT" "$PREFIX/nodes/hb1/status")
t_is "status holds that heartbeat's 30 fields and ours, nothing older" \
    "$(jq -c '[length, has("k198_0"), has("k199_0"), .state]' <<<"$st")" \
    '[33,false,true,"online"]'
t_ok "retained status is small (${#st} bytes)" test "${#st}" -lt 2200

F33=$(python3 -c 'import json; print(json.dumps({"k%d" % i: i for i in range(33)}))')
t_is "a heartbeat of 33 fields gets 4.00" \
    "$(coap_code -m post -t 50 -e "$F33" "$U/hb1/heartbeat")" 4.00
t_ok "with a diagnostic" sh -c "'$COAP_CLIENT' -B 3 -m post -t 50 -e '$F33' \
    $U/hb1/heartbeat 2>&1 | grep -q 'heartbeat: more than 32 fields'"
B2049=$(python3 -c 'print("{\"note\":\"" + "x" * 2038 + "\"}")')
t_ok "a heartbeat of 2049 bytes gets 4.00 naming the cap" sh -c \
    "'$COAP_CLIENT' -B 3 -m post -t 50 -e '$B2049' $U/hb1/heartbeat 2>&1 |
    grep -q 'heartbeat: 2049 bytes, more than 2048'"
t_is "hb1's status is unchanged by them" \
    "$(retained_of "$MQTT_PORT" "$PREFIX/nodes/hb1/status" | jq -c '[length, has("k0")]')" \
    '[33,false]'

# 2. 3000 spoofed ids from one address (no rate limit yet), in bursts of
# 500 with pauses over node_timeout, and a legitimate node every 20 ids.
t_is "legit node accepted" "$(coap_code -m post -t 50 \
    -e '{"seq":1,"model":"m","label":"l","score":0.5}' "$U/legit/inference")" 2.04
r=$($CLIENT "$COAP_PORT" 127.0.0.2 --ids spoof:0:3000 --body '{"seq":{i}}' \
    --legit legit --every 20 --pause-every 500 --pause 2.6)
echo "# flood: $r"
ok=$(json_of "$r" '.codes["2.04"] // 0')
full=$(json_of "$r" '.codes["5.03"] // 0')
t_is "every spoofed request answered 2.04 or 5.03" "$((ok + full))" 3000
t_ok "some spoofed ids admitted ($ok), at least one registry-full per burst" \
    test "$ok" -ge 50 -a "$full" -ge 6
t_is "refusals carry Max-Age" "$(json_of "$r" '.max_age != null')" true
t_is "legit node accepted throughout (150 of 150)" \
    "$(json_of "$r" '.legit["2.04"]')" 150
t_ok "metrics published after the flood" wait_for 5 metric_is known 50
t_is "known nodes capped at max_nodes" "$(nodes_metric known)" 50
forgot=$(nodes_metric forgotten)
t_ok "forgotten nodes counted ($forgot)" test "$forgot" -ge $((ok - 50))
t_is "registry-full refusals counted" "$(nodes_metric refused_full)" "$full"
t_is "no clear pending while connected" "$(nodes_metric clears_pending)" 0
cleared=$(grep -ac "^0 $PREFIX/nodes/[^/]*/status \?\$" "$SUBF")
t_is "an empty retained publish for every forgotten node" "$cleared" "$forgot"
t_is "each one logged" "$(daemon_log_count "nodes: .* forgotten")" "$forgot"
t_ok "forgotten nodes logged and more than a burst of them ($cleared)" \
    test "$cleared" -ge 100
ret=$(retained_statuses)
t_is "retained node statuses at the broker: max_nodes" "$(wc -l <<<"$ret")" 50
t_ok "spoof0's status is gone" test -z "$(grep -x spoof0 <<<"$ret")"
t_ok "legit's status is kept" grep -qx legit <<<"$ret"
t_ok "daemon still running" kill -0 "$DAEMON_PID"

# 3. The broker goes away; new ids make the daemon forget offline nodes;
# their clears wait and go at the reconnect.
sleep 2.5
before=$(retained_statuses)
stop_sub
stop_mosquitto
r=$($CLIENT "$COAP_PORT" 127.0.0.3 --ids late:0:10 --body '{"seq":{i}}')
t_is "10 new ids while the broker is down: 2.04" "$(json_of "$r" '.codes["2.04"]')" 10
start_mosquitto "$MQTT_PORT" "$MQ_PERSIST"
t_is "the broker kept the 50 retained statuses" "$(retained_statuses | wc -l)" 50
SUBF=$T/sub2.txt
start_sub "$MQTT_PORT" "$PREFIX/#" "$SUBF"
late_in() { [ "$(retained_statuses | grep -c '^late')" = 10 ]; }
t_ok "after the reconnect the 10 new nodes have a status" wait_for 30 late_in
ret=$(retained_statuses)
t_is "and 10 forgotten ones lost theirs: 50 in all" "$(wc -l <<<"$ret")" 50
t_is "the lost ones were there before" \
    "$(comm -23 <(echo "$before") <(echo "$ret") | wc -l)" 10
t_ok "metrics: no clear pending any more" wait_for 10 metric_is clears_pending 0

# 4. SIGHUP: new_nodes_per_minute = 5.
sleep 2.5
conf 5
kill -HUP "$DAEMON_PID"
t_ok "reloaded" wait_for 10 daemon_log_has "new_nodes_per_minute changed"
r=$($CLIENT "$COAP_PORT" 127.0.0.4 --ids rate:0:5 --body '{"seq":{i}}')
t_is "5 new ids from 127.0.0.4: 2.04" "$(json_of "$r" '.codes["2.04"]')" 5
t_is "the 6th new id from it (coap-client): 4.29" "$(coap_code -a 127.0.0.4 \
    -m post -t 50 -e '{"seq":1}' "$U/rate5/heartbeat")" 4.29
t_ok "with a diagnostic" sh -c "'$COAP_CLIENT' -a 127.0.0.4 -B 3 -m post \
    -t 50 -e '{}' $U/rate6/heartbeat 2>&1 | grep -q 'too many new node ids'"
t_is "a known node from the same address: 2.04" "$(coap_code -a 127.0.0.4 \
    -m post -t 50 -e '{"seq":9,"model":"m","label":"l","score":0.5}' \
    "$U/legit/inference")" 2.04
for dk in d1:one d2:two; do
	d=${dk%:*}
	t_is "a DTLS node new from that address is not limited: $d 2.04" \
	    "$(coap_code -a 127.0.0.4 -u $d -k "secret-${dk#*:}-0123456789" \
	    -m post -t 50 -e '{}' "coaps://127.0.0.1:$DTLS_PORT/v1/n/$d/heartbeat")" 2.04
done
t_is "while a plain new id from it still gets 4.29" "$(coap_code -a 127.0.0.4 \
    -m post -t 50 -e '{}' "$U/rate8/heartbeat")" 4.29
t_is "another address still may: 2.04" "$(coap_code -a 127.0.0.5 -m post \
    -t 50 -e '{}' "$U/rate7/heartbeat")" 2.04
t_ok "rate refusals counted" wait_for 5 metric_is refused_rate 3
t_ok "refusals logged with the id" daemon_log_has 'new node "rate5" from 127.0.0.4 refused'

stop_daemon
t_is "clean stop" "$EXIT_RC" 0

# 5. A serial link, "serial:s0" as the source, 3 new ids a minute.
start_pty a b
write_conf "$T/s.ini" "node_timeout = 2s" "max_nodes = 50" \
    "new_nodes_per_minute = 3" "[serial:s0]" "device = $T/b" \
    "framing = lines" "[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" \
    "metrics_interval = 1s"
sed -i "s|^data_dir = .*|data_dir = $T/data2|" "$T/s.ini"
t_ok "daemon with a serial link starts" start_daemon "$T/s.ini"
sdb() { sqlite3 "$T/data2/tinyedge.db" "$1"; }
serial_rejected() {
	grep -a "^0 $PREFIX/metrics " "$SUBF" | tail -n 1 |
	    cut -d' ' -f3- | jq -r '.serial_links.s0.rejected'
}
rejected_is() { [ "$(serial_rejected)" = "$1" ]; }
stored_is() { [ "$(sdb "select count(*) from msg where node like 'sy%'")" = "$1" ]; }
wait_for 5 test -e "$T/data2/tinyedge.db"
python3 -c 'import json; d = {"type": "heartbeat", "node": "sy0"}
d.update({"k%d" % i: i for i in range(33)}); print(json.dumps(d))' > "$T/a"
t_ok "an over-cap heartbeat line is counted as rejected" \
    wait_for 10 rejected_is 1
for i in 0 1 2 3 4; do
	echo "{\"type\":\"heartbeat\",\"node\":\"sy$i\",\"k\":$i}"
done > "$T/a"
t_ok "3 new ids of 5 from the link are stored" wait_for 10 stored_is 3
t_ok "the 2 others counted as rejected" wait_for 10 rejected_is 3
t_is "those are the first three" \
    "$(sdb "select group_concat(node) from (select node from msg where node like 'sy%' order by node)")" \
    "sy0,sy1,sy2"
echo '{"type":"heartbeat","node":"sy1","k":9}' > "$T/a"
t_ok "a known node from the link is still stored" wait_for 10 stored_is 4
t_ok "the refusal is logged with the link as its source" \
    daemon_log_has 'new node "sy3" from serial:s0 refused'
stop_daemon
t_ok "stopped" test "$EXIT_RC" -ne 137
[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_clean_logs
t_done
