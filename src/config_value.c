/*
 * config_value.c - one value of tinyedge.ini as its key's type says.
 *
 * config.c reads lines and sections; this turns one key's text into the
 * typed value (integer, duration, size, enum index, list, address) and
 * checks its bounds and its row's value check, returning the message that
 * config.c puts after "FILE:LINE: section.key: ".  The few helpers around
 * it live here too: reading the file, collecting causes, describing keys.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "parse.h"
#include "xmalloc.h"

/* Format a bound for messages: durations and sizes in their own units. */
static char *
config_format_bound(const struct config_key *k, double v)
{
	char	*s;

	if (k->type == CT_DURATION)
		return (parse_format_duration((uint64_t)v));
	if (k->type == CT_SIZE && v >= 1024 && fmod(v, 1024) == 0) {
		if (fmod(v, 1024.0 * 1024 * 1024) == 0)
			xasprintf(&s, "%.0fG", v / (1024.0 * 1024 * 1024));
		else if (fmod(v, 1024.0 * 1024) == 0)
			xasprintf(&s, "%.0fM", v / (1024.0 * 1024));
		else
			xasprintf(&s, "%.0fK", v / 1024);
		return (s);
	}
	xasprintf(&s, "%g", v);
	return (s);
}

/* An enum name as its index in the row's choices; the error lists them. */
static int
config_value_enum(const struct config_key *k, const char *text, int64_t *i,
    char **cause)
{
	char	*all, *t;
	size_t	 n;

	for (n = 0; k->choices[n] != NULL; n++) {
		if (strcmp(k->choices[n], text) == 0) {
			*i = (int64_t)n;
			return (0);
		}
	}
	all = xstrdup(k->choices[0]);
	for (n = 1; k->choices[n] != NULL; n++) {
		xasprintf(&t, "%s | %s", all, k->choices[n]);
		free(all);
		all = t;
	}
	xasprintf(cause, "\"%s\" is not one of: %s", text, all);
	free(all);
	return (-1);
}

/* Parse text as the key's type into v; -1 with *cause on error. */
int
config_value_parse(const struct config_key *k, const char *text,
    struct config_value *v, char **cause)
{
	double	 num = 0;
	char	*lo, *hi;
	int	 b;

	if (*text == '\0' && (k->flags & CF_NONEMPTY)) {
		xasprintf(cause, "a value is required");
		return (-1);
	}
	switch (k->type) {
	case CT_STRING:
		break;
	case CT_BOOL:
		if (parse_bool(text, &b, cause) != 0)
			return (-1);
		v->i = b;
		break;
	case CT_INT:
		if (parse_int(text, &v->i, cause) != 0)
			return (-1);
		num = (double)v->i;
		break;
	case CT_DURATION:
		if (parse_duration_ms(text, &v->u, cause) != 0)
			return (-1);
		num = (double)v->u;
		break;
	case CT_SIZE:
		if (parse_size(text, &v->u, cause) != 0)
			return (-1);
		num = (double)v->u;
		break;
	case CT_DOUBLE:
		if (parse_double(text, &v->d, cause) != 0)
			return (-1);
		num = v->d;
		break;
	case CT_ENUM:
		if (config_value_enum(k, text, &v->i, cause) != 0)
			return (-1);
		break;
	case CT_LIST:
		v->list = parse_list(text, &v->nlist);
		break;
	case CT_HOSTPORT:
		if (*text == '\0')
			break;
		if (parse_hostport(text, &v->ss, cause) != 0)
			return (-1);
		v->has_addr = 1;
		break;
	}
	if (k->type == CT_INT || k->type == CT_DURATION ||
	    k->type == CT_SIZE || k->type == CT_DOUBLE) {
		if (k->max >= k->min && (num < k->min || num > k->max)) {
			lo = config_format_bound(k, k->min);
			hi = config_format_bound(k, k->max);
			xasprintf(cause, "%s is out of range (%s .. %s)", text,
			    lo, hi);
			free(lo);
			free(hi);
			return (-1);
		}
	}
	if (k->check != NULL && k->check(text, cause) != 0)
		return (-1);
	v->text = xstrdup(text);
	return (0);
}

/* Release what a value owns and reset it. */
void
config_value_clear(struct config_value *v)
{
	free(v->text);
	parse_list_free(v->list, v->nlist);
	memset(v, 0, sizeof *v);
}

/* Read the whole file into memory. */
char *
config_slurp(const char *path, size_t *len, char **cause)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 cap = 0, n = 0, got;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	for (;;) {
		if (n == cap) {
			if (cap >= 16 * 1024 * 1024) {
				xasprintf(cause, "%s: file too large", path);
				fclose(f);
				free(buf);
				return (NULL);
			}
			cap = cap ? cap * 2 : 4096;
			buf = xreallocarray(buf, cap, 1);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return (NULL);
	}
	fclose(f);
	*len = n;
	return (buf);
}

/*
 * Append one printf-formatted line to a cause that may hold lines already
 * (*cause NULL: none yet): how the checks after a load collect several
 * "FILE:LINE: message" lines, as config_load itself does.
 */
void
config_cause_add(char **cause, const char *fmt, ...)
{
	va_list	 ap;
	char	*line, *t;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	if (*cause == NULL) {
		*cause = line;
		return;
	}
	xasprintf(&t, "%s\n%s", *cause, line);
	free(*cause);
	free(line);
	*cause = t;
}

/* Describe key i of the table (for docs tests); -1 past the end. */
int
config_key_info(size_t i, const char **sect, const char **name,
    const char **def, const char **help)
{
	if (i >= config_nkeys)
		return (-1);
	*sect = config_keys[i].section;
	*name = config_keys[i].name;
	*def = config_keys[i].def;
	*help = config_keys[i].help;
	return (0);
}
