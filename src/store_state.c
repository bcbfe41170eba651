/*
 * store_state.c - the store's small named records.
 *
 * The stages after the store keep a little state that must survive a
 * crash together with the data it describes: the summary stage's cursor
 * into the message table and its open events.  Each record is a row of
 * the state table (key, value), written inside the store's open
 * transaction, so a record and the message that changed it commit
 * together or not at all.
 *
 * The message table as the stages see it (replay, the cursor, retention)
 * is store_msg.c's; its cursor is one of these records ("msg_cursor").
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

enum {
	S_SET, S_DEL, S_SCAN, S_GET, S_COUNT
};

static const char *const store_state_sql[S_COUNT] = {
	"INSERT INTO state(key, val) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET val = excluded.val",
	"DELETE FROM state WHERE key = ?1",
	"SELECT key, val FROM state WHERE substr(key, 1, length(?1)) = ?1 "
	    "ORDER BY key",
	"SELECT val FROM state WHERE key = ?1",
};

/* Prepared lazily on the store's connection; finalized when it closes. */
static sqlite3_stmt	*store_state_q[S_COUNT];

/*
 * The statement in *q, prepared from sql on first use on the store's
 * connection (store_msg.c's too); NULL on failure.
 */
sqlite3_stmt *
store_state_prepare(sqlite3_stmt **q, const char *sql)
{
	sqlite3	*db = store_handle();

	if (db == NULL)
		return (NULL);
	if (*q == NULL && sqlite3_prepare_v3(db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK) {
		log_warnx("store: state: %s", sqlite3_errmsg(db));
		return (NULL);
	}
	return (*q);
}

/* Our statement i, prepared on first use; NULL on failure. */
static sqlite3_stmt *
store_state_stmt(int i)
{
	return (store_state_prepare(&store_state_q[i], store_state_sql[i]));
}

/* Finalize the n statements in q (store_msg.c's too). */
void
store_state_finalize(sqlite3_stmt **q, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		sqlite3_finalize(q[i]);
		q[i] = NULL;
	}
}

/* Finalize our statements (the store is closing its connection). */
void
store_state_close(void)
{
	store_state_finalize(store_state_q, S_COUNT);
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

