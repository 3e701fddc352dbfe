/* SPDX-License-Identifier: MIT */
/*
 * db_seal.c - secrets at rest: ChaCha20-Poly1305 under the master key,
 * a fresh random 12-byte nonce per seal, and "key_id\0version" as the
 * associated data so that a sealed secret cannot be moved to another key
 * or version.  Stateless after db_seal_init; any thread may call.
 */
#include <stdio.h>
#include <string.h>

#include <bearssl.h>

#include "db_int.h"

static br_chacha20_run	 seal_chacha = br_chacha20_ct_run;
static br_poly1305_run	 seal_poly = br_poly1305_ctmul_run;
static pthread_once_t	 seal_once = PTHREAD_ONCE_INIT;

static void
seal_pick(void)
{
	br_chacha20_run c = br_chacha20_sse2_get();
	br_poly1305_run p = br_poly1305_ctmulq_get();

	if (c != 0)
		seal_chacha = c;
	if (p != 0)
		seal_poly = p;
}

/* Resolve the fastest implementations once (CPUID is slow in a VM). */
void
db_seal_init(void)
{
	pthread_once(&seal_once, seal_pick);
}

/* The associated data: key id, a NUL, the version in decimal. */
static size_t
seal_ad(char *ad, size_t adlen, const char *key_id, uint32_t version)
{
	int n = snprintf(ad, adlen, "%s%c%lu", key_id, '\0',
	    (unsigned long)version);

	if (n < 0 || (size_t)n >= adlen)
		return 0;
	return (size_t)n;
}

/*
 * Seal `len` bytes of plain into out (len + DB_SEAL_OVERHEAD bytes).
 * Returns the sealed length, or -1 (RNG failure, short buffer).
 */
int
db_seal(const uint8_t master[DB_MASTER_KEY_LEN], const char *key_id,
    uint32_t version, const void *plain, size_t len, uint8_t *out,
    size_t outlen)
{
	char ad[FW_KEY_ID_MAX + 16];
	size_t adlen;

	db_seal_init();
	adlen = seal_ad(ad, sizeof(ad), key_id, version);
	if (adlen == 0 || outlen < len + DB_SEAL_OVERHEAD ||
	    len > (size_t)INT32_MAX)
		return -1;
	if (fw_random(out, DB_SEAL_NONCE) != 0)
		return -1;
	memcpy(out + DB_SEAL_NONCE, plain, len);
	seal_poly(master, out, out + DB_SEAL_NONCE, len, ad, adlen,
	    out + DB_SEAL_NONCE + len, seal_chacha, 1);
	return (int)(len + DB_SEAL_OVERHEAD);
}

/*
 * Open a sealed secret into out (outlen bytes).  0 and *plain_len on
 * success; -1 when the tag does not match (wrong master key, tampered
 * row, wrong key id or version) or out is too short.  Nothing of the
 * plaintext is left in out on failure.
 */
int
db_unseal(const uint8_t master[DB_MASTER_KEY_LEN], const char *key_id,
    uint32_t version, const uint8_t *sealed, size_t sealed_len,
    uint8_t *out, size_t outlen, size_t *plain_len)
{
	char ad[FW_KEY_ID_MAX + 16];
	uint8_t tag[DB_SEAL_TAG];
	size_t adlen, len;

	db_seal_init();
	adlen = seal_ad(ad, sizeof(ad), key_id, version);
	if (adlen == 0 || sealed_len < DB_SEAL_OVERHEAD)
		return -1;
	len = sealed_len - DB_SEAL_OVERHEAD;
	if (len > outlen)
		return -1;

	memcpy(out, sealed + DB_SEAL_NONCE, len);
	seal_poly(master, sealed, out, len, ad, adlen, tag, seal_chacha, 0);
	if (!fw_ct_equal(tag, sealed + DB_SEAL_NONCE + len, DB_SEAL_TAG)) {
		fw_wipe(out, len);
		return -1;
	}
	*plain_len = len;
	return 0;
}
