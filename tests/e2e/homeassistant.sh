#!/bin/bash
# homeassistant.sh - Home Assistant MQTT discovery (SPEC 14) against the
# real daemon, a real mosquitto and coap-client, on loopback:
#  - the gateway's three configs and a node's three, its battery config
#    once a heartbeat carries battery_mv, every payload checked against
#    the keys Home Assistant documents for its component (the table
#    below: required keys present, no unknown keys, nested blocks too);
#  - state and availability topics are the gateway's existing ones;
#  - homeassistant/status "online" announces everything again;
#  - a node forgotten by the registry (max_nodes) gets empty retained
#    configs, and none of its configs stays at the broker;
#  - unique ids are unique, and the same after a daemon restart;
#  - 300 nodes and a broker restart that loses every retained message:
#    every node's status and configs are published again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-mqtt.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v jq > /dev/null || t_skip_all "jq not installed"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" "node_timeout = 1s" "max_nodes = 3" \
    "new_nodes_per_minute = 0" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
    "[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s" \
    "[homeassistant]" "discovery = on"
HA=$T/ha.txt
# MQTT 5 with retain-as-published: the retain flag of live messages shows.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 --retain-as-published \
    -q 1 -t 'homeassistant/#' -F '%r %t %p' > "$HA" 2>>"$T/sub.err" &
SUB_PID=$!
t_track $SUB_PID
probe_seen() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t homeassistant/probe -m p
	grep -q ' homeassistant/probe p$' "$HA"
}
wait_for 5 probe_seen
t_ok "daemon starts" start_daemon "$T/d.ini"
U=coap://127.0.0.1:$COAP_PORT/v1/n

# The documented keys of each component (Home Assistant's MQTT sensor and
# binary sensor pages, and the discovery page for device and origin), as
# the checker reads them: required, then optional.
cat > "$T/keys.py" <<'EOF'
COMMON = {"availability", "availability_mode", "availability_template",
    "availability_topic", "default_entity_id", "device", "enabled_by_default",
    "encoding", "entity_category", "entity_picture", "expire_after",
    "force_update", "icon", "json_attributes_template",
    "json_attributes_topic", "name", "object_id", "payload_available",
    "payload_not_available", "platform", "qos", "unique_id",
    "value_template", "origin", "device_class"}
COMPONENTS = {
    "sensor": ({"state_topic"}, COMMON | {"last_reset_value_template",
        "options", "state_class", "suggested_display_precision",
        "unit_of_measurement"}),
    "binary_sensor": ({"state_topic"}, COMMON | {"off_delay", "payload_off",
        "payload_on"}),
}
DEVICE = ({"identifiers"}, {"configuration_url", "connections", "hw_version",
    "manufacturer", "model", "model_id", "name", "serial_number",
    "suggested_area", "sw_version", "via_device"})
AVAILABILITY = ({"topic"}, {"payload_available", "payload_not_available",
    "value_template"})
ORIGIN = ({"name"}, {"sw_version", "support_url"})
DEVICE_CLASSES = {"sensor": {"voltage", "battery"},
    "binary_sensor": {"connectivity"}}
EOF

# check.py FILE PREFIX: every non-empty config payload of FILE against the
# table; prints "ok N UIDS" or the first problem.
cat > "$T/check.py" <<'EOF'
import json, re, sys
sys.path.insert(0, sys.argv[3])
from keys import *
def keys_ok(what, o, spec):
    req, opt = spec
    if not isinstance(o, dict):
        return "%s is not an object" % what
    if req - set(o):
        return "%s lacks %s" % (what, sorted(req - set(o)))
    if set(o) - req - opt:
        return "%s has unknown %s" % (what, sorted(set(o) - req - opt))
    return None
P = sys.argv[2]
n, uids, bad = 0, {}, None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) < 3 or parts[2] == "" or not parts[1].endswith("/config"):
        continue
    topic, body = parts[1], parts[2]
    m = re.fullmatch(r"homeassistant/(sensor|binary_sensor)/(tinyedge_gw-test)/([A-Za-z0-9_-]+)/config", topic)
    if not m:
        bad = bad or "bad topic " + topic
        continue
    comp = m.group(1)
    o = json.loads(body)
    bad = bad or keys_ok(topic, o, COMPONENTS[comp])
    bad = bad or keys_ok(topic + " device", o.get("device"), DEVICE)
    bad = bad or keys_ok(topic + " origin", o.get("origin"), ORIGIN)
    for a in o.get("availability", []):
        bad = bad or keys_ok(topic + " availability", a, AVAILABILITY)
    if o.get("availability", [{}])[0].get("topic") != P + "/status":
        bad = bad or topic + ": availability does not follow P/status"
    st = o.get("state_topic", "")
    if not (st == P + "/metrics" or re.fullmatch(re.escape(P) + r"/(events/[^/]+|nodes/[^/]+/status)", st)):
        bad = bad or topic + ": state_topic " + st
    if "device_class" in o and o["device_class"] not in DEVICE_CLASSES[comp]:
        bad = bad or topic + ": device_class " + o["device_class"]
    dev = o.get("device") or {}
    if m.group(3).startswith("n_"):
        if dev.get("via_device") != "tinyedge_gw-test":
            bad = bad or topic + ": node device without via_device"
        node = st.split("/")[-2] if st.endswith("/status") else st.split("/")[-1]
        av = o.get("availability", [])
        if len(av) == 2 and av[1].get("topic") != P + "/nodes/" + node + "/status":
            bad = bad or topic + ": node availability topic"
    if o.get("unique_id") != "tinyedge_gw-test_" + m.group(3):
        bad = bad or topic + ": unique_id " + str(o.get("unique_id"))
    if uids.setdefault(o.get("unique_id"), topic) != topic:
        bad = bad or "unique_id %s on two topics" % o["unique_id"]
    n += 1
print(bad if bad else "ok %d %s" % (n, ",".join(sorted(uids))))
EOF
check() { python3 "$T/check.py" "$1" "$PREFIX" "$T"; }
# configs FILE: the config topics with a non-empty payload, sorted, once.
configs() { awk '$3 != "" && $2 ~ /\/config$/ { print $2 }' "$1" | sort -u; }
count_cfg() { grep -c '/config {' "$HA" 2>/dev/null || true; }
cfg_at_least() { [ "$(count_cfg)" -ge "$1" ]; }
infer() {
	coap_code -m post -t 50 -e "{\"seq\":$2,\"model\":\"m\",\"label\":\"yes\",\"score\":0.9}" \
	    "$U/$1/inference"
}

# 1. The gateway's configs, then a node's (its id has a dot: encoded).
t_ok "the gateway's three configs" wait_for 5 cfg_at_least 3
t_is "node kitchen.mic accepted" "$(infer kitchen.mic 1)" 2.04
t_ok "its three configs follow" wait_for 5 cfg_at_least 6
t_is "no battery config without battery_mv" \
    "$(configs "$HA" | grep -c battery)" 0
t_is "a heartbeat with battery_mv" "$(coap_code -m post -t 50 \
    -e '{"seq":2,"battery_mv":3712}' "$U/kitchen.mic/heartbeat")" 2.04
t_ok "brings the battery config" wait_for 5 cfg_at_least 7
t_is "at the node's object id" "$(configs "$HA" | grep battery)" \
    "homeassistant/sensor/tinyedge_gw-test/n_kitchen_2emic__battery/config"
r=$(check "$HA")
t_ok "every payload has the documented keys only ($r)" test "${r%% *}" = ok
t_is "seven distinct configs" "$(configs "$HA" | wc -l)" 7
bat=$(grep 'n_kitchen_2emic__battery/config {' "$HA" | head -n 1 | cut -d' ' -f3-)
t_is "battery: voltage in mV from the node's status" \
    "$(jq -c '[.device_class, .unit_of_measurement, .state_topic, .value_template]' <<<"$bat")" \
    "[\"voltage\",\"mV\",\"$PREFIX/nodes/kitchen.mic/status\",\"{{ value_json.battery_mv }}\"]"
on=$(grep 'n_kitchen_2emic__online/config {' "$HA" | head -n 1 | cut -d' ' -f3-)
t_is "online: connectivity, follows the status' state" \
    "$(jq -c '[.device_class, .payload_on, .payload_off, (.availability | length)]' <<<"$on")" \
    '["connectivity","online","offline",1]'
lab=$(grep 'n_kitchen_2emic__label/config {' "$HA" | head -n 1 | cut -d' ' -f3-)
t_is "label: the node's events, available with the gateway and the node" \
    "$(jq -c '[.state_topic, .availability_mode, .device.name]' <<<"$lab")" \
    "[\"$PREFIX/events/kitchen.mic\",\"all\",\"kitchen.mic\"]"
t_is "every config is retained" \
    "$(awk '$2 ~ /\/config$/ && $1 != 1' "$HA" | wc -l)" 0
uids1=$r

# 2. Home Assistant's birth message: everything again.
before=$(count_cfg)
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t homeassistant/status -m online
t_ok "homeassistant/status online: all seven announced again" \
    wait_for 5 cfg_at_least $((before + 7))
t_ok "and logged" daemon_log_has "Home Assistant is online"
# Anything but exactly "online" announces nothing.
before=$(count_cfg)
for m in offline Online 'online ' onlinex onl '"online"' ''; do
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t homeassistant/status -m "$m"
done
printf 'online\n' | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t homeassistant/status -s
sleep 1
t_is "offline or a malformed birth announces nothing" "$(count_cfg)" "$before"

# 3. Forgetting: three more nodes while kitchen.mic is offline the
# longest; the registry (max_nodes 3) forgets it, and its configs go.
sleep 1.5
for n in a b; do infer "$n" 1 > /dev/null; done
sleep 1.2
t_is "a fourth node" "$(infer c 1)" 2.04
empty_of() {
	[ "$(awk '$1 == 1 && $3 == "" && $2 ~ /n_kitchen_2emic__/' "$HA" | wc -l)" = 4 ]
}
t_ok "kitchen.mic forgotten: four empty retained configs" wait_for 5 empty_of
left=$(timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'homeassistant/#' \
    --retained-only -W 2 -F '%t' 2>/dev/null | sort)
t_is "none of its configs stays at the broker" \
    "$(grep -c kitchen <<<"$left")" 0
t_is "the others' do: 3 gateway + 3 x 3 node configs" \
    "$(grep -c /config <<<"$left")" 12

# 4. A restart: the same unique ids for the same gateway and node.
t_ok "daemon stops" stop_daemon
: > "$HA.2"
cp "$HA" "$HA.1"
t_ok "daemon starts again" start_daemon "$T/d.ini"
sleep 0.5
t_is "kitchen.mic back" "$(infer kitchen.mic 3)" 2.04
t_is "a heartbeat with battery_mv" "$(coap_code -m post -t 50 \
    -e '{"seq":4,"battery_mv":3700}' "$U/kitchen.mic/heartbeat")" 2.04
kitchen_back() { [ "$(awk '$2 ~ /n_kitchen_2emic__/ && $3 != ""' "$HA" | wc -l)" -ge 12 ]; }
t_ok "its configs announced again" wait_for 5 kitchen_back
# The second run's lines only.
tail -n +"$(($(wc -l < "$HA.1") + 1))" "$HA" > "$HA.2"
r2=$(check "$HA.2")
t_ok "the second run's payloads check too (${r2%% *})" test "${r2%% *}" = ok
ids_of() { tr ',' '\n' <<<"${1#* * }" | grep -E 'gw_|kitchen' | sort; }
t_is "the same unique ids as before the restart" "$(ids_of "$r2")" \
    "$(ids_of "$uids1")"
t_ok "daemon stops" stop_daemon
kill "$SUB_PID" 2>/dev/null

# 5. Many nodes: 300 nodes, then a broker restart that loses every
# retained message (no persistence).  After the reconnect every status
# and every config goes out again, although Paho takes only so many QoS 1
# messages at once (the rest wait for later loop turns).
write_conf "$T/d.ini" "max_nodes = 1000" "new_nodes_per_minute = 0" \
    "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
    "[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "[homeassistant]" "discovery = on"
t_ok "daemon starts with max_nodes 1000" start_daemon "$T/d.ini"
r=$(python3 "$TE_SRCDIR/tests/e2e/coap-nodes.py" "$COAP_PORT" 127.0.0.1 \
    --ids many:0:300 --body '{"seq":{i}}')
t_is "300 nodes accepted" "$(jq -r '.codes["2.04"]' <<<"$r")" 300
stop_mosquitto
start_mosquitto "$MQTT_PORT"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'homeassistant/#' \
    -t "$PREFIX/nodes/#" -F '%t' > "$T/many.txt" 2>>"$T/sub.err" &
t_track $!
# every_one: all configs (3 per node) and all 300 statuses (a new
# daemon: kitchen.mic is not known) arrived at the new subscriber.
every_one() {
	[ "$(grep /config "$T/many.txt" | sort -u | grep -c many)" = 900 ] &&
	    [ "$(grep /status "$T/many.txt" | sort -u | wc -l)" = 300 ]
}
t_ok "after a broker restart: every status and config again" wait_for 30 every_one
echo "# $(sort -u "$T/many.txt" | wc -l) distinct topics after the restart"
t_ok "daemon stops" stop_daemon
t_done
