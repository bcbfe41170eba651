/*
 * test_store_body.c - unit tests of store_body.c: a table of bodies with
 * their row's columns, what the store keeps of each (the body without the
 * "seq", "boot" and "ts" its columns hold, or the body as it came when
 * leaving one out could not be undone exactly), and that the body read
 * back is the same JSON as the one received; malformed, escaped, repeated
 * and over-long bodies are kept as they are.
 */
#include <cJSON.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* A body, its columns, what is stored (NULL: the body itself). */
static const struct {
	const char	*what;
	enum store_kind	 kind;
	int64_t		 seq;
	uint32_t	 boot;
	int64_t		 ts;
	const char	*body;
	const char	*kept;
} body_cases[] = {
	{ "the SPEC's inference", STORE_KIND_INFERENCE, 1, 45050,
	    1796326890799, "{\"seq\":1,\"boot\":45050,\"ts\":1796326890799,"
	    "\"model\":\"m\",\"label\":\"on\",\"score\":0.9}",
	    "{\"model\":\"m\",\"label\":\"on\",\"score\":0.9}" },
	{ "white space and order", STORE_KIND_INFERENCE, 7, 0, 0,
	    " { \"model\" : \"m\", \"seq\" : 7 ,\n\"label\":\"x\" } ",
	    "{\"model\" : \"m\",\"label\":\"x\"}" },
	{ "only seq", STORE_KIND_INFERENCE, 5, 0, 0, "{\"seq\":5}", "{}" },
	{ "a column that differs", STORE_KIND_INFERENCE, 8, 0, 0,
	    "{\"seq\":7,\"label\":\"x\"}", NULL },
	{ "seq 7.0", STORE_KIND_INFERENCE, 7, 0, 0,
	    "{\"seq\":7.0,\"label\":\"x\"}", NULL },
	{ "ts 1e3", STORE_KIND_INFERENCE, -1, 0, 1000,
	    "{\"ts\":1e3,\"label\":\"x\"}", NULL },
	{ "seq 07", STORE_KIND_INFERENCE, 7, 0, 0, "{\"seq\":07}", NULL },
	{ "boot 0 stays", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"boot\":0,\"seq\":1}", "{\"boot\":0}" },
	{ "ts 0 stays", STORE_KIND_INFERENCE, -1, 0, 0, "{\"ts\":0}", NULL },
	{ "seq twice", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":1,\"seq\":2}", NULL },
	{ "boot twice, seq once", STORE_KIND_INFERENCE, 3, 9, 0,
	    "{\"boot\":9,\"seq\":3,\"boot\":9}", "{\"boot\":9,\"boot\":9}" },
	{ "an escaped name", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"s\\u0065q\":1,\"seq\":1}", NULL },
	{ "seq inside a member", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"x\":{\"seq\":1},\"seq\":1}", "{\"x\":{\"seq\":1}}" },
	{ "quotes, braces and commas in strings", STORE_KIND_INFERENCE, 3, 0,
	    0, "{\"label\":\"a}\\\"b,\",\"seq\":3,\"m\":\"[{\"}",
	    "{\"label\":\"a}\\\"b,\",\"m\":\"[{\"}" },
	{ "a JSON window", STORE_KIND_WINDOW, 9, 2, 12,
	    "{\"seq\":9,\"values\":[[1,2],[3,4]],\"boot\":2,\"ts\":12}",
	    "{\"values\":[[1,2],[3,4]]}" },
	{ "a tier-2 result is left alone", STORE_KIND_TIER2, 4, 1, 0,
	    "{\"seq\":4,\"boot\":1,\"window\":4,\"label\":\"normal\"}",
	    NULL },
	{ "a heartbeat is left alone", STORE_KIND_HEARTBEAT, 1, 0, 0,
	    "{\"seq\":1}", NULL },
	{ "a binary window", STORE_KIND_WINDOW, 1, 0, 0, "TW\x01", NULL },
	{ "an array", STORE_KIND_INFERENCE, 1, 0, 0, "[{\"seq\":1}]", NULL },
	{ "empty", STORE_KIND_INFERENCE, 1, 0, 0, "", NULL },
	{ "cut after a member", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":1,", NULL },
	{ "no closing brace", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":1,\"label\":\"x\"", NULL },
	{ "an open string", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":1,\"label\":\"x}", NULL },
	{ "an open array", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":1,\"v\":[1,2}", NULL },
	{ "a name without a value", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":}", NULL },
	{ "no colon", STORE_KIND_INFERENCE, 1, 0, 0, "{\"seq\" 1}", NULL },
	{ "text after the object", STORE_KIND_INFERENCE, 1, 0, 0,
	    "{\"seq\":1} x", "{}" },
};

/* A message of case i. */
static struct store_msg
body_msg(size_t i, const char *body, size_t len)
{
	struct store_msg	m;

	memset(&m, 0, sizeof m);
	m.node = "n1";
	m.kind = body_cases[i].kind;
	m.seq = body_cases[i].seq;
	m.boot = body_cases[i].boot;
	m.ts_ms = body_cases[i].ts;
	m.body = body;
	m.len = len;
	return (m);
}

/* Every case: what is kept, and the body read back. */
START_TEST(test_body_table)
{
	struct store_msg	 m;
	unsigned char		*slim = NULL, *full = NULL;
	size_t			 slen, flen, i;
	cJSON			*a, *b;
	int			 made;

	for (i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
		m = body_msg(i, body_cases[i].body,
		    strlen(body_cases[i].body));
		made = store_body_slim(&m, &slim, &slen);
		ck_assert_msg(made == (body_cases[i].kept != NULL),
		    "%s: slimmed %d", body_cases[i].what, made);
		if (!made)
			continue;
		ck_assert_msg(slen == strlen(body_cases[i].kept) &&
		    memcmp(slim, body_cases[i].kept, slen) == 0,
		    "%s: kept %.*s", body_cases[i].what, (int)slen, slim);
		m = body_msg(i, (const char *)slim, slen);
		ck_assert_msg(store_body_full(&m, &full, &flen) == 1,
		    "%s: not put back", body_cases[i].what);
		ck_assert(full[flen] == '\0');
		a = cJSON_Parse(body_cases[i].body);
		b = cJSON_Parse((const char *)full);
		ck_assert_msg(a != NULL && b != NULL && cJSON_Compare(a, b, 1),
		    "%s: read back as %s", body_cases[i].what, full);
		cJSON_Delete(a);
		cJSON_Delete(b);
		free(slim);
		free(full);
	}
}
END_TEST

/* A body stored whole (an older version's) reads back unchanged. */
START_TEST(test_body_full_kept)
{
	static const char	 whole[] = "{\"seq\":1,\"boot\":2,\"ts\":3}";
	struct store_msg	 m;
	unsigned char		*full = NULL;
	size_t			 flen;

	memset(&m, 0, sizeof m);
	m.kind = STORE_KIND_INFERENCE;
	m.seq = 1;
	m.boot = 2;
	m.ts_ms = 3;
	m.body = whole;
	m.len = strlen(whole);
	ck_assert_int_eq(store_body_full(&m, &full, &flen), 0);
	/* Absent columns add nothing to a body without the members. */
	m.seq = -1;
	m.boot = 0;
	m.ts_ms = 0;
	m.body = "{\"label\":\"x\"}";
	m.len = strlen(m.body);
	ck_assert_int_eq(store_body_full(&m, &full, &flen), 0);
}
END_TEST

/* The bound: past 64 members the body is stored as it came. */
START_TEST(test_body_members_bound)
{
	struct store_msg	 m;
	unsigned char		*slim = NULL;
	char			 body[2048];
	size_t			 slen, n, i;

	for (int members = 64; members <= 65; members++) {
		n = (size_t)snprintf(body, sizeof body, "{\"seq\":1");
		for (i = 1; i < (size_t)members; i++)
			n += (size_t)snprintf(body + n, sizeof body - n,
			    ",\"k%zu\":%zu", i, i);
		n += (size_t)snprintf(body + n, sizeof body - n, "}");
		memset(&m, 0, sizeof m);
		m.kind = STORE_KIND_INFERENCE;
		m.seq = 1;
		m.body = body;
		m.len = n;
		ck_assert_int_eq(store_body_slim(&m, &slim, &slen),
		    members == 64);
		if (members == 64) {
			ck_assert_uint_eq(slen, n - strlen("\"seq\":1,"));
			free(slim);
		}
	}
}
END_TEST

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_body_table, 0 },
		{ test_body_full_kept, 0 },
		{ test_body_members_bound, 0 },
	};

	return (testutil_run("store_body", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
