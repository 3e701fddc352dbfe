/* SPDX-License-Identifier: MIT */
/*
 * db.c - opening and closing the database: connections, the schema and
 * its forward migrations, the master key check, the read pool and the
 * fw_store binding.
 *
 * db_open never writes to a database whose master key check fails or
 * whose schema is newer than ours: both are checked on a read-only
 * connection before the first read-write one is opened.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db_int.h"

#define DB_CHECK_ID	"master-check"
#define DB_CHECK_TEXT	"apiserver master key check v1"

static const char *const db_status_text[] = {
	"ok", "not found", "duplicate", "database error", "already exists",
	"master key does not match this database", "invalid argument",
	"key is revoked"
};

/*
 * Forward migrations: db_migrations[n] takes schema n-1 to n.  Never edit
 * a shipped entry; append a new one and raise DB_SCHEMA_VERSION.  Nonce
 * tables are made by the writer (db_nonce.c), one per time partition.
 *
 * 2: meta 'nonce_floor', the end of the newest dropped nonce partition
 * (db_nonce.c).  Schema 1 kept no such boundary, so a migrated database
 * starts at 0: a replay of a nonce dropped before the upgrade is still
 * caught by the window as long as the window is not raised at the same
 * restart as the upgrade.
 */
static const char *const db_migrations[DB_SCHEMA_VERSION + 1] = {
	NULL,
	"CREATE TABLE meta ("
	"  name TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);"
	"CREATE TABLE keys ("
	"  key_id TEXT PRIMARY KEY,"
	"  role INTEGER NOT NULL CHECK (role IN (1, 2)),"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE key_versions ("
	"  key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL CHECK (version > 0),"
	"  sealed BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  valid_until INTEGER,"
	"  revoked_at INTEGER,"
	"  last_used_at INTEGER,"
	"  PRIMARY KEY (key_id, version));"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  admin_key_id TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  request_id TEXT NOT NULL);",
	"INSERT INTO meta (name, value) VALUES ('nonce_floor', 0);"
};

static pthread_once_t db_log_once = PTHREAD_ONCE_INIT;

const char *
db_strerror(int status)
{
	if (status > 0 || -status >= (int)(sizeof(db_status_text) /
	    sizeof(db_status_text[0])))
		return "unknown status";
	return db_status_text[-status];
}

static void
db_log_sqlite(void *arg, int code, const char *msg)
{
	int primary = code & 0xff;
	enum fw_log_level level = FW_LOG_WARN;

	(void)arg;
	/* A constraint failure is an answer (duplicate id), not a fault. */
	if (primary == SQLITE_NOTICE || primary == SQLITE_SCHEMA ||
	    primary == SQLITE_CONSTRAINT)
		level = FW_LOG_DEBUG;
	fw_log(level, "sqlite: %s (%d)", msg, code);
}

/* sqlite's log goes to fw_log; this must precede sqlite3_initialize. */
static void
db_log_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_LOG, db_log_sqlite, (void *)NULL);
}

/* 1 if key_id is 1..FW_KEY_ID_MAX of [A-Za-z0-9._-]. */
int
db_key_id_ok(const char *key_id)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t len;

	if (key_id == NULL)
		return 0;
	len = strlen(key_id);
	return len > 0 && len <= FW_KEY_ID_MAX && strspn(key_id, ok) == len;
}

int
db_exec(sqlite3 *conn, const char *sql)
{
	return sqlite3_exec(conn, sql, NULL, NULL, NULL) == SQLITE_OK ?
	    DB_OK : DB_ERROR;
}

/*
 * Open one connection.  A read-only one changes nothing on disk and
 * never checkpoints on close; a read-write one sets WAL, the sync level,
 * the busy timeout and foreign keys.
 */
int
db_conn_open(struct db *db, const char *path, int readonly, sqlite3 **out,
    char *err, size_t errlen)
{
	sqlite3 *c = NULL;
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	const char *sync = db->synchronous_full ?
	    "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";

	flags |= readonly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &c, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database: %s",
		    c != NULL ? sqlite3_errmsg(c) : "out of memory");
		sqlite3_close(c);
		return DB_ERROR;
	}
	sqlite3_busy_timeout(c, DB_BUSY_TIMEOUT_MS);
	if (readonly) {
		sqlite3_db_config(c, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    (int *)NULL);
		*out = c;
		return DB_OK;
	}
	if (db_exec(c, "PRAGMA journal_mode=WAL") != DB_OK ||
	    db_exec(c, sync) != DB_OK ||
	    db_exec(c, "PRAGMA foreign_keys=ON") != DB_OK) {
		snprintf(err, errlen, "cannot set up database: %s",
		    sqlite3_errmsg(c));
		sqlite3_close(c);
		return DB_ERROR;
	}
	*out = c;
	return DB_OK;
}

void
db_conn_close(sqlite3 *conn)
{
	if (conn != NULL)
		sqlite3_close_v2(conn);
}

/* Take a read connection, waiting while all are in use. */
sqlite3 *
db_reader_get(struct db *db)
{
	sqlite3 *c = NULL;
	size_t i;

	pthread_mutex_lock(&db->pool_lock);
	while (c == NULL) {
		for (i = 0; i < db->nreaders; i++) {
			if (!db->reader_busy[i]) {
				db->reader_busy[i] = 1;
				c = db->readers[i];
				break;
			}
		}
		if (c == NULL)
			pthread_cond_wait(&db->pool_free, &db->pool_lock);
	}
	pthread_mutex_unlock(&db->pool_lock);
	return c;
}

void
db_reader_put(struct db *db, sqlite3 *conn)
{
	size_t i;

	pthread_mutex_lock(&db->pool_lock);
	for (i = 0; i < db->nreaders; i++)
		if (db->readers[i] == conn)
			db->reader_busy[i] = 0;
	pthread_cond_signal(&db->pool_free);
	pthread_mutex_unlock(&db->pool_lock);
}

/*
 * The key_get statement of a held read connection, prepared once and
 * reset for reuse; NULL on failure.  Only the holder of conn touches it.
 */
sqlite3_stmt *
db_reader_key_get_stmt(struct db *db, sqlite3 *conn, const char *sql)
{
	sqlite3_stmt **st = NULL;
	size_t i;

	for (i = 0; i < db->nreaders; i++)
		if (db->readers[i] == conn)
			st = &db->reader_key_get[i];
	if (st == NULL)
		return NULL;
	if (*st == NULL && sqlite3_prepare_v3(conn, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return NULL;
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

static int
db_user_version(sqlite3 *c, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = DB_ERROR;

	if (sqlite3_prepare_v2(c, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = DB_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* DB_OK if the stored check value opens under db->master. */
static int
db_master_check(struct db *db, sqlite3 *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	uint8_t plain[64];
	size_t len = 0;
	int rc = DB_BAD_MASTER_KEY;

	if (sqlite3_prepare_v2(c, "SELECT value FROM meta WHERE name = "
	    "'master_check'", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "database has no master key check");
		sqlite3_finalize(st);
		return DB_ERROR;
	}
	if (db_unseal(db->master, DB_CHECK_ID, 0, sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), plain, sizeof(plain),
	    &len) == 0 && len == strlen(DB_CHECK_TEXT) &&
	    memcmp(plain, DB_CHECK_TEXT, len) == 0)
		rc = DB_OK;
	else
		snprintf(err, errlen, "master key does not match this "
		    "database");
	sqlite3_finalize(st);
	return rc;
}

/*
 * A read-only URI for path.  Without a WAL file the main file is the
 * whole database, and "immutable" keeps sqlite from creating -wal and
 * -shm files; with one, sqlite must read the WAL.  NULL when out of
 * memory; the caller frees.
 *
 * XXX: a process that starts writing between the -wal check and the read
 * can make the immutable read fail, so db_open refuses (never writes).
 */
static char *
db_uri_readonly(const char *path)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-";
	size_t len = strlen(path), i, o = 0;
	char *wal, *uri;
	int has_wal;

	if ((wal = malloc(len + 5)) == NULL)
		return NULL;
	snprintf(wal, len + 5, "%s-wal", path);
	has_wal = access(wal, F_OK) == 0;
	free(wal);

	if ((uri = malloc(len * 3 + 40)) == NULL)
		return NULL;
	o = (size_t)sprintf(uri, "file:");
	for (i = 0; i < len; i++) {
		if (path[i] != '\0' && strchr(plain, path[i]) != NULL)
			uri[o++] = path[i];
		else
			o += (size_t)sprintf(uri + o, "%%%02X",
			    (unsigned char)path[i]);
	}
	snprintf(uri + o, 30, "?mode=ro%s", has_wal ? "" : "&immutable=1");
	return uri;
}

/*
 * Before anything may write: refuse a newer schema or a master key that
 * does not fit.  A missing file or schema 0 is a fresh database.
 */
static int
db_precheck(struct db *db, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	sqlite3 *c = NULL;
	char *uri;
	int version = 0, rc;

	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return DB_OK;
		snprintf(err, errlen, "cannot stat database: %s",
		    strerror(errno));
		return DB_ERROR;
	}
	if ((uri = db_uri_readonly(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return DB_ERROR;
	}
	rc = db_conn_open(db, uri, 1, &c, err, errlen);
	free(uri);
	if (rc != DB_OK)
		return rc;
	if (db_user_version(c, &version) != DB_OK) {
		snprintf(err, errlen, "cannot read database: %s",
		    sqlite3_errmsg(c));
		rc = DB_ERROR;
	} else if (version > DB_SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema %d is newer than this "
		    "program knows (%d); refusing to open it", version,
		    DB_SCHEMA_VERSION);
		rc = DB_ERROR;
	} else if (version > 0)
		rc = db_master_check(db, c, err, errlen);
	db_conn_close(c);
	return rc;
}

static int
db_store_check(struct db *db, sqlite3 *c)
{
	sqlite3_stmt *st = NULL;
	uint8_t sealed[sizeof(DB_CHECK_TEXT) + DB_SEAL_OVERHEAD];
	int n, rc = DB_ERROR;

	n = db_seal(db->master, DB_CHECK_ID, 0, DB_CHECK_TEXT,
	    strlen(DB_CHECK_TEXT), sealed, sizeof(sealed));
	if (n < 0)
		return DB_ERROR;
	if (sqlite3_prepare_v2(c, "INSERT INTO meta (name, value) VALUES "
	    "('master_check', ?)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_blob(st, 1, sealed, n, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = DB_OK;
	sqlite3_finalize(st);
	return rc;
}

/* One migration step in its own transaction; *done when up to date. */
static int
db_migrate_step(struct db *db, sqlite3 *c, int *done, char *err,
    size_t errlen)
{
	char sql[64];
	int version = 0;

	if (db_exec(c, "BEGIN IMMEDIATE") != DB_OK)
		goto fail;
	if (db_user_version(c, &version) != DB_OK)
		goto fail;
	if (version >= DB_SCHEMA_VERSION) {
		*done = 1;
		db_exec(c, "ROLLBACK");
		if (version == DB_SCHEMA_VERSION)
			return DB_OK;
		snprintf(err, errlen, "database schema %d is newer than this "
		    "program knows (%d)", version, DB_SCHEMA_VERSION);
		return DB_ERROR;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version + 1);
	if (db_exec(c, db_migrations[version + 1]) != DB_OK ||
	    (version == 0 && db_store_check(db, c) != DB_OK) ||
	    db_exec(c, sql) != DB_OK || db_exec(c, "COMMIT") != DB_OK)
		goto fail;
	fw_log(FW_LOG_INFO, "db: schema migrated to version %d", version + 1);
	return DB_OK;

fail:
	snprintf(err, errlen, "schema migration from version %d failed: %s",
	    version, sqlite3_errmsg(c));
	db_exec(c, "ROLLBACK");
	return DB_ERROR;
}

static int
db_migrate(struct db *db, sqlite3 *c, char *err, size_t errlen)
{
	int done = 0, rc = DB_OK, steps;

	for (steps = 0; rc == DB_OK && !done && steps <= DB_SCHEMA_VERSION;
	    steps++)
		rc = db_migrate_step(db, c, &done, err, errlen);
	return rc;
}

static struct db *
db_alloc(const struct db_options *opt)
{
	struct db *db = calloc(1, sizeof(*db));
	pthread_condattr_t attr;

	if (db == NULL)
		return NULL;
	memcpy(db->master, opt->master_key, DB_MASTER_KEY_LEN);
	db->synchronous_full = opt->synchronous_full != 0;
	db->window = opt->window;
	/*
	 * A partition spans the window, but never less than the slack: a
	 * one-second window must not need sixty tables.
	 */
	db->partition_seconds = opt->window < DB_NONCE_SLACK ?
	    DB_NONCE_SLACK : opt->window;
	pthread_mutex_init(&db->pool_lock, NULL);
	pthread_cond_init(&db->pool_free, NULL);
	pthread_mutex_init(&db->admin_lock, NULL);
	pthread_mutex_init(&db->writer.lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&db->writer.wake, &attr);
	pthread_condattr_destroy(&attr);
	return db;
}

int
db_open(const struct db_options *opt, struct db **out, char *err,
    size_t errlen)
{
	struct db *db;
	size_t i;
	int rc;

	*out = NULL;
	if (opt == NULL || opt->path == NULL || opt->master_key == NULL ||
	    opt->window == 0 || opt->window > 7 * 86400) {
		snprintf(err, errlen, "bad database options");
		return DB_INVALID;
	}
	pthread_once(&db_log_once, db_log_setup);
	db_seal_init();
	if ((db = db_alloc(opt)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return DB_ERROR;
	}

	if ((rc = db_precheck(db, opt->path, err, errlen)) != DB_OK)
		goto fail;
	if ((rc = db_conn_open(db, opt->path, 0, &db->admin, err,
	    errlen)) != DB_OK)
		goto fail;
	if ((rc = db_migrate(db, db->admin, err, errlen)) != DB_OK)
		goto fail;
	/* Again, in case another process made the file meanwhile. */
	if ((rc = db_master_check(db, db->admin, err, errlen)) != DB_OK)
		goto fail;

	db->nreaders = opt->start_writer ? DB_READERS : 1;
	for (i = 0; i < db->nreaders; i++)
		if ((rc = db_conn_open(db, opt->path, 0, &db->readers[i], err,
		    errlen)) != DB_OK)
			goto fail;
	if (opt->start_writer &&
	    (rc = db_writer_start(db, opt->path, err, errlen)) != DB_OK)
		goto fail;
	*out = db;
	return DB_OK;

fail:
	db_close(db);
	return rc;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	db_writer_stop(db);
	for (i = 0; i < DB_READERS; i++) {
		sqlite3_finalize(db->reader_key_get[i]);
		db_conn_close(db->readers[i]);
	}
	db_conn_close(db->admin);
	pthread_cond_destroy(&db->writer.wake);
	pthread_mutex_destroy(&db->writer.lock);
	pthread_mutex_destroy(&db->admin_lock);
	pthread_cond_destroy(&db->pool_free);
	pthread_mutex_destroy(&db->pool_lock);
	fw_wipe(db->master, sizeof(db->master));
	free(db);
}

/* ------------------------------------------------------ fw_store */

static int
db_store_status(int rc)
{
	switch (rc) {
	case DB_OK:
		return FW_STORE_OK;
	case DB_NOT_FOUND:
		return FW_STORE_NOT_FOUND;
	case DB_DUPLICATE:
		return FW_STORE_DUPLICATE;
	default:
		return FW_STORE_ERROR;
	}
}

static int
db_store_key_get(void *ctx, const char *key_id, uint32_t version,
    int64_t now, struct fw_key *out)
{
	return db_store_status(db_key_get(ctx, key_id, version, now, out));
}

static int
db_store_nonce_record(void *ctx, const char *key_id, const char *nonce,
    int64_t timestamp)
{
	return db_store_status(db_nonce_record(ctx, key_id, nonce,
	    timestamp));
}

static void
db_store_key_touch(void *ctx, const char *key_id, uint32_t version,
    int64_t now)
{
	db_key_touch(ctx, key_id, version, now);
}

void
db_store_bind(struct db *db, struct fw_store *store)
{
	store->ctx = db;
	store->key_get = db_store_key_get;
	store->nonce_record = db_store_nonce_record;
	store->key_touch = db_store_key_touch;
}
