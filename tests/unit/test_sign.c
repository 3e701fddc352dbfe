/* SPDX-License-Identifier: MIT */
/*
 * test_sign.c - the v1 canonical string and signature against the shared
 * vectors (computed independently), and the signing-header parsers at
 * their limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apiserver.h"
#include "unit.h"

static const char *
opt_string(json_t *v, const char *name)
{
	json_t *s = json_object_get(v, name);

	return json_is_string(s) ? json_string_value(s) : NULL;
}

/* Split "path?query" into a malloc'd path and a pointer to the query. */
static char *
split_target(const char *target, const char **query)
{
	char *path = strdup(target), *q;

	UNIT_ASSERT(path != NULL);
	if ((q = strchr(path, '?')) != NULL) {
		*q = '\0';
		*query = target + (q - path) + 1;
	} else {
		*query = "";
	}
	return path;
}

static void
check_vector(json_t *v)
{
	struct fw_sign_input in;
	const char *secret, *b64, *query;
	char sig[FW_SIG_HEX + 1], hash[65];
	uint8_t body[4096];
	size_t clen;
	char *canon, *path;
	long blen;

	memset(&in, 0, sizeof(in));
	secret = opt_string(v, "secret");
	b64 = opt_string(v, "body_base64");
	UNIT_ASSERT(secret != NULL && b64 != NULL);

	/* The vectors use standard base64 with padding: convert. */
	{
		char conv[8192];
		size_t i, n = 0;

		for (i = 0; b64[i] != '\0' && n + 1 < sizeof(conv); i++) {
			if (b64[i] == '=')
				break;
			conv[n++] = b64[i] == '+' ? '-' :
			    b64[i] == '/' ? '_' : b64[i];
		}
		conv[n] = '\0';
		blen = fw_b64url_decode(body, sizeof(body), conv, n);
		UNIT_ASSERT(blen >= 0);
	}

	path = split_target(opt_string(v, "target"), &query);
	in.method = opt_string(v, "method");
	in.host = opt_string(v, "host");
	in.path = path;
	in.query = query;
	in.content_type = opt_string(v, "content_type");
	in.key_id = opt_string(v, "key_id");
	in.key_version = opt_string(v, "key_version");
	in.timestamp = opt_string(v, "timestamp");
	in.nonce = opt_string(v, "nonce");
	in.body = body;
	in.body_len = (size_t)blen;

	fw_sha256_hex(hash, body, (size_t)blen);
	UNIT_ASSERT_STR_EQ(hash, opt_string(v, "body_sha256"));

	canon = fw_canonical(&in, &clen);
	UNIT_ASSERT(canon != NULL);
	UNIT_ASSERT_STR_EQ(canon, opt_string(v, "canonical"));
	UNIT_ASSERT_EQ_INT(clen, strlen(canon));

	UNIT_ASSERT(fw_sign(sig, secret, strlen(secret), &in) == 0);
	UNIT_ASSERT_STR_EQ(sig, opt_string(v, "signature"));
	free(canon);
	free(path);
}

static void
test_sign_vectors(void)
{
	json_error_t jerr;
	json_t *root, *vectors, *v;
	size_t i, count = 0;

	root = json_load_file(unit_vectors_path, 0, &jerr);
	if (root == NULL)
		fprintf(stderr, "  cannot read %s: %s\n", unit_vectors_path,
		    jerr.text);
	UNIT_ASSERT(root != NULL);
	vectors = json_object_get(root, "vectors");
	UNIT_ASSERT(json_is_array(vectors));
	json_array_foreach(vectors, i, v) {
		check_vector(v);
		count++;
	}
	/* The file holds eight vectors; every one must have been checked. */
	UNIT_ASSERT(count >= 8);
	json_decref(root);
}

/* A vector that changes in one field must change the signature. */
static void
test_sign_field_changes(void)
{
	const char *secret = "q1V9wH6ZtM3cX0pL8aN5rJ2yB7kD4fG-sE_uT0oIiWw";
	struct fw_sign_input a = {
		.method = "GET", .host = "H:1", .path = "/p", .query = "a=1",
		.content_type = NULL, .key_id = "k", .key_version = "1",
		.timestamp = "1", .nonce = "nnnnnnnnnnnnnnnn",
		.body = NULL, .body_len = 0
	};
	struct fw_sign_input b = a;
	char s1[65], s2[65];

	UNIT_ASSERT(fw_sign(s1, secret, strlen(secret), &a) == 0);
	b.host = "h:1";		/* host is lowercased: same signature */
	UNIT_ASSERT(fw_sign(s2, secret, strlen(secret), &b) == 0);
	UNIT_ASSERT_STR_EQ(s1, s2);
	b = a;
	b.path = "/P";		/* path is not */
	UNIT_ASSERT(fw_sign(s2, secret, strlen(secret), &b) == 0);
	UNIT_ASSERT(strcmp(s1, s2) != 0);
	b = a;
	b.query = "";
	b.path = "/p?a=1";	/* moving the query into the path differs */
	UNIT_ASSERT(fw_sign(s2, secret, strlen(secret), &b) == 0);
	UNIT_ASSERT(strcmp(s1, s2) != 0);
}

static void
test_parse_key_id(void)
{
	char id[FW_KEY_ID_MAX + 2];

	UNIT_ASSERT(fw_parse_key_id("") != 0);
	UNIT_ASSERT(fw_parse_key_id(NULL) != 0);
	UNIT_ASSERT(fw_parse_key_id("edge 7") != 0);
	UNIT_ASSERT(fw_parse_key_id("edge/7") != 0);
	UNIT_ASSERT(fw_parse_key_id("\xc3\xa9") != 0);
	UNIT_ASSERT(fw_parse_key_id("a") == 0);
	UNIT_ASSERT(fw_parse_key_id("Edge-7.prod_1") == 0);
	memset(id, 'a', sizeof(id));
	id[FW_KEY_ID_MAX] = '\0';		/* 64: the limit */
	UNIT_ASSERT(fw_parse_key_id(id) == 0);
	id[FW_KEY_ID_MAX] = 'a';
	id[FW_KEY_ID_MAX + 1] = '\0';		/* 65: one over */
	UNIT_ASSERT(fw_parse_key_id(id) != 0);
}

static void
test_parse_key_version(void)
{
	uint32_t v = 0;

	UNIT_ASSERT(fw_parse_key_version("0", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("01", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("-1", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("+1", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("1 ", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("2147483648", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("99999999999", &v) != 0);
	UNIT_ASSERT(fw_parse_key_version("2147483647", &v) == 0);
	UNIT_ASSERT_EQ_INT(v, 2147483647);
	UNIT_ASSERT(fw_parse_key_version("7", &v) == 0);
	UNIT_ASSERT_EQ_INT(v, 7);
}

static void
test_parse_timestamp(void)
{
	int64_t t = 0;

	UNIT_ASSERT(fw_parse_timestamp("", &t) != 0);
	UNIT_ASSERT(fw_parse_timestamp("-5", &t) != 0);
	UNIT_ASSERT(fw_parse_timestamp("12a", &t) != 0);
	UNIT_ASSERT(fw_parse_timestamp("1764806400.5", &t) != 0);
	UNIT_ASSERT(fw_parse_timestamp("1234567890123", &t) != 0); /* 13 */
	UNIT_ASSERT(fw_parse_timestamp("999999999999", &t) == 0);  /* 12 */
	UNIT_ASSERT_EQ_INT(t, 999999999999LL);
	UNIT_ASSERT(fw_parse_timestamp("1764806400", &t) == 0);
	UNIT_ASSERT_EQ_INT(t, 1764806400LL);
}

static void
test_parse_nonce(void)
{
	char n[FW_NONCE_MAX + 2];

	memset(n, 'x', sizeof(n));
	n[FW_NONCE_MIN - 1] = '\0';		/* 15: one short */
	UNIT_ASSERT(fw_parse_nonce(n) != 0);
	n[FW_NONCE_MIN - 1] = 'x';
	n[FW_NONCE_MIN] = '\0';			/* 16: the minimum */
	UNIT_ASSERT(fw_parse_nonce(n) == 0);
	memset(n, 'x', sizeof(n));
	n[FW_NONCE_MAX] = '\0';			/* 64: the maximum */
	UNIT_ASSERT(fw_parse_nonce(n) == 0);
	n[FW_NONCE_MAX] = 'x';
	n[FW_NONCE_MAX + 1] = '\0';		/* 65: one over */
	UNIT_ASSERT(fw_parse_nonce(n) != 0);
	UNIT_ASSERT(fw_parse_nonce("abcdefghijklmno.") != 0);
	UNIT_ASSERT(fw_parse_nonce("abcdefgh ijklmnop") != 0);
	UNIT_ASSERT(fw_parse_nonce("AZaz09_-AZaz09_-") == 0);
}

static void
test_parse_signature(void)
{
	char s[80];

	memset(s, 'a', sizeof(s));
	s[64] = '\0';
	UNIT_ASSERT(fw_parse_signature(s) == 0);
	s[63] = '\0';				/* 63 digits */
	UNIT_ASSERT(fw_parse_signature(s) != 0);
	s[63] = 'a';
	s[64] = 'a';
	s[65] = '\0';				/* 65 digits */
	UNIT_ASSERT(fw_parse_signature(s) != 0);
	s[64] = '\0';
	s[10] = 'A';				/* uppercase hex */
	UNIT_ASSERT(fw_parse_signature(s) != 0);
	s[10] = 'g';
	UNIT_ASSERT(fw_parse_signature(s) != 0);
}

const struct unit_test sign_tests[] = {
	{ "sign_vectors", test_sign_vectors },
	{ "sign_field_changes", test_sign_field_changes },
	{ "parse_key_id", test_parse_key_id },
	{ "parse_key_version", test_parse_key_version },
	{ "parse_timestamp", test_parse_timestamp },
	{ "parse_nonce", test_parse_nonce },
	{ "parse_signature", test_parse_signature },
	{ NULL, NULL }
};
