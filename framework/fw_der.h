/* SPDX-License-Identifier: MIT */
/*
 * fw_der.h - a small DER writer for the certificates fw_cert makes.
 *
 * Writes into a caller-supplied fixed buffer.  Constructed values are
 * opened with fw_der_open and closed with fw_der_close, which fixes the
 * length to its minimal encoding (contents up to 65535 bytes).  Errors
 * (overflow) stick: check fw_der.err once at the end.  No allocation,
 * no global state; any thread, one writer per thread.
 */
#ifndef FW_DER_H
#define FW_DER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FW_DER_BOOLEAN		0x01
#define FW_DER_INTEGER		0x02
#define FW_DER_BIT_STRING	0x03
#define FW_DER_OCTET_STRING	0x04
#define FW_DER_OID		0x06
#define FW_DER_UTF8_STRING	0x0c
#define FW_DER_UTC_TIME		0x17
#define FW_DER_GEN_TIME		0x18
#define FW_DER_SEQUENCE		0x30
#define FW_DER_SET		0x31

struct fw_der {
	unsigned char	*buf;
	size_t		 cap;
	size_t		 len;
	int		 err;		/* 1 after an overflow */
};

void	fw_der_init(struct fw_der *d, unsigned char *buf, size_t cap);

/* Start a constructed (or wrapping) value; returns a mark for close. */
size_t	fw_der_open(struct fw_der *d, unsigned tag);
/* Finish the value started at mark. */
void	fw_der_close(struct fw_der *d, size_t mark);

/* Bytes that are already DER (a whole encoded value). */
void	fw_der_raw(struct fw_der *d, const void *data, size_t len);
/* A primitive value: tag, minimal length, contents. */
void	fw_der_tlv(struct fw_der *d, unsigned tag, const void *data,
	    size_t len);
/* A non-negative INTEGER from big-endian bytes (sign byte added). */
void	fw_der_uint(struct fw_der *d, const unsigned char *be, size_t len);
/* A BIT STRING with no unused bits. */
void	fw_der_bits(struct fw_der *d, const void *data, size_t len);
/*
 * A time as RFC 5280 wants it: UTCTime through 2049, GeneralizedTime
 * from 2050, always in UTC with seconds and 'Z'.
 */
void	fw_der_time(struct fw_der *d, time_t t);

#endif /* FW_DER_H */
