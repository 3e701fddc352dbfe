/* SPDX-License-Identifier: MIT */
/*
 * test_router.c - exact routing, parameters, the raw-path check, and the
 * guard against a fake in-memory store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver.h"
#include "fw_guard.h"
#include "fw_router.h"
#include "unit.h"

static void
dummy(struct fw_request *req, void *arg)
{
	(void)req;
	(void)arg;
}

static void
test_router_exact(void)
{
	struct fw_router r;
	struct fw_route_params p;
	const struct fw_route *rt = NULL;

	memset(&r, 0, sizeof(r));
	UNIT_ASSERT(fw_router_add(&r, "GET", "/api/whoami", FW_ROLE_CLIENT,
	    dummy, NULL) == 0);
	UNIT_ASSERT(fw_router_add(&r, "GET", "/api/whoami", FW_ROLE_CLIENT,
	    dummy, NULL) != 0);			/* duplicate */
	UNIT_ASSERT(fw_router_add(&r, "GET", "api", FW_ROLE_CLIENT, dummy,
	    NULL) != 0);			/* not absolute */
	UNIT_ASSERT(fw_router_add(&r, "GET", "/a//b", FW_ROLE_CLIENT, dummy,
	    NULL) != 0);
	UNIT_ASSERT(fw_router_add(&r, "GET", "/x", FW_ROLE_NONE, dummy,
	    NULL) != 0);			/* no unguarded routes */

	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "GET", "/api/whoami", &rt,
	    &p), FW_ROUTE_FOUND);
	UNIT_ASSERT(rt != NULL && rt->fn == dummy);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "POST", "/api/whoami", &rt,
	    &p), FW_ROUTE_NO_METHOD);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "get", "/api/whoami", &rt,
	    &p), FW_ROUTE_NO_METHOD);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "GET", "/API/whoami", &rt,
	    &p), FW_ROUTE_NO_PATH);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "GET", "/api/whoamix", &rt,
	    &p), FW_ROUTE_NO_PATH);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "GET", "/api/whoami/", &rt,
	    &p), FW_ROUTE_NO_PATH);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "GET", "/api", &rt, &p),
	    FW_ROUTE_NO_PATH);
	fw_router_clear(&r);
}

static void
test_router_params(void)
{
	struct fw_router r;
	struct fw_route_params p;
	const struct fw_route *rt = NULL;

	memset(&r, 0, sizeof(r));
	UNIT_ASSERT(fw_router_add(&r, "DELETE", "/admin/keys/{id}",
	    FW_ROLE_ADMIN, dummy, NULL) == 0);
	UNIT_ASSERT(fw_router_add(&r, "DELETE",
	    "/admin/keys/{id}/versions/{v}", FW_ROLE_ADMIN, dummy, NULL) == 0);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "DELETE",
	    "/admin/keys/edge-7/versions/3", &rt, &p), FW_ROUTE_FOUND);
	UNIT_ASSERT_STR_EQ(fw_route_param(&p, "id"), "edge-7");
	UNIT_ASSERT_STR_EQ(fw_route_param(&p, "v"), "3");
	UNIT_ASSERT(fw_route_param(&p, "nope") == NULL);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "DELETE", "/admin/keys/a",
	    &rt, &p), FW_ROUTE_FOUND);
	UNIT_ASSERT_STR_EQ(fw_route_param(&p, "id"), "a");
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "DELETE", "/admin/keys/",
	    &rt, &p), FW_ROUTE_NO_PATH);
	UNIT_ASSERT_EQ_INT(fw_router_match(&r, "DELETE",
	    "/admin/keys/a/b", &rt, &p), FW_ROUTE_NO_PATH);
	fw_router_clear(&r);
}

static void
test_path_check(void)
{
	static const char *const good[] = {
		"/", "/api/whoami", "/api/files/r%C3%A9sum%C3%A9.txt",
		"/a/.b", "/a/..b", "/a/b.", "/a/...", "/api/whoami/",
		"/%2e%2e%2e"
	};
	static const char *const bad[] = {
		"", "api", "/a/../b", "/a/./b", "/..", "/.", "/a//b",
		"//a", "/a%2Fb", "/a%2fb", "/a/%2e%2e/b", "/a/%2E/b",
		"/a/.%2e/b", "/a\\b", "/a%5cb", "/a%00b", "/a b",
		"/a\x01" "b", "/a\x7f"
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (fw_path_check(good[i]) != 0)
			fprintf(stderr, "  good path refused: %s\n", good[i]);
		UNIT_ASSERT(fw_path_check(good[i]) == 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fw_path_check(bad[i]) == 0)
			fprintf(stderr, "  bad path taken: %s\n", bad[i]);
		UNIT_ASSERT(fw_path_check(bad[i]) != 0);
	}
}

/* ---- the guard against a fake store ---- */

#define FAKE_SECRET "q1V9wH6ZtM3cX0pL8aN5rJ2yB7kD4fG-sE_uT0oIiWw"

struct fake_store {
	int	nonces_recorded;
	char	last_nonce[FW_NONCE_MAX + 1];
	int	fail_nonce;
};

static int
fake_key_get(void *ctx, const char *key_id, uint32_t version, int64_t now,
    struct fw_key *out)
{
	(void)ctx;
	(void)now;
	if (strcmp(key_id, "edge-7") != 0 || version != 1)
		return FW_STORE_NOT_FOUND;
	snprintf(out->key_id, sizeof(out->key_id), "%s", key_id);
	out->version = version;
	out->role = FW_ROLE_CLIENT;
	out->secret_len = strlen(FAKE_SECRET);
	memcpy(out->secret, FAKE_SECRET, out->secret_len);
	return FW_STORE_OK;
}

static int
fake_nonce_record(void *ctx, const char *key_id, const char *nonce,
    int64_t ts)
{
	struct fake_store *fs = ctx;

	(void)key_id;
	(void)ts;
	if (fs->fail_nonce)
		return FW_STORE_ERROR;
	if (strcmp(fs->last_nonce, nonce) == 0)
		return FW_STORE_DUPLICATE;
	snprintf(fs->last_nonce, sizeof(fs->last_nonce), "%s", nonce);
	fs->nonces_recorded++;
	return FW_STORE_OK;
}

/* The second shared vector: a POST with a JSON body. */
static void
vector_input(struct fw_guard_input *in)
{
	static const char body[] = "{\"temp\":21.5,\"unit\":\"C\"}";

	memset(in, 0, sizeof(*in));
	in->method = "POST";
	in->host = "127.0.0.1:8443";
	in->path = "/api/data";
	in->query = "";
	in->content_type = "application/json";
	in->key_id = "edge-7";
	in->key_version = "1";
	in->timestamp = "1764806401";
	in->nonce = "n0nce-BBBBBBBBBBBB";
	in->signature = "cbf53ab21b34ffe96eb535b49f53ba19"
	    "36c18ea03cefce50387f070ede49b2fe";
	in->body = body;
	in->body_len = sizeof(body) - 1;
	in->now = 1764806401;
}

static void
test_guard_decisions(void)
{
	struct fake_store fs;
	struct fw_store store = { &fs, fake_key_get, fake_nonce_record,
	    NULL };
	struct fw_guard_result res;
	struct fw_guard_input in;

	memset(&fs, 0, sizeof(fs));
	vector_input(&in);

	/* Bad inputs are refused before the nonce is recorded. */
	in.signature = "cbf53ab21b34ffe96eb535b49f53ba19"
	    "36c18ea03cefce50387f070ede49b2ff";
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_DENY);
	UNIT_ASSERT_STR_EQ(res.reason, "signature mismatch");
	vector_input(&in);
	in.now += 301;
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_DENY);
	UNIT_ASSERT_STR_EQ(res.reason, "timestamp outside window");
	in.now -= 602;
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_DENY);
	vector_input(&in);
	in.key_version = "2";
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_DENY);
	vector_input(&in);
	in.nonce = NULL;
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_DENY);
	UNIT_ASSERT_STR_EQ(res.reason, "missing signing header");
	UNIT_ASSERT_EQ_INT(fs.nonces_recorded, 0);

	/* At the edge of the window (300 s), the vector passes once. */
	vector_input(&in);
	in.now += 300;
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 1, &res),
	    FW_GUARD_OK);
	UNIT_ASSERT_EQ_INT(fs.nonces_recorded, 1);
	UNIT_ASSERT_STR_EQ(res.key_id, "edge-7");
	UNIT_ASSERT_EQ_INT(res.role, FW_ROLE_CLIENT);
	UNIT_ASSERT(res.canonical != NULL);
	free(res.canonical);
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_DENY);
	UNIT_ASSERT_STR_EQ(res.reason, "nonce already used");

	/* A failing store is "unavailable", not "unauthorized". */
	fs.fail_nonce = 1;
	fs.last_nonce[0] = '\0';
	UNIT_ASSERT_EQ_INT(fw_guard_check(&store, 300, &in, 0, &res),
	    FW_GUARD_UNAVAILABLE);
}

const struct unit_test router_tests[] = {
	{ "router_exact", test_router_exact },
	{ "router_params", test_router_params },
	{ "path_check", test_path_check },
	{ "guard_decisions", test_guard_decisions },
	{ NULL, NULL }
};
