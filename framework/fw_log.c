/* SPDX-License-Identifier: MIT */
/*
 * fw_log.c - the one logger: timestamped lines on stderr.
 *
 * Never given secrets, signatures or bodies (callers' contract); peer
 * strings are escaped with fw_log_escape first.  Any thread may call:
 * each line is formatted on the caller's stack and written with a single
 * write(2), so lines from different threads never interleave and no
 * lock is taken on the request path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiserver.h"
#include "fw_err.h"

static enum fw_log_level log_level = FW_LOG_INFO;
static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
fw_log_set_level(enum fw_log_level level)
{
	log_level = level;
}

void
fw_log(enum fw_log_level level, const char *fmt, ...)
{
	char line[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t len;
	int n, m;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s ", stamp,
	    ts.tv_nsec / 1000000, log_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	/* A line too long for the buffer is cut, never split. */
	len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
		continue;
}

char *
fw_log_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return out;
	}
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '"' &&
		    c != '\\') ? 1 : 4;

		/* Keep room for "..." and the NUL. */
		if (o + need > outlen - 4) {
			memcpy(out + o, "...", 4);
			return out;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

void
fw_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
