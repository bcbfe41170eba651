#!/bin/bash
# ble-limits.sh - the per-notification bound of BLE links (512 bytes, the
# ATT maximum) against the real daemon and the BlueZ mock: a device with
# a large MTU sends a 600-byte notification, on the AcquireNotify socket
# (b0) and as a StartNotify Value change (b1); each is dropped whole and
# counted as "oversized" without touching the framing, the same bytes cut
# in two notifications go through the reader (a skipped line), and a
# valid line after it is stored: the link carries on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

A=$(addr_of 1)
B=$(addr_of 2)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
start_sub "$MQTT_PORT" "tinyedge/gw-test/#" "$T/metrics.txt"
t_ok "private bus up" start_bus
t_ok "mock up: one device with AcquireNotify, one without" start_mock \
    --device "$A,known=1,mtu=700" --device "$B,known=1,acquire=0,mtu=700"
ble_link b0 "$A" lines "node = n0"
ble_link b1 "$B" lines "node = n1"
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts" start_daemon "$T/d.ini"
t_or_bail "b0 subscribed by socket" mock_wait "$A" subscribed '"fd"' 10
t_or_bail "b1 subscribed by StartNotify" mock_wait "$B" subscribed \
    '"signal"' 10

# send KEY=VALUE...: notifications from the mock, its answer dropped.
send() { ctl send "$@" > /dev/null; }

# 599 bytes of junk and a newline: one line, not JSON.
head -c 599 /dev/zero | tr '\0' x > "$T/big"
printf '\n' >> "$T/big"
printf '{"type":"inference","seq":1,"model":"m","label":"on","score":0.7}\n' \
    > "$T/good"
for x in "b0 $A" "b1 $B"; do
	set -- $x
	t_ok "$1: a 600-byte notification" send addr="$2" \
	    file="$T/big" min=600 max=600
	t_ok "$1: counted as oversized" wait_for 5 ble_counter_is "$1" \
	    oversized 1
	t_is "$1: nothing reached the framing" \
	    "$(ble_counter "$1" skipped_lines):$(ble_counter "$1" bytes)" "0:0"
	t_ok "$1: the same bytes in two notifications" send addr="$2" \
	    file="$T/big" min=300 max=300
	t_ok "$1: read as one skipped line" wait_for 5 ble_counter_is "$1" \
	    skipped_lines 1
	t_is "$1: 600 bytes read" "$(ble_counter "$1" bytes)" 600
	t_ok "$1: a valid line after it" send addr="$2" file="$T/good" \
	    min=20 max=244
	t_ok "$1: stored" wait_for 5 rows_are 1 "WHERE node = 'n${1#b}'"
	t_is "$1: still subscribed" "$(ble_counter "$1" open)" true
done
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c \
    "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
