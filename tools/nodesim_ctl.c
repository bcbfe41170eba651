/*
 * nodesim_ctl.c - reading a node's settings document (SPEC 9.1) the way a
 * careful node firmware would, and the decisions it drives.
 *
 * The document comes from the gateway, a peer: every member nodesim uses
 * is checked for type and range, and a document that fails is refused as
 * a whole (the node keeps the settings it runs).  Members nodesim does
 * not know are other firmware's settings and are ignored.  What is read:
 *   rev           uint32, required
 *   send_window   "never" | "unsure" | "always"; absent: the traffic of
 *                 --windows-every
 *   unsure_below  0..1 (default SIM_CTL_UNSURE_DEFAULT)
 *   min_score     0..1 (default 0)
 *   model         {"name","version","sha256","size","uri"} or absent/null
 * The decision for one inference of score s: it is sent when s >=
 * min_score; its raw window is sent with "always", with "unsure" when s <
 * unsure_below, never with "never".  The two are independent: an unsure
 * window is what a tier-2 model at the gateway wants even when the node
 * keeps the inference itself to itself.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "nodesim_ctl.h"
#include "xmalloc.h"

/* Fail with a cause; always -1. */
static int
ctl_fail(char **cause, const char *what)
{
	if (cause != NULL)
		*cause = xstrdup(what);
	return (-1);
}

/* Is s 1..max characters of [A-Za-z0-9_.-]? */
static int
ctl_name_ok(const char *s, size_t max)
{
	size_t	n = strlen(s), i;

	if (n == 0 || n > max)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
			return (0);
	return (1);
}

/* Is s a path with a query of plain characters, as the gateway makes? */
static int
ctl_uri_ok(const char *s)
{
	size_t	n = strlen(s), i;

	if (n < 2 || n > SIM_CTL_URI_MAX || s[0] != '/')
		return (0);
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_.-/?=&", s[i]) == NULL)
			return (0);
		/* Empty path segments cannot be sent as Uri-Path options. */
		if (s[i] == '/' && (s[i + 1] == '/' || s[i + 1] == '\0' ||
		    s[i + 1] == '?'))
			return (0);
	}
	return (1);
}

/* A string member of at most max characters into buf; -1 if not. */
static int
ctl_string(const cJSON *o, const char *key, char *buf, size_t max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
		return (-1);
	memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
	return (0);
}

/* The "model" object into m. */
static int
ctl_model(const cJSON *o, struct sim_model *m, char **cause)
{
	const cJSON	*size;
	size_t		 i;

	memset(m, 0, sizeof *m);
	if (o == NULL || cJSON_IsNull(o))
		return (0);
	if (!cJSON_IsObject(o))
		return (ctl_fail(cause, "model: not an object"));
	if (ctl_string(o, "name", m->name, SIM_CTL_NAME_MAX) != 0 ||
	    !ctl_name_ok(m->name, SIM_CTL_NAME_MAX))
		return (ctl_fail(cause, "model: bad name"));
	if (ctl_string(o, "version", m->version, SIM_CTL_VERSION_MAX) != 0 ||
	    !ctl_name_ok(m->version, SIM_CTL_VERSION_MAX))
		return (ctl_fail(cause, "model: bad version"));
	if (ctl_string(o, "sha256", m->sha256, 64) != 0 ||
	    strlen(m->sha256) != 64)
		return (ctl_fail(cause, "model: bad sha256"));
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)m->sha256[i]))
			return (ctl_fail(cause, "model: bad sha256"));
		m->sha256[i] = (char)tolower((unsigned char)m->sha256[i]);
	}
	size = cJSON_GetObjectItemCaseSensitive(o, "size");
	if (!cJSON_IsNumber(size) || size->valuedouble < 1 ||
	    size->valuedouble != floor(size->valuedouble))
		return (ctl_fail(cause, "model: bad size"));
	if (size->valuedouble > SIM_CTL_MODEL_MAX)
		return (ctl_fail(cause, "model: larger than a node takes"));
	m->size = (size_t)size->valuedouble;
	if (ctl_string(o, "uri", m->uri, SIM_CTL_URI_MAX) != 0 ||
	    !ctl_uri_ok(m->uri))
		return (ctl_fail(cause, "model: bad uri"));
	m->present = 1;
	return (0);
}

/* A score-like member: absent gives def, else a number in 0..1. */
static int
ctl_unit(const cJSON *root, const char *key, double def, double *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(root, key);

	*out = def;
	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 &&
	    v->valuedouble <= 1))
		return (-1);
	*out = v->valuedouble;
	return (0);
}

/* send_window into d. */
static int
ctl_window(const cJSON *root, struct sim_doc *d)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(root,
			    "send_window");

	d->send_window = SIM_WINDOW_UNSET;
	if (v == NULL)
		return (0);
	if (!cJSON_IsString(v))
		return (-1);
	if (strcmp(v->valuestring, "never") == 0)
		d->send_window = SIM_WINDOW_NEVER;
	else if (strcmp(v->valuestring, "unsure") == 0)
		d->send_window = SIM_WINDOW_UNSURE;
	else if (strcmp(v->valuestring, "always") == 0)
		d->send_window = SIM_WINDOW_ALWAYS;
	else
		return (-1);
	return (0);
}

/*
 * Parse a settings document of len bytes into d; -1 with a cause (d is
 * then unchanged) if it is not one nodesim can apply.
 */
int
nodesim_ctl_parse(const char *text, size_t len, struct sim_doc *d,
    char **cause)
{
	cJSON		*root;
	const cJSON	*rev;
	struct sim_doc	 nd;
	int		 rc = -1;

	memset(&nd, 0, sizeof nd);
	if ((root = cJSON_ParseWithLength(text, len)) == NULL)
		return (ctl_fail(cause, "not JSON"));
	rev = cJSON_GetObjectItemCaseSensitive(root, "rev");
	if (!cJSON_IsObject(root))
		ctl_fail(cause, "not a JSON object");
	else if (!cJSON_IsNumber(rev) || !(rev->valuedouble >= 0 &&
	    rev->valuedouble <= UINT32_MAX) ||
	    rev->valuedouble != floor(rev->valuedouble))
		ctl_fail(cause, "rev: missing or not a uint32");
	else if (ctl_window(root, &nd) != 0)
		ctl_fail(cause, "send_window: not never, unsure or always");
	else if (ctl_unit(root, "unsure_below", SIM_CTL_UNSURE_DEFAULT,
	    &nd.unsure_below) != 0)
		ctl_fail(cause, "unsure_below: not a number in 0..1");
	else if (ctl_unit(root, "min_score", 0, &nd.min_score) != 0)
		ctl_fail(cause, "min_score: not a number in 0..1");
	else if (ctl_model(cJSON_GetObjectItemCaseSensitive(root, "model"),
	    &nd.model, cause) == 0) {
		nd.rev = (uint32_t)rev->valuedouble;
		*d = nd;
		rc = 0;
	}
	cJSON_Delete(root);
	return (rc);
}

/*
 * For an inference of this score: is it sent (*inference), and is its
 * raw window sent (*window; always 0 when send_window is unset)?
 */
void
nodesim_ctl_decide(const struct sim_doc *d, double score, int *inference,
    int *window)
{
	*inference = score >= d->min_score;
	switch (d->send_window) {
	case SIM_WINDOW_ALWAYS:
		*window = 1;
		break;
	case SIM_WINDOW_UNSURE:
		*window = score < d->unsure_below;
		break;
	case SIM_WINDOW_NEVER:
	case SIM_WINDOW_UNSET:
		*window = 0;
		break;
	}
}

/* Do a and b describe the same model file (both absent counts)? */
int
nodesim_ctl_same_model(const struct sim_model *a, const struct sim_model *b)
{
	if (!a->present || !b->present)
		return (a->present == b->present);
	return (strcmp(a->name, b->name) == 0 &&
	    strcmp(a->version, b->version) == 0 &&
	    strcmp(a->sha256, b->sha256) == 0 && a->size == b->size);
}
