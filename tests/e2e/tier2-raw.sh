#!/bin/bash
# tier2-raw.sh - tier 2 on raw windows through the real daemon, against the
# shared model vectors:
#  1. ad01_int8 with output = anomaly: a window carrying vector 0's
#     dequantized input gives a stored tier-2 result whose score is the MSE
#     against the vector's expected output (1e-6 relative), and a P/events
#     event with "tier":2;
#  2. kws_ref_model with a labels file on a raw 49 x 10 window: the label is
#     the arg max of the expected output;
#  3. `nodes` globs: each window goes to its own model only;
#  4. a window that does not fit the model is logged, not stored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-tier2.sh"

tier2_require

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
start_mosquitto "$MQTT_PORT"
printf 'down\ngo\nleft\nno\noff\non\nright\nstop\nup\nyes\n_silence_\n_unknown_\n' > "$T/kws.labels"
write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s" \
	"[summary]" "debounce = 0" "event_min_score = 0" "ignore_labels =" \
	"[tier2:ad]" "model = $TE_MODELS/tflite/ad01_int8.tflite" "nodes = pump-*" \
	"when = always" "output = anomaly" "anomaly_threshold = 500" \
	"[tier2:kws]" "model = $TE_MODELS/tflite/kws_ref_model.tflite" \
	"labels = $T/kws.labels" "nodes = mic-?" "when = always"
t_ok "config with two tier-2 models checks" "$TINYEDGED" -t -c "$T/d.ini"

# A features/model mismatch fails `tinyedged -t` with both shapes.
write_conf "$T/bad.ini" "[tier2:x]" "model = $TE_MODELS/tflite/ad01_int8.tflite" "features = mfcc"
out=$("$TINYEDGED" -t -c "$T/bad.ini" 2>&1)
t_is "shape mismatch: -t exits 1" "$?" 1
t_ok "shape mismatch: FILE:LINE names both shapes" grep -qF "$T/bad.ini:6: [tier2:x] mfcc features produce 490 values (49 x 10), model input is [1,640] (640)" <<<"$out"

mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'tinyedge/gw-test/#' -F '%t %p' > "$T/sub.txt" 2>/dev/null &
t_track $!
t_ok "daemon starts" start_daemon "$T/d.ini"
t_ok "both models loaded" daemon_log_has "tier2 kws: .*kws_ref_model.tflite loaded"

# 1. the autoencoder
vector_window ad01_int8 0 10 "" 1 > "$T/ad0.json"
vector_window ad01_int8 3 11 "" 1 > "$T/ad3.json"
t_is "ad01 window 0 acknowledged" "$(post_window pump-1 "$T/ad0.json")" 2.04
t_is "ad01 window 3 acknowledged" "$(post_window pump-1 "$T/ad3.json")" 2.04
t_ok "two tier-2 rows stored" wait_for 10 tier2_count_is 2 "AND node = 'pump-1'"
body0=$(tier2_rows "AND node = 'pump-1' AND json_extract(body, '$.window') = 10" | cut -d'|' -f3-)
body3=$(tier2_rows "AND node = 'pump-1' AND json_extract(body, '$.window') = 11" | cut -d'|' -f3-)
echo "# $body0"
want0=$(vector_mse ad01_int8 0)
want3=$(vector_mse ad01_int8 3)
got0=$(jq -r .score <<<"$body0")
got3=$(jq -r .score <<<"$body3")
echo "# MSE got $got0 want $want0; got $got3 want $want3"
t_ok "vector 0: score = MSE of the expected output (1e-6 rel)" rel_close "$got0" "$want0" 1e-6
t_ok "vector 3: score = MSE of the expected output (1e-6 rel)" rel_close "$got3" "$want3" 1e-6
want_label=$(python3 -c "import sys; print('anomaly' if float(sys.argv[1]) >= 500 else 'normal')" "$want0")
t_is "anomaly label by anomaly_threshold" "$(jq -r .label <<<"$body0")" "$want_label"
t_is "result fields" "$(jq -c '[.seq, .boot, .model, .tier, .window, (.latency_us|type)]' <<<"$body0")" '[10,3,"ad",2,10,"number"]'

# 2. the classifier on a raw 49 x 10 window
vector_window kws_ref_model 1 20 "" 10 > "$T/kws1.json"
vector_window kws_ref_model 4 21 "" 10 > "$T/kws4.json"
t_is "kws window acknowledged" "$(post_window mic-1 "$T/kws1.json")" 2.04
t_is "kws window 4 acknowledged" "$(post_window mic-1 "$T/kws4.json")" 2.04
t_ok "kws rows stored" wait_for 10 tier2_count_is 2 "AND node = 'mic-1'"
labels=(down go left no off on right stop up yes _silence_ _unknown_)
for v in 1:20 4:21; do
	body=$(tier2_rows "AND node = 'mic-1' AND json_extract(body, '$.window') = ${v#*:}" | cut -d'|' -f3-)
	t_is "kws vector ${v%:*}: label = arg max of expected" "$(jq -r .label <<<"$body")" \
		"${labels[$(vector_argmax kws_ref_model "${v%:*}")]}"
done

# 3. globs: nodes matching neither model get nothing
t_is "window from another node acknowledged" "$(post_window other "$T/ad0.json")" 2.04
t_is "mic-12 is not mic-?" "$(post_window mic-12 "$T/kws1.json")" 2.04
sleep 0.5
t_is "no tier-2 row for unmatched nodes" "$(tier2_count "AND node IN ('other', 'mic-12')")" 0
t_is "each model saw only its nodes" "$(tier2_count)" 4

# 4. a window the model cannot take
t_is "wrong-size window acknowledged" "$(post_window pump-2 "$T/kws1.json")" 2.04
t_ok "the mismatch is logged with the model's shape" wait_for 5 daemon_log_has "tier2 ad: node pump-2 window 20: .*model input is \[1,640\] (640)"
t_is "and nothing stored for it" "$(tier2_count "AND node = 'pump-2'")" 0

# Events and metrics
t_ok "a tier-2 event on P/events" wait_for 10 grep -q '/events/pump-1 .*"tier":2' "$T/sub.txt"
metrics_settled() { last_metrics_of "$T/sub.txt" | jq -e '.tier2.models.ad.runs == 2 and .tier2.models.ad.errors == 1' >/dev/null; }
t_ok "metrics carry per-model figures" wait_for 5 metrics_settled
m=$(last_metrics_of "$T/sub.txt")
echo "# $(jq -c .tier2 <<<"$m")"
t_is "tier2.runs counts every run" "$(jq .tier2.runs <<<"$m")" 4
t_is "tier2.skipped is 0" "$(jq .tier2.skipped <<<"$m")" 0
t_is "tier2.models.ad.errors counts the mismatch" "$(jq .tier2.models.ad.errors <<<"$m")" 1

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_ok "no loop-close warning" sh -c "! grep -q 'still open\|uv_loop_close' '$T/daemon.log'"
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
