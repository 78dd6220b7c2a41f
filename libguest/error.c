/*
 * struct guest_error helpers.
 */
#include <stdio.h>
#include <string.h>

#include "guest/error.h"

int
guest_error_set(struct guest_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

int
guest_error_prefix(struct guest_error *e, const char *fmt, ...)
{
	char prefix[GUEST_ERROR_MAX], old[GUEST_ERROR_MAX];
	va_list ap;

	if (e == NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%s%s", prefix, old);
	return e->code;
}
