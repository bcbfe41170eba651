/*
 * store_state.c - the store's small named records and message replay.
 *
 * The stages after the store keep a little state that must survive a
 * crash together with the data it describes: the summary stage's cursor
 * into the message table and its open events.  Each record is a row of
 * the state table (key, value), written inside the store's open
 * transaction, so a record and the message that changed it commit
 * together or not at all.
 *
 * store_msg_scan() hands the stored messages after a given id back to a
 * stage at start, in id order, through the same hook type the store uses
 * for new messages; that is how the summary stage rebuilds the interval it
 * had not finished when the daemon was killed.
 *
 * The message cursor is one such record ("msg_cursor"): the last message
 * the summary stage has accounted for.  Rows up to it are kept for
 * store.raw_retention and then deleted by the housekeeping check; with
 * raw_retention = 0 they go in the transaction that moves the cursor.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

#define STORE_RETAIN_EVERY_MS	10000	/* raw_retention pruning period */
#define STORE_RETIRE_BATCH	1024	/* rows per retire statement */

enum {
	S_SET, S_DEL, S_SCAN, S_MSG, S_RETIRE, S_CURSOR, S_GET, S_COUNT
};

static const char *const store_state_sql[S_COUNT] = {
	"INSERT INTO state(key, val) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET val = excluded.val",
	"DELETE FROM state WHERE key = ?1",
	"SELECT key, val FROM state WHERE substr(key, 1, length(?1)) = ?1 "
	    "ORDER BY key",
	"SELECT id, node, boot, seq, kind, rx_ms, ts_ms, body FROM msg "
	    "WHERE id > ?1 ORDER BY id",
	/*
	 * Only the oldest rows are looked at: ids grow with receive time, so
	 * once the oldest consumed row is too young nothing older is left,
	 * and a large retained table is not scanned every period.
	 */
	"DELETE FROM msg WHERE id IN (SELECT id FROM msg WHERE id <= ?1 "
	    "ORDER BY id LIMIT ?3) AND rx_ms < ?2 RETURNING prio, length(body)",
	"SELECT coalesce((SELECT val FROM state WHERE key = 'msg_cursor'), 0)",
	"SELECT val FROM state WHERE key = ?1",
};

/* Prepared lazily on the store's connection; finalized when it closes. */
static sqlite3_stmt	*store_state_q[S_COUNT];

static struct {
	int64_t		cursor;		/* committed */
	int64_t		dcursor;	/* in the open transaction */
	uint64_t	retention_ms;
	uint64_t	last_retain_ms;
} ss;

/* The statement for index i, prepared on first use; NULL on failure. */
static sqlite3_stmt *
store_state_stmt(int i)
{
	sqlite3	*db = store_handle();

	if (db == NULL)
		return (NULL);
	if (store_state_q[i] == NULL && sqlite3_prepare_v3(db,
	    store_state_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
	    &store_state_q[i], NULL) != SQLITE_OK) {
		log_warnx("store: state: %s", sqlite3_errmsg(db));
		return (NULL);
	}
	return (store_state_q[i]);
}

/* Finalize our statements (the store is closing its connection). */
void
store_state_close(void)
{
	size_t	i;

	for (i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(store_state_q[i]);
		store_state_q[i] = NULL;
	}
}

/* Step a write statement to its end and reset it. */
static int
store_state_step(sqlite3_stmt *s)
{
	int	rc;

	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return (store_write_error(rc));
	return (0);
}

/* Set record key to a blob, in the open transaction; -1: refused. */
int
store_state_set(const char *key, const void *val, size_t len)
{
	sqlite3_stmt	*s;

	if (store_write_begin() == NULL || (s = store_state_stmt(S_SET)) ==
	    NULL)
		return (-1);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, len ? val : "", (int)len, SQLITE_STATIC);
	return (store_state_step(s));
}

/* Set record key to an integer (the cursor, the journal's position). */
int
store_state_set_int(const char *key, int64_t v)
{
	sqlite3_stmt	*s;

	if (store_write_begin() == NULL || (s = store_state_stmt(S_SET)) ==
	    NULL)
		return (-1);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v);
	return (store_state_step(s));
}

/* Read integer record key into *v (0 when absent); an SQLite code. */
int
store_state_get_int(const char *key, int64_t *v)
{
	sqlite3_stmt	*s;
	int		 rc;

	*v = 0;
	if ((s = store_state_stmt(S_GET)) == NULL)
		return (SQLITE_ERROR);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return (rc);
}

/* Delete record key, in the open transaction. */
int
store_state_delete(const char *key)
{
	sqlite3_stmt	*s;

	if (store_write_begin() == NULL || (s = store_state_stmt(S_DEL)) ==
	    NULL)
		return (-1);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return (store_state_step(s));
}

/* Call cb for each record whose key starts with prefix, in key order. */
int
store_state_scan(const char *prefix, store_state_cb cb, void *arg)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_state_stmt(S_SCAN)) == NULL)
		return (-1);
	sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cb((const char *)sqlite3_column_text(s, 0),
		    sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1), arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		log_warnx("store: state read: %s",
		    sqlite3_errmsg(store_handle()));
		return (-1);
	}
	return (0);
}

/* Hand every stored message with id > after to fn, oldest first. */
int
store_msg_scan(int64_t after, store_msg_hook fn, void *arg)
{
	struct store_msg	 m;
	sqlite3_stmt		*s;
	int			 rc;

	if ((s = store_state_stmt(S_MSG)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, after);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&m, 0, sizeof m);
		m.node = (const char *)sqlite3_column_text(s, 1);
		m.boot = (uint32_t)sqlite3_column_int64(s, 2);
		m.seq = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 3);
		m.kind = (enum store_kind)sqlite3_column_int(s, 4);
		m.rx_ms = (uint64_t)sqlite3_column_int64(s, 5);
		m.ts_ms = sqlite3_column_int64(s, 6);
		m.body = sqlite3_column_blob(s, 7);
		m.len = (size_t)sqlite3_column_bytes(s, 7);
		fn(&m, sqlite3_column_int64(s, 0), arg);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("store: message replay: %s",
		    sqlite3_errmsg(store_handle()));
		return (-1);
	}
	return (0);
}

/* Read the cursor (store.c, right after opening); an SQLite code. */
int
store_state_load(void)
{
	sqlite3_stmt	*s;
	int		 rc;

	ss.cursor = 0;
	ss.last_retain_ms = 0;
	if ((s = store_state_stmt(S_CURSOR)) == NULL)
		return (SQLITE_ERROR);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ss.cursor = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_reset(s);
	ss.dcursor = ss.cursor;
	return (rc);
}

/* The store's transaction ended: committed (1) or rolled back (0). */
void
store_state_end(int committed)
{
	if (committed)
		ss.cursor = ss.dcursor;
	else
		ss.dcursor = ss.cursor;
}

/* store.raw_retention, from the configuration in force. */
void
store_state_retention(uint64_t ms)
{
	ss.retention_ms = ms;
}

/* Delete consumed messages (id <= upto) received before rx_before. */
static int
store_state_retire(int64_t upto, uint64_t rx_before)
{
	sqlite3_stmt	*s;
	uint64_t	 n;
	int		 rc;

	if ((s = store_state_stmt(S_RETIRE)) == NULL)
		return (-1);
	do {
		sqlite3_bind_int64(s, 1, upto);
		sqlite3_bind_int64(s, 2, rx_before > INT64_MAX ? INT64_MAX :
		    (int64_t)rx_before);
		sqlite3_bind_int64(s, 3, STORE_RETIRE_BATCH);
		if ((rc = store_delete_rows(s, &n)) != 0)
			return (store_write_error(rc));
	} while (n > 0);
	return (0);
}

/*
 * Over max_bytes: delete up to batch consumed messages, oldest first.
 * They are local copies kept for raw_retention only, so they go before
 * anything still to be published or summarized.  Returns an SQLite code;
 * *n is how many went.
 */
int
store_state_evict(uint64_t batch, uint64_t *n)
{
	sqlite3_stmt	*s;

	*n = 0;
	if (ss.dcursor == 0 || (s = store_state_stmt(S_RETIRE)) == NULL)
		return (SQLITE_OK);
	sqlite3_bind_int64(s, 1, ss.dcursor);
	sqlite3_bind_int64(s, 2, INT64_MAX);
	sqlite3_bind_int64(s, 3, (int64_t)batch);
	return (store_delete_rows(s, n));
}

/*
 * The summary stage has accounted for every message up to id upto: move
 * the cursor there, in the open transaction, and with raw_retention = 0
 * delete those rows in the same transaction.
 */
int
store_msg_consume(int64_t upto)
{
	if (upto <= ss.dcursor)
		return (0);
	if (store_state_set_int("msg_cursor", upto) != 0)
		return (-1);
	ss.dcursor = upto;
	if (ss.retention_ms == 0)
		return (store_state_retire(upto, UINT64_MAX));
	return (0);
}

/* How far the summary stage has consumed the message table. */
int64_t
store_msg_cursor(void)
{
	return (ss.dcursor);
}

/* Housekeeping (store_check): drop consumed rows past raw_retention. */
void
store_state_check(uint64_t now)
{
	if (ss.retention_ms == 0 || ss.cursor == 0 || now <
	    ss.retention_ms || now - ss.last_retain_ms < STORE_RETAIN_EVERY_MS)
		return;
	ss.last_retain_ms = now;
	if (store_write_begin() != NULL)
		store_state_retire(ss.cursor, now - ss.retention_ms);
}
