/* SPDX-License-Identifier: MIT */
/*
 * fw_peers.c - the peer table of the front end.
 *
 * A flat array indexed by the 16-bit backend source port, guarded by a
 * small set of striped mutexes.  Entries hold the binary client address;
 * formatting happens on lookup, on the civetweb worker's thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_peers.h"

#define PEERS_PORTS	65536
#define PEERS_STRIPES	64

struct peers_entry {
	uint8_t		used;
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint16_t	port;		/* client port, host order */
	uint8_t		addr[16];
};

struct fw_peers {
	pthread_mutex_t		lock[PEERS_STRIPES];
	struct peers_entry	entry[PEERS_PORTS];
};

struct fw_peers *
fw_peers_new(void)
{
	struct fw_peers *pt;
	size_t i;

	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return NULL;
	for (i = 0; i < PEERS_STRIPES; i++)
		pthread_mutex_init(&pt->lock[i], NULL);
	return pt;
}

void
fw_peers_set(struct fw_peers *pt, unsigned port, const struct sockaddr *sa)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	struct peers_entry e;

	if (port >= PEERS_PORTS)
		return;
	memset(&e, 0, sizeof(e));
	e.used = 1;
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		e.family = AF_INET6;
		e.port = ntohs(s6->sin6_port);
		memcpy(e.addr, &s6->sin6_addr, 16);
	} else {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		e.family = AF_INET;
		e.port = ntohs(s4->sin_port);
		memcpy(e.addr, &s4->sin_addr, 4);
	}
	pthread_mutex_lock(&pt->lock[port % PEERS_STRIPES]);
	pt->entry[port] = e;
	pthread_mutex_unlock(&pt->lock[port % PEERS_STRIPES]);
}

void
fw_peers_clear(struct fw_peers *pt, unsigned port)
{
	if (port >= PEERS_PORTS)
		return;
	pthread_mutex_lock(&pt->lock[port % PEERS_STRIPES]);
	pt->entry[port].used = 0;
	pthread_mutex_unlock(&pt->lock[port % PEERS_STRIPES]);
}

int
fw_peers_get(struct fw_peers *pt, unsigned port, char *out, size_t outlen)
{
	struct peers_entry e;
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (pt == NULL || port >= PEERS_PORTS || outlen == 0)
		return -1;
	pthread_mutex_lock(&pt->lock[port % PEERS_STRIPES]);
	e = pt->entry[port];
	pthread_mutex_unlock(&pt->lock[port % PEERS_STRIPES]);
	if (!e.used || inet_ntop(e.family, e.addr, ip, sizeof(ip)) == NULL)
		return -1;
	if (e.family == AF_INET6)
		n = snprintf(out, outlen, "[%s]:%u", ip, (unsigned)e.port);
	else
		n = snprintf(out, outlen, "%s:%u", ip, (unsigned)e.port);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

void
fw_peers_free(struct fw_peers *pt)
{
	size_t i;

	if (pt == NULL)
		return;
	for (i = 0; i < PEERS_STRIPES; i++)
		pthread_mutex_destroy(&pt->lock[i]);
	free(pt);
}
