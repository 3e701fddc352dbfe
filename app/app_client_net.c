/* SPDX-License-Identifier: MIT */
/*
 * app_client_net.c - the client side of one HTTP/1.1 exchange: URL
 * parsing, connecting (plain TCP only to loopback), and a response reader
 * with a limit on every part a server controls.  Never sees a secret.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "app_client.h"

struct app_conn {
	int		 fd;
	struct app_tls	*tls;		/* NULL for plain HTTP */
	unsigned char	 buf[16384];	/* read-ahead of the response */
	size_t		 pos, len;
	int		 eof;
	time_t		 deadline;	/* --max-time for the whole call */
};

static int
fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* -------------------------------------------------------------- URLs */

/* 1 if the target has only bytes a request line may carry. */
static int
target_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '#')
			return 0;
	return 1;
}

static int
url_authority(const char *a, size_t n, struct app_url *u, char *err,
    size_t errlen)
{
	const char *colon = NULL, *h = a;
	size_t hl;
	unsigned long long port = 0;
	char pbuf[8];

	if (n == 0 || n >= sizeof(u->authority) || memchr(a, '@', n) != NULL)
		return fail(err, errlen, "URL needs a host (and no user info)");
	memcpy(u->authority, a, n);
	u->authority[n] = '\0';
	if (a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (close == NULL)
			return fail(err, errlen, "unclosed '[' in URL host");
		h = a + 1;
		hl = (size_t)(close - h);
		if (close + 1 < a + n) {
			if (close[1] != ':')
				return fail(err, errlen, "bad URL authority");
			colon = close + 1;
		}
	} else {
		colon = memchr(a, ':', n);
		hl = colon != NULL ? (size_t)(colon - a) : n;
	}
	if (hl == 0 || hl > APP_CLIENT_HOST_MAX)
		return fail(err, errlen, "bad host in URL");
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	if (colon != NULL) {
		size_t pl = (size_t)(a + n - colon - 1);

		if (pl == 0 || pl >= sizeof(pbuf))
			return fail(err, errlen, "bad port in URL");
		memcpy(pbuf, colon + 1, pl);
		pbuf[pl] = '\0';
		if (app_parse_uint(pbuf, 1, 65535, &port) != 0)
			return fail(err, errlen, "bad port in URL");
	} else {
		port = u->tls ? 443 : 80;
	}
	snprintf(u->port, sizeof(u->port), "%llu", port);
	return 0;
}

int
app_url_parse(const char *url, struct app_url *u, char *err, size_t errlen)
{
	unsigned char v6[16];
	const char *p, *end, *q;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return fail(err, errlen, "URL must start with https:// or "
		    "http://");
	}
	end = p + strcspn(p, "/?#");
	if (url_authority(p, (size_t)(end - p), u, err, errlen) != 0)
		return -1;
	if (!target_ok(end))
		return fail(err, errlen, "URL path or query has a space, a "
		    "control byte, non-ASCII or a '#' (percent-encode it)");
	q = strchr(end, '?');
	n = q != NULL ? (size_t)(q - end) : strlen(end);
	if (n + 2 > sizeof(u->path) ||
	    (q != NULL && strlen(q + 1) >= sizeof(u->query)))
		return fail(err, errlen, "URL too long");
	u->path[0] = '/';
	memcpy(u->path + (n > 0 && end[0] == '/' ? 0 : 1), end, n);
	if (q != NULL) {
		u->has_query = 1;
		snprintf(u->query, sizeof(u->query), "%s", q + 1);
	}
	u->host_is_ip = inet_pton(AF_INET, u->host, v6) == 1 ||
	    inet_pton(AF_INET6, u->host, v6) == 1;
	if (strchr(u->host, ':') != NULL && !u->host_is_ip)
		return fail(err, errlen, "bad IPv6 address in URL");
	return 0;
}

int
app_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* 1 if a resolved address is loopback. */
static int
addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr);
	return 0;
}

/* ------------------------------------------------------- connecting */

/* Non-blocking connect bounded by timeout_s; fd blocking again after. */
static int
connect_bounded(const struct addrinfo *ai, unsigned timeout_s)
{
	struct timeval tv = { .tv_sec = (time_t)timeout_s, .tv_usec = 0 };
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, flags, soerr = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		goto bad;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS)
			goto bad;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)timeout_s * 1000) != 1) {
			errno = ETIMEDOUT;
			goto bad;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0) {
			errno = soerr != 0 ? soerr : errno;
			goto bad;
		}
	}
	if (fcntl(fd, F_SETFL, flags) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		goto bad;
	return fd;
bad:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

int
app_conn_open(const struct app_url *u, const struct app_tls_opts *t,
    unsigned timeout_s, struct app_conn **out, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct app_conn *c;
	time_t start = time(NULL);
	int rc, fd = -1, saved = 0;

	*out = NULL;
	if (!u->tls && !app_host_is_loopback(u->host)) {
		snprintf(err, errlen, "refusing plain http:// to %s: it is "
		    "not a loopback address (use https://)", u->host);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		if (!u->tls && !addr_is_loopback(ai->ai_addr))
			continue;
		if ((fd = connect_bounded(ai, timeout_s)) < 0)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s",
		    u->authority, saved != 0 ? strerror(saved) :
		    "no loopback address");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return fail(err, errlen, "out of memory");
	}
	c->fd = fd;
	c->deadline = start + (time_t)timeout_s;
	if (u->tls && app_tls_open(fd, u->host, u->host_is_ip, t, &c->tls,
	    err, errlen) != 0) {
		app_conn_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

int
app_conn_write(struct app_conn *c, const void *buf, size_t len, char *err,
    size_t errlen)
{
	const unsigned char *p = buf;
	ssize_t n;

	if (c->tls != NULL)
		return app_tls_write(c->tls, buf, len, err, errlen);
	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "send failed: %s",
			    n < 0 ? strerror(errno) : "connection closed");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
app_conn_flush(struct app_conn *c, char *err, size_t errlen)
{
	return c->tls != NULL ? app_tls_flush(c->tls, err, errlen) : 0;
}

long
app_conn_read(struct app_conn *c, void *buf, size_t len, char *err,
    size_t errlen)
{
	ssize_t n;

	if (c->tls != NULL)
		return app_tls_read(c->tls, buf, len, err, errlen);
	do
		n = recv(c->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "receive failed: %s",
		    errno == EAGAIN ? "timed out" : strerror(errno));
		return -1;
	}
	return (long)n;
}

void
app_conn_close(struct app_conn *c)
{
	if (c == NULL)
		return;
	app_tls_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* --------------------------------------------------------- responses */

/* Make sure unread bytes are buffered.  1 yes, 0 at end, -1 error. */
static int
fill(struct app_conn *c, char *err, size_t errlen)
{
	long n;

	if (c->pos < c->len)
		return 1;
	if (c->eof)
		return 0;
	/* A server that drips bytes cannot stretch the call past its limit. */
	if (time(NULL) > c->deadline)
		return fail(err, errlen, "timed out (--max-time) reading the "
		    "response");
	n = app_conn_read(c, c->buf, sizeof(c->buf), err, errlen);
	if (n < 0)
		return -1;
	c->pos = 0;
	c->len = (size_t)n;
	if (n == 0)
		c->eof = 1;
	return n > 0;
}

/*
 * One line ending in LF (a CR before it is dropped) into line[max].
 * *used counts bytes against a shared budget.  0 ok, -1 with err.
 */
static int
read_line(struct app_conn *c, char *line, size_t max, size_t *used,
    size_t budget, char *err, size_t errlen)
{
	size_t n = 0;
	int r;

	for (;;) {
		unsigned char ch;

		if ((r = fill(c, err, errlen)) <= 0)
			return r < 0 ? -1 : fail(err, errlen, "response ended "
			    "inside its head");
		ch = c->buf[c->pos++];
		if (++*used > budget || n + 1 >= max)
			return fail(err, errlen, "response head too large");
		if (ch == '\n')
			break;
		line[n++] = (char)ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return fail(err, errlen, "NUL byte in response head");
	return 0;
}

/* Copy exactly len body bytes (or to the end when to_eof) to out. */
static int
copy_body(struct app_conn *c, unsigned long long len, int to_eof,
    unsigned long long *total, FILE *out, char *err, size_t errlen)
{
	int r;

	while (to_eof || len > 0) {
		size_t n;

		if ((r = fill(c, err, errlen)) < 0)
			return -1;
		if (r == 0)
			return to_eof ? 0 : fail(err, errlen, "response body "
			    "cut short");
		n = c->len - c->pos;
		if (!to_eof && n > len)
			n = (size_t)len;
		if ((*total += n) > APP_CLIENT_RESPONSE_MAX)
			return fail(err, errlen, "response body too large");
		if (fwrite(c->buf + c->pos, 1, n, out) != n)
			return fail(err, errlen, "cannot write the response");
		c->pos += n;
		if (!to_eof)
			len -= n;
	}
	return 0;
}

static int
copy_chunked(struct app_conn *c, FILE *out, char *err, size_t errlen)
{
	unsigned long long total = 0, size;
	size_t used = 0;
	char line[APP_CLIENT_LINE_MAX], *end;

	for (;;) {
		/* Chunk-size lines count against the response limit too. */
		if (read_line(c, line, sizeof(line), &used,
		    APP_CLIENT_RESPONSE_MAX, err, errlen) != 0)
			return -1;
		errno = 0;
		size = strtoull(line, &end, 16);
		if (end == line || errno != 0 || (*end != '\0' &&
		    *end != ';' && *end != ' ' && *end != '\t'))
			return fail(err, errlen, "bad chunk size");
		if (size == 0)
			break;
		if (size > APP_CLIENT_RESPONSE_MAX ||
		    copy_body(c, size, 0, &total, out, err, errlen) != 0 ||
		    read_line(c, line, sizeof(line), &used,
		    APP_CLIENT_RESPONSE_MAX, err, errlen) != 0)
			return size > APP_CLIENT_RESPONSE_MAX ? fail(err,
			    errlen, "response body too large") : -1;
		if (line[0] != '\0')
			return fail(err, errlen, "bad chunk end");
	}
	/* Trailer fields, up to the empty line. */
	used = 0;
	do {
		if (read_line(c, line, sizeof(line), &used,
		    APP_CLIENT_HEAD_MAX, err, errlen) != 0)
			return -1;
	} while (line[0] != '\0');
	return 0;
}

struct head {
	int			status;
	int			chunked;
	int			has_length;
	unsigned long long	length;
};

/* Note the framing headers of one header line. */
static int
head_field(struct head *h, char *line, char *err, size_t errlen)
{
	char *colon = strchr(line, ':'), *v;
	unsigned long long n;

	if (colon == NULL || colon == line)
		return fail(err, errlen, "malformed response header");
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return fail(err, errlen, "unsupported "
			    "Transfer-Encoding in response");
		h->chunked = 1;
	} else if (strcasecmp(line, "Content-Length") == 0) {
		if (app_parse_uint(v, 0, APP_CLIENT_RESPONSE_MAX, &n) != 0 ||
		    (h->has_length && n != h->length))
			return fail(err, errlen, "bad Content-Length in "
			    "response");
		h->has_length = 1;
		h->length = n;
	}
	*colon = ':';
	return 0;
}

/* Status line and headers of one response. */
static int
read_head(struct app_conn *c, struct head *h, int show, FILE *out,
    char *err, size_t errlen)
{
	char line[APP_CLIENT_LINE_MAX];
	size_t used = 0;
	unsigned long long code;
	int count = 0;

	memset(h, 0, sizeof(*h));
	if (read_line(c, line, sizeof(line), &used, APP_CLIENT_HEAD_MAX, err,
	    errlen) != 0)
		return -1;
	if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' &&
	    line[7] != '1') || line[8] != ' ' || strlen(line) < 12 ||
	    (line[12] != '\0' && line[12] != ' '))
		return fail(err, errlen, "not an HTTP/1.x response");
	{
		char code_s[4] = { line[9], line[10], line[11], '\0' };

		if (app_parse_uint(code_s, 100, 599, &code) != 0)
			return fail(err, errlen, "bad response status");
	}
	h->status = (int)code;
	if (show)
		fprintf(out, "%s\r\n", line);
	for (;;) {
		if (read_line(c, line, sizeof(line), &used,
		    APP_CLIENT_HEAD_MAX, err, errlen) != 0)
			return -1;
		if (show)
			fprintf(out, "%s\r\n", line);
		if (line[0] == '\0')
			return 0;
		if (++count > APP_CLIENT_HEADERS_MAX)
			return fail(err, errlen, "too many response headers");
		if (head_field(h, line, err, errlen) != 0)
			return -1;
	}
}

int
app_response_read(struct app_conn *c, int head_request, int show_head,
    FILE *out, int *status, char *err, size_t errlen)
{
	unsigned long long total = 0;
	struct head h;
	int interim = 0;

	do {
		if (read_head(c, &h, show_head, out, err, errlen) != 0)
			return -1;
		if (h.status >= 200)
			break;
	} while (++interim < 10);
	if (h.status < 200)
		return fail(err, errlen, "too many interim responses");
	*status = h.status;
	if (head_request || h.status == 204 || h.status == 304)
		return 0;
	if (h.chunked)
		return copy_chunked(c, out, err, errlen);
	if (h.has_length)
		return copy_body(c, h.length, 0, &total, out, err, errlen);
	return copy_body(c, 0, 1, &total, out, err, errlen);
}
