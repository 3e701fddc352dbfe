/* SPDX-License-Identifier: MIT */
/*
 * front_harness.c - a tiny civetweb behind fw_front, for testing the
 * front end on 127.0.0.1 before the real server is wired.
 *
 * Prints "PORT <public> BACKEND <civetweb>" on stdout, then serves until
 * SIGINT or SIGTERM, then stops cleanly (so valgrind can check leaks).
 * Routes: "/reject" answers 413 without reading the body and calls
 * fw_front_finish; "/" echoes a POST body or greets a GET with the client address
 * the front end recorded; "/slow?ms=N" sleeps N ms (max 5000) first.
 * begin_request refuses every connection the peer table does not know.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include "apiserver.h"
#include "fw_front.h"

#define HARNESS_BODY_MAX	(2 * 1024 * 1024)

static struct fw_front *harness_fe;

static int
harness_begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char peer[80];

	if (harness_fe != NULL && strcmp(ri->remote_addr, "127.0.0.1") == 0 &&
	    fw_front_peer(harness_fe, (unsigned)ri->remote_port, peer,
	    sizeof(peer)) == 0)
		return 0;
	mg_printf(conn, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n");
	return 403;
}

static int
harness_handler(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char head[256], peer[80], ms[16];
	struct timespec ts;
	char *body;
	size_t len;
	int n, hl;
	long sleep_ms;

	(void)arg;
	if (strncmp(ri->local_uri, "/reject", 7) == 0) {
		/* An early error reply that leaves the body unread. */
		mg_printf(conn, "HTTP/1.1 413 Payload Too Large\r\n"
		    "Content-Length: 8\r\nConnection: close\r\n\r\n"
		    "too big\n");
		fw_front_finish(harness_fe, (unsigned)ri->remote_port);
		return 413;
	}
	if ((body = malloc(HARNESS_BODY_MAX + 128)) == NULL)
		return 500;
	len = 0;
	while (len < HARNESS_BODY_MAX &&
	    (n = mg_read(conn, body + len, HARNESS_BODY_MAX - len)) > 0)
		len += (size_t)n;
	if (ri->query_string != NULL &&
	    mg_get_var(ri->query_string, strlen(ri->query_string), "ms", ms,
	    sizeof(ms)) > 0) {
		sleep_ms = strtol(ms, NULL, 10);
		if (sleep_ms > 0 && sleep_ms <= 5000) {
			ts.tv_sec = sleep_ms / 1000;
			ts.tv_nsec = (sleep_ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
		}
	}
	if (strcmp(ri->request_method, "POST") != 0) {
		if (fw_front_peer(harness_fe, (unsigned)ri->remote_port, peer,
		    sizeof(peer)) != 0)
			snprintf(peer, sizeof(peer), "?");
		n = snprintf(body, 128, "hello %s\n", peer);
		len = n > 0 ? (size_t)n : 0;
	}
	hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", len);
	/* One piece: headers and body together. */
	memmove(body + hl, body, len);
	memcpy(body, head, (size_t)hl);
	mg_write(conn, body, (size_t)hl + len);
	free(body);
	return 200;
}

static void
usage(void)
{
	fprintf(stderr, "usage: front_harness [--plain] [--cert F --key F] "
	    "[--threads N] [--civet-threads N] [--slots N] [--queue-ms N] "
	    "[--hs-ms N] [--idle-ms N] [--max-conn N] [--listen A:P] "
	    "[--debug]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct fw_front_config fc;
	struct mg_callbacks cb;
	struct mg_context *mg;
	struct mg_server_port ports[4];
	char err[256], nthr[16];
	const char *opts[16];
	unsigned civet_threads = 8;
	sigset_t stopset;
	int i, sig;

	memset(&fc, 0, sizeof(fc));
	fc.listen = "127.0.0.1:0";
	fc.cert_file = "cert.pem";
	fc.key_file = "key.pem";
	fc.threads = 2;
	fc.queue_timeout_ms = 2000;
	fc.handshake_timeout_ms = 3000;
	fc.idle_timeout_ms = 30000;
	fc.max_connections = 1000;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--plain") == 0)
			fc.insecure_http = 1;
		else if (strcmp(argv[i], "--debug") == 0)
			fw_log_set_level(FW_LOG_DEBUG);
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "--cert") == 0)
			fc.cert_file = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			fc.key_file = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0)
			fc.listen = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0)
			fc.threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--civet-threads") == 0)
			civet_threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--slots") == 0)
			fc.backend_slots = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--queue-ms") == 0)
			fc.queue_timeout_ms = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--hs-ms") == 0)
			fc.handshake_timeout_ms = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--idle-ms") == 0)
			fc.idle_timeout_ms = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-conn") == 0)
			fc.max_connections = (unsigned)atoi(argv[++i]);
		else
			usage();
	}
	if (fc.backend_slots == 0)
		fc.backend_slots = civet_threads > 1 ? civet_threads - 1 : 1;

	/* Every thread inherits this mask; only main takes the signal. */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stopset, NULL);
	signal(SIGPIPE, SIG_IGN);
	mg_init_library(0);
	snprintf(nthr, sizeof(nthr), "%u", civet_threads);
	i = 0;
	opts[i++] = "listening_ports";
	opts[i++] = "127.0.0.1:0";
	opts[i++] = "num_threads";
	opts[i++] = nthr;
	opts[i++] = "tcp_nodelay";
	opts[i++] = "1";
	opts[i++] = "enable_keep_alive";
	opts[i++] = "yes";
	opts[i++] = "keep_alive_timeout_ms";
	opts[i++] = "10000";
	opts[i] = NULL;
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = harness_begin_request;
	if ((mg = mg_start(&cb, NULL, opts)) == NULL) {
		fprintf(stderr, "mg_start failed\n");
		return 1;
	}
	mg_set_request_handler(mg, "/", harness_handler, NULL);
	if (mg_get_server_ports(mg, 4, ports) < 1) {
		fprintf(stderr, "no civetweb port\n");
		mg_stop(mg);
		return 1;
	}
	fc.backend_port = (uint16_t)ports[0].port;
	if (fw_front_start(&fc, &harness_fe, err, sizeof(err)) != 0) {
		fprintf(stderr, "fw_front_start: %s\n", err);
		mg_stop(mg);
		return 1;
	}
	printf("PORT %u BACKEND %u\n", fw_front_port(harness_fe),
	    (unsigned)fc.backend_port);
	fflush(stdout);

	sigwait(&stopset, &sig);
	fw_front_stop(harness_fe);
	harness_fe = NULL;
	mg_stop(mg);
	mg_exit_library();
	fprintf(stderr, "harness: stopped\n");
	return 0;
}
