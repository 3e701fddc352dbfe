/* SPDX-License-Identifier: MIT */
/*
 * test_crypto.c - known answers for the encoding and crypto helpers, and
 * the log escaper.
 */
#include <stdint.h>
#include <string.h>

#include "apiserver.h"
#include "unit.h"

static void
test_b64url_known(void)
{
	/* RFC 4648 test vectors, in the URL alphabet without padding. */
	static const char *const plain[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar"
	};
	static const char *const enc[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
	};
	char out[16];
	uint8_t back[16];
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t n = strlen(plain[i]);
		long m;

		UNIT_ASSERT_EQ_INT(fw_b64url_encode(out, sizeof(out),
		    (const uint8_t *)plain[i], n), strlen(enc[i]));
		UNIT_ASSERT_STR_EQ(out, enc[i]);
		m = fw_b64url_decode(back, sizeof(back), enc[i],
		    strlen(enc[i]));
		UNIT_ASSERT_EQ_INT(m, n);
		UNIT_ASSERT(memcmp(back, plain[i], n) == 0);
	}
}

static void
test_b64url_alphabet_and_errors(void)
{
	const uint8_t raw[] = { 0xfb, 0xff, 0xbf };
	uint8_t back[8];
	char out[8];

	fw_b64url_encode(out, sizeof(out), raw, sizeof(raw));
	UNIT_ASSERT_STR_EQ(out, "-_-_");
	UNIT_ASSERT(fw_b64url_decode(back, sizeof(back), "+/+/", 4) < 0);
	UNIT_ASSERT(fw_b64url_decode(back, sizeof(back), "Zg==", 4) < 0);
	UNIT_ASSERT(fw_b64url_decode(back, sizeof(back), "Z", 1) < 0);
	UNIT_ASSERT(fw_b64url_decode(back, sizeof(back), "Zh", 2) < 0);
	/* Output too small. */
	UNIT_ASSERT(fw_b64url_decode(back, 2, "Zm9v", 4) < 0);
	UNIT_ASSERT_EQ_INT(fw_b64url_encode(out, 4, raw, sizeof(raw)), 0);
}

static void
test_sha256_known(void)
{
	char hex[65];

	fw_sha256_hex(hex, "abc", 3);
	UNIT_ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	fw_sha256_hex(hex, "", 0);
	UNIT_ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_rfc4231(void)
{
	/* RFC 4231 test case 2. */
	const char *canon = "what do ya want for nothing?";
	char sig[65];

	fw_sign_canonical(sig, "Jefe", 4, canon, strlen(canon));
	UNIT_ASSERT_STR_EQ(sig, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

static void
test_ct_equal(void)
{
	UNIT_ASSERT(fw_ct_equal("abcd", "abcd", 4));
	UNIT_ASSERT(!fw_ct_equal("abcd", "abce", 4));
	UNIT_ASSERT(!fw_ct_equal("xbcd", "abcd", 4));
	UNIT_ASSERT(fw_ct_equal("", "", 0));
}

static void
test_secret_new(void)
{
	char a[FW_SECRET_B64 + 1], b[FW_SECRET_B64 + 1];
	uint8_t raw[64];

	UNIT_ASSERT(fw_secret_new(a) == 0);
	UNIT_ASSERT(fw_secret_new(b) == 0);
	UNIT_ASSERT_EQ_INT(strlen(a), FW_SECRET_B64);
	UNIT_ASSERT(strcmp(a, b) != 0);
	UNIT_ASSERT_EQ_INT(fw_b64url_decode(raw, sizeof(raw), a,
	    strlen(a)), FW_SECRET_RAW);
}

static void
test_log_escape(void)
{
	char out[16];

	fw_log_escape(out, sizeof(out), "a\"b\n", 4);
	UNIT_ASSERT_STR_EQ(out, "a\\x22b\\x0a");
	fw_log_escape(out, sizeof(out), "0123456789abcdefghij", 20);
	UNIT_ASSERT_STR_EQ(out, "0123456789ab...");
	UNIT_ASSERT_EQ_INT(strlen(out), sizeof(out) - 1);
	fw_log_escape(out, sizeof(out), "\x01\x02\x03\x04", 4);
	UNIT_ASSERT_STR_EQ(out, "\\x01\\x02\\x03...");
}

const struct unit_test crypto_tests[] = {
	{ "b64url_known", test_b64url_known },
	{ "b64url_alphabet_and_errors", test_b64url_alphabet_and_errors },
	{ "sha256_known", test_sha256_known },
	{ "hmac_rfc4231", test_hmac_rfc4231 },
	{ "ct_equal", test_ct_equal },
	{ "secret_new", test_secret_new },
	{ "log_escape", test_log_escape },
	{ NULL, NULL }
};
