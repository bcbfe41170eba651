#!/bin/bash
# senml.sh - SenML packs (senml+json 110, senml+cbor 112) and CBOR bodies
# (60) against the real daemon, the real coap-client and a real mosquitto
# subscriber (SPEC 14): a table of requests and their codes, diagnostics,
# the stored kind, the resolved pack on P/senml/{node} with its id, the
# per-name SenML statistics in P/summary/{node}, and nodesim --cbor.
# CBOR payloads are written by hand in python3 (no cbor2 needed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
command -v mosquitto_sub > /dev/null || t_skip_all "mosquitto_sub not installed"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" "log_level = debug" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "[summary]" "interval = 2s"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v \
	-t 'tinyedge/gw-test/senml/#' -t 'tinyedge/gw-test/summary/#' \
	> "$T/mqtt.txt" 2>/dev/null &
t_track $!
t_ok "daemon starts" start_daemon "$T/d.ini"
U=coap://127.0.0.1:$COAP_PORT/v1/n

python3 - "$T" <<'PY'
import struct, sys
t = sys.argv[1]
def head(mt, n):
    if n < 24: return bytes([mt << 5 | n])
    if n < 256: return bytes([mt << 5 | 24, n])
    if n < 65536: return bytes([mt << 5 | 25]) + struct.pack('>H', n)
    return bytes([mt << 5 | 26]) + struct.pack('>I', n)
def enc(x):
    if x is True: return b'\xf5'
    if x is False: return b'\xf4'
    if x is None: return b'\xf6'
    if isinstance(x, int): return head(0, x) if x >= 0 else head(1, -1 - x)
    if isinstance(x, float): return b'\xfb' + struct.pack('>d', x)
    if isinstance(x, str): b = x.encode(); return head(3, len(b)) + b
    if isinstance(x, bytes): return head(2, len(x)) + x
    if isinstance(x, list): return head(4, len(x)) + b''.join(enc(i) for i in x)
    if isinstance(x, dict): return head(5, len(x)) + b''.join(enc(k) + enc(v) for k, v in x.items())
def w(name, data): open(t + '/' + name, 'wb').write(data)
# senml+json: relative base time, base name, unit and value.
w('p1.json', b'[{"bn":"dev1/","bt":-10,"bu":"Cel","bv":20,"n":"temp","v":1.5},'
    b'{"n":"temp","t":5,"v":3.5},{"n":"hum","u":"%RH","v":40,"bt":1700000000,"t":0.25},'
    b'{"n":"door","vb":true}]')
# senml+cbor with the integer labels of RFC 8428: the same names.
w('p2.cbor', enc([{-2: 'dev1/', -3: 1700000100, 0: 'temp', 1: 'Cel', 2: 25.5},
    {0: 'raw', 8: b'\x01\x02\x03'}]))
w('bad-ver.json', b'[{"bver":11,"n":"x","v":1}]')
w('bad-name.json', b'[{"v":1}]')
w('bad-two.json', b'[{"n":"x","v":1,"vs":"a"}]')
w('bad-type.json', b'[{"n":"x","v":"1"}]')
w('bad-many.json', b'[' + b','.join([b'{"n":"x","v":1}'] * 257) + b']')
w('bad-trail.cbor', enc([{0: 'x', 2: 1}]) + b'\x00')
w('bad-indef.cbor', b'\x9f' + enc({0: 'x', 2: 1}) + b'\xff')
w('bad-huge.cbor', b'\x9a\x00\x10\x00\x00' + enc({0: 'x', 2: 1}))
w('bad-bytes.cbor', enc([{0: 'x', 3: b'ab'}]))
# CBOR bodies (content-format 60), the keys of the JSON bodies.
w('inf.cbor', enc({'seq': 1, 'boot': 3, 'model': 'kws', 'label': 'yes', 'score': 0.75}))
w('win.cbor', enc({'seq': 2, 'interval_ms': 10, 'sensors': [{'name': 'x'}, {'name': 'y'}],
    'values': [[1.5, 2.0], [3.0, 4.0]]}))
w('hb.cbor', enc({'battery_mv': 3300, 'fw': '1.2'}))
w('bad-score.cbor', enc({'seq': 3, 'model': 'm', 'label': 'l', 'score': 'high'}))
w('bad-seq.cbor', enc({'model': 'm', 'label': 'l', 'score': 0.5}))
deep = [1]
for i in range(20): deep = [deep]
w('bad-deep.cbor', enc({'seq': 4, 'x': deep}))
w('bad-trail2.cbor', enc({'seq': 5, 'model': 'm', 'label': 'l', 'score': 0.5}) + b'\xff')
w('bad-indef2.cbor', b'\xbf' + enc('seq') + enc(1) + b'\xff')
w('bad-array.cbor', enc([1, 2]))
PY

# code | content-format | path | payload file | diagnostic (part of it)
table() {
	cat <<'ROWS'
2.04|110|s1/senml|p1.json|
2.04|112|s1/senml|p2.cbor|
4.00|110|s1/senml|bad-ver.json|records[0]: bver: must be an integer from 1 to 10
4.00|110|s1/senml|bad-name.json|records[0]: no name
4.00|110|s1/senml|bad-two.json|more than one of v, vs, vb, vd
4.00|110|s1/senml|bad-type.json|records[0]: v: must be a number
4.00|110|s1/senml|bad-many.json|pack: more than 256 records
4.00|112|s1/senml|bad-trail.cbor|1 bytes after the item
4.00|112|s1/senml|bad-indef.cbor|indefinite lengths are not accepted
4.00|112|s1/senml|bad-huge.cbor|more items declared than bytes left
4.00|112|s1/senml|bad-bytes.cbor|byte strings are not accepted
4.00|112|s1/senml|p1.json|invalid CBOR
4.00|110|s1/senml|p2.cbor|invalid JSON
4.15|50|s1/senml|p1.json|use content-format 110 or 112
4.15|110|s1/inference|p1.json|use content-format 50 or 60
2.04|60|c1/inference|inf.cbor|
2.04|60|c1/window|win.cbor|
2.04|60|c1/heartbeat|hb.cbor|
4.00|60|c1/inference|bad-score.cbor|score: must be a number in [0,1]
4.00|60|c1/inference|bad-seq.cbor|seq: required
4.00|60|c1/inference|bad-deep.cbor|nested too deeply
4.00|60|c1/inference|bad-trail2.cbor|1 bytes after the item
4.00|60|c1/inference|bad-indef2.cbor|indefinite lengths are not accepted
4.00|60|c1/inference|bad-array.cbor|body must be a CBOR map
4.00|60|c1/inference|p1.json|invalid CBOR
ROWS
}

before_ms=$(($(date +%s%3N)))
rows=0
while IFS='|' read -r want cf path file diag; do
	rows=$((rows + 1))
	line=$(coap_resp -m post -t "$cf" -f "$T/$file" "$U/$path")
	t_is "row $rows: ct=$cf /$path $file -> $want" "$(printf '%s' "$line" | grep -o ' c:[0-9]\.[0-9][0-9] ' | tr -d ' c:')" "$want"
	[ -n "$diag" ] && t_ok "row $rows: diagnostic \"$diag\"" grep -qF -- "$diag" <<<"$line"
done < <(table)
after_ms=$(($(date +%s%3N)))
t_ok "the table has at least 25 requests ($rows)" test "$rows" -ge 25
t_ok "daemon still running" kill -0 "$DAEMON_PID"

# Stored: two packs as kind 5, CBOR bodies stored as their JSON.
t_is "two SenML packs stored (kind 5)" "$(db "select count(*) from msg where kind = 5 and node = 's1'")" 2
t_is "a pack has no seq (never a duplicate)" "$(db "select count(*) from msg where kind = 5 and seq is null")" 2
t_is "the CBOR inference is stored as JSON" "$(db "select json_extract(body, '$.label') || ',' || json_extract(body, '$.score') || ',' || boot from msg where node = 'c1' and kind = 1")" "yes,0.75,3"
t_is "the CBOR window as JSON rows" "$(db "select json_extract(body, '$.values[1][0]') from msg where node = 'c1' and kind = 2")" 3
t_is "the CBOR heartbeat as JSON" "$(db "select json_extract(body, '$.battery_mv') from msg where node = 'c1' and kind = 3")" 3300
t_is "the same pack again is stored again (no seq: no duplicate)" "$(coap_code -m post -t 110 -f "$T/p1.json" "$U/s2/senml")$(coap_code -m post -t 110 -f "$T/p1.json" "$U/s2/senml")" "2.042.04"

# Published on P/senml/s1, resolved, with an id; the summary of s1 has the
# per-name statistics of its numeric values.
t_ok "both packs of s1 published" wait_for 10 sh -c "[ \$(grep -c '^tinyedge/gw-test/senml/s1 ' '$T/mqtt.txt') -ge 2 ]"
t_ok "a summary of s1 with SenML statistics published" wait_for 10 grep -q '^tinyedge/gw-test/summary/s1 .*"senml"' "$T/mqtt.txt"
python3 - "$T/mqtt.txt" "$before_ms" "$after_ms" > "$T/check.out" <<'PY'
import json, sys
f, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
packs, sums = [], []
for line in open(f):
    topic, _, payload = line.rstrip('\n').partition(' ')
    if topic == 'tinyedge/gw-test/senml/s1': packs.append(json.loads(payload))
    if topic == 'tinyedge/gw-test/summary/s1': sums.append(json.loads(payload))
def check(what, cond): print(('ok ' if cond else 'FAIL ') + what)
p1, p2 = packs[0], packs[1]
check('pack ids are distinct strings', all(isinstance(p['id'], str) for p in packs) and p1['id'] != p2['id'])
check('pack names the node', p1['node'] == 's1' and p2['node'] == 's1')
r = p1['records']
check('four records resolved', len(r) == 4)
check('bn + n: dev1/temp, dev1/hum, dev1/door', [x['n'] for x in r] == ['dev1/temp', 'dev1/temp', 'dev1/hum', 'dev1/door'])
check('bv + v: 21.5 and 23.5', r[0]['v'] == 21.5 and r[1]['v'] == 23.5)
check('bu applies, u overrides', r[0]['u'] == 'Cel' and r[2]['u'] == '%RH')
check('relative bt -10 made absolute (ms) near now', lo - 10000 - 2000 <= r[0]['ts'] <= hi - 10000 + 2000)
check('relative t +5 after bt -10', r[1]['ts'] - r[0]['ts'] == 5000)
check('t in seconds matches ts', abs(r[0]['t'] * 1000 - r[0]['ts']) < 1)
check('absolute bt + t kept', r[2]['ts'] == 1700000000250)
check('vb kept, bv not applied to it', r[3].get('vb') is True and 'v' not in r[3])
check('no base fields left', not any(k.startswith('b') for x in r for k in x))
q = p2['records']
check('CBOR labels resolved: dev1/temp 25.5 Cel at 1700000100 s', q[0] == {'n': 'dev1/temp', 'u': 'Cel', 'v': 25.5, 't': 1700000100, 'ts': 1700000100000})
check('CBOR vd bytes as base64url', q[1]['n'] == 'dev1/raw' and q[1]['vd'] == 'AQID')
st = {}
for s in sums:
    for k, v in s.get('senml', {}).items():
        a = st.setdefault(k, [0, 0.0, None, None])
        a[0] += v['n']; a[1] += v['mean'] * v['n']
        a[2] = v['min'] if a[2] is None else min(a[2], v['min'])
        a[3] = v['max'] if a[3] is None else max(a[3], v['max'])
t = st.get('dev1/temp')
check('summary: dev1/temp n 3, min 21.5, max 25.5, mean 23.5', t is not None and t[0] == 3 and t[2] == 21.5 and t[3] == 25.5 and abs(t[1] / t[0] - 23.5) < 1e-9)
h = st.get('dev1/hum')
check('summary: dev1/hum n 1, 60 (bv 20 + v 40)', h is not None and h[0] == 1 and h[2] == 60 and h[3] == 60)
check('summary: only numeric values (no door, no raw)', 'dev1/door' not in st and 'dev1/raw' not in st)
PY
while read -r line; do
	case $line in
	ok\ *) t_ok "${line#ok }" true ;;
	*) t_ok "${line#FAIL }" false ;;
	esac
done < "$T/check.out"

# The per-name bound: 70 names in one interval, 64 with statistics.
python3 -c "
import json
print(json.dumps([{'n': 'k%02d' % i, 'v': i} for i in range(70)]))" > "$T/many.json"
t_is "a pack of 70 names: 2.04" "$(coap_code -m post -t 110 -f "$T/many.json" "$U/s3/senml")" 2.04
t_ok "the summary of s3 lists 64 names and counts 6 untracked" wait_for 10 python3 -c "
import json, sys
for line in open('$T/mqtt.txt'):
    t, _, p = line.rstrip('\n').partition(' ')
    if t == 'tinyedge/gw-test/summary/s3':
        s = json.loads(p)
        sys.exit(0 if len(s['senml']) == 64 and s['senml_untracked'] == 6 else 1)
sys.exit(1)"

# nodesim --cbor: every message acknowledged, stored as JSON.
"$NODESIM" --coap "coap://127.0.0.1:$COAP_PORT" --cbor --nodes 2 --rate 20 \
	--duration 2 --windows-every 4 --prefix cb --seed 3 --json > "$T/sim.json" 2> "$T/sim.err"
t_is "nodesim --cbor exits 0" "$?" 0
t_ok "nodesim --cbor: nothing failed" python3 -c "
import json; r = json.load(open('$T/sim.json')); assert r['acked'] > 20 and r['failed'] == 0, r"
t_ok "its inferences are stored" test "$(db "select count(*) from msg where node like 'cb%' and kind = 1")" -gt 10

# kill -9 right after the 2.04: the pack is still published and counted
# once (at-least-once MQTT may repeat a message: then with the same id).
t_is "a pack of s4: 2.04" "$(coap_code -m post -t 110 -e '[{"n":"p","v":7},{"n":"p","v":9}]' "$U/s4/senml")" 2.04
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
t_ok "daemon restarts after kill -9" start_daemon "$T/d.ini"
# s4: every P/senml copy has one id and two records; every summary copy
# has one id and p: n 2, mean 8, min 7, max 9.
s4_ok() {
	python3 - "$T/mqtt.txt" <<'PY'
import json, sys
packs, sums = [], []
for line in open(sys.argv[1]):
    t, _, p = line.rstrip('\n').partition(' ')
    if t == 'tinyedge/gw-test/senml/s4': packs.append(json.loads(p))
    if t == 'tinyedge/gw-test/summary/s4': sums.append(json.loads(p))
ok = (packs and len({p['id'] for p in packs}) == 1 and len(packs[0]['records']) == 2 and
      sums and len({s['id'] for s in sums}) == 1 and
      all(s['senml'] == {'p': {'n': 2, 'mean': 8, 'min': 7, 'max': 9}} for s in sums))
sys.exit(0 if ok else 1)
PY
}
t_ok "after kill -9: s4 published and summarized exactly once" wait_for 10 s4_ok
sleep 2.5
t_ok "and still once an interval later" s4_ok

stop_daemon
t_is "daemon stops cleanly" "$EXIT_RC" 0
t_done
