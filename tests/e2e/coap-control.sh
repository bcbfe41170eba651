#!/bin/bash
# coap-control.sh - the CoAP side of the node control plane (SPEC 9.1,
# 9.3) against the real daemon, with the real coap-client: a node's
# settings from [node:GLOB] sections (later ones win), ETag revalidation,
# Observe (a notification within 1 s of a SIGHUP that changes them, and the
# deregistration), model download by Block2 (bytes, ETag, Size2, resume at
# a block, a block past the end, unknown name or version), require_dtls on
# the plain listener and DTLS identities; then the observer bounds with a
# raw client (coap-observe.py): per node, in all, cancel, RST.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"

OBSERVE="python3 $TE_SRCDIR/tests/e2e/coap-observe.py"
ATTACK="python3 $TE_SRCDIR/tests/e2e/coap-attack.py"
COAP_PORT=$(free_port udp)
U=coap://127.0.0.1:$COAP_PORT

# A model of 5000 bytes (5 blocks of 1024), stored before the start.
mkdir -p "$T/data/models/kws"
head -c 5000 /dev/urandom > "$T/data/models/kws/1"
SHA=$(sha256sum "$T/data/models/kws/1" | cut -c1-64)

# conf MIN_SCORE [FILE [WINDOW]]: the config (or FILE, to copy in later),
# with n1's min_score and every node's send_window (default unsure).
conf() {
	write_conf "${2:-$T/d.ini}" "log_level = debug" "max_nodes = 3000" \
		"new_nodes_per_minute = 0" \
		"[coap]" "listen = 127.0.0.1:$COAP_PORT" "max_sessions = 8" \
		"[node:*]" "send_window = ${3:-unsure}" "min_score = 0.5" \
		"[node:n1]" "min_score = $1"
}
conf 0.8
t_ok "daemon starts with [node:*], [node:n1] and a model" start_daemon "$T/d.ini"

# --- settings ---------------------------------------------------------
R=$(coap_resp "$U/v1/n/n1/config")
t_is "GET config: 2.05" "$(printf '%s' "$R" | grep -o ' c:[0-9.]* ' | tr -d ' c:')" 2.05
t_is "GET config: content-format 50" "$(coap_opt Content-Format "$R")" application/json
BODY=$("$COAP_CLIENT" -B 3 "$U/v1/n/n1/config" 2> /dev/null)
REV=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rev"])' 2> /dev/null)
t_ok "body has a numeric rev ($REV)" [ -n "$REV" ]
t_is "[node:n1] wins over [node:*]" "$(printf '%s' "$BODY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["min_score"], d["send_window"])')" "0.8 unsure"
ETAG=$(coap_opt ETag "$R")
t_is "ETag is the rev, 4 bytes" "$ETAG" "$(printf '0x%08x' "$REV")"
t_is "n2 gets [node:*] only" "$("$COAP_CLIENT" -B 3 "$U/v1/n/n2/config" 2> /dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["min_score"], d["send_window"])')" "0.5 unsure"
t_is "the current ETag: 2.03" "$(coap_code -O "4,$ETAG" "$U/v1/n/n1/config")" 2.03
R=$(coap_resp -O "4,$ETAG" "$U/v1/n/n1/config")
t_is "2.03 carries the ETag" "$(coap_opt ETag "$R")" "$ETAG"
t_is "an old ETag: 2.05" "$(coap_code -O 4,0x7fffffff "$U/v1/n/n1/config")" 2.05
t_is "POST config: 4.05" "$(coap_code -m post -t 50 -e '{}' "$U/v1/n/n1/config")" 4.05
t_is "PUT config: 4.05" "$(coap_code -m put -t 50 -e '{}' "$U/v1/n/n1/config")" 4.05
t_is "DELETE config: 4.05" "$(coap_code -m delete "$U/v1/n/n1/config")" 4.05
t_is "FETCH config: 4.05" "$(coap_code -m fetch -t 50 -e '{}' "$U/v1/n/n1/config")" 4.05
t_is "iPATCH model: 4.05" "$(coap_code -m ipatch -e x "$U/v1/models/kws")" 4.05
t_is "FETCH of an unknown path: 4.04" "$(coap_code -m fetch -e x "$U/v1/nothing")" 4.04
t_is "bad node id: 4.00" "$(coap_code "$U/v1/n/bad%21/config")" 4.00
t_is "GET inference: 4.05" "$(coap_code "$U/v1/n/n1/inference")" 4.05

# --- Observe with the real coap-client --------------------------------
"$COAP_CLIENT" -v 6 -B 3 -s 4 "$U/v1/n/n1/config" > "$T/obs.out" 2>&1 &
OBS_PID=$!
t_track $OBS_PID
registered() { grep -a ' c:2.05 ' "$T/obs.out" | grep -q 'Observe:'; }
t_ok "registration answered with Observe" wait_for 3 registered
conf 0.9
kill -HUP "$DAEMON_PID"
notified() { grep -a ' c:2.05 ' "$T/obs.out" | grep -q 'min_score":0.9'; }
# SPEC 9.1: within 1 s of the change (20 looks, 50 ms apart).
t_ok "notification with the new settings within 1 s of SIGHUP" wait_for 1 notified
NEW=$(grep -a ' c:2.05 ' "$T/obs.out" | grep 'min_score":0.9' | head -n 1)
FIRST=$(grep -a ' c:2.05 ' "$T/obs.out" | head -n 1)
t_is "notification is confirmable" "$(printf '%s' "$NEW" | grep -o ' t:[A-Z][A-Z]* ' | head -n 1 | tr -d ' ')" t:CON
t_ok "notification: a larger Observe number" [ "$(coap_opt Observe "$NEW")" -gt "$(coap_opt Observe "$FIRST")" ]
t_ok "notification: a new ETag" [ "$(coap_opt ETag "$NEW")" != "$ETAG" ]
wait_exit "$OBS_PID" 10
cancelled() { daemon_log_has "n1 no longer observes its settings: cancelled"; }
t_ok "coap-client deregisters when it ends (Observe 1)" wait_for 3 cancelled

# --- models -----------------------------------------------------------
t_is "model by Block2: 2.05" "$(coap_code -b 1024 -o "$T/kws.out" "$U/v1/models/kws")" 2.05
t_ok "model bytes equal the file" cmp -s "$T/kws.out" "$T/data/models/kws/1"
R=$(coap_resp -b 1024 -O 28,0 -o /dev/null "$U/v1/models/kws?v=1")
t_is "model ETag: first 8 bytes of the sha256" "$(coap_opt ETag "$R")" "0x${SHA:0:16}"
t_is "model content-format 42" "$(coap_opt Content-Format "$R")" application/octet-stream
t_is "Size2 when asked" "$(coap_opt Size2 "$R")" 5000
t_is "model ?v=1 in 64-byte blocks: 2.05" "$(coap_code -b 64 -o "$T/kws64.out" "$U/v1/models/kws?v=1")" 2.05
t_ok "64-byte blocks put together equal the file" cmp -s "$T/kws64.out" "$T/data/models/kws/1"
t_is "resume at block 3 of 256: 2.05" "$(coap_code -b 3,256 -o "$T/kws3.out" "$U/v1/models/kws")" 2.05
t_ok "block 3 is bytes 768..1023" cmp -s <(head -c 256 "$T/kws3.out") <(tail -c +769 "$T/data/models/kws/1" | head -c 256)
t_is "the model's ETag: 2.03" "$(coap_code -O "4,0x${SHA:0:16}" "$U/v1/models/kws")" 2.03
t_is "block past the end: 4.02" "$(coap_code -b 5,1024 "$U/v1/models/kws")" 4.02
t_ok "4.02 says why" grep -q 'past the end' "$T/coap.diag"
t_is "unknown version: 4.04" "$(coap_code "$U/v1/models/kws?v=9")" 4.04
t_is "unknown model: 4.04" "$(coap_code "$U/v1/models/nope")" 4.04
t_is "bad query: 4.00" "$(coap_code "$U/v1/models/kws?x=1")" 4.00
t_is "POST model: 4.05" "$(coap_code -m post -e x "$U/v1/models/kws")" 4.05

# --- observer bounds with a raw client -------------------------------
# hup MIN_SCORE: the trigger command that changes n1's settings.
hup() {
	conf "$1" "$T/d-$1.ini"
	echo "cp $T/d-$1.ini $T/d.ini && kill -HUP $DAEMON_PID"
}
OUT=$($OBSERVE --port "$COAP_PORT" --node n1 --tokens 3 --trigger "$(hup 0.7)" --listen 1.5 --rst --trigger2 "$(hup 0.6)" --listen2 1.5)
t_is "3 registrations of n1 all answered with Observe" "$(printf '%s\n' "$OUT" | grep '^registered')" "registered 3 observe 3"
t_is "only the 2 newest are notified (OBS_PER_NODE)" "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d' ' -f1-4)" "notified 2 tokens 00000002,00000003"
t_is "a reset notification removes its observer" "$(printf '%s\n' "$OUT" | sed -n 3p | cut -d' ' -f1-2)" "notified 0"
OUT=$($OBSERVE --port "$COAP_PORT" --node n1 --tokens 2 --cancel --trigger "$(hup 0.8)" --listen 1.5)
t_is "Observe 1 cancels" "$(printf '%s\n' "$OUT" | sed -n 2,3p | cut -d' ' -f1-2 | tr '\n' ' ')" "cancelled 2 notified 0 "
# coap.max_sessions is 8: 40 new sessions push idle ones out, never the
# observer's (it holds its session).
OUT=$($OBSERVE --port "$COAP_PORT" --node n1 --trigger "$ATTACK --port $COAP_PORT sessions -n 40 && $(hup 0.9)" --listen 2 --cancel-at-end)
t_is "an observer outlives the culling of idle sessions" "$(printf '%s\n' "$OUT" | grep '^notified' | cut -d' ' -f1-2)" "notified 1"
t_ok "the culling happened" daemon_log_has "the oldest idle ones are dropped"
# One change of [node:*] reaches 100 observing nodes within 1 s.
conf 0.9 "$T/d-all.ini" always
OUT=$($OBSERVE --port "$COAP_PORT" --prefix p --nodes 100 --trigger "cp $T/d-all.ini $T/d.ini && kill -HUP $DAEMON_PID" --listen 2 --cancel-at-end)
t_is "[node:*] changed: 100 observers notified" "$(printf '%s\n' "$OUT" | grep '^notified' | cut -d' ' -f1-2)" "notified 100"
LATE=$(printf '%s\n' "$OUT" | grep '^notified' | awk '{ print $NF }')
t_ok "the last of them within 1 s of the SIGHUP (${LATE} ms)" [ "${LATE:-9999}" -lt 1000 ]
OUT=$($OBSERVE --port "$COAP_PORT" --prefix b --nodes 2049 --tokens 2)
t_is "4098 registrations: 4096 observe (OBS_MAX), 2 refused" "$(printf '%s\n' "$OUT" | grep '^registered')" "registered 4098 observe 4096"
t_ok "the refusal is logged" daemon_log_has "4096 observers: a registration"
stop_daemon
t_is "daemon stops cleanly holding 4096 observers" "$EXIT_RC" 0

# --- require_dtls and DTLS identities ---------------------------------
DTLS_PORT=$(free_port udp)
printf 'd1 %s\nd2 %s\n' "$(psk_hex secret-one-0123456789)" "$(psk_hex secret-two-0123456789)" > "$T/psk"
chmod 600 "$T/psk"
write_conf "$T/s.ini" "log_level = debug" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"dtls_listen = 127.0.0.1:$DTLS_PORT" "psk_file = $T/psk" "require_dtls = true" \
	"[node:d*]" "min_score = 0.3"
t_ok "daemon starts with require_dtls" start_daemon "$T/s.ini"
cp "$T/s.ini" "$T/s0.ini"
D=coaps://127.0.0.1:$DTLS_PORT
t_is "require_dtls: plain GET config: 4.01" "$(coap_code "$U/v1/n/d1/config")" 4.01
t_is "require_dtls: plain GET model: 4.01" "$(coap_code "$U/v1/models/kws")" 4.01
t_is "DTLS d1 GET its config: 2.05" "$(coap_code -u d1 -k secret-one-0123456789 "$D/v1/n/d1/config")" 2.05
t_is "DTLS d1 GET d2's config: 4.01" "$(coap_code -u d1 -k secret-one-0123456789 "$D/v1/n/d2/config")" 4.01
t_is "DTLS model by Block2: 2.05" "$(coap_code -u d2 -k secret-two-0123456789 -b 1024 -o "$T/kwsd.out" "$D/v1/models/kws")" 2.05
t_ok "DTLS model bytes equal the file" cmp -s "$T/kwsd.out" "$T/data/models/kws/1"
# Observe over DTLS: a notification, then a key reload closes the session
# and its observer goes with it.
"$COAP_CLIENT" -v 6 -B 3 -s 6 -u d1 -k secret-one-0123456789 "$D/v1/n/d1/config" > "$T/obsd.out" 2>&1 &
OBS_PID=$!
t_track $OBS_PID
dregistered() { grep -a ' c:2.05 ' "$T/obsd.out" | grep -q 'Observe:'; }
t_ok "DTLS registration answered with Observe" wait_for 5 dregistered
sed 's/min_score = 0.3/min_score = 0.35/' "$T/s0.ini" > "$T/s.ini"
kill -HUP "$DAEMON_PID"
dnotified() { grep -a ' c:2.05 ' "$T/obsd.out" | grep -q 'min_score":0.35'; }
t_ok "DTLS notification within 1 s" wait_for 1 dnotified
printf 'd2 %s\n' "$(psk_hex secret-two-0123456789)" > "$T/psk"
kill -HUP "$DAEMON_PID"
dclosed() { daemon_log_has "d1 no longer observes its settings: its session is closed"; }
t_ok "a key removed by reload: the observer goes with its session" wait_for 3 dclosed
wait_exit "$OBS_PID" 10
stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_done
