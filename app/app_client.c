/* SPDX-License-Identifier: MIT */
/*
 * app_client.c - `apiserver call` (sign and send one request) and
 * `apiserver sign` (print the signing headers, or whole raw requests for
 * load tools).  Flags, the request body, and the v1 signature live here;
 * the network side is in app_client_net.c and app_client_tls.c.
 *
 * The credential's secret is read into one struct app_credential and
 * wiped on every path out of each verb; it is never printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "app_client.h"

#define DEFAULT_CREDENTIAL	APP_DEFAULT_DATA_DIR "/" APP_ADMIN_CREDENTIAL
#define DEFAULT_CACERT		APP_DEFAULT_DATA_DIR "/certs/cert.pem"
#define EXTRA_HEADERS_MAX	32
#define BATCH_MAX		10000000ull
#define NONCE_RAW		18	/* bytes: 24 base64url characters */
#define METHOD_MAX		32

enum { VERB_CALL = 1, VERB_SIGN = 2 };

struct client_opts {
	int			 verb;
	const char		*credential;
	const char		*cacert;
	int			 insecure;
	const char		*data;
	const char		*headers[EXTRA_HEADERS_MAX];
	size_t			 nheaders;
	int			 include;
	int			 raw;
	unsigned long long	 batch;
	unsigned long long	 timeout;
	const char		*method;
	const char		*url;
};

/* One request, ready to sign: everything but the signing headers. */
struct request {
	const char		*method;
	struct app_url		 url;
	const char		*content_type;	/* NULL: none */
	const char		*extra[EXTRA_HEADERS_MAX];	/* not C-T */
	size_t			 nextra;
	unsigned char		*body;
	size_t			 body_len;
	int			 has_body;
};

/* The signing headers of one request. */
struct signature {
	char	version[16];
	char	timestamp[24];
	char	nonce[NONCE_RAW * 2];
	char	sig[FW_SIG_HEX + 1];
};

static const struct {
	const char	*name;
	const char	*alias;
	int		 value;		/* takes an argument */
	int		 verbs;
	const char	*help;
} client_flags[] = {
	{ "--credential", NULL, 1, VERB_CALL | VERB_SIGN,
	    "credential file (default $" APP_CREDENTIAL_ENV ", else "
	    DEFAULT_CREDENTIAL ")" },
	{ "--cacert", NULL, 1, VERB_CALL,
	    "PEM file of trusted certificates (default " DEFAULT_CACERT
	    " when it exists)" },
	{ "--insecure", "-k", 0, VERB_CALL,
	    "accept any server certificate (testing only)" },
	{ "--data", "-d", 1, VERB_CALL | VERB_SIGN,
	    "request body: BODY, @FILE (binary, up to 64 MiB) or @- (stdin)" },
	{ "--header", "-H", 1, VERB_CALL | VERB_SIGN,
	    "extra header 'Name: value' (repeatable)" },
	{ "--include", "-i", 0, VERB_CALL,
	    "print the response status line and headers before the body" },
	{ "--max-time", NULL, 1, VERB_CALL,
	    "seconds the whole call may take (30)" },
	{ "--batch", NULL, 1, VERB_SIGN,
	    "with --raw: N requests, each with a fresh nonce (<= 10000000)" },
	{ "--raw", NULL, 0, VERB_SIGN,
	    "print whole raw HTTP/1.1 requests instead of headers" },
	{ "--help", "-h", 0, VERB_CALL | VERB_SIGN, "this text" },
};

static const char *const reserved_headers[] = {
	"Host", "X-Key-Id", "X-Key-Version", "X-Timestamp", "X-Nonce",
	"X-API-Signature", "Content-Length", "Transfer-Encoding",
	"Connection", "Expect",
};

static void
client_usage(FILE *f, int verb)
{
	size_t i;

	if (verb == VERB_CALL)
		fprintf(f, "usage: apiserver call [FLAGS] METHOD URL\n\n"
		    "Signs one request with the v1 scheme and sends it over "
		    "TLS (plain http:// only\nto loopback).  Prints the body "
		    "on "
		    "stdout and \"HTTP <status>\" on stderr.\nExit status: 0 "
		    "for a status below 400, 22 for 400 and above, 1 when the\n"
		    "request could not be made (TLS, network), 2 for bad "
		    "usage.\n\n");
	else
		fprintf(f, "usage: apiserver sign [FLAGS] METHOD URL\n\n"
		    "Prints the headers that sign the request, one 'Name: "
		    "value' a line:\n\n  apiserver sign -d @body.json POST "
		    "https://127.0.0.1:8443/api/data > h.txt\n  curl --cacert "
		    "var/certs/cert.pem -H @h.txt --data-binary @body.json \\\n"
		    "      https://127.0.0.1:8443/api/data\n\nWith --raw "
		    "(and --batch N), prints N complete HTTP/1.1 requests back "
		    "to back,\nCRLF line ends, each with Content-Length, for "
		    "load tools (see docs/protocol.md).\n\n");
	for (i = 0; i < sizeof(client_flags) / sizeof(client_flags[0]); i++)
		if (client_flags[i].verbs & verb)
			fprintf(f, "  %-3s %-13s %s\n", client_flags[i].alias ?
			    client_flags[i].alias : "", client_flags[i].name,
			    client_flags[i].help);
}

/* Store one flag's value.  0 ok, -1 bad value (message printed). */
static int
client_set(struct client_opts *o, const char *name, const char *val)
{
	const char *verb = o->verb == VERB_CALL ? "call" : "sign";

	if (strcmp(name, "--credential") == 0)
		o->credential = val;
	else if (strcmp(name, "--cacert") == 0)
		o->cacert = val;
	else if (strcmp(name, "--insecure") == 0)
		o->insecure = 1;
	else if (strcmp(name, "--data") == 0)
		o->data = val;
	else if (strcmp(name, "--include") == 0)
		o->include = 1;
	else if (strcmp(name, "--raw") == 0)
		o->raw = 1;
	else if (strcmp(name, "--header") == 0) {
		if (o->nheaders == EXTRA_HEADERS_MAX) {
			fprintf(stderr, "apiserver %s: at most %d -H\n", verb,
			    EXTRA_HEADERS_MAX);
			return -1;
		}
		o->headers[o->nheaders++] = val;
	} else if (strcmp(name, "--max-time") == 0 &&
	    app_parse_uint(val, 1, 3600, &o->timeout) != 0) {
		fprintf(stderr, "apiserver %s: --max-time wants 1 to 3600 "
		    "seconds\n", verb);
		return -1;
	} else if (strcmp(name, "--batch") == 0 &&
	    app_parse_uint(val, 1, BATCH_MAX, &o->batch) != 0) {
		fprintf(stderr, "apiserver %s: --batch wants 1 to %llu\n",
		    verb, BATCH_MAX);
		return -1;
	}
	return 0;
}

/* Parse argv.  0 ok, 1 help shown, -1 bad usage (message printed). */
static int
client_parse(struct client_opts *o, int argc, char **argv)
{
	const char *verb = o->verb == VERB_CALL ? "call" : "sign";
	const char *pos[2];
	size_t npos = 0, k;
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = NULL, *val = NULL;
		size_t n = strlen(arg);
		int found = -1;

		if (arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (npos == 2) {
				fprintf(stderr, "apiserver %s: unexpected "
				    "argument '%s'\n", verb, arg);
				return -1;
			}
			pos[npos++] = arg;
			continue;
		}
		if (strncmp(arg, "--", 2) == 0 && (eq = strchr(arg, '=')))
			n = (size_t)(eq - arg);
		for (k = 0; k < sizeof(client_flags) / sizeof(client_flags[0]);
		    k++) {
			if ((strlen(client_flags[k].name) == n &&
			    strncmp(client_flags[k].name, arg, n) == 0) ||
			    (client_flags[k].alias != NULL &&
			    strcmp(client_flags[k].alias, arg) == 0))
				if (client_flags[k].verbs & o->verb)
					found = (int)k;
		}
		if (found < 0) {
			fprintf(stderr, "apiserver %s: unknown flag '%s' (see "
			    "--help)\n", verb, arg);
			return -1;
		}
		if (strcmp(client_flags[found].name, "--help") == 0) {
			client_usage(stdout, o->verb);
			return 1;
		}
		if (client_flags[found].value) {
			val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL) {
				fprintf(stderr, "apiserver %s: %s needs a "
				    "value\n", verb, arg);
				return -1;
			}
		} else if (eq != NULL) {
			fprintf(stderr, "apiserver %s: %s takes no value\n",
			    verb, client_flags[found].name);
			return -1;
		}
		if (client_set(o, client_flags[found].name, val) != 0)
			return -1;
	}
	if (npos != 2) {
		fprintf(stderr, "apiserver %s: need METHOD and URL (see "
		    "--help)\n", verb);
		return -1;
	}
	o->method = pos[0];
	o->url = pos[1];
	if (o->insecure && o->cacert != NULL) {
		fprintf(stderr, "apiserver %s: --cacert and --insecure "
		    "exclude each other\n", verb);
		return -1;
	}
	if (o->batch > 0 && !o->raw) {
		fprintf(stderr, "apiserver %s: --batch goes with --raw\n",
		    verb);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------- the request */

/* 1 if s is a non-empty HTTP token of at most max characters. */
static int
is_token(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}",
		    c) != NULL)
			return 0;
	}
	return 1;
}

/* Check one -H and sort it into r.  0 ok, -1 (message printed). */
static int
request_header(struct request *r, const char *verb, const char *h)
{
	const char *colon = strchr(h, ':'), *v;
	size_t n, i, vl;

	if (colon == NULL || !is_token(h, (size_t)(colon - h), 64)) {
		fprintf(stderr, "apiserver %s: -H wants 'Name: value', not "
		    "'%s'\n", verb, h);
		return -1;
	}
	n = (size_t)(colon - h);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	vl = strlen(v);
	for (i = 0; i < vl; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			break;
	if (i < vl || (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))) {
		fprintf(stderr, "apiserver %s: -H value of %.*s has a control "
		    "byte or trailing space\n", verb, (int)n, h);
		return -1;
	}
	for (i = 0; i < sizeof(reserved_headers) / sizeof(reserved_headers[0]);
	    i++)
		if (strlen(reserved_headers[i]) == n &&
		    strncasecmp(reserved_headers[i], h, n) == 0) {
			fprintf(stderr, "apiserver %s: %s is set by apiserver "
			    "itself; it cannot be given with -H\n", verb,
			    reserved_headers[i]);
			return -1;
		}
	if (n == 12 && strncasecmp(h, "Content-Type", n) == 0) {
		if (r->content_type != NULL) {
			fprintf(stderr, "apiserver %s: Content-Type given "
			    "twice\n", verb);
			return -1;
		}
		r->content_type = v;
	} else {
		r->extra[r->nextra++] = h;
	}
	return 0;
}

/* Read the body named by -d: literal, @FILE or @-.  0 ok, -1 printed. */
static int
request_body(struct request *r, const char *verb, const char *data)
{
	FILE *f;
	size_t cap = 65536, n;
	unsigned char *p;

	r->has_body = 1;
	if (data[0] != '@') {
		r->body_len = strlen(data);
		if (r->body_len > APP_CLIENT_BODY_MAX ||
		    (r->body = malloc(r->body_len + 1)) == NULL)
			return -1;
		memcpy(r->body, data, r->body_len);
		return 0;
	}
	f = strcmp(data, "@-") == 0 ? stdin : fopen(data + 1, "rb");
	if (f == NULL) {
		fprintf(stderr, "apiserver %s: cannot read %s: %s\n", verb,
		    data + 1, strerror(errno));
		return -1;
	}
	for (;;) {
		if ((p = realloc(r->body, cap)) == NULL)
			break;
		r->body = p;
		n = fread(p + r->body_len, 1, cap - r->body_len, f);
		r->body_len += n;
		if (r->body_len < cap || cap > APP_CLIENT_BODY_MAX)
			break;
		cap *= 2;
	}
	if (p == NULL || ferror(f) || r->body_len > APP_CLIENT_BODY_MAX) {
		fprintf(stderr, "apiserver %s: cannot read %s: %s\n", verb,
		    data + 1, p == NULL ? "out of memory" : ferror(f) ?
		    strerror(errno) : "larger than 64 MiB");
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

/* Build r from the options.  0 ok, -1 (message printed). */
static int
request_build(struct request *r, const struct client_opts *o)
{
	const char *verb = o->verb == VERB_CALL ? "call" : "sign";
	char err[256];
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!is_token(o->method, strlen(o->method), METHOD_MAX)) {
		fprintf(stderr, "apiserver %s: bad METHOD '%s'\n", verb,
		    o->method);
		return -1;
	}
	r->method = o->method;
	if (app_url_parse(o->url, &r->url, err, sizeof(err)) != 0) {
		fprintf(stderr, "apiserver %s: %s\n", verb, err);
		return -1;
	}
	for (i = 0; i < o->nheaders; i++)
		if (request_header(r, verb, o->headers[i]) != 0)
			return -1;
	if (o->data != NULL && request_body(r, verb, o->data) != 0)
		return -1;
	if (r->content_type == NULL && r->has_body)
		r->content_type = "application/json";
	return 0;
}

/* Fresh timestamp and nonce, then the signature.  0 ok, -1 printed. */
static int
request_sign(const struct request *r, const struct app_credential *c,
    struct signature *s)
{
	struct fw_sign_input in;
	uint8_t raw[NONCE_RAW];

	snprintf(s->version, sizeof(s->version), "%u", c->version);
	snprintf(s->timestamp, sizeof(s->timestamp), "%lld",
	    (long long)time(NULL));
	if (fw_random(raw, sizeof(raw)) != 0 ||
	    fw_b64url_encode(s->nonce, sizeof(s->nonce), raw,
	    sizeof(raw)) == 0) {
		fprintf(stderr, "apiserver: no random bytes for a nonce\n");
		return -1;
	}
	memset(&in, 0, sizeof(in));
	in.method = r->method;
	in.host = r->url.authority;
	in.path = r->url.path;
	in.query = r->url.query;
	in.content_type = r->content_type;
	in.key_id = c->key_id;
	in.key_version = s->version;
	in.timestamp = s->timestamp;
	in.nonce = s->nonce;
	in.body = r->body;
	in.body_len = r->body_len;
	if (fw_sign(s->sig, c->secret, strlen(c->secret), &in) != 0) {
		fprintf(stderr, "apiserver: out of memory\n");
		return -1;
	}
	return 0;
}

/*
 * Write the header lines (and, for a whole request, the request line
 * before them and Content-Length after) to f, each ending in eol.
 */
static void
head_write(FILE *f, const struct request *r, const struct signature *s,
    const struct app_credential *c, const char *eol, int whole)
{
	size_t i;

	if (whole)
		fprintf(f, "%s %s%s%s HTTP/1.1%s", r->method, r->url.path,
		    r->url.has_query ? "?" : "", r->url.query, eol);
	fprintf(f, "Host: %s%sX-Key-Id: %s%sX-Key-Version: %s%s"
	    "X-Timestamp: %s%sX-Nonce: %s%sX-API-Signature: %s%s",
	    r->url.authority, eol, c->key_id, eol, s->version, eol,
	    s->timestamp, eol, s->nonce, eol, s->sig, eol);
	if (r->content_type != NULL)
		fprintf(f, "Content-Type: %s%s", r->content_type, eol);
	for (i = 0; i < r->nextra; i++)
		fprintf(f, "%s%s", r->extra[i], eol);
	if (whole)
		fprintf(f, "Content-Length: %zu%s", r->body_len, eol);
}

static int
credential_load(const struct client_opts *o, struct app_credential *c)
{
	const char *path = o->credential, *env = getenv(APP_CREDENTIAL_ENV);
	char err[512];

	if (path == NULL)
		path = env != NULL && env[0] != '\0' ? env :
		    DEFAULT_CREDENTIAL;
	if (app_credential_read(path, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "apiserver %s: %s\n", o->verb == VERB_CALL ?
		    "call" : "sign", err);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ sign */

static int
sign_run(const struct client_opts *o, const struct request *r,
    const struct app_credential *c)
{
	static char obuf[1 << 16];
	struct signature s;
	unsigned long long i, n = o->raw && o->batch == 0 ? 1 : o->batch;

	if (!o->raw) {
		if (request_sign(r, c, &s) != 0)
			return APP_EXIT_FAIL;
		head_write(stdout, r, &s, c, "\n", 0);
		return fflush(stdout) == 0 ? APP_EXIT_OK : APP_EXIT_FAIL;
	}
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	for (i = 0; i < n; i++) {
		if (request_sign(r, c, &s) != 0)
			return APP_EXIT_FAIL;
		head_write(stdout, r, &s, c, "\r\n", 1);
		fputs("\r\n", stdout);
		if (r->body_len > 0)
			fwrite(r->body, 1, r->body_len, stdout);
		if (ferror(stdout)) {
			fprintf(stderr, "apiserver sign: cannot write: %s\n",
			    strerror(errno));
			return APP_EXIT_FAIL;
		}
	}
	return fflush(stdout) == 0 ? APP_EXIT_OK : APP_EXIT_FAIL;
}

/* ------------------------------------------------------------ call */

/* The request's head in one buffer (malloc'd, *len bytes). */
static char *
call_head(const struct request *r, const struct signature *s,
    const struct app_credential *c, size_t *len)
{
	char *buf = NULL;
	FILE *f;

	if ((f = open_memstream(&buf, len)) == NULL)
		return NULL;
	head_write(f, r, s, c, "\r\n", 1);
	fputs("Connection: close\r\n\r\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
call_run(const struct client_opts *o, const struct request *r,
    const struct app_credential *c)
{
	struct app_tls_opts t = { o->cacert, o->insecure };
	struct app_conn *conn = NULL;
	struct signature s;
	struct stat st;
	char err[512], *head = NULL;
	size_t head_len = 0;
	int status = 0, rc = APP_EXIT_FAIL;

	if (r->url.tls && !t.insecure && t.cacert == NULL) {
		if (stat(DEFAULT_CACERT, &st) != 0) {
			fprintf(stderr, "apiserver call: no --cacert given and "
			    "%s does not exist (use --cacert FILE, or "
			    "--insecure for testing)\n", DEFAULT_CACERT);
			return APP_EXIT_USAGE;
		}
		t.cacert = DEFAULT_CACERT;
	}
	/* Sign after connecting, so the timestamp is as fresh as it can be. */
	err[0] = '\0';
	if (app_conn_open(&r->url, &t, (unsigned)o->timeout, &conn, err,
	    sizeof(err)) != 0)
		goto fail;
	if (request_sign(r, c, &s) != 0)
		goto out;
	if ((head = call_head(r, &s, c, &head_len)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	if (app_conn_write(conn, head, head_len, err, sizeof(err)) != 0 ||
	    app_conn_write(conn, r->body, r->body_len, err, sizeof(err)) !=
	    0 || app_conn_flush(conn, err, sizeof(err)) != 0 ||
	    app_response_read(conn, strcmp(r->method, "HEAD") == 0,
	    o->include, stdout, &status, err, sizeof(err)) != 0)
		goto fail;
	fflush(stdout);
	fprintf(stderr, "HTTP %d\n", status);
	rc = status >= 400 ? APP_EXIT_HTTP : APP_EXIT_OK;
	goto out;
fail:
	fflush(stdout);
	fprintf(stderr, "apiserver call: %s\n", err);
out:
	free(head);
	app_conn_close(conn);
	return rc;
}

/* ----------------------------------------------------------- verbs */

static int
client_main(int verb, int argc, char **argv)
{
	struct client_opts o;
	struct app_credential c;
	struct request r;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	o.verb = verb;
	o.timeout = APP_CLIENT_TIMEOUT;
	if ((rc = client_parse(&o, argc, argv)) != 0)
		return rc > 0 ? APP_EXIT_OK : APP_EXIT_USAGE;
	if (request_build(&r, &o) != 0) {
		free(r.body);
		return APP_EXIT_USAGE;
	}
	if (credential_load(&o, &c) != 0) {
		free(r.body);
		return APP_EXIT_FAIL;
	}
	rc = verb == VERB_CALL ? call_run(&o, &r, &c) : sign_run(&o, &r, &c);
	fw_wipe(&c, sizeof(c));
	free(r.body);
	return rc;
}

int
app_cmd_call(int argc, char **argv)
{
	return client_main(VERB_CALL, argc, argv);
}

int
app_cmd_sign(int argc, char **argv)
{
	return client_main(VERB_SIGN, argc, argv);
}
