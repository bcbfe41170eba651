#!/bin/bash
# learn-vibration.sh - tinyedge-nodesim --vibration against the real daemon
# with a [learn:NAME] section, the path scripts/demo shows: a table of
# refused option combinations (usage, exit 2); a machine's windows turn
# faulty at --fault-at and the acked log says which were; two vibration
# nodes collect, get ready (P/learn retained), and after SIGUSR1 gives them
# looseness the gateway's own tier-2 results flag the faulty windows and
# few of the healthy ones.  Seeds are fixed; the bounds are loose (the
# bench measures the rates: bench/learn).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-coap.sh"

# Refused: each line is one nodesim command line that must exit 2.
refused() {
	"$NODESIM" --coap coap://127.0.0.1:9 --duration 0 "$@" > /dev/null 2>&1
	[ $? = 2 ]
}
while IFS= read -r args; do
	# shellcheck disable=SC2086
	t_ok "refused: $args" refused $args
done <<'EOF'
--fault bearing
--vibration --fault normal
--vibration --fault Bearing
--vibration --fault bearing,imbalance
--vibration --frames 1
--vibration --frames 65536
--vibration --severity -1
--vibration --severity nan
--vibration --snr inf
--vibration --fault bearing --fault-at -1
--vibration --fault bearing --fault-at nan
--vibration --audio
--vibration --cbor
EOF
serial_vib() {
	"$NODESIM" --serial /dev/null --vibration --duration 0 > /dev/null 2>&1
	[ $? = 2 ]
}
t_ok "refused: --serial with --vibration" serial_vib

MQTT=$(free_port)
COAP=$(free_port udp)
start_mosquitto "$MQTT" || t_skip_all "mosquitto did not start"
write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT" \
	"[learn:v]" "nodes = v-*" "windows = 100"
t_ok "daemon starts with [learn:v]" start_daemon "$T/d.ini"

# A machine (not learned: w-*) faulty from 1 s on: normal, then imbalance.
"$NODESIM" --coap "coap://127.0.0.1:$COAP" --prefix w --nodes 1 --rate 10 \
	--duration 2 --vibration --fault imbalance --fault-at 1 --seed 3 \
	--acked-log "$T/w.acked" > "$T/w.out" 2>&1
t_is "nodesim --fault-at: every window acked" \
	"$(awk '{ print $4 }' "$T/w.acked" | sort -u)" "window"
t_is "the labels go normal, then imbalance, never back" \
	"$(awk '{ print $5 }' "$T/w.acked" | uniq | tr '\n' ' ')" "normal imbalance "
t_is "a window is 1,024 frames x 3 axes of int16 (binary, 6,164 bytes)" \
	"$(db "SELECT DISTINCT length(body) FROM msg WHERE node = 'w-000' AND kind = 2")" \
	"6164"

start_sub "$MQTT" "$PREFIX/learn/v/+" "$T/learn"
"$NODESIM" --coap "coap://127.0.0.1:$COAP" --prefix v --nodes 2 --rate 20 \
	--duration 60 --vibration --fault looseness --fault-at signal --seed 5 \
	--acked-log "$T/v.acked" > "$T/v.out" 2>&1 &
SIM=$!
t_track $SIM
ready() { [ "$(grep -c '"state":"ready"' "$T/learn")" -ge 2 ]; }
t_ok "both vibration nodes get ready" wait_for 40 ready
t_ok "P/learn ready is retained" \
	sh -c "[ -n \"\$(timeout 5 mosquitto_sub -h 127.0.0.1 -p $MQTT -t '$PREFIX/learn/v/v-001' --retained-only -C 1 -W 2 | grep '\"state\":\"ready\"')\" ]"
sleep 3
kill -USR1 $SIM
sleep 4
kill -TERM $SIM
wait $SIM 2> /dev/null
store_settle
# What the gateway said of each window against what the window was.
db "SELECT node, json_extract(body, '$.window'), json_extract(body, '$.label')
    FROM msg WHERE kind = 4 AND node LIKE 'v-%'" | tr '|' ' ' > "$T/t2"
rate() {
	awk -v want="$1" 'NR == FNR { t[$1 " " $3] = $5; next }
		t[$1 " " $2] == want { n++; a += $3 == "anomaly" }
		END { printf "%d %.3f\n", n, n ? a / n : -1 }' "$T/v.acked" "$T/t2"
}
read -r nh fa <<< "$(rate normal)"
read -r nl det <<< "$(rate looseness)"
t_ok "healthy windows scored after ready ($nh)" [ "$nh" -ge 40 ]
t_ok "looseness windows scored ($nl)" [ "$nl" -ge 40 ]
t_ok "false alarms on healthy windows: $fa <= 0.2" \
	awk -v x="$fa" 'BEGIN { exit !(x <= 0.2) }'
t_ok "looseness windows flagged: $det >= 0.8" \
	awk -v x="$det" 'BEGIN { exit !(x >= 0.8) }'
[ "$_t_fail" = 0 ] || { t_diag "$T/learn" 10; t_diag "$T/daemon.log" 20; }
stop_daemon
t_done
