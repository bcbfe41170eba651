#!/bin/sh
# control-commands.sh - commands over MQTT (SPEC 9.2) against the real
# daemon and a real mosquitto: off by default (a command gets no result
# and changes nothing); with mqtt.commands on, reload answers ok, a config
# glob matching no node answers ok with no nodes, bad JSON answers on
# results/_invalid naming the topic, a repeated id gets the same result
# without running again, a model is stored (sha256, size) and one over
# command_max is refused with a result; results are not retained, the
# kept ones survive a restart, and MQTT 5 works the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
command -v jq >/dev/null || t_skip_all "jq not installed"

PORT=$(free_port)
start_broker "$PORT" || { echo "Bail out! mosquitto did not start"; exit 1; }

# cmd TOPIC PAYLOAD: publish one command (QoS 1).
cmd() {
	mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t "$PREFIX/cmd/$1" \
	    -m "$2"
}

# result_of ID: the payloads on P/results/ID so far, one per line.
result_of() {
	sed -n "s|^0 $PREFIX/results/$1 ||p" "$T/res.txt"
}

# results_at_least ID N: N results for ID have arrived (for wait_for).
results_at_least() { [ "$(result_of "$1" | wc -l)" -ge "$2" ]; }

# Off by default: no subscription, no result, nothing run.
rm -rf "$T/data"
mqtt_conf "$T/c.ini" "$PORT" "client_id = te-cmd-test"
start_sub "$PORT" "$PREFIX/results/#" "$T/res.txt"
start_daemon "$T/c.ini"
wait_for 10 daemon_log_has "-> connected"
reloads=$(daemon_log_count "reload: reading")
cmd reload '{"id":"off1"}'
sleep 2
t_is "off: no result" "$(grep -vc ' probe$' "$T/res.txt")" 0
t_is "off: nothing run" "$(daemon_log_count "reload: reading")" "$reloads"
t_ok "off: not subscribed" sh -c "! grep -q 'subscribed to' '$T/daemon.log'"
stop_daemon
t_is "off: clean stop" "$EXIT_RC" 0
stop_sub

# On, with the smallest command_max.
rm -rf "$T/data"
mqtt_conf "$T/c.ini" "$PORT" "client_id = te-cmd-test" "commands = on" \
    "command_max = 1K"
start_sub "$PORT" "$PREFIX/results/#" "$T/res.txt"
start_daemon "$T/c.ini"
t_ok "on: subscribed" wait_for 10 daemon_log_has "subscribed to $PREFIX/cmd/#"

# reload: the same as SIGHUP.
cmd reload '{"id":"rl1"}'
t_ok "reload: a result" wait_for 10 results_at_least rl1 1
t_is "reload: ok" "$(result_of rl1 | jq -c '[.id, .ok]')" '["rl1",true]'
t_is "reload: ran" "$(daemon_log_count "reload: done")" 1

# A repeated id: the same result again, not run again.
cmd reload '{"id":"rl1"}'
t_ok "repeat: a second result" wait_for 10 results_at_least rl1 2
t_is "repeat: the same bytes" "$(result_of rl1 | sort -u | wc -l)" 1
t_is "repeat: not run again" "$(daemon_log_count "reload: done")" 1

# config with a glob that matches no node.
cmd 'config/nomatch-*' '{"id":"cf1","set":{"min_score":0.5}}'
t_ok "config: a result" wait_for 10 results_at_least cf1 1
t_is "config: ok, no nodes" \
    "$(result_of cf1 | jq -c '[.id, .ok, .nodes]')" '["cf1",true,[]]'

# Bad JSON: the id cannot be read, the answer names the topic.
cmd reload '{"id":"bad1"'
t_ok "bad JSON: a result on _invalid" wait_for 10 results_at_least _invalid 1
t_is "bad JSON: ok false, the topic" \
    "$(result_of _invalid | jq -c '[.ok, .topic, (.error | test("JSON"))]')" \
    "[false,\"$PREFIX/cmd/reload\",true]"

# A model over command_max: refused with a result, not stored.
head -c 2000 /dev/zero > "$T/big.bin"
mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t "$PREFIX/cmd/model/big/1" \
    -f "$T/big.bin"
t_ok "oversize: a result" wait_for 10 results_at_least model:big:1 1
t_is "oversize: refused" \
    "$(result_of model:big:1 | jq -c '[.id, .ok, .error]')" \
    '["model:big:1",false,"too large (command_max 1024)"]'
t_ok "oversize: not stored" sh -c "! ls '$T/data/models' 2>/dev/null | \
    grep -q big"

# A model within command_max: stored, its sha256 and size.
head -c 700 /dev/urandom > "$T/m.bin"
sha=$(sha256sum "$T/m.bin" | cut -d' ' -f1)
mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t "$PREFIX/cmd/model/m1/1.0" \
    -f "$T/m.bin"
t_ok "model: a result" wait_for 10 results_at_least model:m1:1.0 1
t_is "model: stored" \
    "$(result_of model:m1:1.0 | jq -c '[.id, .ok, .sha256, .size]')" \
    "[\"model:m1:1.0\",true,\"$sha\",700]"

# Results are not retained.
r=$(timeout 5 mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "$PREFIX/results/#" \
    --retained-only -W 1 2>/dev/null | wc -l)
t_is "results not retained" "$r" 0

# Kept across a restart: the id is still known.
stop_daemon
t_is "on: clean stop" "$EXIT_RC" 0
n=$(daemon_log_count "subscribed to")
start_daemon "$T/c.ini"
wait_for 10 _t_more_than "$n" "subscribed to"
cmd reload '{"id":"rl1"}'
t_ok "restart: the kept result again" wait_for 10 results_at_least rl1 3
t_is "restart: not run again" "$(daemon_log_count "reload: done")" 1
stop_daemon
t_is "restart: clean stop" "$EXIT_RC" 0

# MQTT 5: subscribed too, a new id runs, a kept one does not.
mqtt_conf "$T/c.ini" "$PORT" "client_id = te-cmd-test" "commands = on" \
    "command_max = 1K" "protocol = 5"
n=$(daemon_log_count "subscribed to")
start_daemon "$T/c.ini"
t_ok "mqtt 5: subscribed" wait_for 10 _t_more_than "$n" "subscribed to"
cmd reload '{"id":"rl5"}'
cmd reload '{"id":"rl1"}'
t_ok "mqtt 5: a result" wait_for 10 results_at_least rl5 1
t_ok "mqtt 5: the kept one again" wait_for 10 results_at_least rl1 4
t_is "mqtt 5: ran once" "$(daemon_log_count "reload: done")" 2
stop_daemon
t_is "mqtt 5: clean stop" "$EXIT_RC" 0
stop_sub

[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_clean_logs
t_done
