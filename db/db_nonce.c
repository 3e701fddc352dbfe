/* SPDX-License-Identifier: MIT */
/*
 * db_nonce.c - the nonce store and its one writer thread.
 *
 * Callers of db_nonce_record queue a request and sleep until the writer
 * has committed the transaction that holds it (group commit: one fsync
 * for up to DB_NONCE_BATCH nonces).  Nonces live in time partitions,
 * tables named nonce_<start>_<seconds>, each with UNIQUE(key_id, nonce);
 * a nonce is checked against every live partition, so a replay is found
 * whatever timestamp it carries.  A partition is a WITHOUT ROWID table
 * keyed by (key_id, nonce): one b-tree, so an insert touches one tree and
 * deleting its rows in key order walks pages in order.
 *
 * Between batches the writer retires partitions that no accepted
 * timestamp can reach any more: it stops checking them and raises the
 * nonce floor in meta to the end of the newest retired one (a timestamp
 * below the floor counts as a duplicate, since its nonce may be gone: a
 * restart with a larger window must not let such a replay through).  It
 * then empties a retired table in steps of at most DB_PURGE_BUDGET_US,
 * each its own short transaction between batches, and drops it once
 * empty; so a purge never holds the write lock for long, however many
 * rows expire at once (a single DROP TABLE of 3 M rows took over a
 * second).  Pending last_used_at updates (db_key_touch) ride
 * along in the writer's transactions.
 *
 * Only the writer thread uses writer.conn, writer.parts and
 * writer.nonce_floor; the queue and the touch table are under
 * writer.lock.
 *
 * XXX: the partition list and the nonce floor are cached per writer, so
 * two server processes writing nonces to one file could miss each
 * other's new partitions and accept a replay; run one server per
 * database file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"

struct db_nonce_req {
	struct db_nonce_req	*next;
	const char		*key_id;
	const char		*nonce;
	int64_t			 timestamp;
	int64_t			 purge_at;	/* > 0: a purge, not a nonce */
	int			 status;
	int			 done;
	pthread_cond_t		 wake;	/* its caller waits on this alone */
};

static int64_t
db_now(void)
{
	return (int64_t)time(NULL);
}

static void
db_part_name(char *buf, size_t len, int64_t start, int64_t seconds)
{
	snprintf(buf, len, "nonce_%" PRId64 "_%" PRId64, start, seconds);
}

/* Parse a table name made by db_part_name; 0 ok, -1 otherwise. */
static int
db_part_parse(const char *name, int64_t *start, int64_t *seconds)
{
	char check[DB_TABLE_NAME];
	long long a, b;

	if (sscanf(name, "nonce_%lld_%lld", &a, &b) != 2 || a < 0 || b <= 0)
		return -1;
	db_part_name(check, sizeof(check), a, b);
	if (strcmp(check, name) != 0)
		return -1;
	*start = a;
	*seconds = b;
	return 0;
}

static void
db_part_release(struct db_partition *p)
{
	sqlite3_finalize(p->select);
	sqlite3_finalize(p->insert);
	p->select = p->insert = NULL;
}

/* Prepare the two statements of a partition whose table exists. */
static int
db_part_prepare(sqlite3 *c, struct db_partition *p)
{
	char name[DB_TABLE_NAME], sql[160];

	db_part_name(name, sizeof(name), p->start, p->seconds);
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE key_id = ?1 AND "
	    "nonce = ?2", name);
	if (sqlite3_prepare_v3(c, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &p->select, NULL) != SQLITE_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "INSERT INTO %s (key_id, nonce, ts) "
	    "VALUES (?1, ?2, ?3)", name);
	if (sqlite3_prepare_v3(c, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &p->insert, NULL) != SQLITE_OK)
		goto fail;
	return DB_OK;
fail:
	db_part_release(p);
	return DB_ERROR;
}

static void
db_parts_clear(struct db_writer *w)
{
	size_t i;

	for (i = 0; i < w->nparts; i++)
		db_part_release(&w->parts[i]);
	w->nparts = 0;
}

/* Rebuild the partition list from the schema. */
static int
db_parts_scan(struct db_writer *w)
{
	sqlite3_stmt *st = NULL;
	struct db_partition *p;
	int rc = DB_ERROR, step;

	db_parts_clear(w);
	if (sqlite3_prepare_v2(w->conn, "SELECT name FROM sqlite_schema "
	    "WHERE type = 'table' AND name LIKE 'nonce\\_%' ESCAPE '\\'", -1,
	    &st, NULL) != SQLITE_OK)
		return DB_ERROR;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (w->nparts == DB_PARTITIONS_MAX)
			goto out;
		p = &w->parts[w->nparts];
		if (db_part_parse((const char *)sqlite3_column_text(st, 0),
		    &p->start, &p->seconds) != 0)
			continue;
		if (db_part_prepare(w->conn, p) != DB_OK)
			goto out;
		w->nparts++;
	}
	if (step == SQLITE_DONE)
		rc = DB_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The partition for `start`, created (inside the open transaction). */
static struct db_partition *
db_part_for(struct db *db, int64_t start)
{
	struct db_writer *w = &db->writer;
	struct db_partition *p;
	char name[DB_TABLE_NAME], sql[200];
	size_t i;

	for (i = 0; i < w->nparts; i++)
		if (w->parts[i].start == start &&
		    w->parts[i].seconds == db->partition_seconds)
			return &w->parts[i];
	if (w->nparts == DB_PARTITIONS_MAX) {
		fw_log(FW_LOG_ERROR, "db: %d nonce partitions are live; no room "
		    "for another until one expires", DB_PARTITIONS_MAX);
		return NULL;
	}

	p = &w->parts[w->nparts];
	p->start = start;
	p->seconds = db->partition_seconds;
	db_part_name(name, sizeof(name), p->start, p->seconds);
	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS %s ("
	    "key_id TEXT NOT NULL, nonce TEXT NOT NULL, ts INTEGER NOT NULL,"
	    " PRIMARY KEY (key_id, nonce)) WITHOUT ROWID", name);
	if (db_exec(w->conn, sql) != DB_OK ||
	    db_part_prepare(w->conn, p) != DB_OK)
		return NULL;
	w->nparts++;
	return p;
}

/* 1 if (key_id, nonce) is in p, 0 if not, -1 on error. */
static int
db_part_has(struct db_partition *p, const char *key_id, const char *nonce)
{
	int step;

	sqlite3_reset(p->select);
	if (sqlite3_bind_text(p->select, 1, key_id, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(p->select, 2, nonce, -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		return -1;
	step = sqlite3_step(p->select);
	sqlite3_reset(p->select);
	if (step == SQLITE_ROW)
		return 1;
	return step == SQLITE_DONE ? 0 : -1;
}

static int
db_part_insert(struct db_partition *p, const char *key_id,
    const char *nonce, int64_t timestamp)
{
	int step;

	sqlite3_reset(p->insert);
	if (sqlite3_bind_text(p->insert, 1, key_id, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(p->insert, 2, nonce, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(p->insert, 3, timestamp) != SQLITE_OK)
		return DB_ERROR;
	step = sqlite3_step(p->insert);
	sqlite3_reset(p->insert);
	if (step == SQLITE_DONE)
		return DB_OK;
	return (step & 0xff) == SQLITE_CONSTRAINT ? DB_DUPLICATE : DB_ERROR;
}

/* The oldest timestamp that can still be accepted at `now`. */
static int64_t
db_nonce_horizon(const struct db *db, int64_t now)
{
	return now - db->window - DB_NONCE_SLACK;
}

/*
 * Record one nonce inside the batch transaction.  Sets req->status;
 * returns DB_ERROR only when the transaction must be rolled back.
 */
static int
db_nonce_one(struct db *db, struct db_nonce_req *req, int64_t now)
{
	struct db_writer *w = &db->writer;
	struct db_partition *p;
	int64_t ts = req->timestamp;
	size_t i;
	int has;

	if (ts < db_nonce_horizon(db, now) ||
	    ts > now + db->window + DB_NONCE_SLACK) {
		req->status = DB_INVALID;
		return DB_OK;
	}
	/* Its partition may have been dropped: treat it as seen. */
	if (ts < w->nonce_floor) {
		req->status = DB_DUPLICATE;
		return DB_OK;
	}
	for (i = 0; i < w->nparts; i++) {
		has = db_part_has(&w->parts[i], req->key_id, req->nonce);
		if (has < 0)
			return DB_ERROR;
		if (has) {
			req->status = DB_DUPLICATE;
			return DB_OK;
		}
	}
	p = db_part_for(db, ts - ts % db->partition_seconds);
	if (p == NULL)
		return DB_ERROR;
	req->status = db_part_insert(p, req->key_id, req->nonce, ts);
	return req->status == DB_ERROR ? DB_ERROR : DB_OK;
}

static int
db_touch_flush(sqlite3 *c, const struct db_touch *t, size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = DB_OK;

	if (n == 0)
		return DB_OK;
	if (sqlite3_prepare_v2(c, "UPDATE key_versions SET last_used_at = ?3 "
	    "WHERE key_id = ?1 AND version = ?2 AND "
	    "(last_used_at IS NULL OR last_used_at < ?3)", -1, &st, NULL) !=
	    SQLITE_OK)
		return DB_ERROR;
	for (i = 0; i < n && rc == DB_OK; i++) {
		sqlite3_reset(st);
		if (sqlite3_bind_text(st, 1, t[i].key_id, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, t[i].version) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 3, t[i].when) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			rc = DB_ERROR;
	}
	sqlite3_finalize(st);
	return rc;
}

/* One transaction: every nonce of the batch and the pending touches. */
static void
db_batch_commit(struct db *db, struct db_nonce_req **batch, size_t n,
    const struct db_touch *touch, size_t ntouch, int64_t now)
{
	struct db_writer *w = &db->writer;
	size_t i;
	int rc;

	rc = db_exec(w->conn, "BEGIN IMMEDIATE");
	for (i = 0; i < n && rc == DB_OK; i++)
		if (batch[i]->purge_at == 0)
			rc = db_nonce_one(db, batch[i], now);
	if (rc == DB_OK)
		rc = db_touch_flush(w->conn, touch, ntouch);
	if (rc == DB_OK)
		rc = db_exec(w->conn, "COMMIT");
	if (rc == DB_OK)
		return;

	fw_log(FW_LOG_ERROR, "db: nonce batch of %zu failed: %s", n,
	    sqlite3_errmsg(w->conn));
	db_exec(w->conn, "ROLLBACK");
	for (i = 0; i < n; i++)
		batch[i]->status = DB_ERROR;
	/* Tables made in the rolled-back transaction are gone again. */
	if (db_parts_scan(w) != DB_OK)
		fw_log(FW_LOG_ERROR, "db: cannot list nonce partitions");
}

/* Read the nonce floor from meta; 0 when the row is missing. */
static int
db_floor_load(sqlite3 *c, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = DB_ERROR, step;

	if (sqlite3_prepare_v2(c, "SELECT value FROM meta WHERE name = "
	    "'nonce_floor'", -1, &st, NULL) != SQLITE_OK)
		return DB_ERROR;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW || step == SQLITE_DONE) {
		*out = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		rc = DB_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Write the nonce floor, inside the open transaction. */
static int
db_floor_store(sqlite3 *c, int64_t value)
{
	sqlite3_stmt *st = NULL;
	int rc = DB_ERROR;

	if (sqlite3_prepare_v2(c, "INSERT OR REPLACE INTO meta (name, value) "
	    "VALUES ('nonce_floor', ?1)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, value) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = DB_OK;
	sqlite3_finalize(st);
	return rc;
}

/* 1 if p holds no timestamp at or after the horizon of `now`. */
static int
db_part_expired(const struct db *db, const struct db_partition *p,
    int64_t now)
{
	return p->start + p->seconds - 1 < db_nonce_horizon(db, now);
}

/*
 * Retire every partition whose newest timestamp is before the horizon:
 * stop checking it, queue it for emptying, and raise the nonce floor to
 * the end of the newest one, in one short transaction (no rows move).
 */
static int
db_parts_expire(struct db *db, int64_t now)
{
	struct db_writer *w = &db->writer;
	struct db_partition *p;
	int64_t new_floor = w->nonce_floor;
	size_t i, nretire = 0;

	for (i = 0; i < w->nparts; i++)
		if (db_part_expired(db, &w->parts[i], now))
			nretire++;
	if (nretire == 0)
		return DB_OK;
	if (w->nretiring + nretire > DB_PARTITIONS_MAX)
		return DB_OK;		/* retry once some are dropped */
	for (i = 0; i < w->nparts; i++) {
		p = &w->parts[i];
		if (db_part_expired(db, p, now) &&
		    p->start + p->seconds > new_floor)
			new_floor = p->start + p->seconds;
	}
	if (db_exec(w->conn, "BEGIN IMMEDIATE") != DB_OK ||
	    db_floor_store(w->conn, new_floor) != DB_OK ||
	    db_exec(w->conn, "COMMIT") != DB_OK) {
		fw_log(FW_LOG_ERROR, "db: cannot retire nonce partitions: %s",
		    sqlite3_errmsg(w->conn));
		db_exec(w->conn, "ROLLBACK");
		return DB_ERROR;
	}
	w->nonce_floor = new_floor;

	i = 0;
	while (i < w->nparts) {
		p = &w->parts[i];
		if (!db_part_expired(db, p, now)) {
			i++;
			continue;
		}
		db_part_release(p);
		db_part_name(w->retiring[w->nretiring], DB_TABLE_NAME,
		    p->start, p->seconds);
		fw_log(FW_LOG_DEBUG, "db: retiring nonce partition %s",
		    w->retiring[w->nretiring]);
		w->nretiring++;
		*p = w->parts[--w->nparts];
	}
	return DB_OK;
}

static int64_t
db_elapsed_us(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * One purge step: delete rows of the oldest retired table, DB_PURGE_ROWS
 * at a time in key order, until it is empty (then drop it) or
 * budget_us has passed; one transaction.  1 if work remains.
 */
static int
db_purge_step(struct db *db, int64_t budget_us)
{
	struct db_writer *w = &db->writer;
	const char *name;
	char sql[256];
	struct timespec t0;
	int empty = 0;

	if (w->nretiring == 0)
		return 0;
	name = w->retiring[0];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (db_exec(w->conn, "BEGIN IMMEDIATE") != DB_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE (key_id, nonce) IN "
	    "(SELECT key_id, nonce FROM %s LIMIT %d)", name, name,
	    DB_PURGE_ROWS);
	do {
		if (db_exec(w->conn, sql) != DB_OK)
			goto fail;
		w->purge_rows += sqlite3_changes(w->conn);
		empty = sqlite3_changes(w->conn) < DB_PURGE_ROWS;
	} while (!empty && db_elapsed_us(&t0) < budget_us);
	if (empty) {
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", name);
		if (db_exec(w->conn, sql) != DB_OK)
			goto fail;
	}
	if (db_exec(w->conn, "COMMIT") != DB_OK)
		goto fail;
	w->purge_steps++;
	if (db_elapsed_us(&t0) > w->purge_max_us)
		w->purge_max_us = db_elapsed_us(&t0);
	if (empty) {
		/* The longest step is the longest the write lock was held. */
		fw_log(FW_LOG_INFO, "db: purged nonce partition %s: %" PRId64
		    " rows in %" PRId64 " steps, longest step %" PRId64 " us",
		    name, w->purge_rows, w->purge_steps, w->purge_max_us);
		w->purge_rows = w->purge_steps = w->purge_max_us = 0;
		memmove(w->retiring[0], w->retiring[1],
		    (w->nretiring - 1) * sizeof(w->retiring[0]));
		w->nretiring--;
	}
	return w->nretiring > 0;
fail:
	fw_log(FW_LOG_ERROR, "db: cannot purge nonce partition %s: %s", name,
	    sqlite3_errmsg(w->conn));
	db_exec(w->conn, "ROLLBACK");
	return 0;
}

/* Wait for work; take up to DB_NONCE_BATCH requests and the touches. */
static size_t
db_writer_take(struct db_writer *w, struct db_nonce_req **batch,
    struct db_touch *touch, size_t *ntouch)
{
	struct timespec until;
	size_t n = 0;

	if (w->head == NULL && !w->stop) {
		/* A pending purge goes on in steps while nothing else waits. */
		clock_gettime(CLOCK_MONOTONIC, &until);
		if (w->nretiring > 0) {
			until.tv_nsec += 2000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
		} else {
			until.tv_sec += 1;
		}
		pthread_cond_timedwait(&w->wake, &w->lock, &until);
	}
	while (w->head != NULL && n < DB_NONCE_BATCH) {
		batch[n++] = w->head;
		w->head = w->head->next;
	}
	if (w->head == NULL)
		w->tail = NULL;
	memcpy(touch, w->touch, w->ntouch * sizeof(*touch));
	*ntouch = w->ntouch;
	w->ntouch = 0;
	return n;
}

static void *
db_writer_main(void *arg)
{
	struct db *db = arg;
	struct db_writer *w = &db->writer;
	struct db_nonce_req *batch[DB_NONCE_BATCH];
	struct db_touch touch[DB_TOUCH_MAX];
	size_t n, ntouch, i;
	int64_t now;

	pthread_mutex_lock(&w->lock);
	while (!w->stop || w->head != NULL) {
		n = db_writer_take(w, batch, touch, &ntouch);
		pthread_mutex_unlock(&w->lock);

		now = db_now();
		if (n > 0 || ntouch > 0)
			db_batch_commit(db, batch, n, touch, ntouch, now);
		/* An explicit purge (db_nonce_purge) runs to the end. */
		for (i = 0; i < n; i++) {
			if (batch[i]->purge_at == 0)
				continue;
			batch[i]->status = db_parts_expire(db,
			    batch[i]->purge_at);
			while (db_purge_step(db, DB_PURGE_BUDGET_US))
				continue;
		}
		(void)db_parts_expire(db, now);
		(void)db_purge_step(db, DB_PURGE_BUDGET_US);

		pthread_mutex_lock(&w->lock);
		/* Wake exactly the callers of this batch, not every waiter. */
		for (i = 0; i < n; i++) {
			batch[i]->done = 1;
			pthread_cond_signal(&batch[i]->wake);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int
db_writer_start(struct db *db, const char *path, char *err, size_t errlen)
{
	struct db_writer *w = &db->writer;

	if (db_conn_open(db, path, 0, &w->conn, err, errlen) != DB_OK)
		return DB_ERROR;
	if (db_parts_scan(w) != DB_OK ||
	    db_floor_load(w->conn, &w->nonce_floor) != DB_OK) {
		snprintf(err, errlen, "cannot read the nonce store: %s",
		    sqlite3_errmsg(w->conn));
		return DB_ERROR;
	}
	if (pthread_create(&w->thread, NULL, db_writer_main, db) != 0) {
		snprintf(err, errlen, "cannot start the nonce writer");
		return DB_ERROR;
	}
	w->running = 1;
	return DB_OK;
}

/* Let the writer finish what is queued, then stop it. */
void
db_writer_stop(struct db *db)
{
	struct db_writer *w = &db->writer;

	if (w->running) {
		pthread_mutex_lock(&w->lock);
		w->stop = 1;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->running = 0;
	}
	db_parts_clear(w);
	db_conn_close(w->conn);
	w->conn = NULL;
}

/* Queue req and sleep until the writer has finished with it. */
static int
db_writer_submit(struct db *db, struct db_nonce_req *req)
{
	struct db_writer *w = &db->writer;
	int status;

	pthread_cond_init(&req->wake, NULL);
	pthread_mutex_lock(&w->lock);
	if (!w->running || w->stop) {
		pthread_mutex_unlock(&w->lock);
		pthread_cond_destroy(&req->wake);
		return DB_ERROR;
	}
	if (w->tail != NULL)
		w->tail->next = req;
	else
		w->head = req;
	w->tail = req;
	pthread_cond_signal(&w->wake);
	while (!req->done)
		pthread_cond_wait(&req->wake, &w->lock);
	status = req->status;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_destroy(&req->wake);
	return status;
}

int
db_nonce_record(struct db *db, const char *key_id, const char *nonce,
    int64_t timestamp)
{
	struct db_nonce_req req;
	size_t len;

	if (!db_key_id_ok(key_id) || nonce == NULL)
		return DB_INVALID;
	len = strlen(nonce);
	if (len == 0 || len > FW_NONCE_MAX)
		return DB_INVALID;
	memset(&req, 0, sizeof(req));
	req.key_id = key_id;
	req.nonce = nonce;
	req.timestamp = timestamp;
	req.status = DB_ERROR;
	return db_writer_submit(db, &req);
}

int
db_nonce_purge(struct db *db, int64_t now)
{
	struct db_nonce_req req;

	if (now <= 0)
		return DB_INVALID;
	memset(&req, 0, sizeof(req));
	req.purge_at = now;
	req.status = DB_ERROR;
	return db_writer_submit(db, &req);
}

/* Count rows of every nonce table, in one read snapshot. */
static int
db_nonce_sum(sqlite3 *c, long *out)
{
	sqlite3_stmt *names = NULL, *count = NULL;
	char sql[DB_TABLE_NAME + 32];
	int64_t start, seconds;
	const char *name;
	long total = 0;
	int step;

	if (sqlite3_prepare_v2(c, "SELECT name FROM sqlite_schema WHERE "
	    "type = 'table' AND name LIKE 'nonce\\_%' ESCAPE '\\'", -1,
	    &names, NULL) != SQLITE_OK)
		return DB_ERROR;
	while ((step = sqlite3_step(names)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(names, 0);
		if (db_part_parse(name, &start, &seconds) != 0)
			continue;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", name);
		if (sqlite3_prepare_v2(c, sql, -1, &count, NULL) != SQLITE_OK ||
		    sqlite3_step(count) != SQLITE_ROW)
			break;
		total += (long)sqlite3_column_int64(count, 0);
		sqlite3_finalize(count);
		count = NULL;
	}
	sqlite3_finalize(count);
	sqlite3_finalize(names);
	if (step != SQLITE_DONE)
		return DB_ERROR;
	*out = total;
	return DB_OK;
}

int
db_nonce_count(struct db *db, long *out)
{
	sqlite3 *c = db_reader_get(db);
	int rc = DB_ERROR;

	if (db_exec(c, "BEGIN") == DB_OK) {
		rc = db_nonce_sum(c, out);
		db_exec(c, "COMMIT");
	}
	db_reader_put(db, c);
	return rc;
}

void
db_key_touch(struct db *db, const char *key_id, uint32_t version,
    int64_t now)
{
	struct db_writer *w = &db->writer;
	struct db_touch *t;
	size_t i;

	if (!db_key_id_ok(key_id) || version == 0)
		return;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->ntouch; i++) {
		t = &w->touch[i];
		if (t->version == version && strcmp(t->key_id, key_id) == 0) {
			if (now > t->when)
				t->when = now;
			pthread_mutex_unlock(&w->lock);
			return;
		}
	}
	/*
	 * XXX: with DB_TOUCH_MAX distinct versions pending, further touches
	 * are dropped, so last_used_at can lag until the version is used
	 * again.
	 */
	if (w->running && w->ntouch < DB_TOUCH_MAX) {
		t = &w->touch[w->ntouch++];
		memcpy(t->key_id, key_id, strlen(key_id) + 1);
		t->version = version;
		t->when = now;
	}
	pthread_mutex_unlock(&w->lock);
}
