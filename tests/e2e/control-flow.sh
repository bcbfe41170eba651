#!/bin/bash
# control-flow.sh - the way back end to end (SPEC 9), with a real mosquitto
# and the real coap-client: a node observing its settings gets a
# notification when a command patches them; unknown verbs and bad ids are
# answered, not executed; a node model sent over MQTT and assigned by a
# command appears in the node's settings with its sha256 and downloads
# byte for byte by Block2; the node's heartbeat makes config_pending come
# and go in its retained status; settings, revs and models survive kill -9
# right after the command's result; a tier-2 file that does not load or
# does not fit is refused with the old model kept, a good one replaces it
# (file on disk too).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-tier2.sh"
command -v jq >/dev/null || t_skip_all "jq not installed"
command -v "$COAP_CLIENT" >/dev/null || t_skip_all "$COAP_CLIENT not installed"

PORT=$(free_port)
CPORT=$(free_port udp)
start_broker "$PORT" || { echo "Bail out! mosquitto did not start"; exit 1; }
U=coap://127.0.0.1:$CPORT

# cmd TOPIC [mosquitto_pub args]: publish one command (QoS 1).
cmd() {
	local t=$1
	shift
	mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t "$PREFIX/cmd/$t" "$@"
}

# result_of ID: the last payload on P/results/ID so far.
result_of() { sed -n "s|^0 $PREFIX/results/$1 ||p" "$T/res.txt" | tail -n 1; }
has_result() { [ -n "$(result_of "$1")" ]; }

# settings NODE: the body of GET /v1/n/NODE/config.
settings() { "$COAP_CLIENT" -B 3 "$U/v1/n/$1/config" 2>/dev/null; }

# status_of NODE: the node's retained status.
status_of() { retained_of "$PORT" "$PREFIX/nodes/$1/status"; }

conf() {
	mqtt_conf "$T/c.ini" "$PORT" "commands = on" "command_max = 2M" \
	    "[coap]" "listen = 127.0.0.1:$CPORT" \
	    "[node:*]" "send_window = unsure" "unsure_below = 0.6" \
	    "[node:n1]" "min_score = 0.5" "$@"
}

conf
start_sub "$PORT" "$PREFIX/results/#" "$T/res.txt"
start_daemon "$T/c.ini"
t_ok "subscribed to commands" wait_for 10 daemon_log_has "subscribed to $PREFIX/cmd/#"

# The node becomes known with its first heartbeat.
t_is "n1 heartbeat" "$(coap_code -m post -t 50 -e '{"config_rev":0}' "$U/v1/n/n1/heartbeat")" 2.04
doc=$(settings n1)
rev0=$(jq -r .rev <<<"$doc")
t_is "INI settings, later section wins per key" \
    "$(jq -c '[.send_window, .unsure_below, .min_score]' <<<"$doc")" '["unsure",0.6,0.5]'

# Observe, then patch by command: a notification with the new document.
"$COAP_CLIENT" -s 15 -B 15 "$U/v1/n/n1/config" > "$T/obs.txt" 2>/dev/null &
OBS=$!
t_track $OBS
wait_for 5 test -s "$T/obs.txt"
cmd config/n* -m '{"id":"c1","set":{"min_score":0.9,"led":"on"}}'
t_ok "config: a result" wait_for 10 has_result c1
res=$(result_of c1)
rev1=$(jq -r '.nodes[0].rev' <<<"$res")
t_is "config: ok, n1 with a new rev" "$(jq -c '[.ok, .nodes[0].node]' <<<"$res")" '[true,"n1"]'
t_ok "config: the rev grew" test "$rev1" -gt "$rev0"
t_ok "observer notified with the patched settings" \
    wait_for 5 grep -q '"min_score":0.9' "$T/obs.txt"
t_is "GET shows the override and the rev" \
    "$(settings n1 | jq -c '[.rev, .min_score, .led, .send_window]')" "[$rev1,0.9,\"on\",\"unsure\"]"

# What the gateway refuses: nothing changes, each gets its result.
cmd frobnicate -m '{"id":"v1"}'
cmd config/n1 -m '{"id":"bad id!","set":{"x":1}}'
cmd config/n1 -m '{"id":"c2","set":[1]}'
cmd config/nobody-* -m '{"id":"c3","set":{"x":1}}'
t_ok "unknown verb: answered" wait_for 10 has_result v1
t_is "unknown verb: not ok" "$(result_of v1 | jq .ok)" false
t_ok "bad id: answered on _invalid" wait_for 10 has_result _invalid
t_ok "bad id: _invalid names the topic" sh -c "sed -n 's|^0 $PREFIX/results/_invalid ||p' '$T/res.txt' | jq -e '.topic == \"$PREFIX/cmd/config/n1\"' > /dev/null"
t_ok "set not an object: answered" wait_for 10 has_result c2
t_is "set not an object: not ok" "$(result_of c2 | jq .ok)" false
t_ok "glob matching nothing: answered" wait_for 10 has_result c3
t_is "glob matching nothing: ok, no nodes" "$(result_of c3 | jq -c '[.ok, .nodes]')" '[true,[]]'
t_is "refused commands changed nothing" "$(settings n1 | jq -c '[.rev, .x]')" "[$rev1,null]"

# A node model: stored by command, assigned by command, downloaded.
head -c 100000 /dev/urandom > "$T/m1.bin"
sum=$(sha256sum "$T/m1.bin" | cut -c1-64)
cmd model/m1/1 -f "$T/m1.bin"
t_ok "model: a result" wait_for 10 has_result model:m1:1
t_is "model: ok with its sha256 and size" \
    "$(result_of model:m1:1 | jq -c '[.ok, .sha256, .size]')" "[true,\"$sum\",100000]"
cmd config/n1 -m '{"id":"c4","set":{"model":"m1@1"}}'
t_ok "assign: a result" wait_for 10 has_result c4
doc=$(settings n1)
rev2=$(jq -r .rev <<<"$doc")
t_is "assigned model in the settings" "$(jq -c '.model | [.name, .version, .sha256, .size, .uri]' <<<"$doc")" \
    "[\"m1\",\"1\",\"$sum\",100000,\"/v1/models/m1?v=1\"]"
"$COAP_CLIENT" -B 30 -b 1024 -o "$T/got.bin" "$U$(jq -r .model.uri <<<"$doc")" 2>/dev/null
t_ok "the download is the model, byte for byte" cmp -s "$T/got.bin" "$T/m1.bin"
t_ok "observer saw the assignment" wait_for 5 grep -q "\"sha256\":\"$sum\"" "$T/obs.txt"

# config_pending follows the node's heartbeats.
coap_code -m post -t 50 -e "{\"config_rev\":$rev0,\"model_state\":\"downloading\"}" "$U/v1/n/n1/heartbeat" > /dev/null
pending() { status_of n1 | jq -e '.config_pending == true and .model_state == "downloading"' > /dev/null; }
t_ok "behind: config_pending in the status" wait_for 10 pending
coap_code -m post -t 50 -e "{\"config_rev\":$rev2,\"model\":\"m1@1\",\"model_state\":\"downloaded\"}" "$U/v1/n/n1/heartbeat" > /dev/null
caught_up() { status_of n1 | jq -e 'has("config_pending") | not' > /dev/null; }
t_ok "caught up: no config_pending" wait_for 10 caught_up

# kill -9 right after a command's result: nothing of it is lost.
cmd config/n1 -m '{"id":"c5","set":{"led":null,"gain":3}}'
t_ok "last patch: a result" wait_for 10 has_result c5
rev3=$(result_of c5 | jq -r '.nodes[0].rev')
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
subs=$(daemon_log_count "subscribed to $PREFIX/cmd/#")
start_daemon "$T/c.ini"
t_ok "restarted" wait_for 10 _t_more_than "$subs" "subscribed to $PREFIX/cmd/#"
coap_code -m post -t 50 -e '{}' "$U/v1/n/n1/heartbeat" > /dev/null
# After an unclean stop every node gets a new rev once (docs/control.md).
doc=$(settings n1)
rev4=$(jq -r .rev <<<"$doc")
t_is "after kill -9: settings and model kept" \
    "$(jq -c '[.min_score, .led, .gain, .model.sha256]' <<<"$doc")" "[0.9,null,3,\"$sum\"]"
t_ok "after kill -9: the rev did not go back" test "$rev4" -ge "$rev3"
cmd config/n1 -m '{"id":"c5","set":{"gain":4}}'
sleep 1
t_is "after kill -9: a repeated id is not run again" "$(settings n1 | jq -c '[.rev, .gain]')" "[$rev4,3]"
t_is "after kill -9: the model file is there" "$(sha256sum "$T/data/models/m1/1" | cut -c1-64)" "$sum"
stop_daemon
t_is "clean stop" "$EXIT_RC" 0

# Tier-2 replacement (needs the shared models).
[ -f "$TE_MODELS/tflite/ad01_int8.tflite" ] || t_skip_models "no models in $TE_MODELS" "tier-2 replacement"
cp "$TE_MODELS/tflite/ad01_int8.tflite" "$T/ad.tflite"
conf "[tier2:ad]" "model = $T/ad.tflite" "nodes = pump-*" "when = always" \
    "output = anomaly" "anomaly_threshold = 500"
subs=$(daemon_log_count "subscribed to $PREFIX/cmd/#")
start_daemon "$T/c.ini"
wait_for 10 _t_more_than "$subs" "subscribed to $PREFIX/cmd/#"
before=$(sha256sum "$T/ad.tflite" | cut -c1-64)
head -c 5000 /dev/urandom > "$T/garbage.tflite"
gid=tier2:ad:$(sha256sum "$T/garbage.tflite" | cut -c1-16)
cmd tier2/ad -f "$T/garbage.tflite"
t_ok "tier2 garbage: a result" wait_for 20 has_result "$gid"
t_is "tier2 garbage: not ok" "$(result_of "$gid" | jq .ok)" false
kid=tier2:ad:$(sha256sum "$TE_MODELS/tflite/kws_ref_model.tflite" | cut -c1-16)
cmd tier2/ad -f "$TE_MODELS/tflite/kws_ref_model.tflite"
t_ok "tier2 misfit: a result" wait_for 20 has_result "$kid"
t_is "tier2 misfit: not ok, says why" "$(result_of "$kid" | jq -c '[.ok, (.error | length > 0)]')" '[false,true]'
t_is "refused files left the model file alone" "$(sha256sum "$T/ad.tflite" | cut -c1-64)" "$before"
fid=tier2:ad:$(sha256sum "$TE_MODELS/tflite/ad01_fp32.tflite" | cut -c1-16)
cmd tier2/ad -f "$TE_MODELS/tflite/ad01_fp32.tflite"
t_ok "tier2 good: a result" wait_for 20 has_result "$fid"
t_is "tier2 good: ok" "$(result_of "$fid" | jq .ok)" true
t_ok "the file on disk is the new model" cmp -s "$T/ad.tflite" "$TE_MODELS/tflite/ad01_fp32.tflite"
stop_daemon
t_is "clean stop" "$EXIT_RC" 0
t_ok "the daemon was silent about errors" sh -c "! grep -q 'fatal\|AddressSanitizer' '$T/daemon.log'"
t_done
