#!/bin/bash
# ble-many.sh - 20 BLE links at once against the real daemon and the BlueZ
# mock: 20 [ble:...] sections (half lines, half COBS, half of the devices
# refusing AcquireNotify so both ways of notifying run side by side) all
# get subscribed; the 20 devices then send their frames at the same time,
# cut at random edges, and every link's frames land under its own nodes,
# none lost, none crossed, with each link's counter in P/metrics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

N=20
MQTT_PORT=$(free_port)
start_mosquitto "$MQTT_PORT"
start_sub "$MQTT_PORT" "tinyedge/gw-test/metrics" "$T/metrics.txt"
t_ok "private bus up" start_bus
devs=()
for i in $(seq 0 $((N - 1))); do
	fr=lines; [ $((i % 2)) = 1 ] && fr=cobs
	devs+=(--device "$(addr_of "$i"),name=nus-$i,known=1,acquire=$((i / 10 == 0))")
	ble_link "l$i" "$(addr_of "$i")" "$fr"
done
t_ok "mock up with $N devices" start_mock "${devs[@]}"
ble_conf "$T/d.ini" "$MQTT_PORT" "${BLE_LINES[@]}"
t_ok "daemon starts with $N links" start_daemon "$T/d.ini"
all_subscribed() {
	[ "$(mock_get '[.devices[] | select(.subscribed != null)] | length')" = "$N" ]
}
t_or_bail "all $N subscribed within 20 s" wait_for 20 all_subscribed
t_is "10 by the notification socket" \
    "$(mock_get '[.devices[] | select(.subscribed == "fd")] | length')" 10
t_is "10 by StartNotify" \
    "$(mock_get '[.devices[] | select(.subscribed == "signal")] | length')" 10
t_is "one Connect each" \
    "$(mock_get '[.devices[] | .connect] | add')" "$N"

for i in $(seq 0 $((N - 1))); do
	fr=lines; [ $((i % 2)) = 1 ] && fr=cobs
	frames_file "$T/f$i" --framing "$fr" --count 30 --nodes 2 \
	    --seed $((100 + i)) --prefix "d$i" --acked-log "$T/acked$i"
done
pids=""
for i in $(seq 0 $((N - 1))); do
	ctl send addr="$(addr_of "$i")" file="$T/f$i" seed="$i" min=20 \
	    max=244 > "$T/send$i.json" &
	pids="$pids $!"
	t_track $!
done
ok=0
for p in $pids; do wait "$p" && ok=$((ok + 1)); done
t_is "every device sent its frames" "$ok" "$N"
t_ok "$((N * 30)) rows stored" wait_for 20 rows_are $((N * 30))
cat "$T"/acked[0-9]* > "$T/acked-all"
t_is "exactly the frames sent, each under its own link's nodes" \
    "$(stored_set | md5sum)" "$(acked_set "$T/acked-all" | md5sum)"
t_ok "P/metrics: every link counted its 30 frames" wait_for 5 sh -c \
    "grep ' tinyedge/gw-test/metrics ' '$T/metrics.txt' | tail -n 1 |
    cut -d' ' -f3- | jq -e '[.ble_links[] | select(.frames == 30 and .open)]
    | length == $N' > /dev/null"
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_is "every link logged its counters" "$(grep -c 'ble l[0-9]*: frames=30 ' "$T/daemon.log")" "$N"
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
