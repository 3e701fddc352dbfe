/* SPDX-License-Identifier: MIT */
/*
 * app_keys.c - `apiserver keys VERB`: provisioning on the data directory,
 * offline or while the server runs (sqlite locking keeps both safe), and
 * `apiserver cert`.  A new secret goes to stdout once, never to a log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "db.h"

/* Flags a verb accepts besides --data-dir and --master-key-file. */
#define KEYS_FLAG_ROLE	0x1
#define KEYS_FLAG_GRACE	0x2

struct keys_opts {
	struct app_data_opts	 data;
	const char		*role;
	const char		*grace;
	const char		*args[2];
	int			 nargs;
	/* Set by the verb's check, before anything is opened. */
	enum fw_role		 role_value;	/* create */
	unsigned long long	 grace_value;	/* rotate */
	uint32_t		 version;	/* revoke: 0 = every version */
};

static void
keys_usage(FILE *f)
{
	fprintf(f,
	    "usage: apiserver keys create ID [--role client|admin]\n"
	    "       apiserver keys list\n"
	    "       apiserver keys rotate ID [--grace SECONDS]\n"
	    "       apiserver keys revoke ID [VERSION]\n"
	    "common flags: --data-dir DIR (./var), --master-key-file FILE\n"
	    "create and rotate print the new credential (key_id=, version=,\n"
	    "secret=) on stdout; keep it: it is shown once.\n");
}

/* Parse flags after the verb.  0 ok, 1 help shown, -1 bad. */
static int
keys_parse(struct keys_opts *o, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--help") == 0) {
			keys_usage(stdout);
			return 1;
		}
		if (strcmp(argv[i], "--data-dir") == 0)
			dst = &o->data.data_dir;
		else if (strcmp(argv[i], "--master-key-file") == 0)
			dst = &o->data.master_key_file;
		else if (strcmp(argv[i], "--role") == 0)
			dst = &o->role;
		else if (strcmp(argv[i], "--grace") == 0)
			dst = &o->grace;
		if (dst != NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "apiserver keys: %s needs a "
				    "value\n", argv[i]);
				return -1;
			}
			*dst = argv[++i];
		} else if (argv[i][0] == '-' ||
		    o->nargs >= (int)(sizeof(o->args) / sizeof(o->args[0]))) {
			fprintf(stderr, "apiserver keys: unexpected '%s'\n",
			    argv[i]);
			return -1;
		} else {
			o->args[o->nargs++] = argv[i];
		}
	}
	return 0;
}

/* A key id and at most max arguments; 0 ok, -1 with a message. */
static int
key_id_arg(const struct keys_opts *o, const char *verb, int max)
{
	if (o->nargs < 1) {
		fprintf(stderr, "apiserver keys: %s needs a key id\n", verb);
		return -1;
	}
	if (o->nargs > max) {
		fprintf(stderr, "apiserver keys: too many arguments for "
		    "%s\n", verb);
		return -1;
	}
	if (fw_parse_key_id(o->args[0]) != 0) {
		fprintf(stderr, "apiserver keys: a key id is 1-64 of "
		    "A-Za-z0-9._-\n");
		return -1;
	}
	return 0;
}

static int
keys_create_check(struct keys_opts *o)
{
	if (key_id_arg(o, "create", 1) != 0)
		return -1;
	if (strspn(o->args[0], ".") == strlen(o->args[0])) {
		fprintf(stderr, "apiserver keys: a key id made only of dots "
		    "could not be named in an admin URL; choose another\n");
		return -1;
	}
	o->role_value = fw_role_parse(o->role != NULL ? o->role : "client");
	if (o->role_value == FW_ROLE_NONE) {
		fprintf(stderr, "apiserver keys: --role is client or admin\n");
		return -1;
	}
	return 0;
}

static int
keys_list_check(struct keys_opts *o)
{
	if (o->nargs != 0) {
		fprintf(stderr, "apiserver keys: list takes no arguments\n");
		return -1;
	}
	return 0;
}

static int
keys_rotate_check(struct keys_opts *o)
{
	o->grace_value = APP_DEFAULT_GRACE;
	if (key_id_arg(o, "rotate", 1) != 0)
		return -1;
	if (o->grace != NULL && app_parse_uint(o->grace, 0, APP_MAX_GRACE,
	    &o->grace_value) != 0) {
		fprintf(stderr, "apiserver keys: --grace wants seconds from 0 "
		    "to %d\n", APP_MAX_GRACE);
		return -1;
	}
	return 0;
}

static int
keys_revoke_check(struct keys_opts *o)
{
	o->version = 0;
	if (key_id_arg(o, "revoke", 2) != 0)
		return -1;
	if (o->nargs == 2 &&
	    fw_parse_key_version(o->args[1], &o->version) != 0) {
		fprintf(stderr, "apiserver keys: VERSION is a positive number "
		    "without leading zeros, as `keys list` shows it\n");
		return -1;
	}
	return 0;
}

static int
keys_create(struct db *db, const struct keys_opts *o)
{
	struct app_credential c;
	int rc;

	memset(&c, 0, sizeof(c));
	snprintf(c.key_id, sizeof(c.key_id), "%s", o->args[0]);
	c.version = 1;
	rc = db_key_create(db, c.key_id, o->role_value, (int64_t)time(NULL),
	    c.secret);
	if (rc != DB_OK) {
		fprintf(stderr, "apiserver keys: cannot create %s: %s\n",
		    c.key_id, db_strerror(rc));
		return APP_EXIT_FAIL;
	}
	db_audit(db, (int64_t)time(NULL), "cli", "key.create", c.key_id, "-");
	app_credential_print(&c);
	fw_wipe(&c, sizeof(c));
	return APP_EXIT_OK;
}

static int
keys_rotate(struct db *db, const struct keys_opts *o)
{
	struct app_credential c;
	int64_t until;
	int rc;

	memset(&c, 0, sizeof(c));
	snprintf(c.key_id, sizeof(c.key_id), "%s", o->args[0]);
	rc = db_key_rotate(db, c.key_id, (int64_t)o->grace_value,
	    (int64_t)time(NULL), &c.version, &until, c.secret);
	if (rc != DB_OK) {
		fprintf(stderr, "apiserver keys: cannot rotate %s: %s%s\n",
		    c.key_id, db_strerror(rc), rc == DB_REVOKED ?
		    " (create a new key id instead)" : "");
		return APP_EXIT_FAIL;
	}
	db_audit(db, (int64_t)time(NULL), "cli", "key.rotate", c.key_id, "-");
	app_credential_print(&c);
	fprintf(stderr, "older versions stay valid until %lld\n",
	    (long long)until);
	fw_wipe(&c, sizeof(c));
	return APP_EXIT_OK;
}

static int
keys_revoke(struct db *db, const struct keys_opts *o)
{
	char target[FW_KEY_ID_MAX + 16];
	int rc;

	rc = db_key_revoke(db, o->args[0], o->version, (int64_t)time(NULL));
	if (rc != DB_OK) {
		fprintf(stderr, "apiserver keys: cannot revoke %s: %s\n",
		    o->args[0], db_strerror(rc));
		return APP_EXIT_FAIL;
	}
	if (o->version > 0)
		snprintf(target, sizeof(target), "%s/v%lu", o->args[0],
		    (unsigned long)o->version);
	else
		snprintf(target, sizeof(target), "%s", o->args[0]);
	db_audit(db, (int64_t)time(NULL), "cli", "key.revoke", target, "-");
	fprintf(stderr, "revoked %s %s\n", o->args[0],
	    o->version > 0 ? o->args[1] : "(every version)");
	return APP_EXIT_OK;
}

/* A unix time as UTC "YYYY-MM-DDTHH:MM:SSZ", or "-" for none (0). */
static const char *
list_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

static void
list_print(const struct db_key_info *r, void *arg)
{
	char c[32], v[32], u[32];

	(void)arg;
	printf("%-24s %-6s v%-4u %-8s created=%s valid_until=%s "
	    "last_used=%s\n", r->key_id, fw_role_name(r->role), r->version,
	    r->state, list_time(r->created_at, c, sizeof(c)),
	    list_time(r->valid_until, v, sizeof(v)),
	    list_time(r->last_used_at, u, sizeof(u)));
}

static int
keys_list(struct db *db, const struct keys_opts *o)
{
	(void)o;
	if (db_key_list(db, (int64_t)time(NULL), list_print, NULL) != DB_OK) {
		fprintf(stderr, "apiserver keys: cannot list keys\n");
		return APP_EXIT_FAIL;
	}
	return APP_EXIT_OK;
}

/*
 * Each verb: the flags it takes, a check of its arguments that runs
 * before the data directory is touched, and the work on the database.
 */
static const struct {
	const char	*name;
	unsigned	 flags;
	int		(*check)(struct keys_opts *);
	int		(*run)(struct db *, const struct keys_opts *);
} keys_verbs[] = {
	{ "create", KEYS_FLAG_ROLE, keys_create_check, keys_create },
	{ "list", 0, keys_list_check, keys_list },
	{ "rotate", KEYS_FLAG_GRACE, keys_rotate_check, keys_rotate },
	{ "revoke", 0, keys_revoke_check, keys_revoke },
};

/* 0 if o holds only flags that verb `i` takes; -1 with a message. */
static int
keys_flags_check(const struct keys_opts *o, size_t i)
{
	const char *flag = NULL;

	if (o->role != NULL && !(keys_verbs[i].flags & KEYS_FLAG_ROLE))
		flag = "--role";
	else if (o->grace != NULL && !(keys_verbs[i].flags & KEYS_FLAG_GRACE))
		flag = "--grace";
	if (flag == NULL)
		return 0;
	fprintf(stderr, "apiserver keys: %s does not take %s\n",
	    keys_verbs[i].name, flag);
	return -1;
}

int
app_cmd_keys(int argc, char **argv)
{
	struct keys_opts o;
	struct db *db = NULL;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	o.data.data_dir = APP_DEFAULT_DATA_DIR;
	o.data.synchronous_full = 1;
	o.data.window = 300;
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		keys_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? APP_EXIT_USAGE : APP_EXIT_OK;
	}
	for (i = 0; i < sizeof(keys_verbs) / sizeof(keys_verbs[0]); i++)
		if (strcmp(argv[1], keys_verbs[i].name) == 0)
			break;
	if (i == sizeof(keys_verbs) / sizeof(keys_verbs[0])) {
		fprintf(stderr, "apiserver keys: unknown verb '%s'\n",
		    argv[1]);
		keys_usage(stderr);
		return APP_EXIT_USAGE;
	}

	/* Every usage error is found before anything is opened. */
	if ((rc = keys_parse(&o, argc - 2, argv + 2)) > 0)
		return APP_EXIT_OK;
	if (rc < 0 || keys_flags_check(&o, i) != 0 ||
	    keys_verbs[i].check(&o) != 0) {
		keys_usage(stderr);
		return APP_EXIT_USAGE;
	}

	if (access(o.data.data_dir, F_OK) != 0) {
		fprintf(stderr, "apiserver keys: data directory %s does not "
		    "exist: start the server once, or name it with "
		    "--data-dir\n", o.data.data_dir);
		return APP_EXIT_FAIL;
	}
	if (app_db_open(&o.data, &db) != 0)
		return APP_EXIT_FAIL;
	rc = keys_verbs[i].run(db, &o);
	db_close(db);
	return rc;
}

int
app_cmd_cert(int argc, char **argv)
{
	const char *dir = "certs", *names[16];
	char fp[128], err[256];
	size_t n = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("usage: apiserver cert [--out DIR] [--name "
			    "NAME]...\nMakes DIR/cert.pem and DIR/key.pem "
			    "(ECDSA P-256, self-signed; default names "
			    "localhost and 127.0.0.1;\nthe server's own first "
			    "start also adds ::1).\n");
			return APP_EXIT_OK;
		}
		if (strcmp(argv[i], "--out") != 0 &&
		    strcmp(argv[i], "--name") != 0) {
			fprintf(stderr, "apiserver cert: unexpected '%s' (see "
			    "--help)\n", argv[i]);
			return APP_EXIT_USAGE;
		}
		if (i + 1 >= argc || argv[i + 1][0] == '\0') {
			fprintf(stderr, "apiserver cert: %s needs a value\n",
			    argv[i]);
			return APP_EXIT_USAGE;
		}
		if (strcmp(argv[i], "--out") == 0) {
			dir = argv[++i];
		} else if (n < sizeof(names) / sizeof(names[0])) {
			names[n++] = argv[++i];
		} else {
			fprintf(stderr, "apiserver cert: at most 16 names\n");
			return APP_EXIT_USAGE;
		}
	}
	if (n == 0) {
		names[n++] = "localhost";
		names[n++] = "127.0.0.1";
	}
	if (fw_cert_generate(dir, names, n, 825, fp, sizeof(fp), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "apiserver cert: %s\n", err);
		return APP_EXIT_FAIL;
	}
	printf("%s/cert.pem\n%s/key.pem\nSHA-256 fingerprint %s\n", dir, dir,
	    fp);
	return APP_EXIT_OK;
}
