#!/bin/bash
# ble-late.sh - BLE links that only SIGHUP brings: a daemon started with
# no [ble:...] section opens no bus connection; a reload that adds one
# connects to the bus then and the link subscribes and delivers; a reload
# that removes every section lets the device go (the notify socket is
# closed and the device disconnected) while CoAP carries on; the stop is
# clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"

A=$(addr_of 1)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
reload() {
	local n
	n=$(daemon_log_count "reload: done")
	kill -HUP "$DAEMON_PID"
	wait_for 5 _t_more_than "$n" "reload: done"
}
# conf [LINK]: the config, with the link b0 to $A when asked.
conf() {
	BLE_LINES=()
	[ "${1:-}" = link ] && ble_link b0 "$A" lines "node = n0"
	ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
}
line() { printf '{"type":"inference","seq":%d,"model":"m","label":"on","score":0.7}\n' "$1"; }

t_ok "private bus up" start_bus
t_ok "mock up with a known device" start_mock --device "$A,known=1"
conf
t_ok "daemon starts without BLE links" start_daemon "$T/d.ini"
sleep 1
t_is "no BlueZ call without links" "$(mock_get .calls.get_managed_objects)" \
    null
conf link
t_ok "SIGHUP: b0 added" reload
t_ok "b0 subscribed" mock_wait "$A" subscribed '"fd"' 10
line 1 > "$T/l1"
t_ok "b0 delivers" ble_send "$A" "$T/l1" 1
t_ok "stored" wait_for 5 rows_are 1 "WHERE node = 'n0'"
conf
t_ok "SIGHUP: b0 removed" reload
t_ok "the notify socket is closed" mock_wait "$A" subscribed null 5
t_ok "the device is disconnected" mock_wait "$A" connected false 5
t_is "CoAP still 2.04" "$(coap_code -m post -t 50 -e \
    '{"seq":1,"model":"m","label":"l","score":0.5}' \
    "coap://127.0.0.1:$COAP_PORT/v1/n/c1/inference")" 2.04
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c \
    "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
