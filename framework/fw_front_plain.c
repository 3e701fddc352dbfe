/* SPDX-License-Identifier: MIT */
/*
 * fw_front_plain.c - the front end's plain relay (--insecure-http): the
 * same connection life cycle as TLS, with two byte buffers instead of a
 * BearSSL engine.  Runs on the loop thread that owns the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bearssl.h>

#include "apiserver.h"
#include "fw_front_int.h"

/* -------------------------------------------------------- plain pump */

static void
pbuf_compact(struct pbuf *b)
{
	if (b->off > 0 && b->len > 0)
		memmove(b->p, b->p + b->off, b->len);
	b->off = 0;
}

static int
plain_client_in(struct conn *c, uint64_t now)
{
	struct pbuf *b = &c->c2b;
	ssize_t n;

	if (c->state != CS_OPEN || !c->c_rd || c->c_eof ||
	    b->off + b->len >= FRONT_PLAIN_BUF)
		return 0;
	n = client_recv(c, b->p + b->off + b->len,
	    FRONT_PLAIN_BUF - b->off - b->len, now);
	if (n == -2) {
		c->c_eof = 1;
		return 1;
	}
	if (n <= 0)
		return n < 0 ? -1 : 0;
	b->len += (size_t)n;
	return 1;
}

static int
plain_to_backend(struct conn *c, uint64_t now)
{
	struct pbuf *b = &c->c2b;
	ssize_t n;

	if (c->state != CS_OPEN || b->len == 0)
		return 0;
	if ((n = relay_to_backend(c, b->p + b->off, b->len, now)) <= 0)
		return n < 0 ? -1 : 0;
	b->off += (size_t)n;
	b->len -= (size_t)n;
	if (b->len == 0)
		b->off = 0;
	return 1;
}

/* The client shut its write side: pass that on once all is sent. */
static int
plain_client_eof(struct conn *c, uint64_t now)
{
	if (c->state != CS_OPEN || !c->c_eof || c->c2b.len > 0)
		return 0;
	if (c->be == BE_OPEN && !c->b_shut) {
		shutdown(c->bfd, SHUT_WR);
		c->b_shut = 1;
		return 1;
	}
	if (c->be == BE_NONE) {
		conn_finish(c);
		(void)now;
		return 1;
	}
	return 0;
}

static int
plain_from_backend(struct conn *c, uint64_t now)
{
	struct pbuf *b = &c->b2c;
	ssize_t n;

	if (c->state != CS_OPEN || c->be != BE_OPEN || !c->b_rd)
		return 0;
	if (b->len == 0)
		b->off = 0;
	else if (b->off + b->len >= FRONT_PLAIN_BUF)
		pbuf_compact(b);
	if (b->off + b->len >= FRONT_PLAIN_BUF)
		return 0;
	n = relay_from_backend(c, b->p + b->off + b->len,
	    FRONT_PLAIN_BUF - b->off - b->len, now);
	if (n < 0)
		return 1;
	b->len += (size_t)n;
	return n > 0;
}

static int
plain_client_out(struct conn *c, uint64_t now)
{
	struct pbuf *b = &c->b2c;
	ssize_t n;

	if (b->len == 0 || !c->c_wr)
		return 0;
	if ((n = client_send(c, b->p + b->off, b->len, now)) <= 0)
		return n < 0 ? -1 : 0;
	b->off += (size_t)n;
	b->len -= (size_t)n;
	return 1;
}

void
plain_pump(struct conn *c, uint64_t now)
{
	int moved, r;

	do {
		if (c->state == CS_DEAD)
			return;
		if (c->state == CS_DRAIN) {
			conn_drain(c);
			return;
		}
		moved = 0;
		if (c->c2b.len == 0)
			c->c2b.off = 0;
		if ((r = plain_client_in(c, now)) < 0)
			return;
		moved |= r;
		if ((r = plain_to_backend(c, now)) < 0)
			return;
		moved |= r;
		moved |= plain_client_eof(c, now);
		moved |= plain_from_backend(c, now);
		if ((r = plain_client_out(c, now)) < 0)
			return;
		moved |= r;
		if (c->state == CS_CLOSING && c->b2c.len == 0) {
			conn_drain_start(c, now);
			moved = 1;
		}
	} while (moved);
}

