#!/bin/bash
# ble-bus.sh - the system bus itself comes and goes, against the real
# daemon: started with no bus at all, the daemon runs and CoAP works, and
# its BLE link comes up once a bus and BlueZ appear; when the bus is
# killed (and BlueZ with it) the loss is logged, CoAP ingest keeps
# answering 2.04 and the daemon does not spin; a new bus at the same
# address with BlueZ on it brings the link back and frames flow again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"

A=$(addr_of 1)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
start_sub "$MQTT_PORT" "tinyedge/gw-test/metrics" "$T/metrics.txt"
ble_link b0 "$A" lines
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
U=coap://127.0.0.1:$COAP_PORT/v1/n
post() {
	coap_code -m post -t 50 -e "{\"seq\":$1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5}" \
	    "$U/c1/inference"
}

t_ok "daemon starts with no bus at all" start_daemon "$T/d.ini"
t_is "CoAP answers 2.04 without a bus" "$(post 1)" 2.04
t_ok "private bus up" start_bus
t_ok "BlueZ up" start_mock --device "$A,known=1"
t_or_bail "the link comes up (<= 30 s)" mock_wait "$A" subscribed '"fd"' 32
frames_file "$T/f1" --framing lines --count 20 --seed 1 --prefix one
t_ok "frames sent" ble_send "$A" "$T/f1" 1
t_ok "stored" wait_for 10 rows_are 20 "WHERE node LIKE 'one-%'"

stop_bus
t_ok "the bus loss is logged" wait_for 3 daemon_log_has \
    "ble: the system bus connection closed"
t_ok "daemon still running" kill -0 "$DAEMON_PID"
t_is "CoAP answers 2.04 while the bus is gone" "$(post 2)" 2.04
before=$(cpu_ticks "$DAEMON_PID")
sleep 4
t_ok "no busy loop without a bus (< 0.3 s CPU in 4 s)" \
    test $(($(cpu_ticks "$DAEMON_PID") - before)) -lt $(($(getconf CLK_TCK) * 3 / 10))
t_ok "P/metrics: the link is not open" wait_for 3 ble_counter_is b0 open false

t_ok "a new bus at the same address" start_bus
t_ok "BlueZ on it" start_mock --device "$A,known=1"
SECONDS=0
t_or_bail "the link comes back (<= 30 s)" mock_wait "$A" subscribed '"fd"' 32
echo "# back after ${SECONDS} s"
t_ok "the bus's return is logged" wait_for 3 daemon_log_has \
    "ble: the system bus is back"
frames_file "$T/f2" --framing lines --count 20 --seed 2 --prefix two
t_ok "frames sent on the new bus" ble_send "$A" "$T/f2" 2
t_ok "stored" wait_for 10 rows_are 20 "WHERE node LIKE 'two-%'"
t_is "both CoAP messages stored" "$(rows "WHERE node = 'c1'")" 2
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
stop_bus
t_done
