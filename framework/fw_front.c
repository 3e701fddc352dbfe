/* SPDX-License-Identifier: MIT */
/*
 * fw_front.c - the front end: event loops, accept, backend slots, relay.
 *
 * Owns the public listening socket, every client connection and every
 * loopback connection to civetweb.  Each event-loop thread owns the
 * connections it accepted; the only state shared between loops is the
 * listening socket, the session cache (behind its own mutex), the peer
 * table (striped locks), the backend slot pool and its FIFO of waiting
 * connections (behind slot_mu), and the connection count (atomic).
 * It never logs peer bytes, only addresses and BearSSL error codes.
 *
 * Accept model: one shared non-blocking listening socket, registered in
 * every loop's epoll with EPOLLEXCLUSIVE, so the kernel wakes one idle
 * loop per new connection; a loop that is busy with handshake crypto is
 * not picked while it is not waiting.  The TLS engine side lives in
 * fw_front_tls.c, the plain relay in fw_front_plain.c.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "apiserver.h"
#include "fw_err.h"
#include "fw_front_int.h"

const char front_busy[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 16\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"error\":\"busy\"}";
const size_t front_busy_len = sizeof(front_busy) - 1;

/* ------------------------------------------------------------ helpers */

static uint64_t
front_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
front_wake(struct loop *lp)
{
	uint64_t one = 1;

	if (lp->wakefd >= 0 && write(lp->wakefd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: the loop will wake. */
	}
}

/* "ip:port" of the client, for log lines. */
const char *
conn_peer_str(const struct conn *c, char *out, size_t outlen)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	char ip[INET6_ADDRSTRLEN];

	if (c->peer.ss_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)&c->peer;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip,
		    (unsigned)ntohs(s6->sin6_port));
	} else {
		s4 = (const struct sockaddr_in *)(const void *)&c->peer;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip,
		    (unsigned)ntohs(s4->sin_port));
	}
	return out;
}

/* ------------------------------------------------------- connections */

static void
conn_touch(struct conn *c, uint64_t now)
{
	c->t_active = now;
	list_del(&c->lru);
	list_add_tail(&c->loop->lru, &c->lru);
}

/*
 * Give a slot back: to the head of the FIFO when someone waits (its loop
 * is woken to connect), else to the pool.  Caller holds slot_mu.
 */
static void
slot_release_locked(struct fw_front *fe)
{
	struct conn *w;

	if (list_empty(&fe->waiters)) {
		fe->slots_free++;
		return;
	}
	w = LINK_OWNER(fe->waiters.next, struct conn, gwait);
	list_del(&w->gwait);
	atomic_fetch_sub(&fe->nwaiting, 1);
	w->slot_granted = 1;
	list_add_tail(&w->loop->granted, &w->gwait);
	front_wake(w->loop);
}

static void
slot_release(struct fw_front *fe)
{
	pthread_mutex_lock(&fe->slot_mu);
	slot_release_locked(fe);
	pthread_mutex_unlock(&fe->slot_mu);
}

/* Leave the slot queue (or hand back a slot granted meanwhile). */
static void
slot_unwait(struct conn *c)
{
	struct fw_front *fe = c->loop->fe;

	pthread_mutex_lock(&fe->slot_mu);
	list_del(&c->gwait);
	if (c->slot_granted) {
		c->slot_granted = 0;
		slot_release_locked(fe);
	} else {
		atomic_fetch_sub(&fe->nwaiting, 1);
	}
	pthread_mutex_unlock(&fe->slot_mu);
	list_del(&c->wait);
	c->be = BE_NONE;
}

/* Close the backend socket; the peer entry goes first. */
static void
backend_close(struct conn *c)
{
	if (c->be == BE_WAITING) {
		slot_unwait(c);
		return;
	}
	if (c->be == BE_NONE)
		return;
	fw_peers_clear(c->loop->fe->peers, c->bport);
	close(c->bfd);
	c->bfd = -1;
	c->bport = 0;
	list_del(&c->be_link);
	c->be = BE_NONE;
	c->b_rd = 0;
	c->b_wr = 0;
	c->b_shut = 0;
	c->unanswered = 0;
	slot_release(c->loop->fe);
}

/* Close everything now; the memory goes at the end of the batch. */
void
conn_kill(struct conn *c, const char *why)
{
	char peer[64];

	if (c->state == CS_DEAD)
		return;
	if (why != NULL)
		fw_log(FW_LOG_DEBUG, "front: %s: %s",
		    conn_peer_str(c, peer, sizeof(peer)), why);
	backend_close(c);
	list_del(&c->lru);
	list_del(&c->phase);
	list_del(&c->wait);
	list_del(&c->headw);
	close(c->cfd);
	c->cfd = -1;
	c->state = CS_DEAD;
	list_add_tail(&c->loop->dead, &c->dead);
	atomic_fetch_sub(&c->loop->fe->nconn, 1);
}

static void
conn_free(struct conn *c)
{
	if (c->sc != NULL) {
		explicit_bzero(c->sc, sizeof(*c->sc));
		free(c->sc);
	}
	if (c->iobuf != NULL) {
		explicit_bzero(c->iobuf, BR_SSL_BUFSIZE_BIDI);
		free(c->iobuf);
	}
	if (c->c2b.p != NULL) {
		explicit_bzero(c->c2b.p, 2 * FRONT_PLAIN_BUF);
		free(c->c2b.p);
	}
	free(c);
}

/* Start a graceful close: flush, close_notify, shut down, drain. */
void
conn_finish(struct conn *c)
{
	if (c->state == CS_DEAD || c->state == CS_CLOSING ||
	    c->state == CS_DRAIN)
		return;
	backend_close(c);
	list_del(&c->phase);
	c->state = CS_CLOSING;
}

void
conn_drain_start(struct conn *c, uint64_t now)
{
	shutdown(c->cfd, SHUT_WR);
	c->state = CS_DRAIN;
	c->t_drain = now;
	c->c_rd = 1;
	list_del(&c->phase);
	list_add_tail(&c->loop->drain, &c->phase);
}

/* Read and drop what the client still sends, so close() sends no RST. */
void
conn_drain(struct conn *c)
{
	unsigned char buf[4096];
	ssize_t n;

	while (c->c_rd) {
		n = recv(c->cfd, buf, sizeof(buf), 0);
		if (n > 0) {
			c->drained += (size_t)n;
			if (c->drained > FRONT_DRAIN_BYTES) {
				conn_kill(c, NULL);
				return;
			}
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			c->c_rd = 0;
		} else {
			conn_kill(c, NULL);
			return;
		}
	}
}

/* Open the loopback connection; the caller holds a slot. */
static int
backend_connect(struct conn *c, uint64_t now)
{
	struct fw_front *fe = c->loop->fe;
	struct sockaddr_in src, local;
	struct epoll_event ev;
	socklen_t len;
	int fd, one = 1, r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
		goto fail;
	r = connect(fd, (const struct sockaddr *)&fe->backend_sa,
	    sizeof(fe->backend_sa));
	if (r != 0 && errno != EINPROGRESS)
		goto fail;
	len = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &len) != 0)
		goto fail;
	c->bport = ntohs(local.sin_port);
	atomic_store(&fe->finish_req[c->bport], 0);
	atomic_store(&fe->in_request[c->bport], 0);
	fw_peers_set(fe->peers, c->bport, (struct sockaddr *)&c->peer);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = &c->bep;
	if (epoll_ctl(c->loop->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		fw_peers_clear(fe->peers, c->bport);
		goto fail;
	}
	c->bfd = fd;
	c->be = r == 0 ? BE_OPEN : BE_CONNECTING;
	c->b_rd = 0;
	c->b_wr = r == 0;
	c->unanswered = 0;
	c->t_be_io = now;
	list_add_tail(&c->loop->backends, &c->be_link);
	return 0;
fail:
	fw_log(FW_LOG_WARN, "front: backend connect to 127.0.0.1:%u: %s",
	    (unsigned)fe->backend_port, strerror(errno));
	if (fd >= 0)
		close(fd);
	slot_release(fe);
	c->be = BE_NONE;
	return -1;
}

/* The connection has client bytes and no backend: take a slot or queue. */
static int
backend_request(struct conn *c, uint64_t now)
{
	struct fw_front *fe = c->loop->fe;
	unsigned i;
	int got;

	pthread_mutex_lock(&fe->slot_mu);
	got = fe->slots_free > 0;
	if (got) {
		fe->slots_free--;
	} else {
		list_add_tail(&fe->waiters, &c->gwait);
		c->slot_granted = 0;
		if (atomic_fetch_add(&fe->nwaiting, 1) == 0) {
			/* Other loops may hold idle backends: wake them. */
			for (i = 0; i < fe->nloops; i++)
				if (&fe->loops[i] != c->loop)
					front_wake(&fe->loops[i]);
		}
	}
	pthread_mutex_unlock(&fe->slot_mu);
	if (got)
		return backend_connect(c, now);
	c->be = BE_WAITING;
	c->t_wait = now;
	list_add_tail(&c->loop->waitq, &c->wait);
	return 0;
}

/*
 * Move client plaintext to the backend.  Returns bytes taken, 0 when it
 * must wait, -1 when the connection must die.
 */
ssize_t
relay_to_backend(struct conn *c, const unsigned char *buf, size_t len,
    uint64_t now)
{
	ssize_t n;

	if (c->finishing)
		return (ssize_t)len;	/* the reply is on its way: drop */
	if (c->be == BE_NONE) {
		/*
		 * A backend slot goes to a whole request head only: a client
		 * that sends part of one and stops waits here, holding no
		 * civetweb worker.  After FRONT_HEAD_MS it may ask anyway (a
		 * head split over TLS records can only move on that way).
		 */
		if (!c->head_forced && len < FRONT_HEAD_GATE &&
		    memmem(buf, len, "\r\n\r\n", 4) == NULL) {
			if (!list_linked(&c->headw)) {
				c->t_head = now;
				list_add_tail(&c->loop->headwait, &c->headw);
			}
			return 0;
		}
		list_del(&c->headw);
		c->head_forced = 0;
		return backend_request(c, now) == 0 ? 0 : -1;
	}
	if (c->be != BE_OPEN || !c->b_wr || c->b_shut)
		return 0;
	for (;;) {
		n = send(c->bfd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			if (!c->unanswered)
				c->t_asked = now;
			c->unanswered = 1;
			c->t_be_io = now;
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->b_wr = 0;
			return 0;
		}
		conn_kill(c, "backend write failed");
		return -1;
	}
}

/*
 * Read backend bytes into buf.  Returns bytes read; 0 when nothing now;
 * -1 on backend EOF or error (the connection then closes gracefully).
 */
ssize_t
relay_from_backend(struct conn *c, unsigned char *buf, size_t len,
    uint64_t now)
{
	ssize_t n;

	for (;;) {
		n = recv(c->bfd, buf, len, 0);
		if (n > 0) {
			c->unanswered = 0;
			c->t_be_io = now;
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->b_rd = 0;
			return 0;
		}
		if (c->unanswered)
			fw_log(FW_LOG_DEBUG, "front: backend closed with a "
			    "request unanswered");
		conn_finish(c);
		return -1;
	}
}

/* Client socket I/O: bytes moved, 0 when it would block, -1 dead. */
ssize_t
client_send(struct conn *c, const unsigned char *buf, size_t len,
    uint64_t now)
{
	ssize_t n;

	for (;;) {
		n = send(c->cfd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			conn_touch(c, now);
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->c_wr = 0;
			return 0;
		}
		conn_kill(c, "client write failed");
		return -1;
	}
}

/* As client_send; a TCP EOF is reported as -2. */
ssize_t
client_recv(struct conn *c, unsigned char *buf, size_t len, uint64_t now)
{
	ssize_t n;

	for (;;) {
		n = recv(c->cfd, buf, len, 0);
		if (n > 0) {
			conn_touch(c, now);
			return n;
		}
		if (n == 0)
			return -2;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->c_rd = 0;
			return 0;
		}
		conn_kill(c, "client read failed");
		return -1;
	}
}

static void
conn_pump(struct conn *c, uint64_t now)
{
	if (c->sc != NULL)
		tls_pump(c, now);
	else
		plain_pump(c, now);
}

/* ----------------------------------------------------------- accept */

static void
front_log_full(struct fw_front *fe, uint64_t now)
{
	uint64_t last;
	unsigned dropped;

	atomic_fetch_add(&fe->full_dropped, 1);
	last = atomic_load(&fe->full_log_ms);
	if (now - last < FRONT_FULL_LOG_MS ||
	    !atomic_compare_exchange_strong(&fe->full_log_ms, &last, now))
		return;
	dropped = atomic_exchange(&fe->full_dropped, 0);
	fw_log(FW_LOG_WARN, "front: max_connections (%u) reached; closed "
	    "%u new connection(s)", fe->max_conn, dropped);
}

static struct conn *
conn_new(struct loop *lp, int fd, const struct sockaddr_storage *ss,
    uint64_t now)
{
	struct fw_front *fe = lp->fe;
	struct epoll_event ev;
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = lp;
	c->cfd = fd;
	c->bfd = -1;
	c->cep.kind = EP_CLIENT;
	c->cep.conn = c;
	c->bep.kind = EP_BACKEND;
	c->bep.conn = c;
	c->peer = *ss;
	c->t_start = now;
	c->t_active = now;
	c->c_rd = 1;
	c->c_wr = 1;
	if (fe->insecure) {
		if ((c->c2b.p = malloc(2 * FRONT_PLAIN_BUF)) == NULL)
			goto fail;
		c->b2c.p = c->c2b.p + FRONT_PLAIN_BUF;
		c->state = CS_OPEN;
	} else {
		c->sc = malloc(sizeof(*c->sc));
		c->iobuf = malloc(BR_SSL_BUFSIZE_BIDI);
		if (c->sc == NULL || c->iobuf == NULL ||
		    front_tls_setup(fe, c->sc, c->iobuf) != 0)
			goto fail;
		c->state = CS_HANDSHAKE;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = &c->cep;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		goto fail;
	list_add_tail(&lp->lru, &c->lru);
	if (c->state == CS_HANDSHAKE)
		list_add_tail(&lp->handshake, &c->phase);
	return c;
fail:
	c->cfd = -1;
	conn_free(c);
	return NULL;
}

static void
front_accept(struct loop *lp, uint64_t now)
{
	struct fw_front *fe = lp->fe;
	struct sockaddr_storage ss;
	socklen_t len;
	struct conn *c;
	int i, fd;

	for (i = 0; i < FRONT_ACCEPT_BURST; i++) {
		len = sizeof(ss);
		fd = accept4(fe->lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fw_log(FW_LOG_WARN, "front: accept: %s",
				    strerror(errno));
			/* XXX: on EMFILE the level-triggered listener spins
			 * until a descriptor frees. */
			return;
		}
		if (atomic_fetch_add(&fe->nconn, 1) >= fe->max_conn) {
			atomic_fetch_sub(&fe->nconn, 1);
			close(fd);
			front_log_full(fe, now);
			continue;
		}
		if ((c = conn_new(lp, fd, &ss, now)) == NULL) {
			atomic_fetch_sub(&fe->nconn, 1);
			close(fd);
			fw_log(FW_LOG_WARN, "front: out of memory for a "
			    "connection");
			continue;
		}
		conn_pump(c, now);
	}
}

/* ------------------------------------------------------------- loop */

/* Slots granted to our waiting connections by other threads. */
static void
loop_take_grants(struct loop *lp, uint64_t now)
{
	struct fw_front *fe = lp->fe;
	struct link mine, *n;
	struct conn *c;
	uint64_t v;

	if (read(lp->wakefd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending. */
	}
	list_init(&mine);
	pthread_mutex_lock(&fe->slot_mu);
	list_splice(&mine, &lp->granted);
	for (n = mine.next; n != &mine; n = n->next)
		LINK_OWNER(n, struct conn, gwait)->slot_granted = 0;
	pthread_mutex_unlock(&fe->slot_mu);
	while (!list_empty(&mine)) {
		c = LINK_OWNER(mine.next, struct conn, gwait);
		list_del(&c->gwait);
		list_del(&c->wait);
		c->be = BE_NONE;
		if (backend_connect(c, now) != 0) {
			conn_kill(c, "backend connect failed");
			continue;
		}
		conn_pump(c, now);
	}
}

/* fw_front_finish for one of our backends: shut its write side. */
static void
loop_take_finishes(struct loop *lp, uint64_t now)
{
	struct fw_front *fe = lp->fe;
	struct link *n, *next;
	struct conn *c;

	for (n = lp->backends.next; n != &lp->backends; n = next) {
		next = n->next;
		c = LINK_OWNER(n, struct conn, be_link);
		if (!atomic_exchange(&fe->finish_req[c->bport], 0))
			continue;
		c->finishing = 1;
		if (c->be == BE_OPEN && !c->b_shut) {
			shutdown(c->bfd, SHUT_WR);
			c->b_shut = 1;
		}
		conn_pump(c, now);
	}
}

static void
loop_event(struct loop *lp, const struct epoll_event *ev, uint64_t now)
{
	struct endpoint *ep = ev->data.ptr;
	struct conn *c = ep->conn;
	int err;
	socklen_t len;

	switch (ep->kind) {
	case EP_LISTEN:
		front_accept(lp, now);
		return;
	case EP_WAKE:
		loop_take_grants(lp, now);
		loop_take_finishes(lp, now);
		return;
	case EP_CLIENT:
		if (c->state == CS_DEAD)
			return;
		if (ev->events & (EPOLLHUP | EPOLLERR)) {
			conn_kill(c, "client gone");
			return;
		}
		if (ev->events & (EPOLLIN | EPOLLRDHUP))
			c->c_rd = 1;
		if (ev->events & EPOLLOUT)
			c->c_wr = 1;
		break;
	case EP_BACKEND:
		if (c->state == CS_DEAD || c->bfd < 0)
			return;
		if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->b_rd = 1;
		if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			c->b_wr = 1;
		if (c->be == BE_CONNECTING && c->b_wr) {
			err = 0;
			len = sizeof(err);
			getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err != 0) {
				fw_log(FW_LOG_WARN, "front: backend connect: "
				    "%s", strerror(err));
				conn_kill(c, NULL);
				return;
			}
			c->be = BE_OPEN;
		}
		break;
	}
	conn_pump(c, now);
}

/* 503 from the front end when no slot freed in time. */
static void
conn_busy(struct conn *c, uint64_t now)
{
	char peer[64];

	fw_log(FW_LOG_WARN, "front: %s: no backend slot within %u ms, 503",
	    conn_peer_str(c, peer, sizeof(peer)), c->loop->fe->queue_ms);
	slot_unwait(c);
	if (c->sc != NULL) {
		tls_busy(c);
	} else {
		c->c2b.off = 0;
		c->c2b.len = 0;
		memcpy(c->b2c.p, front_busy, front_busy_len);
		c->b2c.off = 0;
		c->b2c.len = front_busy_len;
	}
	conn_finish(c);
	conn_pump(c, now);
}

/*
 * Is this backend connection idle long enough to give its slot back?
 * Not while civetweb is inside a request (fw_front_request), nor while
 * client bytes wait for an answer.
 * XXX: a client that pipelines part of a second request with the first
 * and then pauses past the release time loses that part (it reaches a
 * new backend connection as a malformed request and gets a 400).
 */
static int
backend_idle(const struct conn *c, uint64_t now, uint64_t idle)
{
	size_t len;

	if (c->be != BE_OPEN || c->unanswered || c->finishing ||
	    c->state != CS_OPEN ||
	    atomic_load(&c->loop->fe->in_request[c->bport]))
		return 0;
	if (c->sc != NULL)
		len = br_ssl_engine_recvapp_buf(&c->sc->eng, &len) != NULL ?
		    len : 0;
	else
		len = c->c2b.len;
	return len == 0 && now - c->t_be_io >= idle;
}

/* 1 if the client bytes waiting for a backend hold a whole request head. */
static int
head_seen(struct conn *c)
{
	const unsigned char *buf;
	size_t len = 0;

	if (c->sc != NULL) {
		buf = br_ssl_engine_recvapp_buf(&c->sc->eng, &len);
	} else {
		buf = c->c2b.p + c->c2b.off;
		len = c->c2b.len;
	}
	return buf != NULL && memmem(buf, len, "\r\n\r\n", 4) != NULL;
}

/*
 * 1 if c holds a backend slot for bytes that are not yet a whole request
 * head: sent, unanswered, and civetweb not inside a request (it marks
 * that once the head is complete) for FRONT_HEAD_MS.  A slot is only
 * asked for with a whole head in hand (relay_to_backend), so this catches
 * what slips past that: a head stalled after the gate gave up waiting, or
 * the next request on a connection that kept its backend.
 */
static int
head_overdue(const struct conn *c, uint64_t now)
{
	return c->be == BE_OPEN && c->unanswered && !c->finishing &&
	    !atomic_load(&c->loop->fe->in_request[c->bport]) &&
	    now - c->t_asked >= FRONT_HEAD_MS;
}

static void
loop_timers(struct loop *lp, uint64_t now)
{
	struct fw_front *fe = lp->fe;
	struct link *n, *next;
	struct conn *c;
	uint64_t idle;

	while (!list_empty(&lp->handshake)) {
		c = LINK_OWNER(lp->handshake.next, struct conn, phase);
		if (now - c->t_start < fe->hs_ms)
			break;
		conn_kill(c, "handshake timeout");
	}
	while (!list_empty(&lp->drain)) {
		c = LINK_OWNER(lp->drain.next, struct conn, phase);
		if (now - c->t_drain < FRONT_DRAIN_MS)
			break;
		conn_kill(c, NULL);
	}
	while (!list_empty(&lp->lru)) {
		c = LINK_OWNER(lp->lru.next, struct conn, lru);
		if (now - c->t_active < fe->idle_ms)
			break;
		conn_kill(c, "idle timeout");
	}
	/* Unfinished heads, oldest first: let them ask for a slot now. */
	while (!list_empty(&lp->headwait)) {
		c = LINK_OWNER(lp->headwait.next, struct conn, headw);
		if (now - c->t_head < FRONT_HEAD_MS)
			break;
		list_del(&c->headw);
		c->head_forced = 1;
		conn_pump(c, now);
	}
	/* A waiter that has not sent a whole head yet gives up its place. */
	for (n = lp->waitq.next; n != &lp->waitq; n = next) {
		next = n->next;
		c = LINK_OWNER(n, struct conn, wait);
		if (now - c->t_wait >= FRONT_HEAD_MS && !head_seen(c))
			conn_kill(c, "request head not complete in time");
	}
	while (!list_empty(&lp->waitq)) {
		c = LINK_OWNER(lp->waitq.next, struct conn, wait);
		if (now - c->t_wait < fe->queue_ms)
			break;
		conn_busy(c, now);
	}
	idle = atomic_load(&fe->nwaiting) > 0 ? FRONT_RELEASE_BUSY_MS :
	    FRONT_RELEASE_IDLE_MS;
	for (n = lp->backends.next; n != &lp->backends; n = next) {
		next = n->next;
		c = LINK_OWNER(n, struct conn, be_link);
		if (backend_idle(c, now, idle))
			backend_close(c);
		else if (head_overdue(c, now))
			conn_kill(c, "request head not complete in time");
	}
}

/* Milliseconds until the earliest timer of this loop. */
static int
loop_timeout(struct loop *lp, uint64_t now)
{
	struct fw_front *fe = lp->fe;
	uint64_t next = now + FRONT_TICK_MAX_MS, idle, t;
	struct link *n;
	struct conn *c;

#define LOOP_EARLIER(deadline) do {			\
	t = (deadline);					\
	if (t < next)					\
		next = t;				\
} while (0)
	if (!list_empty(&lp->handshake)) {
		c = LINK_OWNER(lp->handshake.next, struct conn, phase);
		LOOP_EARLIER(c->t_start + fe->hs_ms);
	}
	if (!list_empty(&lp->drain)) {
		c = LINK_OWNER(lp->drain.next, struct conn, phase);
		LOOP_EARLIER(c->t_drain + FRONT_DRAIN_MS);
	}
	if (!list_empty(&lp->lru)) {
		c = LINK_OWNER(lp->lru.next, struct conn, lru);
		LOOP_EARLIER(c->t_active + fe->idle_ms);
	}
	if (!list_empty(&lp->waitq)) {
		c = LINK_OWNER(lp->waitq.next, struct conn, wait);
		LOOP_EARLIER(c->t_wait + fe->queue_ms);
	}
	if (!list_empty(&lp->headwait)) {
		c = LINK_OWNER(lp->headwait.next, struct conn, headw);
		LOOP_EARLIER(c->t_head + FRONT_HEAD_MS);
	}
	idle = atomic_load(&fe->nwaiting) > 0 ? FRONT_RELEASE_BUSY_MS :
	    FRONT_RELEASE_IDLE_MS;
	for (n = lp->backends.next; n != &lp->backends; n = n->next) {
		c = LINK_OWNER(n, struct conn, be_link);
		LOOP_EARLIER(c->t_be_io + idle);
	}
#undef LOOP_EARLIER
	return next <= now ? 0 : (int)(next - now);
}

static void
loop_free_dead(struct loop *lp)
{
	struct conn *c;

	while (!list_empty(&lp->dead)) {
		c = LINK_OWNER(lp->dead.next, struct conn, dead);
		list_del(&c->dead);
		conn_free(c);
	}
}

static void *
loop_main(void *arg)
{
	struct loop *lp = arg;
	struct epoll_event evs[FRONT_EVENTS];
	uint64_t now;
	int i, n;

	while (!atomic_load(&lp->fe->stop)) {
		now = front_now_ms();
		n = epoll_wait(lp->ep, evs, FRONT_EVENTS,
		    loop_timeout(lp, now));
		if (n < 0 && errno != EINTR) {
			fw_log(FW_LOG_ERROR, "front: epoll_wait: %s",
			    strerror(errno));
			break;
		}
		now = front_now_ms();
		for (i = 0; i < n; i++)
			loop_event(lp, &evs[i], now);
		loop_timers(lp, now);
		loop_free_dead(lp);
	}
	return NULL;
}

/* ------------------------------------------------------------ start */

/* Parse "ADDR:PORT" or "[ADDR6]:PORT" and open the listening socket. */
static int
front_listen(struct fw_front *fe, const char *listen_on, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res;
	struct sockaddr_storage ss;
	socklen_t len;
	char host[128];
	const char *colon, *h;
	size_t hlen;
	int one = 1, r;

	colon = listen_on != NULL ? strrchr(listen_on, ':') : NULL;
	if (colon == NULL || colon[1] == '\0') {
		fw_errf(err, errlen, "listen address must be ADDR:PORT");
		return -1;
	}
	h = listen_on;
	hlen = (size_t)(colon - listen_on);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		fw_errf(err, errlen, "listen address must be ADDR:PORT");
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((r = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fw_errf(err, errlen, "listen address %s: %s", listen_on,
		    gai_strerror(r));
		return -1;
	}
	fe->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fe->lfd < 0 ||
	    setsockopt(fe->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 ||
	    bind(fe->lfd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fe->lfd, SOMAXCONN) != 0) {
		fw_errf(err, errlen, "listen on %s: %s", listen_on,
		    strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	len = sizeof(ss);
	if (getsockname(fe->lfd, (struct sockaddr *)&ss, &len) != 0) {
		fw_errf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		fe->port = ntohs(((struct sockaddr_in6 *)(void *)&ss)->
		    sin6_port);
	else
		fe->port = ntohs(((struct sockaddr_in *)(void *)&ss)->
		    sin_port);
	return 0;
}

static int
loop_init(struct fw_front *fe, struct loop *lp, char *err, size_t errlen)
{
	struct epoll_event ev;

	lp->fe = fe;
	lp->ep = -1;
	lp->wakefd = -1;
	list_init(&lp->lru);
	list_init(&lp->handshake);
	list_init(&lp->drain);
	list_init(&lp->waitq);
	list_init(&lp->headwait);
	list_init(&lp->backends);
	list_init(&lp->dead);
	list_init(&lp->granted);
	lp->lep.kind = EP_LISTEN;
	lp->wep.kind = EP_WAKE;
	lp->ep = epoll_create1(EPOLL_CLOEXEC);
	lp->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lp->ep < 0 || lp->wakefd < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = &lp->lep;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fe->lfd, &ev) != 0)
		goto fail;
	ev.events = EPOLLIN | EPOLLET;
	ev.data.ptr = &lp->wep;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->wakefd, &ev) != 0)
		goto fail;
	return 0;
fail:
	fw_errf(err, errlen, "event loop: %s", strerror(errno));
	return -1;
}

static void
loop_close(struct loop *lp)
{
	while (!list_empty(&lp->lru))
		conn_kill(LINK_OWNER(lp->lru.next, struct conn, lru), NULL);
	loop_free_dead(lp);
	if (lp->ep >= 0)
		close(lp->ep);
	if (lp->wakefd >= 0)
		close(lp->wakefd);
	lp->ep = -1;
	lp->wakefd = -1;
}

static int
front_config(struct fw_front *fe, const struct fw_front_config *cfg,
    char *err, size_t errlen)
{
	long ncpu;

	if (cfg->backend_port == 0 || cfg->backend_slots == 0) {
		fw_errf(err, errlen, "front end needs backend_port and "
		    "backend_slots");
		return -1;
	}
	fe->insecure = cfg->insecure_http;
	fe->backend_port = cfg->backend_port;
	fe->max_conn = cfg->max_connections ? cfg->max_connections :
	    FRONT_DEF_MAX_CONN;
	fe->hs_ms = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms :
	    FRONT_DEF_HANDSHAKE_MS;
	fe->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms :
	    FRONT_DEF_IDLE_MS;
	fe->queue_ms = cfg->queue_timeout_ms ? cfg->queue_timeout_ms :
	    FRONT_DEF_QUEUE_MS;
	fe->slots_free = cfg->backend_slots;
	fe->nloops = cfg->threads;
	if (fe->nloops == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		fe->nloops = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (fe->nloops > FRONT_LOOPS_MAX)
		fe->nloops = FRONT_LOOPS_MAX;
	fe->backend_sa.sin_family = AF_INET;
	fe->backend_sa.sin_port = htons(cfg->backend_port);
	fe->backend_sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

int
fw_front_start(const struct fw_front_config *cfg, struct fw_front **out,
    char *err, size_t errlen)
{
	struct fw_front *fe;
	unsigned i;

	*out = NULL;
	if ((fe = calloc(1, sizeof(*fe))) == NULL) {
		fw_errf(err, errlen, "out of memory");
		return -1;
	}
	fe->lfd = -1;
	pthread_mutex_init(&fe->slot_mu, NULL);
	list_init(&fe->waiters);
	if (front_config(fe, cfg, err, errlen) != 0)
		goto fail;
	if (!fe->insecure) {
		if (fw_tls_creds_load(&fe->creds, cfg->cert_file,
		    cfg->key_file, err, errlen) != 0)
			goto fail;
		front_impl_resolve(&fe->impl, fe->creds.key_type);
		if (front_cache_init(&fe->cache) != 0) {
			fw_errf(err, errlen, "out of memory");
			goto fail;
		}
		fe->cache_ok = 1;
	}
	fe->finish_req = calloc(FRONT_PORTS, sizeof(*fe->finish_req));
	fe->in_request = calloc(FRONT_PORTS, sizeof(*fe->in_request));
	if (fe->finish_req == NULL || fe->in_request == NULL ||
	    (fe->peers = fw_peers_new()) == NULL) {
		fw_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (front_listen(fe, cfg->listen, err, errlen) != 0)
		goto fail;
	if ((fe->loops = calloc(fe->nloops, sizeof(*fe->loops))) == NULL) {
		fw_errf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < fe->nloops; i++)
		if (loop_init(fe, &fe->loops[i], err, errlen) != 0)
			goto fail;
	for (i = 0; i < fe->nloops; i++) {
		if (pthread_create(&fe->loops[i].tid, NULL, loop_main,
		    &fe->loops[i]) != 0) {
			fw_errf(err, errlen, "cannot start event loop");
			goto fail;
		}
		fe->loops[i].started = 1;
	}
	fw_log(FW_LOG_INFO, "front: %s on port %u, %u loop(s), %u backend "
	    "slot(s) -> 127.0.0.1:%u", fe->insecure ? "plain HTTP" : "TLS 1.2",
	    fe->port, fe->nloops, cfg->backend_slots,
	    (unsigned)fe->backend_port);
	*out = fe;
	return 0;
fail:
	fw_front_stop(fe);
	return -1;
}

unsigned
fw_front_port(const struct fw_front *fe)
{
	return fe != NULL ? fe->port : 0;
}

int
fw_front_peer(struct fw_front *fe, unsigned backend_port, char *out,
    size_t outlen)
{
	if (fe == NULL)
		return -1;
	return fw_peers_get(fe->peers, backend_port, out, outlen);
}

void
fw_front_finish(struct fw_front *fe, unsigned backend_port)
{
	unsigned i;

	if (fe == NULL || backend_port >= FRONT_PORTS)
		return;
	atomic_store(&fe->finish_req[backend_port], 1);
	/* The owner is not recorded; each loop checks only its backends. */
	for (i = 0; i < fe->nloops; i++)
		front_wake(&fe->loops[i]);
}

void
fw_front_request(struct fw_front *fe, unsigned backend_port, int active)
{
	if (fe == NULL || backend_port >= FRONT_PORTS)
		return;
	atomic_store(&fe->in_request[backend_port], active ? 1 : 0);
}

void
fw_front_stop(struct fw_front *fe)
{
	unsigned i;

	if (fe == NULL)
		return;
	atomic_store(&fe->stop, 1);
	for (i = 0; fe->loops != NULL && i < fe->nloops; i++)
		if (fe->loops[i].started)
			front_wake(&fe->loops[i]);
	for (i = 0; fe->loops != NULL && i < fe->nloops; i++)
		if (fe->loops[i].started)
			pthread_join(fe->loops[i].tid, NULL);
	/* All loops have stopped: their connections can go in any order. */
	for (i = 0; fe->loops != NULL && i < fe->nloops; i++)
		if (fe->loops[i].lru.next != NULL)
			loop_close(&fe->loops[i]);
	free(fe->loops);
	if (fe->lfd >= 0)
		close(fe->lfd);
	fw_peers_free(fe->peers);
	free(fe->finish_req);
	free(fe->in_request);
	if (fe->cache_ok)
		front_cache_free(&fe->cache);
	fw_tls_creds_free(&fe->creds);
	pthread_mutex_destroy(&fe->slot_mu);
	explicit_bzero(fe, sizeof(*fe));
	free(fe);
}
