/*
 * test_summary.c - the record of open events (summary_record.c) and how
 * the event stage keeps it: a round trip to the last bit, a table of
 * malformed records (each refused with a cause, nothing handed out), the
 * bound on open events (past it events are sent at once, and the record
 * holds the bound after a restart), and the replacement of an older
 * version's one-JSON-row-per-event records in one transaction.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "store.h"
#include "store_fixture.h"
#include "summary.h"
#include "summary_int.h"

static int	nseen;
static struct summary_rec seen[4];
static char	strs[4][3][256];

/* Decoder callback: keep a copy of the first four events. */
static void
keep_cb(const struct summary_rec *r, void *arg)
{
	(void)arg;
	if (nseen < 4) {
		seen[nseen] = *r;
		snprintf(strs[nseen][0], 256, "%s", r->node);
		snprintf(strs[nseen][1], 256, "%s", r->label);
		snprintf(strs[nseen][2], 256, "%s", r->model);
	}
	nseen++;
}

/* An event for the tests. */
static struct summary_rec
rec(const char *node, const char *label, double score)
{
	struct summary_rec	r;

	memset(&r, 0, sizeof r);
	r.node = node;
	r.label = label;
	r.model = "kws-v1";
	r.tier = 1;
	r.boot = 7;
	r.seq = 1234567890123LL;
	r.score = score;
	r.count = 3;
	r.first_ms = 1700000000000ULL;
	r.last_ms = 1700000000500ULL;
	return (r);
}

START_TEST(record_round_trip)
{
	struct summary_buf	b;
	struct summary_rec	r;
	char			*cause = NULL;

	memset(&b, 0, sizeof b);
	summary_record_begin(&b);
	r = rec("n1", "yes", 0.1 + 0.2);	/* not a short decimal */
	summary_record_add(&b, &r);
	r = rec("node-two", "_unknown_", 1.0);
	r.tier = 2;
	summary_record_add(&b, &r);
	nseen = 0;
	ck_assert_int_eq(summary_record_parse(b.data, b.len, keep_cb, NULL,
	    &cause), 2);
	ck_assert_int_eq(nseen, 2);
	ck_assert_str_eq(strs[0][0], "n1");
	ck_assert_str_eq(strs[0][1], "yes");
	ck_assert_str_eq(strs[1][2], "kws-v1");
	ck_assert(seen[0].score == 0.1 + 0.2);
	ck_assert_int_eq(seen[1].tier, 2);
	ck_assert_int_eq(seen[0].seq, 1234567890123LL);
	ck_assert_uint_eq(seen[0].last_ms, 1700000000500ULL);
	ck_assert_uint_eq(seen[0].count, 3);
	/* An empty record is valid. */
	summary_record_begin(&b);
	ck_assert_int_eq(summary_record_parse(b.data, b.len, keep_cb, NULL,
	    &cause), 0);
	free(b.data);
}
END_TEST

/* Patch byte off of a good one-event record to v (or cut it at off). */
struct bad {
	const char	*what;
	int		 off;		/* -1: none */
	int		 val;		/* -1: cut the record at off */
	const char	*cause;
};

static const struct bad bad_records[] = {
	{ "bad magic", 0, 'X', "bad magic" },
	{ "empty", 0, -1, "truncated header" },
	{ "header cut", 7, -1, "truncated header" },
	{ "unknown version", 4, 2, "unknown version" },
	{ "count larger than the bytes allow", 8, 1, "bad count" },
	{ "count says two, one follows", 5, 2, "bad count" },
	{ "fixed part cut", 30, -1, "bad count" },
	{ "tier 0", 9, 0, "bad event" },
	{ "tier 3", 9, 3, "bad event" },
	{ "event count 0", 22, 0, "bad event" },
	{ "node length 0", 54, 0, "bad string" },
	{ "node length past the end", 55, 1, "bad string" },
	{ "NUL in the node", 56, 0, "bad string" },
	{ "label cut", 60, -1, "bad string" },
	{ "trailing byte", 1000, 'x', "trailing bytes" },
};

/* Apply one bad case to a good one-event record; is it refused? */
static void
check_bad(const struct bad *t)
{
	struct summary_buf	 b;
	struct summary_rec	 r;
	unsigned char		 buf[512];
	size_t			 len;
	char			*cause = NULL;

	memset(&b, 0, sizeof b);
	summary_record_begin(&b);
	r = rec("n1", "yes", 0.9);
	r.count = 1;		/* one byte: offset 22 clears it */
	summary_record_add(&b, &r);
	/* node "n1" starts at 9 + 45 + 2 = 56. */
	ck_assert_uint_eq(b.len, 9 + 45 + 2 + 2 + 2 + 3 + 2 + 6);
	memcpy(buf, b.data, b.len);
	len = b.len;
	free(b.data);
	if (t->off == 1000)
		buf[len++] = (unsigned char)t->val;
	else if (t->val == -1)
		len = (size_t)t->off;
	else
		buf[t->off] = (unsigned char)t->val;
	nseen = 0;
	ck_assert_msg(summary_record_parse(buf, len, keep_cb, NULL, &cause) ==
	    -1, "%s: accepted", t->what);
	ck_assert_msg(strstr(cause, t->cause) != NULL, "%s: cause '%s'",
	    t->what, cause);
	ck_assert_int_eq(nseen, 0);
	free(cause);
}

START_TEST(record_malformed)
{
	size_t	i;

	for (i = 0; i < sizeof bad_records / sizeof bad_records[0]; i++)
		check_bad(&bad_records[i]);
}
END_TEST

/* Store an inference of node n with label l (score 0.9) via the hooks. */
static void
put_inference(const char *n, const char *l, int64_t seq)
{
	struct store_msg	m;
	char			body[160];

	snprintf(body, sizeof body, "{\"seq\":%lld,\"model\":\"kws-v1\","
	    "\"label\":\"%s\",\"score\":0.9}", (long long)seq, l);
	memset(&m, 0, sizeof m);
	m.node = n;
	m.seq = seq;
	m.kind = STORE_KIND_INFERENCE;
	m.rx_ms = daemon_now_ms();
	m.body = body;
	m.len = strlen(body);
	ck_assert_int_eq(store_put_message(&m, fx_done_cb, NULL), 0);
}

/* Start the store and the summary stage. */
static void
start_both(int fresh)
{
	char	*cause = NULL;

	if (fresh)
		fx_start_fresh();
	else
		fx_start();
	fx_turn();
	if (summary_start(fx_cf, &cause) != 0)
		ck_abort_msg("summary_start: %s", cause);
}

/* Stop the summary stage and the store. */
static void
stop_both(void)
{
	summary_stop();
	fx_stop();
}

START_TEST(open_events_bounded)
{
	char	label[32];
	int	i, n = SUMMARY_OPEN_MAX + 5;

	fx_setup("");
	start_both(0);
	for (i = 0; i < n; i++) {
		snprintf(label, sizeof label, "l%d", i);
		put_inference(i % 2 ? "a" : "b", label, i + 1);
		if (i % 1000 == 999)
			fx_flush();	/* stay under the commit's row limit */
	}
	/* A repeat of an open event extends it: nothing new opens. */
	put_inference("b", "l0", n + 1);
	fx_flush();
	ck_assert_uint_eq(summary_open_events(), SUMMARY_OPEN_MAX);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox WHERE "
	    "topic LIKE 'events/%'"), 5);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE "
	    "key = 'events'"), 1);
	stop_both();
	start_both(1);
	ck_assert_uint_eq(summary_open_events(), SUMMARY_OPEN_MAX);
	stop_both();
	fx_teardown();
}
END_TEST

START_TEST(legacy_records_replaced)
{
	fx_setup("");
	fx_start();
	fx_turn();
	fx_stop();
	fx_exec_sql("INSERT INTO state(key, val) VALUES ('ev/n1/1/yes', "
	    "'{\"node\":\"n1\",\"label\":\"yes\",\"score\":0.97,\"tier\":1,"
	    "\"model\":\"m\",\"boot\":3,\"seq\":9,\"count\":4,"
	    "\"first_ts\":1000,\"last_ts\":2000}'), ('ev/n2/2/no', "
	    "'{\"node\":\"n2\",\"label\":\"no\",\"score\":0.8,\"tier\":2,"
	    "\"model\":\"m\",\"boot\":0,\"seq\":1,\"count\":1,"
	    "\"first_ts\":1000,\"last_ts\":1000}')");
	start_both(1);
	ck_assert_uint_eq(summary_open_events(), 2);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE "
	    "key LIKE 'ev/%'"), 0);
	ck_assert_int_eq(fx_count_sql("SELECT length(val) FROM state WHERE "
	    "key = 'events'"), 9 + 2 * 45 + 6 + 2 + 3 + 1 + 6 + 2 + 2 + 1);
	stop_both();
	start_both(1);
	ck_assert_uint_eq(summary_open_events(), 2);
	stop_both();
	fx_teardown();
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		record_round_trip, record_malformed, open_events_bounded,
		legacy_records_replaced,
	};

	return (fx_run_tests("summary", 60, tests,
	    sizeof tests / sizeof tests[0]));
}
