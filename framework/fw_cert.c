/* SPDX-License-Identifier: MIT */
/*
 * fw_cert.c - a self-signed ECDSA P-256 certificate for development.
 *
 * Makes a key with BearSSL's HMAC-DRBG seeded from the system, encodes an
 * X.509 v3 certificate with our own DER writer (fw_der), signs it, and
 * writes DIR/key.pem (PKCS#8, 0600) and DIR/cert.pem (0644).  Private key
 * bytes live only on this stack and in buffers wiped before returning.
 * Called from the controlling thread at start-up or by a command.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "apiserver.h"
#include "fw_err.h"
#include "fw_der.h"

#define CERT_NAMES_MAX		32
#define CERT_NAME_MAX		253	/* a DNS name */
#define CERT_CN_MAX		64	/* ub-common-name */
#define CERT_DAYS_MAX		36500
#define CERT_BACKDATE_S		3600	/* tolerate clocks an hour slow */
#define CERT_DER_MAX		16384
#define CERT_SERIAL_LEN		16
#define CERT_FP_LEN		(32 * 3)	/* 32 x "AB:", last : -> NUL */

static const unsigned char oid_ecdsa_sha256[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
};
static const unsigned char oid_ec_public_key[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
};
static const unsigned char oid_prime256v1[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const unsigned char oid_common_name[] = { 0x55, 0x04, 0x03 };
static const unsigned char oid_subject_alt_name[] = { 0x55, 0x1d, 0x11 };
static const unsigned char oid_basic_constraints[] = { 0x55, 0x1d, 0x13 };
static const unsigned char oid_key_usage[] = { 0x55, 0x1d, 0x0f };
static const unsigned char oid_ext_key_usage[] = { 0x55, 0x1d, 0x25 };
static const unsigned char oid_subject_key_id[] = { 0x55, 0x1d, 0x0e };
static const unsigned char key_usage_bits[] = { 0x07, 0x80 };
static const unsigned char oid_server_auth[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01
};

/* What the certificate is made from. */
struct cert_input {
	const char *const	*names;
	size_t			 nnames;
	unsigned		 days;
	time_t			 now;
	unsigned char		 serial[CERT_SERIAL_LEN];
	const unsigned char	*pub;		/* uncompressed point */
	size_t			 publen;
};

/* 1 if s is a DNS name we put in a certificate (letters, digits, -.*). */
static int
cert_dns_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CERT_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '.' || (s[i] == '*' && i == 0))
			continue;
		return 0;
	}
	return 1;
}

static void
cert_alg_id(struct fw_der *d)
{
	size_t m;

	m = fw_der_open(d, FW_DER_SEQUENCE);
	fw_der_tlv(d, FW_DER_OID, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256));
	fw_der_close(d, m);
}

static void
cert_name(struct fw_der *d, const char *cn)
{
	size_t m1, m2, m3;

	m1 = fw_der_open(d, FW_DER_SEQUENCE);
	m2 = fw_der_open(d, FW_DER_SET);
	m3 = fw_der_open(d, FW_DER_SEQUENCE);
	fw_der_tlv(d, FW_DER_OID, oid_common_name, sizeof(oid_common_name));
	fw_der_tlv(d, FW_DER_UTF8_STRING, cn, strlen(cn));
	fw_der_close(d, m3);
	fw_der_close(d, m2);
	fw_der_close(d, m1);
}

static void
cert_spki(struct fw_der *d, const struct cert_input *in)
{
	size_t m1, m2;

	m1 = fw_der_open(d, FW_DER_SEQUENCE);
	m2 = fw_der_open(d, FW_DER_SEQUENCE);
	fw_der_tlv(d, FW_DER_OID, oid_ec_public_key,
	    sizeof(oid_ec_public_key));
	fw_der_tlv(d, FW_DER_OID, oid_prime256v1, sizeof(oid_prime256v1));
	fw_der_close(d, m2);
	fw_der_bits(d, in->pub, in->publen);
	fw_der_close(d, m1);
}

/* Open an Extension; returns the mark of its OCTET STRING wrapper. */
static size_t
cert_ext_open(struct fw_der *d, const unsigned char *oid, size_t oidlen,
    int critical, size_t *outer)
{
	static const unsigned char yes = 0xff;

	*outer = fw_der_open(d, FW_DER_SEQUENCE);
	fw_der_tlv(d, FW_DER_OID, oid, oidlen);
	if (critical)
		fw_der_tlv(d, FW_DER_BOOLEAN, &yes, 1);
	return fw_der_open(d, FW_DER_OCTET_STRING);
}

static void
cert_ext_close(struct fw_der *d, size_t inner, size_t outer)
{
	fw_der_close(d, inner);
	fw_der_close(d, outer);
}

static void
cert_ext_san(struct fw_der *d, const struct cert_input *in)
{
	unsigned char ip[16];
	size_t i, o, x, s;

	x = cert_ext_open(d, oid_subject_alt_name,
	    sizeof(oid_subject_alt_name), 0, &o);
	s = fw_der_open(d, FW_DER_SEQUENCE);
	for (i = 0; i < in->nnames; i++) {
		if (inet_pton(AF_INET, in->names[i], ip) == 1)
			fw_der_tlv(d, 0x87, ip, 4);	/* [7] iPAddress */
		else if (inet_pton(AF_INET6, in->names[i], ip) == 1)
			fw_der_tlv(d, 0x87, ip, 16);
		else				/* [2] dNSName */
			fw_der_tlv(d, 0x82, in->names[i],
			    strlen(in->names[i]));
	}
	fw_der_close(d, s);
	cert_ext_close(d, x, o);
}

static void
cert_extensions(struct fw_der *d, const struct cert_input *in)
{
	unsigned char skid[br_sha1_SIZE];
	br_sha1_context sha1;
	size_t m0, m1, o, x, s;

	m0 = fw_der_open(d, 0xa3);		/* [3] EXPLICIT */
	m1 = fw_der_open(d, FW_DER_SEQUENCE);
	cert_ext_san(d, in);

	x = cert_ext_open(d, oid_basic_constraints,
	    sizeof(oid_basic_constraints), 1, &o);
	s = fw_der_open(d, FW_DER_SEQUENCE);	/* cA absent: FALSE */
	fw_der_close(d, s);
	cert_ext_close(d, x, o);

	x = cert_ext_open(d, oid_key_usage, sizeof(oid_key_usage), 1, &o);
	/* digitalSignature is bit 0: one byte 0x80, 7 unused bits. */
	fw_der_tlv(d, FW_DER_BIT_STRING, key_usage_bits,
	    sizeof(key_usage_bits));
	cert_ext_close(d, x, o);

	x = cert_ext_open(d, oid_ext_key_usage, sizeof(oid_ext_key_usage), 0,
	    &o);
	s = fw_der_open(d, FW_DER_SEQUENCE);
	fw_der_tlv(d, FW_DER_OID, oid_server_auth, sizeof(oid_server_auth));
	fw_der_close(d, s);
	cert_ext_close(d, x, o);

	/* RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
	br_sha1_init(&sha1);
	br_sha1_update(&sha1, in->pub, in->publen);
	br_sha1_out(&sha1, skid);
	x = cert_ext_open(d, oid_subject_key_id, sizeof(oid_subject_key_id),
	    0, &o);
	fw_der_tlv(d, FW_DER_OCTET_STRING, skid, sizeof(skid));
	cert_ext_close(d, x, o);

	fw_der_close(d, m1);
	fw_der_close(d, m0);
}

/* The TBSCertificate. */
static void
cert_tbs(struct fw_der *d, const struct cert_input *in)
{
	static const unsigned char v3[] = { 0x02 };
	size_t m, v, t;

	m = fw_der_open(d, FW_DER_SEQUENCE);
	v = fw_der_open(d, 0xa0);		/* [0] EXPLICIT version */
	fw_der_tlv(d, FW_DER_INTEGER, v3, sizeof(v3));
	fw_der_close(d, v);
	fw_der_uint(d, in->serial, sizeof(in->serial));
	cert_alg_id(d);
	cert_name(d, in->names[0]);
	t = fw_der_open(d, FW_DER_SEQUENCE);
	fw_der_time(d, in->now - CERT_BACKDATE_S);
	fw_der_time(d, in->now + (time_t)in->days * 86400);
	fw_der_close(d, t);
	cert_name(d, in->names[0]);
	cert_spki(d, in);
	cert_extensions(d, in);
	fw_der_close(d, m);
}

/* Write a whole file with the given mode.  0 ok, -1 (reason in err). */
static int
cert_write_file(const char *dir, const char *name, mode_t mode,
    const void *data, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = data;
	char path[4096];
	ssize_t n;
	size_t off;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		fw_errf(err, errlen, "directory name too long");
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0 || fchmod(fd, mode) != 0) {
		fw_errf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (off = 0; off < len; off += (size_t)n) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			fw_errf(err, errlen, "%s: %s", path,
			    n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fw_errf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* PEM-encode data and write it.  The PEM buffer is wiped after. */
static int
cert_write_pem(const char *dir, const char *name, mode_t mode,
    const char *banner, const void *der, size_t len, char *err,
    size_t errlen)
{
	char *pem;
	size_t plen;
	int rc;

	plen = br_pem_encode(NULL, der, len, banner, BR_PEM_LINE64);
	if ((pem = malloc(plen + 1)) == NULL) {
		fw_errf(err, errlen, "out of memory");
		return -1;
	}
	br_pem_encode(pem, der, len, banner, BR_PEM_LINE64);
	rc = cert_write_file(dir, name, mode, pem, plen, err, errlen);
	explicit_bzero(pem, plen + 1);
	free(pem);
	return rc;
}

static int
cert_check_args(const char *dir, const char *const *names, size_t nnames,
    unsigned days, size_t fplen, char *err, size_t errlen)
{
	unsigned char ip[16];
	size_t i;

	if (dir == NULL || *dir == '\0') {
		fw_errf(err, errlen, "no directory given");
		return -1;
	}
	if (names == NULL || nnames == 0 || nnames > CERT_NAMES_MAX) {
		fw_errf(err, errlen, "need 1..%d names", CERT_NAMES_MAX);
		return -1;
	}
	if (days == 0 || days > CERT_DAYS_MAX) {
		fw_errf(err, errlen, "days must be 1..%d", CERT_DAYS_MAX);
		return -1;
	}
	if (fplen < CERT_FP_LEN) {
		fw_errf(err, errlen, "fingerprint buffer too small");
		return -1;
	}
	for (i = 0; i < nnames; i++) {
		if (names[i] == NULL ||
		    (inet_pton(AF_INET, names[i], ip) != 1 &&
		    inet_pton(AF_INET6, names[i], ip) != 1 &&
		    !cert_dns_ok(names[i]))) {
			fw_errf(err, errlen, "name %zu is not a DNS name or "
			    "IP address", i + 1);
			return -1;
		}
	}
	if (strlen(names[0]) > CERT_CN_MAX) {
		fw_errf(err, errlen, "first name longer than %d (it is the "
		    "CN)", CERT_CN_MAX);
		return -1;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fw_errf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Key pair from a system-seeded HMAC-DRBG, and a random serial. */
static int
cert_keygen(br_ec_private_key *sk, unsigned char *kbuf,
    br_ec_public_key *pk, unsigned char *pbuf, unsigned char *serial,
    char *err, size_t errlen)
{
	const br_ec_impl *ec = br_ec_get_default();
	br_hmac_drbg_context rng;
	br_prng_seeder seeder;
	int rc = -1;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, NULL, 0);
	seeder = br_prng_seeder_system(NULL);
	if (seeder == 0 || !seeder(&rng.vtable)) {
		fw_errf(err, errlen, "no system random source");
		goto out;
	}
	if (br_ec_keygen(&rng.vtable, ec, sk, kbuf, BR_EC_secp256r1) == 0 ||
	    br_ec_compute_pub(ec, pk, pbuf, sk) == 0) {
		fw_errf(err, errlen, "key generation failed");
		goto out;
	}
	br_hmac_drbg_generate(&rng, serial, CERT_SERIAL_LEN);
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	rc = 0;
out:
	explicit_bzero(&rng, sizeof(rng));
	return rc;
}

static void
cert_fingerprint(char *fp, const unsigned char *der, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char h[br_sha256_SIZE];
	br_sha256_context sc;
	size_t i;

	br_sha256_init(&sc);
	br_sha256_update(&sc, der, len);
	br_sha256_out(&sc, h);
	for (i = 0; i < sizeof(h); i++) {
		fp[3 * i] = hex[h[i] >> 4];
		fp[3 * i + 1] = hex[h[i] & 0x0f];
		fp[3 * i + 2] = ':';
	}
	fp[3 * sizeof(h) - 1] = '\0';
}

/* Certificate = SEQUENCE { tbs, algorithm, signature }. */
static size_t
cert_build(unsigned char *out, size_t cap, const struct cert_input *in,
    const br_ec_private_key *sk)
{
	unsigned char tbsbuf[CERT_DER_MAX], h[br_sha256_SIZE], sig[80];
	br_sha256_context sc;
	struct fw_der tbs, d;
	size_t siglen, m;

	fw_der_init(&tbs, tbsbuf, sizeof(tbsbuf));
	cert_tbs(&tbs, in);
	if (tbs.err)
		return 0;
	br_sha256_init(&sc);
	br_sha256_update(&sc, tbs.buf, tbs.len);
	br_sha256_out(&sc, h);
	siglen = br_ecdsa_i31_sign_asn1(br_ec_get_default(),
	    &br_sha256_vtable, h, sk, sig);
	if (siglen == 0)
		return 0;
	fw_der_init(&d, out, cap);
	m = fw_der_open(&d, FW_DER_SEQUENCE);
	fw_der_raw(&d, tbs.buf, tbs.len);
	cert_alg_id(&d);
	fw_der_bits(&d, sig, siglen);
	fw_der_close(&d, m);
	return d.err ? 0 : d.len;
}

int
fw_cert_generate(const char *dir, const char *const *names, size_t nnames,
    unsigned days, char *fp, size_t fplen, char *err, size_t errlen)
{
	unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	unsigned char pbuf[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char der[CERT_DER_MAX], *p8 = NULL;
	br_ec_private_key sk;
	br_ec_public_key pk;
	struct cert_input in;
	size_t derlen, p8len = 0;
	int rc = -1;

	if (cert_check_args(dir, names, nnames, days, fplen, err,
	    errlen) != 0)
		return -1;
	memset(&in, 0, sizeof(in));
	if (cert_keygen(&sk, kbuf, &pk, pbuf, in.serial, err, errlen) != 0)
		goto out;
	in.names = names;
	in.nnames = nnames;
	in.days = days;
	in.now = time(NULL);
	in.pub = pk.q;
	in.publen = pk.qlen;
	if ((derlen = cert_build(der, sizeof(der), &in, &sk)) == 0) {
		fw_errf(err, errlen, "cannot encode or sign the "
		    "certificate (too many or too long names?)");
		goto out;
	}
	p8len = br_encode_ec_pkcs8_der(NULL, &sk, &pk);
	if (p8len == 0 || (p8 = malloc(p8len)) == NULL) {
		fw_errf(err, errlen, "cannot encode the key");
		goto out;
	}
	br_encode_ec_pkcs8_der(p8, &sk, &pk);
	if (cert_write_pem(dir, "key.pem", 0600, "PRIVATE KEY", p8, p8len,
	    err, errlen) != 0 ||
	    cert_write_pem(dir, "cert.pem", 0644, "CERTIFICATE", der, derlen,
	    err, errlen) != 0)
		goto out;
	cert_fingerprint(fp, der, derlen);
	rc = 0;
out:
	if (p8 != NULL) {
		explicit_bzero(p8, p8len);
		free(p8);
	}
	explicit_bzero(kbuf, sizeof(kbuf));
	explicit_bzero(&sk, sizeof(sk));
	return rc;
}
