/*
 * test_learn_store.c - the learn module (SPEC 11) with the real store,
 * models and learn modules on the daemon's loop.  It stays in step with
 * the store when the store rolls a transaction back (SQLite full): the
 * windows collected in that transaction leave memory too, and when the
 * journal replays them they are collected once, at the indices that
 * follow the committed ones (and the store tells every stage added with
 * store_add_rollback(), the summary's among them).  The
 * scored windows waiting for the next loop turn to be stored as tier-2
 * results are bounded (LEARN_EMIT_MAX), the rest counted as dropped.  A
 * learned model that cannot be stored as a node model is not served.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cJSON.h>

#include "daemon.h"
#include "learn.h"
#include "learn_int.h"
#include "models.h"
#include "store.h"
#include "store_fixture.h"
#include "store_int.h"
#include "testutil.h"

static int	calls[3];

/* Rollback callbacks: count. */
static void rb0(void) { calls[0]++; }
static void rb1(void) { calls[1]++; }
static void rb2(void) { calls[2]++; }

/* Put window seq of node n1: 8 frames of one axis, all JSON. */
static void
put_window(int seq)
{
	struct store_msg	 m;
	char			 body[512];
	int			 w, i;

	w = snprintf(body, sizeof body, "{\"seq\":%d,\"boot\":1,"
	    "\"interval_ms\":1,\"sensors\":[{\"name\":\"x\"}],\"values\":[",
	    seq);
	for (i = 0; i < 8; i++)
		w += snprintf(body + w, sizeof body - w, "%s[%d.%d]", i ? "," :
		    "", (seq * 7 + i * 3) % 5, i);
	snprintf(body + w, sizeof body - w, "]}");
	memset(&m, 0, sizeof m);
	m.node = "n1";
	m.boot = 1;
	m.seq = seq;
	m.kind = STORE_KIND_WINDOW;
	m.rx_ms = daemon_now_ms();
	m.body = body;
	m.len = strlen(body);
	ck_assert_int_eq(store_put_message(&m, NULL, NULL), STORE_OK);
}

/* A number of P/metrics' "learn" (section NULL) or of its section v. */
static double
metric(const char *sect, const char *name)
{
	cJSON	*o = cJSON_CreateObject(), *l;
	double	 v;

	learn_metrics(o);
	l = cJSON_GetObjectItem(o, "learn");
	if (sect != NULL)
		l = cJSON_GetObjectItem(l, sect);
	v = cJSON_GetObjectItem(l, name)->valuedouble;
	cJSON_Delete(o);
	return (v);
}

/* The collected bytes of every node, as P/metrics says. */
static double
learn_bytes(void)
{
	return (metric(NULL, "bytes"));
}

/* Start the store, models and learn with [learn:v] (raw, 10 windows). */
static void
start_all(void)
{
	char	*cause = NULL;

	fx_setup("\n[learn:v]\nfeatures = raw\nwindows = 10\n");
	fx_start();
	if (models_start(fx_cf, &cause) != 0 || learn_start(fx_cf,
	    &cause) != 0)
		ck_abort_msg("start: %s", cause);
}

/* Stop them all and check the loop closes. */
static void
stop_all(void)
{
	learn_stop();
	models_stop();
	fx_stop();
	fx_teardown();
}

/* Every added callback is told; removed ones not. */
START_TEST(test_callbacks)
{
	store_add_rollback(rb0);
	store_add_rollback(rb1);
	store_add_rollback(rb2);
	store_hook_rollback();
	ck_assert(calls[0] == 1 && calls[1] == 1 && calls[2] == 1);
	store_remove_rollback(rb1);
	store_remove_rollback(rb0);
	store_hook_rollback();
	ck_assert(calls[0] == 1 && calls[1] == 1 && calls[2] == 2);
	store_hook_clear();
	store_hook_rollback();
	ck_assert_int_eq(calls[2], 2);
}
END_TEST

/* Windows of a rolled-back transaction are collected once, in order. */
START_TEST(test_rollback)
{
	int	 s;

	start_all();
	for (s = 1; s <= 3; s++)
		put_window(s);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE key "
	    "LIKE 'learn/v/n1/w/%'"), 3);
	put_window(4);
	put_window(5);
	ck_assert(learn_bytes() == 5 * 8 * 4);
	/* SQLite fails inside the transaction: it is rolled back. */
	store_write_error(SQLITE_FULL);
	ck_assert_int_eq(store_accepting(), 0);
	/* The journal gives windows 4 and 5 back to the hooks. */
	fx_wait_accepting();
	fx_flush();
	ck_assert(learn_bytes() == 5 * 8 * 4);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE key "
	    "LIKE 'learn/v/n1/w/%'"), 5);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE key "
	    "= 'learn/v/n1/w/00004'"), 1);
	/* And collection goes on from there. */
	put_window(6);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE key "
	    "= 'learn/v/n1/w/00005'"), 1);
	ck_assert(learn_bytes() == 6 * 8 * 4);
	stop_all();
}
END_TEST

/* More scored windows in one loop turn than LEARN_EMIT_MAX: counted. */
START_TEST(test_emit_bound)
{
	int	s, i;

	start_all();
	for (s = 1; s <= 10; s++)
		put_window(s);
	fx_flush();
	/* Training runs in the pool (bounded wait: 30 s). */
	for (i = 0; i < 3000 && metric("v", "ready") != 1; i++) {
		usleep(10000);
		fx_turn();
	}
	ck_assert(metric("v", "ready") == 1);
	/* No loop turn in between: the zero timer cannot store them. */
	for (s = 100; s < 100 + LEARN_EMIT_MAX + 76; s++)
		put_window(s);
	ck_assert(metric("v", "scored") == LEARN_EMIT_MAX + 76);
	ck_assert(metric(NULL, "emit_dropped") == 76);
	fx_turn();
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE kind = "
	    "4"), LEARN_EMIT_MAX);
	/* The next turn's windows are stored again. */
	put_window(5000);
	fx_turn();
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE kind = "
	    "4"), LEARN_EMIT_MAX + 1);
	stop_all();
}
END_TEST

/* A model the models module cannot store is not served, P/learn says. */
START_TEST(test_not_served)
{
	struct learn_node	*nd;
	char			 path[128], *doc;
	FILE			*f;
	int			 s, i;

	start_all();
	/* A file where the name's directory would go: the put fails. */
	snprintf(path, sizeof path, "%s/models/learn-v-n1", fx_dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	for (s = 1; s <= 10; s++)
		put_window(s);
	fx_flush();
	nd = learn_node_find("v", "n1");
	ck_assert_ptr_nonnull(nd);
	for (i = 0; i < 3000 && (nd->state != LEARN_READY || nd->serve == 1);
	    i++) {
		usleep(10000);
		fx_turn();
	}
	ck_assert_int_eq(nd->state, LEARN_READY);
	ck_assert_int_eq(nd->serve, 0);
	doc = learn_doc(nd);
	ck_assert_msg(strstr(doc, "\"served\":false") != NULL, "%s", doc);
	free(doc);
	ck_assert_int_ne(models_find("learn-v-n1", NULL, NULL), 0);
	stop_all();
}
END_TEST

/* Run the tests. */
int
main(void)
{
	const TTest	*tests[] = { test_callbacks, test_rollback,
	    test_emit_bound, test_not_served };

	return (fx_run_tests("learn_store", 60, tests,
	    sizeof tests / sizeof tests[0]));
}
