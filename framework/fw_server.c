/* SPDX-License-Identifier: MIT */
/*
 * fw_server.c - civetweb glue: every request arrives in begin_request,
 * which checks the connection came through the front end, applies the
 * HTTP-level checks, reads the whole body, runs the guard, routes, calls
 * the handler and writes the access log line.  No civetweb handlers are
 * registered, so nothing can reach a route without the guard.
 *
 * begin_request runs on civetweb worker threads; fw_server_* run on the
 * controlling thread.
 */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>

#include "apiserver.h"
#include "fw_front.h"
#include "fw_guard.h"
#include "fw_router.h"

#define REQUEST_ID_LEN	20
#define HEADER_BUF	1024
#define PEER_MAX	64

struct fw_server {
	struct fw_config	 cfg;
	char			*listen;
	char			*cert_file;
	char			*key_file;
	struct fw_router	 router;
	struct mg_context	*mg;
	struct fw_front		*front;
	unsigned		 backend_port;
	char			 id_prefix[9];
	atomic_ullong		 id_counter;
};

struct fw_request {
	struct fw_server		*srv;
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	struct timespec			 start;
	char				 id[REQUEST_ID_LEN + 1];
	char				 peer[PEER_MAX];
	const char			*query;
	uint8_t				*body;
	size_t				 body_len;
	char				 key_id[FW_KEY_ID_MAX + 1];
	uint32_t			 key_version;
	enum fw_role			 role;
	struct fw_route_params		 params;
	int				 status;
	size_t				 bytes_out;
	int				 replied;
	int				 must_close;
};

static const struct {
	int		 status;
	const char	*text;
} status_texts[] = {
	{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 409, "Conflict" },
	{ 411, "Length Required" }, { 413, "Content Too Large" },
	{ 505, "HTTP Version Not Supported" },
	{ 417, "Expectation Failed" }, { 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
};

static const char *
status_text(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Unknown";
}

void
fw_config_defaults(struct fw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1:8443";
	cfg->window = 300;
	cfg->max_body = 1024 * 1024;
	cfg->max_header = 16384;
	cfg->threads = 32;
	cfg->tls_threads = 0;
	cfg->max_connections = 4096;
	cfg->handshake_timeout_ms = 10000;
	cfg->idle_timeout_ms = 60000;
	cfg->request_timeout_ms = 30000;
}

/* ------------------------------------------------------------ replies */

void
fw_reply(struct fw_request *req, int status, const char *content_type,
    const void *body, size_t len)
{
	char head[HEADER_BUF];
	char *buf;
	int n;

	if (req->replied) {
		fw_log(FW_LOG_ERROR, "request %s: handler replied twice",
		    req->id);
		return;
	}
	req->replied = 1;
	req->status = status;
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Request-Id: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s"
	    "\r\n",
	    status, status_text(status), content_type, len, req->id,
	    req->must_close ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return;

	/* One write per response: see the Nagle note in FIELD-NOTES. */
	if ((buf = malloc((size_t)n + len)) == NULL)
		return;
	memcpy(buf, head, (size_t)n);
	/* A reply to HEAD has the headers of the body but not the body. */
	if (strcmp(req->ri->request_method, "HEAD") == 0)
		len = 0;
	if (len > 0)
		memcpy(buf + n, body, len);
	mg_write(req->conn, buf, (size_t)n + len);
	req->bytes_out = len;
	free(buf);
}

void
fw_reply_json(struct fw_request *req, int status, const char *json)
{
	fw_reply(req, status, "application/json", json, strlen(json));
}

void
fw_reply_error(struct fw_request *req, int status, const char *code)
{
	char body[160];
	int n;

	n = snprintf(body, sizeof(body),
	    "{\"error\":\"%s\",\"request_id\":\"%s\"}", code, req->id);
	if (n > 0 && (size_t)n < sizeof(body))
		fw_reply(req, status, "application/json", body, (size_t)n);
}

/* ---------------------------------------------------------- accessors */

const char *
fw_req_method(const struct fw_request *req)
{
	return req->ri->request_method;
}

const char *
fw_req_path(const struct fw_request *req)
{
	return req->ri->request_uri;
}

const char *
fw_req_query(const struct fw_request *req)
{
	return req->query;
}

const char *
fw_req_header(const struct fw_request *req, const char *name)
{
	return mg_get_header(req->conn, name);
}

const void *
fw_req_body(const struct fw_request *req, size_t *len)
{
	*len = req->body_len;
	return req->body != NULL ? (const void *)req->body : "";
}

const char *
fw_req_param(const struct fw_request *req, const char *name)
{
	return fw_route_param(&req->params, name);
}

const char *
fw_req_key_id(const struct fw_request *req)
{
	return req->key_id;
}

uint32_t
fw_req_key_version(const struct fw_request *req)
{
	return req->key_version;
}

enum fw_role
fw_req_role(const struct fw_request *req)
{
	return req->role;
}

const char *
fw_req_id(const struct fw_request *req)
{
	return req->id;
}

const char *
fw_req_peer(const struct fw_request *req)
{
	return req->peer;
}

/* ------------------------------------------------------- HTTP checks */

/* Number of headers called `name`; *value gets the first. */
static int
header_count(const struct mg_request_info *ri, const char *name,
    const char **value)
{
	int i, n = 0;

	*value = NULL;
	for (i = 0; i < ri->num_headers; i++) {
		if (strcasecmp(ri->http_headers[i].name, name) != 0)
			continue;
		if (n++ == 0)
			*value = ri->http_headers[i].value;
	}
	return n;
}

/* Headers that must appear at most once. */
static const char *const single_headers[] = {
	"Host", "Content-Length", "Content-Type", "Transfer-Encoding",
	"X-Key-Id", "X-Key-Version", "X-Timestamp", "X-Nonce",
	"X-API-Signature", "Expect"
};

/* 1 if s is an HTTP token (RFC 9110 tchar), as a header name must be. */
static int
is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

/* 0 if the request line and headers are acceptable; else a status. */
static int
check_http(struct fw_request *req, const char **why)
{
	const struct mg_request_info *ri = req->ri;
	const char *v;
	size_t i;
	int h;

	/* civetweb keeps 64 headers and silently drops the rest. */
	if (ri->num_headers >= MG_MAX_HEADERS) {
		*why = "too many headers";
		return 431;
	}
	for (h = 0; h < ri->num_headers; h++) {
		if (!is_token(ri->http_headers[h].name)) {
			*why = "malformed header name";
			return 400;
		}
	}
	if (header_count(ri, "Transfer-Encoding", &v) > 0) {
		*why = "Transfer-Encoding not accepted; send Content-Length";
		return 411;
	}
	if (header_count(ri, "Content-Length", &v) == 1 &&
	    (v[0] == '\0' || strspn(v, "0123456789") != strlen(v))) {
		*why = "malformed Content-Length";
		return 400;
	}

	for (i = 0; i < sizeof(single_headers) / sizeof(single_headers[0]);
	    i++) {
		if (header_count(ri, single_headers[i], &v) > 1) {
			*why = "duplicate header";
			return 400;
		}
	}
	if (header_count(ri, "Host", &v) == 0 || v[0] == '\0') {
		*why = "missing Host";
		return 400;
	}
	if (fw_path_check(ri->request_uri) != 0) {
		*why = "path not in normal form";
		return 400;
	}
	if (header_count(ri, "Expect", &v) == 1 &&
	    strcasecmp(v, "100-continue") != 0) {
		*why = "unsupported Expect";
		return 417;
	}
	return 0;
}

/* Read the whole body into req->body.  0 ok, else a status. */
static int
read_body(struct fw_request *req, const char **why)
{
	const struct mg_request_info *ri = req->ri;
	size_t max = req->srv->cfg.max_body, len = 0;
	const char *expect;

	/* check_http refused Transfer-Encoding: Content-Length rules. */
	if (ri->content_length <= 0)
		return 0;
	if (ri->content_length > (long long)max) {
		*why = "body over --max-body";
		return 413;
	}

	header_count(ri, "Expect", &expect);
	if (expect != NULL)
		mg_printf(req->conn, "HTTP/1.1 100 Continue\r\n\r\n");

	if ((req->body = malloc((size_t)ri->content_length)) == NULL) {
		*why = "out of memory";
		return 503;
	}
	while (len < (size_t)ri->content_length) {
		int n = mg_read(req->conn, req->body + len,
		    (size_t)ri->content_length - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	req->body_len = len;
	if (len < (size_t)ri->content_length) {
		*why = "body shorter than Content-Length";
		return 400;
	}
	return 0;
}

/* --------------------------------------------------------- the guard */

static int64_t
now_seconds(void)
{
	return (int64_t)time(NULL);
}

static void
reply_unauthorized(struct fw_request *req, const struct fw_guard_result *g)
{
	char *body;
	size_t cap;
	int n;

	if (!req->srv->cfg.dev) {
		fw_reply_error(req, 401, "unauthorized");
		return;
	}
	/* --dev (loopback only): say why, and show our canonical string. */
	cap = 256 + (g->canonical != NULL ? strlen(g->canonical) * 6 : 0);
	if ((body = malloc(cap)) == NULL) {
		fw_reply_error(req, 401, "unauthorized");
		return;
	}
	n = snprintf(body, cap, "{\"error\":\"unauthorized\",\"request_id\":"
	    "\"%s\",\"reason\":\"%s\",\"server_time\":%lld,\"canonical\":",
	    req->id, g->reason, (long long)now_seconds());
	if (g->canonical == NULL) {
		n += snprintf(body + n, cap - (size_t)n, "null}");
	} else {
		const char *c;

		body[n++] = '"';
		for (c = g->canonical; *c != '\0'; c++) {
			unsigned char ch = (unsigned char)*c;

			if (ch == '\n')
				n += snprintf(body + n, cap - (size_t)n, "\\n");
			else if (ch == '"' || ch == '\\')
				n += snprintf(body + n, cap - (size_t)n,
				    "\\%c", ch);
			else if (ch < 0x20 || ch >= 0x7f)
				n += snprintf(body + n, cap - (size_t)n,
				    "\\u%04x", ch);
			else
				body[n++] = (char)ch;
		}
		n += snprintf(body + n, cap - (size_t)n, "\"}");
	}
	fw_reply(req, 401, "application/json", body, (size_t)n);
	free(body);
}

/* The request as the guard sees it (body as read so far). */
static void
guard_input(const struct fw_request *req, struct fw_guard_input *in)
{
	const struct mg_request_info *ri = req->ri;

	memset(in, 0, sizeof(*in));
	in->method = ri->request_method;
	header_count(ri, "Host", &in->host);
	in->path = ri->request_uri;
	in->query = req->query;
	header_count(ri, "Content-Type", &in->content_type);
	header_count(ri, "X-Key-Id", &in->key_id);
	header_count(ri, "X-Key-Version", &in->key_version);
	header_count(ri, "X-Timestamp", &in->timestamp);
	header_count(ri, "X-Nonce", &in->nonce);
	header_count(ri, "X-API-Signature", &in->signature);
	in->body = req->body;
	in->body_len = req->body_len;
	in->now = now_seconds();
}

/*
 * 0 when the guard lets the request through; otherwise it replied.
 * With `pre`, only what needs no body is checked and nothing recorded.
 */
static int
run_guard(struct fw_request *req, int pre)
{
	struct fw_guard_result g;
	struct fw_guard_input in;
	const char *v;
	int rc;

	guard_input(req, &in);
	if (pre)
		rc = fw_guard_precheck(req->srv->cfg.store,
		    req->srv->cfg.window, &in, &g);
	else
		rc = fw_guard_check(req->srv->cfg.store, req->srv->cfg.window,
		    &in, req->srv->cfg.dev, &g);
	if (rc == FW_GUARD_OK && pre)
		return 0;
	if (rc == FW_GUARD_OK) {
		memcpy(req->key_id, g.key_id, sizeof(req->key_id));
		req->key_version = g.version;
		req->role = g.role;
		free(g.canonical);
		return 0;
	}

	/* The key id is not a secret; log it (escaped) with the reason. */
	v = in.key_id;
	if (v != NULL) {
		char esc[96];

		fw_log_escape(esc, sizeof(esc), v, strlen(v));
		fw_log(FW_LOG_WARN, "request %s: %d %s (key id \"%s\")",
		    req->id, rc == FW_GUARD_DENY ? 401 : 503, g.reason, esc);
	} else {
		fw_log(FW_LOG_WARN, "request %s: %d %s", req->id,
		    rc == FW_GUARD_DENY ? 401 : 503, g.reason);
	}
	if (rc == FW_GUARD_DENY)
		reply_unauthorized(req, &g);
	else
		fw_reply_error(req, 503, "unavailable");
	free(g.canonical);
	return -1;
}

/* ---------------------------------------------------------- dispatch */

static void
access_log(const struct fw_request *req)
{
	char method[24], path[256];
	struct timespec end;
	long us;

	clock_gettime(CLOCK_MONOTONIC, &end);
	us = (end.tv_sec - req->start.tv_sec) * 1000000L +
	    (end.tv_nsec - req->start.tv_nsec) / 1000L;
	fw_log_escape(method, sizeof(method), req->ri->request_method,
	    strlen(req->ri->request_method));
	fw_log_escape(path, sizeof(path), req->ri->request_uri,
	    strlen(req->ri->request_uri));
	fw_log(FW_LOG_INFO, "access id=%s peer=%s method=%s path=\"%s\" "
	    "status=%d bytes=%zu us=%ld key_id=%s", req->id, req->peer,
	    method, path, req->status, req->bytes_out, us,
	    req->key_id[0] != '\0' ? req->key_id : "-");
}

static void
new_request_id(struct fw_server *srv, char *out)
{
	unsigned long long n = atomic_fetch_add(&srv->id_counter, 1);

	snprintf(out, REQUEST_ID_LEN + 1, "%s%012llx", srv->id_prefix,
	    n & 0xffffffffffffULL);
}

/* Reject with a fixed body; `why` goes to the log only. */
static void
reject(struct fw_request *req, int status, const char *why)
{
	static const struct {
		int		 status;
		const char	*code;
	} codes[] = {
		{ 400, "bad_request" }, { 404, "not_found" },
		{ 405, "method_not_allowed" }, { 413, "body_too_large" },
		{ 417, "expectation_failed" }, { 403, "forbidden" },
		{ 411, "length_required" }, { 431, "headers_too_large" },
		{ 503, "unavailable" },
	};
	const char *code = "error";
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].status == status)
			code = codes[i].code;
	fw_log(FW_LOG_INFO, "request %s: %d %s", req->id, status, why);
	fw_reply_error(req, status, code);
}

static void
serve(struct fw_request *req)
{
	const struct fw_route *route;
	const char *why = "";
	int status, rc;

	if ((status = check_http(req, &why)) != 0) {
		req->must_close = 1;
		reject(req, status, why);
		return;
	}
	/*
	 * Refuse what can be refused before holding a body in memory; such
	 * a refusal leaves the body unread, so the connection must close.
	 */
	if (req->ri->content_length > 0) {
		int keep = req->must_close;

		req->must_close = 1;
		if (run_guard(req, 1) != 0)
			return;
		req->must_close = keep;
	}
	if ((status = read_body(req, &why)) != 0) {
		req->must_close = 1;
		reject(req, status, why);
		return;
	}
	if (run_guard(req, 0) != 0)
		return;

	rc = fw_router_match(&req->srv->router, req->ri->request_method,
	    req->ri->request_uri, &route, &req->params);
	if (rc == FW_ROUTE_NO_PATH) {
		reject(req, 404, "no route");
		return;
	}
	if (rc == FW_ROUTE_NO_METHOD) {
		reject(req, 405, "method not allowed on route");
		return;
	}
	if (req->role < route->role) {
		reject(req, 403, "role too low for route");
		return;
	}
	route->fn(req, route->arg);
	if (!req->replied) {
		fw_log(FW_LOG_ERROR, "request %s: handler gave no reply",
		    req->id);
		fw_reply_error(req, 500, "internal");
	}
}

/* 1 if civetweb will close after this request: say so in the reply. */
static int
client_wants_close(const struct mg_request_info *ri)
{
	const char *v;

	if (header_count(ri, "Connection", &v) == 0)
		return strcmp(ri->http_version, "1.1") != 0;
	return strcasestr(v, "keep-alive") == NULL;
}

/*
 * Marks a civetweb connection whose last reply said "Connection: close":
 * whatever the client pipelined behind that request is not served.
 */
static char connection_closing;

static int
begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct fw_server *srv = ri->user_data;
	struct fw_request req;

	if (mg_get_user_connection_data(conn) == &connection_closing) {
		fw_log(FW_LOG_INFO, "request after Connection: close from "
		    "port %d: dropped", ri->remote_port);
		return 1;
	}

	memset(&req, 0, sizeof(req));
	req.srv = srv;
	req.conn = conn;
	req.ri = ri;
	clock_gettime(CLOCK_MONOTONIC, &req.start);
	new_request_id(srv, req.id);

	/* Only connections made by our front end get an answer. */
	if (strcmp(ri->remote_addr, "127.0.0.1") != 0 ||
	    fw_front_peer(srv->front, (unsigned)ri->remote_port, req.peer,
	    sizeof(req.peer)) != 0) {
		fw_log(FW_LOG_WARN, "request %s: no front-end connection owns "
		    "%s:%d (a direct connection to the private port, or a "
		    "client already gone): dropped", req.id, ri->remote_addr,
		    ri->remote_port);
		mg_set_user_connection_data(conn, &connection_closing);
		return 1;
	}
	fw_front_request(srv->front, (unsigned)ri->remote_port, 1);
	req.query = ri->query_string != NULL ? ri->query_string : "";
	req.must_close = client_wants_close(ri);

	serve(&req);
	if (!srv->cfg.no_access_log)
		access_log(&req);
	if (req.body != NULL) {
		fw_wipe(req.body, req.body_len);
		free(req.body);
	}
	if (req.must_close) {
		mg_set_user_connection_data(conn, &connection_closing);
		fw_front_finish(srv->front, (unsigned)ri->remote_port);
	}
	fw_front_request(srv->front, (unsigned)ri->remote_port, 0);
	return req.status > 0 ? req.status : 500;
}

/* civetweb's own error pages (bad request line, headers too large). */
static int
http_error(struct mg_connection *conn, int status, const char *msg)
{
	static const char body[] = "{\"error\":\"bad_request\"}";
	(void)msg;

	mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    status_text(status), sizeof(body) - 1, body);
	fw_log(FW_LOG_INFO, "civetweb answered %d to a malformed request",
	    status);
	return 0;
}

static int
log_message(const struct mg_connection *conn, const char *msg)
{
	char esc[256];
	(void)conn;

	fw_log(FW_LOG_WARN, "civetweb: %s",
	    fw_log_escape(esc, sizeof(esc), msg, strlen(msg)));
	return 1;
}

/* ---------------------------------------------------------- lifecycle */

/* 1 if the host part of "ADDR:PORT" is a loopback address. */
static int
listen_is_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 ||
	    strncmp(listen, "[::1]:", 6) == 0;
}

/*
 * Check "ADDR:PORT" (port 0..65535, decimal) and write it to out with
 * "localhost" spelled 127.0.0.1.  0 ok, -1 with the reason in err.
 */
static int
listen_normalise(const char *listen, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *colon = listen != NULL ? strrchr(listen, ':') : NULL;
	const char *port = colon != NULL ? colon + 1 : NULL;
	size_t hostlen;
	int n;

	if (colon == NULL || colon == listen || port[0] == '\0' ||
	    strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
	    atol(port) > 65535) {
		snprintf(err, errlen, "listen address must be ADDR:PORT with a "
		    "port from 0 to 65535, not '%s'", listen ? listen : "");
		return -1;
	}
	hostlen = (size_t)(colon - listen);
	if (hostlen == 9 && strncmp(listen, "localhost", 9) == 0)
		n = snprintf(out, outlen, "127.0.0.1:%s", port);
	else
		n = snprintf(out, outlen, "%s", listen);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "listen address too long");
		return -1;
	}
	return 0;
}

struct fw_server *
fw_server_new(const struct fw_config *cfg, char *err, size_t errlen)
{
	struct fw_server *srv;
	char listen[128];
	uint8_t rnd[4];

	if (listen_normalise(cfg->listen, listen, sizeof(listen), err,
	    errlen) != 0)
		return NULL;
	if (cfg->insecure_http && !listen_is_loopback(listen)) {
		snprintf(err, errlen, "plain HTTP (--insecure-http) is only "
		    "allowed on a loopback address, not %s", listen);
		return NULL;
	}
	if (cfg->dev && !listen_is_loopback(listen)) {
		snprintf(err, errlen, "--dev is only allowed on a loopback "
		    "address, not %s", listen);
		return NULL;
	}
	if (cfg->threads < 2 || cfg->window == 0 || cfg->max_body == 0 ||
	    cfg->request_timeout_ms == 0 || cfg->max_header < 1024) {
		snprintf(err, errlen, "threads must be >= 2; window, max body "
		    "and request timeout > 0; max header >= 1024");
		return NULL;
	}
	if (cfg->store == NULL || cfg->store->key_get == NULL ||
	    cfg->store->nonce_record == NULL) {
		snprintf(err, errlen, "no key and nonce store configured");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	srv->listen = strdup(listen);
	srv->cert_file = cfg->cert_file ? strdup(cfg->cert_file) : NULL;
	srv->key_file = cfg->key_file ? strdup(cfg->key_file) : NULL;
	srv->cfg.listen = srv->listen;
	srv->cfg.cert_file = srv->cert_file;
	srv->cfg.key_file = srv->key_file;
	if (fw_random(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	fw_hex(srv->id_prefix, rnd, sizeof(rnd));
	atomic_init(&srv->id_counter, 1);
	return srv;
}

int
fw_route(struct fw_server *srv, const char *method, const char *pattern,
    enum fw_role role, fw_handler fn, void *arg)
{
	if (srv->mg != NULL)
		return -1;
	return fw_router_add(&srv->router, method, pattern, role, fn, arg);
}

static int
start_civetweb(struct fw_server *srv, char *err, size_t errlen)
{
	struct mg_callbacks cb;
	struct mg_server_port ports[2];
	char threads[16], request_ms[16], max_header[16];
	const char *options[] = {
		"listening_ports", "127.0.0.1:0",
		"num_threads", threads,
		"decode_url", "no",
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "10000",
		"request_timeout_ms", request_ms,
		"tcp_nodelay", "1",
		"max_request_size", max_header,
		"enable_directory_listing", "no",
		NULL
	};

	snprintf(threads, sizeof(threads), "%u", srv->cfg.threads);
	snprintf(max_header, sizeof(max_header), "%u", srv->cfg.max_header);
	snprintf(request_ms, sizeof(request_ms), "%u",
	    srv->cfg.request_timeout_ms);
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.http_error = http_error;
	cb.log_message = log_message;

	mg_init_library(0);
	if ((srv->mg = mg_start(&cb, srv, options)) == NULL) {
		snprintf(err, errlen, "cannot start the HTTP engine");
		return -1;
	}
	if (mg_get_server_ports(srv->mg, 2, ports) < 1) {
		snprintf(err, errlen, "HTTP engine has no port");
		return -1;
	}
	srv->backend_port = (unsigned)ports[0].port;
	return 0;
}

int
fw_server_start(struct fw_server *srv, char *err, size_t errlen)
{
	struct fw_front_config fc;

	if (start_civetweb(srv, err, errlen) != 0)
		return -1;
	memset(&fc, 0, sizeof(fc));
	fc.listen = srv->cfg.listen;
	fc.backend_port = (uint16_t)srv->backend_port;
	fc.insecure_http = srv->cfg.insecure_http;
	fc.cert_file = srv->cfg.cert_file;
	fc.key_file = srv->cfg.key_file;
	fc.threads = srv->cfg.tls_threads;
	fc.max_connections = srv->cfg.max_connections;
	fc.backend_slots = srv->cfg.threads;
	fc.queue_timeout_ms = 5000;
	fc.handshake_timeout_ms = srv->cfg.handshake_timeout_ms;
	fc.idle_timeout_ms = srv->cfg.idle_timeout_ms;
	if (fw_front_start(&fc, &srv->front, err, errlen) != 0)
		return -1;
	if (srv->cfg.dev)
		fw_log(FW_LOG_WARN, "--dev: 401 replies carry the reason and "
		    "the server's canonical string");
	if (srv->cfg.insecure_http)
		fw_log(FW_LOG_WARN, "serving PLAIN HTTP (--insecure-http): "
		    "requests and responses are not encrypted");
	return 0;
}

unsigned
fw_server_port(const struct fw_server *srv)
{
	return srv->front != NULL ? fw_front_port(srv->front) : 0;
}

void
fw_server_free(struct fw_server *srv)
{
	if (srv == NULL)
		return;
	/* Stop the front end first so no new bytes reach civetweb. */
	fw_front_stop(srv->front);
	if (srv->mg != NULL)
		mg_stop(srv->mg);
	fw_router_clear(&srv->router);
	free(srv->listen);
	free(srv->cert_file);
	free(srv->key_file);
	free(srv);
}
