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
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_db.h"

enum {
	S_SET, S_DEL, S_SCAN, S_MSG, S_COUNT
};

static const char *const store_state_sql[S_COUNT] = {
	"INSERT INTO state(key, val) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET val = excluded.val",
	"DELETE FROM state WHERE key = ?1",
	"SELECT key, val FROM state WHERE substr(key, 1, length(?1)) = ?1 "
	    "ORDER BY key",
	"SELECT id, node, boot, seq, kind, rx_ms, ts_ms, body FROM msg "
	    "WHERE id > ?1 ORDER BY id",
};

/* Prepared lazily on the store's connection; finalized when it closes. */
static sqlite3_stmt	*store_state_q[S_COUNT];

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

/* Set record key to an integer (store.c's cursor). */
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
