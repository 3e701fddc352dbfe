/* SPDX-License-Identifier: MIT */
/*
 * fw_crypto.c - small crypto and encoding helpers on top of BearSSL:
 * constant-time compare, wiping, the system RNG, base64url, hex, SHA-256.
 * Stateless; any thread may call.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <bearssl.h>

#include "apiserver.h"

int
fw_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc |= (unsigned char)(x[i] ^ y[i]);
	return acc == 0;
}

void
fw_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

int
fw_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
fw_b64url_encode(char *out, size_t outlen, const uint8_t *in, size_t len)
{
	size_t need = (len * 4 + 2) / 3, i, o = 0;

	if (outlen < need + 1)
		return 0;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
fw_b64url_decode(uint8_t *out, size_t outlen, const char *in, size_t len)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		int v = b64url_value(in[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero for a canonical encoding. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

void
fw_hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void
fw_sha256_hex(char out[65], const void *data, size_t len)
{
	br_sha256_context sc;
	uint8_t digest[32];

	br_sha256_init(&sc);
	br_sha256_update(&sc, data, len);
	br_sha256_out(&sc, digest);
	fw_hex(out, digest, sizeof(digest));
}

int
fw_secret_new(char out[FW_SECRET_B64 + 1])
{
	uint8_t raw[FW_SECRET_RAW];
	int rc = 0;

	if (fw_random(raw, sizeof(raw)) != 0 ||
	    fw_b64url_encode(out, FW_SECRET_B64 + 1, raw, sizeof(raw)) !=
	    FW_SECRET_B64)
		rc = -1;
	fw_wipe(raw, sizeof(raw));
	return rc;
}
