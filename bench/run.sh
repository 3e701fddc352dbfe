#!/bin/sh
# bench/run.sh - benchmarks side by side, on loopback only; writes
# bench/RESULTS.md.  Called by `make bench` (which installs wrk,
# nginx-light, python3-flask and gunicorn and builds ./apiserver first).
#
# Every server is started by bench/bench.py on a free 127.0.0.1 port with a
# temporary directory and killed at the end, also on failure.  Each load
# run is bounded in time (BENCH_DUR seconds, default 10); the whole run
# takes about 8-10 minutes on a 2-core machine.
#
# Environment (optional): BENCH_DUR, BENCH_PREFILL (live nonce rows,
# default 6000000), BENCH_EXPIRED (expired rows, default 3000000),
# BENCH_MEM_REQS (default 1000000), BENCH_PARTS (default 1,3,5,4),
# BENCH_OUT (default bench/RESULTS.md), BENCH_KEEP=1 keeps the temp dir.
set -eu
cd "$(dirname "$0")/.."

for t in wrk nginx openssl cc; do
	command -v "$t" >/dev/null || { echo "bench: $t is missing (make bench installs it)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import flask, gunicorn' 2>/dev/null || {
	echo "bench: python3-flask and gunicorn are needed (make bench)" >&2; exit 1; }
[ -x ./apiserver ] || { echo "bench: build ./apiserver first (make)" >&2; exit 1; }

BENCH_TMP=$(mktemp -d /tmp/apiserver-bench.XXXXXX)
BENCH_BIN=$BENCH_TMP/bin
export BENCH_TMP BENCH_BIN
PY_PID=
cleanup() {
	if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
		kill -TERM "$PY_PID" 2>/dev/null || true
		wait "$PY_PID" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $BENCH_TMP" >&2
	else
		rm -rf "$BENCH_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$BENCH_BIN"
# A copy, so that a rebuild during the run does not change what we measure.
cp ./apiserver "$BENCH_BIN/apiserver"
cc -O2 -Wall -Wextra -o "$BENCH_BIN/gen_reqs" bench/gen_reqs.c \
	-Wl,-Bstatic -lbearssl -Wl,-Bdynamic
cc -O2 -Wall -Wextra -o "$BENCH_BIN/civetweb_min" bench/civetweb_min.c \
	-lcivetweb
# 1,000 idle TLS clients plus the servers' descriptors
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

/usr/bin/python3 bench/bench.py &
PY_PID=$!
wait "$PY_PID"
