#!/bin/bash
# federated.sh - federated learning of a model's head (SPEC 10) against the
# real daemon, a real mosquitto and the MLPerf Tiny keyword-spotting model:
# the round document and the head (Block2, ETag, base = its sha256),
# updates by Block1 from a raw client (coap-attack.py upload), every
# refusal (4.00, 4.03, 4.04, 4.09, 4.15, 4.05), kill -9 mid-round then the
# round continuing with the acknowledged updates, a round closing at
# target_clients, P/fl/NAME retained at the broker, and the new model
# downloadable as node model NAME (and loaded by the runtime); a second
# section whose deadline passes without min_clients is extended.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v mosquitto > /dev/null || t_skip_all "mosquitto not installed"

MODEL=$TE_MODELS/tflite/kws_ref_model.tflite
[ -f "$MODEL" ] || t_skip_models "no $MODEL"

ATTACK="python3 $TE_SRCDIR/tests/e2e/coap-attack.py"
UPDATE="python3 $TE_SRCDIR/tests/e2e/fl-update.py"
COAP_PORT=$(free_port udp)
MQTT_PORT=$(free_port)
U=coap://127.0.0.1:$COAP_PORT

start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" "log_level = debug" \
	"[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "topic_prefix = te" \
	"[federated:kws]" "model = $MODEL" "nodes = n*" "min_clients = 2" \
	"target_clients = 3" "round_timeout = 10m" \
	"[federated:slow]" "model = $MODEL" "min_clients = 2" "round_timeout = 1s"
t_ok "daemon starts with [federated:kws]" start_daemon "$T/d.ini"

# --- the round and the head ---------------------------------------------
"$COAP_CLIENT" -B 3 "$U/v1/fl/kws" > "$T/doc.json" 2> /dev/null
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/doc.json" "$1"; }
t_is "GET /v1/fl/kws: round 1" "$(field round)" 1
ROWS=$(field rows)
COLS=$(field cols)
BASE=$(field base)
t_ok "the head is ${ROWS}x${COLS}" [ "$ROWS" -gt 0 ] && [ "$COLS" -gt 0 ]
rm -f "$T/head"
"$COAP_CLIENT" -B 5 -o "$T/head" "$U/v1/fl/kws/head" > /dev/null 2>&1
t_is "the head by Block2: 4*(rows*cols+rows) bytes" "$(stat -c %s "$T/head" 2> /dev/null)" $((4 * (ROWS * COLS + ROWS)))
t_is "base is the sha256 of the head" "$(sha256sum "$T/head" | cut -c1-64)" "$BASE"
R=$(coap_resp "$U/v1/fl/kws/head")
ETAG=$(coap_opt ETag "$R")
t_is "the head's ETag is the base's first 8 bytes" "$ETAG" "0x${BASE:0:16}"
t_is "the current ETag: 2.03" "$(coap_code -O "4,$ETAG" "$U/v1/fl/kws/head")" 2.03
t_is "unknown federated name: 4.04" "$(coap_code "$U/v1/fl/nope")" 4.04
t_is "POST to the round document: 4.05" "$(coap_code -m post -e x "$U/v1/fl/kws")" 4.05

# post NODE FILE [NAME] [CF]: upload FILE by Block1 (256-byte blocks); the
# last answer's code.
post() {
	$ATTACK --port "$COAP_PORT" upload --path "v1/n/$1/fl/${3:-kws}" \
		--cf "${4:-42}" --szx 4 --file "$2" 2> /dev/null | tail -n 1 | cut -d' ' -f1
}

# --- refusals -----------------------------------------------------------
$UPDATE "$T/doc.json" "$T/u.ok" --samples 10 --delta 0.01
$UPDATE "$T/doc.json" "$T/u.round" --round-add 1
$UPDATE "$T/doc.json" "$T/u.base" --bad-base
$UPDATE "$T/doc.json" "$T/u.cut" --cut 4
$UPDATE "$T/doc.json" "$T/u.zero" --samples 0
$UPDATE "$T/doc.json" "$T/u.nan" --nan
t_is "a node outside nodes: 4.03" "$(post x1 "$T/u.ok")" 4.03
t_is "another round: 4.09" "$(post n1 "$T/u.round")" 4.09
t_is "another base: 4.09" "$(post n1 "$T/u.base")" 4.09
t_is "a wrong length: 4.00" "$(post n1 "$T/u.cut")" 4.00
t_is "samples 0: 4.00" "$(post n1 "$T/u.zero")" 4.00
t_is "a NaN: 4.00" "$(post n1 "$T/u.nan")" 4.00
t_is "an unknown name: 4.04" "$(post n1 "$T/u.ok" nope)" 4.04
t_is "content-format 50: 4.15" "$(post n1 "$T/u.ok" kws 50)" 4.15
t_is "GET of the update resource: 4.05" "$(coap_code "$U/v1/n/n1/fl/kws")" 4.05

# --- a deadline without min_clients extends the round ----------------------
t_is "slow: one update: 2.04" "$(post n1 "$T/u.ok" slow)" 2.04
extended() { daemon_log_has "fl slow: round 1 has 1 of 2 updates at its deadline: extended"; }
t_ok "slow: the deadline without min_clients extends round 1" wait_for 5 extended

# --- updates, kill -9, the round continues --------------------------------
t_is "n1's update: 2.04" "$(post n1 "$T/u.ok")" 2.04
t_is "n1 again (replaces its first): 2.04" "$(post n1 "$T/u.ok")" 2.04
t_is "n2's update: 2.04" "$(post n2 "$T/u.ok")" 2.04
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
t_ok "daemon restarts after kill -9" start_daemon "$T/d.ini"
t_ok "round 1 continues with both acknowledged updates" \
	daemon_log_has "fl kws: round 1 continues with 2 updates"
"$COAP_CLIENT" -B 3 "$U/v1/fl/kws" > "$T/doc.json" 2> /dev/null
t_is "still round 1 after the restart" "$(field round)" 1

# --- the close, seen by an observer -----------------------------------------
"$COAP_CLIENT" -v 6 -B 15 -s 12 "$U/v1/fl/kws" > "$T/obs.out" 2>&1 &
OBS_PID=$!
t_track $OBS_PID
registered() { grep -a ' c:2.05 ' "$T/obs.out" | grep -q 'Observe:'; }
t_ok "GET /v1/fl/kws with Observe: registered" wait_for 5 registered
t_is "n3's update (target_clients 3): 2.04" "$(post n3 "$T/u.ok")" 2.04
notified() { grep -a ' c:2.05 ' "$T/obs.out" | grep -q '"round":2'; }
t_ok "the observer is notified of round 2" wait_for 10 notified
kill "$OBS_PID" 2> /dev/null
# A round's GET admits no node: its observers have a bound per address
# (8), so new source ports cannot crowd out nodes' settings observers.
fl_observers() {
	python3 - "$TE_SRCDIR/tests/e2e" "$COAP_PORT" <<'PY'
import importlib.util, os, socket, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("ca", os.path.join(sys.argv[1], "coap-attack.py"))
ca = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ca)
got = 0
socks = []
for i in range(12):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    socks.append(s)
    msg = ca.encode(0, 1, 0x5000 + i, bytes([i, 7]),
                    [(6, b""), (11, b"v1"), (11, b"fl"), (11, b"kws")])
    s.sendto(msg, ("127.0.0.1", int(sys.argv[2])))
    try:
        d = ca.decode(s.recv(2048))
    except socket.timeout:
        continue
    if d and d[1] == "2.05" and 6 in d[4]:
        got += 1
print(got)
PY
}
# (7 when the coap-client observer above is still registered.)
n=$(fl_observers)
t_ok "round observers from one address: at most 8 of 12 registered ($n)" \
    test "$n" -ge 7 -a "$n" -le 8
round2() {
	"$COAP_CLIENT" -B 3 "$U/v1/fl/kws" > "$T/doc.json" 2> /dev/null &&
		[ "$(field round)" = 2 ]
}
t_ok "round 2 opens" wait_for 10 round2
t_ok "with a new base" [ "$(field base)" != "$BASE" ]
t_is "n1's round-1 update is stale now: 4.09" "$(post n1 "$T/u.ok")" 4.09
retained() {
	timeout 3 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t te/fl/kws \
		-C 1 -W 2 > "$T/pfl.json" 2> /dev/null && [ -s "$T/pfl.json" ]
}
t_ok "P/fl/kws is retained at the broker" wait_for 10 retained
pfl() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/pfl.json" "$1"; }
t_is "P/fl/kws: round 2" "$(pfl round)" 2
t_is "P/fl/kws: 3 clients" "$(pfl clients)" 3
t_is "P/fl/kws: 30 samples" "$(pfl samples)" 30
t_is "P/fl/kws: base of round 2" "$(pfl base)" "$(field base)"
t_is "P/fl/kws: applied" "$(pfl outcome)" applied
t_ok "the new model is in data_dir/fl" [ -s "$T/data/fl/kws.tflite" ]
INFER=$TE_BUILDDIR/tinyedge-infer
if [ -x "$INFER" ]; then
	t_ok "the runtime loads the new model" \
		"$INFER" "$T/data/fl/kws.tflite" --bench 1
fi
modelr2() {
	rm -f "$T/m.tflite"
	"$COAP_CLIENT" -B 10 -o "$T/m.tflite" "$U/v1/models/kws?v=r2" > /dev/null 2>&1 &&
		cmp -s "$T/m.tflite" "$T/data/fl/kws.tflite"
}
t_ok "node model kws@r2 downloads, the new model" wait_for 10 modelr2
rm -f "$T/head"
"$COAP_CLIENT" -B 5 -o "$T/head" "$U/v1/fl/kws/head" > /dev/null 2>&1
t_is "the new head's sha256 is the new base" "$(sha256sum "$T/head" | cut -c1-64)" "$(field base)"

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
