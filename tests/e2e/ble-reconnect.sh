#!/bin/bash
# ble-reconnect.sh - BLE links that come and go, against the real daemon
# and the BlueZ mock: a device that goes out of range (the link drops, the
# notify socket closes, Connect fails while it is away) is logged once and
# retried with a growing backoff, without spinning, while CoAP ingest and
# a second BLE link keep working; it is subscribed again within the
# backoff (<= 30 s) of its return and its frames flow.  The same when the
# device object itself goes (InterfacesRemoved) and comes back
# (InterfacesAdded), after a plain link loss in range, and when only the
# notify socket closes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"

A=$(addr_of 1)
A2=$(addr_of 2)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
start_sub "$MQTT_PORT" "tinyedge/gw-test/#" "$T/metrics.txt"
t_ok "private bus up" start_bus
t_ok "mock up with two known devices" start_mock --device "$A,known=1" \
    --device "$A2,known=1"
ble_link b0 "$A" cobs
ble_link b1 "$A2" lines "node = dflt"
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts" start_daemon "$T/d.ini"
t_or_bail "b0 subscribed" mock_wait "$A" subscribed '"fd"' 10
t_or_bail "b1 subscribed" mock_wait "$A2" subscribed '"fd"' 10
t_ok "subscription logged" daemon_log_has "ble b0: $A subscribed"

frames_file "$T/pre" --framing cobs --count 50 --seed 3 --prefix pre
t_ok "50 frames sent" ble_send "$A" "$T/pre" 1
t_ok "50 stored" wait_for 10 rows_are 50 "WHERE node LIKE 'pre-%'"

# Out of range: the link drops, Connect fails until it returns.
t_ok "the device goes out of range" mock_do vanish addr="$A"
t_ok "the loss is logged" wait_for 3 daemon_log_has "ble b0: $A lost"
U=coap://127.0.0.1:$COAP_PORT/v1/n
t_is "CoAP answers 2.04 while it is away" \
    "$(coap_code -m post -t 50 -e '{"seq":1,"model":"m","label":"l","score":0.5}' "$U/c1/inference")" 2.04
before=$(cpu_ticks "$DAEMON_PID")
sleep 12
t_ok "no busy loop while it is away (< 0.3 s CPU in 12 s)" \
    test $(($(cpu_ticks "$DAEMON_PID") - before)) -lt $(($(getconf CLK_TCK) * 3 / 10))
# Connects while away: the first one was the link's first connection.
dev_get "$A" connect_times | jq -r '.[1:] | .[]' > "$T/times"
n=$(wc -l < "$T/times")
t_ok "retried while away ($n Connects in 12 s)" test "$n" -ge 3
t_ok "not a tight loop" test "$n" -le 6
awk 'NR > 1 { print $1 - p } { p = $1 }' "$T/times" > "$T/gaps"
echo "# gaps between Connects while away: $(tr '\n' ' ' < "$T/gaps")s"
# (The daemon retries on its 1 s tick, so gaps are whole seconds plus
# the failed Connect's 0.3 s: 1-2 s of backoff then 3-4 s show as about
# 3 s then 4 s.)
t_ok "a backoff: each gap 0.5 s longer than the one before, none over 31 s" \
    awk 'NR > 1 && $1 < p + 0.5 { bad = 1 } $1 > 31 { bad = 1 } { p = $1 }
    END { exit bad }' "$T/gaps"
t_is "the loss logged once, the retries quietly" \
    "$(grep -c "ble b0: .*\(lost\|retrying\|fail\)" "$T/daemon.log")" 1
t_ok "the other link still delivers" ble_text "$A2" \
    '{"type":"inference","seq":5,"model":"m","label":"on","score":0.7}\n'
t_ok "stored under its default node" wait_for 3 rows_are 1 "WHERE node = 'dflt'"
t_ok "P/metrics: b0 is not open" wait_for 3 ble_counter_is b0 open false
ctl appear addr="$A" > /dev/null
SECONDS=0
t_ok "subscribed again within the backoff (<= 30 s)" mock_wait "$A" \
    subscribed '"fd"' 32
echo "# back after ${SECONDS} s"
t_ok "logged as back" wait_for 3 daemon_log_has "ble b0: $A is back"
frames_file "$T/post" --framing cobs --count 50 --seed 4 --prefix post
t_ok "frames sent after the return" ble_send "$A" "$T/post" 2
t_ok "all 50 stored" wait_for 10 rows_are 50 "WHERE node LIKE 'post-%'"
t_ok "P/metrics: reopens = 1" wait_for 3 ble_counter_is b0 reopens 1

# The device object goes and comes back.
t_ok "the device object is removed" mock_do vanish addr="$A" remove=1
t_ok "the loss is logged" wait_for 3 test "$(daemon_log_count "ble b0: $A lost")" = 2
ctl appear addr="$A" > /dev/null
t_ok "the object returns and the link with it (<= 30 s)" mock_wait "$A" \
    subscribed '"fd"' 32
frames_file "$T/post2" --framing cobs --count 20 --seed 5 --prefix again
t_ok "frames sent" ble_send "$A" "$T/post2" 3
t_ok "all 20 stored" wait_for 10 rows_are 20 "WHERE node LIKE 'again-%'"

# A link loss in range: back within the first backoff step (a few s).
t_ok "the link drops in range" mock_do drop addr="$A"
SECONDS=0
t_ok "subscribed again within 5 s" mock_wait "$A" subscribed '"fd"' 5
echo "# back after ${SECONDS} s"
t_ok "P/metrics: reopens = 3" wait_for 3 ble_counter_is b0 reopens 3

# Only the notify socket closes (BlueZ does so when the MTU changes).
t_ok "the notify socket closes, the link stays" mock_do closefd addr="$A"
t_ok "subscribed again within 5 s" mock_wait "$A" subscribed '"fd"' 5
t_ok "P/metrics: reopens = 4" wait_for 3 ble_counter_is b0 reopens 4
frames_file "$T/post3" --framing cobs --count 10 --seed 6 --prefix last
t_ok "frames sent" ble_send "$A" "$T/post3" 4
t_ok "all 10 stored" wait_for 10 rows_are 10 "WHERE node LIKE 'last-%'"
t_is "b1 was never disturbed" "$(dev_get "$A2" connect)" 1
t_is "CoAP still 2.04" \
    "$(coap_code -m post -t 50 -e '{"seq":2,"model":"m","label":"l","score":0.5}' "$U/c1/inference")" 2.04
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_is "reopens = 4 in the last log" "$(ble_log_counter b0 reopens)" 4
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
