/*
 * store.c - the durable store: a journal in front, SQLite behind.
 *
 * A reading put into the store is first appended to the journal
 * (store_journal.c: one write), which is what makes it durable as
 * store.sync promises: normal answers at once (the write survives kill -9),
 * full answers after the fdatasync that covers it (grouped, in the pool).
 * Then, still in the same call, it is inserted into SQLite's open
 * transaction and handed to the stages after the store (summaries, tier 2)
 * through the message hooks, so what they derive joins the same
 * transaction.  The transaction is committed by a timer
 * (store.commit_interval) or when it holds STORE_COMMIT_ROWS rows: one
 * commit for many readings, and never on the acknowledgement path.  The
 * commit also records the last journal record it holds ("journal" in the
 * state table), so a restart replays exactly the records after it.
 *
 * Nothing on the loop waits for the disk: SQLite's commits are writes to
 * the page cache (synchronous = NORMAL), and checkpoints run on a second
 * connection in the libuv pool (store_db.c).  A commit due while a
 * checkpoint runs waits for it, so the WAL can start over after each one.
 * Journal segments are reused once their records are committed (normal)
 * or checkpointed (full: then they are on disk twice over).
 *
 * Failures: when the journal cannot take a reading (full, or a write
 * fails) the put is refused and ingest answers 5.03.  When SQLite fails
 * (disk full, I/O error) its transaction is rolled back, the stages are
 * told (they rebuild from the database), and readings keep being journaled
 * and acknowledged while the journal has room; the housekeeping check
 * probes for space and then replays the journal into SQLite in chunks, in
 * order, before new readings are applied again.  The same replay runs on
 * the first loop turn after a start, once every stage has registered its
 * hooks.
 *
 * Repeats of a reading are recognized by store_dedup.c before they are
 * journaled; outbox rows and caps live in store_outbox.c.
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define STORE_COMMIT_ROWS	4096	/* commit early past this many rows */
#define STORE_REPLAY_CHUNK	1024	/* journal records applied per turn */
#define STORE_AGE_EVERY_MS	10000	/* max_age pruning period */
#define STORE_IDLE_CKPT_MS	5000	/* checkpoint after this long idle */
#define STORE_FULL_CKPT_MS	1000	/* sync = full: checkpoint this often */
#define STORE_DEDUP_SAVE_MS	60000	/* dedup snapshot period */
#define STORE_RETRY_MS		1000	/* refusing: re-probe period */
#define STORE_MIN_FREE		(1024 * 1024)	/* bytes free to recover */

enum { Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_MSG_INS, Q_COUNT };

static const char *const store_sql[Q_COUNT] = {
	"BEGIN",
	"COMMIT",
	"ROLLBACK",
	"INSERT INTO msg(node, boot, seq, kind, prio, rx_ms, ts_ms, body, id) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
};

static struct {
	sqlite3			*db;
	char			*dir, *path;
	sqlite3_stmt		*q[Q_COUNT];
	int			 handles;	/* store_timers is initialized */
	int			 in_txn;
	size_t			 txn_rows;
	uint64_t		 txn_rseq;	/* last record in the txn */
	uint64_t		 committed;	/* last record committed */
	uint64_t		 ckpt_rseq;	/* committed when it started */
	int			 commit_due;	/* waits for the checkpoint */
	int			 sync_full;
	uint64_t		 commit_ms;
	uint64_t		 wal_pages, wal_limit;
	uint64_t		 last_ckpt_ms, last_write_ms, last_age_ms;
	int			 dirty;		/* committed since checkpoint */
	int			 sql_refusing;	/* SQLite fails: journal only */
	int			 need_replay;	/* journal ahead of SQLite */
	int			 ckpt_hold;	/* readings wait for the ckpt */
	int			 ckpt_rounds;	/* checkpoints in a row */
	int			 replay_quiet;	/* a checkpoint's, not logged */
	uint64_t		 probe_ms, dedup_saved_ms;
	int			 grew;		/* outbox rows this turn */
	store_notify_cb		 notify;
	/*
	 * Message ids are ours, never reused: a row deleted once
	 * summarized must not have its id handed out again, or the summary
	 * cursor (store_msg.c) would skip the new row.
	 */
	int64_t			 msg_last;	/* committed */
	int64_t			 msg_next;	/* assigned, maybe not yet */
} store;

/*
 * The loop handles, apart from store: store_stop() clears it while libuv
 * still holds the handles it is closing.
 */
static struct {
	uv_timer_t	 commit;	/* the group commit */
	uv_timer_t	 replay;	/* journal into SQLite */
	uv_check_t	 check;		/* end of turn: wake the uplink */
} store_timers;

static void	store_commit(void);
static int	store_sql_failed(int);

/* SQLite tells us the WAL's size after each commit. */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)arg;
	(void)db;
	(void)name;
	store.wal_pages = pages > 0 ? (uint64_t)pages : 0;
	return (SQLITE_OK);
}

/* Close the database and forget the statements. */
static void
store_close_db(void)
{
	size_t	i;

	for (i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(store.q[i]);
		store.q[i] = NULL;
	}
	store_outbox_finalize();
	store_state_close();
	store_msg_close();
	if (store.db != NULL)
		sqlite3_close(store.db);
	store.db = NULL;
}

/* Load the message ids, the cursor and the journal's position. */
static int
store_load(void)
{
	int64_t	v;
	int	rc;

	if ((rc = store_outbox_load(store.db)) != SQLITE_OK ||
	    (rc = store_db_query_int(store.db, "SELECT coalesce(max(id), 0) "
	    "FROM msg", &store.msg_last)) != SQLITE_OK ||
	    (rc = store_msg_load()) != SQLITE_OK ||
	    (rc = store_state_get_int("journal", &v)) != SQLITE_OK)
		return (rc);
	if (store.msg_last < store_msg_cursor())
		store.msg_last = store_msg_cursor();
	store.msg_next = store.msg_last;
	store.committed = store.txn_rseq = (uint64_t)v;
	return (SQLITE_OK);
}

/*
 * Open and check the file (store_db.c), then prepare our statements and
 * load the totals.  Returns 0, 1 when the file is corrupt (the caller
 * moves it aside), -1 otherwise.
 */
static int
store_open(const struct config *cf, char **cause)
{
	size_t	i;
	int	rc;

	rc = store_db_open(store.path, config_bytes(cf, "store", "max_bytes"),
	    &store.db, cause);
	if (rc != 0)
		return (rc);
	for (i = 0; i < Q_COUNT; i++) {
		rc = sqlite3_prepare_v3(store.db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &store.q[i], NULL);
		if (rc != SQLITE_OK)
			break;
	}
	if (rc == SQLITE_OK)
		rc = store_outbox_prepare(store.db);
	if (rc == SQLITE_OK)
		rc = store_load();
	if (rc == SQLITE_OK) {
		sqlite3_wal_hook(store.db, store_wal_hook, NULL);
		return (0);
	}
	xasprintf(cause, "%s: %s", store.path, sqlite3_errmsg(store.db));
	store_close_db();
	return (store_db_is_corrupt(rc) ? 1 : -1);
}

/* Read the reloadable settings. */
static void
store_read_config(const struct config *cf)
{
	uint64_t	max_bytes = config_bytes(cf, "store", "max_bytes");

	store_outbox_caps(max_bytes, config_ms(cf, "store", "max_age"),
	    config_bytes(cf, "mqtt", "max_payload"));
	store_msg_retention(config_ms(cf, "store", "raw_retention"));
	store.commit_ms = config_ms(cf, "store", "commit_interval");
	store.wal_limit = store_db_wal_pages(max_bytes);
}

/* Open the database, moving a damaged file aside once. */
static int
store_open_or_move(const struct config *cf, char **cause)
{
	char	*why = NULL;
	int	 rv;

	if ((rv = store_open(cf, &why)) == 1) {
		log_error("store: %s", why);
		free(why);
		why = NULL;
		if (store_db_move_aside(store.path, cause) == 0)
			rv = store_open(cf, &why);
		else
			rv = -1;
		if (rv == 1)
			rv = -1;
	}
	if (rv != 0 && why != NULL) {
		free(*cause);
		*cause = why;
	}
	return (rv);
}

static void	store_replay_cb(uv_timer_t *);
static void	store_ckpt(void);
static void	store_commit_cb(uv_timer_t *);
static void	store_check_cb(uv_check_t *);

/* Start: open the database and the journal, set up the handles. */
int
store_start(const struct config *cf, char **cause)
{
	char	*jdir;
	size_t	 seg;
	int	 rc;

	memset(&store, 0, sizeof store);
	store_stats_clear();
	store.dir = xstrdup(config_str(cf, "gateway", "data_dir"));
	xasprintf(&store.path, "%s/tinyedge.db", store.dir);
	store.sync_full = config_enum(cf, "store", "sync") == CONFIG_SYNC_FULL;
	store_read_config(cf);
	if (store_open_or_move(cf, cause) != 0)
		goto fail;
	/* A segment holds the largest body a node may send, and more. */
	seg = config_bytes(cf, "coap", "max_body") * 2 + 4096;
	xasprintf(&jdir, "%s/journal", store.dir);
	rc = store_journal_open(jdir, seg, store_db_wal_pages(
	    config_bytes(cf, "store", "max_bytes")) * 4096 * 4, store.committed,
	    cause);
	free(jdir);
	if (rc != 0 || store_db_ckpt_open(store.path, cause) != 0)
		goto fail_db;
	if ((rc = store_dedup_start(store.db, store.msg_last,
	    store.committed)) !=
	    SQLITE_OK) {
		xasprintf(cause, "%s: %s", store.path, sqlite3_errstr(rc));
		goto fail_db;
	}
	uv_timer_init(daemon_loop(), &store_timers.commit);
	uv_timer_init(daemon_loop(), &store_timers.replay);
	uv_check_init(daemon_loop(), &store_timers.check);
	store.handles = 1;
	/* Records up to the committed one are in SQLite, replay or not. */
	store_journal_release(store.committed);
	/* The first turn puts the journal's news into SQLite (see top). */
	if (store_journal_last() > store.committed) {
		store.need_replay = 1;
		uv_timer_start(&store_timers.replay, store_replay_cb, 0, 0);
	}
	store.dedup_saved_ms = daemon_now_ms();
	log_info("store: %s: %" PRIu64 " journal records to apply", store.path,
	    store_journal_last() - store.committed);
	return (0);

fail_db:
	store_journal_close();
	store_db_ckpt_close();
	store_close_db();
fail:
	store_dedup_clear();
	store_stats_clear();
	free(store.path);
	free(store.dir);
	memset(&store, 0, sizeof store);
	return (-1);
}

/* SIGHUP: the caps and the commit interval may change. */
void
store_reload(const struct config *cf)
{
	store_read_config(cf);
}

/* Stop: commit what is pending, close the files (waiting for the pool). */
void
store_stop(void)
{
	if (store.db == NULL)
		return;
	if (!store.sql_refusing && store_write_begin() != NULL)
		store_dedup_save_now(store.msg_next);
	store.commit_due = 0;
	if (store.in_txn && !store_db_ckpt_running())
		store_commit();
	store_journal_close();
	store_db_ckpt_close();
	if (!store_db_ckpt_running())
		store_db_exec(store.db, store.path,
		    "PRAGMA wal_checkpoint(PASSIVE)", NULL);
	store_close_db();
	if (store.handles) {
		uv_close((uv_handle_t *)&store_timers.commit, NULL);
		uv_close((uv_handle_t *)&store_timers.replay, NULL);
		uv_close((uv_handle_t *)&store_timers.check, NULL);
		store.handles = 0;
	}
	store_dedup_clear();
	store_hook_clear();
	store_stats_clear();
	free(store.path);
	free(store.dir);
	memset(&store, 0, sizeof store);
}

/* Enter refusing mode after a disk-full or I/O failure of SQLite. */
static void
store_refuse(int rc)
{
	if (!store.sql_refusing)
		log_error("store: %s: %s; readings go to the journal only "
		    "until it recovers", store.path, sqlite3_errstr(rc));
	store.sql_refusing = 1;
	store.need_replay = 1;
	store.probe_ms = daemon_now_ms();
}

/* Roll the transaction back: forget its deltas, fail its callbacks. */
static void
store_abort(int rc)
{
	sqlite3_reset(store.q[Q_ROLLBACK]);
	if (!sqlite3_get_autocommit(store.db))
		sqlite3_step(store.q[Q_ROLLBACK]);
	sqlite3_reset(store.q[Q_ROLLBACK]);
	store.in_txn = 0;
	store.txn_rows = 0;
	store.txn_rseq = store.committed;
	store.msg_next = store.msg_last;
	store_outbox_txn_end(0);
	store_msg_end(0);
	uv_timer_stop(&store_timers.commit);
	store_refuse(rc);
	/* Stages that keep state derived from this transaction rebuild it. */
	store_hook_rollback();
	store_hook_pending(0);
}

/* A write inside the open transaction failed; -1. */
static int
store_sql_failed(int rc)
{
	log_warnx("store: write: %s", sqlite3_errmsg(store.db));
	if (store_db_is_refusal(rc) || store_db_is_corrupt(rc))
		store_abort(rc);
	return (-1);
}

/* Open a transaction if none is open; the commit timer starts with it. */
static int
store_begin(void)
{
	int	rc;

	if (store.in_txn)
		return (0);
	sqlite3_reset(store.q[Q_BEGIN]);
	rc = sqlite3_step(store.q[Q_BEGIN]);
	sqlite3_reset(store.q[Q_BEGIN]);
	if (rc != SQLITE_DONE) {
		store_refuse(rc);
		return (-1);
	}
	store.in_txn = 1;
	store.txn_rows = 0;
	uv_timer_start(&store_timers.commit, store_commit_cb, store.commit_ms,
	    0);
	return (0);
}

/* A checkpoint finished: on disk now is what was committed before it. */
static void
store_ckpt_done(int rc, int all)
{
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store: checkpoint: %s", sqlite3_errstr(rc));
	if (all) {
		if (store.sync_full)
			store_journal_release(store.ckpt_rseq);
		store.dirty = store.committed > store.ckpt_rseq;
	}
	store.last_ckpt_ms = daemon_now_ms();
	/*
	 * SQLite starts the WAL over only at the first write of a transaction
	 * whose snapshot began with every frame checkpointed.  Under steady
	 * ingest a transaction is always open, so the WAL would grow without
	 * end.  Once it is twice its limit, readings wait in the journal while
	 * a checkpoint runs, and when a transaction was open during it (its
	 * snapshot is older) it is committed and a short checkpoint of just
	 * that commit follows; the next transaction then starts the WAL over.
	 */
	if (store.ckpt_hold && all && (store.in_txn || store.commit_due) &&
	    store.ckpt_rounds < 3 && store.db != NULL) {
		store.commit_due = 0;
		store_commit();
		if (!store.in_txn) {
			store.ckpt_rounds++;
			store_ckpt();
			if (store_db_ckpt_running())
				return;
		}
	}
	store.ckpt_hold = 0;
	store.ckpt_rounds = 0;
	if (store.commit_due && store.db != NULL) {
		store.commit_due = 0;
		store_commit();
	}
	if (store.need_replay && !store.sql_refusing && store.db != NULL)
		uv_timer_start(&store_timers.replay, store_replay_cb, 0, 0);
}

/* Start a checkpoint in the pool. */
static void
store_ckpt(void)
{
	store.ckpt_rseq = store.committed;
	store.last_ckpt_ms = daemon_now_ms();
	if (store_db_ckpt_start(store_ckpt_done) == 0 &&
	    (store.ckpt_rounds > 0 || store.wal_pages >= 2 * store.wal_limit))
		store.ckpt_hold = 1;
}

/* Commit the open transaction, then run the callbacks in put order. */
static void
store_commit(void)
{
	int	rc;

	if (!store.in_txn)
		return;
	if (store_db_ckpt_running()) {
		store.commit_due = 1;
		return;
	}
	/* The stages' last writes of this transaction join it. */
	store_hook_precommit();
	if (!store.in_txn)
		return;		/* a write failed: rolled back */
	if (store.txn_rseq > store.committed &&
	    store_state_set_int("journal", (int64_t)store.txn_rseq) != 0)
		return;
	if (daemon_now_ms() - store.dedup_saved_ms >= STORE_DEDUP_SAVE_MS) {
		if (store_dedup_save_now(store.msg_next) != 0)
			return;
		store.dedup_saved_ms = daemon_now_ms();
	}
	sqlite3_reset(store.q[Q_COMMIT]);
	rc = sqlite3_step(store.q[Q_COMMIT]);
	sqlite3_reset(store.q[Q_COMMIT]);
	if (rc != SQLITE_DONE) {
		store_sql_failed(rc);
		return;
	}
	store_outbox_txn_end(1);
	store_msg_end(1);
	store.msg_last = store.msg_next;
	store.committed = store.txn_rseq;
	store.in_txn = 0;
	store.dirty = 1;
	store_stats_commit();
	store.last_write_ms = daemon_now_ms();
	uv_timer_stop(&store_timers.commit);
	if (!store.sync_full)
		store_journal_release(store.committed);
	store_hook_pending(1);
	if (store.wal_pages >= store.wal_limit || (store.sync_full &&
	    store.last_write_ms - store.last_ckpt_ms >= STORE_FULL_CKPT_MS))
		store_ckpt();
}

/* The commit timer. */
static void
store_commit_cb(uv_timer_t *t)
{
	(void)t;
	store_commit();
}

/* Commit now rather than when the timer says (stop, tests). */
void
store_flush(void)
{
	store.commit_due = 0;
	store_commit();
}

/* Is a transaction open, with writes not committed yet? */
int
store_uncommitted(void)
{
	return (store.in_txn);
}

/* End of a loop turn with outbox rows added: wake the uplink once. */
static void
store_check_cb(uv_check_t *h)
{
	uv_check_stop(h);
	if (store.grew && store.notify != NULL) {
		store.grew = 0;
		store.notify();
	}
	store.grew = 0;
}

/* Outbox rows were added: the uplink hears of them at the turn's end. */
void
store_turn_notify(void)
{
	store.grew = 1;
	if (store.handles)
		uv_check_start(&store_timers.check, store_check_cb);
}

/* Insert one journaled message into SQLite and hand it to the hooks. */
static void
store_apply(const struct store_msg *m, uint64_t rseq)
{
	sqlite3_stmt	*s = store.q[Q_MSG_INS];
	unsigned char	*slim = NULL;
	size_t		 len = m->len;
	int		 prio, rc;

	if (store_begin() != 0)
		return;
	/* The row keeps the body without what its columns hold. */
	store_body_slim(m, &slim, &len);
	prio = m->kind == STORE_KIND_WINDOW ? STORE_CLASS_RAW_WINDOW :
	    STORE_CLASS_RAW;
	sqlite3_bind_text(s, 1, m->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->boot);
	if (m->seq < 0)
		sqlite3_bind_null(s, 3);
	else
		sqlite3_bind_int64(s, 3, m->seq);
	sqlite3_bind_int(s, 4, (int)m->kind);
	sqlite3_bind_int(s, 5, prio);
	sqlite3_bind_int64(s, 6, (int64_t)m->rx_ms);
	sqlite3_bind_int64(s, 7, m->ts_ms);
	sqlite3_bind_blob(s, 8, slim != NULL ? slim : len ? m->body :
	    (const void *)"", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, store.msg_next + 1);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	free(slim);
	if (rc != SQLITE_DONE) {
		/*
		 * The reading is acknowledged already: whatever the failure,
		 * roll back and let the journal replay it, or a later record
		 * would move the committed position past it.
		 */
		store_sql_failed(rc);
		if (store.in_txn)
			store_abort(rc);
		return;
	}
	store.msg_next++;
	if (rseq > store.txn_rseq)
		store.txn_rseq = rseq;
	if ((rc = store_outbox_account_msg(prio, (int64_t)len)) != 0) {
		store_sql_failed(rc);
		return;
	}
	/*
	 * Stages after the store (events, summaries) see each new message
	 * inside this transaction, so what they derive commits with it.
	 */
	store_hook_message(m, store.msg_next);
	if (++store.txn_rows >= STORE_COMMIT_ROWS && store.in_txn)
		uv_timer_start(&store_timers.commit, store_commit_cb, 0, 0);
}

/*
 * Put one accepted message.  Returns STORE_OK (durable as store.sync
 * promises), STORE_DUPLICATE (held already), STORE_REFUSED (not stored:
 * 5.03), or STORE_WAIT (store.sync = full and cb given: cb(result, arg)
 * runs once the sync that covers it has returned).
 */
enum store_result
store_put_message(const struct store_msg *m, store_done_cb cb, void *arg)
{
	uint64_t	rseq;

	if (store.db == NULL)
		return (STORE_REFUSED);
	if (store_dedup_seen(m->node, m->kind, m->boot, m->seq)) {
		store_stats_duplicate();
		/* The first copy may still be on its way to the disk. */
		rseq = store_journal_last();
		if (!store.sync_full || cb == NULL ||
		    rseq <= store_journal_synced())
			return (STORE_DUPLICATE);
		store_journal_wait(rseq, STORE_DUPLICATE, cb, arg);
		return (STORE_WAIT);
	}
	if (store_journal_append(m, &rseq) != 0) {
		store_stats_refused(errno);
		return (STORE_REFUSED);
	}
	store_stats_taken();
	store_dedup_add(m->node, m->kind, m->boot, m->seq);
	/* During a checkpoint the reading waits in the journal (see there). */
	if (store.ckpt_hold && !store.need_replay) {
		store.need_replay = 1;
		store.replay_quiet = 1;
	}
	if (!store.need_replay)
		store_apply(m, rseq);
	if (!store.sync_full || cb == NULL)
		return (STORE_OK);
	store_journal_wait(rseq, STORE_OK, cb, arg);
	return (STORE_WAIT);
}

/* Apply one journal record during a replay (hooks included). */
static void
store_replay_one(const struct store_msg *m, uint64_t rseq, void *arg)
{
	size_t	*n = arg;

	if (*n >= STORE_REPLAY_CHUNK || rseq <= store.txn_rseq || !store.db ||
	    store.sql_refusing)
		return;
	store_apply(m, rseq);
	(*n)++;
}

/*
 * Put the journal's records that SQLite lacks into it, a chunk per loop
 * turn so acknowledgements keep flowing; new readings wait until it is
 * caught up (order matters to the stages).
 */
static void
store_replay_cb(uv_timer_t *t)
{
	size_t	n = 0;

	if (store.sql_refusing || store.db == NULL || store.ckpt_hold)
		return;
	store_journal_replay(store.txn_rseq, store_replay_one, &n);
	if (store.sql_refusing)
		return;
	if (n >= STORE_REPLAY_CHUNK || store.txn_rseq < store_journal_last()) {
		uv_timer_start(t, store_replay_cb, 0, 0);
		return;
	}
	store.need_replay = 0;
	if (!store.replay_quiet)
		log_info("store: journal applied up to record %" PRIu64,
		    store.txn_rseq);
	store.replay_quiet = 0;
	store_commit();
}

/* Is a transaction open (the hooks stop when a write rolled it back)? */
int
store_txn_open(void)
{
	return (store.in_txn);
}

/* Non-NULL with the transaction open; NULL: SQLite refuses writes. */
sqlite3 *
store_write_begin(void)
{
	if (store.db == NULL || store.sql_refusing || store_begin() != 0)
		return (NULL);
	return (store.db);
}

/* The open database for reads. */
sqlite3 *
store_handle(void)
{
	return (store.db);
}

/* A write in another store file failed: same handling as ours. */
int
store_write_error(int rc)
{
	return (store_sql_failed(rc));
}

/*
 * Non-zero when SQLite takes writes (the stages after the store ask this;
 * ingest learns about refusals from store_put_message()).
 */
int
store_accepting(void)
{
	return (store.db != NULL && !store.sql_refusing && !store.need_replay);
}

/* Does store.sync = full hold acknowledgements until an fdatasync? */
int
store_sync_full(void)
{
	return (store.sync_full);
}

/* Called after outbox rows are added, once per loop turn (the uplink). */
void
store_set_notify(store_notify_cb cb)
{
	store.notify = cb;
}

/* Is SQLite refusing writes (readings go to the journal only)? */
int
store_sql_refusing(void)
{
	return (store.sql_refusing);
}

/*
 * Refusing mode: enough free space again?  Then replay the journal.
 * Looked at every second: under load the journal takes freed space for
 * new segments, and a probe every 5 s could find it gone each time.
 */
static void
store_probe_recovery(uint64_t now)
{
	struct statvfs	sv;

	if (now - store.probe_ms < STORE_RETRY_MS)
		return;
	store.probe_ms = now;
	if (statvfs(store.dir, &sv) == -1 ||
	    (uint64_t)sv.f_bavail * sv.f_frsize < STORE_MIN_FREE)
		return;
	store.sql_refusing = 0;
	log_info("store: %s: space available again, applying the journal",
	    store.path);
	uv_timer_start(&store_timers.replay, store_replay_cb, 0, 0);
}

/* Housekeeping (daemon check, every second): age, recovery, checkpoint. */
void
store_check(uint64_t mono)
{
	uint64_t	now = daemon_now_ms();

	(void)mono;
	if (store.db == NULL)
		return;
	if (store.sql_refusing)
		store_probe_recovery(now);
	if (now - store.last_age_ms >= STORE_AGE_EVERY_MS) {
		store.last_age_ms = now;
		if (!store.sql_refusing)
			store_outbox_prune(now);
	}
	store_outbox_log_drops();
	if (!store.sql_refusing)
		store_msg_check(now);
	store_journal_spare();
	/* Keep the WAL small on SD cards: checkpoint once writes pause. */
	if (store.dirty && !store.in_txn && !store_db_ckpt_running() &&
	    now - store.last_write_ms >= STORE_IDLE_CKPT_MS)
		store_ckpt();
}
