/* SPDX-License-Identifier: MIT */
/*
 * db_keys.c - keys, key versions and the audit log.
 *
 * Writes (create, rotate, revoke, audit) go through the admin connection
 * under admin_lock, each in one BEGIN IMMEDIATE transaction.  Reads take
 * a pooled connection and run a fresh statement, so a change committed by
 * another process (the offline CLI) is seen by the very next read.
 * Secrets never leave this file unsealed except into the caller's
 * buffers; local copies are wiped on every path.
 */
#include <stdio.h>
#include <string.h>

#include "db_int.h"

#define DB_TIME_MAX	((int64_t)1 << 40)	/* far beyond any real clock */
#define DB_AUDIT_MAX	1024			/* bytes of one audit field */

static int
db_time_ok(int64_t t)
{
	return t >= 0 && t < DB_TIME_MAX;
}

/* Prepare and bind "?1" as key_id; NULL on failure. */
static sqlite3_stmt *
db_prepare_id(sqlite3 *c, const char *sql, const char *key_id)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int
db_admin_begin(struct db *db)
{
	pthread_mutex_lock(&db->admin_lock);
	if (db_exec(db->admin, "BEGIN IMMEDIATE") != DB_OK) {
		pthread_mutex_unlock(&db->admin_lock);
		return DB_ERROR;
	}
	return DB_OK;
}

/* Commit when rc is DB_OK, roll back otherwise; returns the outcome. */
static int
db_admin_end(struct db *db, int rc)
{
	if (rc == DB_OK && db_exec(db->admin, "COMMIT") != DB_OK)
		rc = DB_ERROR;
	if (rc != DB_OK)
		db_exec(db->admin, "ROLLBACK");
	pthread_mutex_unlock(&db->admin_lock);
	return rc;
}

/* Seal secret as key_id/version and insert it, inside a transaction. */
static int
db_version_insert(struct db *db, const char *key_id, uint32_t version,
    const char *secret, int64_t now)
{
	uint8_t sealed[FW_SECRET_B64 + DB_SEAL_OVERHEAD];
	sqlite3_stmt *st;
	int n, rc = DB_ERROR;

	n = db_seal(db->master, key_id, version, secret, FW_SECRET_B64,
	    sealed, sizeof(sealed));
	if (n < 0)
		return DB_ERROR;
	st = db_prepare_id(db->admin, "INSERT INTO key_versions (key_id, "
	    "version, sealed, created_at) VALUES (?1, ?2, ?3, ?4)", key_id);
	if (st != NULL &&
	    sqlite3_bind_int64(st, 2, version) == SQLITE_OK &&
	    sqlite3_bind_blob(st, 3, sealed, n, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 4, now) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = DB_OK;
	sqlite3_finalize(st);
	return rc;
}

/*
 * 1 if key_id is made only of dots: "." and ".." are path segments the
 * router never hands to a route, so such a key could not be managed.
 */
static int
db_key_id_dots(const char *key_id)
{
	return strspn(key_id, ".") == strlen(key_id);
}

int
db_key_create(struct db *db, const char *key_id, enum fw_role role,
    int64_t now, char *secret)
{
	sqlite3_stmt *st;
	int rc, step;

	if (!db_key_id_ok(key_id) || db_key_id_dots(key_id) ||
	    secret == NULL || !db_time_ok(now) ||
	    (role != FW_ROLE_CLIENT && role != FW_ROLE_ADMIN))
		return DB_INVALID;
	if (fw_secret_new(secret) != 0)
		return DB_ERROR;
	if (db_admin_begin(db) != DB_OK) {
		fw_wipe(secret, FW_SECRET_B64 + 1);
		return DB_ERROR;
	}

	rc = DB_ERROR;
	st = db_prepare_id(db->admin, "INSERT INTO keys (key_id, role, "
	    "created_at) VALUES (?1, ?2, ?3)", key_id);
	if (st != NULL && sqlite3_bind_int(st, 2, (int)role) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 3, now) == SQLITE_OK) {
		step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			rc = DB_OK;
		else if ((step & 0xff) == SQLITE_CONSTRAINT)
			rc = DB_EXISTS;
	}
	sqlite3_finalize(st);
	if (rc == DB_OK)
		rc = db_version_insert(db, key_id, 1, secret, now);

	rc = db_admin_end(db, rc);
	if (rc != DB_OK)
		fw_wipe(secret, FW_SECRET_B64 + 1);
	return rc;
}

/* The newest version of key_id, or DB_NOT_FOUND. */
static int
db_version_max(sqlite3 *c, const char *key_id, uint32_t *out)
{
	sqlite3_stmt *st;
	int rc = DB_ERROR;

	st = db_prepare_id(c, "SELECT max(version) FROM key_versions WHERE "
	    "key_id = ?1", key_id);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			rc = DB_NOT_FOUND;
		else {
			*out = (uint32_t)sqlite3_column_int64(st, 0);
			rc = DB_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* DB_OK if some version of key_id is not revoked, else DB_REVOKED. */
static int
db_key_live(sqlite3 *c, const char *key_id)
{
	sqlite3_stmt *st;
	int rc = DB_ERROR;

	st = db_prepare_id(c, "SELECT count(*) FROM key_versions WHERE "
	    "key_id = ?1 AND revoked_at IS NULL", key_id);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		rc = sqlite3_column_int64(st, 0) > 0 ? DB_OK : DB_REVOKED;
	sqlite3_finalize(st);
	return rc;
}

/* Cut every still-valid version of key_id off at `end`. */
static int
db_versions_limit(sqlite3 *c, const char *key_id, int64_t end, int64_t now)
{
	sqlite3_stmt *st;
	int rc = DB_ERROR;

	st = db_prepare_id(c, "UPDATE key_versions SET valid_until = ?2 "
	    "WHERE key_id = ?1 AND revoked_at IS NULL AND "
	    "(valid_until IS NULL OR valid_until > ?2) AND "
	    "(valid_until IS NULL OR valid_until > ?3)", key_id);
	if (st != NULL && sqlite3_bind_int64(st, 2, end) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 3, now) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = DB_OK;
	sqlite3_finalize(st);
	return rc;
}

int
db_key_rotate(struct db *db, const char *key_id, int64_t grace,
    int64_t now, uint32_t *version, int64_t *valid_until, char *secret)
{
	uint32_t newest = 0;
	int rc;

	if (!db_key_id_ok(key_id) || secret == NULL || !db_time_ok(now) ||
	    !db_time_ok(grace) || version == NULL || valid_until == NULL)
		return DB_INVALID;
	if (fw_secret_new(secret) != 0)
		return DB_ERROR;
	if (db_admin_begin(db) != DB_OK) {
		fw_wipe(secret, FW_SECRET_B64 + 1);
		return DB_ERROR;
	}

	rc = db_version_max(db->admin, key_id, &newest);
	/* A revoked key is never brought back by a new version. */
	if (rc == DB_OK)
		rc = db_key_live(db->admin, key_id);
	if (rc == DB_OK && newest >= FW_KEY_VERSION_MAX)
		rc = DB_INVALID;
	if (rc == DB_OK)
		rc = db_versions_limit(db->admin, key_id, now + grace, now);
	if (rc == DB_OK)
		rc = db_version_insert(db, key_id, newest + 1, secret, now);

	rc = db_admin_end(db, rc);
	if (rc != DB_OK) {
		fw_wipe(secret, FW_SECRET_B64 + 1);
		return rc;
	}
	*version = newest + 1;
	*valid_until = now + grace;
	return DB_OK;
}

int
db_key_revoke(struct db *db, const char *key_id, uint32_t version,
    int64_t now)
{
	static const char sql[] = "UPDATE key_versions SET revoked_at = ?3 "
	    "WHERE key_id = ?1 AND (?2 = 0 OR version = ?2) AND "
	    "revoked_at IS NULL";
	sqlite3_stmt *st;
	uint32_t newest = 0;
	int rc;

	if (!db_key_id_ok(key_id) || !db_time_ok(now))
		return DB_INVALID;
	if (db_admin_begin(db) != DB_OK)
		return DB_ERROR;

	rc = db_version_max(db->admin, key_id, &newest);
	if (rc == DB_OK && version > newest)
		rc = DB_NOT_FOUND;
	if (rc == DB_OK) {
		rc = DB_ERROR;
		st = db_prepare_id(db->admin, sql, key_id);
		if (st != NULL &&
		    sqlite3_bind_int64(st, 2, version) == SQLITE_OK &&
		    sqlite3_bind_int64(st, 3, now) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_DONE)
			rc = DB_OK;
		sqlite3_finalize(st);
	}
	return db_admin_end(db, rc);
}

/* Check validity and open the secret of the row st points at. */
static int
db_key_from_row(struct db *db, sqlite3_stmt *st, const char *key_id,
    uint32_t version, int64_t now, struct fw_key *out)
{
	size_t len = 0;

	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		return DB_NOT_FOUND;			/* revoked */
	if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
	    now >= sqlite3_column_int64(st, 2))
		return DB_NOT_FOUND;			/* past its end */
	if (db_unseal(db->master, key_id, version, sqlite3_column_blob(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1), out->secret,
	    sizeof(out->secret), &len) != 0) {
		fw_log(FW_LOG_ERROR, "db: secret of key %s version %lu does "
		    "not open", key_id, (unsigned long)version);
		return DB_ERROR;
	}
	memcpy(out->key_id, key_id, strlen(key_id) + 1);
	out->version = version;
	out->role = (enum fw_role)sqlite3_column_int(st, 0);
	out->secret_len = len;
	return DB_OK;
}

int
db_key_get(struct db *db, const char *key_id, uint32_t version,
    int64_t now, struct fw_key *out)
{
	static const char sql[] = "SELECT k.role, v.sealed, v.valid_until, "
	    "v.revoked_at FROM key_versions v JOIN keys k USING (key_id) "
	    "WHERE v.key_id = ?1 AND v.version = ?2";
	sqlite3_stmt *st;
	sqlite3 *c;
	int rc = DB_ERROR, step;

	if (!db_key_id_ok(key_id) || version == 0 || out == NULL)
		return DB_NOT_FOUND;
	c = db_reader_get(db);
	st = db_reader_key_get_stmt(db, c, sql);
	if (st != NULL &&
	    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 2, version) == SQLITE_OK) {
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			rc = db_key_from_row(db, st, key_id, version, now,
			    out);
		else if (step == SQLITE_DONE)
			rc = DB_NOT_FOUND;
		/* End the read transaction: the next call sees new data. */
		sqlite3_reset(st);
	}
	db_reader_put(db, c);
	return rc;
}

int
db_key_count(struct db *db, long *out)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *c = db_reader_get(db);
	int rc = DB_ERROR;

	if (sqlite3_prepare_v2(c, "SELECT count(*) FROM keys", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*out = (long)sqlite3_column_int64(st, 0);
		rc = DB_OK;
	}
	sqlite3_finalize(st);
	db_reader_put(db, c);
	return rc;
}

static const char *
db_key_state(sqlite3_stmt *st, int64_t now)
{
	if (sqlite3_column_type(st, 5) != SQLITE_NULL)
		return "revoked";
	if (sqlite3_column_type(st, 4) == SQLITE_NULL)
		return "active";
	return sqlite3_column_int64(st, 4) <= now ? "expired" : "grace";
}

int
db_key_list(struct db *db, int64_t now,
    void (*fn)(const struct db_key_info *row, void *arg), void *arg)
{
	struct db_key_info row;
	sqlite3_stmt *st = NULL;
	sqlite3 *c = db_reader_get(db);
	const unsigned char *id;
	int rc = DB_ERROR, step;

	if (sqlite3_prepare_v2(c, "SELECT v.key_id, k.role, v.version, "
	    "v.created_at, v.valid_until, v.revoked_at, v.last_used_at "
	    "FROM key_versions v JOIN keys k USING (key_id) "
	    "ORDER BY v.key_id, v.version", -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		id = sqlite3_column_text(st, 0);
		snprintf(row.key_id, sizeof(row.key_id), "%s",
		    id != NULL ? (const char *)id : "");
		row.role = (enum fw_role)sqlite3_column_int(st, 1);
		row.version = (uint32_t)sqlite3_column_int64(st, 2);
		row.state = db_key_state(st, now);
		row.created_at = sqlite3_column_int64(st, 3);
		row.valid_until = sqlite3_column_int64(st, 4);
		row.last_used_at = sqlite3_column_int64(st, 6);
		fn(&row, arg);
	}
	if (step == SQLITE_DONE)
		rc = DB_OK;
out:
	sqlite3_finalize(st);
	db_reader_put(db, c);
	return rc;
}

/* ------------------------------------------------------ audit log */

static int
db_audit_field_ok(const char *s)
{
	return s != NULL && strlen(s) <= DB_AUDIT_MAX;
}

int
db_audit(struct db *db, int64_t now, const char *admin_key_id,
    const char *action, const char *target, const char *request_id)
{
	sqlite3_stmt *st;
	int rc = DB_ERROR;

	if (!db_time_ok(now) || !db_audit_field_ok(admin_key_id) ||
	    !db_audit_field_ok(action) || !db_audit_field_ok(target) ||
	    !db_audit_field_ok(request_id))
		return DB_INVALID;
	if (db_admin_begin(db) != DB_OK)
		return DB_ERROR;
	st = db_prepare_id(db->admin, "INSERT INTO audit (admin_key_id, "
	    "time, action, target, request_id) VALUES (?1, ?2, ?3, ?4, ?5)",
	    admin_key_id);
	if (st != NULL && sqlite3_bind_int64(st, 2, now) == SQLITE_OK &&
	    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 4, target, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 5, request_id, -1, SQLITE_STATIC) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
		rc = DB_OK;
	sqlite3_finalize(st);
	return db_admin_end(db, rc);
}

static const char *
db_column_str(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? (const char *)s : "";
}

int
db_audit_list(struct db *db, unsigned limit,
    void (*fn)(const struct db_audit_row *row, void *arg), void *arg)
{
	struct db_audit_row row;
	sqlite3_stmt *st = NULL;
	sqlite3 *c = db_reader_get(db);
	int rc = DB_ERROR, step;

	if (sqlite3_prepare_v2(c, "SELECT time, admin_key_id, action, target, "
	    "request_id FROM audit ORDER BY id DESC LIMIT ?1", -1, &st,
	    NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, limit) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		row.time = sqlite3_column_int64(st, 0);
		row.admin_key_id = db_column_str(st, 1);
		row.action = db_column_str(st, 2);
		row.target = db_column_str(st, 3);
		row.request_id = db_column_str(st, 4);
		fn(&row, arg);
	}
	if (step == SQLITE_DONE)
		rc = DB_OK;
out:
	sqlite3_finalize(st);
	db_reader_put(db, c);
	return rc;
}
