#!/bin/bash
# conf-corpus.sh - run `tinyedged -t` on every file of tests/conf.
#
# good/*.ini must print "configuration OK" and exit 0 (run from
# tests/conf/good, whose files/ holds the secrets they name).  Each bad/*.ini
# names, in its first line ("; expect: LINE: message"), the line and the
# start of the message it must produce; the check wants exit status 1 and
# an output line "FILE:LINE: message...".
. "$(dirname "$0")/lib.sh"

C=$TE_SRCDIR/tests/conf

# Good files name their secrets relative to tests/conf/good (files/):
# every file key must name a file -t can read.
for f in "$C"/good/*.ini "$TE_SRCDIR"/conf/tinyedge.ini; do
	out=$(cd "$C/good" && "$TINYEDGED" -t -c "$f" 2>&1)
	rc=$?
	t_is "good $(basename "$f"): exit 0" "$rc" 0
	t_is "good $(basename "$f"): says OK" "$out" "configuration OK"
done

n=0
for f in "$C"/bad/*.ini; do
	n=$((n + 1))
	expect=$(head -n 1 "$f" | sed -n 's/^; expect: //p')
	line=${expect%%: *}
	msg=${expect#*: }
	out=$("$TINYEDGED" -t -c "$f" 2>&1)
	rc=$?
	t_is "bad $(basename "$f"): exit 1" "$rc" 1
	if printf '%s\n' "$out" | grep -qF -- "$f:$line: $msg"; then
		t_ok "bad $(basename "$f"): reports line $line: $msg" true
	else
		t_ok "bad $(basename "$f"): reports line $line: $msg" false
		printf '%s\n' "$out" | sed 's/^/#   got: /'
	fi
done
t_ok "at least 15 bad cases ($n)" test "$n" -ge 15

# Every error of a file is reported, not just the first.
cat "$C"/bad/unknown-key.ini "$C"/bad/bad-enum.ini | grep -v '^\[gateway\]\|^id =' > "$T/multi.ini"
printf '[gateway]\nid = gw\n' >> "$T/multi.ini"
out=$("$TINYEDGED" -t -c "$T/multi.ini" 2>&1)
t_is "several errors are all reported" "$(printf '%s\n' "$out" | grep -c "$T/multi.ini:")" 2

# A missing file is a config error too, with the path and the reason.
out=$("$TINYEDGED" -t -c "$T/nonexistent.ini" 2>&1)
t_is "missing file: exit 1" "$?" 1
t_ok "missing file: names the file" grep -q "nonexistent.ini: No such file" <<<"$out"

t_done
