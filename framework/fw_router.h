/* SPDX-License-Identifier: MIT */
/*
 * fw_router.h - exact-path routing (internal to framework/).
 *
 * Paths are matched segment by segment, case-sensitively, on the raw path
 * as signed.  A "{name}" segment matches any one non-empty segment.  The
 * table is built before the server starts and only read afterwards, so
 * lookups need no lock.
 */
#ifndef FW_ROUTER_H
#define FW_ROUTER_H

#include <stddef.h>

#include "apiserver.h"

#define FW_ROUTES_MAX		64
#define FW_ROUTE_PARAMS_MAX	4
#define FW_ROUTE_SEGMENTS_MAX	16
#define FW_PARAM_MAX		128	/* bytes of one captured segment */

struct fw_route {
	char		*method;
	char		*pattern;
	enum fw_role	 role;
	fw_handler	 fn;
	void		*arg;
};

struct fw_router {
	struct fw_route	routes[FW_ROUTES_MAX];
	size_t		count;
};

struct fw_route_params {
	size_t		count;
	const char	*name[FW_ROUTE_PARAMS_MAX];	/* into the pattern */
	size_t		 name_len[FW_ROUTE_PARAMS_MAX];
	char		 value[FW_ROUTE_PARAMS_MAX][FW_PARAM_MAX + 1];
};

enum fw_route_status {
	FW_ROUTE_FOUND = 0,
	FW_ROUTE_NO_PATH = -1,		/* 404 */
	FW_ROUTE_NO_METHOD = -2		/* 405: path known, method not */
};

/* 0 ok; -1 on a bad pattern, a duplicate, or a full table. */
int	fw_router_add(struct fw_router *r, const char *method,
	    const char *pattern, enum fw_role role, fw_handler fn, void *arg);

/* Find the route for method and raw path; fills *out and *params. */
int	fw_router_match(const struct fw_router *r, const char *method,
	    const char *path, const struct fw_route **out,
	    struct fw_route_params *params);

/* A captured parameter by name, or NULL. */
const char *fw_route_param(const struct fw_route_params *p, const char *name);

/* Free the table's strings. */
void	fw_router_clear(struct fw_router *r);

/*
 * 0 if a raw request path is one the router can take as is: it starts
 * with '/', and has no empty, "." or ".." segment (also percent-encoded),
 * no encoded '/', '\\' or NUL, no raw '\\', and no control bytes.
 */
int	fw_path_check(const char *path);

#endif /* FW_ROUTER_H */
