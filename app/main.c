/* SPDX-License-Identifier: MIT */
/*
 * main.c - `apiserver [VERB] [FLAGS]`: dispatch to the verb's function.
 * With no verb (or a flag first), the server starts.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*help;
} verbs[] = {
	{ "serve", app_cmd_serve, "start the server (the default)" },
	{ "keys", app_cmd_keys, "create, list, rotate, revoke keys (server up or down)" },
	{ "cert", app_cmd_cert, "make a self-signed certificate and key" },
	{ "call", app_cmd_call, "sign and send one request" },
	{ "sign", app_cmd_sign, "print the signing headers for a request" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: apiserver [VERB] [FLAGS]\n\nverbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-6s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n`apiserver VERB --help` explains each verb.\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
			printf("apiserver %s\n", FW_VERSION);
			return APP_EXIT_OK;
		}
		return app_cmd_serve(argc, argv);
	}
	if (strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return APP_EXIT_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "apiserver: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return APP_EXIT_USAGE;
}
