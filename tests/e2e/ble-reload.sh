#!/bin/bash
# ble-reload.sh - SIGHUP adds, removes and changes BLE links, against the
# real daemon and the BlueZ mock: a link removed from the file lets go of
# its device (the notify socket closes), a link added connects to its
# own, a link whose framing changes reads the new framing, a link left as
# it was is not disturbed, and a bad file is refused with the running
# links kept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

A=$(addr_of 1)
B=$(addr_of 2)
C=$(addr_of 3)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
t_ok "private bus up" start_bus
t_ok "mock up" start_mock --device "$A,known=1" --device "$B,known=1" \
    --device "$C,known=1"
conf() {
	BLE_LINES=()
	ble_link a "$A" lines "node = na"
	[ "$1" != "" ] && ble_link b "$B" "$1" "node = nb"
	[ "$2" != "" ] && ble_link c "$C" lines "node = nc"
	ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
}
reload() {
	local n
	n=$(daemon_log_count "reload: done")
	kill -HUP "$DAEMON_PID"
	wait_for 5 _t_more_than "$n" "reload: done"
}
line() { printf '{"type":"inference","seq":%d,"model":"m","label":"on","score":0.7}\\n' "$1"; }

conf lines c
t_ok "daemon starts with links a, b, c" start_daemon "$T/d.ini"
for d in "$A" "$B" "$C"; do
	t_or_bail "$d subscribed" mock_wait "$d" subscribed '"fd"' 10
done

# Remove c, change b to COBS.
conf cobs ""
t_ok "SIGHUP: c removed, b changed" reload
t_ok "c let go of its device" mock_wait "$C" subscribed null 5
t_ok "b subscribed again" mock_wait "$B" subscribed '"fd"' 10
frames_file "$T/fb" --framing cobs --count 10 --seed 1 --prefix bb
t_ok "b sends COBS frames" ble_send "$B" "$T/fb" 1
t_ok "b's frames stored" wait_for 10 rows_are 10 "WHERE node LIKE 'bb-%'"
t_ok "a still delivers" ble_text "$A" "$(line 1)"
t_ok "stored" wait_for 5 rows_are 1 "WHERE node = 'na'"
t_is "a was not disturbed" "$(dev_get "$A" connect)" 1

# Add c back.
conf cobs c
t_ok "SIGHUP: c added" reload
t_ok "c subscribed" mock_wait "$C" subscribed '"fd"' 10
t_ok "c delivers" ble_text "$C" "$(line 2)"
t_ok "stored" wait_for 5 rows_are 1 "WHERE node = 'nc'"

# A bad file is refused: the running links stay.
conf cobs c
printf '%s\n' "[ble:d]" "address = $A" "name = x*" >> "$T/d.ini"
kill -HUP "$DAEMON_PID"
t_ok "a bad file is refused" wait_for 5 daemon_log_has "keeping the running configuration\|rejected"
t_ok "a still delivers" ble_text "$A" "$(line 3)"
t_ok "stored" wait_for 5 rows_are 2 "WHERE node = 'na'"
t_is "a still connected once" "$(dev_get "$A" connect)" 1
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
