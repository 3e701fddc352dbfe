/* SPDX-License-Identifier: MIT */
/*
 * app_client_tls.c - the TLS client of `apiserver call`: trust anchors
 * decoded from a PEM file, BearSSL's full client profile, and a thin
 * X.509 class around br_x509_minimal that adds what BearSSL leaves out:
 * matching an IP-literal host against the leaf's iPAddress SAN entries,
 * and an explicit --insecure mode that checks nothing but still takes the
 * server key from the leaf (so the handshake stays bound to that key).
 * Single-threaded; no secret passes through here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bearssl.h>

#include "apiserver.h"
#include "app_client.h"

#define LEAF_MAX	65536	/* bytes of a leaf certificate we keep */

/* Our X.509 class: br_x509_minimal plus the two additions above. */
struct x509_wrap {
	const br_x509_class	*vtable;
	br_x509_minimal_context	 minimal;
	br_x509_decoder_context	 decoder;	/* insecure mode only */
	int			 insecure;
	int			 want_ip;
	unsigned char		 ip[16];
	size_t			 ip_len;
	unsigned		 index;		/* certificate in chain */
	unsigned char		*leaf;		/* DER, for the IP check */
	size_t			 leaf_len, leaf_cap;
};

struct app_tls {
	int			 fd;
	br_ssl_client_context	 sc;
	struct x509_wrap	 x;
	br_sslio_context	 io;
	br_x509_trust_anchor	*tas;
	size_t			 ntas;
	int			 io_errno;	/* of the last socket failure */
	unsigned char		 iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* ------------------------------------------------------ error texts */

static const struct {
	int		 code;
	const char	*name;
	const char	*text;
} tls_errors[] = {
	{ BR_ERR_X509_NOT_TRUSTED, "X509_NOT_TRUSTED",
	    "certificate not trusted" },
	{ BR_ERR_X509_BAD_SERVER_NAME, "X509_BAD_SERVER_NAME",
	    "certificate does not match the host name" },
	{ BR_ERR_X509_EXPIRED, "X509_EXPIRED",
	    "certificate expired or not yet valid" },
	{ BR_ERR_X509_BAD_SIGNATURE, "X509_BAD_SIGNATURE",
	    "certificate signature invalid" },
	{ BR_ERR_X509_NOT_CA, "X509_NOT_CA", "issuer is not a CA" },
	{ BR_ERR_X509_EMPTY_CHAIN, "X509_EMPTY_CHAIN",
	    "server sent no certificate" },
	{ BR_ERR_X509_UNSUPPORTED, "X509_UNSUPPORTED",
	    "unsupported certificate" },
	{ BR_ERR_X509_WEAK_PUBLIC_KEY, "X509_WEAK_PUBLIC_KEY",
	    "server key too weak" },
	{ BR_ERR_X509_CRITICAL_EXTENSION, "X509_CRITICAL_EXTENSION",
	    "unknown critical certificate extension" },
	{ BR_ERR_X509_FORBIDDEN_KEY_USAGE, "X509_FORBIDDEN_KEY_USAGE",
	    "certificate key usage forbids TLS" },
	{ BR_ERR_X509_TIME_UNKNOWN, "X509_TIME_UNKNOWN",
	    "current time unknown" },
	{ BR_ERR_BAD_SIGNATURE, "BAD_SIGNATURE",
	    "server key exchange signature invalid" },
	{ BR_ERR_BAD_CIPHER_SUITE, "BAD_CIPHER_SUITE",
	    "no common cipher suite" },
	{ BR_ERR_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION",
	    "no common protocol version" },
	{ BR_ERR_BAD_MAC, "BAD_MAC", "record MAC check failed" },
	{ BR_ERR_BAD_FINISHED, "BAD_FINISHED", "handshake check failed" },
	{ BR_ERR_UNEXPECTED, "UNEXPECTED", "unexpected message" },
	{ BR_ERR_IO, "IO", "connection failed or closed" },
};

/* A readable reason for BearSSL error code `e`. */
static void
tls_strerror(const struct app_tls *s, int e, char *err, size_t errlen)
{
	const char *name = NULL, *text = NULL;
	size_t i;

	for (i = 0; i < sizeof(tls_errors) / sizeof(tls_errors[0]); i++)
		if (tls_errors[i].code == e) {
			name = tls_errors[i].name;
			text = tls_errors[i].text;
		}
	if (e == BR_ERR_IO && s->io_errno != 0)
		snprintf(err, errlen, "TLS error: %s (BearSSL error %d: IO)",
		    s->io_errno == EAGAIN ? "timed out" :
		    strerror(s->io_errno), e);
	else if (e == BR_ERR_IO)
		snprintf(err, errlen, "TLS error: connection closed by the "
		    "server without close_notify (BearSSL error 31: IO)");
	else if (name != NULL)
		snprintf(err, errlen, "TLS error: %s (BearSSL error %d: %s)",
		    text, e, name);
	else if (e >= BR_ERR_SEND_FATAL_ALERT)
		snprintf(err, errlen, "TLS error: we sent fatal alert %d "
		    "(BearSSL error %d)", e - BR_ERR_SEND_FATAL_ALERT, e);
	else if (e >= BR_ERR_RECV_FATAL_ALERT)
		snprintf(err, errlen, "TLS error: server sent fatal alert %d "
		    "(BearSSL error %d)", e - BR_ERR_RECV_FATAL_ALERT, e);
	else
		snprintf(err, errlen, "TLS error: BearSSL error %d%s", e,
		    e >= BR_ERR_X509_OK ? " (X509 certificate problem)" : "");
}

/* Set err from the engine's state after a failed sslio call. */
static int
tls_fail(struct app_tls *s, char *err, size_t errlen)
{
	int e = br_ssl_engine_last_error(&s->sc.eng);

	if (e == BR_ERR_OK)
		snprintf(err, errlen, "TLS connection closed");
	else
		tls_strerror(s, e, err, errlen);
	return -1;
}

/* ----------------------------------------------------- trust anchors */

struct buf {
	unsigned char	*data;
	size_t		 len, cap;
	int		 overflow;
};

static void
buf_append(void *ctx, const void *data, size_t len)
{
	struct buf *b = ctx;
	unsigned char *p;
	size_t cap;

	if (b->overflow || len > LEAF_MAX - b->len) {
		b->overflow = 1;
		return;
	}
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap * 2 : 2048;
		while (cap < b->len + len)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL) {
			b->overflow = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void *
dup_bytes(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q != NULL)
		memcpy(q, p, n);
	return q;
}

/* Decode one DER certificate into a trust anchor (deep copies). */
static int
anchor_from_der(const struct buf *der, br_x509_trust_anchor *ta)
{
	br_x509_decoder_context dc;
	struct buf dn = { 0 };
	const br_x509_pkey *pk;
	int rc = -1;

	memset(ta, 0, sizeof(*ta));
	br_x509_decoder_init(&dc, buf_append, &dn);
	br_x509_decoder_push(&dc, der->data, der->len);
	if (br_x509_decoder_last_error(&dc) != 0 || dn.overflow ||
	    (pk = br_x509_decoder_get_pkey(&dc)) == NULL)
		goto out;
	ta->dn.data = dn.data;
	ta->dn.len = dn.len;
	dn.data = NULL;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
		rc = ta->pkey.key.rsa.n && ta->pkey.key.rsa.e ? 0 : -1;
	} else if (pk->key_type == BR_KEYTYPE_EC) {
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
		rc = ta->pkey.key.ec.q ? 0 : -1;
	}
out:
	free(dn.data);
	return rc;
}

static void
anchors_free(br_x509_trust_anchor *tas, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(tas[i].dn.data);
		if (tas[i].pkey.key_type == BR_KEYTYPE_RSA) {
			free(tas[i].pkey.key.rsa.n);
			free(tas[i].pkey.key.rsa.e);
		} else {
			free(tas[i].pkey.key.ec.q);
		}
	}
	free(tas);
}

static long
read_file(const char *path, unsigned char **out)
{
	unsigned char *p;
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if ((p = malloc(APP_CLIENT_CACERT_MAX + 2)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(p, 1, APP_CLIENT_CACERT_MAX + 1, f);
	if (ferror(f) || n > APP_CLIENT_CACERT_MAX) {
		errno = ferror(f) ? errno : EFBIG;
		fclose(f);
		free(p);
		return -1;
	}
	fclose(f);
	p[n++] = '\n';	/* BearSSL's PEM decoder wants a final newline */
	*out = p;
	return (long)n;
}

/* Every CERTIFICATE object of a PEM file as a trust anchor. */
static int
anchors_load(const char *path, br_x509_trust_anchor **out, size_t *nout,
    char *err, size_t errlen)
{
	br_pem_decoder_context pc;
	br_x509_trust_anchor *tas = NULL;
	struct buf der = { 0 };
	unsigned char *pem = NULL;
	size_t off = 0, n = 0;
	long len;
	int in_cert = 0, rc = -1;

	if ((len = read_file(path, &pem)) < 0) {
		snprintf(err, errlen, "cannot read --cacert %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((tas = calloc(APP_CLIENT_ANCHORS_MAX, sizeof(*tas))) == NULL)
		goto out;
	br_pem_decoder_init(&pc);
	while (off < (size_t)len) {
		off += br_pem_decoder_push(&pc, pem + off, (size_t)len - off);
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			in_cert = strcmp(br_pem_decoder_name(&pc),
			    "CERTIFICATE") == 0;
			der.len = 0;
			br_pem_decoder_setdest(&pc, in_cert ? buf_append : NULL,
			    &der);
			break;
		case BR_PEM_END_OBJ:
			if (!in_cert)
				break;
			if (n == APP_CLIENT_ANCHORS_MAX || der.overflow ||
			    anchor_from_der(&der, &tas[n]) != 0) {
				snprintf(err, errlen, "--cacert %s: "
				    "certificate %zu cannot be used", path,
				    n + 1);
				goto out;
			}
			n++;
			in_cert = 0;
			break;
		case BR_PEM_ERROR:
			snprintf(err, errlen, "--cacert %s is not valid PEM",
			    path);
			goto out;
		default:
			break;
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "--cacert %s holds no certificate", path);
		goto out;
	}
	*out = tas;
	*nout = n;
	tas = NULL;
	rc = 0;
out:
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	/* calloc'd: unused entries are all NULL, so free them all. */
	anchors_free(tas, tas != NULL ? APP_CLIENT_ANCHORS_MAX : 0);
	free(der.data);
	free(pem);
	return rc;
}

/* ------------------------------------------- iPAddress SAN matching */

struct der {
	const unsigned char	*p;
	size_t			 n;
};

/* Take one TLV off d.  Tag in *tag, contents in *v.  0 ok, -1 bad. */
static int
der_take(struct der *d, unsigned *tag, struct der *v)
{
	size_t len = 0, i, k;

	if (d->n < 2 || (d->p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = d->p[0];
	if (d->p[1] < 0x80) {
		len = d->p[1];
		i = 2;
	} else {
		k = d->p[1] & 0x7f;
		if (k == 0 || k > 3 || d->n < 2 + k)
			return -1;
		for (i = 0; i < k; i++)
			len = (len << 8) | d->p[2 + i];
		i = 2 + k;
	}
	if (len > d->n - i)
		return -1;
	v->p = d->p + i;
	v->n = len;
	d->p += i + len;
	d->n -= i + len;
	return 0;
}

/* 1 if the SAN extension value (GeneralNames) lists ip. */
static int
san_has_ip(struct der names, const unsigned char *ip, size_t ip_len)
{
	struct der seq, gn;
	unsigned tag;

	if (der_take(&names, &tag, &seq) != 0 || tag != 0x30)
		return 0;
	while (seq.n > 0) {
		if (der_take(&seq, &tag, &gn) != 0)
			return 0;
		if (tag == 0x87 && gn.n == ip_len &&
		    memcmp(gn.p, ip, ip_len) == 0)
			return 1;
	}
	return 0;
}

/* 1 if the DER certificate has an iPAddress SAN equal to ip. */
static int
cert_has_ip(const unsigned char *cert, size_t len, const unsigned char *ip,
    size_t ip_len)
{
	static const unsigned char san_oid[] = { 0x55, 0x1d, 0x11 };
	struct der d = { cert, len }, c, tbs, exts, list, ext, oid, val;
	unsigned tag;

	if (der_take(&d, &tag, &c) != 0 || tag != 0x30 ||
	    der_take(&c, &tag, &tbs) != 0 || tag != 0x30)
		return 0;
	do {
		if (tbs.n == 0 || der_take(&tbs, &tag, &exts) != 0)
			return 0;
	} while (tag != 0xa3);
	if (der_take(&exts, &tag, &list) != 0 || tag != 0x30)
		return 0;
	while (list.n > 0) {
		if (der_take(&list, &tag, &ext) != 0 || tag != 0x30 ||
		    der_take(&ext, &tag, &oid) != 0 || tag != 0x06)
			return 0;
		if (oid.n != sizeof(san_oid) ||
		    memcmp(oid.p, san_oid, sizeof(san_oid)) != 0)
			continue;
		if (der_take(&ext, &tag, &val) != 0)
			return 0;
		if (tag == 0x01 && der_take(&ext, &tag, &val) != 0)
			return 0;
		return tag == 0x04 && san_has_ip(val, ip, ip_len);
	}
	return 0;
}

/* ---------------------------------------------------- the x509 class */

static void
xw_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct x509_wrap *x = (struct x509_wrap *)(void *)ctx;

	x->index = 0;
	x->leaf_len = 0;
	if (x->insecure)
		br_x509_decoder_init(&x->decoder, NULL, NULL);
	else
		x->minimal.vtable->start_chain(&x->minimal.vtable,
		    server_name);
}

static void
xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct x509_wrap *x = (struct x509_wrap *)(void *)ctx;

	if (!x->insecure)
		x->minimal.vtable->start_cert(&x->minimal.vtable, length);
	if (x->index == 0 && x->want_ip && length <= LEAF_MAX &&
	    (x->leaf = malloc(length ? length : 1)) != NULL)
		x->leaf_cap = length;
}

static void
xw_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct x509_wrap *x = (struct x509_wrap *)(void *)ctx;

	if (x->insecure && x->index == 0)
		br_x509_decoder_push(&x->decoder, buf, len);
	else if (!x->insecure)
		x->minimal.vtable->append(&x->minimal.vtable, buf, len);
	if (x->index == 0 && x->leaf != NULL &&
	    len <= x->leaf_cap - x->leaf_len) {
		memcpy(x->leaf + x->leaf_len, buf, len);
		x->leaf_len += len;
	}
}

static void
xw_end_cert(const br_x509_class **ctx)
{
	struct x509_wrap *x = (struct x509_wrap *)(void *)ctx;

	if (!x->insecure)
		x->minimal.vtable->end_cert(&x->minimal.vtable);
	x->index++;
}

static unsigned
xw_end_chain(const br_x509_class **ctx)
{
	struct x509_wrap *x = (struct x509_wrap *)(void *)ctx;
	unsigned e;
	int d;

	if (x->insecure) {
		if (x->index == 0)
			return BR_ERR_X509_EMPTY_CHAIN;
		d = br_x509_decoder_last_error(&x->decoder);
		if (d != 0)
			return (unsigned)d;
		return br_x509_decoder_get_pkey(&x->decoder) != NULL ? 0 :
		    BR_ERR_X509_UNSUPPORTED;
	}
	e = x->minimal.vtable->end_chain(&x->minimal.vtable);
	if (e != 0 || !x->want_ip)
		return e;
	/* The chain is trusted; now the name: BearSSL matches DNS only. */
	if (x->leaf == NULL || x->leaf_len != x->leaf_cap ||
	    !cert_has_ip(x->leaf, x->leaf_len, x->ip, x->ip_len))
		return BR_ERR_X509_BAD_SERVER_NAME;
	return 0;
}

static const br_x509_pkey *
xw_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct x509_wrap *x = (struct x509_wrap *)(void *)ctx;

	if (!x->insecure)
		return x->minimal.vtable->get_pkey(&x->minimal.vtable, usages);
	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&x->decoder);
}

static const br_x509_class x509_wrap_vtable = {
	sizeof(struct x509_wrap),
	xw_start_chain,
	xw_start_cert,
	xw_append,
	xw_end_cert,
	xw_end_chain,
	xw_get_pkey
};

/* ------------------------------------------------------ the session */

static int
sock_read(void *ctx, unsigned char *buf, size_t len)
{
	struct app_tls *s = ctx;
	ssize_t n;

	do
		n = recv(s->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		s->io_errno = n < 0 ? errno : 0;
		return -1;
	}
	return (int)n;
}

static int
sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct app_tls *s = ctx;
	ssize_t n;

	do
		n = send(s->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		s->io_errno = n < 0 ? errno : EPIPE;
		return -1;
	}
	return (int)n;
}

int
app_tls_open(int fd, const char *host, int host_is_ip,
    const struct app_tls_opts *t, struct app_tls **out, char *err,
    size_t errlen)
{
	struct app_tls *s;

	*out = NULL;
	err[0] = '\0';
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->fd = fd;
	if (!t->insecure && anchors_load(t->cacert, &s->tas, &s->ntas, err,
	    errlen) != 0) {
		free(s);
		return -1;
	}
	br_ssl_client_init_full(&s->sc, &s->x.minimal, s->tas, s->ntas);
	s->x.vtable = &x509_wrap_vtable;
	s->x.insecure = t->insecure;
	if (host_is_ip) {
		s->x.want_ip = !t->insecure;
		if (inet_pton(AF_INET, host, s->x.ip) == 1)
			s->x.ip_len = 4;
		else if (inet_pton(AF_INET6, host, s->x.ip) == 1)
			s->x.ip_len = 16;
	}
	br_ssl_engine_set_x509(&s->sc.eng, &s->x.vtable);
	br_ssl_engine_set_buffer(&s->sc.eng, s->iobuf, sizeof(s->iobuf), 1);
	/* No SNI for an IP literal (RFC 6066); its name is checked above. */
	if (!br_ssl_client_reset(&s->sc, host_is_ip ? NULL : host, 0)) {
		tls_fail(s, err, errlen);
		app_tls_free(s);
		return -1;
	}
	br_sslio_init(&s->io, &s->sc.eng, sock_read, s, sock_write, s);
	*out = s;
	return 0;
}

int
app_tls_write(struct app_tls *s, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (br_sslio_write_all(&s->io, buf, len) != 0)
		return tls_fail(s, err, errlen);
	return 0;
}

int
app_tls_flush(struct app_tls *s, char *err, size_t errlen)
{
	if (br_sslio_flush(&s->io) != 0)
		return tls_fail(s, err, errlen);
	return 0;
}

long
app_tls_read(struct app_tls *s, void *buf, size_t len, char *err,
    size_t errlen)
{
	int n;

	if (len > 16384)
		len = 16384;
	n = br_sslio_read(&s->io, buf, len);
	if (n > 0)
		return n;
	/* A close_notify ends the stream cleanly; anything else is an error. */
	if (br_ssl_engine_current_state(&s->sc.eng) == BR_SSL_CLOSED &&
	    br_ssl_engine_last_error(&s->sc.eng) == BR_ERR_OK)
		return 0;
	return tls_fail(s, err, errlen);
}

void
app_tls_free(struct app_tls *s)
{
	if (s == NULL)
		return;
	free(s->x.leaf);
	anchors_free(s->tas, s->ntas);
	/* The engine buffers held session keys and plaintext. */
	fw_wipe(s, sizeof(*s));
	free(s);
}
