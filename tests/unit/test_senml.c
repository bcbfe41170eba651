/*
 * test_senml.c - unit tests of SenML packs (RFC 8428, SPEC 14): base
 * fields resolved, relative times made absolute, names checked, and tables
 * of malformed senml+json and senml+cbor packs each with the diagnostic
 * it must give; a resolved pack reads back from the store unchanged.
 */
#include <check.h>
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "testutil.h"

#define NOW_MS	INT64_C(1750000000000)

/* One senml+json case: the pack, the expected diagnostic (NULL: ok). */
struct json_case {
	const char	*pack;
	const char	*error;
};

static const struct json_case json_cases[] = {
	{ "[{\"n\":\"t\",\"v\":1}]", NULL },
	{ "[{\"bn\":\"d/\",\"n\":\"t\",\"v\":1,\"s\":2,\"u\":\"Cel\","
	    "\"ut\":5,\"extra\":[1]}]", NULL },
	{ "[{\"bn\":\"d/\",\"vs\":\"on\"},{\"n\":\"x\",\"vb\":false},"
	    "{\"n\":\"y\",\"vd\":\"AQID\"}]", NULL },
	{ "", "empty body" },
	{ "[", "invalid JSON" },
	{ "{\"n\":\"t\",\"v\":1}", "pack: must be an array of records" },
	{ "[]", "pack: no records" },
	{ "[1]", "records[0]: must be an object" },
	{ "[{\"n\":\"t\",\"v\":1}] x", "data after the object" },
	{ "[{\"v\":1}]", "records[0]: no name" },
	{ "[{\"n\":\"\",\"bn\":\"\",\"v\":1}]", "records[0]: no name" },
	{ "[{\"n\":\"-t\",\"v\":1}]", "records[0]: name: only letters" },
	{ "[{\"n\":\"a b\",\"v\":1}]", "records[0]: name: only letters" },
	{ "[{\"n\":\"t\"}]", "records[0]: needs one of v, vs, vb, vd or s" },
	{ "[{\"n\":\"t\",\"v\":1,\"vs\":\"x\"}]",
	    "records[0]: more than one of v, vs, vb, vd" },
	{ "[{\"n\":\"t\",\"v\":\"1\"}]", "records[0]: v: must be a number" },
	{ "[{\"n\":\"t\",\"vs\":1}]", "records[0]: vs: must be a string" },
	{ "[{\"n\":\"t\",\"vb\":1}]", "records[0]: vb: must be a boolean" },
	{ "[{\"n\":\"t\",\"vd\":\"a+b\"}]", "records[0]: vd: must be base64url" },
	{ "[{\"n\":\"t\",\"v\":1,\"t\":\"now\"}]",
	    "records[0]: t: must be a number" },
	{ "[{\"n\":1,\"v\":1}]", "records[0]: n: must be a string" },
	{ "[{\"bn\":2,\"n\":\"t\",\"v\":1}]", "records[0]: bn: must be a string" },
	{ "[{\"bt\":\"x\",\"n\":\"t\",\"v\":1}]",
	    "records[0]: bt: must be a number" },
	{ "[{\"bv\":null,\"n\":\"t\",\"v\":1}]",
	    "records[0]: bv: must be a number" },
	{ "[{\"n\":\"t\",\"v\":1},{\"n\":\"u\",\"s\":[1]}]",
	    "records[1]: s: must be a number" },
	{ "[{\"bver\":11,\"n\":\"t\",\"v\":1}]",
	    "records[0]: bver: must be an integer from 1 to 10" },
	{ "[{\"bver\":2.5,\"n\":\"t\",\"v\":1}]",
	    "records[0]: bver: must be an integer from 1 to 10" },
	{ "[{\"n\":\"t\",\"v\":1,\"foo_\":1}]",
	    "records[0]: \"foo_\": a must-understand field" },
	{ "[{\"n\":\"t\",\"v\":1,\"ut\":-1}]", "records[0]: ut: must not" },
	{ "[{\"n\":\"t\",\"v\":1,\"t\":-1e300}]", "records[0]: t: bt + t is out" },
	{ "[{\"n\":\"t\",\"v\":1,\"t\":1e20}]", "records[0]: t: bt + t is out" },
	{ "[{\"n\":\"t\",\"v\":1e308,\"bv\":1e308}]",
	    "records[0]: v: bv + v is not finite" },
	{ "[{\"n\":\"t\",\"v\":1,\"u\":\"0123456789012345678901234567890123\"}]",
	    "records[0]: u: longer than 32" },
};

/* One senml+cbor case: the pack in hex, the expected diagnostic. */
struct cbor_case {
	const char	*hex;
	const char	*error;
};

static const struct cbor_case cbor_cases[] = {
	{ "83a52165646576312f221a6553f100236343656c006474656d7002fa"
	    "41ac0000a3006474656d70060a02fa41b00000a20063726177084301"
	    "0203",
	    NULL },
	{ "81a30061610201200a",
	    NULL },
	{ "a1006161",
	    "pack: must be an array" },
	{ "81a2006161026178",
	    "records[0]: v: must be a number" },
	{ "81a1006161",
	    "records[0]: needs one of v, vs, vb, vd or s" },
	{ "81a3006161020104f5",
	    "more than one of v, vs, vb, vd" },
	{ "81a2006161034101",
	    "byte strings are not accepted" },
	{ "81a20061610201ff",
	    "bytes after the item" },
	{ "9fa20061610201ff",
	    "indefinite lengths" },
	{ "81a3200b0061610201",
	    "bver: must be an integer from 1 to 10" },
	{ "990101a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201a20061610201a20061610201a20061610201a200616102"
	    "01a20061610201a20061610201a20061610201a20061610201a20061"
	    "610201a20061610201a20061610201a20061610201a20061610201a2"
	    "0061610201",
	    "pack: more than 256 records" },
	{ "81a2006161",
	    "truncated" },
};

/* Check an outcome against the expected diagnostic; m read back if ok. */
static void
check_outcome(int i, int rc, struct message *m, char *cause,
    const char *error)
{
	struct message	*r = NULL;
	char		*why = NULL;

	if (error != NULL) {
		ck_assert_msg(rc == -1 && m == NULL, "case %d accepted", i);
		ck_assert_msg(cause != NULL && strstr(cause, error) != NULL,
		    "case %d: want \"%s\", got \"%s\"", i, error,
		    cause ? cause : "(null)");
		return;
	}
	ck_assert_msg(rc == 0, "case %d rejected: %s", i, cause);
	ck_assert_int_eq(m->type, MESSAGE_SENML);
	ck_assert_int_eq(message_store_kind(m->type), STORE_KIND_SENML);
	/* Resolved: the stored body gives the same records and body. */
	ck_assert_msg(message_parse_stored(STORE_KIND_SENML, m->node, m->body,
	    m->body_len, &r, &why) == 0, "case %d: %s", i, why);
	ck_assert_uint_eq(r->nsenml, m->nsenml);
	ck_assert_str_eq((char *)r->body, (char *)m->body);
	message_free(r);
}

START_TEST(test_senml_json_table)
{
	const struct json_case	*c = &json_cases[_i];
	struct message		*m = NULL;
	char			*cause = NULL;
	int			 rc;

	rc = message_parse_senml("n1", 0, c->pack, strlen(c->pack), NOW_MS,
	    &m, &cause);
	check_outcome(_i, rc, m, cause, c->error);
	message_free(m);
	free(cause);
}
END_TEST

START_TEST(test_senml_cbor_table)
{
	const struct cbor_case	*c = &cbor_cases[_i];
	struct message		*m = NULL;
	unsigned char		*b;
	char			*cause = NULL;
	size_t			 len;
	int			 rc;

	b = testutil_unhex(c->hex, &len);
	rc = message_parse_senml("n1", 1, b, len, NOW_MS, &m, &cause);
	check_outcome(_i, rc, m, cause, c->error);
	message_free(m);
	free(cause);
	free(b);
}
END_TEST

/* Base fields, relative and absolute times, as RFC 8428 resolves them. */
START_TEST(test_senml_resolve)
{
	static const char	 pack[] = "[{\"bn\":\"dev1/\",\"bt\":-5,"
	    "\"bu\":\"Cel\",\"bv\":20,\"bs\":100,\"bver\":10,\"n\":\"temp\","
	    "\"v\":1.5},{\"n\":\"temp\",\"t\":2,\"v\":2},{\"n\":\"hum\","
	    "\"u\":\"%RH\",\"v\":40,\"t\":1700000010.25,\"bt\":0},"
	    "{\"n\":\"e\",\"s\":3}]";
	struct message		*m = NULL;
	cJSON			*o, *r;
	char			*cause = NULL;

	ck_assert_int_eq(message_parse_senml("n1", 0, pack, strlen(pack),
	    NOW_MS, &m, &cause), 0);
	ck_assert_uint_eq(m->nsenml, 4);
	ck_assert_str_eq(m->senml[0].name, "dev1/temp");
	ck_assert(m->senml[0].has_v && m->senml[0].v == 21.5);
	/* Relative: bt + t seconds from now. */
	ck_assert_int_eq(m->senml[0].t_ms, NOW_MS - 5000);
	ck_assert_int_eq(m->senml[1].t_ms, NOW_MS - 3000);
	ck_assert(m->senml[1].v == 22);
	/* Absolute (>= 2^28 s) once bt is 0 again. */
	ck_assert_str_eq(m->senml[2].name, "dev1/hum");
	ck_assert_int_eq(m->senml[2].t_ms, INT64_C(1700000010250));
	ck_assert(!m->senml[3].has_v);
	o = cJSON_Parse((char *)m->body);
	ck_assert_int_eq(cJSON_GetArraySize(o), 4);
	r = cJSON_GetArrayItem(o, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(r, "u")->valuestring, "Cel");
	ck_assert(cJSON_GetObjectItem(r, "ts")->valuedouble ==
	    (double)(NOW_MS - 5000));
	ck_assert(cJSON_GetObjectItem(r, "bn") == NULL);
	r = cJSON_GetArrayItem(o, 2);
	ck_assert_str_eq(cJSON_GetObjectItem(r, "u")->valuestring, "%RH");
	r = cJSON_GetArrayItem(o, 3);
	ck_assert(cJSON_GetObjectItem(r, "s")->valuedouble == 103);
	ck_assert(cJSON_GetObjectItem(r, "v") == NULL);
	cJSON_Delete(o);
	message_free(m);
}
END_TEST

/* The bounds: records per pack, name length. */
START_TEST(test_senml_bounds)
{
	struct message	*m = NULL;
	char		*cause = NULL, *pack, name[MESSAGE_SENML_NAME_MAX + 2];
	size_t		 i, n, off;

	for (n = MESSAGE_SENML_RECORDS_MAX; n <= MESSAGE_SENML_RECORDS_MAX + 1;
	    n++) {
		pack = malloc(n * 32 + 4);
		ck_assert_ptr_nonnull(pack);
		off = 0;
		pack[off++] = '[';
		for (i = 0; i < n; i++)
			off += (size_t)sprintf(pack + off, "%s{\"n\":\"x\",\"v\":%zu}",
			    i ? "," : "", i);
		pack[off++] = ']';
		m = NULL;
		if (n == MESSAGE_SENML_RECORDS_MAX) {
			ck_assert_int_eq(message_parse_senml("n1", 0, pack, off,
			    NOW_MS, &m, &cause), 0);
			ck_assert_uint_eq(m->nsenml, n);
		} else {
			ck_assert_int_eq(message_parse_senml("n1", 0, pack, off,
			    NOW_MS, &m, &cause), -1);
			ck_assert_ptr_nonnull(strstr(cause, "more than 256"));
			free(cause);
		}
		message_free(m);
		free(pack);
	}
	memset(name, 'a', sizeof name);
	name[MESSAGE_SENML_NAME_MAX] = '\0';
	pack = malloc(512);
	snprintf(pack, 512, "[{\"n\":\"%s\",\"v\":1}]", name);
	ck_assert_int_eq(message_parse_senml("n1", 0, pack, strlen(pack),
	    NOW_MS, &m, &cause), 0);
	message_free(m);
	snprintf(pack, 512, "[{\"bn\":\"b\",\"n\":\"%s\",\"v\":1}]", name);
	ck_assert_int_eq(message_parse_senml("n1", 0, pack, strlen(pack),
	    NOW_MS, &m, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "name longer than 128"));
	free(cause);
	free(pack);
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_senml_json_table,
		    sizeof json_cases / sizeof json_cases[0] },
		{ test_senml_cbor_table,
		    sizeof cbor_cases / sizeof cbor_cases[0] },
		{ test_senml_resolve, 0 },
		{ test_senml_bounds, 0 },
	};

	return (testutil_run("senml", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
