#!/bin/sh
# tflite-check.sh - check an int8 .tflite file with a second, independent
# TFLite runtime: LiteRT.js (Google's runtime compiled to WebAssembly, npm
# package @litertjs/core) must load it and give the output bytes of
# tinyedge's runtime (tinyedge-infer) on every input file.  A hand check
# for the models the gateway writes (src/tflite/tflite_write.c), not a
# test: it needs Node 20 and the npm registry, so scripts/test never runs it.
#
#   tools/tflite-check.sh [-b BUILD_DIR] [-t LSB] MODEL INPUT...
#
# INPUT files hold the raw bytes of the model's one input tensor; outputs
# are compared as int8.  LiteRT.js runs int8 FULLY_CONNECTED and CONV
# through XNNPACK, which requantizes in float (acc x scale rounded to
# nearest even) where TFLite's reference kernels, and tinyedge's, use a
# fixed-point multiply: the two can round a value 1 apart, and that
# difference can travel through later layers.  So an output may differ by
# up to LSB (default 1) and still count as agreeing; each line says how far
# apart the two were.  The npm package goes into a cache directory,
# $TFLITE_CHECK_CACHE or ~/.cache/tinyedge/litertjs, not into the
# repository.  Exit status: 0 if every output agrees, 1 if one does not or a
# runtime fails, 2 usage.
set -eu

VERSION=2.5.3
here=$(cd "$(dirname "$0")" && pwd)
build=build
tol=1
while [ $# -gt 0 ]; do
	case $1 in
	-b)	build=${2:?}; shift 2 ;;
	-t)	tol=${2:?}; shift 2 ;;
	*)	break ;;
	esac
done
if [ $# -lt 2 ]; then
	echo "usage: $0 [-b BUILD_DIR] [-t LSB] MODEL INPUT..." >&2
	exit 2
fi
model=$1
shift
infer=$build/tinyedge-infer
[ -x "$infer" ] || { echo "tflite-check: no $infer (build first)" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "tflite-check: needs node and npm" >&2; exit 2; }

cache=${TFLITE_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tinyedge/litertjs}
if [ ! -f "$cache/node_modules/@litertjs/core/package.json" ] ||
    ! grep -q "\"version\": \"$VERSION\"" \
    "$cache/node_modules/@litertjs/core/package.json"; then
	mkdir -p "$cache"
	[ -f "$cache/package.json" ] || echo '{"private": true}' >"$cache/package.json"
	npm install --prefix "$cache" --no-audit --no-fund --silent \
	    "@litertjs/core@$VERSION" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! node "$here/tflite-check.mjs" "$cache" "$model" "$@" >"$tmp/litert" \
    2>"$tmp/litert.log"; then
	echo "tflite-check: LiteRT.js failed on $model:" >&2
	grep -v '^INFO:' "$tmp/litert.log" >&2 || true
	exit 1
fi
status=0
n=0
for in in "$@"; do
	n=$((n + 1))
	"$infer" "$model" --input "$in" --output "$tmp/out"
	ours=$(od -An -v -tx1 "$tmp/out" | tr -d ' \n')
	theirs=$(sed -n "${n}p" "$tmp/litert")
	# the largest difference between the two as int8 values
	d=$(echo "$ours $theirs" | awk -v X=0123456789abcdef '
	    function v(h, i) {
		i = index(X, substr(h, 1, 1)) * 16 + index(X, substr(h, 2, 1))
		i -= 17
		return i > 127 ? i - 256 : i
	    }
	    { if (length($1) != length($2)) { print 999; exit }
	      m = 0
	      for (i = 1; i < length($1); i += 2) {
		x = v(substr($1, i, 2)) - v(substr($2, i, 2))
		if (x < 0) x = -x
		if (x > m) m = x
	      }
	      print m }')
	if [ "$d" -eq 0 ]; then
		echo "same   $in $ours"
	elif [ "$d" -le "$tol" ]; then
		echo "near $d $in tinyedge $ours litert $theirs"
	else
		echo "DIFF $d $in tinyedge $ours litert $theirs"
		status=1
	fi
done
exit $status
