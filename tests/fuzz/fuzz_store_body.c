/*
 * fuzz_store_body.c - libFuzzer target for store_body.c, the store's
 * slimming of JSON bodies.  The input is a body; the first byte picks the
 * kind.  Its columns are taken as message.c would take them (the first
 * "seq", "boot" and "ts" that are non-negative integers), the body is
 * slimmed, and the body read back must read the same as the input (see
 * fz_same()).  store_body_full() also gets the raw input with those
 * columns, as it would a row written by someone else.  Nothing may crash,
 * read out of bounds or leak.
 */
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The column message.c would fill from name, or -1. */
static int64_t
fz_column(const cJSON *o, const char *name, double max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble > max || floor(v->valuedouble) != v->valuedouble)
		return (-1);
	return ((int64_t)v->valuedouble);
}

/* How many members of o are called name. */
static int
fz_count(const cJSON *o, const char *name)
{
	const cJSON	*c;
	int		 n = 0;

	for (c = o->child; c != NULL; c = c->next)
		n += strcmp(c->string, name) == 0;
	return (n);
}

/* Do x and y print the same (both NULL counts)? */
static int
fz_print_same(const cJSON *x, const cJSON *y)
{
	char	*px, *py;
	int	 same;

	if (x == NULL || y == NULL)
		return (x == y);
	px = cJSON_PrintUnformatted(x);
	py = cJSON_PrintUnformatted(y);
	same = px != NULL && py != NULL && strcmp(px, py) == 0;
	cJSON_free(px);
	cJSON_free(py);
	return (same);
}

/*
 * Do a and b read the same to the daemon?  Each of seq, boot and ts as
 * many times, its first value the same (a name is looked up by its first
 * value), and the other members the same, in the same order.  Printing
 * compares them: cJSON_Compare() calls an object with a repeated name
 * different from itself.
 */
static int
fz_same(cJSON *a, cJSON *b)
{
	static const char *const	 names[] = { "seq", "boot", "ts" };
	size_t				 i;

	if (!cJSON_IsObject(a) || !cJSON_IsObject(b))
		return (0);
	for (i = 0; i < 3; i++) {
		if (fz_count(a, names[i]) != fz_count(b, names[i]) ||
		    !fz_print_same(cJSON_GetObjectItemCaseSensitive(a,
		    names[i]), cJSON_GetObjectItemCaseSensitive(b, names[i])))
			return (0);
		while (cJSON_GetObjectItemCaseSensitive(a, names[i]) != NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(a, names[i]);
		while (cJSON_GetObjectItemCaseSensitive(b, names[i]) != NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(b, names[i]);
	}
	return (fz_print_same(a, b));
}

/* One body. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum store_kind	 kinds[] = { STORE_KIND_INFERENCE,
	    STORE_KIND_WINDOW, STORE_KIND_TIER2, STORE_KIND_HEARTBEAT };
	struct store_msg		 m;
	unsigned char			*slim = NULL, *full = NULL, *junk;
	size_t				 slen, flen, jlen;
	cJSON				*a = NULL, *b;
	int64_t				 v;

	if (size < 1)
		return (0);
	memset(&m, 0, sizeof m);
	m.node = "n1";
	m.kind = kinds[data[0] % 4];
	m.body = data + 1;
	m.len = size - 1;
	m.seq = -1;
	a = cJSON_ParseWithLength((const char *)m.body, m.len);
	if (cJSON_IsObject(a)) {
		m.seq = fz_column(a, "seq", UINT32_MAX);
		m.boot = (v = fz_column(a, "boot", UINT32_MAX)) < 0 ? 0 :
		    (uint32_t)v;
		m.ts_ms = (v = fz_column(a, "ts", 9007199254740991.0)) < 0 ?
		    0 : v;
	}
	if (store_body_full(&m, &junk, &jlen))
		free(junk);
	if (store_body_slim(&m, &slim, &slen)) {
		m.body = slim;
		m.len = slen;
		if (!store_body_full(&m, &full, &flen))
			abort();
		b = cJSON_ParseWithLength((const char *)full, flen);
		/* Only an object the scanner read whole is ever slimmed. */
		if (a == NULL || b == NULL || !fz_same(a, b))
			abort();
		cJSON_Delete(b);
		free(full);
		free(slim);
	}
	cJSON_Delete(a);
	return (0);
}
