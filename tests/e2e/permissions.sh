#!/bin/bash
# permissions.sh - files and permissions, with the real daemon.
#
# - The store is owner-only whatever the caller's umask: data_dir 0700,
#   tinyedge.db, its WAL and the journal segments 0600 (umask 077 in main).
# - As an unprivileged user (setpriv to nobody, no groups: tests run as
#   root, and root reads any file), a psk_file root:GROUP 0640 fails
#   `-t` and the start with FILE:LINE: cannot read PATH: Permission denied;
#   with GROUP as a supplementary group (what SupplementaryGroups=tinyedge
#   does under systemd) both pass.
# - A database the daemon may not open (a root-owned 0600 file, a data_dir
#   it cannot write, a directory in the file's place) is a start failure,
#   exit 3 with the reason, and the file is NOT moved aside: only a damaged
#   file is.
. "$(dirname "$0")/lib.sh"

command -v setpriv > /dev/null || t_skip_all "setpriv not installed"
[ "$(id -u)" = 0 ] || t_skip_all "needs root to switch to nobody"
NOBODY=$(id -u nobody) || t_skip_all "no user nobody"
NOGROUP=$(id -g nobody)
GROUP=64999	# a group nobody is not in; it need not be in /etc/group

# as_nobody [--groups G] CMD...: exec CMD as nobody with only the groups
# given (exec: a pid taken with $! is the daemon's, not a subshell's).
as_nobody() {
	local g=--clear-groups
	if [ "$1" = --groups ]; then
		g="--groups=$2"
		shift 2
	fi
	exec setpriv --reuid="$NOBODY" --regid="$NOGROUP" $g -- "$@"
}

# mode PATH: the permission bits of PATH in octal.
mode() { stat -c %a "$1"; }

# --- The store is created owner-only, even under umask 022. ---
write_conf "$T/c.ini" "[mqtt]" "uri = tcp://127.0.0.1:$(free_port)"
umask 022
t_ok "daemon starts under umask 022" start_daemon "$T/c.ini"
t_ok "store and journal created" wait_for 10 test -f "$T/data/journal/seg.000"
t_is "data_dir is 0700" "$(mode "$T/data")" 700
t_is "journal dir is 0700" "$(mode "$T/data/journal")" 700
for f in "$T"/data/tinyedge.db "$T"/data/tinyedge.db-wal "$T"/data/journal/seg.*; do
	t_is "$(basename "$f") is 0600" "$(mode "$f")" 600
done
t_ok "the WAL exists while running" test -f "$T/data/tinyedge.db-wal"
stop_daemon	# lifecycle.sh checks the exit status of a stop
umask 077

# --- Secrets nobody may read: -t and start fail with FILE:LINE. ---
# nobody must reach files under $T (mktemp makes it 0700).
chmod 711 "$T"
N=$T/nb
mkdir -m 755 "$N"
printf 'd1 %s\n' "$(printf 'secret-one-0123456789' | od -An -tx1 | tr -d ' \n')" > "$N/psk"
chown "0:$GROUP" "$N/psk"
chmod 640 "$N/psk"
mkdir -m 700 "$N/data"
chown "$NOBODY:$NOGROUP" "$N/data"
cat > "$N/c.ini" <<EOF
[gateway]
id = gw-test
data_dir = $N/data
[coap]
listen =
dtls_listen = 127.0.0.1:$(free_port udp)
psk_file = $N/psk
[mqtt]
uri = tcp://127.0.0.1:$(free_port)
EOF
chmod 644 "$N/c.ini"
out=$("$TINYEDGED" -t -c "$N/c.ini" 2>&1)
t_is "root itself reads the psk_file (-t passes as root)" "$?:$out" \
    "0:configuration OK"

out=$(as_nobody "$TINYEDGED" -t -c "$N/c.ini" 2>&1)
t_is "-t as nobody, psk_file root:$GROUP 0640: exit 1" "$?" 1
t_is "-t names FILE:LINE and the reason" "$out" \
    "$N/c.ini:7: cannot read $N/psk: Permission denied"

(as_nobody "$TINYEDGED" -c "$N/c.ini") > "$T/nb-start.log" 2>&1 &
pid=$!
t_track $pid
wait_exit $pid 10
t_is "start as nobody: refused with exit 1" "$EXIT_RC" 1
t_ok "start as nobody: the same FILE:LINE" grep -qx \
    "$N/c.ini:7: cannot read $N/psk: Permission denied" "$T/nb-start.log"
t_diag "$T/nb-start.log" 5

# With the secrets' group, as SupplementaryGroups= gives it, all is well.
out=$(as_nobody --groups "$GROUP" "$TINYEDGED" -t -c "$N/c.ini" 2>&1)
t_is "-t as nobody in group $GROUP: OK" "$?:$out" "0:configuration OK"
(as_nobody --groups "$GROUP" "$TINYEDGED" -c "$N/c.ini") > "$T/nb-run.log" 2>&1 &
pid=$!
t_track $pid
t_ok "start as nobody in group $GROUP: runs" \
    wait_for 10 grep -q "started, gateway" "$T/nb-run.log"
kill -TERM $pid
wait_exit $pid 10
t_is "its store is nobody's" "$(stat -c %u "$N/data/tinyedge.db")" "$NOBODY"

# --- A database the daemon may not open: exit 3, never moved aside. ---
sed -i '/^dtls_listen\|^psk_file/d' "$N/c.ini"

# start_refused NAME WHY: start as nobody; expect exit 3 and "cannot
# start: WHY" in the log.
start_refused() {
	local log=$T/refused-$1.log
	(as_nobody "$TINYEDGED" -c "$N/c.ini") > "$log" 2>&1 &
	pid=$!
	t_track $pid
	wait_exit $pid 10
	t_is "$1: exit 3" "$EXIT_RC" 3
	t_ok "$1: says why" grep -q "error: cannot start: $2" "$log"
	t_ok "$1: nothing moved aside" test -z "$(ls "$N/data" | grep corrupt)"
	t_ok "$1: not called unusable" eval "! grep -q unusable '$log'"
	t_diag "$log" 5
}

# A real store nobody made, now root's and 0600.
sum=$(cksum < "$N/data/tinyedge.db")
chown 0:0 "$N"/data/tinyedge.db*
chmod 600 "$N"/data/tinyedge.db*
start_refused "db root-owned 0600" \
    "$N/data/tinyedge.db: unable to open database file"
t_is "db root-owned 0600: bytes untouched" "$(cksum < "$N/data/tinyedge.db")" "$sum"
t_is "db root-owned 0600: still in place, still root's" \
    "$(stat -c %u:%a "$N/data/tinyedge.db")" "0:600"

# A data_dir nobody cannot write (no database yet).
rm -rf "$N/data"
mkdir -m 755 "$N/data"
start_refused "data_dir not writable" \
    "data_dir $N/data: not writable: Permission denied"
t_ok "data_dir not writable: no file created" test -z "$(ls -A "$N/data")"

# A directory where the database should be (no permission helps).
mkdir -m 777 "$N/data/tinyedge.db"
chown -R "$NOBODY:$NOGROUP" "$N/data"
start_refused "db is a directory" \
    "$N/data/tinyedge.db: unable to open database file"
t_ok "db is a directory: still a directory" test -d "$N/data/tinyedge.db"

t_done
