/*
 * test_summary_interval.c - the per-interval summaries (summary_interval.c)
 * on the real store in a temp directory, driven through the summary
 * stage's private interface with chosen receive times and clocks: the
 * intervals are aligned to wall-clock multiples of the interval, not to
 * the first message; an interval closes when the clock passes its end and
 * not before, writing one summary per node (n, and per label n, mean, min,
 * max) to the outbox and moving the message cursor past what it covered;
 * past max_labels the least frequent labels are folded into "_other_";
 * past 4 x max_labels distinct labels a node's new labels are counted
 * under "_other_" and as "untracked"; a clock set back closes the open
 * intervals at once and later ids carry the epoch.
 */
#include <check.h>
#include <cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_fixture.h"
#include "summary_int.h"
#include "testutil.h"

#define IV	60000		/* the interval, ms */

/* Start the store and the interval part with max_labels labels. */
static void
start(size_t max_labels)
{
	fx_setup("");
	fx_start();
	fx_turn();
	summary_interval_labels(max_labels);
	ck_assert_int_eq(summary_interval_start(IV), 0);
}

/* Stop both and remove the temp dir. */
static void
stop(void)
{
	summary_interval_stop();
	fx_stop();
	fx_teardown();
}

/* Count one inference of node with label and score, received at rx. */
static void
add(int64_t id, const char *node, const char *label, double score,
    uint64_t rx)
{
	struct summary_inf	in;

	memset(&in, 0, sizeof in);
	in.node = node;
	in.label = label;
	in.model = "m";
	in.score = score;
	in.tier = 1;
	in.rx_ms = rx;
	summary_interval_add(&in, id);
}

/* Housekeeping at wall time now (no clock step), then commit. */
static void
check_at(uint64_t now)
{
	summary_interval_check(now, now);
	fx_flush();
}

/* The k-th (0: oldest) committed summary on topic, parsed; NULL if none. */
static cJSON *
summary_row(const char *topic, int k)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 path[128];
	cJSON		*o = NULL;

	snprintf(path, sizeof path, "%s/tinyedge.db", fx_dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT payload FROM outbox "
	    "WHERE topic = ? ORDER BY id LIMIT 1 OFFSET ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, k);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = cJSON_ParseWithLength(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (o);
}

/* A number member of o (a missing one fails the test). */
static double
num(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	ck_assert_msg(cJSON_IsNumber(v), "no number %s", name);
	return (v->valuedouble);
}

/* Check one label's statistics in a summary. */
static void
label_is(const cJSON *sum, const char *label, double n, double mean,
    double min, double max)
{
	const cJSON	*l;

	l = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    sum, "labels"), label);
	ck_assert_msg(l != NULL, "no label %s", label);
	ck_assert_double_eq(num(l, "n"), n);
	ck_assert_double_eq_tol(num(l, "mean"), mean, 1e-12);
	ck_assert_double_eq_tol(num(l, "min"), min, 1e-12);
	ck_assert_double_eq_tol(num(l, "max"), max, 1e-12);
}

/* How many labels a summary lists. */
static int
nlabels(const cJSON *sum)
{
	return (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sum,
	    "labels")));
}

START_TEST(test_aligned_close)
{
	cJSON	*a, *b;

	start(64);
	/* The first message at 125 s: its interval is [120 s, 180 s). */
	add(1, "a", "yes", 0.5, 125000);
	add(2, "b", "yes", 1.0, 130000);
	add(3, "a", "no", 0.2, 150000);
	add(4, "a", "yes", 0.9, 179999);
	add(5, "a", "yes", 0.3, 185000);	/* the next interval */
	ck_assert_uint_eq(summary_interval_pending(), 5);
	check_at(179999);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 0);
	ck_assert_int_eq(store_msg_cursor(), 0);
	check_at(180000);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 2);
	ck_assert_uint_eq(summary_interval_pending(), 1);
	ck_assert_int_eq(store_msg_cursor(), 4);
	a = summary_row("summary/a", 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring,
	    "sum:a:120000");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a,
	    "node")->valuestring, "a");
	ck_assert_double_eq(num(a, "from"), 120000);
	ck_assert_double_eq(num(a, "to"), 180000);
	ck_assert_double_eq(num(a, "n"), 3);
	ck_assert_int_eq(nlabels(a), 2);
	label_is(a, "yes", 2, 0.7, 0.5, 0.9);
	label_is(a, "no", 1, 0.2, 0.2, 0.2);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a, "folded"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a, "untracked"));
	b = summary_row("summary/b", 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_double_eq(num(b, "n"), 1);
	label_is(b, "yes", 1, 1.0, 1.0, 1.0);
	cJSON_Delete(a);
	cJSON_Delete(b);
	/* A silent node gets no summary; the second interval closes alone. */
	check_at(240000);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 3);
	ck_assert_ptr_null(summary_row("summary/b", 1));
	a = summary_row("summary/a", 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring,
	    "sum:a:180000");
	label_is(a, "yes", 1, 0.3, 0.3, 0.3);
	cJSON_Delete(a);
	ck_assert_int_eq(store_msg_cursor(), 5);
	ck_assert_uint_eq(summary_interval_pending(), 0);
	stop();
}
END_TEST

START_TEST(test_late_message_joins_newest)
{
	cJSON	*a;

	start(64);
	add(1, "a", "yes", 0.5, 185000);
	/* Received "earlier" (the clock stepped back a little): it joins the
	 * newest open interval, so closed intervals stay a prefix of ids. */
	add(2, "a", "yes", 0.7, 170000);
	check_at(240000);
	a = summary_row("summary/a", 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring,
	    "sum:a:180000");
	ck_assert_double_eq(num(a, "n"), 2);
	ck_assert_ptr_null(summary_row("summary/a", 1));
	cJSON_Delete(a);
	stop();
}
END_TEST

START_TEST(test_labels_folded)
{
	cJSON	*a;

	start(2);
	add(1, "a", "x", 0.1, 60000);
	add(2, "a", "x", 0.2, 60001);
	add(3, "a", "x", 0.3, 60002);
	add(4, "a", "y", 0.4, 60003);
	add(5, "a", "y", 0.6, 60004);
	add(6, "a", "z", 0.9, 60005);
	add(7, "a", "w", 0.05, 60006);
	check_at(120000);
	a = summary_row("summary/a", 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_double_eq(num(a, "n"), 7);
	/* The two most frequent stay; w and z (one each) are "_other_". */
	ck_assert_int_eq(nlabels(a), 3);
	label_is(a, "x", 3, 0.2, 0.1, 0.3);
	label_is(a, "y", 2, 0.5, 0.4, 0.6);
	label_is(a, "_other_", 2, 0.475, 0.05, 0.9);
	ck_assert_double_eq(num(a, "folded"), 2);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a, "untracked"));
	cJSON_Delete(a);
	stop();
}
END_TEST

START_TEST(test_labels_untracked)
{
	cJSON	*a;
	char	 label[8];
	int	 i;

	/* max_labels 1: four distinct labels are told apart, no more. */
	start(1);
	for (i = 0; i < 6; i++) {
		snprintf(label, sizeof label, "l%d", i);
		add(i + 1, "a", label, 0.1 * (i + 1), 60000 + i);
	}
	add(7, "a", "l0", 0.1, 60010);
	add(8, "a", "l5", 0.6, 60011);		/* still untracked */
	check_at(120000);
	a = summary_row("summary/a", 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_double_eq(num(a, "n"), 8);
	ck_assert_double_eq(num(a, "untracked"), 3);
	/* l0 (twice) is listed; l1..l3 and the untracked l4, l5, l5 fold. */
	ck_assert_int_eq(nlabels(a), 2);
	label_is(a, "l0", 2, 0.1, 0.1, 0.1);
	label_is(a, "_other_", 6, (0.2 + 0.3 + 0.4 + 0.5 + 0.6 + 0.6) / 6,
	    0.2, 0.6);
	ck_assert_double_eq(num(a, "folded"), 4);
	cJSON_Delete(a);
	stop();
}
END_TEST

START_TEST(test_clock_set_back)
{
	cJSON	*a;

	start(64);
	check_at(1000000);
	add(1, "a", "yes", 0.5, 1000000);
	/* The clock goes back 500 s: the open interval closes at once. */
	summary_interval_check(500000, 1000001);
	fx_flush();
	a = summary_row("summary/a", 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring,
	    "sum:a:960000");
	cJSON_Delete(a);
	ck_assert_int_eq(store_msg_cursor(), 1);
	/* Later summaries carry the epoch: no id sent before can repeat. */
	add(2, "a", "yes", 0.5, 500100);
	summary_interval_check(540000, 1040001);
	fx_flush();
	a = summary_row("summary/a", 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring,
	    "sum:a:480000:e1");
	cJSON_Delete(a);
	ck_assert_int_eq(store_msg_cursor(), 2);
	stop();
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_aligned_close, 0 },
		{ test_late_message_joins_newest, 0 },
		{ test_labels_folded, 0 },
		{ test_labels_untracked, 0 },
		{ test_clock_set_back, 0 },
	};

	return (testutil_run("summary_interval", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
