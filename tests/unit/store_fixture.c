/*
 * store_fixture.c - the fixture the store's unit tests share: a temp
 * directory holding a config and the store's files, the store started and
 * stopped on the daemon's loop (a stop runs the loop to the end and checks
 * it closes, so a leaked handle fails the test), put results and message
 * hook ids recorded in order, inference messages and outbox rows put with
 * filler bodies, and SQLite reached on a second connection (reads see only
 * committed data, writes are for when the store is stopped); the tests
 * run under testutil_run() like every unit test.  Each test program links
 * its own copy; one test at a time uses it (Check forks each test, so the globals
 * start clean in every one).
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "store.h"
#include "store_fixture.h"
#include "testutil.h"

char			 fx_dir[64];
struct config		*fx_cf;
int			 fx_ncb;
enum store_result	 fx_results[FX_NRESULTS];
int64_t			 fx_hook_ids[64];
int			 fx_nhook;

/*
 * Make /tmp/te-TAG.XXXXXX and load a config with the given [store] lines
 * (without commit_interval they get 60 s: nothing commits unless flushed).
 */
void
fx_config(const char *tag, const char *store_lines)
{
	char	 path[128], *cause = NULL;
	FILE	*f;

	snprintf(fx_dir, sizeof fx_dir, "/tmp/te-%s.XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(fx_dir));
	snprintf(path, sizeof path, "%s/c.ini", fx_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[gateway]\nid = gw-unit\ndata_dir = %s\n[store]\n%s%s\n",
	    fx_dir, strstr(store_lines, "commit_interval") ? "" :
	    "commit_interval = 60s\n", store_lines);
	fclose(f);
	if (config_load(path, &fx_cf, &cause) != 0)
		ck_abort_msg("config: %s", cause);
}

/* A config as fx_config() in /tmp/te-store.*, a fresh loop, no results. */
void
fx_setup(const char *store_lines)
{
	fx_config("store", store_lines);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	fx_ncb = 0;
}

/* Start the store; abort with its cause on failure. */
void
fx_start(void)
{
	char	*cause = NULL;

	if (store_start(fx_cf, &cause) != 0)
		ck_abort_msg("store_start: %s", cause);
}

/* Start the store on a fresh loop (the last one was closed by a stop). */
void
fx_start_fresh(void)
{
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	fx_start();
}

/* Stop the store and check the loop closes cleanly. */
void
fx_stop(void)
{
	store_stop();
	uv_run(daemon_loop(), UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
}

/* Restart the store on a fresh loop and run its first turn (replay). */
void
fx_restart(void)
{
	fx_stop();
	fx_start_fresh();
	fx_turn();
}

/*
 * Wait until the store takes puts again after refusing: the housekeeping
 * check probes SQLite after 5 s, then replays in chunks (bounded: 10 s).
 */
void
fx_wait_accepting(void)
{
	int	i;

	for (i = 0; i < 100 && !store_accepting(); i++) {
		store_check(0);
		fx_turn();
		usleep(100000);
	}
	ck_assert_int_eq(store_accepting(), 1);
}

/* Free the config and remove the temp dir. */
void
fx_teardown(void)
{
	char	cmd[128];

	config_free(fx_cf);
	fx_cf = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Run one loop turn without blocking (the first one replays the journal). */
void
fx_turn(void)
{
	uv_run(daemon_loop(), UV_RUN_NOWAIT);
}

/* Commit now, then let the loop run what the commit queued. */
void
fx_flush(void)
{
	store_flush();
	fx_turn();
}

/* Record a put's result, in the order the results come. */
void
fx_done_cb(enum store_result r, void *arg)
{
	(void)arg;
	fx_results[fx_ncb++] = r;
}

/* Message hook: remember the ids of new messages. */
void
fx_hook_cb(const struct store_msg *m, int64_t id, void *arg)
{
	(void)m;
	(void)arg;
	fx_hook_ids[fx_nhook++] = id;
}

/* Put one inference message with a body of len 'b's. */
int
fx_put_msg(const char *node, uint32_t boot, int64_t seq, enum store_kind k,
    size_t len)
{
	static char		body[4096];
	struct store_msg	m;

	memset(body, 'b', sizeof body);
	memset(&m, 0, sizeof m);
	m.node = node;
	m.boot = boot;
	m.seq = seq;
	m.kind = k;
	m.rx_ms = daemon_now_ms();
	m.body = body;
	m.len = len;
	return (store_put_message(&m, fx_done_cb, NULL));
}

/* Put one outbox row whose payload starts with a tag. */
int
fx_put_row(enum store_class c, const char *tag, size_t len)
{
	char	buf[4096];

	memset(buf, 'p', sizeof buf);
	memcpy(buf, tag, strlen(tag));
	return (store_outbox_add("t/x", buf, len, c, 0, fx_done_cb, NULL));
}

/* Count rows with a query on a second connection (sees committed data). */
int64_t
fx_count_sql(const char *sql)
{
	char		 path[128];
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 n = -1;

	snprintf(path, sizeof path, "%s/tinyedge.db", fx_dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (n);
}

/* Run SQL on the database with a second connection (the store stopped). */
void
fx_exec_sql(const char *sql)
{
	char	 path[128];
	sqlite3	*db;

	snprintf(path, sizeof path, "%s/tinyedge.db", fx_dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		ck_abort_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/*
 * Run the given tests in order with testutil_run() (kept for the callers
 * that pass a plain list of tests, as test_summary.c does).
 */
int
fx_run_tests(const char *name, int timeout, const TTest **tests, size_t n)
{
	struct testutil_case	*cases;
	size_t			 i;
	int			 rc;

	/* Not ck_assert: Check's asserts only work inside a test. */
	if ((cases = calloc(n, sizeof *cases)) == NULL)
		return (EXIT_FAILURE);
	for (i = 0; i < n; i++)
		cases[i].test = tests[i];
	rc = testutil_run(name, timeout, cases, n);
	free(cases);
	return (rc);
}
