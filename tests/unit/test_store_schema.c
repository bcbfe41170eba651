/*
 * test_store_schema.c - unit tests of the store's schema steps
 * (store_db.c) against a temp directory: an empty file gets version 4,
 * files of versions 1 and 3 are migrated in place (rows, ids, state
 * records and the summary cursor kept; the unique index of version 3
 * dropped, repeats recognized in memory instead), a current file reopens
 * unchanged and a newer one is refused and left alone; and pruning by
 * time, with rows aged in the file between two runs: max_age at start,
 * raw_retention of summarized rows only.  Split from test_store.c, whose
 * helpers these copy.
 */
#include <check.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "store.h"

static char		 dir[64];
static struct config	*cf;
static int		 ncb;
static enum store_result results[4096];

/*
 * Make a temp dir and a config with the given [store] lines (tests that do
 * not set commit_interval get 60 s: nothing commits unless they flush).
 */
static void
setup_with(const char *store_lines)
{
	char	 path[128], *cause = NULL;
	FILE	*f;

	snprintf(dir, sizeof dir, "/tmp/te-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/c.ini", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[gateway]\nid = gw-unit\ndata_dir = %s\n[store]\n%s%s\n",
	    dir, strstr(store_lines, "commit_interval") ? "" :
	    "commit_interval = 60s\n", store_lines);
	fclose(f);
	if (config_load(path, &cf, &cause) != 0)
		ck_abort_msg("config: %s", cause);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	ncb = 0;
}

/* Start the store; abort with its cause on failure. */
static void
start(void)
{
	char	*cause = NULL;

	if (store_start(cf, &cause) != 0)
		ck_abort_msg("store_start: %s", cause);
}

/* Stop the store and check the loop closes cleanly. */
static void
stop(void)
{
	store_stop();
	uv_run(daemon_loop(), UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
}

/* Remove the temp dir. */
static void
teardown(void)
{
	char	cmd[128];

	config_free(cf);
	cf = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Record a put's result. */
static void
done_cb(enum store_result r, void *arg)
{
	(void)arg;
	results[ncb++] = r;
}

/* Put one inference message. */
static int
put_msg(const char *node, uint32_t boot, int64_t seq, enum store_kind k,
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
	return (store_put_message(&m, done_cb, NULL));
}

/* Put one outbox row whose payload starts with a tag. */
static int
put_row(enum store_class c, const char *tag, size_t len)
{
	char	buf[4096];

	memset(buf, 'p', sizeof buf);
	memcpy(buf, tag, strlen(tag));
	return (store_outbox_add("t/x", buf, len, c, 0, done_cb, NULL));
}

/* Count rows with a query on a second connection (sees committed data). */
static int64_t
count_sql(const char *sql)
{
	char		 path[128];
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 n = -1;

	snprintf(path, sizeof path, "%s/tinyedge.db", dir);
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

/* Run one loop turn without blocking (the first one replays the journal). */
static void
turn(void)
{
	uv_run(daemon_loop(), UV_RUN_NOWAIT);
}

/* Commit now, then let the loop run what the commit queued. */
static void
flush(void)
{
	store_flush();
	turn();
}

/* Run SQL on the database with a second connection (the store stopped). */
static void
exec_sql(const char *sql)
{
	char	 path[128];
	sqlite3	*db;

	snprintf(path, sizeof path, "%s/tinyedge.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		ck_abort_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}


START_TEST(test_migration)
{
	char		 path[128], *cause = NULL;
	sqlite3		*db;

	setup_with("");
	/* An empty file (version 0) gets the current schema. */
	snprintf(path, sizeof path, "%s/tinyedge.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_close(db);
	start();
	ck_assert_int_eq(count_sql("PRAGMA user_version"), 4);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND tbl_name = 'msg'"), 0);
	put_row(STORE_CLASS_EVENT, "e", 20);
	flush();
	stop();
	/* Reopening a current file keeps its rows. */
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 1);
	stop();
	/* A newer schema is refused with a reason, and left alone. */
	exec_sql("PRAGMA user_version = 9");
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	ck_assert_int_eq(store_start(cf, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "schema version 9 is newer"));
	free(cause);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(count_sql("PRAGMA user_version"), 9);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
	teardown();
}
END_TEST

static int64_t	hook_ids[64];
static int	nhook;

/* Message hook: remember the ids of new messages. */
static void
hook_cb(const struct store_msg *m, int64_t id, void *arg)
{
	(void)m;
	(void)arg;
	hook_ids[nhook++] = id;
}

START_TEST(test_migration_v1)
{
	setup_with("");
	/* A file as the first release left it, with one message. */
	exec_sql("CREATE TABLE msg (id INTEGER "
	    "PRIMARY KEY, node TEXT NOT NULL, boot INTEGER NOT NULL, seq "
	    "INTEGER, kind INTEGER NOT NULL, prio INTEGER NOT NULL, rx_ms "
	    "INTEGER NOT NULL, ts_ms INTEGER NOT NULL, body BLOB NOT NULL, "
	    "UNIQUE (node, boot, seq, kind)); CREATE TABLE outbox (id INTEGER "
	    "PRIMARY KEY, prio INTEGER NOT NULL, created_ms INTEGER NOT NULL, "
	    "retain INTEGER NOT NULL DEFAULT 0, topic TEXT NOT NULL, payload "
	    "BLOB NOT NULL); INSERT INTO msg VALUES (7, 'n1', 1, 1, 1, 2, 1, 0, "
	    "'x'); PRAGMA user_version = 1;");
	start();
	turn();
	ck_assert_int_eq(count_sql("PRAGMA user_version"), 4);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 1);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND tbl_name = 'msg'"), 0);
	/* Old messages are behind the cursor: never summarized late. */
	ck_assert_int_eq(count_sql("SELECT val FROM state WHERE key = "
	    "'msg_cursor'"), 7);
	ck_assert_int_eq(store_msg_cursor(), 7);
	/* The old row is known (read back: no snapshot yet). */
	ck_assert_int_eq(put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	/* New ids continue after the old ones. */
	store_add_message_hook(hook_cb, NULL);
	nhook = 0;
	put_msg("n1", 1, 2, STORE_KIND_INFERENCE, 10);
	flush();
	ck_assert_int_eq(hook_ids[0], 8);
	store_remove_message_hook(hook_cb);
	stop();
	teardown();
}
END_TEST

START_TEST(test_migration_v3)
{
	setup_with("");
	/* A version 3 file: the unique index, state and aside tables. */
	exec_sql("CREATE TABLE msg (id INTEGER "
	    "PRIMARY KEY, node TEXT NOT NULL, boot INTEGER NOT NULL, seq "
	    "INTEGER, kind INTEGER NOT NULL, prio INTEGER NOT NULL, rx_ms "
	    "INTEGER NOT NULL, ts_ms INTEGER NOT NULL, body BLOB NOT NULL, "
	    "UNIQUE (node, boot, seq, kind)); CREATE TABLE outbox (id INTEGER "
	    "PRIMARY KEY, prio INTEGER NOT NULL, created_ms INTEGER NOT NULL, "
	    "retain INTEGER NOT NULL DEFAULT 0, topic TEXT NOT NULL, payload "
	    "BLOB NOT NULL); CREATE TABLE state (key TEXT PRIMARY KEY, val "
	    "BLOB NOT NULL) WITHOUT ROWID; CREATE TABLE aside (id INTEGER "
	    "PRIMARY KEY, created_ms INTEGER NOT NULL, aside_ms INTEGER NOT "
	    "NULL, retain INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB "
	    "NOT NULL, reason TEXT NOT NULL); INSERT INTO msg VALUES "
	    "(3, 'n1', 1, 1, 1, 2, 1, 0, 'x'), (4, 'n1', 1, 2, 1, 2, 1, 0, 'y'),"
	    "(5, 'n2', 1, NULL, 3, 2, 1, 0, 'z'); INSERT INTO state VALUES "
	    "('msg_cursor', 4), ('ev/x', 'keep'); INSERT INTO outbox VALUES "
	    "(9, 4, 1, 0, 'events/n1', 'ev'); PRAGMA user_version = 3;");
	ck_assert_int_eq(count_sql("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND tbl_name = 'msg'"), 1);
	start();
	turn();
	ck_assert_int_eq(count_sql("PRAGMA user_version"), 4);
	/* The unique index is gone, rows, ids and records are kept. */
	ck_assert_int_eq(count_sql("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND tbl_name = 'msg'"), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 3);
	ck_assert_int_eq(count_sql("SELECT sum(id) FROM msg"), 12);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg WHERE seq IS "
	    "NULL"), 1);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM state"), 2);
	ck_assert_int_eq(store_msg_cursor(), 4);
	ck_assert_int_eq(store_outbox_last_id(), 9);
	/* Repeats of the old rows are still recognized, in memory. */
	ck_assert_int_eq(put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	ck_assert_int_eq(put_msg("n1", 1, 2, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	ck_assert_int_eq(put_msg("n1", 1, 3, STORE_KIND_INFERENCE, 10),
	    STORE_OK);
	flush();
	ck_assert_int_eq(count_sql("SELECT max(id) FROM msg"), 6);
	stop();
	/* Without the index, the table takes a second copy if told to. */
	exec_sql("INSERT INTO msg(node, boot, seq, kind, prio, rx_ms, ts_ms, "
	    "body) VALUES ('n1', 1, 1, 1, 2, 1, 0, 'x')");
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg WHERE seq = 1 "
	    "AND node = 'n1'"), 2);
	teardown();
}
END_TEST

START_TEST(test_max_age)
{
	char			 sql[512];
	struct store_stats	 ss;
	int64_t			 old = (int64_t)daemon_now_ms() - 2 * 86400000LL;
	int			 i;

	setup_with("max_age = 1d");
	start();
	for (i = 0; i < 5; i++)
		put_row(STORE_CLASS_EVENT, "new", 10);
	put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10);
	flush();
	stop();
	/* Rows two days old, as if the gateway had been off. */
	snprintf(sql, sizeof sql, "INSERT INTO outbox(id, prio, created_ms, "
	    "topic, payload) VALUES (0, 4, %" PRId64 ", 't', 'old'), (-1, 3, "
	    "%" PRId64 ", 't', 'old'); INSERT INTO msg(node, boot, seq, kind, "
	    "prio, rx_ms, ts_ms, body) VALUES ('n1', 1, 0, 1, 2, %" PRId64
	    ", 0, 'old')", old, old, old);
	exec_sql(sql);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	store_check(0);
	flush();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) = 'old'"), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 5);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 1);
	store_stats(&ss);
	/* The old message was not summarized (cursor 0): a drop too. */
	ck_assert_uint_eq(ss.dropped, 3);
	ck_assert_uint_eq(ss.queued, 5);
	/* Six rows of 10 bytes, each plus 64. */
	ck_assert_uint_eq(ss.bytes, 6 * (10 + 64));
	stop();
	teardown();
}
END_TEST

START_TEST(test_raw_retention)
{
	int	i;

	setup_with("raw_retention = 1h");
	start();
	for (i = 1; i <= 4; i++)
		put_msg("n1", 1, i, STORE_KIND_INFERENCE, 10);
	flush();
	ck_assert_int_eq(store_msg_consume(3), 0);
	flush();
	/* Kept: younger than raw_retention. */
	store_check(0);
	flush();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 4);
	stop();
	/* Age every row by two hours; only consumed ones may go. */
	exec_sql("UPDATE msg SET rx_ms = rx_ms - 7200000");
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	store_check(0);
	flush();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 1);
	ck_assert_int_eq(count_sql("SELECT seq FROM msg"), 4);
	stop();
	teardown();
}
END_TEST

/* The suite. */
static Suite *
schema_suite(void)
{
	Suite	*s = suite_create("store_schema");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_migration);
	tcase_add_test(tc, test_migration_v1);
	tcase_add_test(tc, test_migration_v3);
	tcase_add_test(tc, test_max_age);
	tcase_add_test(tc, test_raw_retention);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return (s);
}

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	SRunner	*sr = srunner_create(schema_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
