/* SPDX-License-Identifier: MIT */
/*
 * gen_reqs.c - write pre-signed raw HTTP/1.1 requests (APIHMAC1 scheme) for
 * the benchmark's wrk script.  Every request has its own nonce, so a server
 * that refuses replays accepts each one exactly once.
 *
 *   gen_reqs --secret S --key-id ID --version V --host H --method M
 *            --path P [--body-file F --ctype T] --ts UNIX --tag TAG
 *            --count N --files K --out PREFIX
 *
 * Writes PREFIX.0 .. PREFIX.<K-1>.  Request i goes to file i % K.  All
 * requests of one run have the same length (fixed-width nonce), so each
 * file starts with one line "<record length>\n" followed by the records
 * back to back; the Lua side reads one record per f:read(len).
 * The nonce is TAG + "-" + 16 hex digits of splitmix64(i) (TAG: 4..40 of
 * [A-Za-z0-9_]): unique within a run (splitmix64 is a bijection) and in
 * random order, so the server's UNIQUE index sees random inserts, as with
 * real clients' random nonces.
 *
 * Uses BearSSL's SHA-256 and HMAC (the same library the server uses).
 */
#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
hex(char *out, const unsigned char *in, size_t n)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static unsigned long long
splitmix64(unsigned long long x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
usage(void)
{
	fprintf(stderr, "usage: gen_reqs --secret S --key-id ID --version V "
	    "--host H --method M --path P [--body-file F --ctype T] --ts UNIX "
	    "--tag TAG --count N --files K --out PREFIX\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *secret = NULL, *key_id = NULL, *version = NULL;
	const char *host = NULL, *method = "GET", *path = NULL;
	const char *body_file = NULL, *ctype = NULL, *ts = NULL;
	const char *tag = NULL, *out = NULL;
	unsigned long count = 0, nfiles = 1, i;
	char *body = NULL, *host_lc, bodyhash[65], nonce[80], sig[65];
	char prefix[4096], rec[8192], fname[4096];
	size_t body_len = 0, prefix_len, k;
	unsigned char h[32];
	br_sha256_context sc;
	br_hmac_key_context kc;
	br_hmac_context hc;
	FILE **fp;
	int n, reclen = -1;

	for (n = 1; n + 1 < argc; n += 2) {
		const char *a = argv[n], *v = argv[n + 1];
		if (!strcmp(a, "--secret")) secret = v;
		else if (!strcmp(a, "--key-id")) key_id = v;
		else if (!strcmp(a, "--version")) version = v;
		else if (!strcmp(a, "--host")) host = v;
		else if (!strcmp(a, "--method")) method = v;
		else if (!strcmp(a, "--path")) path = v;
		else if (!strcmp(a, "--body-file")) body_file = v;
		else if (!strcmp(a, "--ctype")) ctype = v;
		else if (!strcmp(a, "--ts")) ts = v;
		else if (!strcmp(a, "--tag")) tag = v;
		else if (!strcmp(a, "--count")) count = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--files")) nfiles = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--out")) out = v;
		else usage();
	}
	if (n != argc || !secret || !key_id || !version || !host || !path ||
	    !ts || !tag || !out || count == 0 || nfiles == 0 || nfiles > 64 ||
	    strlen(tag) < 4 || strlen(tag) > 40)
		usage();

	if (body_file != NULL) {
		FILE *bf = fopen(body_file, "rb");
		long len;
		if (bf == NULL || fseek(bf, 0, SEEK_END) != 0 ||
		    (len = ftell(bf)) < 0 || fseek(bf, 0, SEEK_SET) != 0) {
			perror(body_file);
			return 1;
		}
		body_len = (size_t)len;
		body = malloc(body_len + 1);
		if (body == NULL || fread(body, 1, body_len, bf) != body_len) {
			perror(body_file);
			return 1;
		}
		fclose(bf);
	}
	br_sha256_init(&sc);
	br_sha256_update(&sc, body, body_len);
	br_sha256_out(&sc, h);
	hex(bodyhash, h, 32);

	host_lc = strdup(host);
	for (k = 0; host_lc[k]; k++)
		if (host_lc[k] >= 'A' && host_lc[k] <= 'Z')
			host_lc[k] = (char)(host_lc[k] + 32);

	/* Canonical string up to (not including) the nonce line. */
	n = snprintf(prefix, sizeof(prefix), "APIHMAC1\n%s\n%s\n%s\n\n%s\n%s\n"
	    "%s\n%s\n", method, host_lc, path, ctype ? ctype : "", key_id,
	    version, ts);
	if (n < 0 || (size_t)n >= sizeof(prefix))
		usage();
	prefix_len = (size_t)n;

	fp = calloc(nfiles, sizeof(*fp));
	for (k = 0; k < nfiles; k++) {
		snprintf(fname, sizeof(fname), "%s.%zu", out, k);
		fp[k] = fopen(fname, "wb");
		if (fp[k] == NULL) {
			perror(fname);
			return 1;
		}
		setvbuf(fp[k], NULL, _IOFBF, 1 << 20);
	}

	br_hmac_key_init(&kc, &br_sha256_vtable, secret, strlen(secret));
	for (i = 0; i < count; i++) {
		int nl;

		nl = snprintf(nonce, sizeof(nonce), "%s-%016llx", tag,
		    splitmix64((unsigned long long)i));
		br_hmac_init(&hc, &kc, 0);
		br_hmac_update(&hc, prefix, prefix_len);
		br_hmac_update(&hc, nonce, (size_t)nl);
		br_hmac_update(&hc, "\n", 1);
		br_hmac_update(&hc, bodyhash, 64);
		br_hmac_out(&hc, h);
		hex(sig, h, 32);

		n = snprintf(rec, sizeof(rec), "%s %s HTTP/1.1\r\nHost: %s\r\n"
		    "X-Key-Id: %s\r\nX-Key-Version: %s\r\nX-Timestamp: %s\r\n"
		    "X-Nonce: %s\r\nX-API-Signature: %s\r\n", method, path,
		    host, key_id, version, ts, nonce, sig);
		if (body != NULL)
			n += snprintf(rec + n, sizeof(rec) - (size_t)n,
			    "Content-Type: %s\r\nContent-Length: %zu\r\n",
			    ctype ? ctype : "application/octet-stream",
			    body_len);
		n += snprintf(rec + n, sizeof(rec) - (size_t)n, "\r\n");
		if (reclen < 0) {
			reclen = n + (int)body_len;
			for (k = 0; k < nfiles; k++)
				fprintf(fp[k], "%d\n", reclen);
		} else if (n + (int)body_len != reclen) {
			fprintf(stderr, "gen_reqs: record length changed\n");
			return 1;
		}
		k = i % nfiles;
		fwrite(rec, 1, (size_t)n, fp[k]);
		if (body != NULL)
			fwrite(body, 1, body_len, fp[k]);
	}
	for (k = 0; k < nfiles; k++)
		if (fclose(fp[k]) != 0) {
			perror("gen_reqs: write");
			return 1;
		}
	return 0;
}
