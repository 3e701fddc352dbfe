/* SPDX-License-Identifier: MIT */
/*
 * fw_der.c - the DER writer behind fw_cert.
 *
 * Every write checks the room left; an overflow sets d->err and later
 * writes do nothing.  Lengths are placeholders of three bytes until
 * fw_der_close shortens them.
 */
#include <stdio.h>
#include <string.h>

#include "fw_der.h"

#define DER_LEN_RESERVE	3	/* 0x82 hi lo */

void
fw_der_init(struct fw_der *d, unsigned char *buf, size_t cap)
{
	d->buf = buf;
	d->cap = cap;
	d->len = 0;
	d->err = 0;
}

static void
der_put(struct fw_der *d, const void *data, size_t len)
{
	if (d->err || len > d->cap - d->len) {
		d->err = 1;
		return;
	}
	if (len > 0)
		memcpy(d->buf + d->len, data, len);
	d->len += len;
}

static void
der_byte(struct fw_der *d, unsigned v)
{
	unsigned char b = (unsigned char)v;

	der_put(d, &b, 1);
}

static void
der_length(struct fw_der *d, size_t len)
{
	if (len < 0x80) {
		der_byte(d, (unsigned)len);
	} else if (len < 0x100) {
		der_byte(d, 0x81);
		der_byte(d, (unsigned)len);
	} else if (len < 0x10000) {
		der_byte(d, 0x82);
		der_byte(d, (unsigned)(len >> 8));
		der_byte(d, (unsigned)(len & 0xff));
	} else {
		d->err = 1;
	}
}

size_t
fw_der_open(struct fw_der *d, unsigned tag)
{
	unsigned char hold[DER_LEN_RESERVE] = { 0, 0, 0 };

	der_byte(d, tag);
	der_put(d, hold, sizeof(hold));
	return d->len;
}

void
fw_der_close(struct fw_der *d, size_t mark)
{
	size_t clen, hlen, start;

	if (d->err)
		return;
	clen = d->len - mark;
	start = mark - DER_LEN_RESERVE;
	/* Rewrite the placeholder with the minimal length, slide back. */
	d->len = start;
	der_length(d, clen);
	if (d->err)
		return;
	hlen = d->len - start;
	memmove(d->buf + start + hlen, d->buf + mark, clen);
	d->len = start + hlen + clen;
}

void
fw_der_raw(struct fw_der *d, const void *data, size_t len)
{
	der_put(d, data, len);
}

void
fw_der_tlv(struct fw_der *d, unsigned tag, const void *data, size_t len)
{
	der_byte(d, tag);
	der_length(d, len);
	der_put(d, data, len);
}

void
fw_der_uint(struct fw_der *d, const unsigned char *be, size_t len)
{
	while (len > 1 && be[0] == 0) {
		be++;
		len--;
	}
	der_byte(d, FW_DER_INTEGER);
	if (len == 0 || (be[0] & 0x80) != 0) {
		der_length(d, len + 1);
		der_byte(d, 0);
	} else {
		der_length(d, len);
	}
	der_put(d, be, len);
}

void
fw_der_bits(struct fw_der *d, const void *data, size_t len)
{
	der_byte(d, FW_DER_BIT_STRING);
	der_length(d, len + 1);
	der_byte(d, 0);
	der_put(d, data, len);
}

void
fw_der_time(struct fw_der *d, time_t t)
{
	struct tm tm;
	char s[20];
	int n;

	if (gmtime_r(&t, &tm) == NULL) {
		d->err = 1;
		return;
	}
	if (tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 <= 2049) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		fw_der_tlv(d, FW_DER_UTC_TIME, s, n > 0 ? (size_t)n : 0);
	} else {
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		fw_der_tlv(d, FW_DER_GEN_TIME, s, n > 0 ? (size_t)n : 0);
	}
}
