/* SPDX-License-Identifier: MIT */
/*
 * civetweb_min.c - the smallest civetweb server the benchmark compares
 * against: plain HTTP, keep-alive on, tcp_nodelay=1, every response written
 * in one piece.  GET answers the same body as /api/whoami; POST reads the
 * body and answers a fixed JSON.  No signing, no TLS.
 *
 *   civetweb_min PORT|0 [THREADS]   -> "listening on http://127.0.0.1:P"
 * Stops on SIGTERM or SIGINT.
 */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
handler(struct mg_connection *conn, void *arg)
{
	static const char get_body[] =
	    "{\"key_id\":\"admin\",\"version\":1,\"role\":\"admin\"}";
	static const char post_body[] = "{\"status\":\"ok\",\"received\":{}}";
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *body = get_body;
	char buf[8192], out[512];
	int n;

	(void)arg;
	if (strcmp(ri->request_method, "POST") == 0) {
		while (mg_read(conn, buf, sizeof(buf)) > 0)
			;
		body = post_body;
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: keep-alive\r\n\r\n%s", strlen(body), body);
	mg_write(conn, out, (size_t)n);
	return 200;
}

int
main(int argc, char **argv)
{
	char listen[64];
	const char *threads = argc > 2 ? argv[2] : "64";
	const char *opts[] = {
		"listening_ports", listen,
		"num_threads", threads,
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "30000",
		"tcp_nodelay", "1",
		"request_timeout_ms", "30000",
		NULL
	};
	struct mg_callbacks cb;
	struct mg_context *ctx;
	struct mg_server_port ports[4];
	int n;

	if (argc < 2) {
		fprintf(stderr, "usage: civetweb_min PORT [THREADS]\n");
		return 2;
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%s", argv[1]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	mg_init_library(0);
	memset(&cb, 0, sizeof(cb));
	ctx = mg_start(&cb, NULL, opts);
	if (ctx == NULL) {
		fprintf(stderr, "civetweb_min: mg_start failed\n");
		return 1;
	}
	mg_set_request_handler(ctx, "/", handler, NULL);
	n = mg_get_server_ports(ctx, 4, ports);
	if (n < 1) {
		fprintf(stderr, "civetweb_min: no port\n");
		mg_stop(ctx);
		return 1;
	}
	fprintf(stderr, "listening on http://127.0.0.1:%d\n", ports[0].port);
	fflush(stderr);
	while (!stop)
		pause();
	mg_stop(ctx);
	mg_exit_library();
	return 0;
}
