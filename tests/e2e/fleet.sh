#!/bin/bash
# fleet.sh - a fleet of gateways on one broker (SPEC 15, docs/fleet.md),
# on loopback: 20 tinyedged processes with tiny configs (two sites, each
# gateway its own CoAP port) against one mosquitto with a user per gateway
# (mosquitto_passwd) and the ACL of docs/fleet.md:
#  - the site makes the prefix tinyedge/SITE/ID and the client id the id;
#  - each gateway writes its own prefix only: one configured with another
#    gateway's prefix (MQTT 5) is refused by the broker, says so in its
#    log, and nothing of it appears there;
#  - two consumers on one shared subscription ($share/g/...) together get
#    every event exactly once (each event id at one of them, and all of
#    them: checked against an operator's plain subscription);
#  - MQTT 5: P/metrics expires after two periods and goes under a topic
#    alias;
#  - after a broker restart all 20 reconnect, their attempts spread out
#    by the jittered backoff: the spread (first to last reconnect) is
#    printed and must be over 100 ms.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-mqtt.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v mosquitto_passwd > /dev/null || t_skip_all "mosquitto_passwd not installed"
N=20

MQTT_PORT=$(free_port)
mkdir -p "$T/mq"
# Users: gw-01 .. gw-21 (gw-21 never runs: gw-20 borrows its prefix), a
# consumer and an operator; password = "pw-" + user.
: > "$T/passwd"
for u in $(seq -f 'gw-%02g' 1 21) consumer operator; do
	mosquitto_passwd -b "$T/passwd" "$u" "pw-$u" 2>/dev/null
	printf 'pw-%s\n' "$u" > "$T/pw-$u"
	chmod 600 "$T/pw-$u"
done
# The ACL of docs/fleet.md: a gateway writes the topics of its own prefix
# (its user name is its id, under any site) and reads its P/cmd/#; the
# consumer reads every gateway's data; the operator alone writes P/cmd/#.
cat > "$T/acl" <<'EOF'
user operator
topic readwrite tinyedge/#

user consumer
topic read tinyedge/+/+/events/#
topic read tinyedge/+/+/status

pattern write tinyedge/+/%u/status
pattern write tinyedge/+/%u/metrics
pattern write tinyedge/+/%u/events/#
pattern write tinyedge/+/%u/summary/#
pattern write tinyedge/+/%u/windows/#
pattern write tinyedge/+/%u/nodes/#
pattern write tinyedge/+/%u/results/#
pattern write tinyedge/+/%u/fl/#
pattern write tinyedge/+/%u/senml/#
pattern read tinyedge/+/%u/cmd/#
pattern write homeassistant/+/tinyedge_%u/#
pattern read homeassistant/status
EOF
chmod 600 "$T/passwd" "$T/acl"
BROKER="allow_anonymous false
password_file $T/passwd
acl_file $T/acl
log_type all
persistence true
persistence_location $T/mq/
user $(id -un)"
# lib.sh's start_mosquitto probes anonymously, which this broker refuses:
# the same broker settings, and a probe as the operator.
start_mosquitto_auth() {
	{
		echo "listener $MQTT_PORT 127.0.0.1"
		echo "max_queued_messages 0"
		printf '%s\n' "$BROKER"
	} > "$T/mosquitto.conf"
	mosquitto -c "$T/mosquitto.conf" >> "$T/mosquitto.log" 2>&1 &
	MOSQ_PID=$!
	t_track $MOSQ_PID
	wait_for 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -u operator \
	    -P pw-operator -t tinyedge/probe -m x -q 0
}
start_mosquitto_auth
SUB="-h 127.0.0.1 -p $MQTT_PORT -V mqttv5 -q 1"

# Everything every gateway sends, seen by the operator (reference), and
# the consumers' shared subscription on events.
mosquitto_sub $SUB -u operator -P pw-operator -t 'tinyedge/#' -F '%t %p' \
    > "$T/all.txt" 2>>"$T/sub.err" &
t_track $!
for c in A B; do
	mosquitto_sub $SUB -u consumer -P pw-consumer -i "consumer-$c" \
	    -t '$share/g/tinyedge/+/+/events/#' -F '%t %p' \
	    > "$T/share-$c.txt" 2>>"$T/sub.err" &
	t_track $!
done
# gw-01 speaks MQTT 5: its metrics carry a message expiry.
mosquitto_sub $SUB -u operator -P pw-operator -t tinyedge/site-1/gw-01/metrics \
    -F '%E %t' > "$T/metrics5.txt" 2>>"$T/sub.err" &
t_track $!
sleep 1

# stamp: each daemon's log lines with their time (for the spread).
cat > "$T/stamp.py" <<'EOF'
import sys, time
for line in sys.stdin:
    sys.stdout.write("%.3f %s" % (time.time(), line))
    sys.stdout.flush()
EOF
# gw I: gateway I's config and start; odd ones speak MQTT 5; gateway 20
# borrows gw-21's prefix.
declare -A PORT PID
start_gw() {
	local i=$1 id site proto extra=""
	id=$(printf 'gw-%02d' "$i")
	site=site-$(( (i - 1) % 2 == 0 ? 1 : 2 ))
	proto=$([ $((i % 2)) = 1 ] && echo 5 || echo 3.1.1)
	[ "$i" = 20 ] && { proto=5; extra="topic_prefix = tinyedge/site-2/gw-21"; }
	PORT[$i]=$(free_port udp)
	mkdir -p "$T/gw$i"
	cat > "$T/gw$i.ini" <<-EOF
	[gateway]
	id = $id
	site = $site
	data_dir = $T/gw$i
	[coap]
	listen = 127.0.0.1:${PORT[$i]}
	[mqtt]
	uri = tcp://127.0.0.1:$MQTT_PORT
	username = $id
	password_file = $T/pw-$id
	protocol = $proto
	metrics_interval = 5s
	$extra
	[store]
	commit_interval = 50ms
	[summary]
	debounce = 0
	EOF
	"$TINYEDGED" -c "$T/gw$i.ini" < /dev/null \
	    > >(python3 -u "$T/stamp.py" > "$T/gw$i.log") 2>&1 &
	PID[$i]=$!
	t_track "${PID[$i]}"
}
for i in $(seq 1 $N); do start_gw "$i"; done
connected_all() {
	local i
	for i in $(seq 1 $N); do
		grep -q 'connecting -> connected' "$T/gw$i.log" || return 1
	done
}
t_ok "all $N gateways connect" wait_for 20 connected_all
t_ok "gw-01: client id = gateway id, prefix tinyedge/site-1/gw-01" \
    grep -q 'as gw-01, prefix tinyedge/site-1/gw-01,' "$T/gw1.log"
t_ok "gw-02: site-2" grep -q 'as gw-02, prefix tinyedge/site-2/gw-02,' "$T/gw2.log"

# 1. The borrowed prefix: refused, logged, nothing of it at the broker.
t_ok "gw-20 (gw-21's prefix) says the broker refuses it" \
    wait_for 10 grep -q 'broker refuses our publishes under tinyedge/site-2/gw-21: Not authorized' "$T/gw20.log"
t_ok "the broker logs the denial" grep -q 'Denied PUBLISH from gw-20' "$T/mosquitto.log"

# 2. Events: three nodes per legitimate gateway, two events each.
for i in $(seq 1 $((N - 1))); do
	for n in a b c; do
		for s in 1 2; do
			l=$([ $s = 1 ] && echo yes || echo no)
			"$COAP_CLIENT" -B 3 -m post -t 50 \
			    -e "{\"seq\":$s,\"model\":\"m\",\"label\":\"$l\",\"score\":0.9}" \
			    "coap://127.0.0.1:${PORT[$i]}/v1/n/$n/inference" > /dev/null 2>&1
		done
	done
done
# ev_ids FILES: "topic id" of every event: an event id is unique per
# gateway (and node), so consumers drop duplicates by the pair.
ev_ids() {
	grep -h '/events/' "$@" | sed -n 's/^\([^ ]*\) .*"id":"\([^"]*\)".*/\1 \2/p' | sort
}
ev_count() { [ "$(ev_ids "$T/all.txt" | sort -u | wc -l)" -ge "$1" ]; }
# With debounce 0 each inference's event closes at the next one, or at the
# housekeeping after it: every node gives at least one.
t_ok "events of every node arrive" wait_for 20 ev_count $(((N - 1) * 3))
sleep 2
all=$(ev_ids "$T/all.txt" | sort -u)
shared=$(ev_ids "$T/share-A.txt" "$T/share-B.txt")
t_is "the consumers together got every event" "$(sort -u <<<"$shared")" "$all"
t_is "each exactly once" "$(uniq -d <<<"$shared" | wc -l)" 0
na=$(ev_ids "$T/share-A.txt" | wc -l)
nb=$(ev_ids "$T/share-B.txt" | wc -l)
echo "# events: $(wc -l <<<"$all") in all, consumer A $na, consumer B $nb"
t_ok "both consumers had a share" test "$na" -gt 0 -a "$nb" -gt 0
t_is "no legitimate gateway was denied anything" \
    "$(grep 'Denied PUBLISH' "$T/mosquitto.log" | grep -vc 'from gw-20 ')" 0
t_is "nothing at all under gw-21's prefix" \
    "$(grep -c '^tinyedge/site-2/gw-21/' "$T/all.txt")" 0

# MQTT 5 extras on gw-01: aliases granted, P/metrics expiring after two
# periods (10 s), and still arriving after its topic went as an alias.
t_ok "gw-01 was granted topic aliases" grep -q 'broker grants 10 topic aliases' "$T/gw1.log"
two_metrics() { [ "$(wc -l < "$T/metrics5.txt")" -ge 2 ]; }
t_ok "gw-01's metrics keep arriving (the second under an alias)" wait_for 15 two_metrics
t_is "with a message expiry of 10 s" "$(awk '$1 > 0 && $1 <= 10' "$T/metrics5.txt" | wc -l)" \
    "$(wc -l < "$T/metrics5.txt")"

# 3. A broker restart: every gateway loses it, then comes back on its own
# jittered schedule.
stop_mosquitto
t0=$(date +%s.%N)
lost_all() {
	local i
	for i in $(seq 1 $N); do
		grep -q 'connection to .* lost' "$T/gw$i.log" || return 1
	done
}
t_ok "all $N see the broker go" wait_for 10 lost_all
sleep 3
start_mosquitto_auth
back_all() {
	local i
	for i in $(seq 1 $((N - 1))); do
		[ "$(grep -c 'connecting -> connected' "$T/gw$i.log")" -ge 2 ] || return 1
	done
}
t_ok "all $((N - 1)) legitimate ones reconnect" wait_for 60 back_all
# The time of each gateway's reconnect, and of its first attempt after
# the loss.
# (gw-20 is dropped at every connect: it is not part of the measure.)
for i in $(seq 1 $((N - 1))); do
	awk -v t0="$t0" '$1 > t0 && /connecting -> connected/ { print $1; exit }' "$T/gw$i.log"
done | sort -n > "$T/back.txt"
for i in $(seq 1 $((N - 1))); do
	awk -v t0="$t0" '$1 > t0 && /waiting -> connecting/ { print $1; exit }' "$T/gw$i.log"
done | sort -n > "$T/first.txt"
spread=$(awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%d", (b - a) * 1000 }' "$T/back.txt")
fspread=$(awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%d", (b - a) * 1000 }' "$T/first.txt")
echo "# reconnect spread (first to last reconnect): $spread ms; first retry after the loss spread over $fspread ms"
echo "# reconnects (s after the broker stopped): $(awk -v t0="$t0" '{ printf "%.2f ", $1 - t0 }' "$T/back.txt")"
t_ok "reconnects spread out over more than 100 ms ($spread ms)" test "$spread" -gt 100
t_ok "so are the first retries ($fspread ms)" test "$fspread" -gt 100
# mosquitto 2.0 drops gw-20 right after each refusal: its backoff grows.
t_ok "gw-20 is refused again after the restart" wait_for 20 sh -c \
    "awk -v t0=$t0 '\$1 > t0 && /broker refuses our publishes/' '$T/gw20.log' | grep -q ."
n20=$(grep -c 'connecting -> connected' "$T/gw20.log")
t_ok "and, dropped at every connect, backs off ($n20 connects)" test "$n20" -lt 15
for i in $(seq 1 $N); do kill "${PID[$i]}" 2>/dev/null; done
for i in $(seq 1 $N); do wait_exit "${PID[$i]}" 10; done
t_done
