/* SPDX-License-Identifier: MIT */
/*
 * fw_front.h - the TLS front end (internal to framework/).
 *
 * Event-loop threads (epoll, non-blocking) accept client connections on
 * the public address, drive one BearSSL server engine per connection (or
 * relay plain bytes with insecure_http) and relay the plaintext to
 * civetweb on 127.0.0.1:backend_port.  The backend connection is opened
 * lazily when the first plaintext byte arrives; its local port is
 * recorded in the peer table before a byte is written, so civetweb
 * (fw_server.c, begin_request) can refuse anything that did not come
 * through here and can see the real client address.
 *
 * The number of backend connections open at once is capped at
 * backend_slots (civetweb's worker count, less one), so civetweb never
 * silently starves a connection: clients wait for a slot in a queue and
 * get a 503 when none frees within queue_timeout_ms.
 */
#ifndef FW_FRONT_H
#define FW_FRONT_H

#include <stddef.h>
#include <stdint.h>

struct fw_front;

struct fw_front_config {
	const char	*listen;	/* "ADDR:PORT", IPv4 or [IPv6] */
	uint16_t	 backend_port;	/* civetweb, on 127.0.0.1 */
	int		 insecure_http;	/* relay plain bytes, no TLS */
	const char	*cert_file;	/* PEM chain (TLS only) */
	const char	*key_file;	/* PEM key, EC or RSA (TLS only) */
	unsigned	 threads;	/* event loops; 0 = one per core */
	unsigned	 max_connections;
	unsigned	 backend_slots;
	unsigned	 queue_timeout_ms;
	unsigned	 handshake_timeout_ms;
	unsigned	 idle_timeout_ms;
};

/*
 * Load the certificate and key, bind, and start the event loops.
 * The key's PEM and DER buffers are wiped before this returns.
 * 0 ok; -1 with the reason in err (nothing left running).
 */
int		fw_front_start(const struct fw_front_config *cfg,
		    struct fw_front **out, char *err, size_t errlen);

/* The public port actually bound. */
unsigned	fw_front_port(const struct fw_front *fe);

/*
 * Look up the real client behind a backend connection whose local
 * (source) port is `backend_port`.  Writes "ip:port" ("[ip6]:port" for
 * IPv6) into out.  0 found; -1 when no front-end connection owns that
 * port.  Thread-safe; called by civetweb workers.
 */
int		fw_front_peer(struct fw_front *fe, unsigned backend_port,
		    char *out, size_t outlen);

/*
 * Stop relaying client bytes to the backend connection whose local port
 * is `backend_port` and shut down its write side, so that civetweb sees
 * the end of the request stream at once (it would otherwise read and
 * discard an unread body).  What civetweb has written or still writes
 * reaches the client; then the client connection is closed.  Used after
 * an error reply that left a body unread.  Thread-safe; no-op when the
 * port is unknown.
 */
void		fw_front_finish(struct fw_front *fe, unsigned backend_port);

/*
 * Mark the backend connection whose local port is `backend_port` as
 * inside a request (active 1, from the moment civetweb hands it over
 * until the reply is written) or between requests (0).  The front end
 * never gives back the slot of a connection inside a request, so a body
 * that follows "100 Continue" after a pause still reaches the handler
 * that is waiting for it.  Thread-safe; no-op when the port is unknown.
 */
void		fw_front_request(struct fw_front *fe, unsigned backend_port,
		    int active);

/* Stop the loops, close every connection, free.  Safe on NULL. */
void		fw_front_stop(struct fw_front *fe);

#endif /* FW_FRONT_H */
