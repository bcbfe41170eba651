#!/bin/bash
# ble-hostile.sh - what the daemon's BLE links must not believe, against
# the real daemon and the BlueZ mock: signals that claim to be BlueZ's but
# come from another peer on the bus (a Value change carrying a valid line,
# Connected false, the device's removal) change nothing; signals from
# org.bluez with the wrong types, unknown interfaces and objects it cannot
# use (a service with a number for UUID, a TX characteristic without
# notify, a device with an array for Address) are survived and ignored;
# notifications of the largest size an attribute can have (512 bytes)
# arrive whole by the notify socket; 100 KB without a line end is dropped
# as over-long (the line buffer is bounded) and the link reads on.
# (Notifications over 512 bytes: ble-limits.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

A=$(addr_of 1)
B=$(addr_of 2)
DA=/org/bluez/hci0/dev_C0_FF_EE_00_00_01
probe() { timeout -k 2 30 "$BLE_PY" -B "$BLE_DIR/probe.py" --address "$BUS_ADDR" "$@"; }
line() { printf '{"type":"inference","seq":%d,"model":"m","label":"on","score":0.7}\\n' "$1"; }
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
start_sub "$MQTT_PORT" "tinyedge/gw-test/metrics" "$T/metrics.txt"
t_ok "private bus up" start_bus
# A notifies by signals (so spoofed Value changes could reach it).
t_ok "mock up" start_mock --device "$A,known=1,acquire=0,mtu=517" \
    --device "$B,known=1,mtu=517"
ble_link a "$A" lines "node = na"
ble_link b "$B" cobs
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts" start_daemon "$T/d.ini"
t_or_bail "a subscribed by StartNotify" mock_wait "$A" subscribed '"signal"' 10
t_or_bail "b subscribed" mock_wait "$B" subscribed '"fd"' 10

t_ok "another peer sends BlueZ's signals" probe spoof "$DA" "$(line 1)"
sleep 1
t_is "its Value change stored nothing" "$(rows "WHERE node = 'na'")" 0
t_ok "its Connected false and removal lost no link" sh -c \
    "! grep -q 'ble a: .*lost' '$T/daemon.log'"
t_is "a still subscribed" "$(dev_get "$A" subscribed)" signal
t_is "no new Connect" "$(dev_get "$A" connect)" 1

t_ok "org.bluez sends malformed signals about a" mock_do garbage addr="$A"
t_ok "and about b" mock_do garbage addr="$B"
sleep 1
t_ok "daemon still running" kill -0 "$DAEMON_PID"
t_ok "no link lost" sh -c "! grep -q 'lost' '$T/daemon.log'"
t_is "still one Connect each" "$(dev_get "$A" connect) $(dev_get "$B" connect)" "1 1"
t_ok "a still delivers" ble_text "$A" "$(line 2)"
t_ok "stored" wait_for 5 rows_are 1 "WHERE node = 'na'"
frames_file "$T/fb" --framing cobs --count 20 --seed 2 --prefix bb
t_ok "b still delivers, in notifications of 400..512 bytes" \
    ble_send "$B" "$T/fb" 1 min=400 max=512
t_ok "stored" wait_for 10 rows_are 20 "WHERE node LIKE 'bb-%'"

# 100 KB with no line end, then a line.
head -c 100000 /dev/zero | tr '\0' 'x' > "$T/big"
t_ok "100 KB without a line end" ble_send "$A" "$T/big" 3 min=512 max=512
t_is "in 512-byte notifications" "$(jq -r .notifications "$T/send.json")" 196
t_ok "a line after it" ble_text "$A" "\\n$(line 3)"
t_ok "the line after it is stored" wait_for 5 rows_are 2 "WHERE node = 'na'"
t_ok "the over-long line counted" wait_for 5 ble_counter_is a dropped_long 1
t_is "no notification was oversized" \
    "$(ble_counter a oversized) $(ble_counter b oversized)" "0 0"

t_ok "daemon RSS stays small (< 64 MB)" test \
    "$(awk '/VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")" -lt 65536
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
