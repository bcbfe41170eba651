/*
 * test_store_schema.c - unit tests of the store's schema steps
 * (store_db.c) against a temp directory: an empty file gets version 4,
 * files of versions 1 and 3 are migrated in place (rows, ids, state
 * records and the summary cursor kept; the unique index of version 3
 * dropped, repeats recognized in memory instead), a current file reopens
 * unchanged and a newer one is refused and left alone; and pruning by
 * time, with rows aged in the file between two runs: max_age at start,
 * raw_retention of summarized rows only.  Split from test_store.c; the
 * helpers both use are in store_fixture.c.
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
#include "store_fixture.h"
#include "testutil.h"

/* The msg and outbox tables as the first release made them (version 1). */
#define V1_TABLES \
	"CREATE TABLE msg (id INTEGER PRIMARY KEY, node TEXT NOT NULL, " \
	"boot INTEGER NOT NULL, seq INTEGER, kind INTEGER NOT NULL, " \
	"prio INTEGER NOT NULL, rx_ms INTEGER NOT NULL, ts_ms INTEGER " \
	"NOT NULL, body BLOB NOT NULL, UNIQUE (node, boot, seq, " \
	"kind)); CREATE TABLE outbox (id INTEGER PRIMARY KEY, prio " \
	"INTEGER NOT NULL, created_ms INTEGER NOT NULL, retain INTEGER " \
	"NOT NULL DEFAULT 0, topic TEXT NOT NULL, payload BLOB NOT " \
	"NULL); "

START_TEST(test_migration)
{
	char		 path[128], *cause = NULL;
	sqlite3		*db;

	fx_setup("");
	/* An empty file (version 0) gets the current schema. */
	snprintf(path, sizeof path, "%s/tinyedge.db", fx_dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_close(db);
	fx_start();
	ck_assert_int_eq(fx_count_sql("PRAGMA user_version"), 5);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND tbl_name = 'msg'"), 0);
	fx_put_row(STORE_CLASS_EVENT, "e", 20);
	fx_flush();
	fx_stop();
	/* Reopening a current file keeps its rows. */
	fx_start_fresh();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 1);
	fx_stop();
	/* A newer schema is refused with a reason, and left alone. */
	fx_exec_sql("PRAGMA user_version = 9");
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	ck_assert_int_eq(store_start(fx_cf, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "schema version 9 is newer"));
	free(cause);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(fx_count_sql("PRAGMA user_version"), 9);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
	fx_teardown();
}
END_TEST

START_TEST(test_migration_v1)
{
	fx_setup("");
	/* A file as the first release left it, with one message. */
	fx_exec_sql(V1_TABLES "INSERT INTO msg VALUES (7, 'n1', 1, 1, 1, 2, "
	    "1, 0, 'x'); PRAGMA user_version = 1;");
	fx_start();
	fx_turn();
	ck_assert_int_eq(fx_count_sql("PRAGMA user_version"), 5);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 1);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND tbl_name = 'msg'"), 0);
	/* Old messages are behind the cursor: never summarized late. */
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'msg_cursor'"), 7);
	ck_assert_int_eq(store_msg_cursor(), 7);
	/* The old row is known (read back: no snapshot yet). */
	ck_assert_int_eq(fx_put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	/* New ids continue after the old ones. */
	store_add_message_hook(fx_hook_cb, NULL);
	fx_nhook = 0;
	fx_put_msg("n1", 1, 2, STORE_KIND_INFERENCE, 10);
	fx_flush();
	ck_assert_int_eq(fx_hook_ids[0], 8);
	store_remove_message_hook(fx_hook_cb);
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_migration_v3)
{
	fx_setup("");
	/* A version 3 file: the unique index, state and aside tables. */
	fx_exec_sql(V1_TABLES "CREATE TABLE state (key TEXT PRIMARY KEY, val "
	    "BLOB NOT NULL) WITHOUT ROWID; CREATE TABLE aside (id INTEGER "
	    "PRIMARY KEY, created_ms INTEGER NOT NULL, aside_ms INTEGER NOT "
	    "NULL, retain INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB "
	    "NOT NULL, reason TEXT NOT NULL); INSERT INTO msg VALUES "
	    "(3, 'n1', 1, 1, 1, 2, 1, 0, 'x'), (4, 'n1', 1, 2, 1, 2, 1, 0, "
	    "'y'), "
	    "(5, 'n2', 1, NULL, 3, 2, 1, 0, 'z'); INSERT INTO state VALUES "
	    "('msg_cursor', 4), ('ev/x', 'keep'); INSERT INTO outbox VALUES "
	    "(9, 4, 1, 0, 'events/n1', 'ev'); PRAGMA user_version = 3;");
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND tbl_name = 'msg'"), 1);
	fx_start();
	fx_turn();
	ck_assert_int_eq(fx_count_sql("PRAGMA user_version"), 5);
	/* The unique index is gone, rows, ids and records are kept. */
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND tbl_name = 'msg'"), 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 3);
	ck_assert_int_eq(fx_count_sql("SELECT sum(id) FROM msg"), 12);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE seq IS "
	    "NULL"), 1);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state"), 2);
	ck_assert_int_eq(store_msg_cursor(), 4);
	ck_assert_int_eq(store_outbox_last_id(), 9);
	/* Repeats of the old rows are still recognized, in memory. */
	ck_assert_int_eq(fx_put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	ck_assert_int_eq(fx_put_msg("n1", 1, 2, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	ck_assert_int_eq(fx_put_msg("n1", 1, 3, STORE_KIND_INFERENCE, 10),
	    STORE_OK);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT max(id) FROM msg"), 6);
	fx_stop();
	/* Without the index, the table takes a second copy if told to. */
	fx_exec_sql("INSERT INTO msg(node, boot, seq, kind, prio, rx_ms, "
	    "ts_ms, body) VALUES ('n1', 1, 1, 1, 2, 1, 0, 'x')");
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE seq = 1 "
	    "AND node = 'n1'"), 2);
	fx_teardown();
}
END_TEST

START_TEST(test_max_age)
{
	char			 sql[512];
	struct store_stats	 ss;
	int64_t			 old = (int64_t)daemon_now_ms() - 2 * 86400000LL;
	int			 i;

	fx_setup("max_age = 1d");
	fx_start();
	for (i = 0; i < 5; i++)
		fx_put_row(STORE_CLASS_EVENT, "new", 10);
	fx_put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10);
	fx_flush();
	fx_stop();
	/* Rows two days old, as if the gateway had been off. */
	snprintf(sql, sizeof sql, "INSERT INTO outbox(id, prio, created_ms, "
	    "topic, payload) VALUES (0, 4, %" PRId64 ", 't', 'old'), (-1, 3, "
	    "%" PRId64 ", 't', 'old'); INSERT INTO msg(node, boot, seq, kind, "
	    "prio, rx_ms, ts_ms, body) VALUES ('n1', 1, 0, 1, 2, %" PRId64
	    ", 0, 'old')", old, old, old);
	fx_exec_sql(sql);
	fx_start_fresh();
	store_check(0);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) = 'old'"), 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 5);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 1);
	store_stats(&ss);
	/* The old message was not summarized (cursor 0): a drop too. */
	ck_assert_uint_eq(ss.dropped, 3);
	ck_assert_uint_eq(ss.queued, 5);
	/* Six rows of 10 bytes, each plus 64. */
	ck_assert_uint_eq(ss.bytes, 6 * (10 + 64));
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_raw_retention)
{
	int	i;

	fx_setup("raw_retention = 1h");
	fx_start();
	for (i = 1; i <= 4; i++)
		fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE, 10);
	fx_flush();
	ck_assert_int_eq(store_msg_consume(3), 0);
	fx_flush();
	/* Kept: younger than raw_retention. */
	store_check(0);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 4);
	fx_stop();
	/* Age every row by two hours; only consumed ones may go. */
	fx_exec_sql("UPDATE msg SET rx_ms = rx_ms - 7200000");
	fx_start_fresh();
	store_check(0);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 1);
	ck_assert_int_eq(fx_count_sql("SELECT seq FROM msg"), 4);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_migration, 0 },
		{ test_migration_v1, 0 },
		{ test_migration_v3, 0 },
		{ test_max_age, 0 },
		{ test_raw_retention, 0 },
	};

	return (testutil_run("store_schema", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
