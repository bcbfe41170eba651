#!/bin/bash
# ble-discovery.sh - links to devices BlueZ does not know yet, against the
# real daemon and the BlueZ mock: the devices appear only while a
# discovery session runs, so the daemon sets a filter and starts
# discovery; a link by name glob (name = sensor-k*) takes the device whose
# name matches and no other, a link by address its device; discovery stops
# once every link has its device; when a device's object goes away and
# comes back only through a new discovery, the link finds it again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

K=$(addr_of 1)
H=$(addr_of 2)
O=$(addr_of 3)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
t_ok "private bus up" start_bus
t_ok "mock up: three devices in range, none known" start_mock \
    --device "$O,name=other-1" --device "$K,name=sensor-kitchen" \
    --device "$H,name=sensor-hall"
t_is "no device object before discovery" \
    "$(mock_get '[.devices[] | select(.exported)] | length')" 0
BLE_LINES=("[ble:k]" "name = sensor-k*" "framing = lines")
ble_link h "$H" cobs
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts" start_daemon "$T/d.ini"
t_or_bail "the glob link subscribed to sensor-kitchen" \
    mock_wait "$K" subscribed '"fd"' 15
t_or_bail "the address link subscribed to its device" \
    mock_wait "$H" subscribed '"fd"' 15
t_ok "a discovery filter was set" test "$(mock_get .calls.set_discovery_filter)" -ge 1
t_ok "discovery was started" test "$(mock_get .calls.start_discovery)" -ge 1
t_is "the device no link wants was never connected" "$(dev_get "$O" connect)" 0
discovery_off() { [ "$(mock_get .discovering)" = false ]; }
t_ok "discovery stops once every link has its device" wait_for 5 discovery_off
frames_file "$T/k" --framing lines --count 20 --seed 1 --prefix kit
frames_file "$T/h" --framing cobs --count 20 --seed 2 --prefix hall
t_ok "the kitchen sends" ble_send "$K" "$T/k" 1
t_ok "the hall sends" ble_send "$H" "$T/h" 2
t_ok "both stored" wait_for 10 rows_are 40
t_is "each under its own nodes" "$(rows "WHERE node LIKE 'kit-%'")" 20

# The kitchen's object goes; it comes back only through discovery.
starts=$(mock_get .calls.start_discovery)
ctl vanish addr="$K" remove=1 > /dev/null
t_ok "the loss is logged" wait_for 3 daemon_log_has "ble k: $K lost"
ctl appear addr="$K" > /dev/null
t_ok "found and subscribed again (<= 30 s)" mock_wait "$K" subscribed '"fd"' 32
t_ok "by a new discovery" test "$(mock_get .calls.start_discovery)" -gt "$starts"
t_ok "which stops again" wait_for 5 discovery_off
frames_file "$T/k2" --framing lines --count 10 --seed 3 --prefix kit2
t_ok "the kitchen sends again" ble_send "$K" "$T/k2" 3
t_ok "stored" wait_for 10 rows_are 10 "WHERE node LIKE 'kit2-%'"
t_is "the hall was not disturbed" "$(dev_get "$H" connect)" 1
t_is "other-1 still never connected" "$(dev_get "$O" connect)" 0
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
