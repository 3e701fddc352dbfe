/* SPDX-License-Identifier: MIT */
/*
 * fw_err.h - the error-string helper shared inside framework/.
 */
#ifndef FW_ERR_H
#define FW_ERR_H

#include <stddef.h>

/* printf into err (size errlen); does nothing when err is NULL or 0. */
void	fw_errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* FW_ERR_H */
