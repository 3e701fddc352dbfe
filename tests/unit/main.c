/* SPDX-License-Identifier: MIT */
/*
 * main.c - runs every unit test table; exit 1 if any test failed.
 * Usage: unit-tests VECTORS.json [NAME-SUBSTRING]
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver.h"
#include "unit.h"

const char *unit_vectors_path;

static jmp_buf unit_jump;

void
unit_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what);
	longjmp(unit_jump, 1);
}

static const struct unit_test *const tables[] = {
	crypto_tests, sign_tests, router_tests, db_tests, NULL
};

/* Run one test; 1 if it passed. */
static int
run_one(const struct unit_test *ut)
{
	if (setjmp(unit_jump) != 0)
		return 0;
	ut->fn();
	return 1;
}

int
main(int argc, char **argv)
{
	const char *filter = argc > 2 ? argv[2] : NULL;
	int passed = 0, failed = 0;
	size_t t, i;

	if (argc < 2) {
		fprintf(stderr, "usage: unit-tests VECTORS.json [FILTER]\n");
		return 2;
	}
	unit_vectors_path = argv[1];
	fw_log_set_level(FW_LOG_ERROR);

	for (t = 0; tables[t] != NULL; t++) {
		for (i = 0; tables[t][i].name != NULL; i++) {
			const struct unit_test *ut = &tables[t][i];

			if (filter != NULL && strstr(ut->name, filter) == NULL)
				continue;
			if (run_one(ut)) {
				printf("ok   %s\n", ut->name);
				passed++;
			} else {
				printf("FAIL %s\n", ut->name);
				failed++;
			}
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}
