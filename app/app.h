/* SPDX-License-Identifier: MIT */
/*
 * app.h - the default application: command-line verbs, the data
 * directory, and the default routes.  Nothing in framework/ includes
 * this.
 */
#ifndef APP_H
#define APP_H

#include <stddef.h>
#include <stdint.h>

#include "apiserver.h"

struct db;

/* Exit codes of every verb. */
enum app_exit {
	APP_EXIT_OK = 0,
	APP_EXIT_FAIL = 1,	/* runtime failure: message on stderr */
	APP_EXIT_USAGE = 2,	/* bad flags or arguments */
	APP_EXIT_HTTP = 22	/* call: the server answered >= 400 */
};

#define APP_DEFAULT_DATA_DIR	"var"
#define APP_DB_FILE		"apiserver.db"
#define APP_ADMIN_CREDENTIAL	"admin.credential"
#define APP_MASTER_KEY_FILE	"master.key"
#define APP_MASTER_KEY_ENV	"APISERVER_MASTER_KEY_FILE"
#define APP_CREDENTIAL_ENV	"APISERVER_CREDENTIAL"
#define APP_DEFAULT_GRACE	86400
#define APP_MAX_GRACE		(90 * 86400)
#define APP_JSON_DEPTH_MAX	32	/* nesting of arrays and objects */
#define APP_JSON_VALUES_MAX	20000	/* array elements + object members */

/* One credential: what a client needs to sign. */
struct app_credential {
	char		key_id[FW_KEY_ID_MAX + 1];
	uint32_t	version;
	char		secret[FW_SECRET_MAX + 1];
};

/* Options shared by every verb that opens the database. */
struct app_data_opts {
	const char	*data_dir;
	const char	*master_key_file;	/* NULL: env, then default */
	unsigned	 window;
	int		 synchronous_full;
	int		 start_writer;
};

/* out = dir "/" name; 0 ok, -1 (message printed) when too long. */
int	app_path_join(char *out, size_t len, const char *dir, const char *name);

/* Create DATA_DIR (0700) if missing.  0 ok, -1 with a message. */
int	app_data_dir_prepare(const char *dir);

/*
 * Open the database, loading (or on first use creating) the master key.
 * 0 ok; -1 after printing a message on stderr.
 */
int	app_db_open(const struct app_data_opts *o, struct db **out);

/* Write a credential file with mode 0600 (replacing it atomically). */
int	app_credential_write(const char *path, const struct app_credential *c);

/* Read a credential file.  0 ok, -1 with the reason in err. */
int	app_credential_read(const char *path, struct app_credential *c,
	    char *err, size_t errlen);

/* Print a credential in the file format on stdout. */
void	app_credential_print(const struct app_credential *c);

/* Register the default routes on srv; db is their store. */
int	app_routes_register(struct fw_server *srv, struct db *db,
	    int64_t max_grace, int64_t default_grace);

/* Verbs: argv[0] is the verb itself. */
int	app_cmd_serve(int argc, char **argv);
int	app_cmd_keys(int argc, char **argv);
int	app_cmd_cert(int argc, char **argv);
int	app_cmd_call(int argc, char **argv);
int	app_cmd_sign(int argc, char **argv);

/* Parse a decimal in [min, max]; 0 ok, -1 otherwise. */
int	app_parse_uint(const char *s, unsigned long long min,
	    unsigned long long max, unsigned long long *out);

#endif /* APP_H */
