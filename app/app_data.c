/* SPDX-License-Identifier: MIT */
/*
 * app_data.c - the data directory: the master key, the database, and
 * credential files.  Runs on the main thread at start-up or in a CLI verb.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "db.h"

#define MASTER_KEY_LEN	32

int
app_parse_uint(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
app_path_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "apiserver: path too long: %s/%s\n", dir,
		    name);
		return -1;
	}
	return 0;
}

int
app_data_dir_prepare(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "apiserver: cannot create data directory "
		    "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "apiserver: data directory %s is not a "
		    "directory\n", dir);
		return -1;
	}
	return 0;
}

/* Write `len` bytes to path, 0600, via a temporary file and rename. */
static int
write_private_file(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) == 0 && write(fd, data, len) == (ssize_t)len &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/*
 * Read a whole small file (at most cap bytes).  Returns length or -1
 * with errno set.  When mode is not NULL it receives the file's mode.
 */
static long
read_small_file(const char *path, char *buf, size_t cap, mode_t *mode)
{
	struct stat st;
	size_t len = 0;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (mode != NULL) {
		if (fstat(fd, &st) != 0) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		*mode = st.st_mode;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return (long)len;
}

/*
 * Load the master key from path; create it when `create` and missing.
 * A key file others may read is used, with a warning.
 */
static int
master_key_load(const char *path, int create, uint8_t key[MASTER_KEY_LEN])
{
	char text[128], enc[64];
	mode_t mode = 0;
	long n;
	size_t len;

	n = read_small_file(path, text, sizeof(text) - 1, &mode);
	if (n < 0 && errno == ENOENT && create) {
		if (fw_random(key, MASTER_KEY_LEN) != 0)
			return -1;
		len = fw_b64url_encode(enc, sizeof(enc), key, MASTER_KEY_LEN);
		enc[len++] = '\n';
		if (write_private_file(path, enc, len) != 0) {
			fprintf(stderr, "apiserver: cannot write master key "
			    "%s: %s\n", path, strerror(errno));
			fw_wipe(enc, sizeof(enc));
			return -1;
		}
		fw_wipe(enc, sizeof(enc));
		fw_log(FW_LOG_INFO, "created a new master key in %s; keep a "
		    "copy: without it the stored secrets cannot be opened",
		    path);
		return 0;
	}
	if (n < 0) {
		fprintf(stderr, "apiserver: cannot read master key %s: %s\n",
		    path, strerror(errno));
		return -1;
	}
	if ((mode & 077) != 0)
		fw_log(FW_LOG_WARN, "master key %s is readable by group or "
		    "others (mode %03o); run chmod 600 %s", path,
		    (unsigned)(mode & 0777), path);
	/* base64url text, optionally followed by a newline. */
	len = (size_t)n;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
	    text[len - 1] == ' '))
		len--;
	n = fw_b64url_decode(key, MASTER_KEY_LEN, text, len);
	fw_wipe(text, sizeof(text));
	if (n != MASTER_KEY_LEN) {
		fprintf(stderr, "apiserver: master key %s is not 32 bytes "
		    "in base64url\n", path);
		return -1;
	}
	return 0;
}

/*
 * 1 if a new master key may be made: only while the database file does
 * not exist, since a new key could never open the secrets of an existing
 * one.  0 (message printed) otherwise.
 */
static int
master_key_may_create(const char *keypath, const char *dbpath)
{
	struct stat st;

	if (stat(dbpath, &st) == 0) {
		fprintf(stderr, "apiserver: %s is missing but %s exists: "
		    "restore the master key (or point --master-key-file / "
		    "%s at it)\n", keypath, dbpath, APP_MASTER_KEY_ENV);
		return 0;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "apiserver: cannot stat %s: %s\n", dbpath,
		    strerror(errno));
		return 0;
	}
	return 1;
}

int
app_db_open(const struct app_data_opts *o, struct db **out)
{
	char path[PATH_MAX], keypath[PATH_MAX], err[256];
	uint8_t key[MASTER_KEY_LEN];
	struct db_options dopt;
	const char *mk = o->master_key_file;
	int rc, create = 0;

	if (app_data_dir_prepare(o->data_dir) != 0)
		return -1;
	if (mk == NULL)
		mk = getenv(APP_MASTER_KEY_ENV);
	if (mk == NULL || mk[0] == '\0') {
		if (app_path_join(keypath, sizeof(keypath), o->data_dir,
		    APP_MASTER_KEY_FILE) != 0)
			return -1;
		mk = keypath;
	}
	if (app_path_join(path, sizeof(path), o->data_dir, APP_DB_FILE) != 0)
		return -1;

	/*
	 * An explicitly named master key file is never created, nor the
	 * default one next to an existing database.
	 */
	if (mk == keypath && access(mk, F_OK) != 0 && errno == ENOENT) {
		if (!master_key_may_create(keypath, path))
			return -1;
		create = 1;
	}
	if (master_key_load(mk, create, key) != 0)
		return -1;
	memset(&dopt, 0, sizeof(dopt));
	dopt.path = path;
	dopt.master_key = key;
	dopt.synchronous_full = o->synchronous_full;
	dopt.window = o->window;
	dopt.start_writer = o->start_writer;
	rc = db_open(&dopt, out, err, sizeof(err));
	fw_wipe(key, sizeof(key));
	if (rc != DB_OK) {
		fprintf(stderr, "apiserver: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

int
app_credential_write(const char *path, const struct app_credential *c)
{
	char buf[FW_KEY_ID_MAX + FW_SECRET_MAX + 64];
	int n, rc;

	n = snprintf(buf, sizeof(buf), "key_id=%s\nversion=%u\nsecret=%s\n",
	    c->key_id, c->version, c->secret);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	rc = write_private_file(path, buf, (size_t)n);
	fw_wipe(buf, sizeof(buf));
	return rc;
}

void
app_credential_print(const struct app_credential *c)
{
	printf("key_id=%s\nversion=%u\nsecret=%s\n", c->key_id, c->version,
	    c->secret);
	fflush(stdout);
}

/* Parse one "name=value" line of a credential file into c. */
static int
credential_line(char *line, struct app_credential *c, unsigned *seen)
{
	unsigned long long v;
	char *eq = strchr(line, '=');

	if (eq == NULL)
		return line[0] == '\0' || line[0] == '#' ? 0 : -1;
	*eq++ = '\0';
	if (strcmp(line, "key_id") == 0 && fw_parse_key_id(eq) == 0) {
		snprintf(c->key_id, sizeof(c->key_id), "%s", eq);
		*seen |= 1;
	} else if (strcmp(line, "version") == 0 &&
	    app_parse_uint(eq, 1, FW_KEY_VERSION_MAX, &v) == 0) {
		c->version = (uint32_t)v;
		*seen |= 2;
	} else if (strcmp(line, "secret") == 0 && eq[0] != '\0' &&
	    strlen(eq) <= FW_SECRET_MAX) {
		snprintf(c->secret, sizeof(c->secret), "%s", eq);
		*seen |= 4;
	} else {
		return -1;
	}
	return 0;
}

int
app_credential_read(const char *path, struct app_credential *c, char *err,
    size_t errlen)
{
	char buf[1024], *line, *save = NULL;
	unsigned seen = 0;
	long n;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if ((n = read_small_file(path, buf, sizeof(buf) - 1, NULL)) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		if (credential_line(line, c, &seen) != 0) {
			rc = -1;
			break;
		}
	}
	fw_wipe(buf, sizeof(buf));
	if (rc != 0 || seen != 7) {
		snprintf(err, errlen, "%s is not a credential file (want "
		    "key_id=, version= and secret= lines)", path);
		fw_wipe(c, sizeof(*c));
		return -1;
	}
	return 0;
}
