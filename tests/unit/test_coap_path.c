/*
 * test_coap_path.c - unit tests of what a CoAP request asks for
 * (ingest_coap_path.c): routes of node resources, settings and models with
 * a table of malformed paths, the model query with a table of malformed
 * ones, and the Block2 slice: sizes asked, sizes we choose smaller, resume
 * at any block, the last block, blocks past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_coap_int.h"
#include "testutil.h"

/* Route a C string. */
static enum coap_target
route(const char *path, struct coap_route *r)
{
	return (ingest_coap_path_route((const uint8_t *)path, strlen(path), r));
}

/* Well-formed paths: target, node, type, model. */
START_TEST(test_route_good)
{
	struct coap_route	r;

	ck_assert_int_eq(route("v1/n/n1/inference", &r), COAP_TARGET_POST);
	ck_assert_str_eq(r.node, "n1");
	ck_assert_int_eq(r.type, MESSAGE_INFERENCE);
	ck_assert_int_eq(route("v1/n/a.b-c_D/window", &r), COAP_TARGET_POST);
	ck_assert_str_eq(r.node, "a.b-c_D");
	ck_assert_int_eq(r.type, MESSAGE_WINDOW);
	ck_assert_int_eq(route("v1/n/n1/heartbeat", &r), COAP_TARGET_POST);
	ck_assert_int_eq(r.type, MESSAGE_HEARTBEAT);
	ck_assert_int_eq(route("v1/n/n1/config", &r), COAP_TARGET_CONFIG);
	ck_assert_str_eq(r.node, "n1");
	ck_assert_int_eq(route("v1/models/kws", &r), COAP_TARGET_MODEL);
	ck_assert_str_eq(r.model, "kws");
	ck_assert_str_eq(r.node, "");
	ck_assert_int_eq(route("v1/models/a.b-c_1", &r), COAP_TARGET_MODEL);
	ck_assert_str_eq(r.model, "a.b-c_1");
}
END_TEST

/* Malformed or foreign paths: not routed, or routed with an empty id. */
START_TEST(test_route_bad)
{
	static const struct {
		const char		*path;
		enum coap_target	 target;
	} cases[] = {
		{ "", COAP_TARGET_NONE },
		{ "v1", COAP_TARGET_NONE },
		{ "v1/n/", COAP_TARGET_NONE },
		{ "v1/n/n1", COAP_TARGET_NONE },
		{ "v1/n/n1/", COAP_TARGET_NONE },
		{ "v1/n/n1/configx", COAP_TARGET_NONE },
		{ "v1/n/n1/confi", COAP_TARGET_NONE },
		{ "v1/n/n1/config/x", COAP_TARGET_NONE },
		{ "v1/n/n1/Config", COAP_TARGET_NONE },
		{ "v2/n/n1/config", COAP_TARGET_NONE },
		{ "V1/n/n1/config", COAP_TARGET_NONE },
		{ "v1/models", COAP_TARGET_NONE },
		{ "v1/models/", COAP_TARGET_NONE },
		{ "v1/models/a/b", COAP_TARGET_NONE },
		{ "v1/models/kws/", COAP_TARGET_NONE },
		{ "v1/model/kws", COAP_TARGET_NONE },
		{ "v1/modelskws", COAP_TARGET_NONE },
		/* routed, but the id is malformed: "" */
		{ "v1/n//config", COAP_TARGET_CONFIG },
		{ "v1/n/bad!/config", COAP_TARGET_CONFIG },
		{ "v1/n/../config", COAP_TARGET_CONFIG },
		{ "v1/n/./config", COAP_TARGET_CONFIG },
		{ "v1/n/a b/config", COAP_TARGET_CONFIG },
		{ "v1/n/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaa/config", COAP_TARGET_CONFIG },
		{ "v1/models/..", COAP_TARGET_MODEL },
		{ "v1/models/.", COAP_TARGET_MODEL },
		{ "v1/models/k%ws", COAP_TARGET_MODEL },
		{ "v1/models/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaa", COAP_TARGET_MODEL },
	};
	struct coap_route	r;
	size_t			i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_msg(route(cases[i].path, &r) == cases[i].target,
		    "%s", cases[i].path);
		ck_assert_msg(r.node[0] == '\0' && r.model[0] == '\0', "%s",
		    cases[i].path);
	}
	/* A NUL inside the path is not a terminator. */
	ck_assert_int_eq(ingest_coap_path_route((const uint8_t *)
	    "v1/n/n\0001/config", 15, &r), COAP_TARGET_CONFIG);
	ck_assert_str_eq(r.node, "");
	ck_assert_int_eq(ingest_coap_path_route(NULL, 0, &r), COAP_TARGET_NONE);
	/* 64 characters are fine, in node ids and model names. */
	ck_assert_int_eq(route("v1/models/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaa", &r), COAP_TARGET_MODEL);
	ck_assert_uint_eq(strlen(r.model), 64);
}
END_TEST

/* The model query: empty or v=VERSION; a table of malformed ones. */
START_TEST(test_version)
{
	static const char *const bad[] = {
		"v", "v=", "v=a&v=b", "x=1", "V=1", "v=1 ", "v=1/2", "v=..",
		"v=.", "version=1", "v=123456789012345678901234567890123",
		"&v=1", "v=1&", "=1",
	};
	char	v[MODELS_VERSION_MAX + 1];
	size_t	i;

	ck_assert_int_eq(ingest_coap_path_version(NULL, 0, v), 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(ingest_coap_path_version((const uint8_t *)"v=1.2-b_3",
	    9, v), 0);
	ck_assert_str_eq(v, "1.2-b_3");
	ck_assert_int_eq(ingest_coap_path_version((const uint8_t *)
	    "v=12345678901234567890123456789012", 34, v), 0);
	ck_assert_uint_eq(strlen(v), 32);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(v, "junk", 5);
		ck_assert_msg(ingest_coap_path_version((const uint8_t *)bad[i],
		    strlen(bad[i]), v) == -1, "%s", bad[i]);
	}
	ck_assert_int_eq(ingest_coap_path_version((const uint8_t *)"v=a\0b",
	    5, v), -1);
}
END_TEST

/* Block2 slices: what is sent for the blocks asked. */
START_TEST(test_block2)
{
	struct coap_block2	s;

	/* Small, not asked: whole, no Block2. */
	ck_assert_int_eq(ingest_coap_path_block2(100, 0, 0, 0, 1088, &s), 0);
	ck_assert(s.offset == 0 && s.len == 100 && !s.more && !s.block);
	/* Empty body: block 0 of nothing. */
	ck_assert_int_eq(ingest_coap_path_block2(0, 0, 0, 0, 1088, &s), 0);
	ck_assert(s.len == 0 && !s.more && !s.block);
	ck_assert_int_eq(ingest_coap_path_block2(0, 1, 0, 6, 1088, &s), 0);
	ck_assert(s.len == 0 && !s.more && s.block);
	/* Large, not asked: block 0 of 1024 with M. */
	ck_assert_int_eq(ingest_coap_path_block2(2500, 0, 0, 0, 1088, &s), 0);
	ck_assert(s.offset == 0 && s.len == 1024 && s.more && s.block);
	ck_assert(s.num == 0 && s.szx == 6);
	/* Asked: the middle, the last (short), exactly one block. */
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 1, 6, 1088, &s), 0);
	ck_assert(s.offset == 1024 && s.len == 1024 && s.more);
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 2, 6, 1088, &s), 0);
	ck_assert(s.offset == 2048 && s.len == 452 && !s.more && s.num == 2);
	ck_assert_int_eq(ingest_coap_path_block2(1024, 1, 0, 6, 1088, &s), 0);
	ck_assert(s.len == 1024 && !s.more && s.block);
	/* Resume: any block again, the same answer. */
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 1, 6, 1088, &s), 0);
	ck_assert(s.offset == 1024 && s.len == 1024);
	/* A smaller size asked is kept. */
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 3, 4, 1088, &s), 0);
	ck_assert(s.offset == 768 && s.len == 256 && s.szx == 4 && s.num == 3);
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 156, 0, 1088, &s),
	    0);
	ck_assert(s.offset == 2496 && s.len == 4 && !s.more);
	/* Small PDUs: we choose smaller blocks, same offset. */
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 1, 6, 600, &s), 0);
	ck_assert(s.szx == 5 && s.num == 2 && s.offset == 1024 &&
	    s.len == 512 && s.more);
	ck_assert_int_eq(ingest_coap_path_block2(2500, 0, 0, 0, 100, &s), 0);
	ck_assert(s.szx == 2 && s.len == 64 && s.block && s.more);
	/* Past the end. */
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 3, 6, 1088, &s), -1);
	ck_assert_int_eq(ingest_coap_path_block2(1024, 1, 1, 6, 1088, &s), -1);
	ck_assert_int_eq(ingest_coap_path_block2(0, 1, 1, 0, 1088, &s), -1);
	ck_assert_int_eq(ingest_coap_path_block2(2500, 1, 0xFFFFF, 6, 1088,
	    &s), -1);
	/* A scaled block number over 20 bits is refused, not wrapped. */
	ck_assert_int_eq(ingest_coap_path_block2(SIZE_MAX, 1, 0xFFFFF, 6, 600,
	    &s), -1);
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_route_good, 0 },
		{ test_route_bad, 0 },
		{ test_version, 0 },
		{ test_block2, 0 },
	};

	return (testutil_run("coap_path", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
