/* SPDX-License-Identifier: MIT */
/*
 * fw_front_tls.c - the front end's TLS side: BearSSL implementations
 * resolved once at start, the shared session cache, per-connection engine
 * set-up, and the pump that moves records and plaintext for one
 * connection.  Runs on the loop thread that owns the connection; the
 * cache is shared by all loops behind its mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bearssl.h>

#include "apiserver.h"
#include "fw_front_int.h"

/* Server order: AES-128-GCM, then ChaCha20, then AES-256-GCM. */
static const uint16_t front_suites_ec[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
};
static const uint16_t front_suites_rsa[] = {
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
};

static const char *
front_br_err_name(int e)
{
	static const struct {
		int		 code;
		const char	*name;
	} names[] = {
		{ BR_ERR_OK, "ok" },
		{ BR_ERR_BAD_PARAM, "bad param" },
		{ BR_ERR_BAD_STATE, "bad state" },
		{ BR_ERR_UNSUPPORTED_VERSION, "unsupported version" },
		{ BR_ERR_BAD_VERSION, "bad version" },
		{ BR_ERR_BAD_LENGTH, "bad length" },
		{ BR_ERR_TOO_LARGE, "record too large" },
		{ BR_ERR_BAD_MAC, "bad mac" },
		{ BR_ERR_UNKNOWN_TYPE, "unknown record type" },
		{ BR_ERR_UNEXPECTED, "unexpected message" },
		{ BR_ERR_BAD_HANDSHAKE, "bad handshake" },
		{ BR_ERR_BAD_CIPHER_SUITE, "no common cipher suite" },
		{ BR_ERR_BAD_FRAGLEN, "bad fragment length" },
		{ BR_ERR_BAD_SECRENEG, "renegotiation refused" },
		{ BR_ERR_BAD_FINISHED, "bad finished" },
		{ BR_ERR_LIMIT_EXCEEDED, "limit exceeded" },
		{ BR_ERR_INVALID_ALGORITHM, "invalid algorithm" },
		{ BR_ERR_IO, "i/o" }
	};
	size_t i;

	if (e >= BR_ERR_SEND_FATAL_ALERT)
		return "sent fatal alert";
	if (e >= BR_ERR_RECV_FATAL_ALERT)
		return "received fatal alert";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == e)
			return names[i].name;
	return "other";
}

/* ------------------------------------------------------ session cache */

static void
front_cache_save(const br_ssl_session_cache_class **ctx,
    br_ssl_server_context *sc, const br_ssl_session_parameters *params)
{
	struct front_cache *fc = (struct front_cache *)(void *)ctx;

	pthread_mutex_lock(&fc->mu);
	fc->lru.vtable->save(&fc->lru.vtable, sc, params);
	pthread_mutex_unlock(&fc->mu);
}

static int
front_cache_load(const br_ssl_session_cache_class **ctx,
    br_ssl_server_context *sc, br_ssl_session_parameters *params)
{
	struct front_cache *fc = (struct front_cache *)(void *)ctx;
	int r;

	pthread_mutex_lock(&fc->mu);
	r = fc->lru.vtable->load(&fc->lru.vtable, sc, params);
	pthread_mutex_unlock(&fc->mu);
	return r;
}

static const br_ssl_session_cache_class front_cache_class = {
	sizeof(struct front_cache),
	front_cache_save,
	front_cache_load
};

int
front_cache_init(struct front_cache *fc)
{
	fc->memlen = (size_t)FRONT_CACHE_ENTRIES * 100u;
	if ((fc->mem = calloc(1, fc->memlen)) == NULL)
		return -1;
	br_ssl_session_cache_lru_init(&fc->lru, fc->mem, fc->memlen);
	pthread_mutex_init(&fc->mu, NULL);
	fc->vtable = &front_cache_class;
	return 0;
}

void
front_cache_free(struct front_cache *fc)
{
	if (fc->mem == NULL)
		return;
	explicit_bzero(fc->mem, fc->memlen);
	free(fc->mem);
	explicit_bzero(&fc->lru, sizeof(fc->lru));
	pthread_mutex_destroy(&fc->mu);
	fc->mem = NULL;
}

/* ------------------------------------------------------------- TLS */

/* Pick every implementation once; some probe the CPU, which is slow. */
void
front_impl_resolve(struct front_impl *im, int key_type)
{
	if (key_type == BR_KEYTYPE_EC) {
		im->suites = front_suites_ec;
		im->nsuites = sizeof(front_suites_ec) /
		    sizeof(front_suites_ec[0]);
	} else {
		im->suites = front_suites_rsa;
		im->nsuites = sizeof(front_suites_rsa) /
		    sizeof(front_suites_rsa[0]);
	}
	im->ec = br_ec_get_default();
	im->ecdsa = br_ecdsa_sign_asn1_get_default();
	im->rsa_priv = br_rsa_private_get_default();
	im->rsa_sign = br_rsa_pkcs1_sign_get_default();
	if ((im->aes_ctr = br_aes_x86ni_ctr_get_vtable()) == NULL)
		im->aes_ctr = &br_aes_ct64_ctr_vtable;
	if ((im->ghash = br_ghash_pclmul_get()) == 0)
		im->ghash = &br_ghash_ctmul64;
	if ((im->chacha = br_chacha20_sse2_get()) == 0)
		im->chacha = &br_chacha20_ct_run;
	if ((im->poly = br_poly1305_ctmulq_get()) == 0)
		im->poly = &br_poly1305_ctmul_run;
}

/* Prepare a server context for one connection.  0 ok, -1 on failure. */
int
front_tls_setup(struct fw_front *fe, br_ssl_server_context *sc,
    unsigned char *iobuf)
{
	const struct front_impl *im = &fe->impl;
	br_ssl_engine_context *eng = &sc->eng;

	br_ssl_server_zero(sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, im->suites, im->nsuites);
	br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_aes_ctr(eng, im->aes_ctr);
	br_ssl_engine_set_ghash(eng, im->ghash);
	br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable,
	    &br_sslrec_out_gcm_vtable);
	br_ssl_engine_set_chacha20(eng, im->chacha);
	br_ssl_engine_set_poly1305(eng, im->poly);
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable,
	    &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_ec(eng, im->ec);
	if (fe->creds.key_type == BR_KEYTYPE_EC)
		br_ssl_server_set_single_ec(sc, fe->creds.chain,
		    fe->creds.chain_len, &fe->creds.ec, BR_KEYTYPE_SIGN,
		    BR_KEYTYPE_EC, im->ec, im->ecdsa);
	else
		br_ssl_server_set_single_rsa(sc, fe->creds.chain,
		    fe->creds.chain_len, &fe->creds.rsa, BR_KEYTYPE_SIGN,
		    im->rsa_priv, im->rsa_sign);
	br_ssl_engine_set_buffer(eng, iobuf, BR_SSL_BUFSIZE_BIDI, 1);
	br_ssl_server_set_cache(sc, &fe->cache.vtable);
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION |
	    BR_OPT_ENFORCE_SERVER_PREFERENCES);
	return br_ssl_server_reset(sc) ? 0 : -1;
}

/* ---------------------------------------------------------- TLS pump */

static void
tls_closed(struct conn *c, uint64_t now)
{
	br_ssl_engine_context *eng = &c->sc->eng;
	unsigned char *buf;
	size_t len;
	char peer[64];
	int e;

	e = br_ssl_engine_last_error(eng);
	if (e != BR_ERR_OK)
		fw_log(FW_LOG_INFO, "front: %s: TLS error %d (%s)%s",
		    conn_peer_str(c, peer, sizeof(peer)), e,
		    front_br_err_name(e),
		    c->state == CS_HANDSHAKE ? " in handshake" : "");
	/* Best effort: the answer to a close_notify, or an alert. */
	buf = br_ssl_engine_sendrec_buf(eng, &len);
	if (buf != NULL && len > 0 && c->c_wr)
		(void)client_send(c, buf, len, now);
	conn_kill(c, NULL);
}

/* TLS: pass the client's plaintext on; 1 if something moved. */
static int
tls_app_in(struct conn *c, uint64_t now)
{
	br_ssl_engine_context *eng = &c->sc->eng;
	unsigned char *buf;
	size_t len;
	ssize_t n;

	buf = br_ssl_engine_recvapp_buf(eng, &len);
	n = relay_to_backend(c, buf, len, now);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	br_ssl_engine_recvapp_ack(eng, (size_t)n);
	return 1;
}

/* TLS: take the backend's bytes into the engine; 1 if something moved. */
static int
tls_app_out(struct conn *c, uint64_t now)
{
	br_ssl_engine_context *eng = &c->sc->eng;
	unsigned char *buf;
	size_t len;
	ssize_t n;

	buf = br_ssl_engine_sendapp_buf(eng, &len);
	n = relay_from_backend(c, buf, len, now);
	if (n < 0)
		return 1;	/* EOF: closing now */
	if (n == 0)
		return 0;
	br_ssl_engine_sendapp_ack(eng, (size_t)n);
	br_ssl_engine_flush(eng, 0);
	return 1;
}

/*
 * A TLS record starts with a content type of 20..23; an uppercase letter
 * first means a plain HTTP request on the TLS port.  Tell the client so
 * in plain HTTP (best effort, one write) and close: 1 if it was that.
 */
static int
tls_plain_http(struct conn *c, const unsigned char *first)
{
	static const char reply[] =
	    "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 22\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "{\"error\":\"use_https\"}\n";

	if (first[0] < 'A' || first[0] > 'Z')
		return 0;
	if (send(c->cfd, reply, sizeof(reply) - 1, MSG_NOSIGNAL) < 0)
		fw_log(FW_LOG_DEBUG, "front: could not answer plain HTTP");
	conn_kill(c, "plain HTTP request on the TLS port");
	return 1;
}

void
tls_pump(struct conn *c, uint64_t now)
{
	br_ssl_engine_context *eng = &c->sc->eng;
	unsigned char *buf;
	unsigned st;
	size_t len;
	ssize_t n;
	int moved, r;

	do {
		if (c->state == CS_DEAD)
			return;
		if (c->state == CS_DRAIN) {
			conn_drain(c);
			return;
		}
		moved = 0;
		st = br_ssl_engine_current_state(eng);
		if (st == BR_SSL_CLOSED) {
			tls_closed(c, now);
			return;
		}
		if ((st & BR_SSL_SENDREC) && c->c_wr) {
			buf = br_ssl_engine_sendrec_buf(eng, &len);
			if ((n = client_send(c, buf, len, now)) < 0)
				return;
			if (n > 0) {
				br_ssl_engine_sendrec_ack(eng, (size_t)n);
				moved = 1;
			}
		}
		if ((st & BR_SSL_RECVREC) && c->c_rd &&
		    c->state != CS_CLOSING) {
			buf = br_ssl_engine_recvrec_buf(eng, &len);
			n = client_recv(c, buf, len, now);
			if (n == -2) {
				conn_kill(c, "TCP EOF without close_notify");
				return;
			}
			if (n < 0)
				return;
			if (n > 0 && !c->got_bytes && tls_plain_http(c, buf))
				return;
			if (n > 0) {
				c->got_bytes = 1;
				br_ssl_engine_recvrec_ack(eng, (size_t)n);
				moved = 1;
			}
		}
		if (c->state == CS_HANDSHAKE &&
		    (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
			c->state = CS_OPEN;
			list_del(&c->phase);
			moved = 1;
		}
		if (c->state == CS_OPEN && (st & BR_SSL_RECVAPP)) {
			if ((r = tls_app_in(c, now)) < 0)
				return;
			moved |= r;
		}
		if (c->state == CS_OPEN && (st & BR_SSL_SENDAPP) &&
		    c->be == BE_OPEN && c->b_rd)
			moved |= tls_app_out(c, now);
		if (c->state == CS_CLOSING) {
			if (!c->close_called) {
				br_ssl_engine_close(eng);
				c->close_called = 1;
				moved = 1;
			} else if (!(st & BR_SSL_SENDREC)) {
				conn_drain_start(c, now);
				moved = 1;
			}
		}
	} while (moved);
}

/* Queue timeout with TLS: drop the request, answer 503 ourselves. */
void
tls_busy(struct conn *c)
{
	br_ssl_engine_context *eng = &c->sc->eng;
	unsigned char *buf;
	size_t len;

	while ((buf = br_ssl_engine_recvapp_buf(eng, &len)) != NULL)
		br_ssl_engine_recvapp_ack(eng, len);
	buf = br_ssl_engine_sendapp_buf(eng, &len);
	if (buf == NULL || len < front_busy_len) {
		conn_kill(c, "no room for 503");
		return;
	}
	memcpy(buf, front_busy, front_busy_len);
	br_ssl_engine_sendapp_ack(eng, front_busy_len);
	br_ssl_engine_flush(eng, 0);
}

