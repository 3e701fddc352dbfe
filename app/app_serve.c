/* SPDX-License-Identifier: MIT */
/*
 * app_serve.c - `apiserver [serve] [FLAGS]`: parse flags, open the data
 * directory, make the first admin key and the first certificate when
 * missing, start the server, and stop cleanly on SIGINT or SIGTERM.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "db.h"

struct serve_opts {
	struct fw_config	fw;
	struct app_data_opts	data;
	const char		*cert;
	const char		*key;
	unsigned long long	grace;
	unsigned long long	max_grace;
	int			verbose;
};

enum flag_kind { FLAG_BOOL, FLAG_UINT, FLAG_STRING };

struct flag {
	const char		*name;
	enum flag_kind		 kind;
	unsigned long long	 min, max;
	const char		*help;
};

static const struct flag serve_flags[] = {
	{ "--listen", FLAG_STRING, 0, 0,
	    "ADDR:PORT to serve on (127.0.0.1:8443; port 0 picks one)" },
	{ "--data-dir", FLAG_STRING, 0, 0, "data directory (./var)" },
	{ "--cert", FLAG_STRING, 0, 0,
	    "PEM certificate chain (default DATA_DIR/certs/cert.pem)" },
	{ "--key", FLAG_STRING, 0, 0,
	    "PEM private key (default DATA_DIR/certs/key.pem)" },
	{ "--master-key-file", FLAG_STRING, 0, 0,
	    "master key sealing the secrets (DATA_DIR/master.key)" },
	{ "--window", FLAG_UINT, 1, 86400,
	    "seconds of allowed clock skew, each way (300)" },
	{ "--max-body", FLAG_UINT, 1, 64ULL << 20,
	    "largest request body in bytes (1048576)" },
	{ "--max-header", FLAG_UINT, 1024, 1048576,
	    "largest request line and headers in bytes (16384)" },
	{ "--threads", FLAG_UINT, 2, 1024, "HTTP worker threads (32)" },
	{ "--tls-threads", FLAG_UINT, 0, 256,
	    "TLS event loops, 0 = one per core (0)" },
	{ "--max-connections", FLAG_UINT, 1, 1000000,
	    "open client connections at most (4096)" },
	{ "--handshake-timeout", FLAG_UINT, 100, 600000,
	    "ms to finish the TLS handshake (10000)" },
	{ "--idle-timeout", FLAG_UINT, 100, 3600000,
	    "ms a connection may stay silent (60000)" },
	{ "--request-timeout", FLAG_UINT, 100, 3600000,
	    "ms to receive a request's headers and body (30000)" },
	{ "--grace", FLAG_UINT, 0, APP_MAX_GRACE,
	    "default grace period of a rotation, seconds (86400)" },
	{ "--sync", FLAG_STRING, 0, 0,
	    "full (durable on power loss, default) or normal" },
	{ "--insecure-http", FLAG_BOOL, 0, 0,
	    "plain HTTP instead of TLS (loopback only)" },
	{ "--dev", FLAG_BOOL, 0, 0,
	    "401 bodies say why (loopback only)" },
	{ "--no-access-log", FLAG_BOOL, 0, 0,
	    "no log line per request (refusals are still logged)" },
	{ "--verbose", FLAG_BOOL, 0, 0, "debug logging" },
	{ "--help", FLAG_BOOL, 0, 0, "this text" },
	{ "--version", FLAG_BOOL, 0, 0, "print the version" },
};

static void
serve_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: apiserver [serve] [FLAGS]\n\n");
	for (i = 0; i < sizeof(serve_flags) / sizeof(serve_flags[0]); i++)
		fprintf(f, "  %-20s %s\n", serve_flags[i].name,
		    serve_flags[i].help);
	fprintf(f, "\nOther verbs: keys, cert, call, sign (`apiserver help`).\n");
}

/* Store one parsed flag into o.  0 ok, -1 on a bad value. */
static int
serve_set(struct serve_opts *o, const char *name, const char *sval,
    unsigned long long v)
{
	if (strcmp(name, "--listen") == 0)
		o->fw.listen = sval;
	else if (strcmp(name, "--data-dir") == 0)
		o->data.data_dir = sval;
	else if (strcmp(name, "--cert") == 0)
		o->cert = sval;
	else if (strcmp(name, "--key") == 0)
		o->key = sval;
	else if (strcmp(name, "--master-key-file") == 0)
		o->data.master_key_file = sval;
	else if (strcmp(name, "--window") == 0)
		o->fw.window = (unsigned)v;
	else if (strcmp(name, "--max-body") == 0)
		o->fw.max_body = (size_t)v;
	else if (strcmp(name, "--max-header") == 0)
		o->fw.max_header = (unsigned)v;
	else if (strcmp(name, "--threads") == 0)
		o->fw.threads = (unsigned)v;
	else if (strcmp(name, "--tls-threads") == 0)
		o->fw.tls_threads = (unsigned)v;
	else if (strcmp(name, "--max-connections") == 0)
		o->fw.max_connections = (unsigned)v;
	else if (strcmp(name, "--handshake-timeout") == 0)
		o->fw.handshake_timeout_ms = (unsigned)v;
	else if (strcmp(name, "--idle-timeout") == 0)
		o->fw.idle_timeout_ms = (unsigned)v;
	else if (strcmp(name, "--request-timeout") == 0)
		o->fw.request_timeout_ms = (unsigned)v;
	else if (strcmp(name, "--grace") == 0)
		o->grace = v;
	else if (strcmp(name, "--sync") == 0) {
		if (strcmp(sval, "full") == 0)
			o->data.synchronous_full = 1;
		else if (strcmp(sval, "normal") == 0)
			o->data.synchronous_full = 0;
		else
			return -1;
	} else if (strcmp(name, "--insecure-http") == 0)
		o->fw.insecure_http = 1;
	else if (strcmp(name, "--dev") == 0)
		o->fw.dev = 1;
	else if (strcmp(name, "--verbose") == 0)
		o->verbose = 1;
	else if (strcmp(name, "--no-access-log") == 0)
		o->fw.no_access_log = 1;
	return 0;
}

/* Parse argv (argv[0] is the verb).  0 ok, 1 help/version shown, -1 bad. */
static int
serve_parse(struct serve_opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const struct flag *f = NULL;
		char name[64];
		const char *val = NULL, *eq = strchr(argv[i], '=');
		unsigned long long v = 0;
		size_t k, n = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (strcmp(argv[i], "serve") == 0 && i == 1)
			continue;
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, argv[i], n);
		name[n] = '\0';
		for (k = 0; k < sizeof(serve_flags) / sizeof(serve_flags[0]);
		    k++)
			if (strcmp(serve_flags[k].name, name) == 0)
				f = &serve_flags[k];
		if (f == NULL) {
			fprintf(stderr, "apiserver: unknown flag '%s' (see "
			    "--help)\n", argv[i]);
			return -1;
		}
		if (strcmp(name, "--help") == 0) {
			serve_usage(stdout);
			return 1;
		}
		if (strcmp(name, "--version") == 0) {
			printf("apiserver %s\n", FW_VERSION);
			return 1;
		}
		if (f->kind != FLAG_BOOL) {
			val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL || val[0] == '\0') {
				fprintf(stderr, "apiserver: %s needs a "
				    "value\n", name);
				return -1;
			}
		} else if (eq != NULL) {
			fprintf(stderr, "apiserver: %s takes no value\n",
			    name);
			return -1;
		}
		if (f->kind == FLAG_UINT &&
		    app_parse_uint(val, f->min, f->max, &v) != 0) {
			fprintf(stderr, "apiserver: %s wants a whole number "
			    "from %llu to %llu, not '%s'\n", name, f->min,
			    f->max, val);
			return -1;
		}
		if (serve_set(o, name, val, v) != 0) {
			fprintf(stderr, "apiserver: bad value '%s' for %s\n",
			    val, name);
			return -1;
		}
	}
	return 0;
}

/* On an empty database: create the admin key and its credential file. */
static int
first_admin(struct db *db, const char *data_dir)
{
	struct app_credential c;
	char path[PATH_MAX];
	long count = 0;

	if (db_key_count(db, &count) != DB_OK)
		return -1;
	if (count > 0)
		return 0;
	memset(&c, 0, sizeof(c));
	snprintf(c.key_id, sizeof(c.key_id), "admin");
	c.version = 1;
	if (db_key_create(db, c.key_id, FW_ROLE_ADMIN, (int64_t)time(NULL),
	    c.secret) != DB_OK) {
		fprintf(stderr, "apiserver: cannot create the admin key\n");
		return -1;
	}
	if (app_path_join(path, sizeof(path), data_dir,
	    APP_ADMIN_CREDENTIAL) != 0)
		return -1;
	if (app_credential_write(path, &c) != 0) {
		fprintf(stderr, "apiserver: cannot write %s: %s\n", path,
		    strerror(errno));
		fw_wipe(&c, sizeof(c));
		return -1;
	}
	fw_wipe(&c, sizeof(c));
	fw_log(FW_LOG_INFO, "created admin key 'admin'; its credential is in "
	    "%s (mode 0600)", path);
	return 0;
}

/* Use DATA_DIR/certs/{cert,key}.pem, making them on first start. */
static int
default_certificate(struct serve_opts *o, char *cert, char *key,
    size_t len)
{
	static const char *const names[] = { "localhost", "127.0.0.1", "::1" };
	char dir[PATH_MAX], fp[128], err[256];
	struct stat st;

	if (o->fw.insecure_http)
		return 0;
	if (o->cert != NULL) {
		o->fw.cert_file = o->cert;
		o->fw.key_file = o->key;
		return 0;
	}
	if (app_path_join(dir, sizeof(dir), o->data.data_dir, "certs") != 0 ||
	    app_path_join(cert, len, dir, "cert.pem") != 0 ||
	    app_path_join(key, len, dir, "key.pem") != 0)
		return -1;
	o->fw.cert_file = cert;
	o->fw.key_file = key;
	if (stat(cert, &st) == 0 && stat(key, &st) == 0)
		return 0;
	if (fw_cert_generate(dir, names, 3, 825, fp, sizeof(fp), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "apiserver: cannot make a certificate: %s\n",
		    err);
		return -1;
	}
	fw_log(FW_LOG_INFO, "made a self-signed certificate for localhost, "
	    "127.0.0.1 and ::1: %s (SHA-256 %s); clients use it with "
	    "--cacert", cert, fp);
	return 0;
}

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int
serve_run(struct serve_opts *o)
{
	char cert[PATH_MAX], key[PATH_MAX], err[512];
	struct fw_server *srv = NULL;
	struct fw_store store;
	struct db *db = NULL;
	struct sigaction sa;
	int rc = APP_EXIT_FAIL;

	o->data.window = o->fw.window;
	o->data.start_writer = 1;
	/* Refuse bad combinations before touching the data directory. */
	if ((srv = fw_server_new(&o->fw, err, sizeof(err))) == NULL &&
	    strcmp(err, "no key and nonce store configured") != 0) {
		fprintf(stderr, "apiserver: %s\n", err);
		return APP_EXIT_USAGE;
	}
	fw_server_free(srv);
	srv = NULL;

	if (app_db_open(&o->data, &db) != 0)
		goto out;
	if (first_admin(db, o->data.data_dir) != 0 ||
	    default_certificate(o, cert, key, sizeof(cert)) != 0)
		goto out;
	db_store_bind(db, &store);
	o->fw.store = &store;
	if ((srv = fw_server_new(&o->fw, err, sizeof(err))) == NULL ||
	    app_routes_register(srv, db, (int64_t)o->max_grace,
	    (int64_t)o->grace) != 0 ||
	    fw_server_start(srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "apiserver: cannot start: %s\n", err);
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fw_log(FW_LOG_INFO, "listening on %s://%.*s:%u (data in %s, window "
	    "%us)", o->fw.insecure_http ? "http" : "https",
	    (int)(strrchr(o->fw.listen, ':') - o->fw.listen), o->fw.listen,
	    fw_server_port(srv), o->data.data_dir, o->fw.window);
	while (!stop_requested)
		pause();
	fw_log(FW_LOG_INFO, "stopping");
	rc = APP_EXIT_OK;
out:
	fw_server_free(srv);
	db_close(db);
	if (rc == APP_EXIT_OK)
		fw_log(FW_LOG_INFO, "stopped");
	return rc;
}

int
app_cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	fw_config_defaults(&o.fw);
	o.data.data_dir = APP_DEFAULT_DATA_DIR;
	o.data.synchronous_full = 1;
	o.grace = APP_DEFAULT_GRACE;
	o.max_grace = APP_MAX_GRACE;
	if ((rc = serve_parse(&o, argc, argv)) != 0)
		return rc > 0 ? APP_EXIT_OK : APP_EXIT_USAGE;
	if ((o.cert == NULL) != (o.key == NULL)) {
		fprintf(stderr, "apiserver: --cert and --key go together\n");
		return APP_EXIT_USAGE;
	}
	if (o.verbose)
		fw_log_set_level(FW_LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	return serve_run(&o);
}
