/* SPDX-License-Identifier: MIT */
/*
 * app_routes.c - the default routes: the client routes under /api and the
 * key management routes under /admin.  Handlers run on worker threads;
 * JSON is built and parsed with jansson.  A secret appears only in the body
 * of the reply that created it and is wiped from memory right after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "db.h"

struct routes_ctx {
	struct db	*db;
	int64_t		 max_grace;
	int64_t		 default_grace;
};

static struct routes_ctx routes_ctx;

/* Reply with a JSON object and free it. */
static void
reply_obj(struct fw_request *req, int status, json_t *obj)
{
	char *text;

	if (obj == NULL || (text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		json_decref(obj);
		fw_reply_error(req, 500, "internal");
		return;
	}
	fw_reply_json(req, status, text);
	fw_wipe(text, strlen(text));
	free(text);
	json_decref(obj);
}

/*
 * 1 if arrays and objects in the JSON text nest at most `max` deep and
 * it holds at most APP_JSON_VALUES_MAX values.  jansson recurses once per
 * level when it parses, dumps and frees, and a worker thread's stack is
 * small, so deep input must not reach it; and each value costs a tree
 * node, so a 1 MiB body of "[{},{},...]" would cost far more than 1 MiB.
 */
static int
json_shape_ok(const char *p, size_t len, unsigned max)
{
	unsigned depth = 0;
	size_t i, values = 1;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"') {
			in_string = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return 0;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
			depth--;
		} else if (p[i] == ',' && ++values > APP_JSON_VALUES_MAX) {
			return 0;
		}
	}
	return 1;
}

/* Parse the body as JSON; NULL (after replying 400) when it is not. */
static json_t *
body_json(struct fw_request *req, int allow_empty, size_t flags)
{
	json_error_t jerr;
	const void *body;
	size_t len;
	json_t *v;

	body = fw_req_body(req, &len);
	if (len == 0 && allow_empty)
		return json_object();
	if (!json_shape_ok(body, len, APP_JSON_DEPTH_MAX)) {
		fw_reply_error(req, 400, "invalid_json");
		return NULL;
	}
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    flags, &jerr);
	if (v == NULL)
		fw_reply_error(req, 400, "invalid_json");
	return v;
}

static void
api_data(struct fw_request *req, void *arg)
{
	json_t *in;

	(void)arg;
	/* The echo takes any JSON text, NUL characters included. */
	if ((in = body_json(req, 0, JSON_ALLOW_NUL)) == NULL)
		return;
	reply_obj(req, 200, json_pack("{s:s, s:o}", "status", "ok",
	    "received", in));
}

static void
api_whoami(struct fw_request *req, void *arg)
{
	(void)arg;
	reply_obj(req, 200, json_pack("{s:s, s:I, s:s}",
	    "key_id", fw_req_key_id(req),
	    "version", (json_int_t)fw_req_key_version(req),
	    "role", fw_role_name(fw_req_role(req))));
}

static void
api_health(struct fw_request *req, void *arg)
{
	(void)arg;
	reply_obj(req, 200, json_pack("{s:s, s:s}", "status", "ok",
	    "version", FW_VERSION));
}

/* ------------------------------------------------------------ admin */

static void
audit(struct fw_request *req, const char *action, const char *target)
{
	if (db_audit(routes_ctx.db, (int64_t)time(NULL), fw_req_key_id(req),
	    action, target, fw_req_id(req)) != DB_OK)
		fw_log(FW_LOG_ERROR, "request %s: audit write failed",
		    fw_req_id(req));
	fw_log(FW_LOG_INFO, "audit id=%s admin=%s action=%s target=%s",
	    fw_req_id(req), fw_req_key_id(req), action, target);
}

/* Map a db status to a reply; 0 when it was DB_OK. */
static int
db_failed(struct fw_request *req, int rc)
{
	switch (rc) {
	case DB_OK:
		return 0;
	case DB_NOT_FOUND:
		fw_reply_error(req, 404, "not_found");
		break;
	case DB_EXISTS:
		fw_reply_error(req, 409, "exists");
		break;
	case DB_REVOKED:
		fw_reply_error(req, 409, "revoked");
		break;
	case DB_INVALID:
		fw_reply_error(req, 400, "bad_request");
		break;
	default:
		fw_log(FW_LOG_ERROR, "request %s: store: %s", fw_req_id(req),
		    db_strerror(rc));
		fw_reply_error(req, 503, "unavailable");
		break;
	}
	return -1;
}

static void
admin_key_create(struct fw_request *req, void *arg)
{
	char secret[FW_SECRET_B64 + 1];
	const char *id, *rolename = "client";
	json_t *in, *v;
	enum fw_role role;
	int rc;

	(void)arg;
	if ((in = body_json(req, 0, 0)) == NULL)
		return;
	id = json_string_value(json_object_get(in, "key_id"));
	if ((v = json_object_get(in, "role")) != NULL)
		rolename = json_string_value(v);
	role = fw_role_parse(rolename);
	if (!json_is_object(in) || id == NULL || fw_parse_key_id(id) != 0 ||
	    role == FW_ROLE_NONE || json_object_size(in) >
	    (size_t)(v != NULL ? 2 : 1)) {
		json_decref(in);
		fw_reply_error(req, 400, "bad_request");
		return;
	}
	rc = db_key_create(routes_ctx.db, id, role, (int64_t)time(NULL),
	    secret);
	if (db_failed(req, rc) == 0) {
		audit(req, "key.create", id);
		reply_obj(req, 201, json_pack("{s:s, s:s, s:i, s:s}",
		    "key_id", id, "role", fw_role_name(role), "version", 1,
		    "secret", secret));
	}
	fw_wipe(secret, sizeof(secret));
	json_decref(in);
}

/* grace_seconds from the body: 0 ok, -1 after replying 400. */
static int
rotate_grace(struct fw_request *req, json_t *in, int64_t *grace)
{
	json_t *g = json_object_get(in, "grace_seconds");

	*grace = routes_ctx.default_grace;
	if (!json_is_object(in) || json_object_size(in) > (g ? 1u : 0u))
		goto bad;
	if (g == NULL)
		return 0;
	if (!json_is_integer(g) || json_integer_value(g) < 0 ||
	    json_integer_value(g) > routes_ctx.max_grace)
		goto bad;
	*grace = json_integer_value(g);
	return 0;
bad:
	fw_reply_error(req, 400, "bad_request");
	return -1;
}

static void
admin_key_rotate(struct fw_request *req, void *arg)
{
	char secret[FW_SECRET_B64 + 1];
	const char *id = fw_req_param(req, "id");
	int64_t grace, until;
	uint32_t version;
	json_t *in;
	int rc;

	(void)arg;
	if ((in = body_json(req, 1, 0)) == NULL)
		return;
	if (rotate_grace(req, in, &grace) != 0) {
		json_decref(in);
		return;
	}
	json_decref(in);
	if (fw_parse_key_id(id) != 0) {
		fw_reply_error(req, 404, "not_found");
		return;
	}
	rc = db_key_rotate(routes_ctx.db, id, grace, (int64_t)time(NULL),
	    &version, &until, secret);
	if (db_failed(req, rc) == 0) {
		audit(req, "key.rotate", id);
		reply_obj(req, 200, json_pack("{s:s, s:I, s:s, s:I}",
		    "key_id", id, "version", (json_int_t)version,
		    "secret", secret, "previous_valid_until",
		    (json_int_t)until));
	}
	fw_wipe(secret, sizeof(secret));
}

static void
revoke(struct fw_request *req, const char *id, uint32_t version)
{
	char target[FW_KEY_ID_MAX + 16];

	if (fw_parse_key_id(id) != 0) {
		fw_reply_error(req, 404, "not_found");
		return;
	}
	if (db_failed(req, db_key_revoke(routes_ctx.db, id, version,
	    (int64_t)time(NULL))) != 0)
		return;
	if (version > 0)
		snprintf(target, sizeof(target), "%s/v%u", id, version);
	else
		snprintf(target, sizeof(target), "%s", id);
	audit(req, "key.revoke", target);
	if (version > 0)
		reply_obj(req, 200, json_pack("{s:s, s:s, s:I}", "status",
		    "revoked", "key_id", id, "version", (json_int_t)version));
	else
		reply_obj(req, 200, json_pack("{s:s, s:s, s:s}", "status",
		    "revoked", "key_id", id, "versions", "all"));
}

static void
admin_key_revoke_all(struct fw_request *req, void *arg)
{
	(void)arg;
	revoke(req, fw_req_param(req, "id"), 0);
}

static void
admin_key_revoke_version(struct fw_request *req, void *arg)
{
	uint32_t v;

	(void)arg;
	if (fw_parse_key_version(fw_req_param(req, "v"), &v) != 0) {
		fw_reply_error(req, 404, "not_found");
		return;
	}
	revoke(req, fw_req_param(req, "id"), v);
}

/* Optional integer: 0 written as JSON null. */
static json_t *
time_or_null(int64_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static void
list_row(const struct db_key_info *r, void *arg)
{
	json_t *keys = arg, *key = json_object_get(keys, r->key_id);

	if (key == NULL) {
		key = json_pack("{s:s, s:s, s:[]}", "key_id", r->key_id,
		    "role", fw_role_name(r->role), "versions");
		json_object_set_new(keys, r->key_id, key);
	}
	json_array_append_new(json_object_get(key, "versions"),
	    json_pack("{s:I, s:s, s:o, s:o, s:o}",
	    "version", (json_int_t)r->version, "state", r->state,
	    "created_at", time_or_null(r->created_at),
	    "valid_until", time_or_null(r->valid_until),
	    "last_used_at", time_or_null(r->last_used_at)));
}

static void
admin_key_list(struct fw_request *req, void *arg)
{
	json_t *byid = json_object(), *list = json_array(), *v;
	const char *k;

	(void)arg;
	if (db_failed(req, db_key_list(routes_ctx.db, (int64_t)time(NULL),
	    list_row, byid)) != 0) {
		json_decref(byid);
		json_decref(list);
		return;
	}
	json_object_foreach(byid, k, v)
		json_array_append(list, v);
	json_decref(byid);
	reply_obj(req, 200, json_pack("{s:o}", "keys", list));
}

static void
audit_row(const struct db_audit_row *r, void *arg)
{
	json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:s, s:s}",
	    "time", (json_int_t)r->time, "admin_key_id", r->admin_key_id,
	    "action", r->action, "target", r->target,
	    "request_id", r->request_id));
}

static void
admin_audit(struct fw_request *req, void *arg)
{
	json_t *list = json_array();

	(void)arg;
	if (db_failed(req, db_audit_list(routes_ctx.db, 100, audit_row,
	    list)) != 0) {
		json_decref(list);
		return;
	}
	reply_obj(req, 200, json_pack("{s:o}", "entries", list));
}

static const struct {
	const char	*method;
	const char	*pattern;
	enum fw_role	 role;
	fw_handler	 fn;
} routes[] = {
	{ "POST", "/api/data", FW_ROLE_CLIENT, api_data },
	{ "GET", "/api/whoami", FW_ROLE_CLIENT, api_whoami },
	{ "GET", "/api/health", FW_ROLE_CLIENT, api_health },
	{ "POST", "/admin/keys", FW_ROLE_ADMIN, admin_key_create },
	{ "GET", "/admin/keys", FW_ROLE_ADMIN, admin_key_list },
	{ "POST", "/admin/keys/{id}/rotate", FW_ROLE_ADMIN, admin_key_rotate },
	{ "DELETE", "/admin/keys/{id}", FW_ROLE_ADMIN, admin_key_revoke_all },
	{ "DELETE", "/admin/keys/{id}/versions/{v}", FW_ROLE_ADMIN,
	    admin_key_revoke_version },
	{ "GET", "/admin/audit", FW_ROLE_ADMIN, admin_audit },
};

int
app_routes_register(struct fw_server *srv, struct db *db, int64_t max_grace,
    int64_t default_grace)
{
	size_t i;

	routes_ctx.db = db;
	routes_ctx.max_grace = max_grace;
	routes_ctx.default_grace = default_grace;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (fw_route(srv, routes[i].method, routes[i].pattern,
		    routes[i].role, routes[i].fn, NULL) != 0)
			return -1;
	return 0;
}
