/* SPDX-License-Identifier: MIT */
/*
 * gencert.c - run fw_cert_generate from the command line (test aid).
 * usage: gencert DIR DAYS NAME...
 */
#include <stdio.h>
#include <stdlib.h>

#include "apiserver.h"

int
main(int argc, char **argv)
{
	char fp[96], err[256];

	if (argc < 4) {
		fprintf(stderr, "usage: gencert DIR DAYS NAME...\n");
		return 2;
	}
	if (fw_cert_generate(argv[1], (const char *const *)(argv + 3),
	    (size_t)(argc - 3), (unsigned)atoi(argv[2]), fp, sizeof(fp), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "gencert: %s\n", err);
		return 1;
	}
	printf("%s\n", fp);
	return 0;
}
