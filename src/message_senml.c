/*
 * message_senml.c - resolve a SenML pack (RFC 8428) into the records that
 * are stored and published on P/senml/{node}.
 *
 * The pack (a cJSON tree from senml+json text or, via message_cbor.c,
 * senml+cbor) is an array of 1 to MESSAGE_SENML_RECORDS_MAX records.  Base
 * fields (bn, bt, bu, bv, bs, bver) apply to their record and every later
 * one until changed (RFC 8428 4.1).  Each record resolves to a name (bn +
 * n: 1 to MESSAGE_SENML_NAME_MAX characters, starting with a letter or
 * digit, then letters, digits and - : . / _ as section 4.5.1 asks), a unit
 * (u, else bu), at most one value (v + bv, vs, vb or vd) and an optional
 * sum (s + bs); a record with neither value nor sum is refused.  RFC 8428
 * allows a sum beside a value, so we do too.  A time (bt + t) below 2^28
 * is relative to now (4.5.3); every time is made absolute, in seconds as
 * resolved SenML has it ("t", to the millisecond) and as integer ms since
 * the epoch ("ts", like the ts of our JSON bodies).  bver must be an
 * integer from 1 to 10: a newer version may change meanings we do not
 * know.  Fields ending in "_" must be understood (4.4), so any is refused;
 * other unknown fields are dropped.
 *
 * The resolved records are again a valid pack with only absolute times,
 * so a stored pack read back through here gives the same records.
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "message_int.h"
#include "xmalloc.h"

#define SENML_REL_LIMIT		268435456.0	/* 2^28 s: relative below */
#define SENML_T_MAX		1e11	/* s (year 5138): ms in 14 digits, exact */
#define SENML_VERSION		10
#define SENML_STRING_MAX	1024	/* vs and vd */

/* The base fields in force. */
struct senml_base {
	char	 name[MESSAGE_SENML_NAME_MAX + 1];
	double	 time;
	char	 unit[MESSAGE_SENML_UNIT_MAX + 1];
	double	 value;
	double	 sum;
};

/* A member of record i: NULL absent; -1 on a wrong type. */
static int
senml_get(const cJSON *r, const char *key, int want, unsigned i,
    const cJSON **out, char **cause)
{
	static const char *const what[] = { "a number", "a string",
	    "a boolean" };
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(r, key);
	int		 ok;

	*out = v;
	if (v == NULL)
		return (0);
	if (want == 0)
		ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
	else if (want == 1)
		ok = cJSON_IsString(v);
	else
		ok = cJSON_IsBool(v);
	if (!ok)
		return (message_fail(cause, "records[%u]: %s: must be %s", i,
		    key, what[want]));
	return (0);
}

/* Is c allowed in a SenML name (first: letters and digits only)? */
static int
senml_name_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (!first && (c == '-' || c == ':' || c == '.' || c == '/' ||
	    c == '_'));
}

/* Refuse must-understand fields (names ending in "_"). */
static int
senml_unknown(const cJSON *r, unsigned i, char **cause)
{
	const cJSON	*f;
	size_t		 n;

	cJSON_ArrayForEach(f, r) {
		if (f->string != NULL && (n = strlen(f->string)) > 0 &&
		    f->string[n - 1] == '_')
			return (message_fail(cause, "records[%u]: \"%.32s\": "
			    "a must-understand field we do not know", i,
			    f->string));
	}
	return (0);
}

/* Update the base fields from record i. */
static int
senml_base(const cJSON *r, unsigned i, struct senml_base *b, char **cause)
{
	const cJSON	*v;

	if (senml_get(r, "bver", 0, i, &v, cause) != 0)
		return (-1);
	if (v != NULL && (v->valuedouble < 1 || v->valuedouble > SENML_VERSION ||
	    floor(v->valuedouble) != v->valuedouble))
		return (message_fail(cause, "records[%u]: bver: must be an "
		    "integer from 1 to %d", i, SENML_VERSION));
	if (senml_get(r, "bn", 1, i, &v, cause) != 0)
		return (-1);
	if (v != NULL) {
		if (strlen(v->valuestring) > MESSAGE_SENML_NAME_MAX)
			return (message_fail(cause, "records[%u]: bn: longer "
			    "than %d", i, MESSAGE_SENML_NAME_MAX));
		snprintf(b->name, sizeof b->name, "%s", v->valuestring);
	}
	if (senml_get(r, "bt", 0, i, &v, cause) != 0)
		return (-1);
	if (v != NULL)
		b->time = v->valuedouble;
	if (senml_get(r, "bu", 1, i, &v, cause) != 0)
		return (-1);
	if (v != NULL) {
		if (strlen(v->valuestring) > MESSAGE_SENML_UNIT_MAX)
			return (message_fail(cause, "records[%u]: bu: longer "
			    "than %d", i, MESSAGE_SENML_UNIT_MAX));
		snprintf(b->unit, sizeof b->unit, "%s", v->valuestring);
	}
	if (senml_get(r, "bv", 0, i, &v, cause) != 0)
		return (-1);
	if (v != NULL)
		b->value = v->valuedouble;
	if (senml_get(r, "bs", 0, i, &v, cause) != 0)
		return (-1);
	if (v != NULL)
		b->sum = v->valuedouble;
	return (0);
}

/* Resolve record i's name into rec and out. */
static int
senml_name(const cJSON *r, unsigned i, const struct senml_base *b,
    struct message_senml *rec, cJSON *out, char **cause)
{
	const cJSON	*n;
	size_t		 len, k;

	if (senml_get(r, "n", 1, i, &n, cause) != 0)
		return (-1);
	len = strlen(b->name) + (n != NULL ? strlen(n->valuestring) : 0);
	if (len == 0)
		return (message_fail(cause, "records[%u]: no name (bn and n "
		    "are empty)", i));
	if (len > MESSAGE_SENML_NAME_MAX)
		return (message_fail(cause, "records[%u]: name longer than %d",
		    i, MESSAGE_SENML_NAME_MAX));
	snprintf(rec->name, sizeof rec->name, "%s%s", b->name,
	    n != NULL ? n->valuestring : "");
	for (k = 0; k < len; k++) {
		if (!senml_name_char(rec->name[k], k == 0))
			return (message_fail(cause, "records[%u]: name: only "
			    "letters, digits and -:./_ (first a letter or "
			    "digit)", i));
	}
	cJSON_AddStringToObject(out, "n", rec->name);
	return (0);
}

/* Resolve record i's value (at most one) and sum into rec and out. */
static int
senml_values(const cJSON *r, unsigned i, const struct senml_base *b,
    struct message_senml *rec, cJSON *out, char **cause)
{
	const cJSON	*v, *vs, *vb, *vd, *s;
	const char	*p;

	if (senml_get(r, "v", 0, i, &v, cause) != 0 ||
	    senml_get(r, "vs", 1, i, &vs, cause) != 0 ||
	    senml_get(r, "vb", 2, i, &vb, cause) != 0 ||
	    senml_get(r, "vd", 1, i, &vd, cause) != 0 ||
	    senml_get(r, "s", 0, i, &s, cause) != 0)
		return (-1);
	if ((v != NULL) + (vs != NULL) + (vb != NULL) + (vd != NULL) > 1)
		return (message_fail(cause, "records[%u]: more than one of v, "
		    "vs, vb, vd", i));
	if (v == NULL && vs == NULL && vb == NULL && vd == NULL && s == NULL)
		return (message_fail(cause, "records[%u]: needs one of v, vs, "
		    "vb, vd or s", i));
	if (vs != NULL && strlen(vs->valuestring) > SENML_STRING_MAX)
		return (message_fail(cause, "records[%u]: vs: longer than %d",
		    i, SENML_STRING_MAX));
	if (vd != NULL) {
		if (strlen(vd->valuestring) > SENML_STRING_MAX * 4 / 3 + 4)
			return (message_fail(cause, "records[%u]: vd: longer "
			    "than %d bytes", i, SENML_STRING_MAX));
		for (p = vd->valuestring; *p != '\0'; p++) {
			if (!senml_name_char(*p, 1) && *p != '-' && *p != '_')
				return (message_fail(cause, "records[%u]: vd: "
				    "must be base64url without padding", i));
		}
	}
	if (v != NULL) {
		rec->has_v = 1;
		rec->v = b->value + v->valuedouble;
		if (!isfinite(rec->v))
			return (message_fail(cause, "records[%u]: v: bv + v is "
			    "not finite", i));
		cJSON_AddNumberToObject(out, "v", rec->v);
	} else if (vs != NULL)
		cJSON_AddStringToObject(out, "vs", vs->valuestring);
	else if (vb != NULL)
		cJSON_AddBoolToObject(out, "vb", cJSON_IsTrue(vb));
	else if (vd != NULL)
		cJSON_AddStringToObject(out, "vd", vd->valuestring);
	if (s != NULL) {
		if (!isfinite(b->sum + s->valuedouble))
			return (message_fail(cause, "records[%u]: s: bs + s is "
			    "not finite", i));
		cJSON_AddNumberToObject(out, "s", b->sum + s->valuedouble);
	}
	return (0);
}

/* Resolve record i's unit, time and update time into rec and out. */
static int
senml_time(const cJSON *r, unsigned i, const struct senml_base *b,
    int64_t now_ms, struct message_senml *rec, cJSON *out, char **cause)
{
	const cJSON	*u, *t, *ut;
	double		 sec;

	if (senml_get(r, "u", 1, i, &u, cause) != 0 ||
	    senml_get(r, "t", 0, i, &t, cause) != 0 ||
	    senml_get(r, "ut", 0, i, &ut, cause) != 0)
		return (-1);
	if (u != NULL && strlen(u->valuestring) > MESSAGE_SENML_UNIT_MAX)
		return (message_fail(cause, "records[%u]: u: longer than %d",
		    i, MESSAGE_SENML_UNIT_MAX));
	if (u != NULL && *u->valuestring != '\0')
		cJSON_AddStringToObject(out, "u", u->valuestring);
	else if (u == NULL && b->unit[0] != '\0')
		cJSON_AddStringToObject(out, "u", b->unit);
	sec = b->time + (t != NULL ? t->valuedouble : 0);
	if (sec < SENML_REL_LIMIT) {
		/* Relative to now (RFC 8428 4.5.3); a past time is negative. */
		sec = (double)now_ms / 1000 + sec;
	}
	if (!(sec >= 0 && sec <= SENML_T_MAX))
		return (message_fail(cause, "records[%u]: t: bt + t is out of "
		    "range", i));
	rec->t_ms = (int64_t)llround(sec * 1000);
	cJSON_AddNumberToObject(out, "t", (double)rec->t_ms / 1000);
	cJSON_AddNumberToObject(out, "ts", (double)rec->t_ms);
	if (ut != NULL) {
		if (ut->valuedouble < 0)
			return (message_fail(cause, "records[%u]: ut: must not "
			    "be negative", i));
		cJSON_AddNumberToObject(out, "ut", ut->valuedouble);
	}
	return (0);
}

/* Resolve one record into rec and append it to the array out. */
static int
senml_record(const cJSON *r, unsigned i, struct senml_base *b,
    int64_t now_ms, struct message_senml *rec, cJSON *out, char **cause)
{
	cJSON	*o;

	if (!cJSON_IsObject(r))
		return (message_fail(cause, "records[%u]: must be an object",
		    i));
	if (senml_unknown(r, i, cause) != 0 ||
	    senml_base(r, i, b, cause) != 0)
		return (-1);
	o = cJSON_CreateObject();
	cJSON_AddItemToArray(out, o);
	if (senml_name(r, i, b, rec, o, cause) != 0 ||
	    senml_values(r, i, b, rec, o, cause) != 0 ||
	    senml_time(r, i, b, now_ms, rec, o, cause) != 0)
		return (-1);
	return (0);
}

/*
 * Resolve a decoded pack for node at now_ms into a message of type
 * MESSAGE_SENML: its records and, as body, their JSON array.
 */
int
message_senml_resolve(const char *node, const cJSON *pack, int64_t now_ms,
    struct message **mp, char **cause)
{
	struct senml_base	 b;
	struct message		*m;
	const cJSON		*r;
	cJSON			*out;
	char			*text;
	unsigned		 i = 0;
	int			 n;

	*mp = NULL;
	if (!cJSON_IsArray(pack))
		return (message_fail(cause, "pack: must be an array of "
		    "records"));
	if ((n = cJSON_GetArraySize(pack)) == 0)
		return (message_fail(cause, "pack: no records"));
	if (n > MESSAGE_SENML_RECORDS_MAX)
		return (message_fail(cause, "pack: more than %d records",
		    MESSAGE_SENML_RECORDS_MAX));
	memset(&b, 0, sizeof b);
	m = xcalloc(1, sizeof *m);
	m->type = MESSAGE_SENML;
	m->tier = 1;
	m->latency_us = -1;
	m->window = -1;
	snprintf(m->node, sizeof m->node, "%s", node);
	m->senml = xcalloc((size_t)n, sizeof *m->senml);
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(r, pack) {
		if (senml_record(r, i, &b, now_ms, &m->senml[i], out,
		    cause) != 0) {
			cJSON_Delete(out);
			message_free(m);
			return (-1);
		}
		i++;
	}
	m->nsenml = i;
	text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	if (text == NULL) {
		message_free(m);
		return (message_fail(cause, "out of memory"));
	}
	m->body_len = strlen(text);
	m->body = xmalloc(m->body_len + 1);
	memcpy(m->body, text, m->body_len + 1);
	cJSON_free(text);
	*mp = m;
	return (0);
}
