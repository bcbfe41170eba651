#!/bin/sh
# store-cap.sh - a small store.max_bytes and a long outage: the process
# stays up, the payload bytes stay under the cap and the file near it,
# store.dropped counts the drops, the newest rows survive and are the ones
# sent when the broker comes back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"

N=5000
CAP=65536
PORT=$(free_port)
mqtt_conf "$T/c.ini" "$PORT" "[store]" "max_bytes = 64K"
start_driver "$T/c.ini" "$T/out.txt" -n $N -s 200 -m -B 50
t_ok "all puts acknowledged" wait_for 30 file_has "$T/out.txt" \
    "committed $((2 * N)) dup 0 refused 0"
t_ok "process still up" kill -0 "$DRIVER_PID"
line=$(grep '^store ' "$T/out.txt")
echo "# $line"
bytes=$(echo "$line" | sed 's/.* bytes=\([0-9]*\).*/\1/')
dropped=$(echo "$line" | sed 's/.* dropped=\([0-9]*\).*/\1/')
t_ok "payload bytes within max_bytes ($bytes)" test "$bytes" -le $CAP
t_ok "store.dropped counts the drops ($dropped)" test "$dropped" -gt 4000
# Row overhead counts against max_bytes: once the idle checkpoint has
# copied the WAL in, the database file is within twice the cap.
t_ok "the idle checkpoint ran" wait_for 30 file_has "$T/out.txt" "^io_ckpt"
db=$(stat -c %s "$T/data/tinyedge.db")
wal=$(stat -c %s "$T/data/tinyedge.db-wal" 2>/dev/null || echo 0)
echo "# db $db bytes, wal $wal bytes"
t_ok "database file within twice the cap ($db bytes)" test "$db" -le $((2 * CAP))
t_ok "drops logged" file_has "$T/driver.log" "dropped [0-9]* oldest rows over store.max_bytes"
Q="SELECT min(json_extract(payload, '\$.seq')), max(json_extract(payload, '\$.seq')) FROM outbox"
r=$(sqlite3 "$T/data/tinyedge.db" "$Q")
echo "# outbox seq range $r"
t_is "newest row kept" "${r#*|}" $((N - 1))
t_ok "oldest rows dropped" test "${r%|*}" -gt 4000

# Broker back: exactly the surviving (newest) rows go out.
start_broker "$PORT" || { echo "Bail out! mosquitto did not start"; exit 1; }
start_sub "$PORT" "$PREFIX/events/#" "$T/sub.txt"
t_ok "survivors drain after the outage" wait_for 30 outbox_empty
sleep 0.3
stop_sub
t_is "last row published" "$(seqs_of "$T/sub.txt" | tail -n 1)" $((N - 1))
t_is "first published is the oldest survivor" \
    "$(seqs_of "$T/sub.txt" | head -n 1)" "${r%|*}"
[ "$_t_fail" = 0 ] || t_diag "$T/driver.log"
t_clean_logs
t_done
