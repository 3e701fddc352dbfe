/* SPDX-License-Identifier: MIT */
/*
 * unit.h - a small named-test harness.  Each test file exports a table of
 * struct unit_test ending in {NULL, NULL}; main.c runs every table and
 * prints "unit: N passed, N failed".  A failed assertion ends the test
 * (longjmp) and is reported with file and line.
 */
#ifndef UNIT_H
#define UNIT_H

#include <string.h>

struct unit_test {
	const char	*name;
	void		(*fn)(void);
};

void	unit_fail(const char *file, int line, const char *what);

/* Path to the shared signing vectors (argv[1] of the runner). */
extern const char *unit_vectors_path;

#define UNIT_ASSERT(cond) do {						\
	if (!(cond))							\
		unit_fail(__FILE__, __LINE__, #cond);			\
} while (0)

#define UNIT_ASSERT_EQ_INT(a, b) do {					\
	long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);	\
	if (unit_a_ != unit_b_)						\
		unit_fail(__FILE__, __LINE__, #a " == " #b);		\
} while (0)

#define UNIT_ASSERT_STR_EQ(a, b) do {					\
	const char *unit_s_ = (a), *unit_t_ = (b);			\
	if (unit_s_ == NULL || unit_t_ == NULL ||			\
	    strcmp(unit_s_, unit_t_) != 0)				\
		unit_fail(__FILE__, __LINE__, #a " eq " #b);		\
} while (0)

extern const struct unit_test sign_tests[];
extern const struct unit_test crypto_tests[];
extern const struct unit_test router_tests[];
extern const struct unit_test db_tests[];

#endif /* UNIT_H */
