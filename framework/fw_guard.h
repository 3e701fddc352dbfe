/* SPDX-License-Identifier: MIT */
/*
 * fw_guard.h - the v1 HMAC guard (internal to framework/).
 *
 * Pure request-in, verdict-out: no HTTP, no civetweb, so it can be unit
 * tested with a fake store.  Runs on civetweb worker threads.
 */
#ifndef FW_GUARD_H
#define FW_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "apiserver.h"

/* The request as the guard sees it; header values NULL when absent. */
struct fw_guard_input {
	const char	*method;
	const char	*host;
	const char	*path;
	const char	*query;
	const char	*content_type;
	const char	*key_id;
	const char	*key_version;
	const char	*timestamp;
	const char	*nonce;
	const char	*signature;
	const void	*body;
	size_t		 body_len;
	int64_t		 now;
};

enum fw_guard_status {
	FW_GUARD_OK = 0,
	FW_GUARD_DENY = -1,		/* 401, reason in the result */
	FW_GUARD_UNAVAILABLE = -2	/* 503: the store failed */
};

struct fw_guard_result {
	char		 key_id[FW_KEY_ID_MAX + 1];
	uint32_t	 version;
	enum fw_role	 role;
	const char	*reason;	/* static text for the log, never sent
					 * to a client unless --dev */
	char		*canonical;	/* malloc'd when asked for; caller
					 * frees (--dev only) */
};

/*
 * Check one request: headers well formed, timestamp within `window`
 * seconds of in->now, key version valid, signature matches (constant
 * time), then record the nonce (only after the signature checked out).
 * With want_canonical, res->canonical holds the server's canonical
 * string whenever it was built.
 */
int	fw_guard_check(const struct fw_store *store, unsigned window,
	    const struct fw_guard_input *in, int want_canonical,
	    struct fw_guard_result *res);

/*
 * What can be checked before the body is read: the signing headers'
 * syntax, the window, and that the key version exists.  Same statuses as
 * fw_guard_check; records nothing.  Lets the server refuse a request
 * without reading (and holding) its body.
 */
int	fw_guard_precheck(const struct fw_store *store, unsigned window,
	    const struct fw_guard_input *in, struct fw_guard_result *res);

#endif /* FW_GUARD_H */
