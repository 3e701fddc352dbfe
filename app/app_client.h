/* SPDX-License-Identifier: MIT */
/*
 * app_client.h - the pieces behind `apiserver call` and `apiserver sign`:
 * URL parsing, one outgoing connection (plain TCP to loopback, or TLS
 * through BearSSL's client), and a bounded HTTP/1.1 response reader.
 *
 * Single-threaded command-line code.  Functions that can fail return 0
 * (or a count) on success and -1 with a one-line reason in `err`; none of
 * them prints anything, and none of them ever sees the signing secret.
 */
#ifndef APP_CLIENT_H
#define APP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit status of `call` when the server answered 400 or above (as curl). */

#define APP_CLIENT_BODY_MAX	(64ul << 20)	/* request body, bytes */
#define APP_CLIENT_TARGET_MAX	8192		/* path and query */
#define APP_CLIENT_HOST_MAX	253
#define APP_CLIENT_HEAD_MAX	65536		/* response head, bytes */
#define APP_CLIENT_HEADERS_MAX	256		/* response header lines */
#define APP_CLIENT_LINE_MAX	8192		/* one response line */
#define APP_CLIENT_RESPONSE_MAX	(1ull << 30)	/* response body, bytes */
#define APP_CLIENT_CACERT_MAX	(1ul << 20)	/* PEM trust file, bytes */
#define APP_CLIENT_ANCHORS_MAX	256		/* certificates in it */
#define APP_CLIENT_TIMEOUT	30		/* default seconds per I/O */

/* A parsed http:// or https:// URL. */
struct app_url {
	int	 tls;				/* 1 for https */
	int	 host_is_ip;			/* IPv4 or IPv6 literal */
	char	 host[APP_CLIENT_HOST_MAX + 1];	/* no brackets */
	char	 port[6];			/* decimal */
	char	 authority[APP_CLIENT_HOST_MAX + 10];	/* as written */
	char	 path[APP_CLIENT_TARGET_MAX];	/* raw, at least "/" */
	char	 query[APP_CLIENT_TARGET_MAX];	/* raw, without '?' */
	int	 has_query;			/* a '?' was present */
};

/*
 * Parse `url`: scheme http or https, an authority without user info
 * (host, [v6], optional :port), and a target sent exactly as written
 * (no decoding, no normalisation).  Refuses fragments, spaces and control
 * bytes.  0 ok, -1 with the reason in err.
 */
int	app_url_parse(const char *url, struct app_url *u, char *err,
	    size_t errlen);

/* 1 if host is "localhost" or a loopback literal (127/8, ::1). */
int	app_host_is_loopback(const char *host);

/* How to trust the server's certificate. */
struct app_tls_opts {
	const char	*cacert;	/* PEM file of trust anchors */
	int		 insecure;	/* accept any certificate */
};

/* One open connection to the server. */
struct app_conn;

/*
 * Resolve u->host and connect (each attempt bounded by timeout_s), then
 * run the TLS handshake for https.  For http, refuses any host that is
 * not loopback before resolving it, and any resolved address that is not
 * loopback before connecting.  *out is freed with app_conn_close.
 */
int	app_conn_open(const struct app_url *u, const struct app_tls_opts *t,
	    unsigned timeout_s, struct app_conn **out, char *err,
	    size_t errlen);

/* Send all len bytes (buffered for TLS).  0 ok, -1 with err. */
int	app_conn_write(struct app_conn *c, const void *buf, size_t len,
	    char *err, size_t errlen);

/* Push out anything buffered.  0 ok, -1 with err. */
int	app_conn_flush(struct app_conn *c, char *err, size_t errlen);

/*
 * Read up to len bytes.  Returns the count, 0 at a clean end of stream
 * (TCP FIN for plain HTTP, close_notify for TLS), -1 with err.
 */
long	app_conn_read(struct app_conn *c, void *buf, size_t len, char *err,
	    size_t errlen);

/* Close and free.  Safe on NULL. */
void	app_conn_close(struct app_conn *c);

/*
 * Read one response from c: skip 1xx interim answers, parse the status
 * line and headers within the limits above, then copy the body (framed
 * by chunked encoding, Content-Length, or the end of the stream) to
 * `out`.  With show_head, the status line and headers go to `out` first.
 * head_request: the request was HEAD (no body follows).  The status code
 * goes in *status.  0 ok, -1 with err.
 */
int	app_response_read(struct app_conn *c, int head_request, int show_head,
	    FILE *out, int *status, char *err, size_t errlen);

/* TLS session on a connected socket (app_client_tls.c). */
struct app_tls;

/*
 * Set up a BearSSL client on fd and send the ClientHello.  The server's
 * certificate is checked against the anchors in t->cacert and against
 * `host` (DNS names through BearSSL's SAN/CN check; IP literals against
 * the leaf's iPAddress SAN entries).  t->insecure checks nothing but still
 * takes the server key from the leaf.  Errors in the handshake surface on
 * the first write, flush or read.
 */
int	app_tls_open(int fd, const char *host, int host_is_ip,
	    const struct app_tls_opts *t, struct app_tls **out, char *err,
	    size_t errlen);
int	app_tls_write(struct app_tls *s, const void *buf, size_t len,
	    char *err, size_t errlen);
int	app_tls_flush(struct app_tls *s, char *err, size_t errlen);
long	app_tls_read(struct app_tls *s, void *buf, size_t len, char *err,
	    size_t errlen);
void	app_tls_free(struct app_tls *s);

#endif /* APP_CLIENT_H */
