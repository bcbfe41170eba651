# tests/e2e/lib-coap.sh - CoAP helpers for the end-to-end tests (sourced
# after lib.sh).  Uses the real coap-client of libcoap3-bin.

COAP_CLIENT=${COAP_CLIENT:-coap-client-openssl}

# coap_code ARGS...: run coap-client and print the last response code
# (e.g. 2.04, 4.00), or "none" when no response came.  The diagnostic
# text of an error response goes to $T/coap.diag.
coap_code() {
	local out code
	out=$("$COAP_CLIENT" -v 6 -B 3 "$@" 2> "$T/coap.diag")
	code=$(printf '%s\n' "$out" | grep -o ' c:[0-9]\.[0-9][0-9] ' | tail -n 1 | tr -d ' c:')
	echo "${code:-none}"
}

# coap_code_retry ARGS...: coap_code as a node sends: with no answer in
# time (a loaded test machine) or a 5.03, the same request (same seq, so
# the store takes it once) again after a second, at most three tries; the
# last code is printed, and each retry noted on stderr.
coap_code_retry() {
	local code try
	for try in 1 2 3; do
		code=$(coap_code "$@")
		case $code in
		none|5.03) echo "# try $try: $code" >&2; sleep 1 ;;
		*) break ;;
		esac
	done
	echo "$code"
}

# psk_hex TEXT: a key as the hex that psk_file wants.
psk_hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# db QUERY: run an SQL query on the daemon's store.
db() { store_settle; sqlite3 "$T/data/tinyedge.db" "$1"; }

# coap_resp ARGS...: run coap-client and print its last response line as
# -v 6 shows it ("v:1 t:ACK c:2.05 i:... {tok} [ options ] :: 'body'"),
# or "none".
coap_resp() {
	local line
	line=$("$COAP_CLIENT" -v 6 -B 3 "$@" 2> "$T/coap.diag" | grep -a ' c:[0-9]\.[0-9][0-9] ' | tail -n 1)
	echo "${line:-none}"
}

# coap_opt NAME LINE: the value of option NAME in a coap_resp line
# (e.g. coap_opt ETag "$line" prints 0x0000002a), empty when absent.
coap_opt() {
	printf '%s\n' "$2" | grep -o "[[ ]$1:[^],]*" | head -n 1 | sed "s/^.$1://; s/ *\$//"
}
