#!/bin/sh
# uplink-password.sh - mqtt.username and mqtt.password_file against a real
# mosquitto that refuses anonymous clients: the password file's first line
# is the password (the right one connects: retained P/status online), a
# world-readable file is warned about, a wrong password never connects
# (the retained status stays what the clean stop left: offline), and a
# missing file is a FILE:LINE config error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"

command -v mosquitto_passwd > /dev/null ||
    t_skip_all "mosquitto_passwd not installed"

PORT=$(free_port)
mosquitto_passwd -c -b "$T/passwd" gw 's3cret pass' > /dev/null 2>&1
# mosquitto reads its password file after dropping to its own user unless
# told to stay the user it runs as ($T is private).
printf '%s\n' "listener $PORT 127.0.0.1" "allow_anonymous false" \
    "password_file $T/passwd" "persistence false" "user $(id -un)" \
    > "$T/m.conf"
mosquitto -c "$T/m.conf" > "$T/m.log" 2>&1 &
t_track $!
wait_for 10 mosquitto_pub -h 127.0.0.1 -p "$PORT" -u gw -P 's3cret pass' \
    -t te/probe -m x
mosquitto_pub -h 127.0.0.1 -p "$PORT" -t te/probe -m x > /dev/null 2>&1
t_is "anonymous clients are refused" "$?" 5

# status: the retained P/status, read with the right credentials.
status() { retained_of "$PORT" "$PREFIX/status" -u gw -P 's3cret pass'; }
online() { status | grep -q '"state":"online"'; }

printf 's3cret pass\nsecond line ignored\n' > "$T/pw"
chmod 644 "$T/pw"
mqtt_conf "$T/c.ini" "$PORT" "username = gw" "password_file = $T/pw"
start_daemon "$T/c.ini"
t_ok "right password: connected (retained online)" wait_for 10 online
t_ok "a world-readable password file is warned about" \
    daemon_log_has "$T/pw is world-readable"
stop_daemon
offline() { status | grep -q '"state":"offline"'; }
t_ok "clean stop: offline" wait_for 5 offline

printf 'wrong\n' > "$T/pw"
chmod 600 "$T/pw"
: > "$T/daemon.log"
start_daemon "$T/c.ini"
sleep 3
t_ok "wrong password: never online (still offline)" offline
t_ok "the refusal is logged" \
    daemon_log_has "uplink: connect to tcp://127.0.0.1:$PORT failed"
t_ok "no warning for a private file" sh -c "! grep -q 'world-readable' '$T/daemon.log'"
stop_daemon

rm -f "$T/pw"
t_is "missing password file: a config error naming it" \
    "$("$TINYEDGED" -c "$T/c.ini" 2>&1 | grep -c "c.ini:[0-9]*: cannot read $T/pw")" 1
t_done
