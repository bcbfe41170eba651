/*
 * test_metrics.c - the counters (metrics.c) and the P/metrics body the
 * monitoring stage builds (monitor.c), with the real store started in a
 * temp directory and no broker: counters add up and refuse an out-of-range index, ids are "<start36>-<counter36>" and
 * never repeat, and the JSON body carries every SPEC section 5 field with
 * the counted values (tier 2's mean from runs and total time; the uplink,
 * never started, reports itself disconnected).  Publishing needs the
 * uplink and is left to the end-to-end tests (uplink-publish.sh).
 */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "monitor.h"
#include "store_fixture.h"
#include "testutil.h"

/* A number at path a.b (b NULL: top level); a missing one fails. */
static double
field(const cJSON *o, const char *a, const char *b)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	ck_assert_msg(cJSON_IsNumber(v), "no number %s.%s", a, b ? b : "");
	return (v->valuedouble);
}

START_TEST(test_counters)
{
	ck_assert_uint_eq(metrics_get(METRICS_INGEST_COAP), 0);
	metrics_add(METRICS_INGEST_COAP, 2);
	metrics_add(METRICS_INGEST_COAP, 3);
	ck_assert_uint_eq(metrics_get(METRICS_INGEST_COAP), 5);
	ck_assert_uint_eq(metrics_get(METRICS_INGEST_SERIAL), 0);
	/* An index past the table is ignored, and reads as 0. */
	metrics_add(METRICS_NCOUNTERS, 7);
	ck_assert_uint_eq(metrics_get(METRICS_NCOUNTERS), 0);
}
END_TEST

START_TEST(test_ids)
{
	char	a[48], b[48], *dash;

	metrics_new_id(a, sizeof a);
	metrics_new_id(b, sizeof b);
	ck_assert_str_ne(a, b);
	dash = strchr(a, '-');
	ck_assert_ptr_nonnull(dash);
	ck_assert_uint_eq(strspn(a, "0123456789abcdefghijklmnopqrstuvwxyz-"),
	    strlen(a));
	/* Same process start, counter 1 then 2. */
	ck_assert_int_eq(strncmp(a, b, (size_t)(dash - a) + 1), 0);
	ck_assert_str_eq(dash + 1, "1");
	ck_assert_str_eq(strchr(b, '-') + 1, "2");
}
END_TEST

START_TEST(test_json)
{
	const char	*bools[] = { "refusing", "connected" };
	char		*text;
	cJSON		*o;

	fx_setup("");
	fx_start();
	fx_turn();
	metrics_add(METRICS_INGEST_COAP, 3);
	metrics_add(METRICS_INGEST_SERIAL, 2);
	metrics_add(METRICS_INGEST_REJECTED, 1);
	metrics_add(METRICS_INGEST_DUPLICATES, 4);
	metrics_add(METRICS_TIER2_RUNS, 2);
	metrics_add(METRICS_TIER2_US, 301);
	metrics_add(METRICS_TIER2_SKIPPED, 1);
	text = monitor_json();
	ck_assert_ptr_nonnull(text);
	o = cJSON_Parse(text);
	ck_assert_msg(o != NULL, "%s", text);
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "id")));
	ck_assert_double_gt(field(o, "ts", NULL), 0);
	ck_assert_double_ge(field(o, "uptime_s", NULL), 0);
	ck_assert_double_gt(field(o, "rss_kb", NULL), 0);
	ck_assert_double_eq(field(o, "ingest", "coap"), 3);
	ck_assert_double_eq(field(o, "ingest", "serial"), 2);
	ck_assert_double_eq(field(o, "ingest", "rejected"), 1);
	ck_assert_double_eq(field(o, "ingest", "duplicates"), 4);
	ck_assert_double_eq(field(o, "tier2", "runs"), 2);
	ck_assert_double_eq(field(o, "tier2", "mean_us"), 150);
	ck_assert_double_eq(field(o, "tier2", "skipped"), 1);
	ck_assert_double_eq(field(o, "store", "queued"), 0);
	ck_assert_double_eq(field(o, "store", "messages"), 0);
	ck_assert_double_ge(field(o, "store", "bytes"), 0);
	ck_assert_double_eq(field(o, "store", "dropped"), 0);
	ck_assert_double_eq(field(o, "uplink", "published"), 0);
	ck_assert_double_eq(field(o, "nodes", "known"), 0);
	ck_assert_double_eq(field(o, "nodes", "online"), 0);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "store"), bools[0])));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "uplink"), bools[1])));
	cJSON_Delete(o);
	cJSON_free(text);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_counters, 0 },
		{ test_ids, 0 },
		{ test_json, 0 },
	};

	return (testutil_run("metrics", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
