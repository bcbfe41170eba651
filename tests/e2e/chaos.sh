#!/bin/bash
# chaos.sh - the whole system under failure (issue 9).  20 CoAP nodes (14
# plain, 6 DTLS-PSK) and 2 serial links (lines and COBS, socat pty pairs)
# stream through tinyedge-nodesim for about 28 s while, at seeded random
# moments, the broker is stopped and restarted, the daemon is killed with
# SIGKILL three times (and restarted on the same store), and the COBS link
# is unplugged and plugged back.  Then everything is back, the outbox
# drains, and what one subscriber saw is checked against nodesim's
# acknowledged lists and the store:
#  - zero loss: every acknowledged CoAP inference arrived as its event
#    ([summary] event_min_score = 0, no ignored labels, debounce = 0 make
#    each stored inference exactly one event "ev:NODE:BOOT:SEQ:1"), and
#    every stored inference too, acknowledged or not;
#  - serial has no acknowledgement: what the daemon stored (the msg table)
#    was written by nodesim and is delivered; frames read but not yet
#    committed at a SIGKILL are lost by nature and only counted;
#  - duplicates only as identical copies of one id; per node the first
#    arrivals follow store order, except where the uplink lets live rows
#    overtake a backlog after a (re)connect (why not (boot, seq) order:
#    see "Order" in lib-chaos.sh; that count is printed);
#  - P/metrics agrees with the store, per daemon run;
#  - per-interval summaries add up to the stored inferences, exactly once
#    (skipped while the daemon publishes no P/summary at all).
# The seed is printed; CHAOS_SEED=N repeats a schedule (timing still
# varies).  TE_SLOW=N stretches the timeouts (an ASan build sets 3).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-chaos.sh"
[ "${TE_SKIP_SLOW:-0}" = 1 ] && t_skip_all "slow test (TE_SKIP_SLOW=1)"

SEED=${CHAOS_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
RANDOM=$SEED
echo "# seed $SEED (CHAOS_SEED=$SEED repeats this schedule)"
F=${TE_SLOW:-1}
if [ -z "${TE_SLOW:-}" ] && ldd "$TINYEDGED" 2> /dev/null | grep -q libasan; then
	F=3
fi
D=28		# seconds of traffic
IV_MS=2000	# [summary] interval

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
DTLS_PORT=$(free_port udp)
: > "$T/psk"
for i in 0 1 2 3 4 5; do
	echo "dt-00$i $(psk_hex "chaos-key-0123456789-$i-$SEED")" >> "$T/psk"
done
chmod 600 "$T/psk"
write_conf "$T/d.ini" "log_level = info" \
	"[coap]" "listen = 127.0.0.1:$COAP_PORT" "dtls_listen = 127.0.0.1:$DTLS_PORT" \
	"psk_file = $T/psk" \
	"[serial:s0]" "device = $T/b0" "framing = lines" \
	"[serial:s1]" "device = $T/b1" "framing = cobs" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s" \
	"[store]" "raw_retention = 1h" \
	"[summary]" "interval = 2s" "event_min_score = 0" "ignore_labels =" \
	"debounce = 0"
: > "$T/runs"

t_or_bail "broker up (persistent sessions)" chaos_broker
t_or_bail "subscriber up" chaos_sub
two_ptys() { start_pty a0 b0 && S0_PID=$SOCAT_PID && start_pty a1 b1 && S1_PID=$SOCAT_PID; }
t_or_bail "serial pty pairs up" two_ptys
t_or_bail "daemon starts" run_start

# Traffic: acknowledged (CoAP) or written (serial) lists in $T/acked-*.
DTLS_NODES=dt-
SERIAL_ACKED="$T/acked-sl $T/acked-sc $T/acked-sd"
NSIM=0
sim() {	# sim NAME ARGS...: a nodesim in the background, pid in SIM_NAME
	NSIM=$((NSIM + 1))
	"$NODESIM" "${@:2}" --seed $((SEED * 10 + NSIM)) --acked-log "$T/acked-$1" \
	    > "$T/sim-$1.out" 2> "$T/sim-$1.err" &
	t_track $!
	eval "SIM_$1=$!"
}
T0=$(now_ms)
sim cp --coap "coap://127.0.0.1:$COAP_PORT" --nodes 14 --prefix cp --rate 4 \
	--windows-every 6 --duration $D
# The DTLS nodes run as successive nodesim processes of up to 6 s, each a
# fresh handshake (a node rebooting, with a new boot id): nodesim's libcoap
# client never recovers a session whose handshake hit the dead daemon (see
# lib-chaos.sh), and one such stall would silence a node for the rest.
dtls_nodes() {
	local i=0 left
	for seed in $(dtls_seeds $((SEED * 100)) 12 6); do
		left=$(( (T0 + D * 1000 - $(now_ms)) / 1000 ))
		[ "$left" -ge 1 ] || break
		i=$((i + 1))
		"$NODESIM" --coap "coaps://127.0.0.1:$DTLS_PORT" --psk "$T/psk" --nodes 6 \
		    --rate 4 --windows-every 6 --duration $((left < 6 ? left : 6)) \
		    --seed "$seed" --acked-log "$T/acked-dt-$i" >> "$T/sim-dt.out" 2>> "$T/sim-dt.err"
	done
}
dtls_nodes &
SIM_dt=$!
t_track $SIM_dt
sim sl --serial "$T/a0" --framing lines --nodes 2 --prefix sl --rate 5 \
	--windows-every 8 --duration $D
sim sc --serial "$T/a1" --framing cobs --nodes 2 --prefix sc --rate 5 \
	--windows-every 8 --duration $D

# The seeded schedule: "MS ACTION", ms after T0.  Three kills, each
# followed by a restart 0.3-1.8 s later and at least 2 s of service; a
# broker outage of 2.5-6 s; an unplug of 1.5-4 s.  All is back by ~23 s,
# leaving the last run at least 5 s of traffic.
{
	rnd 2000 5000; k=$R
	for n in 1 2 3; do
		echo "$k kill $n"
		rnd 300 1800; k=$((k + R))
		echo "$k restart $n"
		rnd 2000 6000; k=$((k + R))
	done
	rnd 3000 10000; b=$R
	echo "$b broker-stop"
	rnd 2500 6000; echo "$((b + R)) broker-start"
	rnd 3000 15000; u=$R
	echo "$u unplug"
	rnd 1500 4000; echo "$((u + R)) replug"
} | sort -n > "$T/schedule"
sed 's/^/# schedule: /' "$T/schedule"

LAST_RESTART=0
UNPLUG_AT=0
while read -r at what n; do
	wait=$((T0 + at - $(now_ms)))
	[ "$wait" -gt 0 ] && sleep "$(printf '%d.%03d' $((wait / 1000)) $((wait % 1000)))"
	echo "# t=$(( ($(now_ms) - T0) / 100 ))ds $what ${n:-}"
	case $what in
	kill)
		kill -9 "$DAEMON_PID"
		wait "$DAEMON_PID" 2> /dev/null
		run_end
		;;
	restart)
		t_ok "restart $n after kill -9" run_start
		LAST_RESTART=$(now_ms)
		;;
	broker-stop)	# SIGTERM: mosquitto saves its sessions
		kill "$MOSQ_PID"
		wait_exit "$MOSQ_PID" 5
		;;
	broker-start)
		t_ok "broker back" chaos_broker
		;;
	unplug)
		unplug_pty "$S1_PID"
		UNPLUG_AT=$(now_ms)
		;;
	replug)
		t_ok "serial link s1 plugged back" start_pty a1 b1
		S1_PID=$SOCAT_PID
		left=$(( (T0 + D * 1000 - $(now_ms)) / 1000 ))
		sim sd --serial "$T/a1" --framing cobs --nodes 2 --prefix sd --rate 5 \
		    --windows-every 8 --duration $((left > 2 ? left : 2))
		;;
	esac
done < "$T/schedule"
# The COBS link's first nodes stop at the unplug; when that came before the
# last restart, they have nothing to say to the last run.
[ "$UNPLUG_AT" -lt "$LAST_RESTART" ] && OPTIONAL_NODES="sc-"

# Everything is back: wait for the senders, then for the last summary
# interval to close and the outbox to drain.
for s in cp dt sl sd; do
	eval "pid=\$SIM_$s"
	wait_exit "$pid" $((D + 15 * F))
	echo "# nodesim $s: $(tr '\n' ' ' < "$T/sim-$s.out")(exit $EXIT_RC)"
done
wait_exit "$SIM_sc" 5
echo "# nodesim sc (unplugged): $(cat "$T/sim-sc.out") (exit $EXIT_RC)"
t_ok "the serial lines link never stalled" grep -q 'failed=0 ' "$T/sim-sl.out"
t_ok "the replugged link took all it was given" grep -q 'failed=0 ' "$T/sim-sd.out"
COAP_ACKED="$T/acked-cp $(echo "$T"/acked-dt-*)"
QUIET=$(now_ms)
t_ok "every stored inference delivered as an event" poll $((20 * F)) 0.5 all_delivered
CLOSE=$(( (QUIET / IV_MS + 1) * IV_MS ))
t_ok "outbox drained after the last interval closed" \
	poll $((15 * F)) 0.5 drained $((CLOSE + 1000))
t_ok "summaries complete" poll $((10 * F)) 1 summaries_complete
stop_daemon
t_is "clean stop at the end" "$EXIT_RC" 0
run_end
stop_sub

while IFS=$'\t' read -r kind a b c d; do
	case $kind in
	is) t_is "$a" "$b" "$c" ;;
	skip) t_skip "$a" "$b" ;;
	diag) echo "# $a" ;;
	counts) echo "# counts: acked=$a delivered=$b duplicates=$c lost=$d" ;;
	*) echo "# analysis: $kind $a $b $c $d" ;;
	esac
done < <(chaos_analyze)
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
echo "# seed $SEED, $(( ($(now_ms) - T0) / 1000 )) s of chaos and checks"
t_done
