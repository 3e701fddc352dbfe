/* SPDX-License-Identifier: MIT */
/*
 * test_db.c - unit tests of the sqlite key and nonce stores.  Every test
 * works in its own fresh directory under /tmp and removes it at the end.
 * Times are explicit `now` values except for nonces, whose window is
 * checked against the real clock by the writer.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "apiserver.h"
#include "db.h"
#include "db_int.h"
#include "unit.h"

#define T_WINDOW	300
#define T_THREADS	8
#define T_PER_THREAD	200
#define T_KILL_MAX	5000	/* nonces the killed child may record */
#define T_KILL_AFTER	200	/* acknowledged nonces before the kill */

struct fx {
	char		 dir[64];
	char		 path[96];
	struct db	*db;
};

static const uint8_t t_master[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};
static const uint8_t t_other[32] = { 9 };

static int
fx_open_window(struct fx *f, const uint8_t *master, int writer,
    unsigned window, char *err, size_t errlen)
{
	struct db_options o;

	memset(&o, 0, sizeof(o));
	o.path = f->path;
	o.master_key = master;
	o.synchronous_full = 1;
	o.window = window;
	o.start_writer = writer;
	return db_open(&o, &f->db, err, errlen);
}

static int
fx_open_key(struct fx *f, const uint8_t *master, int writer, char *err,
    size_t errlen)
{
	return fx_open_window(f, master, writer, T_WINDOW, err, errlen);
}

static void
fx_init(struct fx *f, int writer)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_db.XXXXXX");
	UNIT_ASSERT(mkdtemp(f->dir) != NULL);
	snprintf(f->path, sizeof(f->path), "%s/apiserver.db", f->dir);
	UNIT_ASSERT_EQ_INT(fx_open_key(f, t_master, writer, err,
	    sizeof(err)), DB_OK);
}

static void
fx_unlink(const struct fx *f, const char *suffix)
{
	char p[128];

	snprintf(p, sizeof(p), "%s%s", f->path, suffix);
	unlink(p);
}

static void
fx_done(struct fx *f)
{
	db_close(f->db);
	f->db = NULL;
	fx_unlink(f, "");
	fx_unlink(f, "-wal");
	fx_unlink(f, "-shm");
	rmdir(f->dir);
}

/* Read a whole file (malloc'd, caller frees); NULL if missing. */
static uint8_t *
t_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, fp);
	}
	fclose(fp);
	return buf;
}

static int
t_contains(const uint8_t *hay, size_t len, const void *needle, size_t nlen)
{
	return hay != NULL && memmem(hay, len, needle, nlen) != NULL;
}

static int64_t
t_now(void)
{
	return (int64_t)time(NULL);
}

/* Run one statement on the file behind the library's back. */
static int
t_sql(const char *path, const char *sql)
{
	sqlite3 *c = NULL;
	int rc;

	if (sqlite3_open(path, &c) != SQLITE_OK) {
		sqlite3_close(c);
		return -1;
	}
	rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
	sqlite3_close(c);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The one integer sql yields on the file, or -1. */
static int64_t
t_sql_int(const char *path, const char *sql)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(c, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(c);
	return v;
}

/* ------------------------------------------------------------ keys */

static void
test_db_create_key(void)
{
	struct fx f;
	struct fw_key k;
	char secret[FW_SECRET_B64 + 1], again[FW_SECRET_B64 + 1];
	long n = -1;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 0);

	/* Negative cases first. */
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "", FW_ROLE_CLIENT, 1000,
	    secret), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "bad id", FW_ROLE_CLIENT, 1000,
	    secret), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "x", FW_ROLE_NONE, 1000,
	    secret), DB_INVALID);
	/* Ids of dots only could never be named in an admin path. */
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, ".", FW_ROLE_CLIENT, 1000,
	    secret), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "..", FW_ROLE_ADMIN, 1000,
	    secret), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "....", FW_ROLE_CLIENT, 1000,
	    secret), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_key_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 0);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "alice", 1, 1000, &k),
	    DB_NOT_FOUND);

	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "alice", FW_ROLE_CLIENT, 1000,
	    secret), DB_OK);
	UNIT_ASSERT_EQ_INT(strlen(secret), FW_SECRET_B64);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "alice", FW_ROLE_ADMIN, 1001,
	    again), DB_EXISTS);
	UNIT_ASSERT_EQ_INT(db_key_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 1);

	memset(&k, 0, sizeof(k));
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "alice", 1, 1000, &k), DB_OK);
	UNIT_ASSERT_STR_EQ(k.key_id, "alice");
	UNIT_ASSERT_EQ_INT(k.version, 1);
	UNIT_ASSERT_EQ_INT(k.role, FW_ROLE_CLIENT);
	UNIT_ASSERT_EQ_INT(k.secret_len, FW_SECRET_B64);
	UNIT_ASSERT(memcmp(k.secret, secret, FW_SECRET_B64) == 0);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "alice", 2, 1000, &k),
	    DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "alice", 0, 1000, &k),
	    DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "bob", 1, 1000, &k),
	    DB_NOT_FOUND);

	/* Dots next to other characters are fine. */
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, ".a", FW_ROLE_CLIENT, 1000,
	    again), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "a..b", FW_ROLE_CLIENT, 1000,
	    again), DB_OK);
	fw_wipe(again, sizeof(again));
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

static void
test_db_rotate_grace(void)
{
	struct fx f;
	struct fw_key k;
	char s1[FW_SECRET_B64 + 1], s2[FW_SECRET_B64 + 1];
	char s3[FW_SECRET_B64 + 1];
	uint32_t v = 0;
	int64_t until = 0;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "nobody", 10, 1000, &v, &until,
	    s2), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "k", FW_ROLE_ADMIN, 1000, s1),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "k", 100, 2000, &v, &until,
	    s2), DB_OK);
	UNIT_ASSERT_EQ_INT(v, 2);
	UNIT_ASSERT_EQ_INT(until, 2100);
	UNIT_ASSERT(strcmp(s1, s2) != 0);

	/* The old version works until the end of grace, not at it. */
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 1, 2099, &k), DB_OK);
	UNIT_ASSERT(memcmp(k.secret, s1, FW_SECRET_B64) == 0);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 1, 2100, &k), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 2, 2100, &k), DB_OK);
	UNIT_ASSERT(memcmp(k.secret, s2, FW_SECRET_B64) == 0);
	UNIT_ASSERT_EQ_INT(k.role, FW_ROLE_ADMIN);

	/* A longer grace never extends an earlier end; grace 0 ends now. */
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "k", 0, 2050, &v, &until, s3),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(v, 3);
	UNIT_ASSERT_EQ_INT(until, 2050);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 1, 2049, &k), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 1, 2050, &k), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 2, 2050, &k), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 3, 9999999, &k), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "k", 5000, 3000, &v, &until,
	    s3), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 1, 2049, &k), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 2, 3000, &k), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 3, 7999, &k), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "k", 3, 8000, &k), DB_NOT_FOUND);
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

static void
test_db_revoke(void)
{
	struct fx f;
	struct fw_key k;
	char s[FW_SECRET_B64 + 1];
	uint32_t v;
	int64_t until;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "nobody", 0, 1000),
	    DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "r", FW_ROLE_CLIENT, 1000, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "r", 1000, 1000, &v, &until,
	    s), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "r", 3, 1100), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "r", 2, 1100), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "r", 2, 1100, &k), DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "r", 1, 1100, &k), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "r", 0, 1200), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "r", 1, 1200, &k), DB_NOT_FOUND);
	/* Revoking again is not an error and keeps the first time. */
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "r", 1, 1300), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "r", 0, 1400), DB_OK);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "SELECT revoked_at FROM "
	    "key_versions WHERE key_id = 'r' AND version = 1"), 1200);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "SELECT revoked_at FROM "
	    "key_versions WHERE key_id = 'r' AND version = 2"), 1100);
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

/* A key whose every version is revoked is not revived by a rotation. */
static void
test_db_rotate_revoked(void)
{
	struct fx f;
	struct fw_key k;
	char s[FW_SECRET_B64 + 1];
	uint32_t v = 0;
	int64_t until = 0;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "gone", FW_ROLE_ADMIN, 1000, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "gone", 500, 1000, &v, &until,
	    s), DB_OK);

	/* One revoked version of two: rotation still works. */
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "gone", 2, 1100), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "gone", 0, 1200, &v, &until,
	    s), DB_OK);
	UNIT_ASSERT_EQ_INT(v, 3);

	/* Every version revoked, one at a time or all at once. */
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "gone", 1, 1300), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "gone", 3, 1300), DB_OK);
	v = 0;
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "gone", 100, 1400, &v, &until,
	    s), DB_REVOKED);
	UNIT_ASSERT_EQ_INT(v, 0);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "SELECT max(version) FROM "
	    "key_versions WHERE key_id = 'gone'"), 3);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "gone", 4, 1400, &k),
	    DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "gone2", FW_ROLE_CLIENT, 1000,
	    s), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "gone2", 0, 1500), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "gone2", 0, 1600, &v, &until,
	    s), DB_REVOKED);
	UNIT_ASSERT_STR_EQ(db_strerror(DB_REVOKED), "key is revoked");
	fw_wipe(s, sizeof(s));
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

struct t_rows {
	int			n;
	struct db_key_info	row[8];
};

static void
t_collect(const struct db_key_info *row, void *arg)
{
	struct t_rows *r = arg;

	if (r->n < 8)
		r->row[r->n++] = *row;
}

static void
test_db_key_list(void)
{
	struct fx f;
	struct t_rows r;
	char s[FW_SECRET_B64 + 1];
	uint32_t v;
	int64_t until;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "b", FW_ROLE_ADMIN, 1000, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "b", 0, 1500, &v, &until, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "b", 500, 1600, &v, &until, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "a", FW_ROLE_CLIENT, 1000, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_revoke(f.db, "a", 1, 1700), DB_OK);

	/* A touch is flushed with the next writer transaction. */
	db_key_touch(f.db, "b", 3, 1999);
	db_key_touch(f.db, "b", 3, 1990);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "b", "flush-touch-0000000",
	    t_now()), DB_OK);

	memset(&r, 0, sizeof(r));
	UNIT_ASSERT_EQ_INT(db_key_list(f.db, 2000, t_collect, &r), DB_OK);
	UNIT_ASSERT_EQ_INT(r.n, 4);
	UNIT_ASSERT_STR_EQ(r.row[0].key_id, "a");
	UNIT_ASSERT_STR_EQ(r.row[0].state, "revoked");
	UNIT_ASSERT_EQ_INT(r.row[0].role, FW_ROLE_CLIENT);
	UNIT_ASSERT_STR_EQ(r.row[1].key_id, "b");
	UNIT_ASSERT_EQ_INT(r.row[1].version, 1);
	UNIT_ASSERT_STR_EQ(r.row[1].state, "expired");
	UNIT_ASSERT_EQ_INT(r.row[1].valid_until, 1500);
	UNIT_ASSERT_EQ_INT(r.row[2].version, 2);
	UNIT_ASSERT_STR_EQ(r.row[2].state, "grace");
	UNIT_ASSERT_EQ_INT(r.row[2].valid_until, 2100);
	UNIT_ASSERT_EQ_INT(r.row[3].version, 3);
	UNIT_ASSERT_STR_EQ(r.row[3].state, "active");
	UNIT_ASSERT_EQ_INT(r.row[3].valid_until, 0);
	UNIT_ASSERT_EQ_INT(r.row[3].last_used_at, 1999);
	UNIT_ASSERT_EQ_INT(r.row[2].last_used_at, 0);
	UNIT_ASSERT_EQ_INT(r.row[3].created_at, 1600);
	fx_done(&f);
}

struct t_audit {
	int	n;
	char	action[4][16];
	int64_t	time[4];
};

static void
t_audit_collect(const struct db_audit_row *row, void *arg)
{
	struct t_audit *a = arg;

	if (a->n < 4) {
		snprintf(a->action[a->n], sizeof(a->action[0]), "%s",
		    row->action);
		a->time[a->n++] = row->time;
	}
}

static void
test_db_audit(void)
{
	struct fx f;
	struct t_audit a;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_audit(f.db, 1, "adm", NULL, "k", "r1"),
	    DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_audit(f.db, 1, "adm", "create", "k", "r1"),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_audit(f.db, 2, "adm", "rotate", "k", "r2"),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_audit(f.db, 3, "adm", "revoke", "k", "r3"),
	    DB_OK);
	memset(&a, 0, sizeof(a));
	UNIT_ASSERT_EQ_INT(db_audit_list(f.db, 2, t_audit_collect, &a),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(a.n, 2);
	UNIT_ASSERT_STR_EQ(a.action[0], "revoke");
	UNIT_ASSERT_STR_EQ(a.action[1], "rotate");
	UNIT_ASSERT_EQ_INT(a.time[0], 3);
	fx_done(&f);
}

/* A sealed secret moved to another version must not open. */
static void
test_db_sealed_bound_to_version(void)
{
	struct fx f;
	struct fw_key k;
	char s[FW_SECRET_B64 + 1];
	uint32_t v;
	int64_t until;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "m", FW_ROLE_CLIENT, 1000, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "m", 100, 1000, &v, &until, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(t_sql(f.path, "UPDATE key_versions SET sealed = "
	    "(SELECT sealed FROM key_versions WHERE version = 1) "
	    "WHERE version = 2"), 0);
	fprintf(stderr, "  (expected: the store logs that a secret of key m "
	    "does not open)\n");
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "m", 2, 1000, &k), DB_ERROR);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "m", 1, 1000, &k), DB_OK);
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

/* The offline CLI changes keys while the server runs. */
static void
test_db_cli_change_seen(void)
{
	struct fx srv, cli;
	struct fw_key k;
	char s1[FW_SECRET_B64 + 1], s2[FW_SECRET_B64 + 1], err[256];
	uint32_t v;
	int64_t until;

	fx_init(&srv, 1);
	cli = srv;
	UNIT_ASSERT_EQ_INT(fx_open_key(&cli, t_master, 0, err, sizeof(err)),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(cli.db, "c", "cli-has-no-writer",
	    t_now()), DB_ERROR);

	UNIT_ASSERT_EQ_INT(db_key_create(cli.db, "c", FW_ROLE_CLIENT, 1000,
	    s1), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(srv.db, "c", 1, 1000, &k), DB_OK);
	UNIT_ASSERT(memcmp(k.secret, s1, FW_SECRET_B64) == 0);
	UNIT_ASSERT_EQ_INT(db_key_rotate(cli.db, "c", 0, 1001, &v, &until,
	    s2), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(srv.db, "c", 1, 1001, &k),
	    DB_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_get(srv.db, "c", 2, 1001, &k), DB_OK);
	UNIT_ASSERT(memcmp(k.secret, s2, FW_SECRET_B64) == 0);
	UNIT_ASSERT_EQ_INT(db_key_revoke(cli.db, "c", 0, 1002), DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_get(srv.db, "c", 2, 1002, &k),
	    DB_NOT_FOUND);
	fw_wipe(&k, sizeof(k));
	db_close(cli.db);
	fx_done(&srv);
}

static void
test_db_store_bind(void)
{
	struct fx f;
	struct fw_store st;
	struct fw_key k;
	char s[FW_SECRET_B64 + 1];
	int64_t now = t_now();

	fx_init(&f, 1);
	db_store_bind(f.db, &st);
	UNIT_ASSERT(st.ctx == f.db);
	UNIT_ASSERT_EQ_INT(st.key_get(st.ctx, "s", 1, now, &k),
	    FW_STORE_NOT_FOUND);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "s", FW_ROLE_CLIENT, now, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(st.key_get(st.ctx, "s", 1, now, &k), FW_STORE_OK);
	UNIT_ASSERT_EQ_INT(st.nonce_record(st.ctx, "s", "store-nonce-000001",
	    now), FW_STORE_OK);
	UNIT_ASSERT_EQ_INT(st.nonce_record(st.ctx, "s", "store-nonce-000001",
	    now), FW_STORE_DUPLICATE);
	UNIT_ASSERT_EQ_INT(st.nonce_record(st.ctx, "s", "store-nonce-000002",
	    now + 100000), FW_STORE_ERROR);
	st.key_touch(st.ctx, "s", 1, now);
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

/* ---------------------------------------------------------- nonces */

static void
test_db_nonce_duplicate(void)
{
	struct fx f;
	int64_t now = t_now();
	long n = -1;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "", now), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "bad key", "n-000000000001",
	    now), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000001",
	    now + T_WINDOW + DB_NONCE_SLACK + 100), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000001",
	    now - T_WINDOW - DB_NONCE_SLACK - 100), DB_INVALID);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000001", -1),
	    DB_INVALID);

	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000001", now),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000001", now),
	    DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k2", "n-000000000001", now),
	    DB_OK);

	/* now-250 and now+250 always fall in different partitions. */
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000002",
	    now - 250), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000002",
	    now + 250), DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000003",
	    now + 250), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "n-000000000003",
	    now - 250), DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 4);
	fx_done(&f);
}

struct t_worker {
	struct db	*db;
	int		 id;
	int		 same;	/* 1: every thread sends the same nonces */
	int		 ok, dup, other;
};

static void *
t_worker_main(void *arg)
{
	struct t_worker *w = arg;
	char nonce[48];
	int64_t now = t_now();
	int i, rc, count = w->same ? 20 : T_PER_THREAD;

	for (i = 0; i < count; i++) {
		snprintf(nonce, sizeof(nonce), "thread-%d-nonce-%06d",
		    w->same ? 0 : w->id, i);
		rc = db_nonce_record(w->db, "load", nonce, now);
		if (rc == DB_OK)
			w->ok++;
		else if (rc == DB_DUPLICATE)
			w->dup++;
		else
			w->other++;
	}
	return NULL;
}

static void
t_run_workers(struct db *db, int same, struct t_worker *w)
{
	pthread_t th[T_THREADS];
	int i;

	for (i = 0; i < T_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].db = db;
		w[i].id = i;
		w[i].same = same;
		UNIT_ASSERT(pthread_create(&th[i], NULL, t_worker_main,
		    &w[i]) == 0);
	}
	for (i = 0; i < T_THREADS; i++)
		pthread_join(th[i], NULL);
}

static double
t_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_db_nonce_concurrent(void)
{
	struct fx f;
	struct t_worker w[T_THREADS];
	double t0, t1;
	long n = -1;
	int i, ok = 0;

	fx_init(&f, 1);
	t0 = t_seconds();
	t_run_workers(f.db, 0, w);
	t1 = t_seconds();
	for (i = 0; i < T_THREADS; i++) {
		UNIT_ASSERT_EQ_INT(w[i].dup, 0);
		UNIT_ASSERT_EQ_INT(w[i].other, 0);
		ok += w[i].ok;
	}
	UNIT_ASSERT_EQ_INT(ok, T_THREADS * T_PER_THREAD);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, T_THREADS * T_PER_THREAD);
	fprintf(stderr, "  db_nonce_concurrent: %d nonces, %d threads, "
	    "synchronous=FULL: %.0f/s\n", ok, T_THREADS,
	    (double)ok / (t1 - t0));
	fx_done(&f);
}

/* All threads race with the same 20 nonces: exactly one wins each. */
static void
test_db_nonce_same_batch(void)
{
	struct fx f;
	struct t_worker w[T_THREADS];
	long n = -1;
	int i, ok = 0, dup = 0;

	fx_init(&f, 1);
	t_run_workers(f.db, 1, w);
	for (i = 0; i < T_THREADS; i++) {
		UNIT_ASSERT_EQ_INT(w[i].other, 0);
		ok += w[i].ok;
		dup += w[i].dup;
	}
	UNIT_ASSERT_EQ_INT(ok, 20);
	UNIT_ASSERT_EQ_INT(dup, 20 * (T_THREADS - 1));
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 20);
	fx_done(&f);
}

static void
test_db_nonce_survives_reopen(void)
{
	struct fx f;
	char err[256];
	int64_t now = t_now();
	long n = -1;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "persist-00000001",
	    now), DB_OK);
	db_close(f.db);
	f.db = NULL;
	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 1, err, sizeof(err)),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "persist-00000001",
	    now), DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 1);
	fx_done(&f);
}

/* The child records nonces and reports each DB_OK; then it is killed. */
static void
t_kill_child(struct fx *f, int fd, int64_t now)
{
	char err[256], nonce[32];
	int i;

	alarm(30);
	if (fx_open_key(f, t_master, 1, err, sizeof(err)) != DB_OK)
		_exit(2);
	for (i = 0; i < T_KILL_MAX; i++) {
		snprintf(nonce, sizeof(nonce), "kill-nonce-%06d", i);
		if (db_nonce_record(f->db, "k", nonce, now) != DB_OK)
			_exit(3);
		if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(4);
	}
	_exit(0);
}

static void
test_db_nonce_survives_kill(void)
{
	struct fx f;
	char err[256], nonce[32];
	int64_t now = t_now();
	int fds[2], idx, acked = 0, i;
	pid_t pid;

	fx_init(&f, 1);
	db_close(f.db);
	f.db = NULL;
	UNIT_ASSERT(pipe(fds) == 0);
	pid = fork();
	UNIT_ASSERT(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		t_kill_child(&f, fds[1], now);
	}
	close(fds[1]);
	while (acked < T_KILL_AFTER &&
	    read(fds[0], &idx, sizeof(idx)) == (ssize_t)sizeof(idx))
		acked++;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	while (read(fds[0], &idx, sizeof(idx)) == (ssize_t)sizeof(idx))
		acked++;
	close(fds[0]);
	UNIT_ASSERT(acked >= T_KILL_AFTER);

	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 1, err, sizeof(err)),
	    DB_OK);
	for (i = 0; i < acked; i++) {
		snprintf(nonce, sizeof(nonce), "kill-nonce-%06d", i);
		UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", nonce, now),
		    DB_DUPLICATE);
	}
	fx_done(&f);
}

static int
t_nonce_tables(const char *path)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(c, "SELECT count(*) FROM "
	    "sqlite_schema WHERE name LIKE 'nonce\\_%' ESCAPE '\\'", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(c);
	return n;
}

/* A partition goes exactly when its newest timestamp leaves the horizon. */
static void
test_db_nonce_partition_drop(void)
{
	struct fx f;
	int64_t now = t_now(), old = now - 250, start, last;
	long n = -1;

	fx_init(&f, 1);
	start = old - old % T_WINDOW;
	last = start + T_WINDOW - 1;
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "part-old-0000001", old),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "part-new-0000001",
	    now + 250), DB_OK);
	UNIT_ASSERT_EQ_INT(t_nonce_tables(f.path), 2);

	UNIT_ASSERT_EQ_INT(db_nonce_purge(f.db, last + T_WINDOW +
	    DB_NONCE_SLACK), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 2);
	UNIT_ASSERT_EQ_INT(db_nonce_purge(f.db, last + T_WINDOW +
	    DB_NONCE_SLACK + 1), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 1);
	UNIT_ASSERT_EQ_INT(t_nonce_tables(f.path), 1);

	/* The writer still works after the drop. */
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "part-new-0000001",
	    now), DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_purge(f.db, now + 100000), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 0);
	UNIT_ASSERT_EQ_INT(t_nonce_tables(f.path), 0);
	fx_done(&f);
}

/*
 * An expired partition larger than one purge chunk is emptied over
 * several DELETE steps and then dropped; live partitions are untouched.
 */
static void
test_db_nonce_purge_in_steps(void)
{
	struct fx f;
	int64_t now = t_now(), old = now - 250, last;
	char nonce[32];
	long n = -1;
	int i;

	fx_init(&f, 1);
	last = old - old % T_WINDOW + T_WINDOW - 1;
	for (i = 0; i < 3 * DB_PURGE_ROWS + 7; i++) {
		snprintf(nonce, sizeof(nonce), "step-old-%08d", i);
		UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", nonce, old),
		    DB_OK);
	}
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "step-new-00000001",
	    now + 250), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 3 * DB_PURGE_ROWS + 8);

	UNIT_ASSERT_EQ_INT(db_nonce_purge(f.db, last + T_WINDOW +
	    DB_NONCE_SLACK + 1), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 1);
	UNIT_ASSERT_EQ_INT(t_nonce_tables(f.path), 1);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "step-new-00000001",
	    now), DB_DUPLICATE);
	fx_done(&f);
}

/*
 * A nonce whose partition was dropped stays refused after a restart with
 * a larger window: the floor, not the window, bounds what is accepted.
 */
static void
test_db_nonce_floor_window_increase(void)
{
	struct fx f;
	char err[256];
	int64_t now = t_now(), old = now - 350, end;
	long n = -1;

	fx_init(&f, 1);
	end = old - old % T_WINDOW + T_WINDOW;	/* <= now - 50 */
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "SELECT value FROM meta WHERE "
	    "name = 'nonce_floor'"), 0);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0001",
	    old), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0002",
	    now), DB_OK);

	/* Drop the partition of `old`; the floor moves to its end. */
	UNIT_ASSERT_EQ_INT(db_nonce_purge(f.db, end + T_WINDOW +
	    DB_NONCE_SLACK), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_count(f.db, &n), DB_OK);
	UNIT_ASSERT_EQ_INT(n, 1);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "SELECT value FROM meta WHERE "
	    "name = 'nonce_floor'"), end);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0001",
	    old), DB_DUPLICATE);

	/* Restart with a window that reaches `old` again. */
	db_close(f.db);
	f.db = NULL;
	UNIT_ASSERT_EQ_INT(fx_open_window(&f, t_master, 1, 12 * T_WINDOW,
	    err, sizeof(err)), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0001",
	    old), DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0003",
	    old), DB_DUPLICATE);
	/* The floor itself is accepted, one second below it is not. */
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0004",
	    end - 1), DB_DUPLICATE);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0004",
	    end), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0005",
	    now), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0002",
	    now), DB_DUPLICATE);

	/* The floor never moves back, whatever is dropped later. */
	UNIT_ASSERT_EQ_INT(db_nonce_purge(f.db, now + 100000), DB_OK);
	UNIT_ASSERT(t_sql_int(f.path, "SELECT value FROM meta WHERE "
	    "name = 'nonce_floor'") > now);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "k", "floor-nonce-0006",
	    now), DB_DUPLICATE);
	fx_done(&f);
}

/* A schema 1 file is migrated forward at open and gains a floor of 0. */
static void
test_db_migrate_v1(void)
{
	struct fx f;
	char err[256], s[FW_SECRET_B64 + 1];
	struct fw_key k;
	int64_t now = t_now();

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "old", FW_ROLE_CLIENT, 1000, s),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "old", "v1-nonce-000001",
	    now), DB_OK);
	db_close(f.db);
	f.db = NULL;
	UNIT_ASSERT_EQ_INT(t_sql(f.path, "DELETE FROM meta WHERE name = "
	    "'nonce_floor'; PRAGMA user_version=1"), 0);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "PRAGMA user_version"), 1);

	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 1, err, sizeof(err)),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "PRAGMA user_version"),
	    DB_SCHEMA_VERSION);
	UNIT_ASSERT_EQ_INT(t_sql_int(f.path, "SELECT value FROM meta WHERE "
	    "name = 'nonce_floor'"), 0);
	UNIT_ASSERT_EQ_INT(db_key_get(f.db, "old", 1, 1000, &k), DB_OK);
	UNIT_ASSERT_EQ_INT(db_nonce_record(f.db, "old", "v1-nonce-000001",
	    now), DB_DUPLICATE);
	fw_wipe(s, sizeof(s));
	fw_wipe(&k, sizeof(k));
	fx_done(&f);
}

/* ------------------------------------------------- file safety */

static void
test_db_wrong_master_key(void)
{
	struct fx f, g;
	struct stat before, after;
	uint8_t *b0, *b1;
	size_t l0, l1;
	char s[FW_SECRET_B64 + 1], err[256], wal[128];

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "w", FW_ROLE_CLIENT, 1000, s),
	    DB_OK);

	/* While the server runs (WAL not checkpointed). */
	g = f;
	UNIT_ASSERT(stat(f.path, &before) == 0);
	b0 = t_slurp(f.path, &l0);
	err[0] = '\0';
	UNIT_ASSERT_EQ_INT(fx_open_key(&g, t_other, 1, err, sizeof(err)),
	    DB_BAD_MASTER_KEY);
	UNIT_ASSERT(g.db == NULL);
	UNIT_ASSERT(strstr(err, "master key does not match") != NULL);
	b1 = t_slurp(f.path, &l1);
	UNIT_ASSERT(b0 != NULL && b1 != NULL && l0 == l1 &&
	    memcmp(b0, b1, l0) == 0);
	free(b0);
	free(b1);

	/* After a clean close: no byte, no mtime, no new file. */
	db_close(f.db);
	f.db = NULL;
	snprintf(wal, sizeof(wal), "%s-wal", f.path);
	UNIT_ASSERT(access(wal, F_OK) != 0);
	UNIT_ASSERT(stat(f.path, &before) == 0);
	b0 = t_slurp(f.path, &l0);
	UNIT_ASSERT_EQ_INT(fx_open_key(&g, t_other, 0, err, sizeof(err)),
	    DB_BAD_MASTER_KEY);
	UNIT_ASSERT(stat(f.path, &after) == 0);
	b1 = t_slurp(f.path, &l1);
	UNIT_ASSERT(b0 != NULL && b1 != NULL && l0 == l1 &&
	    memcmp(b0, b1, l0) == 0);
	UNIT_ASSERT(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
	UNIT_ASSERT(access(wal, F_OK) != 0);
	free(b0);
	free(b1);

	/* The right key still opens it. */
	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 0, err, sizeof(err)),
	    DB_OK);
	fx_done(&f);
}

static void
test_db_newer_schema_refused(void)
{
	struct fx f;
	uint8_t *b0, *b1;
	size_t l0, l1;
	char err[256], sql[64];

	fx_init(&f, 0);
	db_close(f.db);
	f.db = NULL;
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
	    DB_SCHEMA_VERSION + 1);
	UNIT_ASSERT_EQ_INT(t_sql(f.path, sql), 0);
	b0 = t_slurp(f.path, &l0);
	err[0] = '\0';
	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 1, err, sizeof(err)),
	    DB_ERROR);
	UNIT_ASSERT(strstr(err, "newer") != NULL);
	b1 = t_slurp(f.path, &l1);
	UNIT_ASSERT(b0 != NULL && b1 != NULL && l0 == l1 &&
	    memcmp(b0, b1, l0) == 0);
	free(b0);
	free(b1);
	fx_done(&f);
}

/* An empty file counts as a fresh database; garbage is refused. */
static void
test_db_fresh_and_garbage_files(void)
{
	struct fx f;
	FILE *fp;
	char err[256];

	fx_init(&f, 0);
	db_close(f.db);
	f.db = NULL;
	fx_unlink(&f, "");
	fp = fopen(f.path, "wb");
	UNIT_ASSERT(fp != NULL);
	fclose(fp);
	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 0, err, sizeof(err)),
	    DB_OK);
	db_close(f.db);
	f.db = NULL;

	fx_unlink(&f, "");
	fp = fopen(f.path, "wb");
	UNIT_ASSERT(fp != NULL);
	fputs("this is not a database, not at all, not even close......\n"
	    "padding padding padding padding padding padding padding\n", fp);
	fclose(fp);
	UNIT_ASSERT_EQ_INT(fx_open_key(&f, t_master, 0, err, sizeof(err)),
	    DB_ERROR);
	UNIT_ASSERT(f.db == NULL);
	fx_done(&f);
}

static void
test_db_raw_file_has_no_secret(void)
{
	struct fx f;
	char s[4][FW_SECRET_B64 + 1], path[128];
	uint8_t *db, *wal;
	size_t dlen, wlen;
	uint32_t v;
	int64_t until;
	int i;

	fx_init(&f, 1);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "s1", FW_ROLE_CLIENT, 1, s[0]),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_create(f.db, "s2", FW_ROLE_ADMIN, 1, s[1]),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "s1", 10, 2, &v, &until, s[2]),
	    DB_OK);
	UNIT_ASSERT_EQ_INT(db_key_rotate(f.db, "s2", 0, 2, &v, &until, s[3]),
	    DB_OK);

	/* Both while running (WAL) and after a checkpointing close. */
	snprintf(path, sizeof(path), "%s-wal", f.path);
	db = t_slurp(f.path, &dlen);
	wal = t_slurp(path, &wlen);
	UNIT_ASSERT(wal != NULL && wlen > 0);
	for (i = 0; i < 4; i++) {
		UNIT_ASSERT(!t_contains(db, dlen, s[i], FW_SECRET_B64));
		UNIT_ASSERT(!t_contains(wal, wlen, s[i], FW_SECRET_B64));
	}
	UNIT_ASSERT(!t_contains(db, dlen, t_master, sizeof(t_master)));
	UNIT_ASSERT(!t_contains(wal, wlen, t_master, sizeof(t_master)));
	free(db);
	free(wal);

	db_close(f.db);
	f.db = NULL;
	db = t_slurp(f.path, &dlen);
	UNIT_ASSERT(db != NULL && dlen > 0);
	for (i = 0; i < 4; i++)
		UNIT_ASSERT(!t_contains(db, dlen, s[i], FW_SECRET_B64));
	free(db);
	fx_done(&f);
}

const struct unit_test db_tests[] = {
	{ "db_create_key", test_db_create_key },
	{ "db_rotate_grace", test_db_rotate_grace },
	{ "db_revoke", test_db_revoke },
	{ "db_rotate_revoked", test_db_rotate_revoked },
	{ "db_key_list", test_db_key_list },
	{ "db_audit", test_db_audit },
	{ "db_sealed_bound_to_version", test_db_sealed_bound_to_version },
	{ "db_cli_change_seen", test_db_cli_change_seen },
	{ "db_store_bind", test_db_store_bind },
	{ "db_nonce_duplicate", test_db_nonce_duplicate },
	{ "db_nonce_concurrent", test_db_nonce_concurrent },
	{ "db_nonce_same_batch", test_db_nonce_same_batch },
	{ "db_nonce_survives_reopen", test_db_nonce_survives_reopen },
	{ "db_nonce_survives_kill", test_db_nonce_survives_kill },
	{ "db_nonce_partition_drop", test_db_nonce_partition_drop },
	{ "db_nonce_purge_in_steps", test_db_nonce_purge_in_steps },
	{ "db_nonce_floor_window_increase",
	    test_db_nonce_floor_window_increase },
	{ "db_migrate_v1", test_db_migrate_v1 },
	{ "db_wrong_master_key", test_db_wrong_master_key },
	{ "db_newer_schema_refused", test_db_newer_schema_refused },
	{ "db_fresh_and_garbage_files", test_db_fresh_and_garbage_files },
	{ "db_raw_file_has_no_secret", test_db_raw_file_has_no_secret },
	{ NULL, NULL }
};
