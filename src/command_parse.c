/*
 * command_parse.c - reading one command from its topic and payload (SPEC
 * section 9.2), a pure function of its input so the fuzz target and the
 * unit test can drive it without a store or a loop.
 *
 * The topic (relative to the prefix) names the verb and its arguments:
 * cmd/config/GLOB, cmd/model/NAME/VERSION, cmd/tier2/SECTION, cmd/reload,
 * cmd/learn/NAME/NODE.
 * The id comes from the payload for the JSON verbs ({"id",...}) and from
 * the topic or the bytes for the binary ones ("model:NAME:VERSION",
 * "tier2:SECTION:" + 16 hex of the sha256).  The id is read first, as far
 * as it can be, so even a bad command gets its result under its own id;
 * one whose id cannot be read answers on results/_invalid.
 */
#include <cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "command_int.h"
#include "models.h"
#include "parse.h"

static const char *const command_verb_names[] = {
	"?", "config", "model", "tier2", "reload", "learn"
};

/* The verb's name for logs. */
const char *
command_verb_name(enum command_verb v)
{
	if ((size_t)v >= sizeof command_verb_names / sizeof
	    command_verb_names[0])
		return ("?");
	return (command_verb_names[v]);
}

/* Write an error text into err; returns -1 for the caller to return. */
static int __attribute__((format(printf, 3, 4)))
command_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (-1);
}

/* Are the len bytes of s all of [A-Za-z0-9_.-], plus ':' if colon? */
static int
command_chars(const char *s, size_t len, int colon)
{
	size_t	i;
	char	c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == '-' || (colon && c == ':')))
			return (0);
	}
	return (1);
}

/* Is s (len bytes) an id an operator may send: 1-64 of [A-Za-z0-9_.:-]? */
int
command_valid_id(const char *s, size_t len)
{
	return (len >= 1 && len <= COMMAND_ID_MAX && command_chars(s, len, 1));
}

/* Copy topic segment (len bytes) into dst if 1..max of [A-Za-z0-9_.-]. */
static int
command_name(char *dst, const char *seg, size_t len, size_t max)
{
	if (len < 1 || len > max || !command_chars(seg, len, 0))
		return (-1);
	memcpy(dst, seg, len);
	dst[len] = '\0';
	return (0);
}

/*
 * Parse the payload as one JSON object and read its id into r->id
 * (left "" when it cannot be read); -1 with err when it is not an object.
 */
static int
command_json(const void *buf, size_t len, struct command_req *r, char *err,
    size_t errlen)
{
	const char	*end = NULL, *p;
	const cJSON	*id;

	if (len == 0)
		return (command_fail(err, errlen, "empty payload, want a JSON "
		    "object"));
	if (memchr(buf, '\0', len) != NULL)
		return (command_fail(err, errlen, "bad JSON: NUL byte"));
	r->json = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (r->json == NULL)
		return (command_fail(err, errlen, "bad JSON"));
	for (p = end; p != NULL && p < (const char *)buf + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return (command_fail(err, errlen, "bad JSON: data "
			    "after the object"));
	if (!cJSON_IsObject(r->json))
		return (command_fail(err, errlen, "payload must be a JSON "
		    "object"));
	id = cJSON_GetObjectItemCaseSensitive(r->json, "id");
	if (id == NULL)
		return (command_fail(err, errlen, "missing \"id\""));
	if (!cJSON_IsString(id) ||
	    !command_valid_id(id->valuestring, strlen(id->valuestring)))
		return (command_fail(err, errlen, "bad \"id\": want 1 to %d "
		    "of [A-Za-z0-9_.:-]", COMMAND_ID_MAX));
	memcpy(r->id, id->valuestring, strlen(id->valuestring) + 1);
	return (0);
}

/* Check the keys of the payload: exactly id, plus set if want_set. */
static int
command_keys(struct command_req *r, int want_set, char *err, size_t errlen)
{
	const cJSON	*k, *o;
	char		 name[40];

	for (k = r->json->child; k != NULL; k = k->next) {
		/* A repeated key would leave it open which one counts. */
		for (o = r->json->child; o != k; o = o->next)
			if (strcmp(o->string, k->string) == 0)
				return (command_fail(err, errlen, "key \"%s\" "
				    "given twice", k->string));
		if (strcmp(k->string, "id") == 0)
			continue;
		if (want_set && strcmp(k->string, "set") == 0)
			continue;
		/* Only the safe part of a peer's key goes in the text. */
		snprintf(name, sizeof name, "%s", k->string);
		if (!command_chars(name, strlen(name), 1))
			snprintf(name, sizeof name, "?");
		return (command_fail(err, errlen, "unknown key \"%s\"", name));
	}
	if (!want_set)
		return (0);
	r->set = cJSON_GetObjectItemCaseSensitive(r->json, "set");
	if (r->set == NULL)
		return (command_fail(err, errlen, "missing \"set\""));
	if (!cJSON_IsObject(r->set))
		return (command_fail(err, errlen, "\"set\" must be a JSON "
		    "object (a merge patch)"));
	return (0);
}

/*
 * Check a config glob segment: 1..COMMAND_GLOB_MAX of [A-Za-z0-9] and
 * COMMAND_GLOB_EXTRA, the same as the INI's [node:GLOB] sections allow.
 */
static int
command_glob(struct command_req *r, const char *seg, size_t len, char *err,
    size_t errlen)
{
	if (len == 0)
		return (command_fail(err, errlen, "empty glob"));
	if (len > COMMAND_GLOB_MAX)
		return (command_fail(err, errlen, "glob longer than %d bytes",
		    COMMAND_GLOB_MAX));
	if (!parse_id_valid(seg, len, COMMAND_GLOB_MAX, COMMAND_GLOB_EXTRA))
		return (command_fail(err, errlen, "bad glob: only letters, "
		    "digits and \"%s\" are allowed", COMMAND_GLOB_EXTRA));
	memcpy(r->arg, seg, len);
	r->arg[len] = '\0';
	return (0);
}

/* Split the verb path (after "cmd/") into up to 4 segments; their count. */
static size_t
command_split(const char *path, const char **seg, size_t *len)
{
	const char	*p = path, *slash;
	size_t		 n = 0;

	for (;;) {
		slash = strchr(p, '/');
		if (n < 4) {
			seg[n] = p;
			len[n] = slash ? (size_t)(slash - p) : strlen(p);
		}
		n++;
		if (slash == NULL || n > 4)
			return (n);
		p = slash + 1;
	}
}

/* The binary verbs: model/NAME/VERSION and tier2/SECTION. */
static int
command_binary(struct command_req *r, const char **seg, size_t *sl,
    size_t n, const void *data, size_t len, size_t max, char *err,
    size_t errlen)
{
	char	sha[65];

	if (r->verb == COMMAND_MODEL) {
		if (n != 3)
			return (command_fail(err, errlen, "want cmd/model/NAME/"
			    "VERSION"));
		if (command_name(r->arg, seg[1], sl[1], MODELS_NAME_MAX) != 0)
			return (command_fail(err, errlen, "bad model name: "
			    "want 1 to %d of [A-Za-z0-9_.-]",
			    MODELS_NAME_MAX));
		if (command_name(r->version, seg[2], sl[2],
		    MODELS_VERSION_MAX) != 0)
			return (command_fail(err, errlen, "bad model version: "
			    "want 1 to %d of [A-Za-z0-9_.-]",
			    MODELS_VERSION_MAX));
		/* arg holds at most MODELS_NAME_MAX here. */
		snprintf(r->id, sizeof r->id, "model:%.*s:%s",
		    MODELS_NAME_MAX, r->arg, r->version);
	} else {
		if (n != 2)
			return (command_fail(err, errlen, "want cmd/tier2/"
			    "SECTION"));
		if (command_name(r->arg, seg[1], sl[1], MODELS_NAME_MAX) != 0)
			return (command_fail(err, errlen, "bad section: want 1 "
			    "to %d of [A-Za-z0-9_.-]", MODELS_NAME_MAX));
	}
	/* Too large: the bytes were not kept (uplink.h's marker). */
	if (len == SIZE_MAX || len > max)
		return (command_fail(err, errlen, "too large (command_max %zu)",
		    max));
	if (len == 0)
		return (command_fail(err, errlen, "empty payload, want the "
		    "file's bytes"));
	if (r->verb == COMMAND_TIER2) {
		models_sha256(data, len, sha);
		snprintf(r->id, sizeof r->id, "tier2:%.*s:%.16s",
		    MODELS_NAME_MAX, r->arg, sha);
	}
	r->data = data;
	r->len = len;
	return (0);
}

/* learn/NAME/NODE {"id", "action": "restart"} (SPEC 11). */
static int
command_learn(struct command_req *r, const char **seg, size_t *sl, size_t n,
    char *err, size_t errlen)
{
	const cJSON	*k, *o, *a;

	if (n != 3 || command_name(r->arg, seg[1], sl[1], MODELS_NAME_MAX) !=
	    0 || command_name(r->node, seg[2], sl[2], MESSAGE_NODE_MAX) != 0 ||
	    strcmp(r->node, ".") == 0 || strcmp(r->node, "..") == 0)
		return (command_fail(err, errlen, "want cmd/learn/NAME/NODE "
		    "(1 to 64 of [A-Za-z0-9_.-] each)"));
	for (k = r->json->child; k != NULL; k = k->next) {
		for (o = r->json->child; o != k; o = o->next)
			if (strcmp(o->string, k->string) == 0)
				return (command_fail(err, errlen, "key \"%s\" "
				    "given twice", k->string));
		if (strcmp(k->string, "id") != 0 &&
		    strcmp(k->string, "action") != 0)
			return (command_fail(err, errlen, "unknown key; want "
			    "\"id\" and \"action\""));
	}
	a = cJSON_GetObjectItemCaseSensitive(r->json, "action");
	if (a == NULL)
		return (command_fail(err, errlen, "missing \"action\""));
	if (!cJSON_IsString(a) || strcmp(a->valuestring, "restart") != 0)
		return (command_fail(err, errlen, "bad \"action\": want "
		    "\"restart\""));
	return (0);
}

/*
 * Parse one command: topic relative to the prefix ("cmd/..."), payload of
 * len bytes (data NULL and a len over max: the bytes were not kept, as
 * with uplink.h's UPLINK_MSG_TOO_LARGE).  0 with r
 * filled, or -1 with err; either way r->id holds the id if it could be
 * read ("" if not) and r must be freed with command_req_free().
 */
int
command_parse(const char *topic, const void *data, size_t len, size_t max,
    struct command_req *r, char *err, size_t errlen)
{
	const char	*seg[4];
	size_t		 sl[4], n;
	int		 json;

	memset(r, 0, sizeof *r);
	if (strncmp(topic, "cmd/", 4) != 0)
		return (command_fail(err, errlen, "not a command topic"));
	n = command_split(topic + 4, seg, sl);
	if (sl[0] == 6 && memcmp(seg[0], "config", 6) == 0)
		r->verb = COMMAND_CONFIG;
	else if (sl[0] == 5 && memcmp(seg[0], "model", 5) == 0)
		r->verb = COMMAND_MODEL;
	else if (sl[0] == 5 && memcmp(seg[0], "tier2", 5) == 0)
		r->verb = COMMAND_TIER2;
	else if (sl[0] == 6 && memcmp(seg[0], "reload", 6) == 0)
		r->verb = COMMAND_RELOAD;
	else if (sl[0] == 5 && memcmp(seg[0], "learn", 5) == 0)
		r->verb = COMMAND_LEARN;
	if (r->verb == COMMAND_MODEL || r->verb == COMMAND_TIER2)
		return (command_binary(r, seg, sl, n, data, len, max, err,
		    errlen));
	/* JSON verbs (and unknown ones): the id first, for the answer. */
	if (len == SIZE_MAX || len > max)
		return (command_fail(err, errlen, "too large (command_max %zu)",
		    max));
	/* Settings fit 1 KB: a bigger patch only costs the loop time. */
	if (len > COMMAND_JSON_MAX)
		return (command_fail(err, errlen, "too large (a JSON command "
		    "is at most %d bytes)", COMMAND_JSON_MAX));
	json = command_json(data, len, r, err, errlen);
	if (r->verb == COMMAND_NONE)
		return (command_fail(err, errlen, "unknown command; want "
		    "config/GLOB, model/NAME/VERSION, tier2/SECTION, "
		    "learn/NAME/NODE or reload"));
	if (json != 0)
		return (-1);
	if (r->verb == COMMAND_RELOAD) {
		if (n != 1)
			return (command_fail(err, errlen, "want cmd/reload"));
		return (command_keys(r, 0, err, errlen));
	}
	if (r->verb == COMMAND_LEARN)
		return (command_learn(r, seg, sl, n, err, errlen));
	if (n > 2)
		return (command_fail(err, errlen, "want cmd/config/GLOB"));
	if (command_glob(r, n == 2 ? seg[1] : "", n == 2 ? sl[1] : 0, err,
	    errlen) != 0)
		return (-1);
	return (command_keys(r, 1, err, errlen));
}

/* Free what parsing made (the JSON). */
void
command_req_free(struct command_req *r)
{
	cJSON_Delete(r->json);
	r->json = NULL;
	r->set = NULL;
}
