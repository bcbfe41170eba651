# tests/e2e/lib-tier2.sh - helpers for the tier-2 end-to-end tests (sourced
# after lib.sh and lib-coap.sh).  The reference values come from the shared
# model vectors ($TE_MODELS) and are computed here with python3.

TE_MODELS=${TE_MODELS:-$TE_SRCDIR/../shared/models}
NODESIM=${NODESIM:-$TE_BUILDDIR/tinyedge-nodesim}

# tier2_require: skip the whole test without the shared models or tools.
tier2_require() {
	[ -f "$TE_MODELS/tflite/ad01_int8.tflite" ] || t_skip_models "no models in $TE_MODELS"
	command -v jq >/dev/null || t_skip_all "jq not installed"
	command -v "$COAP_CLIENT" >/dev/null || t_skip_all "$COAP_CLIENT not installed"
}

# vector_window MODEL N SEQ SCORE AXES: a window JSON carrying the
# dequantized input of vector N of MODEL (int8; MANIFEST quantization),
# AXES values per row; SCORE "" for no tier-1 result.
vector_window() {
	python3 - "$TE_MODELS" "$@" <<'PY'
import json, sys
d, model, n, seq, score, axes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
q = json.load(open(d + "/MANIFEST.json"))[model]["input"]["quant"]
raw = open("%s/vectors/%s/input_%02d.bin" % (d, model, n), "rb").read()
vals = [(b - 256 if b > 127 else b) for b in raw]
vals = [(v - q["zero_point"]) * q["scale"] for v in vals]
rows = [[float("%.9g" % x) for x in vals[i:i + axes]] for i in range(0, len(vals), axes)]
w = {"seq": seq, "boot": 3, "interval_ms": 1,
     "sensors": [{"name": "s%d" % i} for i in range(axes)], "values": rows}
if score:
    w.update(model="tiny", label="idle", score=float(score))
print(json.dumps(w, separators=(",", ":")))
PY
}

# vector_mse MODEL N: the MSE between vector N's dequantized input and
# its dequantized expected output (an autoencoder's anomaly score).
vector_mse() {
	python3 - "$TE_MODELS" "$@" <<'PY'
import json, struct, sys
d, model, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = json.load(open(d + "/MANIFEST.json"))[model]
qi, qo = m["input"]["quant"], m["output"]["quant"]
s8 = lambda b: b - 256 if b > 127 else b
x = [struct.unpack("f", struct.pack("f", (s8(b) - qi["zero_point"]) * qi["scale"]))[0]
     for b in open("%s/vectors/%s/input_%02d.bin" % (d, model, n), "rb").read()]
y = [(s8(b) - qo["zero_point"]) * qo["scale"]
     for b in open("%s/vectors/%s/expected_%02d.bin" % (d, model, n), "rb").read()]
print(repr(sum((a - b) ** 2 for a, b in zip(x, y)) / len(x)))
PY
}

# vector_argmax MODEL N: index of the largest value of expected output N.
vector_argmax() {
	python3 - "$TE_MODELS" "$@" <<'PY'
import sys
d, model, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
e = [b - 256 if b > 127 else b for b in open("%s/vectors/%s/expected_%02d.bin" % (d, model, n), "rb").read()]
print(e.index(max(e)))
PY
}

# rel_close A B TOL: |A - B| <= TOL * |B|.
rel_close() {
	python3 -c "import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(0 if abs(a - b) <= t * abs(b) else 1)" "$1" "$2" "$3"
}

# tier2_rows [WHERE]: stored tier-2 rows (kind 4), "node|seq|body" lines.
tier2_rows() {
	sqlite3 "$T/data/tinyedge.db" "SELECT node, seq, body FROM msg WHERE kind = 4 ${1:-} ORDER BY id"
}

# tier2_count [WHERE]: number of stored tier-2 rows.
tier2_count() {
	sqlite3 "$T/data/tinyedge.db" "SELECT count(*) FROM msg WHERE kind = 4 ${1:-}"
}

# tier2_count_is N [WHERE]: for wait_for.
tier2_count_is() { [ "$(tier2_count "${2:-}")" = "$1" ]; }

# tier2_count_ge N [WHERE]: for wait_for.
tier2_count_ge() { [ "$(tier2_count "${2:-}")" -ge "$1" ]; }

# post_window NODE FILE: POST a JSON window file, print the CoAP code.
post_window() {
	coap_code -m post -t 50 -f "$2" "coap://127.0.0.1:$COAP_PORT/v1/n/$1/window"
}

# last_metrics_of FILE: the last P/metrics body in a subscriber file.
last_metrics_of() { grep '/metrics ' "$1" | tail -n 1 | cut -d' ' -f2-; }
