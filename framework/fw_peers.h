/* SPDX-License-Identifier: MIT */
/*
 * fw_peers.h - backend source port -> real client address.
 *
 * The front end records an entry right after its non-blocking connect()
 * to civetweb and before it writes a byte; it removes the entry before it
 * closes that socket.  civetweb workers look entries up to learn the
 * client behind a loopback connection.  Every function is thread-safe
 * (one lock per stripe of ports).
 */
#ifndef FW_PEERS_H
#define FW_PEERS_H

#include <stddef.h>
#include <sys/socket.h>

struct fw_peers;

/* A new, empty table (about 1.3 MB).  NULL when out of memory. */
struct fw_peers	*fw_peers_new(void);

/* Record (or replace) the client address for a backend source port. */
void	fw_peers_set(struct fw_peers *pt, unsigned port,
	    const struct sockaddr *sa);

/* Forget the entry for port. */
void	fw_peers_clear(struct fw_peers *pt, unsigned port);

/*
 * Write "ip:port" ("[ip6]:port") for port into out.  0 found, -1 when no
 * entry or out is too small.
 */
int	fw_peers_get(struct fw_peers *pt, unsigned port, char *out,
	    size_t outlen);

void	fw_peers_free(struct fw_peers *pt);

#endif /* FW_PEERS_H */
