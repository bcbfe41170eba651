/*
 * lu.c - the learning library's cause helper (lu.h): a pure library has
 * no logging, so a failure becomes a malloc'd one-line message for the
 * caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lu.h"

/* Set *cause (if cause is not NULL) to a malloc'd message; returns -1. */
int
lu_fail(char **cause, const char *fmt, ...)
{
	char	 buf[256];
	va_list	 ap;
	size_t	 len;

	if (cause == NULL)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	len = strlen(buf) + 1;
	/* NULL: no message, still -1. */
	if ((*cause = malloc(len)) != NULL)
		memcpy(*cause, buf, len);
	return (-1);
}
