/* SPDX-License-Identifier: MIT */
/*
 * fw_sign.c - the v1 signing scheme: canonical string, HMAC-SHA256, and
 * the parsers for the signing headers.  Shared by the guard and by the
 * client tools; stateless, any thread may call.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "apiserver.h"

#define CANON_LINES 11

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

char *
fw_canonical(const struct fw_sign_input *in, size_t *len)
{
	const char *line[CANON_LINES];
	char body_hash[65];
	size_t total = 0, off = 0, i;
	char *out;

	fw_sha256_hex(body_hash, in->body != NULL ? in->body : "",
	    in->body_len);
	line[0] = FW_SCHEME;
	line[1] = or_empty(in->method);
	line[2] = or_empty(in->host);
	line[3] = or_empty(in->path);
	line[4] = or_empty(in->query);
	line[5] = or_empty(in->content_type);
	line[6] = or_empty(in->key_id);
	line[7] = or_empty(in->key_version);
	line[8] = or_empty(in->timestamp);
	line[9] = or_empty(in->nonce);
	line[10] = body_hash;

	for (i = 0; i < CANON_LINES; i++)
		total += strlen(line[i]) + 1;
	if ((out = malloc(total)) == NULL)
		return NULL;

	for (i = 0; i < CANON_LINES; i++) {
		size_t n = strlen(line[i]);

		memcpy(out + off, line[i], n);
		if (i == 2) {
			/* The Host line is lowercased (ASCII only). */
			size_t j;

			for (j = 0; j < n; j++)
				out[off + j] = (char)tolower(
				    (unsigned char)out[off + j]);
		}
		off += n;
		out[off++] = i + 1 < CANON_LINES ? '\n' : '\0';
	}
	*len = off - 1;
	return out;
}

void
fw_sign_canonical(char out[FW_SIG_HEX + 1], const void *secret,
    size_t secret_len, const char *canonical, size_t canonical_len)
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	uint8_t mac[32];

	br_hmac_key_init(&kc, &br_sha256_vtable, secret, secret_len);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, canonical, canonical_len);
	br_hmac_out(&hc, mac);
	fw_hex(out, mac, sizeof(mac));
	fw_wipe(&kc, sizeof(kc));
	fw_wipe(&hc, sizeof(hc));
	fw_wipe(mac, sizeof(mac));
}

int
fw_sign(char out[FW_SIG_HEX + 1], const void *secret, size_t secret_len,
    const struct fw_sign_input *in)
{
	size_t len;
	char *canon;

	if ((canon = fw_canonical(in, &len)) == NULL)
		return -1;
	fw_sign_canonical(out, secret, secret_len, canon, len);
	free(canon);
	return 0;
}

/* 1 if every byte of s is in the set of A-Za-z0-9 plus `extra`. */
static int
all_in_set(const char *s, size_t len, const char *extra)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || (c != '\0' &&
		    strchr(extra, c) != NULL)))
			return 0;
	}
	return 1;
}

int
fw_parse_key_id(const char *s)
{
	size_t n;

	if (s == NULL)
		return -1;
	n = strnlen(s, FW_KEY_ID_MAX + 1);
	return n >= 1 && n <= FW_KEY_ID_MAX && all_in_set(s, n, "._-") ?
	    0 : -1;
}

int
fw_parse_key_version(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	/* Positive decimal, no sign, no leading zero, at most 10 digits. */
	if (s == NULL || s[0] < '1' || s[0] > '9')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 10 || s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > FW_KEY_VERSION_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
fw_parse_timestamp(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= FW_TIMESTAMP_DIGITS || s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
fw_parse_nonce(const char *s)
{
	size_t n;

	if (s == NULL)
		return -1;
	n = strnlen(s, FW_NONCE_MAX + 1);
	return n >= FW_NONCE_MIN && n <= FW_NONCE_MAX &&
	    all_in_set(s, n, "_-") ? 0 : -1;
}

int
fw_parse_signature(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < FW_SIG_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return s[FW_SIG_HEX] == '\0' ? 0 : -1;
}

const char *
fw_role_name(enum fw_role role)
{
	switch (role) {
	case FW_ROLE_CLIENT:
		return "client";
	case FW_ROLE_ADMIN:
		return "admin";
	default:
		return "none";
	}
}

enum fw_role
fw_role_parse(const char *name)
{
	if (name != NULL && strcmp(name, "client") == 0)
		return FW_ROLE_CLIENT;
	if (name != NULL && strcmp(name, "admin") == 0)
		return FW_ROLE_ADMIN;
	return FW_ROLE_NONE;
}
