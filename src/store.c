/*
 * store.c - the SQLite store: accepted messages and the outbox.
 *
 * One database, data_dir/tinyedge.db, in WAL mode, schema versioned with
 * PRAGMA user_version (store_db.c opens, checks and migrates the file step by
 * step).  Two tables: msg holds what ingest accepted (unique per node, boot,
 * seq and kind, so a retransmission is stored once), outbox holds what must
 * be published (topic, payload, retain flag), oldest first by id.
 *
 * Group commit: the first write of a loop turn opens a transaction and
 * starts a uv_check handle (plus a uv_idle one so the loop does not sleep
 * with work pending); the check callback commits at the end of the turn and
 * only then calls each item's callback.  So nothing is acknowledged before
 * it is on disk, and a burst of N puts costs one commit instead of N.
 *
 * Caps: payload bytes are counted per priority class in memory (loaded at
 * start, kept in step with every insert and delete, transaction deltas
 * applied at commit).  Over max_bytes, raw messages already summarized
 * (kept only for raw_retention) go first, then the oldest rows of the
 * lowest class, down to 90% of the cap: outbox windows, stored raw windows,
 * other raw messages, summaries, events.  max_age prunes from the oldest end.
 * SQLITE_FULL or an I/O error puts the store in "refusing" mode: puts fail
 * (ingest answers 5.03), the daemon keeps running, and the housekeeping check
 * leaves that mode once the file system has space again.
 */
#include <sys/statvfs.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "store.h"
#include "store_db.h"
#include "xmalloc.h"

/* Classes of the msg table, between the outbox ones (see store.h). */
#define STORE_CLASS_RAW_WINDOW	1
#define STORE_CLASS_RAW		2
#define STORE_NCLASS		5

#define STORE_EVICT_BATCH	1024
#define STORE_AGE_EVERY_MS	10000	/* max_age pruning period */
#define STORE_IDLE_CKPT_MS	5000	/* checkpoint after this long idle */
#define STORE_DROP_LOG_MS	10000	/* at most one drop line per this */
#define STORE_RETRY_MS		5000	/* refusing mode: re-probe period */
#define STORE_MIN_FREE		(1024 * 1024)	/* bytes free to recover */
#define STORE_MAX_HOOKS		4
#define STORE_ASIDE_KEEP	100	/* rows kept in the aside table */

/* Prepared statements, by index. */
enum {
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_MSG_INS, Q_OUT_INS, Q_OUT_FETCH,
	Q_OUT_DEL, Q_OUT_EVICT, Q_MSG_EVICT, Q_OUT_AGE, Q_MSG_AGE,
	Q_OUT_OLDEST, Q_ASIDE_INS, Q_ASIDE_TRIM, Q_COUNT
};

static const char *const store_sql[Q_COUNT] = {
	"BEGIN",
	"COMMIT",
	"ROLLBACK",
	"INSERT OR IGNORE INTO msg(node, boot, seq, kind, prio, rx_ms, ts_ms, "
	    "body, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	"INSERT INTO outbox(id, prio, created_ms, retain, topic, payload) "
	    "VALUES (?6, ?1, ?2, ?3, ?4, ?5)",
	"SELECT id, topic, payload, retain, created_ms FROM outbox "
	    "WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
	"DELETE FROM outbox WHERE id BETWEEN ?1 AND ?2 "
	    "RETURNING prio, length(payload)",
	"DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE "
	    "prio = ?1 ORDER BY id LIMIT ?2) RETURNING prio, length(payload)",
	"DELETE FROM msg WHERE id IN (SELECT id FROM msg WHERE "
	    "prio = ?1 ORDER BY id LIMIT ?2) RETURNING prio, length(body)",
	"DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id "
	    "LIMIT 256) AND created_ms < ?1 RETURNING prio, length(payload)",
	"DELETE FROM msg WHERE id IN (SELECT id FROM msg ORDER BY id "
	    "LIMIT 256) AND rx_ms < ?1 RETURNING prio, length(body)",
	"SELECT created_ms FROM outbox ORDER BY id LIMIT 1",
	"INSERT INTO aside(id, created_ms, aside_ms, retain, topic, payload, "
	    "reason) SELECT id, created_ms, ?2, retain, topic, payload, ?3 "
	    "FROM outbox WHERE id = ?1",
	"DELETE FROM aside WHERE id NOT IN (SELECT id FROM aside ORDER BY id "
	    "DESC LIMIT ?1)",
};

/* A put waiting for the commit of its transaction. */
struct store_pending {
	store_done_cb		 cb;
	void			*arg;
	enum store_result	 result;
};

static struct {
	sqlite3			*db;
	char			*dir;
	char			*path;
	sqlite3_stmt		*q[Q_COUNT];
	uv_check_t		 check;
	uv_idle_t		 idle;
	int			 handles;
	int			 in_txn;
	struct store_pending	*pend;
	size_t			 npend, szpend;
	uint64_t		 max_bytes;
	uint64_t		 max_age_ms;
	uint64_t		 max_payload;
	uint64_t		 oversize;	/* rows refused: max_payload */
	uint64_t		 oversize_log_ms;
	uint64_t		 set_aside;
	uint64_t		 rows[STORE_NCLASS];	/* committed */
	uint64_t		 bytes[STORE_NCLASS];
	int64_t			 drows[STORE_NCLASS];	/* this transaction */
	int64_t			 dbytes[STORE_NCLASS];
	uint64_t		 ddropped;
	uint64_t		 dropped;
	uint64_t		 pruned;
	uint64_t		 unlogged_cap;	/* drops not yet logged */
	uint64_t		 unlogged_age;
	uint64_t		 drop_log_ms;
	int64_t			 last_id;	/* committed */
	int64_t			 next_id;	/* assigned, maybe not yet */
	int			 grew;		/* outbox rows added in txn */
	int			 refusing;
	uint64_t		 refuse_probe_ms;
	uint64_t		 last_write_ms;
	uint64_t		 last_age_ms;
	int			 dirty;		/* written since checkpoint */
	store_notify_cb		 notify;
	store_msg_hook		 hook[STORE_MAX_HOOKS];
	void			*hook_arg[STORE_MAX_HOOKS];
	size_t			 nhooks;
	store_rollback_cb	 rollback;
	/*
	 * Message ids are ours too, never reused: a row deleted once
	 * summarized must not have its id handed out again, or the summary
	 * cursor (store_state.c) would skip the new row.  msg_next never
	 * drops below the cursor.
	 */
	int64_t			 msg_last;	/* committed */
	int64_t			 msg_next;	/* assigned, maybe not yet */
} st;

static void	store_commit(void);

/* Run SQL text on our database (store_db_exec on st.db). */
static int
store_exec(const char *sql, char **cause)
{
	return (store_db_exec(st.db, st.path, sql, cause));
}

/* Load the per-class row and byte totals and the last outbox id. */
static int
store_load_totals(void)
{
	static const char *const sql[] = {
		"SELECT prio, count(*), sum(length(payload)) FROM outbox "
		    "GROUP BY prio",
		"SELECT prio, count(*), sum(length(body)) FROM msg "
		    "GROUP BY prio",
	};
	sqlite3_stmt	*s;
	size_t		 i;
	int64_t		 c;
	int		 rc;

	memset(st.rows, 0, sizeof st.rows);
	memset(st.bytes, 0, sizeof st.bytes);
	for (i = 0; i < 2; i++) {
		rc = sqlite3_prepare_v2(st.db, sql[i], -1, &s, NULL);
		if (rc != SQLITE_OK)
			return (rc);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			c = sqlite3_column_int64(s, 0);
			if (c < 0 || c >= STORE_NCLASS)
				continue;
			st.rows[c] += (uint64_t)sqlite3_column_int64(s, 1);
			st.bytes[c] += (uint64_t)sqlite3_column_int64(s, 2);
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return (rc);
	}
	rc = store_db_query_int(st.db, "SELECT coalesce(max(id), 0) FROM "
	    "outbox", &st.last_id);
	st.next_id = st.last_id;
	if (rc == SQLITE_OK)
		rc = store_db_query_int(st.db, "SELECT coalesce(max(id), 0) "
		    "FROM msg", &st.msg_last);
	if (rc == SQLITE_OK && (rc = store_state_load()) == SQLITE_OK &&
	    st.msg_last < store_msg_cursor())
		st.msg_last = store_msg_cursor();
	st.msg_next = st.msg_last;
	return (rc);
}

/* Close the database and forget the statements. */
static void
store_close_db(void)
{
	size_t	i;

	for (i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(st.q[i]);
		st.q[i] = NULL;
	}
	store_state_close();
	if (st.db != NULL)
		sqlite3_close(st.db);
	st.db = NULL;
}

/*
 * Open and check the file (store_db.c), then prepare our statements and
 * load the totals.  Returns 0, 1 when the file is corrupt or unreadable
 * (the caller moves it aside), -1 otherwise.
 */
static int
store_open(const struct config *cf, char **cause)
{
	size_t	i;
	int	rc;

	rc = store_db_open(st.path, strcmp(config_str(cf, "store", "sync"),
	    "full") == 0, config_bytes(cf, "store", "max_bytes"), &st.db,
	    cause);
	if (rc != 0)
		return (rc);
	for (i = 0; i < Q_COUNT; i++) {
		rc = sqlite3_prepare_v3(st.db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st.q[i], NULL);
		if (rc != SQLITE_OK)
			break;
	}
	if (rc == SQLITE_OK)
		rc = store_load_totals();
	if (rc == SQLITE_OK)
		return (0);
	xasprintf(cause, "%s: %s", st.path, sqlite3_errmsg(st.db));
	store_close_db();
	return (store_db_is_corrupt(rc) ? 1 : -1);
}

/* Read the reloadable caps. */
static void
store_read_caps(const struct config *cf)
{
	st.max_bytes = config_bytes(cf, "store", "max_bytes");
	st.max_age_ms = config_ms(cf, "store", "max_age");
	st.max_payload = config_bytes(cf, "mqtt", "max_payload");
	store_state_retention(config_ms(cf, "store", "raw_retention"));
}

/* Start: open (moving a damaged file aside), set up the commit handles. */
int
store_start(const struct config *cf, char **cause)
{
	char	*why = NULL;
	int	 rv;

	memset(&st, 0, sizeof st);
	st.dir = xstrdup(config_str(cf, "gateway", "data_dir"));
	xasprintf(&st.path, "%s/tinyedge.db", st.dir);
	store_read_caps(cf);
	if ((rv = store_open(cf, &why)) == 1) {
		log_error("store: %s", why);
		free(why);
		why = NULL;
		if (store_db_move_aside(st.path, cause) == 0)
			rv = store_open(cf, &why);
		else
			rv = -1;
		if (rv == 1)
			rv = -1;
	}
	if (rv != 0) {
		if (why != NULL) {
			free(*cause);
			*cause = why;
		}
		free(st.path);
		free(st.dir);
		memset(&st, 0, sizeof st);
		return (-1);
	}
	uv_check_init(daemon_loop(), &st.check);
	uv_idle_init(daemon_loop(), &st.idle);
	st.handles = 1;
	/* The first housekeeping run prunes: the daemon may have been down. */
	st.last_age_ms = 0;
	log_info("store: %s: %" PRIu64 " outbox rows, %" PRIu64 " messages",
	    st.path, st.rows[STORE_CLASS_WINDOW] + st.rows[STORE_CLASS_SUMMARY]
	    + st.rows[STORE_CLASS_EVENT], st.rows[STORE_CLASS_RAW] +
	    st.rows[STORE_CLASS_RAW_WINDOW]);
	return (0);
}

/* SIGHUP: the caps may change. */
void
store_reload(const struct config *cf)
{
	store_read_caps(cf);
}

/* Stop: commit what is pending, checkpoint, close the file and handles. */
void
store_stop(void)
{
	if (st.db == NULL)
		return;
	store_commit();
	store_exec("PRAGMA wal_checkpoint(TRUNCATE)", NULL);
	store_close_db();
	if (st.handles) {
		uv_close((uv_handle_t *)&st.check, NULL);
		uv_close((uv_handle_t *)&st.idle, NULL);
		st.handles = 0;
	}
	free(st.pend);
	free(st.path);
	free(st.dir);
	st.pend = NULL;
	st.path = st.dir = NULL;
}

/* Sum of a per-class array including this transaction's deltas. */
static uint64_t
store_total(const uint64_t *base, const int64_t *delta, int from, int to)
{
	int64_t	t = 0;
	int	i;

	for (i = from; i <= to; i++)
		t += (int64_t)base[i] + delta[i];
	return (t > 0 ? (uint64_t)t : 0);
}

/* The check handle: end of the loop turn, commit. */
static void
store_check_cb(uv_check_t *h)
{
	(void)h;
	store_commit();
}

/* Keep the loop from sleeping while a commit is due (no-op callback). */
static void
store_idle_cb(uv_idle_t *h)
{
	(void)h;
}

/* Enter refusing mode after a disk-full or I/O failure. */
static void
store_refuse(int rc)
{
	if (!st.refusing)
		log_error("store: %s: %s; refusing new data until it "
		    "recovers", st.path, sqlite3_errstr(rc));
	st.refusing = 1;
	st.refuse_probe_ms = daemon_now_ms();
}

/* Forget this transaction's deltas and fail its pending puts. */
static void
store_abort(int rc)
{
	struct store_pending	*p = st.pend;
	size_t			 i, n = st.npend;

	sqlite3_reset(st.q[Q_ROLLBACK]);
	if (!sqlite3_get_autocommit(st.db))
		sqlite3_step(st.q[Q_ROLLBACK]);
	sqlite3_reset(st.q[Q_ROLLBACK]);
	st.in_txn = 0;
	memset(st.drows, 0, sizeof st.drows);
	memset(st.dbytes, 0, sizeof st.dbytes);
	st.ddropped = 0;
	st.grew = 0;
	st.next_id = st.last_id;
	st.msg_next = st.msg_last;
	store_state_end(0);
	uv_check_stop(&st.check);
	uv_idle_stop(&st.idle);
	store_refuse(rc);
	/* Stages that keep state derived from this transaction rebuild it. */
	if (st.rollback != NULL)
		st.rollback();
	/* Callbacks may put again: hand them a detached array. */
	st.pend = NULL;
	st.npend = st.szpend = 0;
	for (i = 0; i < n; i++)
		p[i].cb(STORE_REFUSED, p[i].arg);
	free(p);
}

/* Open the turn's transaction if none is open. */
static int
store_begin(void)
{
	int	rc;

	if (st.in_txn)
		return (0);
	sqlite3_reset(st.q[Q_BEGIN]);
	rc = sqlite3_step(st.q[Q_BEGIN]);
	sqlite3_reset(st.q[Q_BEGIN]);
	if (rc != SQLITE_DONE) {
		store_refuse(rc);
		return (-1);
	}
	st.in_txn = 1;
	uv_check_start(&st.check, store_check_cb);
	uv_idle_start(&st.idle, store_idle_cb);
	return (0);
}

/* Commit the turn's transaction, then run the callbacks in put order. */
static void
store_commit(void)
{
	struct store_pending	*p;
	size_t			 i, n;
	int			 rc, grew;

	if (!st.in_txn)
		return;
	sqlite3_reset(st.q[Q_COMMIT]);
	rc = sqlite3_step(st.q[Q_COMMIT]);
	sqlite3_reset(st.q[Q_COMMIT]);
	if (rc != SQLITE_DONE) {
		log_warnx("store: commit: %s", sqlite3_errmsg(st.db));
		store_abort(rc);
		return;
	}
	for (i = 0; i < STORE_NCLASS; i++) {
		st.rows[i] = (uint64_t)((int64_t)st.rows[i] + st.drows[i]);
		st.bytes[i] = (uint64_t)((int64_t)st.bytes[i] + st.dbytes[i]);
	}
	memset(st.drows, 0, sizeof st.drows);
	memset(st.dbytes, 0, sizeof st.dbytes);
	st.dropped += st.ddropped;
	st.ddropped = 0;
	st.last_id = st.next_id;
	st.msg_last = st.msg_next;
	store_state_end(1);
	st.in_txn = 0;
	st.dirty = 1;
	st.last_write_ms = daemon_now_ms();
	uv_check_stop(&st.check);
	uv_idle_stop(&st.idle);
	grew = st.grew;
	st.grew = 0;
	p = st.pend;
	n = st.npend;
	st.pend = NULL;
	st.npend = st.szpend = 0;
	for (i = 0; i < n; i++)
		p[i].cb(p[i].result, p[i].arg);
	free(p);
	if (grew && st.notify != NULL)
		st.notify();
}

/* Commit now rather than at the end of the turn (stop, tests). */
void
store_flush(void)
{
	store_commit();
}

/* Remember a callback to run after the commit. */
static void
store_pend(store_done_cb cb, void *arg, enum store_result r)
{
	if (cb == NULL)
		return;
	if (st.npend == st.szpend) {
		st.szpend = st.szpend ? st.szpend * 2 : 64;
		st.pend = xreallocarray(st.pend, st.szpend, sizeof *st.pend);
	}
	st.pend[st.npend].cb = cb;
	st.pend[st.npend].arg = arg;
	st.pend[st.npend].result = r;
	st.npend++;
}

/* Step a DELETE ... RETURNING prio, length; account rows removed. */
static int
store_delete_step(sqlite3_stmt *s, int count_drop, uint64_t *nrows)
{
	int64_t	prio;
	int	rc;

	*nrows = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		prio = sqlite3_column_int64(s, 0);
		if (prio < 0 || prio >= STORE_NCLASS)
			continue;
		st.drows[prio]--;
		st.dbytes[prio] -= sqlite3_column_int64(s, 1);
		(*nrows)++;
		if (count_drop && prio != STORE_CLASS_RAW &&
		    prio != STORE_CLASS_RAW_WINDOW)
			st.ddropped++;
		else if (count_drop)
			st.pruned++;
	}
	sqlite3_reset(s);
	return (rc == SQLITE_DONE ? 0 : rc);
}

/* Count drops (cap or age) and log them at most once per period. */
static void
store_log_drops(uint64_t cap, uint64_t age)
{
	uint64_t	now = daemon_now_ms();

	st.unlogged_cap += cap;
	st.unlogged_age += age;
	if (st.unlogged_cap + st.unlogged_age == 0 ||
	    now - st.drop_log_ms < STORE_DROP_LOG_MS)
		return;
	log_warnx("store: dropped %" PRIu64 " oldest rows over "
	    "store.max_bytes and %" PRIu64 " older than store.max_age; %"
	    PRIu64 " outbox rows dropped since start", st.unlogged_cap,
	    st.unlogged_age, st.dropped + st.ddropped);
	st.unlogged_cap = st.unlogged_age = 0;
	st.drop_log_ms = now;
}

/* Over max_bytes: delete oldest rows, lowest class first, to 90%. */
static int
store_enforce_cap(void)
{
	uint64_t	target, n, total = 0, cur, rows, avg, batch;
	sqlite3_stmt	*s;
	int		 c, rc;

	if (store_total(st.bytes, st.dbytes, 0, STORE_NCLASS - 1) <=
	    st.max_bytes)
		return (0);
	target = st.max_bytes / 10 * 9;
	/* Raw messages already summarized are only kept for people. */
	do {
		if ((rc = store_state_evict(STORE_EVICT_BATCH, &n)) != 0)
			return (rc);
	} while (n > 0 && store_total(st.bytes, st.dbytes, 0,
	    STORE_NCLASS - 1) > target);
	for (c = 0; c < STORE_NCLASS; c++) {
		s = (c == STORE_CLASS_RAW || c == STORE_CLASS_RAW_WINDOW) ?
		    st.q[Q_MSG_EVICT] : st.q[Q_OUT_EVICT];
		while ((cur = store_total(st.bytes, st.dbytes, 0,
		    STORE_NCLASS - 1)) > target &&
		    (rows = store_total(st.rows, st.drows, c, c)) > 0) {
			/* Rows to delete from this class's mean row size. */
			avg = store_total(st.bytes, st.dbytes, c, c) / rows;
			batch = (cur - target) / (avg ? avg : 1) + 1;
			if (batch > STORE_EVICT_BATCH)
				batch = STORE_EVICT_BATCH;
			sqlite3_bind_int(s, 1, c);
			sqlite3_bind_int64(s, 2, (int64_t)batch);
			if ((rc = store_delete_step(s, 1, &n)) != 0)
				return (rc);
			total += n;
			if (n == 0)
				break;
		}
	}
	store_log_drops(total, 0);
	return (0);
}

/* Handle a failed write inside the open transaction. */
static int
store_write_failed(int rc)
{
	log_warnx("store: write: %s", sqlite3_errmsg(st.db));
	if (store_db_is_refusal(rc) || store_db_is_corrupt(rc))
		store_abort(rc);
	return (-1);
}

/*
 * Put one accepted message.  Returns 0 and later calls cb (after the
 * commit) with STORE_OK or STORE_DUPLICATE (or STORE_REFUSED if the commit
 * failed); returns -1 when the store refuses now (cb is not called).
 */
int
store_put_message(const struct store_msg *m, store_done_cb cb, void *arg)
{
	sqlite3_stmt	*s = st.q[Q_MSG_INS];
	size_t		 i;
	int		 prio, rc;

	if (st.db == NULL || st.refusing || store_begin() != 0)
		return (-1);
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
	sqlite3_bind_blob(s, 8, m->len ? m->body : "", (int)m->len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, st.msg_next + 1);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return (store_write_failed(rc));
	if (sqlite3_changes(st.db) == 0) {
		store_pend(cb, arg, STORE_DUPLICATE);
		return (0);
	}
	st.msg_next++;
	st.drows[prio]++;
	st.dbytes[prio] += (int64_t)m->len;
	if ((rc = store_enforce_cap()) != 0)
		return (store_write_failed(rc));
	/*
	 * Stages after the store (events, summaries) see each new message
	 * inside this transaction, so what they derive commits with it.
	 */
	for (i = 0; i < st.nhooks; i++)
		st.hook[i](m, st.msg_next, st.hook_arg[i]);
	store_pend(cb, arg, STORE_OK);
	return (0);
}

/* Call fn for every newly stored message, inside its transaction. */
void
store_add_message_hook(store_msg_hook fn, void *arg)
{
	if (st.nhooks == STORE_MAX_HOOKS)
		fatalx("store: too many message hooks");
	st.hook[st.nhooks] = fn;
	st.hook_arg[st.nhooks++] = arg;
}

/* Tell fn (once per rollback) when a transaction's writes are undone. */
void
store_set_rollback(store_rollback_cb fn)
{
	st.rollback = fn;
}

/* Stop calling fn. */
void
store_remove_message_hook(store_msg_hook fn)
{
	size_t	i;

	for (i = 0; i < st.nhooks; i++) {
		if (st.hook[i] != fn)
			continue;
		st.nhooks--;
		memmove(&st.hook[i], &st.hook[i + 1], (st.nhooks - i) *
		    sizeof st.hook[0]);
		memmove(&st.hook_arg[i], &st.hook_arg[i + 1], (st.nhooks - i) *
		    sizeof st.hook_arg[0]);
		return;
	}
}

/* Non-NULL with the transaction open, for store_state.c; NULL: refusing. */
sqlite3 *
store_write_begin(void)
{
	if (st.db == NULL || st.refusing || store_begin() != 0)
		return (NULL);
	return (st.db);
}

/* The open database for reads (store_state.c). */
sqlite3 *
store_handle(void)
{
	return (st.db);
}

/* A write in store_state.c failed: same handling as ours. */
int
store_write_error(int rc)
{
	return (store_write_failed(rc));
}

/* Step a message DELETE ... RETURNING for store_state.c (not a drop). */
int
store_delete_rows(sqlite3_stmt *s, uint64_t *nrows)
{
	return (store_delete_step(s, 0, nrows));
}

/*
 * Add a row to the outbox (events, summaries, windows).  topic is relative
 * to mqtt.topic_prefix ("events/n1"; the uplink prepends "P/"), which keeps
 * rows small.  Same contract as store_put_message(); cb may be NULL.  The
 * payload must carry its "id".
 */
int
store_outbox_add(const char *topic, const void *payload, size_t len,
    enum store_class cls, int retain, store_done_cb cb, void *arg)
{
	sqlite3_stmt	*s = st.q[Q_OUT_INS];
	int		 rc;

	if (st.db == NULL || st.refusing || store_begin() != 0)
		return (-1);
	/*
	 * A row the broker would refuse must not stop the rows after it:
	 * over mqtt.max_payload it is not stored at all (counted, logged).
	 */
	if (len > st.max_payload) {
		st.oversize++;
		if (daemon_now_ms() - st.oversize_log_ms >= STORE_DROP_LOG_MS) {
			st.oversize_log_ms = daemon_now_ms();
			log_warnx("store: %s: %zu bytes is over mqtt.max_payload "
			    "(%" PRIu64 "); not sent (%" PRIu64 " so far)", topic,
			    len, st.max_payload, st.oversize);
		}
		store_pend(cb, arg, STORE_OK);
		return (0);
	}
	sqlite3_bind_int(s, 1, (int)cls);
	sqlite3_bind_int64(s, 2, (int64_t)daemon_now_ms());
	sqlite3_bind_int(s, 3, retain != 0);
	sqlite3_bind_text(s, 4, topic, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, len ? payload : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, st.next_id + 1);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return (store_write_failed(rc));
	st.next_id++;
	st.drows[cls]++;
	st.dbytes[cls] += (int64_t)len;
	st.grew = 1;
	if ((rc = store_enforce_cap()) != 0)
		return (store_write_failed(rc));
	store_pend(cb, arg, STORE_OK);
	return (0);
}

/* Non-zero when puts are accepted (not in disk-full/I/O-error mode). */
int
store_accepting(void)
{
	return (st.db != NULL && !st.refusing);
}

/* Called after each commit that added outbox rows (the uplink wakes up). */
void
store_set_notify(store_notify_cb cb)
{
	st.notify = cb;
}

/*
 * Hand up to max outbox rows with after < id <= upto, oldest first, to cb.
 * Rows added in a transaction not yet committed are visible too, so callers
 * should fetch from the notify callback (after the commit).
 */
size_t
store_outbox_fetch(int64_t after, int64_t upto, size_t max, store_row_cb cb,
    void *arg)
{
	sqlite3_stmt	*s = st.q[Q_OUT_FETCH];
	struct store_row r;
	size_t		 n = 0;
	int		 rc;

	if (st.db == NULL)
		return (0);
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, upto);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(s, 0);
		r.topic = (const char *)sqlite3_column_text(s, 1);
		r.payload = sqlite3_column_blob(s, 2);
		r.len = (size_t)sqlite3_column_bytes(s, 2);
		r.retain = sqlite3_column_int(s, 3);
		r.created_ms = (uint64_t)sqlite3_column_int64(s, 4);
		cb(&r, arg);
		n++;
	}
	if (rc != SQLITE_DONE)
		log_warnx("store: outbox read: %s", sqlite3_errmsg(st.db));
	sqlite3_reset(s);
	return (n);
}

/* The highest committed outbox id (ids only grow while we run). */
int64_t
store_outbox_last_id(void)
{
	return (st.last_id);
}

/* Rows first..last were acknowledged (PUBACK): delete them, this turn. */
void
store_outbox_delete(int64_t first, int64_t last)
{
	uint64_t	n;
	int		rc;

	/* In refusing mode a delete may still succeed: it frees space. */
	if (st.db == NULL || store_begin() != 0)
		return;
	sqlite3_bind_int64(st.q[Q_OUT_DEL], 1, first);
	sqlite3_bind_int64(st.q[Q_OUT_DEL], 2, last);
	if ((rc = store_delete_step(st.q[Q_OUT_DEL], 0, &n)) != 0)
		store_write_failed(rc);
}

/*
 * Move outbox row id to the aside table with a reason (the broker keeps
 * refusing it), in this turn's transaction; the newest STORE_ASIDE_KEEP
 * set-aside rows are kept.  0, or -1 when the store refuses writes.
 */
int
store_outbox_set_aside(int64_t id, const char *reason)
{
	sqlite3_stmt	*s = st.q[Q_ASIDE_INS];
	uint64_t	 n;
	int		 rc;

	if (st.db == NULL || st.refusing || store_begin() != 0)
		return (-1);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)daemon_now_ms());
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return (store_write_failed(rc));
	s = st.q[Q_ASIDE_TRIM];
	sqlite3_bind_int(s, 1, STORE_ASIDE_KEEP);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return (store_write_failed(rc));
	sqlite3_bind_int64(st.q[Q_OUT_DEL], 1, id);
	sqlite3_bind_int64(st.q[Q_OUT_DEL], 2, id);
	if ((rc = store_delete_step(st.q[Q_OUT_DEL], 0, &n)) != 0)
		return (store_write_failed(rc));
	if (n > 0)
		st.set_aside++;
	return (0);
}

/* Fill the numbers for metrics and status. */
void
store_stats(struct store_stats *ss)
{
	sqlite3_stmt	*s = st.q[Q_OUT_OLDEST];
	uint64_t	 now = daemon_now_ms(), created;

	memset(ss, 0, sizeof *ss);
	if (st.db == NULL)
		return;
	ss->queued = store_total(st.rows, st.drows, STORE_CLASS_SUMMARY,
	    STORE_CLASS_EVENT) + store_total(st.rows, st.drows,
	    STORE_CLASS_WINDOW, STORE_CLASS_WINDOW);
	ss->messages = store_total(st.rows, st.drows, STORE_CLASS_RAW_WINDOW,
	    STORE_CLASS_RAW);
	ss->bytes = store_total(st.bytes, st.dbytes, 0, STORE_NCLASS - 1);
	ss->dropped = st.dropped + st.ddropped;
	ss->oversize = st.oversize;
	ss->set_aside = st.set_aside;
	ss->refusing = st.refusing;
	if (sqlite3_step(s) == SQLITE_ROW) {
		created = (uint64_t)sqlite3_column_int64(s, 0);
		ss->oldest_age_s = now > created ? (now - created) / 1000 : 0;
	}
	sqlite3_reset(s);
}

/* One-line status for systemd. */
size_t
store_status(char *buf, size_t len)
{
	struct store_stats	ss;
	int			n;

	store_stats(&ss);
	n = snprintf(buf, len, "store %" PRIu64 " queued, %" PRIu64 " KB%s",
	    ss.queued, ss.bytes / 1024, ss.refusing ? ", REFUSING (disk)" : "");
	return (n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n);
}

/* Drop rows older than max_age (outbox and messages). */
static void
store_prune_age(uint64_t now)
{
	uint64_t	n, total = 0;
	int		i, rc;

	if (now < st.max_age_ms || store_begin() != 0)
		return;
	for (i = 0; i < 2; i++) {
		sqlite3_stmt *s = st.q[i == 0 ? Q_OUT_AGE : Q_MSG_AGE];
		do {
			sqlite3_bind_int64(s, 1, (int64_t)(now -
			    st.max_age_ms));
			if ((rc = store_delete_step(s, 1, &n)) != 0) {
				store_write_failed(rc);
				return;
			}
			total += n;
		} while (n > 0);
	}
	store_log_drops(0, total);
}

/* Refusing mode: enough free space again? */
static void
store_probe_recovery(uint64_t now)
{
	struct statvfs	sv;

	if (now - st.refuse_probe_ms < STORE_RETRY_MS)
		return;
	st.refuse_probe_ms = now;
	if (statvfs(st.dir, &sv) == -1 ||
	    (uint64_t)sv.f_bavail * sv.f_frsize < STORE_MIN_FREE)
		return;
	st.refusing = 0;
	log_info("store: %s: space available again, accepting data",
	    st.path);
}

/* Housekeeping (daemon check, every second): age, drops, checkpoint. */
void
store_check(uint64_t mono)
{
	uint64_t	now = daemon_now_ms();

	(void)mono;
	if (st.db == NULL)
		return;
	if (st.refusing)
		store_probe_recovery(now);
	if (now - st.last_age_ms >= STORE_AGE_EVERY_MS) {
		st.last_age_ms = now;
		if (!st.refusing)
			store_prune_age(now);
	}
	store_log_drops(0, 0);
	if (!st.refusing)
		store_state_check(now);
	/* Keep the WAL small on SD cards: truncate it once writes pause. */
	if (st.dirty && !st.in_txn && now - st.last_write_ms >=
	    STORE_IDLE_CKPT_MS) {
		if (store_exec("PRAGMA wal_checkpoint(TRUNCATE)", NULL) ==
		    SQLITE_OK)
			st.dirty = 0;
	}
}
