/* SPDX-License-Identifier: MIT */
/*
 * db.h - the sqlite key and nonce stores.
 *
 * One database file (DATA_DIR/apiserver.db, WAL mode) holds the schema
 * version, the keys and their versions (secrets sealed with
 * ChaCha20-Poly1305 under a 32-byte master key, key id and version as
 * associated data), the nonces (partitioned by time so that expiry drops
 * whole tables) and the audit log.
 *
 * Nonces go through one writer thread with group commit: a caller of
 * db_nonce_record waits until the transaction holding its nonce has
 * committed.  Reads use a small pool of connections.  All db_* functions
 * are thread-safe once db_open has returned.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "apiserver.h"

struct db;

enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND = -1,
	DB_DUPLICATE = -2,
	DB_ERROR = -3,
	DB_EXISTS = -4,		/* create of an existing key id */
	DB_BAD_MASTER_KEY = -5,	/* master key does not open the secrets */
	DB_INVALID = -6,	/* bad argument */
	DB_REVOKED = -7		/* every version of the key is revoked */
};

const char	*db_strerror(int status);

struct db_options {
	const char	*path;		/* the database file */
	const uint8_t	*master_key;	/* 32 bytes; copied, caller wipes */
	int		 synchronous_full; /* 1 (default) FULL, 0 NORMAL */
	unsigned	 window;	/* seconds; sets nonce expiry */
	int		 start_writer;	/* 1 for the server, 0 for the CLI */
};

/*
 * Open (creating if needed), run migrations, check the master key
 * against an existing database without writing anything when it does
 * not fit.  0 ok; a negative db_status with the reason in err.
 */
int	db_open(const struct db_options *opt, struct db **out, char *err,
	    size_t errlen);
void	db_close(struct db *db);

/* Number of keys (0 on a fresh database). */
int	db_key_count(struct db *db, long *out);

/*
 * Create key_id at version 1 with a fresh secret, written to secret
 * (FW_SECRET_B64 + 1 bytes; caller wipes).  DB_EXISTS if the id exists;
 * DB_INVALID for a malformed id and for an id made only of dots ("."
 * and ".." could never be named in an admin URL path).
 */
int	db_key_create(struct db *db, const char *key_id, enum fw_role role,
	    int64_t now, char *secret);

/*
 * Rotate: add version n+1 with a fresh secret; every older version still
 * valid stays valid until now + grace.  Outputs the new version and the
 * end of the grace period.  DB_NOT_FOUND for an unknown key id;
 * DB_REVOKED, changing nothing, when every version of the key is revoked
 * (a revoked key stays revoked: create a new key id instead).
 */
int	db_key_rotate(struct db *db, const char *key_id, int64_t grace,
	    int64_t now, uint32_t *version, int64_t *valid_until,
	    char *secret);

/*
 * Revoke one version (version > 0) or all versions (version == 0).
 * DB_NOT_FOUND for an unknown key id or version.  Revoking what is
 * already revoked is DB_OK and keeps the first revocation time.
 */
int	db_key_revoke(struct db *db, const char *key_id, uint32_t version,
	    int64_t now);

/* The store interface for fw_key_get: DB_OK, DB_NOT_FOUND, DB_ERROR. */
int	db_key_get(struct db *db, const char *key_id, uint32_t version,
	    int64_t now, struct fw_key *out);

/*
 * Record a nonce durably (group commit).  DB_OK or DB_DUPLICATE;
 * DB_INVALID for a malformed key id or nonce or a timestamp more than
 * window + 60 s away from the writer's clock; DB_ERROR on I/O failure
 * and always when the database was opened without a writer.
 *
 * DB_DUPLICATE also for any timestamp below the nonce floor: the end of
 * the newest nonce partition ever dropped, kept in the database.  Those
 * nonces are gone, so such a request could be a replay; this holds even
 * when the server restarts with a larger window.  The guard answers a
 * duplicate with its uniform 401.
 */
int	db_nonce_record(struct db *db, const char *key_id, const char *nonce,
	    int64_t timestamp);

/* Number of live nonce rows, over every partition. */
int	db_nonce_count(struct db *db, long *out);

/*
 * Note a use of key_id/version (batched into the writer's next
 * transaction, at most a second later; cheap).  Ignored without a writer.
 */
void	db_key_touch(struct db *db, const char *key_id, uint32_t version,
	    int64_t now);

/* One row of db_key_list. */
struct db_key_info {
	char		key_id[FW_KEY_ID_MAX + 1];
	enum fw_role	role;
	uint32_t	version;
	const char	*state;		/* active, grace, expired, revoked */
	int64_t		created_at;
	int64_t		valid_until;	/* 0 = no end */
	int64_t		last_used_at;	/* 0 = never */
};

/*
 * Call fn for each key version, ordered by key id and version.  fn must
 * not call db_* functions (it runs holding a pooled connection).
 */
int	db_key_list(struct db *db, int64_t now,
	    void (*fn)(const struct db_key_info *row, void *arg), void *arg);

/* Append to the audit log. */
int	db_audit(struct db *db, int64_t now, const char *admin_key_id,
	    const char *action, const char *target, const char *request_id);

/* Call fn for the newest `limit` audit rows, newest first (fn as above). */
struct db_audit_row {
	int64_t		 time;
	const char	*admin_key_id;
	const char	*action;
	const char	*target;
	const char	*request_id;
};
int	db_audit_list(struct db *db, unsigned limit,
	    void (*fn)(const struct db_audit_row *row, void *arg), void *arg);

/* Fill *store with functions that call into db. */
void	db_store_bind(struct db *db, struct fw_store *store);

#endif /* DB_H */
