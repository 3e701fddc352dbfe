/* SPDX-License-Identifier: MIT */
/*
 * apiserver.h - the one public header of the apiserver framework.
 *
 * The framework serves HTTP routes through an embedded civetweb behind an
 * in-process BearSSL front end, and puts every route behind the v1 HMAC
 * guard.  It knows no database: keys and nonces are reached through the
 * store interface (struct fw_store) that the application wires in.
 *
 * Thread rules: fw_server_* calls come from one controlling thread.  Route
 * handlers run on civetweb worker threads, several at once; the store's
 * functions are called from those threads too and must be thread-safe.
 */
#ifndef APISERVER_H
#define APISERVER_H

#include <stddef.h>
#include <stdint.h>

#define FW_VERSION "0.1.0"
#define FW_SCHEME "APIHMAC1"

/* Limits of the v1 signing headers (see docs/protocol.md). */
#define FW_KEY_ID_MAX		64	/* X-Key-Id: 1..64 of [A-Za-z0-9._-] */
#define FW_KEY_VERSION_MAX	2147483647u
#define FW_TIMESTAMP_DIGITS	12	/* X-Timestamp: 1..12 digits */
#define FW_NONCE_MIN		16	/* X-Nonce: 16..64 of [A-Za-z0-9_-] */
#define FW_NONCE_MAX		64
#define FW_SIG_HEX		64	/* X-API-Signature: 64 lowercase hex */
#define FW_SECRET_MAX		128	/* bytes of an HMAC key we accept */
#define FW_SECRET_RAW		32	/* random bytes in a new secret */
#define FW_SECRET_B64		43	/* their base64url length, no padding */

/* ---------------------------------------------------------------- log */

enum fw_log_level {
	FW_LOG_ERROR = 0,
	FW_LOG_WARN,
	FW_LOG_INFO,
	FW_LOG_DEBUG
};

/* Messages at or below `level` are written to stderr, one line each. */
void	fw_log_set_level(enum fw_log_level level);

/*
 * Write one log line.  Callers must never pass a secret, a signature or a
 * request body; strings that came from a peer go through fw_log_escape
 * first.  Thread-safe.
 */
void	fw_log(enum fw_log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Copy at most `inlen` bytes of peer data into `out` (size `outlen` >= 8),
 * escaping every byte outside printable ASCII (and '"', '\\') as \xHH and
 * truncating with "..." so that the result always fits.  Returns `out`.
 */
char	*fw_log_escape(char *out, size_t outlen, const char *in, size_t inlen);

/* ------------------------------------------------------------- crypto */

/* 1 if the `len` bytes at a and b are equal; time depends on len only. */
int	fw_ct_equal(const void *a, const void *b, size_t len);

/* Wipe memory in a way the compiler may not drop. */
void	fw_wipe(void *p, size_t len);

/* Fill buf with bytes from the system RNG.  0 ok, -1 on failure. */
int	fw_random(void *buf, size_t len);

/*
 * base64url without padding.  encode writes a NUL-terminated string and
 * returns its length, or 0 when outlen is too small.  decode returns the
 * number of bytes written, or -1 on bad input or short output.
 */
size_t	fw_b64url_encode(char *out, size_t outlen, const uint8_t *in,
	    size_t len);
long	fw_b64url_decode(uint8_t *out, size_t outlen, const char *in,
	    size_t len);

/* Lowercase hex of `len` bytes into out (2*len+1 bytes, NUL-terminated). */
void	fw_hex(char *out, const uint8_t *in, size_t len);

/* Lowercase hex SHA-256 of data into out[65]. */
void	fw_sha256_hex(char out[65], const void *data, size_t len);

/* A fresh secret: 32 RNG bytes as base64url (out[44]).  0 ok, -1 fail. */
int	fw_secret_new(char out[FW_SECRET_B64 + 1]);

/* --------------------------------------------------- v1 signing scheme */

/* One request as the v1 scheme sees it.  NULL strings count as empty. */
struct fw_sign_input {
	const char	*method;
	const char	*host;		/* as sent; lowercased when signing */
	const char	*path;		/* raw, as on the request line */
	const char	*query;		/* raw, without '?' */
	const char	*content_type;
	const char	*key_id;
	const char	*key_version;	/* decimal, as sent */
	const char	*timestamp;	/* decimal, as sent */
	const char	*nonce;
	const void	*body;
	size_t		 body_len;
};

/*
 * Build the canonical string: 11 lines joined by '\n', no trailing
 * newline.  Returns a malloc'd NUL-terminated string (caller frees) and
 * its length in *len, or NULL when out of memory.
 */
char	*fw_canonical(const struct fw_sign_input *in, size_t *len);

/* HMAC-SHA256(secret, canonical) as 64 lowercase hex digits in out[65]. */
void	fw_sign_canonical(char out[FW_SIG_HEX + 1], const void *secret,
	    size_t secret_len, const char *canonical, size_t canonical_len);

/* Canonical string and signature in one step.  0 ok, -1 out of memory. */
int	fw_sign(char out[FW_SIG_HEX + 1], const void *secret,
	    size_t secret_len, const struct fw_sign_input *in);

/*
 * Header value parsers: 0 when the value is well formed, -1 otherwise.
 * Values are taken exactly as sent: no trimming, no case folding.
 */
int	fw_parse_key_id(const char *s);
int	fw_parse_key_version(const char *s, uint32_t *out);
int	fw_parse_timestamp(const char *s, int64_t *out);
int	fw_parse_nonce(const char *s);
int	fw_parse_signature(const char *s);

/* ------------------------------------------------------ the store */

enum fw_role {
	FW_ROLE_NONE = 0,
	FW_ROLE_CLIENT = 1,
	FW_ROLE_ADMIN = 2	/* an admin key may also call client routes */
};

const char	*fw_role_name(enum fw_role role);
enum fw_role	 fw_role_parse(const char *name);	/* NONE if unknown */

/* One version of one key, with its secret.  Wipe it when done. */
struct fw_key {
	char		key_id[FW_KEY_ID_MAX + 1];
	uint32_t	version;
	enum fw_role	role;
	size_t		secret_len;
	uint8_t		secret[FW_SECRET_MAX];
};

enum fw_store_status {
	FW_STORE_OK = 0,
	FW_STORE_NOT_FOUND = -1,	/* no such key or version, or not valid */
	FW_STORE_DUPLICATE = -2,	/* nonce already seen for this key id */
	FW_STORE_ERROR = -3		/* I/O or internal failure */
};

/*
 * What the guard needs from a key and nonce store.  Every function is
 * called from civetweb worker threads concurrently.
 */
struct fw_store {
	void	*ctx;
	/*
	 * Fill *out with key_id/version if that version exists and is usable
	 * at `now` (not revoked, not past the end of its grace period).
	 */
	int	(*key_get)(void *ctx, const char *key_id, uint32_t version,
		    int64_t now, struct fw_key *out);
	/*
	 * Record (key_id, nonce) durably before returning.  DUPLICATE when
	 * that key id has used the nonce before and it is not yet purged.
	 * `timestamp` is the request's X-Timestamp, which sets its expiry.
	 */
	int	(*nonce_record)(void *ctx, const char *key_id,
		    const char *nonce, int64_t timestamp);
	/* Optional: note that a version was used (for last_used_at). */
	void	(*key_touch)(void *ctx, const char *key_id, uint32_t version,
		    int64_t now);
};

/* ------------------------------------------------------ the server */

struct fw_server;
struct fw_request;

/* A route handler.  It must answer exactly once with fw_reply*(). */
typedef void (*fw_handler)(struct fw_request *req, void *arg);

struct fw_config {
	const char	*listen;	/* "ADDR:PORT"; port 0 picks one */
	int		 insecure_http;	/* 1: plain HTTP, loopback only */
	const char	*cert_file;	/* PEM chain, leaf first */
	const char	*key_file;	/* PEM private key (EC or RSA) */
	unsigned	 window;	/* seconds of allowed clock skew */
	size_t		 max_body;	/* bytes */
	unsigned	 max_header;	/* bytes of request line + headers */
	unsigned	 threads;	/* civetweb worker threads */
	unsigned	 tls_threads;	/* front-end event loops, 0 = cores */
	unsigned	 max_connections;
	unsigned	 handshake_timeout_ms;
	unsigned	 idle_timeout_ms;
	unsigned	 request_timeout_ms;	/* to receive one request */
	int		 dev;		/* debugging detail in 401 bodies */
	int		 no_access_log;	/* 1: no line per request */
	const struct fw_store *store;
};

/* Fill cfg with the documented defaults (store left NULL). */
void	fw_config_defaults(struct fw_config *cfg);

/* A new, stopped server.  NULL on bad configuration (reason in err). */
struct fw_server *fw_server_new(const struct fw_config *cfg, char *err,
	    size_t errlen);

/*
 * Add a route.  `method` is matched exactly; `pattern` is a path whose
 * segments are matched exactly, except "{name}" which matches one
 * non-empty segment, read back with fw_req_param().  Every route is
 * guarded; `role` is the least role a key needs.  0 ok, -1 on a bad
 * pattern, a duplicate or too many routes.  Call before fw_server_start.
 */
int	fw_route(struct fw_server *srv, const char *method,
	    const char *pattern, enum fw_role role, fw_handler fn, void *arg);

/* Start listening.  0 ok; -1 with the reason in err. */
int	fw_server_start(struct fw_server *srv, char *err, size_t errlen);

/* The public port actually bound (useful with port 0). */
unsigned	fw_server_port(const struct fw_server *srv);

/* Stop and free.  Safe on NULL. */
void	fw_server_free(struct fw_server *srv);

/* Request accessors; strings live until the handler returns. */
const char	*fw_req_method(const struct fw_request *req);
const char	*fw_req_path(const struct fw_request *req);
const char	*fw_req_query(const struct fw_request *req);	/* "" if none */
const char	*fw_req_header(const struct fw_request *req, const char *name);
const void	*fw_req_body(const struct fw_request *req, size_t *len);
const char	*fw_req_param(const struct fw_request *req, const char *name);
const char	*fw_req_key_id(const struct fw_request *req);
uint32_t	 fw_req_key_version(const struct fw_request *req);
enum fw_role	 fw_req_role(const struct fw_request *req);
const char	*fw_req_id(const struct fw_request *req);
const char	*fw_req_peer(const struct fw_request *req);	/* "ip:port" */

/* Answer with a body (copied). */
void	fw_reply(struct fw_request *req, int status, const char *content_type,
	    const void *body, size_t len);
void	fw_reply_json(struct fw_request *req, int status, const char *json);
/* {"error":"<code>","request_id":"<id>"} */
void	fw_reply_error(struct fw_request *req, int status, const char *code);

/* ---------------------------------------------------- certificates */

/*
 * Make an ECDSA P-256 key and a self-signed certificate for `names` (DNS
 * names or IP addresses, the first also the CN) valid `days` days.
 * Writes DIR/cert.pem and DIR/key.pem (0600), DIR created 0700 if
 * missing.  Puts the certificate's SHA-256 fingerprint, hex with colons,
 * in fp (at least 96 bytes).  0 ok, -1 with the reason in err.
 */
int	fw_cert_generate(const char *dir, const char *const *names,
	    size_t nnames, unsigned days, char *fp, size_t fplen, char *err,
	    size_t errlen);

#endif /* APISERVER_H */
