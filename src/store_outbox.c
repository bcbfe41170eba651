/*
 * store_outbox.c - the outbox (what the uplink publishes) and the caps on
 * everything the store holds.
 *
 * Outbox rows are added inside the store's open transaction, mostly by the
 * stages after the store while a message is being applied.  The uplink may
 * read them before that transaction commits (the same connection sees its
 * own writes): the messages they derive from are already in the journal,
 * so a crash before the commit makes them again, with the same ids, from
 * the journal.  A row the broker acknowledges is deleted in the open
 * transaction too, and a row added and deleted before one commit costs
 * almost no write at all.  Row ids only grow while the daemon runs, even
 * across a rollback, so an id in flight never names another row.
 *
 * Caps: bytes are counted per priority class in memory (loaded at start,
 * kept in step with every insert and delete, transaction deltas applied
 * at commit).  Each row counts its payload plus STORE_ROW_OVERHEAD for its
 * columns and page space, so max_bytes bounds the file, not just the
 * payloads.  Over max_bytes, raw messages already summarized (kept only for
 * raw_retention) go first, then the oldest rows of the lowest class, down
 * to 90% of the cap: outbox windows, stored raw windows, other raw
 * messages, summaries, events.  Outbox rows and raw messages not yet
 * summarized that go are counted as dropped; summarized raw rows as
 * pruned.  max_age prunes from the oldest end.  A row over mqtt.max_payload
 * is not stored at all (counted, logged): it would stop the rows after it.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define STORE_ROW_OVERHEAD	64	/* bytes a row costs beyond its body */
#define STORE_EVICT_BATCH	1024
#define STORE_DROP_LOG_MS	10000	/* at most one drop line per this */
#define STORE_ASIDE_KEEP	100	/* rows kept in the aside table */

/* Prepared statements, by index. */
enum {
	Q_OUT_INS, Q_OUT_FETCH, Q_OUT_DEL, Q_OUT_EVICT, Q_MSG_EVICT,
	Q_OUT_AGE, Q_MSG_AGE, Q_OUT_OLDEST, Q_ASIDE_INS, Q_ASIDE_TRIM,
	Q_COUNT
};

/* Deletes return (prio, length, id): the id tells summarized rows apart. */
static const char *const outbox_sql[Q_COUNT] = {
	"INSERT INTO outbox(id, prio, created_ms, retain, topic, payload) "
	    "VALUES (?6, ?1, ?2, ?3, ?4, ?5)",
	"SELECT id, topic, payload, retain, created_ms FROM outbox "
	    "WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
	"DELETE FROM outbox WHERE id BETWEEN ?1 AND ?2 "
	    "RETURNING prio, length(payload), 0",
	"DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE "
	    "prio = ?1 ORDER BY id LIMIT ?2) RETURNING prio, length(payload), 0",
	"DELETE FROM msg WHERE id IN (SELECT id FROM msg WHERE "
	    "prio = ?1 ORDER BY id LIMIT ?2) RETURNING prio, length(body), id",
	"DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id "
	    "LIMIT 256) AND created_ms < ?1 RETURNING prio, length(payload), 0",
	"DELETE FROM msg WHERE id IN (SELECT id FROM msg ORDER BY id "
	    "LIMIT 256) AND rx_ms < ?1 RETURNING prio, length(body), id",
	"SELECT created_ms FROM outbox ORDER BY id LIMIT 1",
	"INSERT INTO aside(id, created_ms, aside_ms, retain, topic, payload, "
	    "reason) SELECT id, created_ms, ?2, retain, topic, payload, ?3 "
	    "FROM outbox WHERE id = ?1",
	"DELETE FROM aside WHERE id NOT IN (SELECT id FROM aside ORDER BY id "
	    "DESC LIMIT ?1)",
};

static struct {
	sqlite3_stmt	*q[Q_COUNT];
	uint64_t	 max_bytes, max_age_ms, max_payload;
	uint64_t	 rows[STORE_NCLASS];	/* committed */
	uint64_t	 bytes[STORE_NCLASS];
	int64_t		 drows[STORE_NCLASS];	/* this transaction */
	int64_t		 dbytes[STORE_NCLASS];
	uint64_t	 dropped, ddropped, pruned;
	uint64_t	 unlogged_cap, unlogged_age, drop_log_ms;
	uint64_t	 oversize, oversize_log_ms, set_aside;
	int64_t		 last_id;	/* highest id assigned, ever */
} outbox;

/* Sum of committed totals plus this transaction's deltas, classes a..b. */
static uint64_t
store_outbox_sum(const uint64_t *base, const int64_t *delta, int a, int b)
{
	int64_t	t = 0;
	int	i;

	for (i = a; i <= b; i++)
		t += (int64_t)base[i] + delta[i];
	return (t > 0 ? (uint64_t)t : 0);
}

/* Prepare our statements on the store's connection. */
int
store_outbox_prepare(sqlite3 *db)
{
	size_t	i;
	int	rc;

	for (i = 0; i < Q_COUNT; i++) {
		rc = sqlite3_prepare_v3(db, outbox_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &outbox.q[i], NULL);
		if (rc != SQLITE_OK)
			return (rc);
	}
	return (SQLITE_OK);
}

/* Finalize them (the connection closes). */
void
store_outbox_finalize(void)
{
	size_t	i;

	for (i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(outbox.q[i]);
		outbox.q[i] = NULL;
	}
}

/* Load the per-class row and byte totals and the last outbox id. */
int
store_outbox_load(sqlite3 *db)
{
	static const char *const sql[] = {
		"SELECT prio, count(*), sum(length(payload)) FROM outbox "
		    "GROUP BY prio",
		"SELECT prio, count(*), sum(length(body)) FROM msg "
		    "GROUP BY prio",
	};
	sqlite3_stmt	*s;
	size_t		 i;
	int64_t		 c, n;
	int		 rc;

	memset(outbox.rows, 0, sizeof outbox.rows);
	memset(outbox.bytes, 0, sizeof outbox.bytes);
	for (i = 0; i < 2; i++) {
		if ((rc = sqlite3_prepare_v2(db, sql[i], -1, &s, NULL)) !=
		    SQLITE_OK)
			return (rc);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			c = sqlite3_column_int64(s, 0);
			if (c < 0 || c >= STORE_NCLASS)
				continue;
			n = sqlite3_column_int64(s, 1);
			outbox.rows[c] += (uint64_t)n;
			outbox.bytes[c] += (uint64_t)(sqlite3_column_int64(s,
			    2) +
			    n * STORE_ROW_OVERHEAD);
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return (rc);
	}
	return (store_db_query_int(db, "SELECT max(coalesce((SELECT max(id) "
	    "FROM outbox), 0), coalesce((SELECT max(id) FROM aside), 0))",
	    &outbox.last_id));
}

/* The caps in force (start and reload). */
void
store_outbox_caps(uint64_t max_bytes, uint64_t max_age_ms, uint64_t max_payload)
{
	outbox.max_bytes = max_bytes;
	outbox.max_age_ms = max_age_ms;
	outbox.max_payload = max_payload;
}

/* The transaction ended: apply (committed) or forget (0) its deltas. */
void
store_outbox_txn_end(int committed)
{
	size_t	i;

	if (committed) {
		for (i = 0; i < STORE_NCLASS; i++) {
			outbox.rows[i] = (uint64_t)((int64_t)outbox.rows[i] +
			    outbox.drows[i]);
			outbox.bytes[i] = (uint64_t)((int64_t)outbox.bytes[i] +
			    outbox.dbytes[i]);
		}
		outbox.dropped += outbox.ddropped;
	}
	memset(outbox.drows, 0, sizeof outbox.drows);
	memset(outbox.dbytes, 0, sizeof outbox.dbytes);
	outbox.ddropped = 0;
}

/* Step a DELETE ... RETURNING prio, length, id; account rows removed. */
static int
store_outbox_delete_step(sqlite3_stmt *s, int count_drop, uint64_t *nrows)
{
	int64_t	prio, cursor = store_msg_cursor();
	int	rc, raw;

	*nrows = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		prio = sqlite3_column_int64(s, 0);
		if (prio < 0 || prio >= STORE_NCLASS)
			continue;
		outbox.drows[prio]--;
		outbox.dbytes[prio] -= sqlite3_column_int64(s, 1) +
		    STORE_ROW_OVERHEAD;
		(*nrows)++;
		if (!count_drop)
			continue;
		/* A raw row not yet summarized is data lost: a drop. */
		raw = prio == STORE_CLASS_RAW || prio == STORE_CLASS_RAW_WINDOW;
		if (raw && sqlite3_column_int64(s, 2) <= cursor)
			outbox.pruned++;
		else
			outbox.ddropped++;
	}
	sqlite3_reset(s);
	return (rc == SQLITE_DONE ? 0 : rc);
}

/* Step a message DELETE ... RETURNING for store_msg.c (not a drop). */
int
store_delete_rows(sqlite3_stmt *s, uint64_t *nrows)
{
	return (store_outbox_delete_step(s, 0, nrows));
}

/* Count drops (cap or age) and log them at most once per period. */
static void
store_outbox_drops(uint64_t cap, uint64_t age)
{
	uint64_t	now = daemon_now_ms();

	outbox.unlogged_cap += cap;
	outbox.unlogged_age += age;
	if (outbox.unlogged_cap + outbox.unlogged_age == 0 ||
	    now - outbox.drop_log_ms < STORE_DROP_LOG_MS)
		return;
	log_warnx("store: dropped %" PRIu64 " oldest rows over "
	    "store.max_bytes and %" PRIu64 " older than store.max_age; %"
	    PRIu64 " rows dropped since start", outbox.unlogged_cap,
	    outbox.unlogged_age, outbox.dropped + outbox.ddropped);
	outbox.unlogged_cap = outbox.unlogged_age = 0;
	outbox.drop_log_ms = now;
}

/* Housekeeping: log drops not yet logged (rate-limited). */
void
store_outbox_log_drops(void)
{
	store_outbox_drops(0, 0);
}

/* Over max_bytes: delete oldest rows, lowest class first, to 90%. */
int
store_outbox_enforce(void)
{
	uint64_t	 target, n, total = 0, cur, rows, avg, batch;
	sqlite3_stmt	*s;
	int		 c, rc;

	if (store_outbox_total() <= outbox.max_bytes)
		return (0);
	target = outbox.max_bytes / 10 * 9;
	/* Raw messages already summarized are only kept for people. */
	do {
		if ((rc = store_msg_evict(STORE_EVICT_BATCH, &n)) != 0)
			return (rc);
	} while (n > 0 && store_outbox_total() > target);
	for (c = 0; c < STORE_NCLASS; c++) {
		s = (c == STORE_CLASS_RAW || c == STORE_CLASS_RAW_WINDOW) ?
		    outbox.q[Q_MSG_EVICT] : outbox.q[Q_OUT_EVICT];
		while ((cur = store_outbox_total()) > target &&
		    (rows = store_outbox_sum(outbox.rows, outbox.drows, c,
		    c)) > 0) {
			/* Rows to delete from this class's mean row size. */
			avg = store_outbox_sum(outbox.bytes, outbox.dbytes, c,
			    c) /
			    rows;
			batch = (cur - target) / (avg ? avg : 1) + 1;
			if (batch > STORE_EVICT_BATCH)
				batch = STORE_EVICT_BATCH;
			sqlite3_bind_int(s, 1, c);
			sqlite3_bind_int64(s, 2, (int64_t)batch);
			if ((rc = store_outbox_delete_step(s, 1, &n)) != 0)
				return (rc);
			total += n;
			if (n == 0)
				break;
		}
	}
	store_outbox_drops(total, 0);
	return (0);
}

/* A message row of class prio and len bytes was inserted: account, cap. */
int
store_outbox_account_msg(int prio, int64_t len)
{
	outbox.drows[prio]++;
	outbox.dbytes[prio] += len + STORE_ROW_OVERHEAD;
	return (store_outbox_enforce());
}

/* Payload and overhead bytes held now (committed and pending). */
uint64_t
store_outbox_total(void)
{
	return (store_outbox_sum(outbox.bytes, outbox.dbytes, 0,
	    STORE_NCLASS - 1));
}

/*
 * Add a row to the outbox (events, summaries, windows).  topic is relative
 * to mqtt.topic_prefix ("events/n1"; the uplink prepends "P/"), which keeps
 * rows small.  Returns 0 (cb, if any, runs after the commit), or -1 when
 * the store refuses writes.  The payload must carry its "id".
 */
int
store_outbox_add(const char *topic, const void *payload, size_t len,
    enum store_class cls, int retain, store_done_cb cb, void *arg)
{
	sqlite3_stmt	*s = outbox.q[Q_OUT_INS];
	uint64_t	 now = daemon_now_ms();
	int		 rc;

	if (store_write_begin() == NULL)
		return (-1);
	if (len > outbox.max_payload) {
		outbox.oversize++;
		if (now - outbox.oversize_log_ms >= STORE_DROP_LOG_MS) {
			outbox.oversize_log_ms = now;
			log_warnx("store: %s: %zu bytes is over mqtt.max_payload "
			    "(%" PRIu64 "); not sent (%" PRIu64 " so far)",
			    topic,
			    len, outbox.max_payload, outbox.oversize);
		}
		store_pend(cb, arg, STORE_OK);
		return (0);
	}
	sqlite3_bind_int(s, 1, (int)cls);
	sqlite3_bind_int64(s, 2, (int64_t)now);
	sqlite3_bind_int(s, 3, retain != 0);
	sqlite3_bind_text(s, 4, topic, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, len ? payload : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, outbox.last_id + 1);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return (store_write_error(rc));
	outbox.last_id++;
	outbox.drows[cls]++;
	outbox.dbytes[cls] += (int64_t)len + STORE_ROW_OVERHEAD;
	if ((rc = store_outbox_enforce()) != 0)
		return (store_write_error(rc));
	store_pend(cb, arg, STORE_OK);
	store_turn_notify();
	return (0);
}

/*
 * Hand up to max outbox rows with after < id <= upto, oldest first, to cb.
 * Rows of the open transaction are included (see the top of the file).
 */
size_t
store_outbox_fetch(int64_t after, int64_t upto, size_t max, store_row_cb cb,
    void *arg)
{
	sqlite3_stmt	*s = outbox.q[Q_OUT_FETCH];
	struct store_row r;
	size_t		 n = 0;
	int		 rc;

	if (s == NULL)
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
		log_warnx("store: outbox read: %s",
		    sqlite3_errmsg(store_handle()));
	sqlite3_reset(s);
	return (n);
}

/* The highest outbox id handed out (ids only grow while we run). */
int64_t
store_outbox_last_id(void)
{
	return (outbox.last_id);
}

/* Rows first..last were acknowledged (PUBACK): delete them. */
void
store_outbox_delete(int64_t first, int64_t last)
{
	uint64_t	n;
	int		rc;

	/* While SQLite refuses writes a delete may still work: try. */
	if (store_handle() == NULL || store_write_begin() == NULL)
		return;
	sqlite3_bind_int64(outbox.q[Q_OUT_DEL], 1, first);
	sqlite3_bind_int64(outbox.q[Q_OUT_DEL], 2, last);
	if ((rc = store_outbox_delete_step(outbox.q[Q_OUT_DEL], 0, &n)) != 0)
		store_write_error(rc);
}

/*
 * Move outbox row id to the aside table with a reason (the broker keeps
 * refusing it), in the open transaction; the newest STORE_ASIDE_KEEP
 * set-aside rows are kept.  0, or -1 when the store refuses writes.
 */
int
store_outbox_set_aside(int64_t id, const char *reason)
{
	sqlite3_stmt	*s = outbox.q[Q_ASIDE_INS];
	uint64_t	 n;
	int		 rc;

	if (store_write_begin() == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)daemon_now_ms());
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return (store_write_error(rc));
	s = outbox.q[Q_ASIDE_TRIM];
	sqlite3_bind_int(s, 1, STORE_ASIDE_KEEP);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return (store_write_error(rc));
	sqlite3_bind_int64(outbox.q[Q_OUT_DEL], 1, id);
	sqlite3_bind_int64(outbox.q[Q_OUT_DEL], 2, id);
	if ((rc = store_outbox_delete_step(outbox.q[Q_OUT_DEL], 0, &n)) != 0)
		return (store_write_error(rc));
	if (n > 0)
		outbox.set_aside++;
	return (0);
}

/* Drop rows older than max_age (outbox and messages). */
void
store_outbox_prune(uint64_t now)
{
	uint64_t	n, total = 0;
	int		i, rc;

	if (now < outbox.max_age_ms || store_write_begin() == NULL)
		return;
	for (i = 0; i < 2; i++) {
		sqlite3_stmt *s = outbox.q[i == 0 ? Q_OUT_AGE : Q_MSG_AGE];
		do {
			sqlite3_bind_int64(s, 1, (int64_t)(now -
			    outbox.max_age_ms));
			if ((rc = store_outbox_delete_step(s, 1, &n)) != 0) {
				store_write_error(rc);
				return;
			}
			total += n;
		} while (n > 0);
	}
	store_outbox_drops(0, total);
}

/* The outbox's part of the numbers for metrics and status. */
void
store_outbox_counts(struct store_stats *ss)
{
	sqlite3_stmt	*s = outbox.q[Q_OUT_OLDEST];
	uint64_t	 now = daemon_now_ms(), created;

	ss->queued = store_outbox_sum(outbox.rows, outbox.drows,
	    STORE_CLASS_SUMMARY,
	    STORE_CLASS_EVENT) + store_outbox_sum(outbox.rows, outbox.drows,
	    STORE_CLASS_WINDOW, STORE_CLASS_WINDOW);
	ss->messages = store_outbox_sum(outbox.rows, outbox.drows,
	    STORE_CLASS_RAW_WINDOW, STORE_CLASS_RAW);
	ss->bytes = store_outbox_total();
	ss->dropped = outbox.dropped + outbox.ddropped;
	ss->oversize = outbox.oversize;
	ss->set_aside = outbox.set_aside;
	if (s != NULL && sqlite3_step(s) == SQLITE_ROW) {
		created = (uint64_t)sqlite3_column_int64(s, 0);
		ss->oldest_age_s = now > created ? (now - created) / 1000 : 0;
	}
	if (s != NULL)
		sqlite3_reset(s);
}
