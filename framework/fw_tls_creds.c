/* SPDX-License-Identifier: MIT */
/*
 * fw_tls_creds.c - load the TLS certificate chain and private key.
 *
 * Owns the PEM and DER parsing of the two files named in the front-end
 * configuration.  It never logs file contents; buffers that held key
 * material are wiped with explicit_bzero on every path, including growth
 * of the DER buffer.  Runs on the thread that starts the front end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_err.h"
#include "fw_tls_creds.h"

#define CREDS_FILE_MAX	(1024 * 1024)	/* bytes of a PEM file we read */
#define CREDS_CHAIN_MAX	8		/* certificates in a chain */
#define CREDS_RSA_MAX	4096		/* bits; BearSSL's own limit */

/* A growable byte buffer whose old copies are wiped when it grows. */
struct creds_buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
	int		 oom;
};

/* What one PEM object is handed to. */
typedef int (*creds_object_fn)(void *arg, const char *name,
    const unsigned char *der, size_t len, char *err, size_t errlen);

static void
creds_buf_put(void *ctx, const void *src, size_t len)
{
	struct creds_buf *b = ctx;
	unsigned char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (len > b->cap - b->len) {
		ncap = b->cap ? b->cap : 1024;
		while (ncap - b->len < len)
			ncap *= 2;
		if ((np = malloc(ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, src, len);
	b->len += len;
}

static void
creds_buf_free(struct creds_buf *b)
{
	if (b->p != NULL) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/*
 * Read a whole file and append a newline (the PEM decoder needs one after
 * the END line).  OUT: *data (malloc'd, caller wipes and frees), *len.
 */
static int
creds_read_file(const char *path, const char *what, unsigned char **data,
    size_t *len, char *err, size_t errlen)
{
	struct stat st;
	unsigned char *buf;
	size_t off;
	ssize_t n;
	int fd;

	if (path == NULL || *path == '\0') {
		fw_errf(err, errlen, "%s file not configured", what);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fw_errf(err, errlen, "%s file %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > CREDS_FILE_MAX) {
		fw_errf(err, errlen, "%s file %s: not a regular file of "
		    "1..%d bytes", what, path, CREDS_FILE_MAX);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 2)) == NULL) {
		fw_errf(err, errlen, "%s file %s: out of memory", what,
		    path);
		close(fd);
		return -1;
	}
	off = 0;
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (off != (size_t)st.st_size) {
		fw_errf(err, errlen, "%s file %s: short read", what, path);
		explicit_bzero(buf, (size_t)st.st_size + 2);
		free(buf);
		return -1;
	}
	buf[off++] = '\n';
	buf[off] = '\0';
	*data = buf;
	*len = off;
	return 0;
}

/*
 * Decode every PEM object in data and hand each to fn.  Returns the
 * number of objects, or -1 (message in err).
 */
static int
creds_pem_each(const unsigned char *data, size_t len, const char *what,
    const char *path, creds_object_fn fn, void *arg, char *err,
    size_t errlen)
{
	br_pem_decoder_context pc;
	struct creds_buf der;
	char name[128];
	size_t off, n;
	int count, inobj, rc;

	memset(&der, 0, sizeof(der));
	br_pem_decoder_init(&pc);
	count = 0;
	inobj = 0;
	rc = -1;
	off = 0;
	while (off < len) {
		n = br_pem_decoder_push(&pc, data + off, len - off);
		off += n;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			snprintf(name, sizeof(name), "%s",
			    br_pem_decoder_name(&pc));
			creds_buf_free(&der);
			br_pem_decoder_setdest(&pc, creds_buf_put, &der);
			inobj = 1;
			break;
		case BR_PEM_END_OBJ:
			inobj = 0;
			if (der.oom) {
				fw_errf(err, errlen, "%s file %s: out of "
				    "memory", what, path);
				goto out;
			}
			if (fn(arg, name, der.p, der.len, err, errlen) != 0)
				goto out;
			creds_buf_free(&der);
			count++;
			break;
		case BR_PEM_ERROR:
			fw_errf(err, errlen, "%s file %s: malformed PEM",
			    what, path);
			goto out;
		default:
			break;
		}
	}
	if (inobj) {
		fw_errf(err, errlen, "%s file %s: unterminated PEM object",
		    what, path);
		goto out;
	}
	rc = count;
out:
	creds_buf_free(&der);
	explicit_bzero(&pc, sizeof(pc));
	return rc;
}

static int
creds_add_cert(void *arg, const char *name, const unsigned char *der,
    size_t len, char *err, size_t errlen)
{
	struct fw_tls_creds *c = arg;
	br_x509_certificate *xc;
	unsigned char *copy;

	if (strcmp(name, "CERTIFICATE") != 0 &&
	    strcmp(name, "X509 CERTIFICATE") != 0)
		return 0;	/* other objects are skipped */
	if (c->chain_len >= CREDS_CHAIN_MAX) {
		fw_errf(err, errlen, "more than %d certificates in chain",
		    CREDS_CHAIN_MAX);
		return -1;
	}
	if (c->chain == NULL &&
	    (c->chain = calloc(CREDS_CHAIN_MAX, sizeof(*c->chain))) == NULL)
		goto oom;
	if ((copy = malloc(len)) == NULL)
		goto oom;
	memcpy(copy, der, len);
	xc = &c->chain[c->chain_len++];
	xc->data = copy;
	xc->data_len = len;
	return 0;
oom:
	fw_errf(err, errlen, "out of memory");
	return -1;
}

/* Copy the decoded key out of the decoder into memory we own. */

/* Copy len bytes to *p and move *p past them; returns where they went. */
static unsigned char *
creds_take(unsigned char **p, const unsigned char *src, size_t len)
{
	unsigned char *at = *p;

	memcpy(at, src, len);
	*p += len;
	return at;
}

static int
creds_keep_key(struct fw_tls_creds *c, const br_skey_decoder_context *dc)
{
	const br_ec_private_key *ek;
	const br_rsa_private_key *rk;
	unsigned char *p;

	if (br_skey_decoder_key_type(dc) == BR_KEYTYPE_EC) {
		ek = br_skey_decoder_get_ec(dc);
		if ((c->key_mem = malloc(ek->xlen)) == NULL)
			return -1;
		c->key_mem_len = ek->xlen;
		memcpy(c->key_mem, ek->x, ek->xlen);
		c->ec.curve = ek->curve;
		c->ec.x = c->key_mem;
		c->ec.xlen = ek->xlen;
		c->key_type = BR_KEYTYPE_EC;
		return 0;
	}
	rk = br_skey_decoder_get_rsa(dc);
	c->key_mem_len = rk->plen + rk->qlen + rk->dplen + rk->dqlen +
	    rk->iqlen;
	if ((p = c->key_mem = malloc(c->key_mem_len)) == NULL)
		return -1;
	c->rsa = *rk;
	c->rsa.p = creds_take(&p, rk->p, rk->plen);
	c->rsa.q = creds_take(&p, rk->q, rk->qlen);
	c->rsa.dp = creds_take(&p, rk->dp, rk->dplen);
	c->rsa.dq = creds_take(&p, rk->dq, rk->dqlen);
	c->rsa.iq = creds_take(&p, rk->iq, rk->iqlen);
	c->key_type = BR_KEYTYPE_RSA;
	return 0;
}

static int
creds_add_key(void *arg, const char *name, const unsigned char *der,
    size_t len, char *err, size_t errlen)
{
	struct fw_tls_creds *c = arg;
	br_skey_decoder_context dc;
	int rc, e;

	if (strcmp(name, "PRIVATE KEY") != 0 &&
	    strcmp(name, "EC PRIVATE KEY") != 0 &&
	    strcmp(name, "RSA PRIVATE KEY") != 0)
		return 0;
	if (c->key_mem != NULL) {
		fw_errf(err, errlen, "more than one private key");
		return -1;
	}
	br_skey_decoder_init(&dc);
	br_skey_decoder_push(&dc, der, len);
	rc = -1;
	if ((e = br_skey_decoder_last_error(&dc)) != 0) {
		fw_errf(err, errlen, "cannot decode private key (BearSSL "
		    "error %d; encrypted keys are not supported)", e);
	} else if (creds_keep_key(c, &dc) != 0) {
		fw_errf(err, errlen, "out of memory");
	} else {
		rc = 0;
	}
	explicit_bzero(&dc, sizeof(dc));
	return rc;
}

/* The leaf's public key must be the one that goes with our private key. */
static int
creds_check_match(struct fw_tls_creds *c, char *err, size_t errlen)
{
	br_x509_decoder_context xd;
	const br_x509_pkey *pk;
	unsigned char pub[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char n[CREDS_RSA_MAX / 8];
	br_ec_public_key ep;
	size_t len, off;
	br_rsa_compute_modulus modfn;
	int ok;

	br_x509_decoder_init(&xd, NULL, NULL);
	br_x509_decoder_push(&xd, c->chain[0].data, c->chain[0].data_len);
	pk = br_x509_decoder_get_pkey(&xd);
	if (pk == NULL) {
		fw_errf(err, errlen, "cannot decode leaf certificate "
		    "(BearSSL error %d)", br_x509_decoder_last_error(&xd));
		return -1;
	}
	ok = 0;
	if (c->key_type == BR_KEYTYPE_EC && pk->key_type == BR_KEYTYPE_EC) {
		len = br_ec_compute_pub(br_ec_get_default(), &ep, pub, &c->ec);
		ok = len != 0 && pk->key.ec.curve == c->ec.curve &&
		    pk->key.ec.qlen == len &&
		    memcmp(pk->key.ec.q, pub, len) == 0;
	} else if (c->key_type == BR_KEYTYPE_RSA &&
	    pk->key_type == BR_KEYTYPE_RSA) {
		modfn = br_rsa_compute_modulus_get_default();
		len = modfn(NULL, &c->rsa);
		if (len != 0 && len <= sizeof(n) && modfn(n, &c->rsa) == len) {
			off = 0;
			while (off < pk->key.rsa.nlen &&
			    pk->key.rsa.n[off] == 0)
				off++;
			ok = pk->key.rsa.nlen - off == len &&
			    memcmp(pk->key.rsa.n + off, n, len) == 0;
		}
	}
	explicit_bzero(pub, sizeof(pub));
	if (!ok) {
		fw_errf(err, errlen, "private key does not match the "
		    "leaf certificate");
		return -1;
	}
	return 0;
}

int
fw_tls_creds_load(struct fw_tls_creds *creds, const char *cert_file,
    const char *key_file, char *err, size_t errlen)
{
	unsigned char *data;
	size_t len;
	int n;

	memset(creds, 0, sizeof(*creds));
	if (creds_read_file(cert_file, "certificate", &data, &len, err,
	    errlen) != 0)
		return -1;
	n = creds_pem_each(data, len, "certificate", cert_file,
	    creds_add_cert, creds, err, errlen);
	explicit_bzero(data, len);
	free(data);
	if (n < 0)
		goto fail;
	if (creds->chain_len == 0) {
		fw_errf(err, errlen, "certificate file %s: no CERTIFICATE "
		    "in PEM", cert_file);
		goto fail;
	}

	if (creds_read_file(key_file, "key", &data, &len, err, errlen) != 0)
		goto fail;
	n = creds_pem_each(data, len, "key", key_file, creds_add_key,
	    creds, err, errlen);
	explicit_bzero(data, len);
	free(data);
	if (n < 0)
		goto fail;
	if (creds->key_mem == NULL) {
		fw_errf(err, errlen, "key file %s: no PRIVATE KEY in PEM",
		    key_file);
		goto fail;
	}
	if (creds_check_match(creds, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	fw_tls_creds_free(creds);
	return -1;
}

void
fw_tls_creds_free(struct fw_tls_creds *creds)
{
	size_t i;

	if (creds->key_mem != NULL) {
		explicit_bzero(creds->key_mem, creds->key_mem_len);
		free(creds->key_mem);
	}
	for (i = 0; i < creds->chain_len; i++)
		free(creds->chain[i].data);
	free(creds->chain);
	explicit_bzero(creds, sizeof(*creds));
}
