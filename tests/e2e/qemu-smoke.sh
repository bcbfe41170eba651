#!/bin/bash
# qemu-smoke.sh - the cross-built daemon end to end under qemu-user (issue
# 17): tinyedged of build-arm64/ (or TE_QEMU_ARCH's build) runs under
# scripts/qemu-run with the host's mosquitto and coap-client on loopback.
# A reading posted with coap-client is acknowledged and arrives on MQTT as
# an event; a binary window and a heartbeat are acknowledged; P/metrics
# flows; SIGTERM stops it cleanly with the retained status "offline".  The
# daemon's RSS is read from /proc while it runs: that of the qemu process,
# so an upper bound of what the daemon needs on a Pi (qemu adds its own
# code cache and the translator).
#
# Not part of the native `make check` (its binaries are ARM):
# scripts/qemu-test runs it through the TAP driver.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-coap.sh"
ARCH=${TE_QEMU_ARCH:-arm64}
XDIR=${TE_CROSS_BUILDDIR:-$TE_SRCDIR/build-$ARCH}
command -v "$COAP_CLIENT" > /dev/null || t_skip_all "$COAP_CLIENT not installed"
[ -x "$XDIR/tinyedged" ] || t_skip_all "no cross build in $XDIR (scripts/cross $ARCH)"

# start_daemon runs "$TINYEDGED": this wrapper execs qemu, so the pid it
# gets is that of the qemu process that runs the daemon.
printf '#!/bin/sh\nexec "%s" %s "%s" "$@"\n' "$TE_SRCDIR/scripts/qemu-run" \
	"$ARCH" "$XDIR/tinyedged" > "$T/tinyedged"
chmod +x "$T/tinyedged"
TINYEDGED=$T/tinyedged
t_is "the daemon under test is an ARM binary" \
	"$(od -An -tu2 -j18 -N2 "$XDIR/tinyedged" | tr -d ' ')" \
	"$([ "$ARCH" = arm64 ] && echo 183 || echo 40)"
t_ok "tinyedged -V under qemu" sh -c "'$TINYEDGED' -V | grep -q '^tinyedged '"

MQTT_PORT=$(free_port)
COAP_PORT=$(free_port udp)
P=tinyedge/gw-test
U=coap://127.0.0.1:$COAP_PORT/v1/n
start_mosquitto "$MQTT_PORT"
write_conf "$T/d.ini" "[coap]" "listen = 127.0.0.1:$COAP_PORT" \
	"[mqtt]" "uri = tcp://127.0.0.1:$MQTT_PORT" "metrics_interval = 1s" \
	"[summary]" "debounce = 0" "event_min_score = 0.8"
t_ok "tinyedged -t under qemu accepts the configuration" \
	sh -c "'$TINYEDGED' -t -c '$T/d.ini' | grep -q 'configuration OK'"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t "$P/#" \
	> "$T/mqtt.txt" 2>/dev/null &
t_track $!
# Emulated, the daemon starts slower than natively: wait longer than
# start_daemon's 10 s if it needs to.
start_daemon "$T/d.ini" || wait_for 30 daemon_log_has "started, gateway"
t_ok "the daemon starts under qemu" daemon_log_has "started, gateway"
t_ok "P/status online" wait_for 20 grep -q "^$P/status .*\"online\"" "$T/mqtt.txt"

t_is "coap-client POST inference -> 2.04" "$(coap_code -m post -t 50 \
	-e '{"seq":41,"boot":3,"model":"kws","label":"yes","score":0.93}' \
	"$U/pi1/inference")" 2.04
t_ok "the reading arrives on MQTT as an event" wait_for 20 grep -q \
	"^$P/events/pi1 .*\"label\":\"yes\".*\"seq\":41" "$T/mqtt.txt"
python3 -c 'import struct, sys
sys.stdout.buffer.write(b"TW" + bytes([1, 2, 2, 0]) +
    struct.pack("<HIIf", 3, 9, 10000, 0.01) + struct.pack("<6h", *range(6)))' \
	> "$T/win.bin"
t_is "binary window (content-format 42) -> 2.04" \
	"$(coap_code -m post -t 42 -f "$T/win.bin" "$U/pi1/window")" 2.04
t_is "heartbeat -> 2.04" "$(coap_code -m post -t 50 -e '{"battery":3.6}' \
	"$U/pi1/heartbeat")" 2.04
t_ok "P/nodes/pi1/status online" wait_for 20 grep -q \
	"^$P/nodes/pi1/status .*\"online\"" "$T/mqtt.txt"
t_ok "P/metrics counts the three CoAP messages" wait_for 20 grep -q \
	"^$P/metrics .*\"coap\":3[,}]" "$T/mqtt.txt"

# The RSS of the qemu process, an upper bound of the daemon's on a Pi.
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null)
echo "# $ARCH tinyedged under qemu: VmRSS ${rss:-?} kB, VmHWM ${hwm:-?} kB"
t_ok "RSS under qemu is below 256 MB (${rss:-?} kB)" \
	test "${rss:-999999999}" -lt 262144

stop_daemon
t_is "SIGTERM: exit status 0" "$EXIT_RC" 0
t_ok "P/status offline after the stop" wait_for 10 grep -q \
	"^$P/status .*\"offline\"" "$T/mqtt.txt"
[ "$_t_fail" = 0 ] || t_diag "$T/daemon.log"
t_done
