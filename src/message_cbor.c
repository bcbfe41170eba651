/*
 * message_cbor.c - CBOR (RFC 8949) bodies turned into the cJSON tree the
 * JSON validation reads, so a CBOR inference, window or heartbeat (content-
 * format 60) and a senml+cbor pack (112) get exactly the checks and
 * diagnostics of their JSON forms.
 *
 * libcbor's streaming decoder (cbor_stream_decode) reads the bytes one
 * data item head at a time and calls us; we build the cJSON tree on a
 * stack of open containers.  Nothing is allocated for a declared size
 * before its items arrive, so every bound is checked before anything
 * grows: nesting depth, items per array or map (and never more than the
 * bytes left could hold), string length, and one top-level item with no
 * bytes after it.  Refused with a diagnostic: indefinite lengths (a node
 * knows its sizes; accepting them would only widen what we must bound),
 * tags, undefined and other simple values, non-finite floats, integers
 * beyond +-2^53 (a JSON number cannot hold them exactly), byte strings
 * except as a SenML "vd", and text that is not UTF-8 or holds a NUL.
 *
 * SenML mode maps the integer labels of RFC 8428 table 6 to their JSON
 * names and a byte-string "vd" to base64url text, as in senml+json.
 */
#include <cbor.h>
#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "message_int.h"
#include "xmalloc.h"

#define CBOR_DEPTH_MAX		16
#define CBOR_ITEMS_MAX		(1U << 20)	/* per array or map */
#define CBOR_STRING_MAX		4096
#define CBOR_KEY_MAX		256
#define CBOR_INT_MAX		(UINT64_C(1) << 53)

/* One open array or map. */
struct cbor_frame {
	cJSON		*item;
	uint64_t	 left;		/* items (keys and values) still due */
	int		 map;
	char		*key;		/* a map's key awaiting its value */
};

/* The decoding in progress. */
struct cbor_ctx {
	struct cbor_frame	 stack[CBOR_DEPTH_MAX];
	int			 depth;
	cJSON			*root;
	int			 done;		/* the top item is complete */
	int			 senml;
	size_t			 at;		/* offset of the current head */
	size_t			 left;		/* bytes after the current head */
	char			*cause;
};

/* Fail the decoding with a diagnostic (the first one counts). */
static void
cbor_fail(struct cbor_ctx *c, const char *what)
{
	if (c->cause == NULL)
		xasprintf(&c->cause, "invalid CBOR at byte %zu: %s", c->at,
		    what);
}

/* The JSON name of a SenML integer label (RFC 8428 table 6), or NULL. */
static const char *
cbor_senml_label(int64_t n)
{
	static const char *const neg[] = { "bver", "bn", "bt", "bu", "bv",
	    "bs" };
	static const char *const pos[] = { "n", "u", "v", "vs", "vb", "s",
	    "t", "ut", "vd" };

	if (n < 0 && -n <= (int64_t)(sizeof neg / sizeof neg[0]))
		return (neg[-n - 1]);
	if (n >= 0 && n < (int64_t)(sizeof pos / sizeof pos[0]))
		return (pos[n]);
	return (NULL);
}

/* Is an open map waiting for a key? */
static int
cbor_want_key(const struct cbor_ctx *c)
{
	const struct cbor_frame	*f;

	if (c->depth == 0)
		return (0);
	f = &c->stack[c->depth - 1];
	return (f->map && f->key == NULL);
}

/* Close the containers that have all their items. */
static void
cbor_pop(struct cbor_ctx *c)
{
	while (c->depth > 0 && c->stack[c->depth - 1].left == 0) {
		free(c->stack[c->depth - 1].key);
		c->depth--;
	}
	if (c->depth == 0)
		c->done = 1;
}

/* Put a finished value (or a just-opened container) where it belongs. */
static void
cbor_attach(struct cbor_ctx *c, cJSON *item)
{
	struct cbor_frame	*f;

	if (item == NULL) {
		cbor_fail(c, "out of memory");
		return;
	}
	if (c->depth == 0) {
		c->root = item;
		return;
	}
	f = &c->stack[c->depth - 1];
	if (f->map) {
		cJSON_AddItemToObject(f->item, f->key, item);
		free(f->key);
		f->key = NULL;
	} else
		cJSON_AddItemToArray(f->item, item);
	f->left--;
}

/* A key of the open map: text, or in SenML mode an integer label. */
static void
cbor_key(struct cbor_ctx *c, const char *key)
{
	struct cbor_frame	*f = &c->stack[c->depth - 1];

	f->key = xstrdup(key);
	f->left--;
}

/* A scalar value arrived: attach it and close what it completed. */
static void
cbor_value(struct cbor_ctx *c, cJSON *item)
{
	if (c->cause != NULL) {
		cJSON_Delete(item);
		return;
	}
	if (cbor_want_key(c)) {
		cJSON_Delete(item);
		cbor_fail(c, "map keys must be text strings");
		return;
	}
	cbor_attach(c, item);
	cbor_pop(c);
}

/* An integer (negative when neg: the value is -1 - n). */
static void
cbor_int(struct cbor_ctx *c, uint64_t n, int neg)
{
	const char	*label;
	char		 buf[32];

	if (c->cause != NULL)
		return;
	if (cbor_want_key(c)) {
		/* SenML labels; other integer keys stay as their digits. */
		if (!c->senml || n > INT32_MAX) {
			cbor_fail(c, "map keys must be text strings");
			return;
		}
		label = cbor_senml_label(neg ? -1 - (int64_t)n : (int64_t)n);
		if (label == NULL) {
			snprintf(buf, sizeof buf, "%s%" PRIu64, neg ? "-" : "",
			    neg ? n + 1 : n);
			label = buf;
		}
		cbor_key(c, label);
		return;
	}
	/* Checked before the conversion, which would round past 2^53. */
	if (n > (neg ? CBOR_INT_MAX - 1 : CBOR_INT_MAX)) {
		cbor_fail(c, "integer beyond 2^53");
		return;
	}
	cbor_value(c, cJSON_CreateNumber(neg ? -1.0 - (double)n : (double)n));
}

/* An unsigned integer of 8 bits (libcbor calls by width). */
static void
cbor_u8(void *c, uint8_t v)
{
	cbor_int(c, v, 0);
}

/* An unsigned integer of 16 bits (libcbor calls by width). */
static void
cbor_u16(void *c, uint16_t v)
{
	cbor_int(c, v, 0);
}

/* An unsigned integer of 32 bits (libcbor calls by width). */
static void
cbor_u32(void *c, uint32_t v)
{
	cbor_int(c, v, 0);
}

/* An unsigned integer of 64 bits (libcbor calls by width). */
static void
cbor_u64(void *c, uint64_t v)
{
	cbor_int(c, v, 0);
}

/* A negative integer of 8 bits (libcbor calls by width). */
static void
cbor_n8(void *c, uint8_t v)
{
	cbor_int(c, v, 1);
}

/* A negative integer of 16 bits (libcbor calls by width). */
static void
cbor_n16(void *c, uint16_t v)
{
	cbor_int(c, v, 1);
}

/* A negative integer of 32 bits (libcbor calls by width). */
static void
cbor_n32(void *c, uint32_t v)
{
	cbor_int(c, v, 1);
}

/* A negative integer of 64 bits (libcbor calls by width). */
static void
cbor_n64(void *c, uint64_t v)
{
	cbor_int(c, v, 1);
}

/* Is s (n bytes) UTF-8 without NUL? */
static int
cbor_text_ok(const unsigned char *s, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		if (s[i] == '\0' || (k = message_utf8_len(s + i, n - i)) == 0)
			return (0);
		i += k;
	}
	return (1);
}

/* A definite text string: a key or a value. */
static void
cbor_string(void *arg, cbor_data data, size_t len)
{
	struct cbor_ctx	*c = arg;
	char		*s;

	if (c->cause != NULL)
		return;
	if (len > (cbor_want_key(c) ? CBOR_KEY_MAX : CBOR_STRING_MAX)) {
		cbor_fail(c, cbor_want_key(c) ? "key too long" :
		    "string too long");
		return;
	}
	if (!cbor_text_ok(data, len)) {
		cbor_fail(c, "text is not UTF-8 or holds a NUL");
		return;
	}
	s = xmalloc(len + 1);
	memcpy(s, data, len);
	s[len] = '\0';
	if (cbor_want_key(c))
		cbor_key(c, s);
	else
		cbor_value(c, cJSON_CreateString(s));
	free(s);
}

/* A definite byte string: only a SenML "vd", as base64url text. */
static void
cbor_bytes(void *arg, cbor_data data, size_t len)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	struct cbor_ctx		*c = arg;
	const struct cbor_frame	*f;
	char			*s;
	size_t			 i, o = 0;
	uint32_t		 v;

	if (c->cause != NULL)
		return;
	f = c->depth > 0 ? &c->stack[c->depth - 1] : NULL;
	if (!c->senml || f == NULL || !f->map || f->key == NULL ||
	    strcmp(f->key, "vd") != 0) {
		cbor_fail(c, "byte strings are not accepted here");
		return;
	}
	if (len > CBOR_STRING_MAX) {
		cbor_fail(c, "byte string too long");
		return;
	}
	s = xmalloc(len / 3 * 4 + 5);
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		s[o++] = b64[(v >> 18) & 63];
		s[o++] = b64[(v >> 12) & 63];
		if (i + 1 < len)
			s[o++] = b64[(v >> 6) & 63];
		if (i + 2 < len)
			s[o++] = b64[v & 63];
	}
	s[o] = '\0';
	cbor_value(c, cJSON_CreateString(s));
	free(s);
}

/* Open an array or map of n entries (n items, or 2n for a map). */
static void
cbor_open(struct cbor_ctx *c, size_t n, int map)
{
	struct cbor_frame	*f;
	cJSON			*item;
	uint64_t		 items = map ? (uint64_t)n * 2 : n;

	if (c->cause != NULL)
		return;
	if (cbor_want_key(c)) {
		cbor_fail(c, "map keys must be text strings");
		return;
	}
	if (n > CBOR_ITEMS_MAX) {
		cbor_fail(c, map ? "map too large" : "array too large");
		return;
	}
	/* Each item takes a byte at least: a larger size is a lie. */
	if (items > c->left) {
		cbor_fail(c, "truncated: more items declared than bytes left");
		return;
	}
	if (c->depth == CBOR_DEPTH_MAX) {
		cbor_fail(c, "nested too deeply");
		return;
	}
	item = map ? cJSON_CreateObject() : cJSON_CreateArray();
	cbor_attach(c, item);
	if (c->cause != NULL)
		return;
	f = &c->stack[c->depth++];
	memset(f, 0, sizeof *f);
	f->item = item;
	f->left = items;
	f->map = map;
	cbor_pop(c);
}

/* A definite array of n items. */
static void
cbor_array(void *c, size_t n)
{
	cbor_open(c, n, 0);
}

/* A definite map of n pairs. */
static void
cbor_map(void *c, size_t n)
{
	cbor_open(c, n, 1);
}

/* A float of any width: finite only. */
static void
cbor_double(void *arg, double d)
{
	struct cbor_ctx	*c = arg;

	if (c->cause != NULL)
		return;
	if (!isfinite(d)) {
		cbor_fail(c, "not a finite number");
		return;
	}
	cbor_value(c, cJSON_CreateNumber(d));
}

/* A half or single float (libcbor widens a half to a float). */
static void
cbor_float(void *c, float f)
{
	cbor_double(c, (double)f);
}

/* true or false. */
static void
cbor_bool(void *arg, bool b)
{
	cbor_value(arg, cJSON_CreateBool(b));
}

/* null. */
static void
cbor_null(void *arg)
{
	cbor_value(arg, cJSON_CreateNull());
}

/* Indefinite lengths: refused (see the top of the file). */
static void
cbor_indefinite(void *arg)
{
	cbor_fail(arg, "indefinite lengths are not accepted");
}

/* Tags. */
static void
cbor_tag(void *arg, uint64_t tag)
{
	(void)tag;
	cbor_fail(arg, "tags are not accepted");
}

/* undefined. */
static void
cbor_undefined(void *arg)
{
	cbor_fail(arg, "undefined is not accepted");
}

static const struct cbor_callbacks cbor_cb = {
	.uint8 = cbor_u8, .uint16 = cbor_u16, .uint32 = cbor_u32,
	.uint64 = cbor_u64, .negint8 = cbor_n8, .negint16 = cbor_n16,
	.negint32 = cbor_n32, .negint64 = cbor_n64,
	/* In libcbor 0.8 the *_start callbacks are the indefinite ones. */
	.byte_string = cbor_bytes, .byte_string_start = cbor_indefinite,
	.string = cbor_string, .string_start = cbor_indefinite,
	.array_start = cbor_array, .indef_array_start = cbor_indefinite,
	.map_start = cbor_map, .indef_map_start = cbor_indefinite,
	.tag = cbor_tag, .float2 = cbor_float, .float4 = cbor_float,
	.float8 = cbor_double, .undefined = cbor_undefined,
	.null = cbor_null, .boolean = cbor_bool,
	.indef_break = cbor_indefinite,
};

/* Free what an unfinished decoding holds. */
static void
cbor_cleanup(struct cbor_ctx *c)
{
	while (c->depth > 0)
		free(c->stack[--c->depth].key);
	cJSON_Delete(c->root);
	c->root = NULL;
}

/*
 * Decode len bytes as exactly one CBOR data item into a cJSON tree (SenML
 * labels mapped when senml is set).  NULL with *cause when malformed.
 */
cJSON *
message_cbor_decode(const void *buf, size_t len, int senml, char **cause)
{
	struct cbor_ctx			 c;
	struct cbor_decoder_result	 r;
	const unsigned char		*p = buf;

	memset(&c, 0, sizeof c);
	c.senml = senml;
	if (len == 0) {
		message_fail(cause, "empty body");
		return (NULL);
	}
	while (!c.done && c.cause == NULL) {
		if (c.at >= len) {
			cbor_fail(&c, "truncated");
			break;
		}
		/* Bytes after this head at most: what bounds declared sizes. */
		c.left = len - c.at - 1;
		r = cbor_stream_decode(p + c.at, len - c.at, &cbor_cb, &c);
		if (r.status == CBOR_DECODER_NEDATA) {
			cbor_fail(&c, "truncated");
			break;
		}
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
			cbor_fail(&c, "malformed item");
			break;
		}
		if (c.cause != NULL)
			break;
		c.at += r.read;
	}
	if (c.cause == NULL && c.at < len) {
		xasprintf(&c.cause, "invalid CBOR: %zu bytes after the item at "
		    "byte %zu", len - c.at, c.at);
	}
	if (c.cause != NULL) {
		cbor_cleanup(&c);
		*cause = c.cause;
		return (NULL);
	}
	return (c.root);
}
