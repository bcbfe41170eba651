#!/bin/bash
# ble-crowd.sh - a crowded radio against the real daemon and the BlueZ
# mock: while a link searches by name, discovery brings 200 devices it
# does not want besides its own.  The daemon keeps no list of devices it
# saw (each InterfacesAdded is matched and forgotten; BlueZ owns the
# objects), so the crowd costs it neither memory nor a busy loop: the link
# still finds its device, none of the others is ever connected, the
# daemon stays small, and when its device goes and comes back the crowd
# does not get in the way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

N=200
K=$(addr_of 255)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
t_ok "private bus up" start_bus
devs=()
for i in $(seq 0 $((N - 1))); do
	devs+=(--device "$(printf 'C0:FF:EE:00:%02X:%02X' $((i / 256 + 1)) $((i % 256))),name=crowd-$i")
done
t_ok "mock up: $N unwanted devices and the sensor, none known" \
    start_mock "${devs[@]}" --device "$K,name=sensor-kitchen"
BLE_LINES=("[ble:k]" "name = sensor-k*" "framing = lines" "node = n0")
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts" start_daemon "$T/d.ini"
before=$(cpu_ticks "$DAEMON_PID")
t_or_bail "the link found its device among $((N + 1))" \
    mock_wait "$K" subscribed '"fd"' 20
t_is "discovery exported the whole crowd" \
    "$(mock_get '[.devices[] | select(.exported)] | length')" $((N + 1))
t_is "no unwanted device was ever connected" \
    "$(mock_get '[.devices[] | .connect] | add')" 1
t_ok "no busy loop over the crowd (< 2 s CPU)" \
    test $(($(cpu_ticks "$DAEMON_PID") - before)) -lt $((2 * $(getconf CLK_TCK)))
t_ok "daemon RSS stays small (< 64 MB)" test \
    "$(awk '/VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")" -lt 65536
t_ok "it delivers" ble_text "$K" '{"type":"heartbeat","seq":1}\n'
t_ok "stored" wait_for 5 rows_are 1 "WHERE node = 'n0'"

# Its object goes and comes back through a new discovery, in the crowd.
ctl vanish addr="$K" remove=1 > /dev/null
t_ok "the loss is logged" wait_for 3 daemon_log_has "ble k: $K lost"
ctl appear addr="$K" > /dev/null
t_ok "found again among the crowd (<= 30 s)" mock_wait "$K" subscribed '"fd"' 32
t_is "still no unwanted device connected" \
    "$(mock_get '[.devices[] | .connect] | add')" 2
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
