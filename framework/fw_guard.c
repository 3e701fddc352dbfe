/* SPDX-License-Identifier: MIT */
/*
 * fw_guard.c - verifies a v1-signed request and records its nonce.
 *
 * Order matters: cheap syntax checks, the window, the key, the signature,
 * and only then the nonce, so that unsigned traffic never reaches the
 * nonce table.  The secret is wiped on every path out.
 */
#include <stdlib.h>
#include <string.h>

#include "fw_guard.h"

static int
deny(struct fw_guard_result *res, const char *reason)
{
	res->reason = reason;
	return FW_GUARD_DENY;
}

static int
check_syntax(const struct fw_guard_input *in, uint32_t *version,
    int64_t *ts, struct fw_guard_result *res)
{
	if (in->key_id == NULL || in->key_version == NULL ||
	    in->timestamp == NULL || in->nonce == NULL ||
	    in->signature == NULL)
		return deny(res, "missing signing header");
	if (fw_parse_key_id(in->key_id) != 0)
		return deny(res, "malformed X-Key-Id");
	if (fw_parse_key_version(in->key_version, version) != 0)
		return deny(res, "malformed X-Key-Version");
	if (fw_parse_timestamp(in->timestamp, ts) != 0)
		return deny(res, "malformed X-Timestamp");
	if (fw_parse_nonce(in->nonce) != 0)
		return deny(res, "malformed X-Nonce");
	if (fw_parse_signature(in->signature) != 0)
		return deny(res, "malformed X-API-Signature");
	return FW_GUARD_OK;
}

static int
check_signature(const struct fw_guard_input *in, const struct fw_key *key,
    int want_canonical, struct fw_guard_result *res)
{
	struct fw_sign_input si = {
		.method = in->method, .host = in->host, .path = in->path,
		.query = in->query, .content_type = in->content_type,
		.key_id = in->key_id, .key_version = in->key_version,
		.timestamp = in->timestamp, .nonce = in->nonce,
		.body = in->body, .body_len = in->body_len
	};
	char expect[FW_SIG_HEX + 1];
	size_t len;
	char *canon;
	int ok;

	if ((canon = fw_canonical(&si, &len)) == NULL)
		return FW_GUARD_UNAVAILABLE;
	fw_sign_canonical(expect, key->secret, key->secret_len, canon, len);
	ok = fw_ct_equal(expect, in->signature, FW_SIG_HEX);
	fw_wipe(expect, sizeof(expect));
	if (want_canonical)
		res->canonical = canon;
	else
		free(canon);
	return ok ? FW_GUARD_OK : deny(res, "signature mismatch");
}

/* Syntax, window and key lookup; *key filled (caller wipes) on OK. */
static int
check_key(const struct fw_store *store, unsigned window,
    const struct fw_guard_input *in, struct fw_key *key, int64_t *ts,
    struct fw_guard_result *res)
{
	uint32_t version = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(key, 0, sizeof(*key));
	if ((rc = check_syntax(in, &version, ts, res)) != FW_GUARD_OK)
		return rc;
	if (*ts < in->now - (int64_t)window || *ts > in->now + (int64_t)window)
		return deny(res, "timestamp outside window");
	rc = store->key_get(store->ctx, in->key_id, version, in->now, key);
	if (rc == FW_STORE_NOT_FOUND)
		return deny(res, "unknown or invalid key version");
	if (rc != FW_STORE_OK) {
		res->reason = "key store error";
		return FW_GUARD_UNAVAILABLE;
	}
	return FW_GUARD_OK;
}

int
fw_guard_precheck(const struct fw_store *store, unsigned window,
    const struct fw_guard_input *in, struct fw_guard_result *res)
{
	struct fw_key key;
	int64_t ts;
	int rc;

	rc = check_key(store, window, in, &key, &ts, res);
	fw_wipe(&key, sizeof(key));
	return rc;
}

int
fw_guard_check(const struct fw_store *store, unsigned window,
    const struct fw_guard_input *in, int want_canonical,
    struct fw_guard_result *res)
{
	struct fw_key key;
	int64_t ts = 0;
	int rc;

	rc = check_key(store, window, in, &key, &ts, res);
	if (rc == FW_GUARD_OK)
		rc = check_signature(in, &key, want_canonical, res);
	fw_wipe(key.secret, sizeof(key.secret));
	if (rc != FW_GUARD_OK)
		return rc;

	rc = store->nonce_record(store->ctx, in->key_id, in->nonce, ts);
	if (rc == FW_STORE_DUPLICATE)
		return deny(res, "nonce already used");
	if (rc != FW_STORE_OK) {
		res->reason = "nonce store error";
		return FW_GUARD_UNAVAILABLE;
	}

	memcpy(res->key_id, key.key_id, sizeof(res->key_id));
	res->version = key.version;
	res->role = key.role;
	if (store->key_touch != NULL)
		store->key_touch(store->ctx, in->key_id, key.version, in->now);
	return FW_GUARD_OK;
}
