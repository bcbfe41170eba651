#!/bin/bash
# summary.sh - events and per-interval summaries (issue 6), with a 2 s
# interval and a 4 s debounce, checked field by field against what the
# store's own message rows say they must be (tests/e2e/summary-check.py):
#  1. a scripted sequence: a burst of "yes" that merges into one event, a
#     later "yes" that opens a second one, an ignored label and a low score
#     that make no event but count in the summary, a node that goes silent
#     (one summary, then none), another node's single event;
#  2. kill -9 with an event open and an interval half full, restart, more
#     of the same event: one event with every inference counted, and the
#     interval's summary n equal to what was acknowledged;
#  3. nodesim load with windows (forward_windows) and two kill -9s while
#     it runs: summed n per node equals the stored inferences, every
#     acknowledged one among them, windows forwarded once each;
#  4. raw_retention = 0 (SIGHUP): summarized rows leave the database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
NODESIM=${NODESIM:-$TE_BUILDDIR/tinyedge-nodesim}
CHECK="python3 $TE_SRCDIR/tests/e2e/summary-check.py"
IV=2000
DEB=4000

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
U="coap://127.0.0.1:$COAP_PORT/v1/n"
start_mosquitto "$MQTT_PORT"
conf() {
	write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
		"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" \
		"[store]" "raw_retention = $1" \
		"[summary]" "interval = 2s" "debounce = 4s" "event_min_score = 0.8" \
		"ignore_labels = idle, _silence_" "forward_windows = true"
}
conf 24h
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v \
	-t 'tinyedge/gw-test/events/#' -t 'tinyedge/gw-test/summary/#' \
	-t 'tinyedge/gw-test/windows/#' > "$T/mqtt.txt" 2>/dev/null &
t_track $!
t_ok "daemon starts" start_daemon "$T/d.ini"

# inf NODE SEQ LABEL SCORE: POST one inference, print the response code.
inf() {
	coap_code -m post -t 50 -e "{\"seq\":$2,\"model\":\"m1\",\"label\":\"$3\",\"score\":$4}" "$U/$1/inference"
}

# check NODES: run the checker; one TAP point per line it prints.
check() {
	local line
	$CHECK "$T/data/tinyedge.db" "$T/mqtt.txt" $IV $DEB 0.8 "idle,_silence_" "$1" > "$T/check.out"
	while read -r line; do
		case $line in
		ok\ *) t_ok "${line#ok }" true ;;
		FAIL\ *) t_ok "${line#FAIL }" false ;;
		*) echo "$line" ;;
		esac
	done < "$T/check.out"
}

# settled NODES: the checker passes (every summary and event is in).
settled() { $CHECK "$T/data/tinyedge.db" "$T/mqtt.txt" $IV $DEB 0.8 "idle,_silence_" "$1" > /dev/null; }

# 1. The scripted sequence.
codes=""
codes+=$(inf a 1 yes 0.9)$(inf a 2 yes 0.95)$(inf a 3 yes 0.85)
codes+=$(inf a 4 idle 0.99)$(inf a 5 no 0.5)$(inf b 1 yes 0.81)$(inf c 1 no 0.3)
t_is "scripted inferences acknowledged" "$codes" "2.042.042.042.042.042.042.04"
sleep 5.5
t_is "a repeat after the debounce is acknowledged" "$(inf a 6 yes 0.88)" 2.04
t_ok "events and summaries of the sequence arrive" wait_for 15 settled a,b,c
check a,b,c
ev=$(grep -h '"id":"ev:a:0:1:1"' "$T/mqtt.txt" | head -n 1)
t_ok "the burst is one event: count 3, score 0.95" grep -q '"score":0.95,.*"count":3,' <<<"$ev"
t_ok "a's second event has count 1" grep -q '"id":"ev:a:0:6:1".*"count":1,' "$T/mqtt.txt"
t_is "no event for an ignored label or a low score" "$(grep -c '"label":"idle"\|"label":"no"' <(grep '/events/' "$T/mqtt.txt"))" 0
nc=$(grep -c '/summary/c ' "$T/mqtt.txt")
sleep 4.5
t_is "silent node c: one summary, none for the intervals after" "$(grep -c '/summary/c ' "$T/mqtt.txt")" "$nc"
t_is "node c's one summary counts its one inference" "$(grep -h '/summary/c ' "$T/mqtt.txt" | grep -c '"n":1,')" 1

# 2. kill -9 with an event open and an interval half full.
codes=$(inf k 1 yes 0.9)$(inf k 2 yes 0.97)$(inf k 3 no 0.2)$(inf k 4 yes 0.91)
t_is "k: four inferences acknowledged" "$codes" "2.042.042.042.04"
# k_open: k's open event is in the committed record of open events (the
# store commits once per store.commit_interval).
k_open() {
	test "$(python3 "$TE_SRCDIR/tests/e2e/open-events.py" "$T/data/tinyedge.db" |
		grep -c '^k 1 yes ')" = 1
}
t_ok "the event is open (recorded in the store)" wait_for 5 k_open
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
t_ok "daemon restarts after kill -9" start_daemon "$T/d.ini"
# Recovered either from its state record or, if the kill came before the
# commit, from the journal, whose readings go through the stages again.
t_ok "open event recovered" wait_for 5 k_open
t_is "k: two more of the same event" "$(inf k 5 yes 0.93)$(inf k 6 yes 0.9)" "2.042.04"
t_ok "k's event and summaries arrive" wait_for 20 settled a,b,c,k
check a,b,c,k
t_ok "k's event spans the crash: count 5, score 0.97" grep -q '"id":"ev:k:0:1:1".*"score":0.97,.*"count":5,' "$T/mqtt.txt"
t_is "k's summaries count 6 inferences in all" "$(grep -h '/summary/k ' "$T/mqtt.txt" | sort -u | grep -o '"n":[0-9]*,"labels"' | tr -dc '0-9\n' | awk '{ s += $1 } END { print s }')" 6

# 3. Load, windows and two kill -9s while nodesim runs.
"$NODESIM" --coap "coap://127.0.0.1:$COAP_PORT" --nodes 8 --rate 40 --duration 5 \
	--windows-every 6 --seed 7 --prefix load --acked-log "$T/acked.txt" > "$T/sim.out" &
SIM=$!
t_track $SIM
for pause in 1.2 1.5; do
	sleep "$pause"
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	sleep 0.3
	start_daemon "$T/d.ini" || t_ok "daemon restarts under load" false
done
wait $SIM
echo "# nodesim: $(cat "$T/sim.out")"
acked=$(awk '$4 == "inference"' "$T/acked.txt" | wc -l)
t_ok "nodesim had inferences acknowledged ($acked)" test "$acked" -gt 100
awk '$4 == "inference" { print $1 "|" $2 "|" $3 }' "$T/acked.txt" | sort > "$T/acked.keys"
# all_stored: every acknowledged inference is in the msg table (readings
# replayed from the journal after the last kill commit within a second).
all_stored() {
	db "SELECT node || '|' || boot || '|' || seq FROM msg WHERE kind = 1 AND node LIKE 'load-%'" | sort > "$T/stored.keys"
	[ "$(comm -23 "$T/acked.keys" "$T/stored.keys" | wc -l)" = 0 ]
}
t_ok "every acknowledged inference is stored" wait_for 10 all_stored
t_ok "summaries, events and windows of the load arrive" wait_for 30 settled a,b,c,k
check a,b,c,k

# 4. raw_retention = 0: rows go with the summary that covers them.
conf 0
kill -HUP "$DAEMON_PID"
t_ok "reload with raw_retention = 0" wait_for 5 daemon_log_has "reload: store.raw_retention changed"
inf z 1 no 0.1 > /dev/null
t_ok "summarized rows deleted" wait_for 10 sh -c "[ \$(sqlite3 '$T/data/tinyedge.db' 'SELECT count(*) FROM msg') = 0 ]"
t_ok "z's summary was still sent" wait_for 5 grep -q '/summary/z ' "$T/mqtt.txt"

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
