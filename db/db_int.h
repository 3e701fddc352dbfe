/* SPDX-License-Identifier: MIT */
/*
 * db_int.h - what the db_*.c files share and nothing else includes
 * (except the unit tests, which drive the nonce clock through it).
 *
 * struct db holds the master key; it is wiped in db_close.  The reader
 * pool, the admin connection and the nonce writer each have their own
 * sqlite3 handle and their own lock; no handle is used by two threads
 * at once.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db.h"

#define DB_SCHEMA_VERSION	2	/* the newest schema we know */
#define DB_MASTER_KEY_LEN	32
#define DB_BUSY_TIMEOUT_MS	5000
#define DB_READERS		4	/* read connections (server) */
#define DB_NONCE_BATCH		256	/* nonces per writer transaction */
#define DB_NONCE_SLACK		60	/* seconds kept past the window */
#define DB_PARTITIONS_MAX	64	/* live nonce tables we track */
#define DB_TOUCH_MAX		256	/* pending last_used_at updates */
#define DB_TABLE_NAME		64	/* "nonce_<int64>_<int64>" */
#define DB_PURGE_ROWS		256	/* rows per DELETE while purging */
#define DB_PURGE_BUDGET_US	2000	/* writer time per purge step */

/* Sealed secret: nonce || ciphertext || tag. */
#define DB_SEAL_NONCE		12
#define DB_SEAL_TAG		16
#define DB_SEAL_OVERHEAD	(DB_SEAL_NONCE + DB_SEAL_TAG)

struct db_nonce_req;

/* One live nonce table: nonce_<start>_<seconds>. */
struct db_partition {
	int64_t		 start;		/* first timestamp it holds */
	int64_t		 seconds;	/* span of timestamps */
	sqlite3_stmt	*select;	/* is (key_id, nonce) here? */
	sqlite3_stmt	*insert;
};

struct db_touch {
	char		key_id[FW_KEY_ID_MAX + 1];
	uint32_t	version;
	int64_t		when;
};

struct db_writer {
	pthread_t		 thread;
	int			 running;
	int			 stop;
	sqlite3			*conn;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* work for the writer */
	struct db_nonce_req	*head, *tail;	/* queued, under lock */
	struct db_touch		 touch[DB_TOUCH_MAX];	/* under lock */
	size_t			 ntouch;
	/* Only the writer thread touches the following. */
	struct db_partition	 parts[DB_PARTITIONS_MAX];
	size_t			 nparts;
	int64_t			 nonce_floor;	/* as in meta, committed */
	/* Expired tables being emptied a step at a time, then dropped. */
	char			 retiring[DB_PARTITIONS_MAX][DB_TABLE_NAME];
	size_t			 nretiring;
	int64_t			 purge_rows;	/* of retiring[0] so far */
	int64_t			 purge_steps;
	int64_t			 purge_max_us;	/* longest step */
};

struct db {
	uint8_t		 master[DB_MASTER_KEY_LEN];
	int		 synchronous_full;
	int64_t		 window;
	int64_t		 partition_seconds;

	pthread_mutex_t	 pool_lock;
	pthread_cond_t	 pool_free;
	sqlite3		*readers[DB_READERS];
	int		 reader_busy[DB_READERS];
	sqlite3_stmt	*reader_key_get[DB_READERS];	/* held with it */
	size_t		 nreaders;

	pthread_mutex_t	 admin_lock;
	sqlite3		*admin;		/* key and audit writes */

	struct db_writer writer;
};

/* db.c */
int	db_conn_open(struct db *db, const char *path, int readonly,
	    sqlite3 **out, char *err, size_t errlen);
void	db_conn_close(sqlite3 *conn);
sqlite3	*db_reader_get(struct db *db);
void	db_reader_put(struct db *db, sqlite3 *conn);
sqlite3_stmt *db_reader_key_get_stmt(struct db *db, sqlite3 *conn,
	    const char *sql);
int	db_exec(sqlite3 *conn, const char *sql);
int	db_key_id_ok(const char *key_id);

/* db_seal.c: seal and open one secret; key id and version are the AD. */
void	db_seal_init(void);
int	db_seal(const uint8_t master[DB_MASTER_KEY_LEN], const char *key_id,
	    uint32_t version, const void *plain, size_t len, uint8_t *out,
	    size_t outlen);
int	db_unseal(const uint8_t master[DB_MASTER_KEY_LEN], const char *key_id,
	    uint32_t version, const uint8_t *sealed, size_t sealed_len,
	    uint8_t *out, size_t outlen, size_t *plain_len);

/* db_nonce.c */
int	db_writer_start(struct db *db, const char *path, char *err,
	    size_t errlen);
void	db_writer_stop(struct db *db);

/*
 * Test hook: have the writer drop every partition that has expired at
 * `now`, and wait until it has.  DB_OK, or DB_ERROR without a writer.
 */
int	db_nonce_purge(struct db *db, int64_t now);

#endif /* DB_INT_H */
