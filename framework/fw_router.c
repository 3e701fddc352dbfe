/* SPDX-License-Identifier: MIT */
/*
 * fw_router.c - exact-path routing and the raw-path check.
 * Built on the controlling thread before start; read-only afterwards.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_router.h"

static int
is_param(const char *seg, size_t len)
{
	return len >= 3 && seg[0] == '{' && seg[len - 1] == '}';
}

/* Length of the segment starting at s (up to '/' or the end). */
static size_t
seg_len(const char *s)
{
	return strcspn(s, "/");
}

static int
pattern_valid(const char *p)
{
	size_t nseg = 0, nparam = 0;

	if (p[0] != '/' || fw_path_check(p) != 0)
		return -1;
	if (strcmp(p, "/") == 0)
		return 0;
	while (*p == '/') {
		size_t n = seg_len(++p);

		if (n == 0 || ++nseg > FW_ROUTE_SEGMENTS_MAX)
			return -1;
		if (is_param(p, n) && ++nparam > FW_ROUTE_PARAMS_MAX)
			return -1;
		p += n;
	}
	return *p == '\0' ? 0 : -1;
}

int
fw_router_add(struct fw_router *r, const char *method, const char *pattern,
    enum fw_role role, fw_handler fn, void *arg)
{
	struct fw_route *rt;
	size_t i;

	if (r->count >= FW_ROUTES_MAX || method == NULL || method[0] == '\0' ||
	    pattern == NULL || pattern_valid(pattern) != 0 || fn == NULL ||
	    (role != FW_ROLE_CLIENT && role != FW_ROLE_ADMIN))
		return -1;
	for (i = 0; i < r->count; i++)
		if (strcmp(r->routes[i].method, method) == 0 &&
		    strcmp(r->routes[i].pattern, pattern) == 0)
			return -1;

	rt = &r->routes[r->count];
	rt->method = strdup(method);
	rt->pattern = strdup(pattern);
	if (rt->method == NULL || rt->pattern == NULL) {
		free(rt->method);
		free(rt->pattern);
		return -1;
	}
	rt->role = role;
	rt->fn = fn;
	rt->arg = arg;
	r->count++;
	return 0;
}

/* Match one pattern against a path; fills params on success. */
static int
pattern_match(const char *pat, const char *path, struct fw_route_params *pp)
{
	pp->count = 0;
	while (*pat == '/' && *path == '/') {
		size_t pn = seg_len(++pat), n = seg_len(++path);

		if (is_param(pat, pn)) {
			if (n == 0 || n > FW_PARAM_MAX)
				return 0;
			pp->name[pp->count] = pat + 1;
			pp->name_len[pp->count] = pn - 2;
			memcpy(pp->value[pp->count], path, n);
			pp->value[pp->count][n] = '\0';
			pp->count++;
		} else if (pn != n || memcmp(pat, path, n) != 0) {
			return 0;
		}
		pat += pn;
		path += n;
	}
	return *pat == '\0' && *path == '\0';
}

int
fw_router_match(const struct fw_router *r, const char *method,
    const char *path, const struct fw_route **out,
    struct fw_route_params *params)
{
	int path_known = 0;
	size_t i;

	for (i = 0; i < r->count; i++) {
		const struct fw_route *rt = &r->routes[i];

		if (!pattern_match(rt->pattern, path, params))
			continue;
		if (strcmp(rt->method, method) == 0) {
			*out = rt;
			return FW_ROUTE_FOUND;
		}
		path_known = 1;
	}
	params->count = 0;
	return path_known ? FW_ROUTE_NO_METHOD : FW_ROUTE_NO_PATH;
}

const char *
fw_route_param(const struct fw_route_params *p, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < p->count; i++)
		if (p->name_len[i] == n && memcmp(p->name[i], name, n) == 0)
			return p->value[i];
	return NULL;
}

void
fw_router_clear(struct fw_router *r)
{
	size_t i;

	for (i = 0; i < r->count; i++) {
		free(r->routes[i].method);
		free(r->routes[i].pattern);
	}
	r->count = 0;
}

/* 1 if seg (len n) is ".", "..", or either with '.' percent-encoded. */
static int
is_dot_segment(const char *seg, size_t n)
{
	size_t i = 0, dots = 0;

	while (i < n) {
		if (seg[i] == '.') {
			i++;
		} else if (n - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' &&
		    (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
			i += 3;
		} else {
			return 0;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

int
fw_path_check(const char *path)
{
	const char *p;

	if (path == NULL || path[0] != '/')
		return -1;
	for (p = path; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x21 || c == 0x7f || c == '\\')
			return -1;
		if (c == '%' && (strncasecmp(p, "%2f", 3) == 0 ||
		    strncasecmp(p, "%5c", 3) == 0 ||
		    strncmp(p, "%00", 3) == 0))
			return -1;
	}
	if (strcmp(path, "/") == 0)
		return 0;
	for (p = path; *p == '/';) {
		size_t n = seg_len(++p);

		/* An empty segment is "//" or a trailing '/'. */
		if ((n == 0 && p[0] != '\0') || is_dot_segment(p, n))
			return -1;
		p += n;
	}
	return 0;
}
