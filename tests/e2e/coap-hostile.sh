#!/bin/bash
# coap-hostile.sh - hostile nodes against the real daemon's CoAP ingest, on
# loopback: each attack of the security issue replayed with our own raw-UDP
# client (coap-attack.py), openssl s_client and the real coap-client.
# Block1 rules (lone block, Size1 lie, no Size1, over max_body mid-upload,
# interleaved Request-Tags), the bounds on open uploads and their expiry,
# plain UDP for a node with a key and for everyone with require_dtls (with
# the daemon's memory watched through a 4 MB attempt), unknown PSK
# identities (escaped, rate-limited), a key removed by SIGHUP on an open
# session, short keys, idle plain sessions and a ClientHello flood.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v openssl > /dev/null || t_skip_all "openssl not installed"
command -v socat > /dev/null || t_skip_all "socat not installed"

ATTACK="python3 $TE_SRCDIR/tests/e2e/coap-attack.py"
MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
DTLS_PORT=$(free_port udp)
K1=$(psk_hex secret-one-0123456789)
K2=$(psk_hex secret-two-0123456789)
K3=$(psk_hex secret-three-012345678)
start_mosquitto "$MQTT_PORT"
printf '# node keys\nd1 %s\nd2 %s\nd3 %s\n' "$K1" "$K2" "$K3" > "$T/psk"
printf 'd2 %s\nd3 %s\n' "$K2" "$K3" > "$T/psk-no-d1"
chmod 600 "$T/psk" "$T/psk-no-d1"
write_conf "$T/d.ini" "log_level = info" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"dtls_listen = 127.0.0.1:$DTLS_PORT" "psk_file = $T/psk" "max_body = 2K" \
	"max_sessions = 16" "max_handshakes = 32" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT"
# The STATUS= lines (sessions, handshakes, uploads) through a real socket.
socat -u UNIX-RECV:"$T/notify.sock" OPEN:"$T/notify.log",creat,append &
t_track $!
wait_for 5 test -S "$T/notify.sock"
export NOTIFY_SOCKET=$T/notify.sock
t_ok "daemon starts" start_daemon "$T/d.ini"
unset NOTIFY_SOCKET
t_ok "dtls_listen without require_dtls: a warning at start-up" \
	daemon_log_has "dtls_listen is set but require_dtls is false"

A() { $ATTACK --port "$COAP_PORT" "$@"; }
# window SEQ ROWS FILE: a JSON window whose values are SEQ*1000+i.
window() {
	python3 -c "
import json, sys
s, n = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({'seq': s, 'interval_ms': 1, 'sensors': [{'name': 'a'}, {'name': 'b'}],
                  'values': [[s * 1000 + i, -i] for i in range(n)]}))" "$1" "$2" > "$3"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# stored SEQ: the number of rows and the last first value of window SEQ.
stored() { db "select json_array_length(body, '\$.values') || ' ' || json_extract(body, '\$.values[#-1][0]') from msg where node = '${2:-n1}' and seq = $1"; }
stored_is() { [ "$(stored "$1")" = "$2" ]; }

# --- Block1 rules ---------------------------------------------------------
got=$(A msg --block 3,0,5 --payload '{"seq":1}')
t_is "a lone block num 3: 4.08, not a body" "${got%% *}" 4.08
got=$(A msg --block 0,1,5 --size1 5000 --file <(head -c 512 /dev/zero | tr '\0' x))
t_is "Size1 5000 > max_body 2K at the first block: 4.13 with Size1" "$got" "4.13 size1=2048"
got=$(A msg --block 1,1,5 --file <(head -c 512 /dev/zero | tr '\0' x))
t_is "and nothing was kept: the next block is 4.08" "${got%% *}" 4.08

window 1 120 "$T/w1.json"
got=$(A upload --file "$T/w1.json" --szx 5 | cut -d' ' -f1 | tr '\n' ' ')
t_is "a 1.6 KB window by Block1 without Size1: 2.31 x3, 2.04" "$got" "2.31 2.31 2.31 2.04 "
t_ok "and it is stored whole (120 rows, last 1119)" wait_for 5 stored_is 1 "120 1119"

window 2 400 "$T/w2.json"
got=$(A upload --file "$T/w2.json" --szx 5)
t_is "over max_body mid-upload (no Size1): 4.13 at the 5th block" \
	"$(printf '%s\n' "$got" | cut -d' ' -f1,2 | tr '\n' ' ')" \
	"2.31 block1=0/1/512 2.31 block1=1/1/512 2.31 block1=2/1/512 2.31 block1=3/1/512 4.13 size1=2048 "

# Two uploads of one peer to one resource, blocks interleaved, two tags.
window 10 100 "$T/w10.json"
window 11 100 "$T/w11.json"
got=$(A interleave "$T/w10.json" "$T/w11.json" --szx 5 | grep -c ' 2\.04 ')
t_is "two interleaved Request-Tag uploads: both answered 2.04" "$got" 2
t_ok "the first is stored whole, with its own values" wait_for 5 stored_is 10 "100 10099"
t_ok "the second too" wait_for 5 stored_is 11 "100 11099"

# --- plain UDP rules ------------------------------------------------------
got=$(coap_code -m post -t 50 -e '{"seq":1,"model":"m","label":"l","score":0.5}' \
	"coap://127.0.0.1:$COAP_PORT/v1/n/d1/inference")
t_is "a node listed in psk_file posting on the plain listener: 4.01" "$got" 4.01
got=$(A msg --path v1/n/d1/window --block 0,1,6 --size1 4000 --file <(head -c 1024 /dev/zero | tr '\0' x))
t_is "its Block1 upload: 4.01 at the first block" "${got%% *}" 4.01

# --- unknown PSK identities -------------------------------------------------
hostile_id=$'evil\nFAKE: root login\x01'
id_t0=$(date +%s)
for i in $(seq 10); do
	timeout 5 openssl s_client -dtls1_2 -quiet -connect "127.0.0.1:$DTLS_PORT" \
		-psk_identity "$hostile_id" -psk 00112233445566778899aabbccddeeff \
		-cipher PSK < /dev/null > /dev/null 2>&1
done
t_ok "an identity with a newline and a control byte is logged escaped" \
	wait_for 3 daemon_log_has 'unknown identity "evil\\x0aFAKE: root login\\x01"'
t_is "on one line: nothing forged a line of its own" "$(grep -ac '^FAKE' "$T/daemon.log")" 0
# One line per 10 s per address: one line, unless the machine is so slow
# that the 10 attempts took longer than the window.
id_lines=$(daemon_log_count 'unknown identity')
id_most=$((1 + ($(date +%s) - id_t0) / 10))
t_ok "10 refused handshakes: $id_lines line(s), at most $id_most (rate-limited)" \
	test "$id_lines" -ge 1 -a "$id_lines" -le "$id_most"

# --- keys: a short one is an error; a removed one closes open sessions -------
printf 'd1 %s\nd9 %s\n' "$K1" "$(psk_hex short-key)" > "$T/psk-short"
chmod 600 "$T/psk-short"
sed -e "s|^psk_file = .*|psk_file = $T/psk-short|" -e "s|^data_dir = .*|data_dir = $T/data-short|" \
	-e "s|^listen = .*|listen = 127.0.0.1:$(free_port udp)|" \
	-e "s|^dtls_listen = .*|dtls_listen = 127.0.0.1:$(free_port udp)|" "$T/d.ini" > "$T/short.ini"
timeout 10 "$TINYEDGED" -c "$T/short.ini" > "$T/short.log" 2>&1
rc=$?
t_ok "a 9-byte PSK: the daemon does not start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_ok "and says FILE:LINE" grep -q "$T/psk-short:2: key must be 16 to 64 bytes" "$T/short.log"

got=$($ATTACK --port "$DTLS_PORT" dtls --identity d1 --key "$K1" --seq 100 --before 1 --after 1 | tr '\n' ' ')
t_is "one DTLS session carries two requests (the control)" "$got" "before 2.04 after 2.04 "
got=$($ATTACK --port "$DTLS_PORT" dtls --identity d1 --key "$K1" --seq 110 --before 1 --after 1 \
	--hup "$DAEMON_PID" --psk-file "$T/psk" --new-psk "$T/psk-no-d1" | tr '\n' ' ')
t_is "a session of d1 open before the reload works" "${got%% after*}" "before 2.04"
t_ok "a key removed by SIGHUP: its next request is not taken (${got##*after })" \
	test "${got##*after }" != "2.04 "
t_ok "the session is closed and the daemon says why" \
	daemon_log_has "closing the DTLS session of 127.0.0.1: its key was removed or changed"
sleep 1.5
t_is "the request after the reload was not stored" "$(db "select count(*) from msg where node = 'd1' and seq = 111")" 0
t_is "the one before it was" "$(db "select count(*) from msg where node = 'd1' and seq = 110")" 1
t_is "a new handshake with the removed key fails" \
	"$(coap_code -u d1 -k secret-one-0123456789 -m post -t 50 -e '{"seq":120,"model":"m","label":"l","score":0.5}' "coaps://127.0.0.1:$DTLS_PORT/v1/n/d1/inference")" none

# --- idle plain sessions ----------------------------------------------------
rss0=$(rss_kb "$DAEMON_PID")
got=$(A sessions -n 300)
t_ok "300 CoAP pings from 300 source ports are answered ($got)" test "${got##* }" -ge 290
t_ok "reaching coap.max_sessions is logged with the established count" \
	wait_for 3 daemon_log_has "16 established client sessions (16 plain, [0-9]* DTLS; [0-9]* DTLS handshakes not counted): the oldest idle ones are dropped (coap.max_sessions 16)"
sleep 1.5
most=$(grep -ao 'coap [0-9]* sessions' "$T/notify.log" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
t_ok "the sessions in STATUS= never exceed max_sessions ($most <= 16)" test "$most" -le 16 -a "$most" -ge 10
rss1=$(rss_kb "$DAEMON_PID")
t_ok "and the daemon's memory did not grow with them ($rss0 -> $rss1 KB)" test $((rss1 - rss0)) -lt 2048

# --- bounds on open uploads ---------------------------------------------------
# An upload left open from a fixed port, to see it expire later.
IDLE_PORT=$(free_port udp)
t_is "an upload left open after block 1" \
	"$(A --sport "$IDLE_PORT" msg --block 0,1,5 --file <(head -c 512 /dev/zero | tr '\0' x) | cut -d' ' -f1)$(
	A --sport "$IDLE_PORT" msg --block 1,1,5 --file <(head -c 512 /dev/zero | tr '\0' x) | cut -d' ' -f1)" "2.312.31"
opened=$(date +%s)
got=$(A --src 127.0.0.5 open -n 33)
t_is "one host: 32 uploads open at once (BLOCK_PER_PEER)" "$(grep -c '^2\.31' <<<"$got")" 32
t_is "the 33rd is refused with 5.03 and Max-Age" "$(tail -n 1 <<<"$got" | cut -d' ' -f1,3)" "5.03 maxage=30"
t_ok "and the bound is logged" daemon_log_has "upload refused: this address has 32 uploads open (BLOCK_PER_PEER)"
got=$(A --src 127.0.0.6 open -n 31)
t_is "a second host fills the table (64 with the two above)" "$(grep -c '^2\.31' <<<"$got")" 31
got=$(A --src 127.0.0.7 open -n 1)
t_is "a third host: 5.03 and Max-Age (BLOCK_MAX)" "$(cut -d' ' -f1,3 <<<"$got")" "5.03 maxage=30" ||
	grep -a "uploads" "$T/notify.log" | tail -n 3 | sed 's/^/# /' 
t_ok "and that bound is logged" daemon_log_has "upload refused: 64 uploads open (BLOCK_MAX)"
t_ok "STATUS= shows the 64 uploads" wait_for 3 grep -aq "64 uploads" "$T/notify.log"

# --- a ClientHello flood ------------------------------------------------------
got=$($ATTACK --port "$DTLS_PORT" dtls --identity d2 --key "$K2" --seq 200 --before 1 --after 2 --hellos 300)
t_is "a node with an open DTLS session: 2.04 before the flood" "$(sed -n 1p <<<"$got")" "before 2.04"
answered=$(sed -n 2p <<<"$got" | awk '{ print $4 }')
# A few more than max_handshakes (32) get an answer while libcoap reaps
# the sessions at the limit (33-35 seen, more under sanitizers): the
# point is that the 300 are not all answered.
t_ok "300 hellos from 300 ports: about max_handshakes answered ($answered)" test "$answered" -le 40
t_is "the open session still works during the flood" "$(sed -n '3,4p' <<<"$got" | tr '\n' ' ')" "after 2.04 after 2.04 "
# libcoap 4.3.1 frees a hello-stage session only when a newer hello comes and
# the old one is 30 s old (docs/coap.md): a new node waits that long.
flood_end=$(date +%s)
new_ok=none
while [ $(($(date +%s) - flood_end)) -lt 90 ]; do
	new_ok=$(coap_code -u d3 -k secret-three-012345678 -m post -t 50 \
		-e '{"seq":1,"model":"m","label":"l","score":0.5}' "coaps://127.0.0.1:$DTLS_PORT/v1/n/d3/inference")
	[ "$new_ok" = 2.04 ] && break
done
locked=$(($(date +%s) - flood_end))
echo "# a new node got in ${locked} s after the flood stopped"
t_is "a new node gets in after the flood stops" "$new_ok" 2.04
t_ok "within the documented 45 s (took $locked s)" test "$locked" -le 45
t_ok "libcoap's per-hello lines are rate-limited ($(daemon_log_count 'Incomplete session timed out'))" \
	test "$(daemon_log_count 'Incomplete session timed out')" -le $((locked / 10 + 3))

# --- expiry, and the identity log after its window ---------------------------
left=$((opened + 31 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
sleep 1.5
got=$(A --sport "$IDLE_PORT" msg --block 2,1,5 --file <(head -c 512 /dev/zero | tr '\0' x) | cut -d' ' -f1)
t_is "the upload idle for 30 s is gone: its next block is 4.08" "$got" 4.08
got=$(A --src 127.0.0.7 open -n 1 | cut -d' ' -f1)
t_is "and the idle ones gave their slots back" "$got" 2.31
t_ok "STATUS= shows the uploads gone" wait_for 3 grep -aq "coap [0-9]* sessions ([0-9]* DTLS), [0-9]* DTLS handshaking, [01] uploads" "$T/notify.log"
before=$(daemon_log_count 'unknown identity')
timeout 5 openssl s_client -dtls1_2 -quiet -connect "127.0.0.1:$DTLS_PORT" -psk_identity "$hostile_id" \
	-psk 00112233445566778899aabbccddeeff -cipher PSK < /dev/null > /dev/null 2>&1
t_ok "10 s later the next unknown identity is logged" wait_for 3 _t_more_than "$before" 'unknown identity'
# Every refused identity is either logged or counted in a later line:
# 10 + d1's (at least 1) + this one.
held=$(grep -ao '[0-9]* more lines about 127.0.0.1 were not logged' "$T/daemon.log" |
	awk '{ n += $1 } END { print n + 0 }')
seen=$((held + $(daemon_log_count 'unknown identity')))
t_ok "and every refused identity is logged or counted as held back ($seen >= 12)" test "$seen" -ge 12
t_ok "daemon still running" kill -0 "$DAEMON_PID"
stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0

# --- require_dtls: 4 MB over plain UDP, refused at every block --------------
COAP2=$(free_port udp)
DTLS2=$(free_port udp)
write_conf "$T/r.ini" "[coap]" "listen = 127.0.0.1:$COAP2" "dtls_listen = 127.0.0.1:$DTLS2" \
	"psk_file = $T/psk-no-d1" "require_dtls = true" "[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT"
sed -i "s|^data_dir = .*|data_dir = $T/data2|" "$T/r.ini"
t_ok "a daemon with require_dtls starts" start_daemon "$T/r.ini"
t_ok "and does not warn about plain UDP" test "$(daemon_log_count 'require_dtls is false')" -eq 1
rss0=$(rss_kb "$DAEMON_PID")
got=$($ATTACK --port "$COAP2" flood --path v1/n/n7/window --total $((4 << 20)) --size1 $((4 << 20)))
t_is "an unauthenticated 4 MB upload: 4.01 at the first block" "$(sed -n 1p <<<"$got" | cut -d' ' -f1,2)" "first 4.01"
n401=$(sed -n 2p <<<"$got" | grep -o '4\.01=[0-9]*' | cut -d= -f2)
t_ok "and at every later block (${n401:-0} of 4095 answered, all 4.01)" \
	test "$(sed -n 2p <<<"$got" | wc -w)" -eq 2 -a "${n401:-0}" -ge 3000
rss1=$(rss_kb "$DAEMON_PID")
# Under AddressSanitizer freed blocks wait in its quarantine, so RSS grows
# with every request whether or not a body is kept: there the bound only
# catches gross growth (Size1 preallocated many times over); the build
# without sanitizers holds the daemon to 1 MB.
rss_bound=1024
ldd "$TINYEDGED" 2> /dev/null | grep -q libasan && rss_bound=32768
t_ok "the daemon's RSS stayed bounded ($rss0 -> $rss1 KB, bound $rss_bound)" \
	test $((rss1 - rss0)) -lt $rss_bound
t_is "nothing stored" "$(sqlite3 "$T/data2/tinyedge.db" "select count(*) from msg")" 0
stop_daemon
t_is "it stops cleanly" "$EXIT_RC" 0
t_done
