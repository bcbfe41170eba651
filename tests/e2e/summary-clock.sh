#!/bin/bash
# summary-clock.sh - the gateway's clock steps while summaries run (issue 6).
# The daemon runs under libfaketime with an offset read from a file at
# every call, its monotonic clock left alone, so the test can step the wall
# clock back and forth as NTP or an operator would:
#  1. a step back by 400 days is logged, the open interval closes at once
#     and later summaries carry a new epoch in their id;
#  2. a step forward again is logged, gives no storm of empty summaries and
#     no summary spanning the gap;
#  3. kill -9 with an interval open, restart with the clock 400 days behind
#     (a Pi booting before NTP): realigned and logged, nothing lost;
# and every summary covers exactly one interval, and their n add up to the
# inferences sent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"

FT=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$FT" ] || t_skip_all "libfaketime not installed (Debian package faketime)"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
U="coap://127.0.0.1:$COAP_PORT/v1/n"
start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "[summary]" "interval = 2s" "debounce = 0"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'tinyedge/gw-test/summary/#' > "$T/sum.txt" 2>/dev/null &
t_track $!

# start_faked: the daemon with the wall clock offset in $T/offset.
start_faked() {
	LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$T/offset FAKETIME_NO_CACHE=1 \
		FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 \
		start_daemon "$T/d.ini"
}
inf() {
	coap_code -m post -t 50 -e "{\"seq\":$1,\"model\":\"m\",\"label\":\"x\",\"score\":0.5}" "$U/p/inference"
}
nsum() { grep -c . "$T/sum.txt"; }
DAY=86400000
now_ms() { date +%s%3N; }

echo "+0" > "$T/offset"
t_ok "daemon starts under libfaketime" start_faked
t_is "p1 acknowledged" "$(inf 1)" 2.04
t_ok "p1's summary arrives" wait_for 10 sh -c "[ \$(grep -c . '$T/sum.txt') -ge 1 ]"

# 1. Back by 400 days.
t_is "p2 acknowledged" "$(inf 2)" 2.04
echo "-400d" > "$T/offset"
t_ok "the step back is logged" wait_for 5 daemon_log_has "gateway clock stepped back by"
t_ok "realignment is logged" wait_for 5 daemon_log_has "behind the newest interval"
t_ok "p2's interval closes at once" wait_for 5 sh -c "[ \$(grep -c . '$T/sum.txt') -ge 2 ]"
t_is "p3 acknowledged" "$(inf 3)" 2.04
t_ok "p3's summary arrives" wait_for 10 sh -c "[ \$(grep -c . '$T/sum.txt') -ge 3 ]"
last=$(tail -n 1 "$T/sum.txt")
t_ok "p3's summary has epoch 1 in its id" grep -q '"id":"sum:p:[0-9]*:e1"' <<<"$last"
from=$(jq .from <<<"$last")
t_ok "p3's interval is 400 days back" test $(( $(now_ms) - from - 400 * DAY )) -lt 60000

# 2. Forward again.
echo "+0" > "$T/offset"
t_ok "the step forward is logged" wait_for 5 daemon_log_has "gateway clock stepped forward by"
t_is "p4 acknowledged" "$(inf 4)" 2.04
t_ok "p4's summary arrives" wait_for 10 sh -c "[ \$(grep -c . '$T/sum.txt') -ge 4 ]"
sleep 2.5
t_is "no storm of summaries: one per interval with data" "$(nsum)" 4

# 3. kill -9 mid-interval, restart 400 days behind.
t_is "p5 acknowledged" "$(inf 5)" 2.04
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
echo "-400d" > "$T/offset"
t_ok "daemon restarts 400 days behind" start_faked
t_ok "restart behind the recorded intervals is logged" wait_for 5 sh -c "[ \$(grep -c 'behind the newest interval' '$T/daemon.log') -ge 2 ]"
t_is "p6 acknowledged" "$(inf 6)" 2.04
t_ok "p5's and p6's summaries arrive" wait_for 10 sh -c "[ \$(grep -c . '$T/sum.txt') -ge 6 ]"
t_ok "p6's summary has epoch 2" grep -q '"id":"sum:p:[0-9]*:e2"' <(tail -n 1 "$T/sum.txt")

t_is "every summary covers one interval" "$(jq -r '.to - .from' "$T/sum.txt" | sort -u)" 2000
t_is "ids are distinct" "$(jq -r .id "$T/sum.txt" | sort -u | wc -l)" "$(nsum)"
t_is "n adds up to the 6 inferences" "$(jq -s 'map(.n) | add' "$T/sum.txt")" 6

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
