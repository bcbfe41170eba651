/*
 * config_node.c - the keys of [node:GLOB] sections (SPEC 9.1).
 *
 * A node section is the one kind whose keys are not in the table: apart
 * from "model" (a table row, checked by config_node_check_model) every key
 * is a setting handed to the matching nodes as written.  Here a setting is
 * checked (name [A-Za-z0-9_]{1,64}, value bounded) and typed: a value that
 * is a finite decimal number in full becomes a number, exactly "true" and
 * "false" booleans, anything else stays a string.  Hexadecimal, "inf" and
 * "nan", which strtod() would take, stay strings: the node gets what the
 * file says.  Sections are bounded in keys and in JSON size, so that a
 * node's document fits one CoAP response (control.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "config_int.h"
#include "log.h"
#include "parse.h"
#include "xmalloc.h"

/* Characters a glob may hold beyond those of a node id. */
#define CONFIG_NODE_GLOB_EXTRA	"_.-*?[]!^"

/* The name of a [node:GLOB] section: node id characters and glob ones. */
int
config_node_check_glob(const char *s, char **cause)
{
	return (parse_id(s, CONFIG_NODE_GLOB_MAX, CONFIG_NODE_GLOB_EXTRA,
	    cause));
}

/* NAME or NAME@VERSION, as SPEC 9.2 spells them; -1 with a cause. */
int
config_node_model_check(const char *s, char **cause)
{
	const char	*at = strchr(s, '@');
	size_t		 n = at != NULL ? (size_t)(at - s) : strlen(s);

	if (!parse_id_valid(s, n, 64, "_.-")) {
		xasprintf(cause, "\"%s\": the model name must be 1 to 64 of "
		    "[A-Za-z0-9_.-]", s);
		return (-1);
	}
	if (at != NULL && !parse_id_valid(at + 1, strlen(at + 1), 32,
	    "_.-")) {
		xasprintf(cause, "\"%s\": the model version must be 1 to 32 of "
		    "[A-Za-z0-9_.-]", s);
		return (-1);
	}
	return (0);
}

/* node.model: empty (none, or clear an earlier section's) or a model. */
int
config_node_check_model(const char *s, char **cause)
{
	if (*s == '\0')
		return (0);
	return (config_node_model_check(s, cause));
}

/* Is s a decimal number in full: [+-]digits[.digits][(e|E)[+-]digits]? */
static int
config_node_decimal(const char *s)
{
	size_t	digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	for (; isdigit((unsigned char)*s); s++)
		digits++;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			digits++;
	}
	if (digits == 0)
		return (0);
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return (0);
		while (isdigit((unsigned char)*s))
			s++;
	}
	return (*s == '\0');
}

/* Type a value as the node will get it. */
static void
config_node_type(struct config_node_setting *st)
{
	double	v;

	st->type = CONFIG_NODE_STRING;
	if (strcmp(st->text, "true") == 0 || strcmp(st->text, "false") == 0) {
		st->type = CONFIG_NODE_BOOL;
		st->boolean = st->text[0] == 't';
		return;
	}
	if (!config_node_decimal(st->text))
		return;
	errno = 0;
	v = strtod(st->text, NULL);
	if (errno == ERANGE || !isfinite(v))
		return;		/* 1e999: not a number the node could use */
	st->type = CONFIG_NODE_NUMBER;
	st->number = v;
}

/*
 * Add setting key = value (on line) to a section's list; -1 with a cause
 * for a bad or reserved name, a long value, a repeat or too many keys.
 */
int
config_node_add(struct config_node_setting **list, size_t *n,
    const char *key, const char *value, int line, char **cause)
{
	struct config_node_setting	*st;
	size_t				 i;

	if (!parse_id_valid(key, strlen(key), CONFIG_NODE_KEY_MAX, "_")) {
		xasprintf(cause, "\"%s\": a node setting's name is 1 to %d of "
		    "[A-Za-z0-9_]", key, CONFIG_NODE_KEY_MAX);
		return (-1);
	}
	if (strcmp(key, "rev") == 0) {
		xasprintf(cause, "\"rev\" is the gateway's, not a setting");
		return (-1);
	}
	if (strlen(value) > CONFIG_NODE_VALUE_MAX) {
		xasprintf(cause, "%s: value longer than %d characters", key,
		    CONFIG_NODE_VALUE_MAX);
		return (-1);
	}
	for (i = 0; i < *n; i++) {
		if (strcmp((*list)[i].key, key) == 0) {
			xasprintf(cause, "duplicate key \"%s\" (first on line "
			    "%d)", key, (*list)[i].line);
			return (-1);
		}
	}
	if (*n >= CONFIG_NODE_KEYS_MAX) {
		xasprintf(cause, "more than %d settings", CONFIG_NODE_KEYS_MAX);
		return (-1);
	}
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	st = &(*list)[(*n)++];
	memset(st, 0, sizeof *st);
	st->key = xstrdup(key);
	st->text = xstrdup(value);
	st->line = line;
	config_node_type(st);
	return (0);
}

/* The section's settings as JSON must leave room for rev and a model. */
int
config_node_check_size(const struct config_node_setting *list, size_t n,
    char **cause)
{
	cJSON	*o = cJSON_CreateObject();
	char	*text;
	size_t	 i, len;

	for (i = 0; i < n; i++) {
		if (list[i].type == CONFIG_NODE_NUMBER)
			cJSON_AddNumberToObject(o, list[i].key, list[i].number);
		else if (list[i].type == CONFIG_NODE_BOOL)
			cJSON_AddBoolToObject(o, list[i].key, list[i].boolean);
		else
			cJSON_AddStringToObject(o, list[i].key, list[i].text);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		fatalx("config: out of memory");
	len = strlen(text);
	free(text);
	if (len > CONFIG_NODE_SETTINGS_MAX) {
		xasprintf(cause, "the settings take %zu bytes as JSON, more "
		    "than %d", len, CONFIG_NODE_SETTINGS_MAX);
		return (-1);
	}
	return (0);
}

/* Find key in a list; NULL if absent. */
static const struct config_node_setting *
config_node_find(const struct config_node_setting *list, size_t n,
    const char *key)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i].key, key) == 0)
			return (&list[i]);
	}
	return (NULL);
}

/*
 * Do two sections hold the same settings (in any order)?  If not, *key
 * names one that differs.
 */
int
config_node_same(const struct config_node_setting *a, size_t na,
    const struct config_node_setting *b, size_t nb, const char **key)
{
	const struct config_node_setting	*o;
	size_t					 i;

	for (i = 0; i < nb; i++) {
		o = config_node_find(a, na, b[i].key);
		if (o == NULL || strcmp(o->text, b[i].text) != 0) {
			*key = b[i].key;
			return (0);
		}
	}
	for (i = 0; i < na; i++) {
		if (config_node_find(b, nb, a[i].key) == NULL) {
			*key = a[i].key;
			return (0);
		}
	}
	return (1);
}

/* Free a section's settings. */
void
config_node_free(struct config_node_setting *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(list[i].key);
		free(list[i].text);
	}
	free(list);
}
