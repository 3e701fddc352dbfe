/* SPDX-License-Identifier: MIT */
/*
 * fw_front_int.h - what the front end's files share (internal to
 * fw_front.c, fw_front_tls.c and fw_front_plain.c): limits, connection
 * and loop state, and the functions each file offers the others.  A
 * connection is only touched by the loop thread that owns it.
 */
#ifndef FW_FRONT_INT_H
#define FW_FRONT_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <bearssl.h>

#include "fw_front.h"
#include "fw_peers.h"
#include "fw_tls_creds.h"

#define FRONT_LOOPS_MAX		64
#define FRONT_EVENTS		256	/* epoll events per batch */
#define FRONT_ACCEPT_BURST	64	/* accepts per listener event */
#define FRONT_PLAIN_BUF		16384	/* each direction, insecure_http */
#define FRONT_CACHE_ENTRIES	8192	/* session cache; 100 bytes each */
#define FRONT_RELEASE_BUSY_MS	20	/* idle backend, others waiting */
#define FRONT_RELEASE_IDLE_MS	2000	/* idle backend, nobody waiting */
/*
 * A backend slot held by a request whose head civetweb has not finished
 * reading (a client that sends part of a request and stops) is taken
 * back after this long: a slow client cannot pin the workers.
 */
#define FRONT_HEAD_MS		3000
/* A head this long without its end is passed on for civetweb to judge. */
#define FRONT_HEAD_GATE		16384
#define FRONT_DRAIN_MS		1000	/* read-and-discard after close */
/* Enough to swallow the rest of a body refused with 413 (--max-body and
 * more), so the client reads the reply instead of a reset. */
#define FRONT_DRAIN_BYTES	(4 * 1024 * 1024)
#define FRONT_FULL_LOG_MS	1000	/* at most one "full" warning */
#define FRONT_TICK_MAX_MS	1000
#define FRONT_PORTS		65536

/* Defaults for zero fields of the configuration. */
#define FRONT_DEF_MAX_CONN	1024
#define FRONT_DEF_HANDSHAKE_MS	10000
#define FRONT_DEF_IDLE_MS	60000
#define FRONT_DEF_QUEUE_MS	5000



/* ------------------------------------------------------------ lists */

struct link {
	struct link	*prev;
	struct link	*next;
};

#define LINK_OWNER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

static inline void
list_init(struct link *h)
{
	h->prev = h;
	h->next = h;
}

static inline int
list_empty(const struct link *h)
{
	return h->next == h;
}

static inline int
list_linked(const struct link *n)
{
	return n->next != NULL;
}

static inline void
list_add_tail(struct link *h, struct link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void
list_del(struct link *n)
{
	if (!list_linked(n))
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = NULL;
	n->next = NULL;
}

/* Move every element of from to the tail of to; from becomes empty. */
static inline void
list_splice(struct link *to, struct link *from)
{
	if (list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	list_init(from);
}

/* ------------------------------------------------------------ types */

enum ep_kind {
	EP_LISTEN,
	EP_WAKE,
	EP_CLIENT,
	EP_BACKEND
};

struct conn;

/* What an epoll event points at. */
struct endpoint {
	enum ep_kind	 kind;
	struct conn	*conn;
};

enum conn_state {
	CS_HANDSHAKE,	/* TLS handshake running */
	CS_OPEN,	/* relaying */
	CS_CLOSING,	/* flushing what is left, then close_notify */
	CS_DRAIN,	/* write side shut; discarding input briefly */
	CS_DEAD		/* closed; freed at the end of the batch */
};

enum be_state {
	BE_NONE,	/* no backend, no slot */
	BE_WAITING,	/* in the slot queue */
	BE_CONNECTING,	/* slot held, connect() in progress */
	BE_OPEN		/* slot held, connected */
};

/* One direction's buffer in insecure_http mode: data is p[off..off+len). */
struct pbuf {
	unsigned char	*p;
	size_t		 off;
	size_t		 len;
};

struct loop;

struct conn {
	struct loop		*loop;
	struct endpoint		 cep;
	struct endpoint		 bep;
	int			 cfd;
	int			 bfd;
	unsigned		 bport;
	enum conn_state		 state;
	enum be_state		 be;
	unsigned		 c_rd:1, c_wr:1, b_rd:1, b_wr:1;
	unsigned		 c_eof:1, b_shut:1, unanswered:1;
	unsigned		 close_called:1;
	unsigned		 finishing:1;	/* fw_front_finish asked */
	unsigned		 slot_granted:1;	/* under slot_mu */
	unsigned		 got_bytes:1;	/* client sent something */
	unsigned		 head_forced:1;	/* ask for a slot without a head */
	size_t			 drained;
	uint64_t		 t_start;
	uint64_t		 t_active;
	uint64_t		 t_be_io;
	uint64_t		 t_asked;	/* when unanswered was set */
	uint64_t		 t_head;	/* first byte of an unfinished head */
	uint64_t		 t_wait;
	uint64_t		 t_drain;
	struct sockaddr_storage	 peer;
	br_ssl_server_context	*sc;		/* TLS only */
	unsigned char		*iobuf;		/* TLS only */
	struct pbuf		 c2b;		/* plain only */
	struct pbuf		 b2c;		/* plain only */
	struct link		 lru;		/* loop->lru, all live conns */
	struct link		 phase;		/* handshake or drain list */
	struct link		 wait;		/* loop->waitq */
	struct link		 headw;		/* loop->headwait */
	struct link		 gwait;		/* waiters/granted, slot_mu */
	struct link		 be_link;	/* loop->backends */
	struct link		 dead;		/* loop->dead */
};

struct loop {
	struct fw_front	*fe;
	pthread_t	 tid;
	int		 started;
	int		 ep;
	int		 wakefd;
	struct endpoint	 lep;
	struct endpoint	 wep;
	struct link	 lru;
	struct link	 handshake;
	struct link	 drain;
	struct link	 waitq;
	struct link	 headwait;	/* no slot asked until a whole head */
	struct link	 backends;
	struct link	 dead;
	struct link	 granted;	/* under fe->slot_mu */
};

/* Every implementation, resolved once at start. */
struct front_impl {
	const uint16_t			*suites;
	size_t				 nsuites;
	const br_ec_impl		*ec;
	br_ecdsa_sign			 ecdsa;
	br_rsa_private			 rsa_priv;
	br_rsa_pkcs1_sign		 rsa_sign;
	const br_block_ctr_class	*aes_ctr;
	br_ghash			 ghash;
	br_chacha20_run			 chacha;
	br_poly1305_run			 poly;
};

/* BearSSL's LRU cache behind a mutex; the vtable must come first. */
struct front_cache {
	const br_ssl_session_cache_class	*vtable;
	pthread_mutex_t				 mu;
	br_ssl_session_cache_lru		 lru;
	unsigned char				*mem;
	size_t					 memlen;
};

struct fw_front {
	int			 insecure;
	uint16_t		 backend_port;
	unsigned		 max_conn;
	unsigned		 hs_ms;
	unsigned		 idle_ms;
	unsigned		 queue_ms;
	struct fw_tls_creds	 creds;
	struct front_impl	 impl;
	struct front_cache	 cache;
	int			 cache_ok;
	struct fw_peers		*peers;
	int			 lfd;
	unsigned		 port;
	struct sockaddr_in	 backend_sa;
	unsigned		 nloops;
	struct loop		*loops;
	atomic_int		 stop;
	atomic_uint		 nconn;
	atomic_uint		 nwaiting;
	atomic_uint_least64_t	 full_log_ms;
	atomic_uint		 full_dropped;
	atomic_uchar		*finish_req;	/* by backend port */
	atomic_uchar		*in_request;	/* by backend port */
	pthread_mutex_t		 slot_mu;
	unsigned		 slots_free;	/* under slot_mu */
	struct link		 waiters;	/* under slot_mu */
};



/* The whole reply to a client that found no free backend slot. */
extern const char front_busy[];
extern const size_t front_busy_len;

/* Functions shared between the front end's files. */
ssize_t	client_recv(struct conn *c, unsigned char *buf, size_t len, uint64_t now);
ssize_t	client_send(struct conn *c, const unsigned char *buf, size_t len, uint64_t now);
void	conn_drain(struct conn *c);
void	conn_drain_start(struct conn *c, uint64_t now);
void	conn_finish(struct conn *c);
void	conn_kill(struct conn *c, const char *why);
const char *	conn_peer_str(const struct conn *c, char *out, size_t outlen);
void	front_cache_free(struct front_cache *fc);
int	front_cache_init(struct front_cache *fc);
void	front_impl_resolve(struct front_impl *im, int key_type);
int	front_tls_setup(struct fw_front *fe, br_ssl_server_context *sc, unsigned char *iobuf);
void	plain_pump(struct conn *c, uint64_t now);
ssize_t	relay_from_backend(struct conn *c, unsigned char *buf, size_t len, uint64_t now);
ssize_t	relay_to_backend(struct conn *c, const unsigned char *buf, size_t len, uint64_t now);
void	tls_busy(struct conn *c);
void	tls_pump(struct conn *c, uint64_t now);

#endif /* FW_FRONT_INT_H */
