#!/bin/bash
# nodesim-control.sh - tinyedge-nodesim --observe against the real daemon
# (SPEC 9.1, 9.3): nodes apply their [node:*] settings by Observe (min_score
# keeps low inferences back, send_window = never overrides --windows-every),
# a SIGHUP reaches them within 2 s, the node assigned a model downloads it
# by Block2 and checks its SHA-256, and P/nodes/{node}/status shows what the
# heartbeats report: config_rev, model, model_state, model_result, and
# config_pending while a node is behind the gateway's rev.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"

MQTT=$(free_port)
COAP=$(free_port udp)
start_mosquitto "$MQTT" || t_skip_all "mosquitto did not start"
mkdir -p "$T/data/models/m"
head -c 5000 /dev/urandom > "$T/data/models/m/1"

# conf MIN_SCORE: [node:*] with that min_score, sim-001 assigned m@1.
conf() {
	write_conf "$T/d.ini" "new_nodes_per_minute = 0" \
		"[coap]" "listen = 127.0.0.1:$COAP" \
		"[mqtt]" "uri = tcp://127.0.0.1:$MQTT" \
		"[node:*]" "send_window = never" "min_score = $1" \
		"[node:sim-001]" "model = m@1"
}
conf 0.5
t_ok "daemon starts with [node:*] and a node model" start_daemon "$T/d.ini"
start_sub "$MQTT" "$PREFIX/nodes/+/status" "$T/status"

# sim: two observing nodes in the background, sending for 60 s.
sim() {
	"$NODESIM" --coap "coap://127.0.0.1:$COAP" --nodes 2 --rate 50 \
		--windows-every 2 --duration 60 --observe --state "$T/st" \
		--control-log "$T/ctl.log" --acked-log "$T/acked.log" \
		> "$T/sim.out" 2> "$T/sim.err" &
	SIM_PID=$!
	t_track $SIM_PID
}
mkdir -p "$T/st"
sim
# rev NODE: the last rev NODE applied.
rev() { awk -v n="$1" '$2 == n && $3 == "config" { r = $4 } END { print r }' "$T/ctl.log" 2>/dev/null; }
# status_has NODE TEXT...: NODE's last status contains every TEXT.
status_has() {
	local node=$1 line
	shift
	line=$(grep " $PREFIX/nodes/$node/status " "$T/status" | tail -n 1)
	for t in "$@"; do
		case $line in *"$t"*) ;; *) return 1 ;; esac
	done
}
# status_lacks NODE TEXT: NODE's last status does not contain TEXT.
status_lacks() { ! grep " $PREFIX/nodes/$1/status " "$T/status" | tail -n 1 | grep -qF "$2"; }
applied() { [ -n "$(rev sim-000)" ] && [ -n "$(rev sim-001)" ]; }
t_ok "both nodes apply their settings" wait_for 10 applied
got_model() { grep -q "sim-001 model downloaded m@1 sha256 ok, 5000 bytes" "$T/ctl.log"; }
t_ok "sim-001 downloads m@1 by Block2 and its sha256 checks" wait_for 15 got_model
t_ok "sim-000 is assigned no model" [ "$(grep -c "sim-000 model" "$T/ctl.log")" = 0 ]
R0=$(rev sim-000)
t_ok "status of sim-000: config_rev $R0, not pending" wait_for 5 status_has sim-000 "\"config_rev\":$R0" '"model_state":"idle"'
t_ok "  and no config_pending" status_lacks sim-000 config_pending
t_ok "status of sim-001: m@1 downloaded, sha256 ok" wait_for 5 status_has sim-001 '"model":"m@1"' '"model_state":"downloaded"' '"model_result":"sha256 ok, 5000 bytes"'

conf 0.6
kill -HUP "$DAEMON_PID"
moved() { [ "$(rev sim-000)" != "$R0" ]; }
t_ok "a SIGHUP that changes min_score reaches the node within 2 s" wait_for 2 moved
R1=$(rev sim-000)
t_ok "status follows: config_rev $R1" wait_for 5 status_has sim-000 "\"config_rev\":$R1"

# Enough inferences that some fall under min_score (about 7 %).
sleep 2
kill -TERM "$SIM_PID"
wait_exit "$SIM_PID" 10
t_is "nodesim exits 0" "$EXIT_RC" 0
t_ok "result line: section 8 fields, then the control ones" grep -Eq '^sent=[0-9]+ acked=[0-9]+ failed=0 p50_ms=[0-9.]+ p99_ms=[0-9.]+ config_updates=[0-9]+ models_ok=1 models_failed=0 resumed=0 suppressed=[1-9][0-9]*$' "$T/sim.out"
t_diag "$T/sim.out"
t_is "send_window = never: no window sent despite --windows-every" "$(grep -c ' window ' "$T/acked.log")" 0
t_is "min_score: no inference under 0.5 sent" "$(awk '$4 == "inference" && $6 < 0.5' "$T/acked.log" | wc -l)" 0
t_ok "heartbeats were acknowledged" grep -q ' heartbeat ' "$T/acked.log"

# The gateway moves on while the nodes sleep: config_pending.
conf 0.7
kill -HUP "$DAEMON_PID"
t_ok "a node behind the gateway's rev: config_pending in its status" wait_for 5 status_has sim-000 '"config_pending":true'

# Started again (its logs start anew): the model is kept, the settings
# catch up.
sim
caught_up() { [ "$(rev sim-000)" != "$R1" ] && status_lacks sim-000 config_pending; }
t_ok "started again, the node catches up and config_pending goes" wait_for 10 caught_up
kept() { grep -q "sim-001 model downloaded m@1 sha256 ok" "$T/ctl.log"; }
t_ok "the model fetched before is kept (--state), not fetched again" wait_for 5 kept
kill -TERM "$SIM_PID"
wait_exit "$SIM_PID" 10
t_ok "  and the result line says no new download" grep -q 'models_ok=0 models_failed=0' "$T/sim.out"
stop_daemon
t_done
