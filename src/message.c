/*
 * message.c - parse and validate node messages: inference, window and
 * heartbeat bodies as JSON (cJSON), binary windows (SPEC section 3 table),
 * and serial "lines" (the same JSON plus "node" and "type"); binary
 * windows are message_binary.c's.
 *
 * Every check has a precise, short diagnostic naming the field, because a
 * firmware developer reads it in a coap-client reply or a counter.  Unknown
 * JSON members are ignored so newer nodes can add fields.  Every JSON
 * string, key or value, must be UTF-8 without \u0000, checked on the raw
 * bytes before cJSON parses them.  What is stored is a compact
 * re-serialization without "node"/"type", so the same reading looks the
 * same whichever link it came over.
 *
 * The stages after the store read stored bodies back through
 * message_parse_stored(), the same checks again, so that what a stage
 * reads is what ingest accepted; a tier-2 result (the gateway's own
 * inference) differs only in its score, which an autoencoder's
 * reconstruction error may take above 1.
 */
#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "message.h"
#include "message_int.h"
#include "parse.h"
#include "xmalloc.h"

#define MESSAGE_SAMPLES_MAX	(1U << 20)	/* frames * axes */
#define MESSAGE_SCORES_MAX	256
#define MESSAGE_JSON_INT_MAX	9007199254740991.0	/* 2^53 - 1 */

/* Set *cause and return -1 (for one-line error returns). */
int
message_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
	return (-1);
}

/* The name of a message type as used in serial lines and logs. */
const char *
message_type_name(enum message_type type)
{
	switch (type) {
	case MESSAGE_INFERENCE:
		return ("inference");
	case MESSAGE_WINDOW:
		return ("window");
	case MESSAGE_HEARTBEAT:
		return ("heartbeat");
	case MESSAGE_SENML:
		return ("senml");
	}
	return ("unknown");
}

/*
 * Is this a valid node id, [A-Za-z0-9_.-]{1,64} but not "." or ".."?  The
 * two dot names are refused because a node id becomes a path segment
 * (/v1/n/{node}/, P/nodes/{node}/) where they mean "here" and "up".
 */
int
message_node_valid(const char *s, size_t len)
{
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return (0);
	return (parse_id_valid(s, len, MESSAGE_NODE_MAX, "_.-"));
}

/* Free a message. */
void
message_free(struct message *m)
{
	if (m == NULL)
		return;
	free(m->values);
	free(m->body);
	free(m->senml);
	cJSON_Delete(m->fields);
	free(m);
}

/* An optional integer member in [0, max]; 0 absent, 1 set, -1 bad. */
static int
message_get_uint(const cJSON *o, const char *name, double max, double *out,
    char **cause)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > max || floor(v->valuedouble) != v->valuedouble)
		return (message_fail(cause, "%s: must be an integer in "
		    "[0, %.0f]", name, max));
	*out = v->valuedouble;
	return (1);
}

/* An optional short text member: 0 absent, 1 set, -1 bad. */
static int
message_get_text(const cJSON *o, const char *name, char *out, char **cause)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);
	const char	*s;
	size_t		 n, i;

	if (v == NULL)
		return (0);
	if (!cJSON_IsString(v) || (n = strlen(s = v->valuestring)) == 0 ||
	    n > MESSAGE_TEXT_MAX)
		return (message_fail(cause, "%s: must be a non-empty string of "
		    "at most %d characters", name, MESSAGE_TEXT_MAX));
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (message_fail(cause, "%s: control characters "
			    "are not allowed", name));
	}
	memcpy(out, s, n + 1);
	return (1);
}

/* Fields every message may carry: seq, boot, ts. */
static int
message_common(const cJSON *o, struct message *m, int seq_required,
    char **cause)
{
	double	v;
	int	rc;

	if ((rc = message_get_uint(o, "seq", UINT32_MAX, &v, cause)) == -1)
		return (-1);
	if (rc == 0 && seq_required)
		return (message_fail(cause, "seq: required"));
	m->has_seq = rc;
	m->seq = rc ? (uint32_t)v : 0;
	if ((rc = message_get_uint(o, "boot", UINT32_MAX, &v, cause)) == -1)
		return (-1);
	m->boot = rc ? (uint32_t)v : 0;
	if ((rc = message_get_uint(o, "ts", MESSAGE_JSON_INT_MAX, &v,
	    cause)) == -1) {
		/* Replace the generic range message with a clearer one. */
		free(*cause);
		return (message_fail(cause, "ts: must be milliseconds since "
		    "the epoch, a non-negative integer"));
	}
	m->ts_ms = rc ? (int64_t)v : 0;
	return (0);
}

/*
 * The node's own result: model, label, score (and scores).  Required for
 * an inference, optional as a group for a window.
 */
static int
message_result(const cJSON *o, struct message *m, int required,
    char **cause)
{
	const cJSON	*score, *scores, *e;
	int		 has_model, has_label, n = 0;

	if ((has_model = message_get_text(o, "model", m->model, cause)) == -1)
		return (-1);
	if ((has_label = message_get_text(o, "label", m->label, cause)) == -1)
		return (-1);
	score = cJSON_GetObjectItemCaseSensitive(o, "score");
	if (!required && !has_model && !has_label && score == NULL)
		return (0);
	if (!has_model)
		return (message_fail(cause, "model: required"));
	if (!has_label)
		return (message_fail(cause, "label: required"));
	if (score == NULL)
		return (message_fail(cause, "score: required"));
	if (m->tier == 2) {
		/* Ours: an anomaly score is a mean squared error. */
		if (!cJSON_IsNumber(score) || !(score->valuedouble >= 0.0 &&
		    isfinite(score->valuedouble)))
			return (message_fail(cause, "score: must be a "
			    "non-negative number"));
	} else if (!cJSON_IsNumber(score) || !(score->valuedouble >= 0.0 &&
	    score->valuedouble <= 1.0))
		return (message_fail(cause, "score: must be a number in [0,1]"));
	m->score = score->valuedouble;
	m->has_result = 1;

	scores = cJSON_GetObjectItemCaseSensitive(o, "scores");
	if (scores != NULL) {
		if (!cJSON_IsObject(scores))
			return (message_fail(cause, "scores: must be an object "
			    "of label: score"));
		cJSON_ArrayForEach(e, scores) {
			if (++n > MESSAGE_SCORES_MAX)
				return (message_fail(cause, "scores: more than "
				    "%d labels", MESSAGE_SCORES_MAX));
			if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0.0 &&
			    e->valuedouble <= 1.0))
				return (message_fail(cause, "scores: \"%.32s\" "
				    "must be a number in [0,1]", e->string));
		}
	}
	return (0);
}

/* Inference-only fields: latency_us, window. */
static int
message_inference(const cJSON *o, struct message *m, char **cause)
{
	double	v;
	int	rc;

	if (message_result(o, m, 1, cause) != 0)
		return (-1);
	if ((rc = message_get_uint(o, "latency_us", MESSAGE_JSON_INT_MAX, &v,
	    cause)) == -1)
		return (-1);
	m->latency_us = rc ? (int64_t)v : -1;
	if ((rc = message_get_uint(o, "window", UINT32_MAX, &v, cause)) == -1)
		return (-1);
	m->window = rc ? (int64_t)v : -1;
	return (0);
}

/* Window JSON: interval_ms, sensors, values (rows of sensor values). */
static int
message_window_json(const cJSON *o, struct message *m, char **cause)
{
	const cJSON	*interval, *sensors, *values, *s, *row, *v;
	uint32_t	 axes, frames, f = 0, a;

	if (message_result(o, m, 0, cause) != 0)
		return (-1);
	interval = cJSON_GetObjectItemCaseSensitive(o, "interval_ms");
	if (interval == NULL)
		return (message_fail(cause, "interval_ms: required"));
	if (!cJSON_IsNumber(interval) || !(interval->valuedouble > 0 &&
	    interval->valuedouble <= 3600000.0) ||
	    llround(interval->valuedouble * 1000) == 0)
		return (message_fail(cause, "interval_ms: must be a positive "
		    "number of at most 3600000"));
	m->interval_us = (uint64_t)llround(interval->valuedouble * 1000);

	sensors = cJSON_GetObjectItemCaseSensitive(o, "sensors");
	if (sensors == NULL)
		return (message_fail(cause, "sensors: required"));
	if (!cJSON_IsArray(sensors) ||
	    (axes = (uint32_t)cJSON_GetArraySize(sensors)) == 0 ||
	    axes > MESSAGE_AXES_MAX)
		return (message_fail(cause, "sensors: must be an array of 1 "
		    "to %d sensors", MESSAGE_AXES_MAX));
	cJSON_ArrayForEach(s, sensors) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");

		if (!cJSON_IsObject(s) || !cJSON_IsString(name) ||
		    *name->valuestring == '\0')
			return (message_fail(cause, "sensors: each must be an "
			    "object with a \"name\""));
	}

	values = cJSON_GetObjectItemCaseSensitive(o, "values");
	if (values == NULL)
		return (message_fail(cause, "values: required"));
	if (!cJSON_IsArray(values) ||
	    (frames = (uint32_t)cJSON_GetArraySize(values)) == 0)
		return (message_fail(cause, "values: must be a non-empty array "
		    "of rows"));
	if ((uint64_t)frames * axes > MESSAGE_SAMPLES_MAX)
		return (message_fail(cause, "values: more than %u samples",
		    MESSAGE_SAMPLES_MAX));
	m->values = xcalloc((size_t)frames * axes, sizeof *m->values);
	cJSON_ArrayForEach(row, values) {
		/* A single-sensor window may list plain numbers. */
		if (axes == 1 && cJSON_IsNumber(row)) {
			if (!isfinite(row->valuedouble) ||
			    fabs(row->valuedouble) > 3.4e38)
				return (message_fail(cause, "values[%u]: not a "
				    "finite number", f));
			m->values[f++] = (float)row->valuedouble;
			continue;
		}
		if (!cJSON_IsArray(row) ||
		    (uint32_t)cJSON_GetArraySize(row) != axes)
			return (message_fail(cause, "values[%u]: must have %u "
			    "number%s, one per sensor", f, axes,
			    axes == 1 ? "" : "s"));
		a = 0;
		cJSON_ArrayForEach(v, row) {
			if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
			    fabs(v->valuedouble) > 3.4e38)
				return (message_fail(cause, "values[%u][%u]: "
				    "not a finite number", f, a));
			m->values[(size_t)f * axes + a++] =
			    (float)v->valuedouble;
		}
		f++;
	}
	m->format = MESSAGE_WINDOW_JSON;
	m->dtype = MESSAGE_DTYPE_FLOAT32;
	m->frames = frames;
	m->axes = axes;
	return (0);
}

/*
 * A heartbeat's fields become the node's retained status: at most
 * MESSAGE_HEARTBEAT_FIELDS_MAX members (besides a line's "node" and
 * "type") and MESSAGE_HEARTBEAT_BYTES_MAX bytes of compact body, so that
 * status stays small whatever a node sends.
 */
static int
message_heartbeat(const cJSON *o, const struct message *m, char **cause)
{
	const cJSON	*f;
	size_t		 n = 0;

	cJSON_ArrayForEach(f, o) {
		if (f->string != NULL && (strcmp(f->string, "node") == 0 ||
		    strcmp(f->string, "type") == 0))
			continue;
		if (++n > MESSAGE_HEARTBEAT_FIELDS_MAX)
			return (message_fail(cause, "heartbeat: more than %d "
			    "fields", MESSAGE_HEARTBEAT_FIELDS_MAX));
	}
	if (m->body_len > MESSAGE_HEARTBEAT_BYTES_MAX)
		return (message_fail(cause, "heartbeat: %zu bytes, more than "
		    "%d", m->body_len, MESSAGE_HEARTBEAT_BYTES_MAX));
	return (0);
}

/*
 * Remove every "node" and "type" member (a repeated name too: deleting by
 * name removes the first only, and the body stored is to have none).
 */
static void
message_drop_ours(cJSON *o)
{
	cJSON	*f, *next;

	for (f = o->child; f != NULL; f = next) {
		next = f->next;
		if (f->string != NULL && (strcmp(f->string, "node") == 0 ||
		    strcmp(f->string, "type") == 0))
			cJSON_Delete(cJSON_DetachItemViaPointer(o, f));
	}
}

/*
 * Validate a parsed object as a message of the given type.  The body kept
 * is the object without "node" and "type"; when it has neither, the raw
 * text it was parsed from (raw, rawlen; NULL if none) is that body already
 * and is kept as it came: printing the object again cost a tenth of the
 * daemon's CPU per reading (every number printed and scanned back).
 * Heartbeats are always printed again: their cap is on the compact form.
 */
static int
message_from_object(enum message_type type, const cJSON *o, const char *raw,
    size_t rawlen, struct message *m, char **cause)
{
	cJSON	*copy;
	char	*text;

	m->type = type;
	m->latency_us = -1;
	m->window = -1;
	if (message_common(o, m, type != MESSAGE_HEARTBEAT, cause) != 0)
		return (-1);
	switch (type) {
	case MESSAGE_INFERENCE:
		if (message_inference(o, m, cause) != 0)
			return (-1);
		break;
	case MESSAGE_WINDOW:
		if (message_window_json(o, m, cause) != 0)
			return (-1);
		break;
	case MESSAGE_HEARTBEAT:
		break;
	case MESSAGE_SENML:
		return (message_fail(cause, "senml: a pack, not a body"));
	}
	if (raw != NULL && type != MESSAGE_HEARTBEAT &&
	    !cJSON_HasObjectItem(o, "node") && !cJSON_HasObjectItem(o, "type")) {
		m->body_len = rawlen;
		m->body = xmalloc(rawlen + 1);
		memcpy(m->body, raw, rawlen);
		m->body[rawlen] = '\0';
		return (0);
	}
	copy = cJSON_Duplicate(o, 1);
	if (copy == NULL)
		return (message_fail(cause, "out of memory"));
	message_drop_ours(copy);
	text = cJSON_PrintUnformatted(copy);
	/* A heartbeat's members are the node's status: kept, not re-read. */
	if (type == MESSAGE_HEARTBEAT && text != NULL)
		m->fields = copy;
	else
		cJSON_Delete(copy);
	if (text == NULL)
		return (message_fail(cause, "out of memory"));
	m->body_len = strlen(text);
	m->body = xmalloc(m->body_len + 1);
	memcpy(m->body, text, m->body_len + 1);
	cJSON_free(text);
	if (type == MESSAGE_HEARTBEAT)
		return (message_heartbeat(o, m, cause));
	return (0);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
size_t
message_utf8_len(const unsigned char *p, size_t n)
{
	size_t	 need, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		cp = p[0] & 0x07;
	} else
		return (0);	/* continuation byte, C0/C1 or F5..FF */
	if (need > n)
		return (0);
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	return (need);
}

/*
 * Check the raw text before cJSON sees it: cJSON copies string bytes as
 * they are and decodes \u0000 into a NUL that silently cuts the C string
 * short, so a label, key or node id could be stored as something else than
 * what was sent.  Every byte must be UTF-8 (outside strings JSON is ASCII
 * anyway), and no string may hold \u0000.
 */
static int
message_json_scan(const unsigned char *p, size_t len, char **cause)
{
	size_t	i = 0, n;
	int	in_string = 0;

	while (i < len) {
		if ((n = message_utf8_len(p + i, len - i)) == 0)
			return (message_fail(cause, "invalid JSON: not UTF-8 "
			    "at byte %zu", i));
		if (n == 1 && p[i] == '"')
			in_string = !in_string;
		else if (n == 1 && p[i] == '\\' && in_string) {
			if (i + 5 < len && p[i + 1] == 'u' &&
			    memcmp(p + i + 2, "0000", 4) == 0)
				return (message_fail(cause, "invalid JSON: "
				    "\\u0000 in a string at byte %zu", i));
			/* Skip the escaped character (ASCII when valid). */
			if (i + 1 < len && p[i + 1] < 0x80)
				i++;
		}
		i += n;
	}
	return (0);
}

/* Parse bytes as exactly one JSON value (nothing after it). */
cJSON *
message_json_decode(const void *buf, size_t len, char **cause)
{
	const char	*end = NULL, *p;
	cJSON		*o;

	if (len == 0) {
		message_fail(cause, "empty body");
		return (NULL);
	}
	if (memchr(buf, '\0', len) != NULL) {
		message_fail(cause, "invalid JSON: NUL byte");
		return (NULL);
	}
	if (message_json_scan(buf, len, cause) != 0)
		return (NULL);
	o = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (o == NULL) {
		end = cJSON_GetErrorPtr();
		if (end != NULL && end >= (const char *)buf &&
		    end <= (const char *)buf + len)
			message_fail(cause, "invalid JSON at byte %zu",
			    (size_t)(end - (const char *)buf));
		else
			message_fail(cause, "invalid JSON");
		return (NULL);
	}
	for (p = end; p != NULL && p < (const char *)buf + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			cJSON_Delete(o);
			message_fail(cause, "invalid JSON: data after the "
			    "object at byte %zu", (size_t)(p - (const char *)buf));
			return (NULL);
		}
	}
	return (o);
}

/* Parse bytes as exactly one JSON object (nothing after it). */
static cJSON *
message_parse_object(const void *buf, size_t len, char **cause)
{
	cJSON	*o;

	if ((o = message_json_decode(buf, len, cause)) == NULL)
		return (NULL);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		message_fail(cause, "body must be a JSON object");
		return (NULL);
	}
	return (o);
}

/*
 * Make a message for node from a parsed object, which this consumes (node
 * may point into it, so it is copied before the object goes); tier: who
 * made the result, 1 a node, 2 our tier 2.
 */
static int
message_build(enum message_type type, int tier, const char *node, cJSON *o,
    const char *raw, size_t rawlen, struct message **mp, char **cause)
{
	struct message	*m;
	int		 rc;

	m = xcalloc(1, sizeof *m);
	snprintf(m->node, sizeof m->node, "%s", node);
	m->tier = tier;
	rc = message_from_object(type, o, raw, rawlen, m, cause);
	cJSON_Delete(o);
	if (rc != 0) {
		message_free(m);
		return (-1);
	}
	*mp = m;
	return (0);
}

/* Parse a JSON body for node, a result made by tier (1 or 2). */
static int
message_parse_json_tier(enum message_type type, int tier, const char *node,
    const void *buf, size_t len, struct message **mp, char **cause)
{
	cJSON		*o;

	*mp = NULL;
	if (!message_node_valid(node, strlen(node)))
		return (message_fail(cause, "node id must be 1 to 64 of "
		    "[A-Za-z0-9_.-]"));
	if (type == MESSAGE_HEARTBEAT && len == 0)
		o = cJSON_CreateObject();
	else if ((o = message_parse_object(buf, len, cause)) == NULL)
		return (-1);
	return (message_build(type, tier, node, o, len ? buf : NULL, len, mp,
	    cause));
}

/*
 * Parse a JSON body for node (already validated by the caller, e.g. from
 * the CoAP path).  An empty heartbeat body is allowed.
 */
int
message_parse_json(enum message_type type, const char *node,
    const void *buf, size_t len, struct message **mp, char **cause)
{
	return (message_parse_json_tier(type, 1, node, buf, len, mp, cause));
}

/*
 * Parse a CBOR body (content-format 60) for node: the same keys as the
 * JSON body, decoded into the same tree and checked the same way; the
 * stored body is its compact JSON.  An empty heartbeat body is allowed.
 */
int
message_parse_cbor(enum message_type type, const char *node,
    const void *buf, size_t len, struct message **mp, char **cause)
{
	cJSON	*o;

	*mp = NULL;
	if (!message_node_valid(node, strlen(node)))
		return (message_fail(cause, "node id must be 1 to 64 of "
		    "[A-Za-z0-9_.-]"));
	if (type == MESSAGE_SENML)
		return (message_fail(cause, "SenML is not a CBOR body"));
	if (type == MESSAGE_HEARTBEAT && len == 0)
		o = cJSON_CreateObject();
	else if ((o = message_cbor_decode(buf, len, 0, cause)) == NULL)
		return (-1);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return (message_fail(cause, "body must be a CBOR map"));
	}
	return (message_build(type, 1, node, o, NULL, 0, mp, cause));
}

/*
 * Parse a SenML pack for node, senml+cbor when cbor is set, else
 * senml+json; relative times are taken from now_ms (message_senml.c).
 */
int
message_parse_senml(const char *node, int cbor, const void *buf, size_t len,
    int64_t now_ms, struct message **mp, char **cause)
{
	cJSON	*pack;
	int	 rc;

	*mp = NULL;
	if (!message_node_valid(node, strlen(node)))
		return (message_fail(cause, "node id must be 1 to 64 of "
		    "[A-Za-z0-9_.-]"));
	if (cbor)
		pack = message_cbor_decode(buf, len, 1, cause);
	else
		pack = message_json_decode(buf, len, cause);
	if (pack == NULL)
		return (-1);
	rc = message_senml_resolve(node, pack, now_ms, mp, cause);
	cJSON_Delete(pack);
	return (rc);
}

/*
 * Parse one serial line: a JSON object with "type" and, unless the link
 * has a default node, "node".
 */
int
message_parse_line(const char *line, size_t len, const char *default_node,
    struct message **mp, char **cause)
{
	static const enum message_type types[] = {
		MESSAGE_INFERENCE, MESSAGE_WINDOW, MESSAGE_HEARTBEAT,
	};
	const cJSON		*t, *n;
	const char		*node = default_node;
	enum message_type	 type = 0;
	cJSON			*o;
	size_t			 i;

	*mp = NULL;
	if ((o = message_parse_object(line, len, cause)) == NULL)
		return (-1);
	t = cJSON_GetObjectItemCaseSensitive(o, "type");
	for (i = 0; cJSON_IsString(t) && i < 3; i++) {
		if (strcmp(t->valuestring, message_type_name(types[i])) == 0)
			type = types[i];
	}
	if (type == 0) {
		cJSON_Delete(o);
		return (message_fail(cause, "type: must be \"inference\", "
		    "\"window\" or \"heartbeat\""));
	}
	n = cJSON_GetObjectItemCaseSensitive(o, "node");
	if (n != NULL) {
		if (!cJSON_IsString(n) ||
		    !message_node_valid(n->valuestring, strlen(n->valuestring))) {
			cJSON_Delete(o);
			return (message_fail(cause, "node: must be 1 to 64 of "
			    "[A-Za-z0-9_.-]"));
		}
		node = n->valuestring;
	}
	if (node == NULL || *node == '\0') {
		cJSON_Delete(o);
		return (message_fail(cause, "node: required"));
	}
	return (message_build(type, 1, node, o, NULL, 0, mp, cause));
}

/* The store's kind for a node's message (the one mapping of the two). */
enum store_kind
message_store_kind(enum message_type type)
{
	switch (type) {
	case MESSAGE_INFERENCE:
		return (STORE_KIND_INFERENCE);
	case MESSAGE_WINDOW:
		return (STORE_KIND_WINDOW);
	case MESSAGE_HEARTBEAT:
		return (STORE_KIND_HEARTBEAT);
	case MESSAGE_SENML:
		return (STORE_KIND_SENML);
	}
	fatalx("message: type %d has no store kind", (int)type);
}

/*
 * Which message type a stored kind holds and who made its result: 0, or
 * -1 for a number that is no kind (a damaged row or journal record).
 */
static int
message_stored_type(enum store_kind kind, enum message_type *type, int *tier)
{
	*tier = 1;
	switch (kind) {
	case STORE_KIND_INFERENCE:
		*type = MESSAGE_INFERENCE;
		return (0);
	case STORE_KIND_WINDOW:
		*type = MESSAGE_WINDOW;
		return (0);
	case STORE_KIND_HEARTBEAT:
		*type = MESSAGE_HEARTBEAT;
		return (0);
	case STORE_KIND_TIER2:
		*type = MESSAGE_INFERENCE;
		*tier = 2;
		return (0);
	case STORE_KIND_SENML:
		break;		/* read by message_parse_senml() */
	}
	return (-1);
}

/*
 * Parse a stored message as the store hands it out (struct store_msg's
 * kind, node, body and len) with the checks ingest made: the one reader of
 * stored bodies for the stages after the store.  A stored window is binary
 * when it starts with the magic (a JSON one starts with '{' or a blank).
 */
int
message_parse_stored(enum store_kind kind, const char *node, const void *body,
    size_t len, struct message **mp, char **cause)
{
	enum message_type	type;
	int			tier;

	*mp = NULL;
	/* Stored packs are resolved already: no relative times are left. */
	if (kind == STORE_KIND_SENML)
		return (message_parse_senml(node, 0, body, len, 0, mp, cause));
	if (message_stored_type(kind, &type, &tier) != 0)
		return (message_fail(cause, "stored kind %d is not a message",
		    (int)kind));
	if (type == MESSAGE_WINDOW && len >= 2 &&
	    memcmp(body, MESSAGE_BIN_MAGIC, 2) == 0)
		return (message_parse_window_binary(node, body, len, mp,
		    cause));
	return (message_parse_json_tier(type, tier, node, body, len, mp,
	    cause));
}
