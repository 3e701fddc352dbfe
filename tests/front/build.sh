#!/bin/sh
# Build the front-end harness outside the Makefile.  Usage:
#   tests/front/build.sh [OUT] [EXTRA CFLAGS...]   (from the repo root)
set -e
out=${1:-build/front_harness}
[ $# -gt 0 ] && shift
mkdir -p "$(dirname "$out")"
WARN="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
 -Wmissing-prototypes -Wformat=2 -Wvla -Wconversion -Werror"
cc $WARN -D_GNU_SOURCE -Iframework -O2 -g -pthread "$@" -o "$out" \
	tests/front/front_harness.c framework/fw_front.c \
	framework/fw_tls_creds.c framework/fw_peers.c framework/fw_log.c \
	-Wl,-Bstatic -lbearssl -Wl,-Bdynamic -lcivetweb
