/*
 * test_store.c - unit tests of the store against a temp directory: group
 * commit (callbacks only after the commit, in put order, one transaction
 * per loop turn), duplicates, the outbox cursor API, eviction order and
 * byte accounting under max_bytes, max_age pruning at start, schema
 * migration and reopening, and refusing (then recovering) when writes
 * fail; state records, message hooks, the summary cursor, message ids
 * never reused, and raw_retention.
 */
#include <sys/resource.h>

#include <check.h>
#include <inttypes.h>
#include <signal.h>
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

/* Make a temp dir and a config with the given [store] lines. */
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
	fprintf(f, "[gateway]\nid = gw-unit\ndata_dir = %s\n[store]\n%s\n",
	    dir, store_lines);
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

/* Run one loop turn (the group commit happens at its end). */
static void
turn(void)
{
	uv_run(daemon_loop(), UV_RUN_NOWAIT);
}

START_TEST(test_group_commit)
{
	int	i;

	setup_with("");
	start();
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(put_msg("n1", 1, i, STORE_KIND_INFERENCE,
		    50), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(put_row(STORE_CLASS_EVENT, "e", 80), 0);
	/* Nothing is acknowledged (or visible elsewhere) before the commit. */
	ck_assert_int_eq(ncb, 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 0);
	turn();
	ck_assert_int_eq(ncb, 15);
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(results[i], STORE_OK);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 10);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 5);
	/* An idle turn commits nothing and calls nothing. */
	turn();
	ck_assert_int_eq(ncb, 15);
	stop();
	teardown();
}
END_TEST

START_TEST(test_duplicates)
{
	struct store_stats	ss;

	setup_with("");
	start();
	put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10);
	put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10);	/* same turn */
	turn();
	put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10);	/* later turn */
	put_msg("n1", 7, 42, STORE_KIND_WINDOW, 10);	/* other kind */
	put_msg("n1", 8, 42, STORE_KIND_INFERENCE, 10);	/* node rebooted */
	put_msg("n2", 7, 42, STORE_KIND_INFERENCE, 10);	/* other node */
	put_msg("n1", 7, -1, STORE_KIND_HEARTBEAT, 10);	/* no seq: never */
	put_msg("n1", 7, -1, STORE_KIND_HEARTBEAT, 10);
	turn();
	ck_assert_int_eq(ncb, 8);
	ck_assert_int_eq(results[0], STORE_OK);
	ck_assert_int_eq(results[1], STORE_DUPLICATE);
	ck_assert_int_eq(results[2], STORE_DUPLICATE);
	ck_assert_int_eq(results[3], STORE_OK);
	ck_assert_int_eq(results[4], STORE_OK);
	ck_assert_int_eq(results[5], STORE_OK);
	ck_assert_int_eq(results[6], STORE_OK);
	ck_assert_int_eq(results[7], STORE_OK);
	store_stats(&ss);
	ck_assert_uint_eq(ss.messages, 6);
	ck_assert_uint_eq(ss.bytes, 60);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 6);
	stop();
	teardown();
}
END_TEST

/* Fetch callback: remember ids. */
static void
fetch_cb(const struct store_row *r, void *arg)
{
	int64_t	*ids = arg;

	ids[++ids[0]] = r->id;
	ck_assert_str_eq(r->topic, "t/x");
	ck_assert_uint_eq(r->len, 20);
}

START_TEST(test_outbox_cursor)
{
	int64_t			ids[64];
	struct store_stats	ss;
	int			i;

	setup_with("");
	start();
	for (i = 0; i < 10; i++)
		put_row(STORE_CLASS_EVENT, "e", 20);
	turn();
	ck_assert_int_eq(store_outbox_last_id(), 10);
	ids[0] = 0;
	ck_assert_uint_eq(store_outbox_fetch(0, 10, 4, fetch_cb, ids), 4);
	ck_assert_int_eq(ids[1], 1);
	ck_assert_int_eq(ids[4], 4);
	ids[0] = 0;
	ck_assert_uint_eq(store_outbox_fetch(8, 100, 10, fetch_cb, ids), 2);
	ck_assert_int_eq(ids[1], 9);
	store_outbox_delete(1, 3);
	for (i = 4; i <= 10; i++)
		store_outbox_delete(i, i);
	turn();
	store_stats(&ss);
	ck_assert_uint_eq(ss.queued, 0);
	ck_assert_uint_eq(ss.bytes, 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 0);
	stop();
	/* Ids continue from the newest row after a restart. */
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	put_row(STORE_CLASS_EVENT, "e", 20);
	put_row(STORE_CLASS_EVENT, "e", 20);
	turn();
	ck_assert_int_eq(store_outbox_last_id(), 2);
	store_outbox_delete(2, 2);
	turn();
	/* ...and never go back while running, even when the newest is gone. */
	put_row(STORE_CLASS_EVENT, "e", 20);
	turn();
	ck_assert_int_eq(store_outbox_last_id(), 3);
	stop();
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	ck_assert_int_eq(store_outbox_last_id(), 3);
	stop();
	teardown();
}
END_TEST

START_TEST(test_eviction_order)
{
	struct store_stats	ss;
	int			i;

	/* Cap 64 KB; rows of 1000 bytes. */
	setup_with("max_bytes = 64K");
	start();
	for (i = 0; i < 20; i++)
		put_row(STORE_CLASS_EVENT, "event", 1000);
	for (i = 0; i < 15; i++)
		put_row(STORE_CLASS_SUMMARY, "summary", 1000);
	for (i = 0; i < 10; i++)
		put_msg("n1", 1, i, STORE_KIND_INFERENCE, 1000);
	for (i = 0; i < 15; i++)
		put_row(STORE_CLASS_WINDOW, "window", 1000);
	turn();
	/* 60 KB: under the cap, nothing dropped. */
	store_stats(&ss);
	ck_assert_uint_eq(ss.dropped, 0);
	ck_assert_uint_eq(ss.bytes, 60000);
	/* 10 KB more: windows go first, oldest first, down to 90%. */
	for (i = 0; i < 10; i++)
		put_row(STORE_CLASS_EVENT, "event", 1000);
	turn();
	store_stats(&ss);
	ck_assert_uint_le(ss.bytes, 65536);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'event%'"), 30);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'summary%'"), 15);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 10);
	ck_assert_int_lt(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'window%'"), 15);
	/* The oldest windows went: the survivors are the newest ids. */
	ck_assert_int_eq(count_sql("SELECT min(id) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'window%'"), 36 + (15 -
	    count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'window%'")));
	/* 30 KB more events: windows, then raw messages, then summaries. */
	for (i = 0; i < 30; i++)
		put_row(STORE_CLASS_EVENT, "event", 1000);
	turn();
	store_stats(&ss);
	ck_assert_uint_le(ss.bytes, 65536);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'window%'"), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 0);
	ck_assert_int_lt(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'summary%'"), 15);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'event%'"), 60);
	/* Dropped counts outbox rows (raw messages are pruned, not sent). */
	ck_assert_uint_eq(ss.dropped, 15 + 15 - (uint64_t)count_sql(
	    "SELECT count(*) FROM outbox WHERE payload LIKE 'summary%'"));
	/* The byte count agrees with the file after a reopen. */
	stop();
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	store_stats(&ss);
	ck_assert_uint_eq(ss.bytes, (uint64_t)count_sql("SELECT "
	    "sum(length(payload)) FROM outbox"));
	stop();
	teardown();
}
END_TEST

START_TEST(test_evict_consumed_first)
{
	int	i;

	/* Cap 64 KB; 30 consumed raw rows, then windows past the cap. */
	setup_with("max_bytes = 64K\nraw_retention = 1d");
	start();
	for (i = 0; i < 40; i++)
		put_msg("n1", 1, i, STORE_KIND_INFERENCE, 1000);
	turn();
	ck_assert_int_eq(store_msg_consume(30), 0);
	turn();
	for (i = 0; i < 30; i++)
		put_row(STORE_CLASS_WINDOW, "window", 1000);
	turn();
	/* Local copies already summarized went; nothing to publish did. */
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 30);
	ck_assert_int_lt(count_sql("SELECT count(*) FROM msg"), 40);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg WHERE id > 30"),
	    10);
	stop();
	teardown();
}
END_TEST

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
	ck_assert_int_eq(count_sql("PRAGMA user_version"), 3);
	put_row(STORE_CLASS_EVENT, "e", 20);
	turn();
	stop();
	/* Reopening a current file keeps its rows. */
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 1);
	stop();
	/* A newer schema is refused with a reason, and left alone. */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 9", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	ck_assert_int_eq(store_start(cf, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "schema version 9 is newer"));
	free(cause);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
	teardown();
}
END_TEST

START_TEST(test_max_age)
{
	char			 path[128], sql[512];
	struct store_stats	 ss;
	sqlite3			*db;
	int64_t			 old = (int64_t)daemon_now_ms() - 2 * 86400000LL;
	int			 i;

	setup_with("max_age = 1d");
	start();
	for (i = 0; i < 5; i++)
		put_row(STORE_CLASS_EVENT, "new", 10);
	put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 10);
	turn();
	stop();
	/* Rows two days old, as if the gateway had been off. */
	snprintf(path, sizeof path, "%s/tinyedge.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "INSERT INTO outbox(id, prio, created_ms, "
	    "topic, payload) VALUES (0, 4, %" PRId64 ", 't', 'old'), (-1, 3, "
	    "%" PRId64 ", 't', 'old'); INSERT INTO msg(node, boot, seq, kind, "
	    "prio, rx_ms, ts_ms, body) VALUES ('n1', 1, 0, 1, 2, %" PRId64
	    ", 0, 'old')", old, old, old);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	store_check(0);
	turn();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) = 'old'"), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM outbox"), 5);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 1);
	store_stats(&ss);
	ck_assert_uint_eq(ss.dropped, 2);
	ck_assert_uint_eq(ss.queued, 5);
	ck_assert_uint_eq(ss.bytes, 60);
	stop();
	teardown();
}
END_TEST

START_TEST(test_refuse_and_recover)
{
	struct rlimit	rl, old;
	int		i, rc;

	setup_with("");
	start();
	put_row(STORE_CLASS_EVENT, "e", 100);
	turn();
	ck_assert_int_eq(store_accepting(), 1);
	/* Writes past the file size limit fail like a full disk. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 8192;
	setrlimit(RLIMIT_FSIZE, &rl);
	ncb = 0;
	rc = 0;
	for (i = 0; i < 200 && rc == 0; i++) {
		rc = put_row(STORE_CLASS_EVENT, "e", 3000);
		if (i % 10 == 9)
			turn();
	}
	turn();
	ck_assert_int_eq(store_accepting(), 0);
	ck_assert_int_eq(put_row(STORE_CLASS_EVENT, "e", 10), -1);
	/* Every callback that came was REFUSED or OK, never lost. */
	for (i = 0; i < ncb; i++)
		ck_assert(results[i] == STORE_OK || results[i] ==
		    STORE_REFUSED);
	setrlimit(RLIMIT_FSIZE, &old);
	/* The housekeeping check re-probes after a few seconds. */
	for (i = 0; i < 70 && !store_accepting(); i++) {
		store_check(0);
		usleep(100000);
	}
	ck_assert_int_eq(store_accepting(), 1);
	ck_assert_int_eq(put_row(STORE_CLASS_EVENT, "e", 10), 0);
	turn();
	ck_assert_int_eq(results[ncb - 1], STORE_OK);
	stop();
	teardown();
}
END_TEST

static int64_t	hook_ids[64];
static int	nhook;
static int	nstate;
static char	last_val[64];

/* Message hook: remember the ids of new messages. */
static void
hook_cb(const struct store_msg *m, int64_t id, void *arg)
{
	(void)m;
	(void)arg;
	hook_ids[nhook++] = id;
}

/* State scan: count records and remember the last value. */
static void
state_cb(const char *key, const void *val, size_t len, void *arg)
{
	(void)key;
	(void)arg;
	nstate++;
	snprintf(last_val, sizeof last_val, "%.*s", (int)len,
	    (const char *)val);
}

START_TEST(test_state_records)
{
	setup_with("");
	start();
	ck_assert_int_eq(store_state_set("ev/a/1/yes", "one", 3), 0);
	ck_assert_int_eq(store_state_set("ev/b/1/no", "two", 3), 0);
	ck_assert_int_eq(store_state_set("other", "x", 1), 0);
	/* Not visible to another connection before the commit. */
	ck_assert_int_eq(count_sql("SELECT count(*) FROM state"), 0);
	turn();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM state"), 3);
	ck_assert_int_eq(store_state_set("ev/a/1/yes", "three", 5), 0);
	ck_assert_int_eq(store_state_delete("ev/b/1/no"), 0);
	turn();
	nstate = 0;
	ck_assert_int_eq(store_state_scan("ev/", state_cb, NULL), 0);
	ck_assert_int_eq(nstate, 1);
	ck_assert_str_eq(last_val, "three");
	stop();
	/* Records survive a restart. */
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	nstate = 0;
	ck_assert_int_eq(store_state_scan("", state_cb, NULL), 0);
	ck_assert_int_eq(nstate, 2);
	stop();
	teardown();
}
END_TEST

START_TEST(test_cursor_ids)
{
	int	i;

	setup_with("raw_retention = 0");
	start();
	store_add_message_hook(hook_cb, NULL);
	nhook = 0;
	for (i = 1; i <= 5; i++)
		put_msg("n1", 1, i, STORE_KIND_INFERENCE, 10);
	put_msg("n1", 1, 5, STORE_KIND_INFERENCE, 10);	/* duplicate */
	turn();
	ck_assert_int_eq(nhook, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(hook_ids[i], i + 1);
	/* raw_retention = 0: consumed rows go in the same transaction. */
	ck_assert_int_eq(store_msg_consume(3), 0);
	ck_assert_int_eq(store_msg_consume(2), 0);	/* never back */
	turn();
	ck_assert_int_eq(store_msg_cursor(), 3);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 2);
	store_remove_message_hook(hook_cb);
	stop();
	/* After a restart, the rows after the cursor are replayed. */
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	ck_assert_int_eq(store_msg_cursor(), 3);
	nhook = 0;
	ck_assert_int_eq(store_msg_scan(store_msg_cursor(), hook_cb, NULL),
	    0);
	ck_assert_int_eq(nhook, 2);
	ck_assert_int_eq(hook_ids[0], 4);
	ck_assert_int_eq(hook_ids[1], 5);
	/* Consume all: the table is empty, yet ids are never reused. */
	ck_assert_int_eq(store_msg_consume(5), 0);
	turn();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 0);
	stop();
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	store_add_message_hook(hook_cb, NULL);
	nhook = 0;
	put_msg("n1", 2, 1, STORE_KIND_INFERENCE, 10);
	turn();
	ck_assert_int_eq(nhook, 1);
	ck_assert_int_eq(hook_ids[0], 6);
	store_remove_message_hook(hook_cb);
	stop();
	teardown();
}
END_TEST

START_TEST(test_raw_retention)
{
	char	sql[256], path[128];
	sqlite3	*db;
	int	i;

	setup_with("raw_retention = 1h");
	start();
	for (i = 1; i <= 4; i++)
		put_msg("n1", 1, i, STORE_KIND_INFERENCE, 10);
	turn();
	ck_assert_int_eq(store_msg_consume(3), 0);
	turn();
	/* Kept: younger than raw_retention. */
	store_check(0);
	turn();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 4);
	stop();
	/* Age every row by two hours; only consumed ones may go. */
	snprintf(path, sizeof path, "%s/tinyedge.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "UPDATE msg SET rx_ms = rx_ms - 7200000");
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	start();
	store_check(0);
	turn();
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 1);
	ck_assert_int_eq(count_sql("SELECT seq FROM msg"), 4);
	stop();
	teardown();
}
END_TEST

START_TEST(test_migration_v1)
{
	char	 path[128];
	sqlite3	*db;

	setup_with("");
	snprintf(path, sizeof path, "%s/tinyedge.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	/* A file as the first release left it, with one message. */
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE msg (id INTEGER "
	    "PRIMARY KEY, node TEXT NOT NULL, boot INTEGER NOT NULL, seq "
	    "INTEGER, kind INTEGER NOT NULL, prio INTEGER NOT NULL, rx_ms "
	    "INTEGER NOT NULL, ts_ms INTEGER NOT NULL, body BLOB NOT NULL, "
	    "UNIQUE (node, boot, seq, kind)); CREATE TABLE outbox (id INTEGER "
	    "PRIMARY KEY, prio INTEGER NOT NULL, created_ms INTEGER NOT NULL, "
	    "retain INTEGER NOT NULL DEFAULT 0, topic TEXT NOT NULL, payload "
	    "BLOB NOT NULL); INSERT INTO msg VALUES (7, 'n1', 1, 1, 1, 2, 1, 0, "
	    "'x'); PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	start();
	ck_assert_int_eq(count_sql("PRAGMA user_version"), 3);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM msg"), 1);
	/* Old messages are behind the cursor: never summarized late. */
	ck_assert_int_eq(count_sql("SELECT val FROM state WHERE key = "
	    "'msg_cursor'"), 7);
	ck_assert_int_eq(store_msg_cursor(), 7);
	/* New ids continue after the old ones. */
	store_add_message_hook(hook_cb, NULL);
	nhook = 0;
	put_msg("n1", 1, 2, STORE_KIND_INFERENCE, 10);
	turn();
	ck_assert_int_eq(hook_ids[0], 8);
	store_remove_message_hook(hook_cb);
	stop();
	teardown();
}
END_TEST

/* The suite. */
static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_outbox_cursor);
	tcase_add_test(tc, test_eviction_order);
	tcase_add_test(tc, test_evict_consumed_first);
	tcase_add_test(tc, test_migration);
	tcase_add_test(tc, test_max_age);
	tcase_add_test(tc, test_refuse_and_recover);
	tcase_add_test(tc, test_state_records);
	tcase_add_test(tc, test_cursor_ids);
	tcase_add_test(tc, test_raw_retention);
	tcase_add_test(tc, test_migration_v1);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return (s);
}

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	SRunner	*sr = srunner_create(store_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
