/*
 * Errors from libguest: functions return 0 or a negative errno and, where a
 * person needs more than strerror, fill an optional struct guest_error.
 * The library never prints; the program decides what to show.
 */
#ifndef GUEST_ERROR_H
#define GUEST_ERROR_H

#include <stdarg.h>

#define GUEST_ERROR_MAX 512

struct guest_error {
	int	code;			/* negative errno, or 0 */
	char	msg[GUEST_ERROR_MAX];	/* one line, no trailing newline */
};

/* Fill e (which may be NULL) and return code, so callers can write
 * "return guest_error_set(e, -EPROTO, "bad frame");". */
int guest_error_set(struct guest_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context ("connecting to X: "). */
int guest_error_prefix(struct guest_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
