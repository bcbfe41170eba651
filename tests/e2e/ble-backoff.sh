#!/bin/bash
# ble-backoff.sh - the backoff of a BLE link reaches its cap, against the
# real daemon and the BlueZ mock (SPEC 12: reconnects with backoff <= 30 s):
# a device out of range for about a minute is retried at growing
# intervals that level off at 30 s (less jitter), quietly and without
# spinning; back in range after the longest wait, it is subscribed again
# within 30 s.  Mostly sleeping: about 1.5 minutes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

A=$(addr_of 1)
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
t_ok "private bus up" start_bus
t_ok "mock up" start_mock --device "$A,known=1"
ble_link b0 "$A" lines "node = n0"
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts" start_daemon "$T/d.ini"
t_or_bail "subscribed" mock_wait "$A" subscribed '"fd"' 10

t_ok "the device goes out of range" mock_do vanish addr="$A"
before=$(cpu_ticks "$DAEMON_PID")
# The first Connect was the link's first connection: 6 more are the
# retries 1, 2, 4, 8, 16 and 30 s apart (each less up to a quarter).
SECONDS=0
t_or_bail "six retries within 90 s" mock_wait "$A" connect 7 90
echo "# six retries took ${SECONDS} s"
t_ok "no busy loop meanwhile (< 1 s CPU)" \
    test $(($(cpu_ticks "$DAEMON_PID") - before)) -lt "$(getconf CLK_TCK)"
dev_get "$A" connect_times | jq -r '.[1:] | .[]' > "$T/times"
awk 'NR > 1 { print $1 - p } { p = $1 }' "$T/times" > "$T/gaps"
echo "# gaps between retries: $(tr '\n' ' ' < "$T/gaps")s"
t_ok "each gap longer than the one before" awk \
    'NR > 1 && $1 < p + 0.5 { bad = 1 } { p = $1 } END { exit bad }' "$T/gaps"
t_ok "the longest is at the cap: 22.5..30 s plus a tick" awk \
    'END { exit !($1 >= 22 && $1 <= 32) }' "$T/gaps"
t_is "the outage logged once" "$(grep -c 'ble b0: .*\(lost\|retrying\|fail\)' "$T/daemon.log")" 1

t_ok "the device is back in range" mock_do appear addr="$A"
SECONDS=0
t_ok "subscribed again within 30 s (and a tick)" mock_wait "$A" subscribed '"fd"' 32
echo "# back after ${SECONDS} s"
t_ok "it delivers" ble_text "$A" '{"type":"heartbeat","seq":1}\n'
t_ok "stored" wait_for 5 rows_are 1 "WHERE node = 'n0'"
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
