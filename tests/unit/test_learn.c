/*
 * test_learn.c - the learn module's pure parts (learn_rec.c) and its
 * command (command_parse.c), without a store or a loop.
 *
 * Checked: store keys round-trip and a table of malformed keys is refused;
 * the status record round-trips and a table of malformed records is
 * refused; collection stops at `windows`, counts windows of another shape
 * (feature count, frames, axes, interval) and non-finite or oversized
 * feature vectors without collecting them, stops at the memory bound and
 * counts it, collects nothing in other states, and a drop gives the
 * memory back; window records round-trip and wrong lengths or NaN are
 * refused; P/cmd/learn/NAME/NODE parses, with a table of malformed ones.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command_int.h"
#include "learn_int.h"
#include "testutil.h"
#include "xmalloc.h"

/* Keys: built ones parse back; malformed ones are refused. */
START_TEST(test_keys)
{
	static const char *const bad[] = {
		"", "learn", "learn/", "learn//n/s", "learn/s", "learn/s/",
		"learn/s/n", "learn/s/n/", "learn/s/n/x", "learn/s/n/ss", "learn/s/n/a",
		"learn/s/n/w", "learn/s/n/w/", "learn/s/n/w/1",
		"learn/s/n/w/123456", "learn/s/n/w/0000a", "learn/s/n/w/05000",
		"learn/s/n/w/99999", "learn/s p/n/s", "learn/s/n!/s",
		"learn/s/./s", "learn/s/../s", "fed/s/n/s", "learnx/s/n/s",
		"learn/s/n/s/", "learn/s/n/w/00001/",
		"learn/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaa/n/s",
	};
	struct learn_key	k;
	char			key[LEARN_KEY_MAX];
	size_t			i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(learn_key_parse(bad[i], &k) == -1, "%s", bad[i]);
	learn_key(key, sizeof key, "vib", "pump-1", LEARN_REC_WINDOW, 4999);
	ck_assert_str_eq(key, "learn/vib/pump-1/w/04999");
	ck_assert_int_eq(learn_key_parse(key, &k), 0);
	ck_assert_int_eq(k.kind, LEARN_REC_WINDOW);
	ck_assert_int_eq(k.index, 4999);
	ck_assert_str_eq(k.sect, "vib");
	ck_assert_str_eq(k.node, "pump-1");
	learn_key(key, sizeof key, "vib", "n.1", LEARN_REC_STATE, 0);
	ck_assert_int_eq(learn_key_parse(key, &k), 0);
	ck_assert_int_eq(k.kind, LEARN_REC_STATE);
	learn_key(key, sizeof key, "vib", "n", LEARN_REC_MODEL, 0);
	ck_assert_int_eq(learn_key_parse(key, &k), 0);
	ck_assert_int_eq(k.kind, LEARN_REC_MODEL);
	learn_key(key, sizeof key, "vib", NULL, LEARN_REC_SIG, 0);
	ck_assert_str_eq(key, "learn/vib/sig");
	ck_assert_int_eq(learn_key_parse(key, &k), 0);
	ck_assert_int_eq(k.kind, LEARN_REC_SIG);
}
END_TEST

/* The status record: a round trip, then malformed ones. */
START_TEST(test_state)
{
	static const char *const bad[] = {
		"", "[]", "1", "{", "{}", "{\"state\":\"ready\"}",
		"{\"state\":\"sleeping\",\"dim\":1}",
		"{\"state\":7}",
	};
	/* A good record with one field changed to each bad value. */
	static const char *const fields[][2] = {
		{ "\"dim\":13", "\"dim\":1025" },
		{ "\"dim\":13", "\"dim\":-1" },
		{ "\"dim\":13", "\"dim\":\"13\"" },
		{ "\"axes\":1", "\"axes\":17" },
		{ "\"frames\":64", "\"frames\":70000" },
		{ "\"agreement\":0.75", "\"agreement\":1.5" },
		{ "\"sha256\":\"\"", "\"sha256\":\"abc\"" },
		{ "\"sha256\":\"\"", "\"sha256\":7" },
		{ "\"reason\":\"\"", "\"reason\":null" },
		{ "\"trainings\":2,", "" },
	};
	struct learn_node	 a, b;
	char			*s, *t, *p, *cause;
	size_t			 i;

	memset(&a, 0, sizeof a);
	a.state = LEARN_READY;
	a.dim = 13;
	a.frames = 64;
	a.axes = 1;
	a.interval_us = 1000;
	a.rej_shape = 3;
	a.rej_bad = 4;
	a.rej_full = 5;
	a.threshold = 1.25f;
	a.agreement = 0.75;
	a.max_diff = 0.5;
	a.train_ms = 42;
	a.trainings = 2;
	s = learn_state_encode(&a);
	memset(&b, 0, sizeof b);
	cause = NULL;
	ck_assert_msg(learn_state_parse(s, strlen(s), &b, &cause) == 0, "%s",
	    cause);
	ck_assert_int_eq(b.state, LEARN_READY);
	ck_assert_int_eq(b.dim, 13);
	ck_assert_int_eq(b.frames, 64);
	ck_assert_int_eq(b.interval_us, 1000);
	ck_assert_int_eq(b.rej_shape + b.rej_bad + b.rej_full, 12);
	ck_assert(b.threshold == 1.25f && b.agreement == 0.75);
	ck_assert_int_eq(b.train_ms, 42);
	ck_assert_int_eq(b.trainings, 2);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(learn_state_parse(bad[i], strlen(bad[i]), &b,
		    &cause) == -1 && cause != NULL, "%s", bad[i]);
		free(cause);
	}
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		p = strstr(s, fields[i][0]);
		ck_assert_msg(p != NULL, "%s in %s", fields[i][0], s);
		xasprintf(&t, "%.*s%s%s", (int)(p - s), s, fields[i][1],
		    p + strlen(fields[i][0]));
		cause = NULL;
		ck_assert_msg(learn_state_parse(t, strlen(t), &b, &cause) ==
		    -1, "%s", t);
		free(cause);
		free(t);
	}
	free(s);
}
END_TEST

/* Collection: the windows bound, shapes, NaN, states. */
START_TEST(test_take)
{
	struct learn_node	nd;
	float			f[4] = { 1, 2, 3, 4 }, big[LEARN_DIM_MAX + 1];
	size_t			mem = 0, i;

	memset(&nd, 0, sizeof nd);
	memset(big, 0, sizeof big);
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
	    LEARN_TAKEN);
	ck_assert_int_eq(mem, 16);
	/* Another feature count, frames, axes or interval: shape. */
	ck_assert_int_eq(learn_take(&nd, f, 3, 64, 1, 1000, 10, &mem),
	    LEARN_SHAPE);
	ck_assert_int_eq(learn_take(&nd, f, 4, 32, 1, 1000, 10, &mem),
	    LEARN_SHAPE);
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 2, 1000, 10, &mem),
	    LEARN_SHAPE);
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 2000, 10, &mem),
	    LEARN_SHAPE);
	ck_assert_int_eq(nd.rej_shape, 4);
	f[2] = NAN;
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
	    LEARN_BAD);
	f[2] = INFINITY;
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
	    LEARN_BAD);
	f[2] = 3;
	ck_assert_int_eq(learn_take(&nd, big, LEARN_DIM_MAX + 1, 64, 1, 1000,
	    10, &mem), LEARN_BAD);
	ck_assert_int_eq(learn_take(&nd, f, 0, 64, 1, 1000, 10, &mem),
	    LEARN_BAD);
	ck_assert_int_eq(nd.rej_bad, 4);
	ck_assert_int_eq(nd.n, 1);
	for (i = 1; i < 10; i++) {
		f[0] = (float)i;
		ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
		    LEARN_TAKEN);
	}
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
	    LEARN_DONE);
	ck_assert_int_eq(nd.n, 10);
	ck_assert_int_eq(mem, 160);
	ck_assert(nd.x[9 * 4] == 9.0f && nd.x[1] == 2.0f);
	ck_assert_int_le(nd.cap, 10);
	learn_node_drop(&nd, &mem);
	ck_assert_int_eq(mem, 0);
	ck_assert_int_eq(nd.n, 0);
	ck_assert_int_eq(nd.rej_shape + nd.rej_bad, 0);
	/* Only a collecting node collects. */
	nd.state = LEARN_READY;
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
	    LEARN_DONE);
	nd.state = LEARN_TRAINING;
	ck_assert_int_eq(learn_take(&nd, f, 4, 64, 1, 1000, 10, &mem),
	    LEARN_DONE);
	ck_assert_int_eq(nd.n, 0);
	learn_node_drop(&nd, &mem);
}
END_TEST

/* The memory bound of all nodes' windows. */
START_TEST(test_take_memory)
{
	struct learn_node	a, b;
	float			f[LEARN_DIM_MAX];
	size_t			mem = LEARN_MEM_MAX - 8;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(f, 0, sizeof f);
	ck_assert_int_eq(learn_take(&a, f, 2, 8, 1, 1, 100, &mem),
	    LEARN_TAKEN);
	ck_assert_int_eq(mem, LEARN_MEM_MAX);
	ck_assert_int_eq(learn_take(&b, f, 1, 8, 1, 1, 100, &mem),
	    LEARN_FULL);
	ck_assert_int_eq(b.rej_full, 1);
	ck_assert_int_eq(b.n, 0);
	learn_node_drop(&a, &mem);
	ck_assert_int_eq(mem, LEARN_MEM_MAX - 8);
	ck_assert_int_eq(learn_take(&b, f, 1, 8, 1, 1, 100, &mem),
	    LEARN_TAKEN);
	learn_node_drop(&b, &mem);
}
END_TEST

/* Window records: a round trip; a wrong length or NaN is refused. */
START_TEST(test_window_record)
{
	float	f[3] = { 1.5f, -2.25f, 1e-30f }, g[3];
	uint8_t	b[12];

	learn_window_encode(f, 3, b);
	ck_assert_int_eq(b[0], 0x00);
	ck_assert_int_eq(b[3], 0x3f);	/* 1.5f = 0x3fc00000, little-endian */
	ck_assert_int_eq(learn_window_decode(b, 12, 3, g), 0);
	ck_assert(memcmp(f, g, sizeof f) == 0);
	ck_assert_int_eq(learn_window_decode(b, 11, 3, g), -1);
	ck_assert_int_eq(learn_window_decode(b, 16, 3, g), -1);
	ck_assert_int_eq(learn_window_decode(b, 0, 0, g), -1);
	f[1] = NAN;
	learn_window_encode(f, 3, b);
	ck_assert_int_eq(learn_window_decode(b, 12, 3, g), -1);
}
END_TEST

/* P/cmd/learn/NAME/NODE: good, and a table of malformed ones. */
START_TEST(test_command)
{
	static const char *const bad[][2] = {
		{ "cmd/learn", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/vib", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/vib/n1/x", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn//n1", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/vib/", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/vib/..", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/v b/n1", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/vib/n*", "{\"id\":\"a\",\"action\":\"restart\"}" },
		{ "cmd/learn/vib/n1", "{\"id\":\"a\"}" },
		{ "cmd/learn/vib/n1", "{\"id\":\"a\",\"action\":\"stop\"}" },
		{ "cmd/learn/vib/n1", "{\"id\":\"a\",\"action\":1}" },
		{ "cmd/learn/vib/n1", "{\"id\":\"a\",\"action\":\"restart\","
		    "\"x\":1}" },
		{ "cmd/learn/vib/n1", "{\"id\":\"a\",\"action\":\"restart\","
		    "\"action\":\"restart\"}" },
		{ "cmd/learn/vib/n1", "{\"action\":\"restart\"}" },
		{ "cmd/learn/vib/n1", "[]" },
		{ "cmd/learn/vib/n1", "" },
	};
	struct command_req	r;
	char			err[256];
	size_t			i;
	const char		*good = "{\"id\":\"r1\",\"action\":\"restart\"}";

	ck_assert_msg(command_parse("cmd/learn/vib/pump-1", good,
	    strlen(good), 65536, &r, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(r.verb, COMMAND_LEARN);
	ck_assert_str_eq(r.id, "r1");
	ck_assert_str_eq(r.arg, "vib");
	ck_assert_str_eq(r.node, "pump-1");
	ck_assert_str_eq(command_verb_name(r.verb), "learn");
	command_req_free(&r);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(command_parse(bad[i][0], bad[i][1],
		    strlen(bad[i][1]), 65536, &r, err, sizeof err) == -1,
		    "%s %s", bad[i][0], bad[i][1]);
		command_req_free(&r);
	}
}
END_TEST

/* Run the tests. */
int
main(void)
{
	struct testutil_case	cases[] = {
		{ test_keys, 0 },
		{ test_state, 0 },
		{ test_take, 0 },
		{ test_take_memory, 0 },
		{ test_window_record, 0 },
		{ test_command, 0 },
	};

	return (testutil_run("learn", 30, cases,
	    sizeof cases / sizeof cases[0]));
}
