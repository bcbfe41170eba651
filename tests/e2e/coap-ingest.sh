#!/bin/bash
# coap-ingest.sh - CoAP ingest against the real daemon, with the real
# coap-client and mosquitto: a table of requests and their response codes,
# duplicates, a Block1 window, DTLS-PSK (right key, wrong key, unknown
# identity, foreign node path, require_dtls, key reload) and a port in use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
DTLS_PORT=$(free_port udp)
start_mosquitto "$MQTT_PORT"
printf '# node keys\nd1 %s\nd2 %s\n' "$(psk_hex secret-one-0123456789)" "$(psk_hex secret-two-0123456789)" > "$T/psk"
chmod 600 "$T/psk"
write_conf "$T/d.ini" "log_level = debug" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"dtls_listen = 127.0.0.1:$DTLS_PORT" "psk_file = $T/psk" "max_body = 8K" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT"
t_ok "daemon starts with plain and DTLS listeners" start_daemon "$T/d.ini"

U=coap://127.0.0.1:$COAP_PORT/v1/n
INF='{"seq":1,"model":"kws","label":"yes","score":0.9}'
WIN='{"seq":7,"interval_ms":10,"sensors":[{"name":"x"},{"name":"y"}],"values":[[1,2],[3,4]]}'
LONG=$(printf 'a%.0s' $(seq 65))
# A binary window: int16, 2 axes, 3 frames (32 bytes).
python3 - "$T" <<'PY'
import struct, sys
t = sys.argv[1]
good = b'TW' + bytes([1, 2, 2, 0]) + struct.pack('<HIIf', 3, 9, 10000, 0.01) + struct.pack('<6h', *range(6))
open(t + '/win.bin', 'wb').write(good)
open(t + '/win-trunc.bin', 'wb').write(good[:-1])
open(t + '/win-magic.bin', 'wb').write(b'XW' + good[2:])
open(t + '/win-axes0.bin', 'wb').write(good[:4] + b'\x00' + good[5:])
open(t + '/win-frames.bin', 'wb').write(good[:6] + struct.pack('<H', 4) + good[8:])
open(t + '/big.bin', 'wb').write(b'{"seq":1,"pad":"' + b'x' * 9000 + b'"}')
PY

# code | method | content-format ("-" none) | path | body (@file or text)
table() {
	cat <<ROWS
2.04|post|50|n1/inference|$INF
2.04|post|-|n1/inference|{"seq":2,"model":"kws","label":"no","score":0.1}
2.04|post|50|n.1-a_B/inference|{"seq":3,"boot":7,"ts":1732450000123,"model":"m","label":"l","score":0,"scores":{"l":0},"latency_us":5,"window":77}
2.04|post|50|n1/window|$WIN
2.04|post|42|n1/window|@win.bin
2.04|post|50|n1/heartbeat|{"battery":3.7}
2.04|post|-|n1/heartbeat|
4.00|post|50|n1/inference|{"seq":1,"model":"m","label":"l"
4.00|post|50|n1/inference|[1,2,3]
4.00|post|50|n1/inference|{"seq":"1","model":"m","label":"l","score":0.5}
4.00|post|50|n1/inference|{"seq":-1,"model":"m","label":"l","score":0.5}
4.00|post|50|n1/inference|{"seq":1.5,"model":"m","label":"l","score":0.5}
4.00|post|50|n1/inference|{"model":"m","label":"l","score":0.5}
4.00|post|50|n1/inference|{"seq":1,"label":"l","score":0.5}
4.00|post|50|n1/inference|{"seq":1,"model":"m","score":0.5}
4.00|post|50|n1/inference|{"seq":1,"model":"m","label":"l"}
4.00|post|50|n1/inference|{"seq":1,"model":"m","label":"l","score":1.5}
4.00|post|50|n1/inference|{"seq":1,"model":"m","label":"l","score":"high"}
4.00|post|50|n1/inference|
4.00|post|50|$LONG/inference|$INF
4.00|post|50|bad!node/inference|$INF
4.00|post|50|n1/window|{"seq":7,"interval_ms":10,"sensors":[{"name":"x"},{"name":"y"}],"values":[[1,2],[3]]}
4.00|post|50|n1/window|{"seq":7,"sensors":[{"name":"x"}],"values":[[1]]}
4.00|post|42|n1/window|@win-trunc.bin
4.00|post|42|n1/window|@win-magic.bin
4.00|post|42|n1/window|@win-axes0.bin
4.00|post|42|n1/window|@win-frames.bin
4.00|post|50|n1/heartbeat|not json
4.15|post|0|n1/inference|$INF
4.15|post|42|n1/inference|$INF
4.15|post|41|n1/window|$WIN
4.13|post|50|n1/heartbeat|@big.bin
4.05|get|-|n1/inference|
4.05|delete|-|n1/window|
4.04|post|50|n1/reading|$INF
4.04|post|50|v2/n1/inference|$INF
4.04|get|-|nothing/here|
ROWS
}

rows=0
while IFS='|' read -r want method cf path body; do
	rows=$((rows + 1))
	args=(-m "$method")
	[ "$cf" != - ] && args+=(-t "$cf")
	case $body in
	@*) args+=(-f "$T/${body#@}") ;;
	"") ;;
	*) args+=(-e "$body") ;;
	esac
	url=$U/$path
	[ "${path#v2/}" != "$path" ] || [ "${path#nothing}" != "$path" ] && url=coap://127.0.0.1:$COAP_PORT/$path
	got=$(coap_code "${args[@]}" "$url")
	t_is "row $rows: $method ct=$cf /$path -> $want" "$got" "$want"
done < <(table)
t_ok "the table has at least 30 requests ($rows)" test "$rows" -ge 30
t_ok "a 4.00 carries a diagnostic naming the field" sh -c \
	"'$COAP_CLIENT' -B 3 -m post -t 50 -e '{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":2}' $U/n1/inference 2>&1 | grep -q 'score: must be a number in \[0,1\]'"
t_ok "daemon still serves after the table" test "$(coap_code -m post -t 50 -e '{"seq":99,"model":"m","label":"l","score":0.5}' "$U/n1/inference")" = 2.04
t_ok "daemon still running" kill -0 "$DAEMON_PID"

# /.well-known/core lists the three resources.
wk=$("$COAP_CLIENT" -B 3 -m get "coap://127.0.0.1:$COAP_PORT/.well-known/core" 2>/dev/null)
for r in inference window heartbeat; do
	t_ok "/.well-known/core lists $r" grep -q "</v1/n/{node}/$r>" <<<"$wk"
done

# Duplicates: acknowledged, stored once.
before=$(db "select count(*) from msg")
t_is "repeat of (n1, boot 0, seq 1) is acknowledged" "$(coap_code -m post -t 50 -e "$INF" "$U/n1/inference")" 2.04
t_is "and stored once" "$(db "select count(*) from msg")" "$before"
t_is "same seq with another boot is new" "$(coap_code -m post -t 50 -e '{"seq":1,"boot":2,"model":"m","label":"l","score":0.5}' "$U/n1/inference")" 2.04
t_is "and stored" "$(db "select count(*) from msg")" "$((before + 1))"

# A binary window's boot comes from the query (its header has none): the
# same seq after a reboot is new data, not a duplicate.
before=$(db "select count(*) from msg")
t_is "binary window seq 1, boot=7" "$(coap_code -m post -t 42 -f "$T/win.bin" "$U/n5/window?boot=7")" 2.04
t_is "same seq, boot=8: acknowledged" "$(coap_code -m post -t 42 -f "$T/win.bin" "$U/n5/window?boot=8")" 2.04
t_is "and stored as new" "$(db "select group_concat(boot) from msg where node = 'n5' and kind = 2")" "7,8"
t_is "a query other than boot=N gets 4.00" "$(coap_code -m post -t 42 -f "$T/win.bin" "$U/n5/window?boot=x")" 4.00

# A 20 KB window by Block1 arrives whole (max_body 8K applies to it too, so
# use a second daemon below with the default 64K).
python3 -c "
import json
print(json.dumps({'seq': 500, 'interval_ms': 1, 'sensors': [{'name': 'a'}, {'name': 'b'}, {'name': 'c'}],
                  'values': [[i * 0.001, -i * 0.002, 9.81] for i in range(900)]}))" > "$T/w20k.json"
size=$(stat -c %s "$T/w20k.json")
t_ok "the window is over 20 KB ($size bytes)" test "$size" -gt 20000

# Plain port with require_dtls: 4.01.  Also: a port in use is exit 3.
COAP2=$(free_port udp)
DTLS2=$(free_port udp)
write_conf "$T/r.ini" "[coap]" "listen = 127.0.0.1:$COAP2" "dtls_listen = 127.0.0.1:$DTLS2" \
	"psk_file = $T/psk" "require_dtls = true" "[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT"
sed -i "s|^data_dir = .*|data_dir = $T/data2|" "$T/r.ini"
"$TINYEDGED" -c "$T/r.ini" >> "$T/daemon2.log" 2>&1 &
D2=$!
t_track $D2
t_ok "second daemon starts" wait_for 10 grep -q "started, gateway" "$T/daemon2.log"
t_is "require_dtls: plain POST gets 4.01" "$(coap_code -m post -t 50 -e "$INF" "coap://127.0.0.1:$COAP2/v1/n/n1/inference")" 4.01
t_is "require_dtls: DTLS POST gets 2.04" "$(coap_code -u d1 -k secret-one-0123456789 -m post -t 50 -e "$INF" "coaps://127.0.0.1:$DTLS2/v1/n/d1/inference")" 2.04
t_is "20 KB window by Block1: 2.04" "$(coap_code -b 1024 -u d1 -k secret-one-0123456789 -m post -t 50 -f "$T/w20k.json" "coaps://127.0.0.1:$DTLS2/v1/n/d1/window")" 2.04
store_settle
t_is "and it arrived whole (900 rows)" \
	"$(sqlite3 "$T/data2/tinyedge.db" "select json_array_length(body, '$.values') from msg where seq = 500")" 900
t_is "with its last value intact" \
	"$(sqlite3 "$T/data2/tinyedge.db" "select json_extract(body, '$.values[899][1]') from msg where seq = 500")" "-1.798"
sed "s|^data_dir = .*|data_dir = $T/data3|" "$T/d.ini" > "$T/inuse.ini"
timeout 10 "$TINYEDGED" -c "$T/inuse.ini" > "$T/inuse.log" 2>&1
t_is "a CoAP port in use: exit 3" "$?" 3
t_ok "with a one-line reason naming the listener" grep -q "cannot start: coap.listen 127.0.0.1:$COAP_PORT: cannot listen" "$T/inuse.log"
kill -TERM $D2

# DTLS on the first daemon.
D=coaps://127.0.0.1:$DTLS_PORT/v1/n
t_is "DTLS right key: 2.04" "$(coap_code -u d1 -k secret-one-0123456789 -m post -t 50 -e '{"seq":10,"model":"m","label":"l","score":0.5}' "$D/d1/inference")" 2.04
t_is "DTLS wrong key: no response" "$(coap_code -u d1 -k wrong-key -m post -t 50 -e "$INF" "$D/d1/inference")" none
t_is "DTLS unknown identity: no response" "$(coap_code -u n9 -k secret-one-0123456789 -m post -t 50 -e "$INF" "$D/n9/inference")" none
t_ok "unknown identity is logged" wait_for 3 daemon_log_has 'unknown identity "n9"'
t_is "identity d1 posting as d2: 4.01" "$(coap_code -u d1 -k secret-one-0123456789 -m post -t 50 -e "$INF" "$D/d2/inference")" 4.01
t_is "d3 unknown before reload" "$(coap_code -u d3 -k secret-three-012345678 -m post -t 50 -e "$INF" "$D/d3/inference")" none
printf 'd3 %s\n' "$(psk_hex secret-three-012345678)" >> "$T/psk"
kill -HUP "$DAEMON_PID"
t_ok "reload reads the new key file" wait_for 5 daemon_log_has "3 node keys from"
t_is "d3 accepted after SIGHUP" "$(coap_code -u d3 -k secret-three-012345678 -m post -t 50 -e "$INF" "$D/d3/inference")" 2.04
echo "n4 nothex" >> "$T/psk"
kill -HUP "$DAEMON_PID"
t_ok "a bad key file is rejected with FILE:LINE" wait_for 5 daemon_log_has "psk:5: key must be"
t_is "and the old keys keep working" "$(coap_code -u d2 -k secret-two-0123456789 -m post -t 50 -e "$INF" "$D/d2/inference")" 2.04

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
