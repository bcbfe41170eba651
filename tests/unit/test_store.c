/*
 * test_store.c - unit tests of the store against a temp directory: group
 * commit (a put answers at once from the journal; rows reach SQLite, and
 * outbox callbacks run, only at store_flush(), the commit timer or after
 * STORE_COMMIT_ROWS rows), duplicates (same transaction, after the commit,
 * after a restart from the snapshot, the rows after its mark and the
 * journal, and with a damaged snapshot), the outbox cursor API, eviction
 * order and byte accounting under max_bytes (each row costs its body plus
 * 64 bytes), and SQLite refusing writes
 * (readings go on into the journal, then are replayed); state records,
 * message hooks, the summary cursor and message ids never reused.  The
 * journal is tested in test_journal.c; schema migrations, max_age and
 * raw_retention (the file is edited between runs) in test_store_schema.c.
 */
#include <sys/resource.h>
#include <sys/wait.h>

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
#include "store_fixture.h"
#include "testutil.h"


START_TEST(test_group_commit)
{
	struct store_stats	ss;
	int			i;

	fx_setup("");
	fx_start();
	/* A put is answered at once: the journal holds it already. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE,
		    50), STORE_OK);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(fx_put_row(STORE_CLASS_EVENT, "e", 80), 0);
	/* Rows are in the open transaction: not visible elsewhere yet. */
	fx_turn();
	ck_assert_int_eq(fx_ncb, 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 0);
	store_stats(&ss);
	ck_assert_uint_eq(ss.commits, 0);
	ck_assert_uint_eq(ss.messages, 10);
	/* One commit for all; only the outbox rows had callbacks. */
	store_flush();
	ck_assert_int_eq(fx_ncb, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(fx_results[i], STORE_OK);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 10);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 5);
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'journal'"), 10);
	store_stats(&ss);
	ck_assert_uint_eq(ss.commits, 1);
	/* Nothing open: a flush or an idle turn commits and calls nothing. */
	store_flush();
	fx_turn();
	ck_assert_int_eq(fx_ncb, 5);
	store_stats(&ss);
	ck_assert_uint_eq(ss.commits, 1);
	/* STORE_COMMIT_ROWS (4096) rows commit on the next turn. */
	for (i = 0; i < 4096; i++)
		ck_assert_int_eq(fx_put_msg("n2", 1, i, STORE_KIND_INFERENCE,
		    4), STORE_OK);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 10);
	fx_turn();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 4106);
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_commit_timer)
{
	struct store_stats	ss;
	uint64_t		t0;
	int			i;

	fx_setup("commit_interval = 50ms");
	fx_start();
	uv_update_time(daemon_loop());
	t0 = daemon_now_ms();
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE,
		    50), STORE_OK);
	fx_put_row(STORE_CLASS_EVENT, "e", 80);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 0);
	/* The timer commits without a flush (bounded: 5 s). */
	for (i = 0; i < 500 && fx_count_sql("SELECT count(*) FROM msg") == 0;
	    i++) {
		usleep(10000);
		fx_turn();
	}
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 10);
	ck_assert_uint_ge(daemon_now_ms() - t0, 40);
	ck_assert_int_eq(fx_ncb, 1);
	store_stats(&ss);
	ck_assert_uint_eq(ss.commits, 1);
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_duplicates)
{
	struct store_stats	ss;

	fx_setup("");
	fx_start();
	ck_assert_int_eq(fx_put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10),
	    STORE_OK);
	/* In the same (open) transaction. */
	ck_assert_int_eq(fx_put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	fx_flush();
	/* After the commit; the other four are new readings. */
	ck_assert_int_eq(fx_put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	ck_assert_int_eq(fx_put_msg("n1", 7, 42, STORE_KIND_WINDOW, 10),
	    STORE_OK);				/* other kind */
	ck_assert_int_eq(fx_put_msg("n1", 8, 42, STORE_KIND_INFERENCE, 10),
	    STORE_OK);				/* node rebooted */
	ck_assert_int_eq(fx_put_msg("n2", 7, 42, STORE_KIND_INFERENCE, 10),
	    STORE_OK);				/* other node */
	/* No seq, or the gateway's own results: never duplicates. */
	ck_assert_int_eq(fx_put_msg("n1", 7, -1, STORE_KIND_HEARTBEAT, 10),
	    STORE_OK);
	ck_assert_int_eq(fx_put_msg("n1", 7, -1, STORE_KIND_HEARTBEAT, 10),
	    STORE_OK);
	ck_assert_int_eq(fx_put_msg("gw", 7, 5, STORE_KIND_TIER2, 10),
	    STORE_OK);
	ck_assert_int_eq(fx_put_msg("gw", 7, 5, STORE_KIND_TIER2, 10),
	    STORE_OK);
	/* The previous boot is still known after a reboot. */
	ck_assert_int_eq(fx_put_msg("n1", 7, 42, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	fx_flush();
	ck_assert_int_eq(fx_ncb, 0);
	store_stats(&ss);
	ck_assert_uint_eq(ss.duplicates, 3);
	ck_assert_uint_eq(ss.messages, 8);
	/* Each row costs its body and STORE_ROW_OVERHEAD (64). */
	ck_assert_uint_eq(ss.bytes, 8 * (10 + 64));
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 8);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE node = "
	    "'n1' AND boot = 7 AND seq = 42 AND kind = 1"), 1);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Put seqs [lo, hi] of n1, boot 1, and check each returns want. */
static void
put_range(int64_t lo, int64_t hi, enum store_result want)
{
	int64_t	seq;

	for (seq = lo; seq <= hi; seq++)
		ck_assert_int_eq(fx_put_msg("n1", 1, seq, STORE_KIND_INFERENCE,
		    10), want);
}

START_TEST(test_duplicates_restart)
{
	pid_t	pid;
	int	status;

	fx_setup("");
	fx_start();
	put_range(1, 3, STORE_OK);
	/* store_stop() saves the snapshot, marked at message 3. */
	fx_stop();
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'dedup_mark'"), 3);
	/*
	 * A child stores 4..5 and commits them (rows after the mark), then
	 * journals 6..7 only, and dies without stopping the store.
	 */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (uv_loop_init(daemon_loop()) != 0)
			_exit(2);
		fx_start();
		put_range(4, 5, STORE_OK);
		store_flush();
		put_range(6, 7, STORE_OK);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 5);
	/* Before the replay turn: snapshot, rows and journal all count. */
	fx_start_fresh();
	put_range(1, 7, STORE_DUPLICATE);
	/*
	 * New readings only after the replay turn: before it no journal
	 * segment is released (store_start() releases only when nothing is
	 * to be replayed), so with both segments holding records a new one
	 * would be refused until a spare is made (reported to the lead).
	 */
	fx_turn();
	put_range(8, 8, STORE_OK);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 8);
	ck_assert_int_eq(fx_count_sql("SELECT count(DISTINCT seq) FROM msg"),
	    8);
	fx_stop();
	/*
	 * A damaged snapshot (its count says one entry, nothing follows): the
	 * rows themselves are read back instead, from the first.
	 */
	fx_exec_sql("UPDATE state SET val = X'01000000' WHERE key = "
	    "'dedup_ranges'");
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'dedup_mark'"), 8);
	fx_start_fresh();
	put_range(1, 8, STORE_DUPLICATE);
	put_range(9, 9, STORE_OK);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 9);
	fx_stop();
	fx_teardown();
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

	fx_setup("");
	fx_start();
	for (i = 0; i < 10; i++)
		fx_put_row(STORE_CLASS_EVENT, "e", 20);
	/* The uplink reads rows of the open transaction too. */
	ck_assert_int_eq(store_outbox_last_id(), 10);
	ids[0] = 0;
	ck_assert_uint_eq(store_outbox_fetch(0, 10, 4, fetch_cb, ids), 4);
	ck_assert_int_eq(ids[1], 1);
	ck_assert_int_eq(ids[4], 4);
	fx_flush();
	ck_assert_int_eq(fx_ncb, 10);
	ids[0] = 0;
	ck_assert_uint_eq(store_outbox_fetch(8, 100, 10, fetch_cb, ids), 2);
	ck_assert_int_eq(ids[1], 9);
	store_outbox_delete(1, 3);
	for (i = 4; i <= 10; i++)
		store_outbox_delete(i, i);
	/* Deletes join the open transaction: the file has them until then. */
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 10);
	fx_flush();
	store_stats(&ss);
	ck_assert_uint_eq(ss.queued, 0);
	ck_assert_uint_eq(ss.bytes, 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 0);
	/* Ids continue from the newest row after a restart. */
	fx_restart();
	fx_put_row(STORE_CLASS_EVENT, "e", 20);
	fx_put_row(STORE_CLASS_EVENT, "e", 20);
	fx_flush();
	ck_assert_int_eq(store_outbox_last_id(), 2);
	store_outbox_delete(2, 2);
	fx_flush();
	/* ...and never go back while running, even when the newest is gone. */
	fx_put_row(STORE_CLASS_EVENT, "e", 20);
	fx_flush();
	ck_assert_int_eq(store_outbox_last_id(), 3);
	fx_restart();
	ck_assert_int_eq(store_outbox_last_id(), 3);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Rows in the outbox whose payload starts with tag. */
static int64_t
count_tag(const char *tag)
{
	char	sql[256];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE '%s%%'", tag);
	return (fx_count_sql(sql));
}

/*
 * Each row costs its body plus STORE_ROW_OVERHEAD (64 bytes) against
 * max_bytes, so a 1000-byte row counts 1064.  Cap 64 KB = 65536, evicted
 * down to 90% = 58977.
 */
START_TEST(test_eviction_order)
{
	struct store_stats	ss;
	int			i;

	fx_setup("max_bytes = 64K");
	fx_start();
	for (i = 0; i < 20; i++)
		fx_put_row(STORE_CLASS_EVENT, "event", 1000);
	for (i = 0; i < 15; i++)
		fx_put_row(STORE_CLASS_SUMMARY, "summary", 1000);
	for (i = 0; i < 10; i++)
		fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE, 1000);
	for (i = 0; i < 15; i++)
		fx_put_row(STORE_CLASS_WINDOW, "window", 1000);
	fx_flush();
	/* 60 rows = 63840 bytes: under the cap, nothing dropped. */
	store_stats(&ss);
	ck_assert_uint_eq(ss.dropped, 0);
	ck_assert_uint_eq(ss.bytes, 60 * 1064);
	/*
	 * 8 events more.  The second makes 62 rows = 65968: 7 windows (7448)
	 * go, oldest first, to 58520 <= 58977; the other six add 6384.
	 * Windows have outbox ids 36..50.
	 */
	for (i = 0; i < 8; i++)
		fx_put_row(STORE_CLASS_EVENT, "event", 1000);
	fx_flush();
	store_stats(&ss);
	ck_assert_uint_eq(ss.bytes, 61 * 1064);
	ck_assert_uint_eq(ss.dropped, 7);
	ck_assert_int_eq(count_tag("event"), 28);
	ck_assert_int_eq(count_tag("summary"), 15);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 10);
	ck_assert_int_eq(count_tag("window"), 8);
	ck_assert_int_eq(fx_count_sql("SELECT min(id) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'window%'"), 43);
	/*
	 * 20 events more (61 rows + 20): at 62 rows each time, 7 rows go
	 * (three times), lowest class first: the 8 windows, the 10 raw
	 * messages, then 3 summaries; the last 5 events stay: 60 rows.
	 * (With 30 events, 58 events alone would be over the target and
	 * events would be evicted too, as the 64-byte overhead counts.)
	 */
	for (i = 0; i < 20; i++)
		fx_put_row(STORE_CLASS_EVENT, "event", 1000);
	fx_flush();
	store_stats(&ss);
	ck_assert_uint_eq(ss.bytes, 60 * 1064);
	ck_assert_int_eq(count_tag("window"), 0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 0);
	ck_assert_int_eq(count_tag("summary"), 12);
	ck_assert_int_eq(fx_count_sql("SELECT min(id) FROM outbox WHERE "
	    "CAST(payload AS TEXT) LIKE 'summary%'"), 24);
	ck_assert_int_eq(count_tag("event"), 48);
	/*
	 * Dropped: outbox rows, and raw messages not yet summarized (the
	 * cursor is 0: all 10 were data lost).
	 */
	ck_assert_uint_eq(ss.dropped, 15 + 10 + 3);
	/* The byte count agrees with the file after a reopen. */
	fx_restart();
	store_stats(&ss);
	ck_assert_uint_eq(ss.bytes, (uint64_t)fx_count_sql("SELECT "
	    "sum(length(payload)) + 64 * count(*) FROM outbox"));
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_evict_consumed_first)
{
	int	i;

	/* Cap 64 KB; 30 consumed raw rows, then windows past the cap. */
	fx_setup("max_bytes = 64K\nraw_retention = 1d");
	fx_start();
	for (i = 0; i < 40; i++)
		fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE, 1000);
	fx_flush();
	ck_assert_int_eq(store_msg_consume(30), 0);
	fx_flush();
	for (i = 0; i < 30; i++)
		fx_put_row(STORE_CLASS_WINDOW, "window", 1000);
	fx_flush();
	/* Local copies already summarized went; nothing to publish did. */
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 30);
	ck_assert_int_lt(fx_count_sql("SELECT count(*) FROM msg"), 40);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE id > 30"),
	    10);
	fx_stop();
	fx_teardown();
}
END_TEST

/*
 * SQLite refuses writes (past RLIMIT_FSIZE, like a full disk; the journal
 * segments, 256 KB, stay under the limit): readings are still journaled
 * and acknowledged, outbox writes are refused, and once the check sees
 * space again the journal is replayed into SQLite, every reading once.
 */
START_TEST(test_refuse_and_recover)
{
	struct store_stats	ss;
	struct rlimit		rl, old;
	int			i, nok = 0, rc;

	fx_setup("");
	fx_start();
	fx_put_row(STORE_CLASS_EVENT, "e", 100);
	fx_flush();
	ck_assert_int_eq(store_accepting(), 1);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 256 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	fx_ncb = 0;
	/* The WAL passes 256 KB within 300 readings of 3000 bytes. */
	for (i = 1; i <= 300 && store_accepting(); i++) {
		if (i % 10 == 1)
			ck_assert_int_eq(fx_put_row(STORE_CLASS_EVENT, "e",
			    100), 0);
		ck_assert_int_eq(fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE,
		    3000), STORE_OK);
		nok++;
		if (i % 10 == 0)
			fx_flush();
	}
	ck_assert_int_eq(store_accepting(), 0);
	store_stats(&ss);
	ck_assert_int_eq(ss.refusing, 1);
	/* Journal only: readings still answered OK, outbox writes refused. */
	for (i = 0; i < 20; i++, nok++)
		ck_assert_int_eq(fx_put_msg("n1", 1, 1000 + i,
		    STORE_KIND_INFERENCE, 100), STORE_OK);
	ck_assert_int_eq(fx_put_row(STORE_CLASS_EVENT, "e", 10), -1);
	/* Outbox rows of the failed transaction were refused, not lost. */
	ck_assert_int_gt(fx_ncb, 0);
	for (i = 0; i < fx_ncb; i++)
		ck_assert(fx_results[i] == STORE_OK || fx_results[i] ==
		    STORE_REFUSED);
	ck_assert_int_eq(fx_results[fx_ncb - 1], STORE_REFUSED);
	ck_assert_int_lt(fx_count_sql("SELECT count(*) FROM msg"), nok);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	fx_wait_accepting();
	fx_ncb = 0;
	ck_assert_int_eq(fx_put_row(STORE_CLASS_EVENT, "e", 10), 0);
	rc = fx_put_msg("n1", 1, 5000, STORE_KIND_INFERENCE, 10);
	ck_assert_int_eq(rc, STORE_OK);
	fx_flush();
	ck_assert_int_eq(fx_ncb, 1);
	ck_assert_int_eq(fx_results[0], STORE_OK);
	/* Every reading answered OK is in SQLite, once. */
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), nok + 1);
	ck_assert_int_eq(fx_count_sql("SELECT count(DISTINCT seq) FROM msg"),
	    nok + 1);
	fx_stop();
	fx_teardown();
}
END_TEST

static int	nstate;
static char	last_val[64];

/* State scan: count records and remember the last value. */
static void
state_cb(const char *key, const void *val, size_t len, void *arg)
{
	(void)arg;
	if (strncmp(key, "dedup_", 6) == 0 || strcmp(key, "journal") == 0)
		return;
	nstate++;
	snprintf(last_val, sizeof last_val, "%.*s", (int)len,
	    (const char *)val);
}

START_TEST(test_state_records)
{
	fx_setup("");
	fx_start();
	ck_assert_int_eq(store_state_set("ev/a/1/yes", "one", 3), 0);
	ck_assert_int_eq(store_state_set("ev/b/1/no", "two", 3), 0);
	ck_assert_int_eq(store_state_set("other", "x", 1), 0);
	/* Not visible to another connection before the commit. */
	fx_turn();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state"), 0);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state"), 3);
	ck_assert_int_eq(store_state_set("ev/a/1/yes", "three", 5), 0);
	ck_assert_int_eq(store_state_delete("ev/b/1/no"), 0);
	/* The open transaction's own reads see its writes. */
	nstate = 0;
	ck_assert_int_eq(store_state_scan("ev/", state_cb, NULL), 0);
	ck_assert_int_eq(nstate, 1);
	ck_assert_str_eq(last_val, "three");
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE key "
	    "LIKE 'ev/%'"), 1);
	/* Records survive a restart. */
	fx_restart();
	nstate = 0;
	ck_assert_int_eq(store_state_scan("", state_cb, NULL), 0);
	ck_assert_int_eq(nstate, 2);
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_cursor_ids)
{
	int	i;

	fx_setup("raw_retention = 0");
	fx_start();
	store_add_message_hook(fx_hook_cb, NULL);
	fx_nhook = 0;
	for (i = 1; i <= 5; i++)
		ck_assert_int_eq(fx_put_msg("n1", 1, i, STORE_KIND_INFERENCE,
		    10), STORE_OK);
	ck_assert_int_eq(fx_put_msg("n1", 1, 5, STORE_KIND_INFERENCE, 10),
	    STORE_DUPLICATE);
	/* Hooks run inside the put, before any commit. */
	ck_assert_int_eq(fx_nhook, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(fx_hook_ids[i], i + 1);
	fx_flush();
	/* raw_retention = 0: consumed rows go in the same transaction. */
	ck_assert_int_eq(store_msg_consume(3), 0);
	ck_assert_int_eq(store_msg_consume(2), 0);	/* never back */
	fx_flush();
	ck_assert_int_eq(store_msg_cursor(), 3);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 2);
	store_remove_message_hook(fx_hook_cb);
	/* After a restart, the rows after the cursor are replayed. */
	fx_restart();
	ck_assert_int_eq(store_msg_cursor(), 3);
	fx_nhook = 0;
	ck_assert_int_eq(store_msg_scan(store_msg_cursor(), fx_hook_cb, NULL),
	    0);
	ck_assert_int_eq(fx_nhook, 2);
	ck_assert_int_eq(fx_hook_ids[0], 4);
	ck_assert_int_eq(fx_hook_ids[1], 5);
	/* Consume all: the table is empty, yet ids are never reused. */
	ck_assert_int_eq(store_msg_consume(5), 0);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 0);
	fx_restart();
	store_add_message_hook(fx_hook_cb, NULL);
	fx_nhook = 0;
	fx_put_msg("n1", 2, 1, STORE_KIND_INFERENCE, 10);
	fx_flush();
	ck_assert_int_eq(fx_nhook, 1);
	ck_assert_int_eq(fx_hook_ids[0], 6);
	store_remove_message_hook(fx_hook_cb);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_group_commit, 0 },
		{ test_commit_timer, 0 },
		{ test_duplicates, 0 },
		{ test_duplicates_restart, 0 },
		{ test_outbox_cursor, 0 },
		{ test_eviction_order, 0 },
		{ test_evict_consumed_first, 0 },
		{ test_refuse_and_recover, 0 },
		{ test_state_records, 0 },
		{ test_cursor_ids, 0 },
	};

	return (testutil_run("store", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
