#!/bin/bash
# tier2-flow.sh - escalation, saturation and reload of tier-2 models in
# the real daemon:
#  1. when = low_confidence: a window runs only when the node's own score
#     (in the window, or in an inference naming it) is below threshold, or
#     when the node gave none;
#  2. saturation: 1 s audio windows by Block1 from nodesim, faster than a
#     deliberately slow MFCC front end can take them: windows are skipped
#     and counted (P/metrics tier2.skipped), every stored window is either
#     run or skipped, every window is acknowledged (ingest never waits for
#     a run; latency is printed, and measured in bench/tier2); a SIGHUP
#     with a changed model file in the middle of it is safe;
#  3. reload: a broken model file keeps the old model serving and logs the
#     loader's error; a repaired one is loaded again; a model whose shape
#     does not fit is a rejected configuration, the old model still serves.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
. "$(dirname "$0")/lib-tier2.sh"

tier2_require

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
start_mosquitto "$MQTT_PORT"
cp "$TE_MODELS/tflite/ad01_int8.tflite" "$T/ad.tflite"
cp "$TE_MODELS/tflite/kws_ref_model.tflite" "$T/kws.tflite"
# A 65536-point FFT per frame makes each MFCC window take tens of ms.
# max_body 1M: journal segments are 2 x max_body, and at 100 audio windows
# a second (3.2 MB/s) the 256 KB ones must be made (zero-filled, synced)
# 14 times a second in the pool, which a loaded build machine did not
# always manage (one 5.03 in a distcheck run).  This test is about tier 2;
# the journal's segment supply at that rate is a cost-per-reading item.
write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP_PORT" "max_body = 1M" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s" \
	"[tier2:ad]" "model = $T/ad.tflite" "nodes = pump-*" \
	"when = low_confidence" "threshold = 0.7" "output = anomaly" \
	"[tier2:slow]" "model = $T/kws.tflite" "nodes = sat-*" "when = always" \
	"features = mfcc" "mfcc_fft_length = 65536" "queue = 2"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'tinyedge/gw-test/metrics' -F '%t %p' > "$T/sub.txt" 2>/dev/null &
t_track $!
t_ok "daemon starts" start_daemon "$T/d.ini"

# 1. escalation
ad_rows() { tier2_count "AND node = 'pump-1'"; }
ran() { [ "$(tier2_count "AND node = 'pump-1' AND json_extract(body, '$.window') = $1")" = 1 ]; }
not_ran() { ! ran "$1"; }
vector_window ad01_int8 0 1 0.9 1 > "$T/w1.json"	# confident: no run
vector_window ad01_int8 0 2 0.5 1 > "$T/w2.json"	# unsure: run
vector_window ad01_int8 0 3 "" 1 > "$T/w3.json"		# no score: run
vector_window ad01_int8 0 4 "" 1 > "$T/w4.json"		# inference says 0.95
vector_window ad01_int8 0 5 "" 1 > "$T/w5.json"		# inference says 0.3
vector_window ad01_int8 0 6 0.7 1 > "$T/w6.json"	# at threshold: no run
U=coap://127.0.0.1:$COAP_PORT/v1/n
t_is "inference naming window 4 (0.95)" "$(coap_code -m post -t 50 -e '{"seq":40,"boot":3,"model":"tiny","label":"x","score":0.95,"window":4}' "$U/pump-1/inference")" 2.04
t_is "inference naming window 5 (0.3)" "$(coap_code -m post -t 50 -e '{"seq":50,"boot":3,"model":"tiny","label":"x","score":0.3,"window":5}' "$U/pump-1/inference")" 2.04
for i in 1 2 3 4 5 6; do
	t_is "window $i acknowledged" "$(post_window pump-1 "$T/w$i.json")" 2.04
done
t_ok "three windows escalated" wait_for 10 sh -c "[ \$(sqlite3 '$T/data/tinyedge.db' \"SELECT count(*) FROM msg WHERE kind = 4 AND node = 'pump-1'\") -ge 3 ]"
sleep 0.5
t_is "exactly three" "$(ad_rows)" 3
t_ok "score 0.5 < 0.7: ran" ran 2
t_ok "no score: ran" ran 3
t_ok "inference score 0.3 for the window: ran" ran 5
t_ok "score 0.9: not run" not_ran 1
t_ok "inference score 0.95 for the window: not run" not_ran 4
t_ok "score at threshold: not run" not_ran 6

# 2. saturation: a baseline of acknowledgement latency without tier 2
# (node names no model matches), then the same load on the slow model.
# 100 windows/s: several times what the slow model takes, well below what
# ingest takes, so the latencies compare the loop, not a saturated CPU.
# The saturated model keeps one core busy.
base=$("$NODESIM" --coap "$U" --audio --windows-only --nodes 4 --rate 25 --window 2 \
	--duration 2 --seed 5 --prefix idle)
echo "# baseline, no tier 2: $base"
( sleep 1; touch "$T/kws.tflite"; kill -HUP "$DAEMON_PID" ) &
load=$("$NODESIM" --coap "$U" --audio --windows-only --nodes 4 --rate 25 --window 2 \
	--duration 3 --seed 6 --prefix sat)
wait $!
echo "# with tier 2 saturated: $load"
t_ok "saturation load: failed=0" grep -q ' failed=0 ' <<<"$load "
sent=$(sed -n 's/^sent=\([0-9]*\).*/\1/p' <<<"$load")
p50b=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$base")
p99b=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$base")
p50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$load")
p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$load")
# Latency on a shared (or sanitizer) build machine is noise, not a
# verdict: it is printed here and measured in bench/tier2.  What shows
# that ingest never waits for a model is structural: every window was
# acknowledged (failed=0) while the model's queue overflowed (skipped > 0,
# below), which could not happen if a put waited for a run.
echo "# ack latency with tier 2 saturated: p50 $p50 ms, p99 $p99 ms; without: p50 $p50b ms, p99 $p99b ms"
t_ok "the model file change was reloaded during the load" wait_for 5 daemon_log_has "tier2 slow: reloaded"
settled() {
	last_metrics_of "$T/sub.txt" | jq -e --argjson n "$sent" \
	    '.tier2.models.slow.queued == 0 and .tier2.models.slow.runs + .tier2.models.slow.skipped == $n' >/dev/null
}
t_ok "every window run or skipped (metrics settle)" wait_for 20 settled
m=$(last_metrics_of "$T/sub.txt")
echo "# $(jq -c .tier2 <<<"$m")"
t_ok "windows were skipped and counted" test "$(jq .tier2.models.slow.skipped <<<"$m")" -gt 0
t_ok "tier2.skipped includes them" test "$(jq .tier2.skipped <<<"$m")" -ge "$(jq .tier2.models.slow.skipped <<<"$m")"
t_ok "and some ran" test "$(jq .tier2.models.slow.runs <<<"$m")" -gt 0
t_is "a stored row per run" "$(tier2_count "AND node LIKE 'sat-%'")" "$(jq .tier2.models.slow.runs <<<"$m")"
mean_ms=$(($(jq .tier2.models.slow.mean_us <<<"$m") / 1000))
t_ok "each run took long (mean $mean_ms ms > 5 ms)" test "$mean_ms" -gt 5

# 3. reload
n0=$(ad_rows)
head -c 3000 "$TE_MODELS/tflite/ad01_int8.tflite" > "$T/ad.tflite"
kill -HUP "$DAEMON_PID"
t_ok "broken model: the loader's error is logged" wait_for 5 daemon_log_has "tier2 ad: reload: .*ad.tflite.*; keeping the loaded model"
t_is "a window after the broken reload" "$(post_window pump-1 "$T/w2.json" | sed 's/.*/x/')$(vector_window ad01_int8 0 7 0.1 1 > "$T/w7.json"; post_window pump-1 "$T/w7.json")" x2.04
t_ok "the old model still serves" wait_for 5 ran 7
want0=$(vector_mse ad01_int8 0)
t_ok "with the same result" rel_close "$(tier2_rows "AND node = 'pump-1' AND json_extract(body, '$.window') = 7" | cut -d'|' -f3- | jq -r .score)" "$want0" 1e-6
cp "$TE_MODELS/tflite/ad01_fp32.tflite" "$T/ad.tflite"
kill -HUP "$DAEMON_PID"
t_ok "a repaired file is loaded" wait_for 5 daemon_log_has "tier2 ad: reloaded"
vector_window ad01_int8 0 8 0.1 1 > "$T/w8.json"
t_is "window after the repair" "$(post_window pump-1 "$T/w8.json")" 2.04
t_ok "the new model serves" wait_for 5 ran 8
cp "$TE_MODELS/tflite/kws_ref_model.tflite" "$T/ad.tflite"
kill -HUP "$DAEMON_PID"
t_ok "a model of the wrong shape rejects the configuration" wait_for 5 daemon_log_has "output = anomaly needs a reconstruction"
t_ok "and the running configuration is kept" wait_for 5 daemon_log_has "reload: rejected"
vector_window ad01_int8 0 9 0.1 1 > "$T/w9.json"
t_is "window after the rejected reload" "$(post_window pump-1 "$T/w9.json")" 2.04
t_ok "the loaded model still serves" wait_for 5 ran 9

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_ok "no loop-close warning" sh -c "! grep -q 'still open\|uv_loop_close' '$T/daemon.log'"
t_ok "no sanitizer reports" sh -c "! grep -q 'Sanitizer\|runtime error' '$T/daemon.log'"
t_done
