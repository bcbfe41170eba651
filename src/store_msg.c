/*
 * store_msg.c - the message table as the stages after the store see it:
 * replay, the summary stage's cursor, and how long consumed rows stay.
 *
 * store_msg_scan() hands the stored messages after a given id back to a
 * stage at start, in id order, through the same hook type the store uses
 * for new messages; that is how the summary stage rebuilds the interval it
 * had not finished when the daemon was killed.
 *
 * The message cursor is a named record (store_state.c, "msg_cursor"): the
 * last message the summary stage has accounted for.  Rows up to it are
 * kept for store.raw_retention and then deleted by the housekeeping check;
 * with raw_retention = 0 they go in the transaction that moves the cursor.
 * Over max_bytes the outbox evicts consumed rows first.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

#define STORE_RETAIN_EVERY_MS	10000	/* raw_retention pruning period */
#define STORE_RETIRE_BATCH	1024	/* rows per retire statement */

enum {
	M_SCAN, M_RETIRE, M_CURSOR, M_COUNT
};

static const char *const store_msg_sql[M_COUNT] = {
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
};

/* Prepared lazily on the store's connection; finalized when it closes. */
static sqlite3_stmt	*store_msg_q[M_COUNT];

static struct {
	int64_t		cursor;		/* committed */
	int64_t		dcursor;	/* in the open transaction */
	uint64_t	retention_ms;
	uint64_t	last_retain_ms;
} store_msg_state;

/* Our statement i, prepared on first use; NULL on failure. */
static sqlite3_stmt *
store_msg_stmt(int i)
{
	return (store_state_prepare(&store_msg_q[i], store_msg_sql[i]));
}

/* Finalize our statements (the store is closing its connection). */
void
store_msg_close(void)
{
	store_state_finalize(store_msg_q, M_COUNT);
}

/* Read the cursor (store.c, right after opening); an SQLite code. */
int
store_msg_load(void)
{
	sqlite3_stmt	*s;
	int		 rc;

	store_msg_state.cursor = 0;
	store_msg_state.last_retain_ms = 0;
	if ((s = store_msg_stmt(M_CURSOR)) == NULL)
		return (SQLITE_ERROR);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_msg_state.cursor = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_reset(s);
	store_msg_state.dcursor = store_msg_state.cursor;
	return (rc);
}

/* The store's transaction ended: committed (1) or rolled back (0). */
void
store_msg_end(int committed)
{
	if (committed)
		store_msg_state.cursor = store_msg_state.dcursor;
	else
		store_msg_state.dcursor = store_msg_state.cursor;
}

/* store.raw_retention, from the configuration in force. */
void
store_msg_retention(uint64_t ms)
{
	store_msg_state.retention_ms = ms;
}

/* Delete consumed messages (id <= upto) received before rx_before. */
static int
store_msg_retire(int64_t upto, uint64_t rx_before)
{
	sqlite3_stmt	*s;
	uint64_t	 n;
	int		 rc;

	if ((s = store_msg_stmt(M_RETIRE)) == NULL)
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
store_msg_evict(uint64_t batch, uint64_t *n)
{
	sqlite3_stmt	*s;

	*n = 0;
	if (store_msg_state.dcursor == 0 ||
	    (s = store_msg_stmt(M_RETIRE)) == NULL)
		return (SQLITE_OK);
	sqlite3_bind_int64(s, 1, store_msg_state.dcursor);
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
	if (upto <= store_msg_state.dcursor)
		return (0);
	if (store_state_set_int("msg_cursor", upto) != 0)
		return (-1);
	store_msg_state.dcursor = upto;
	if (store_msg_state.retention_ms == 0)
		return (store_msg_retire(upto, UINT64_MAX));
	return (0);
}

/* How far the summary stage has consumed the message table. */
int64_t
store_msg_cursor(void)
{
	return (store_msg_state.dcursor);
}

/* Housekeeping (store_check): drop consumed rows past raw_retention. */
void
store_msg_check(uint64_t now)
{
	if (store_msg_state.retention_ms == 0 || store_msg_state.cursor == 0 ||
	    now < store_msg_state.retention_ms ||
	    now - store_msg_state.last_retain_ms < STORE_RETAIN_EVERY_MS)
		return;
	store_msg_state.last_retain_ms = now;
	if (store_write_begin() != NULL)
		store_msg_retire(store_msg_state.cursor,
		    now - store_msg_state.retention_ms);
}

/* Hand every stored message with id > after to fn, oldest first. */
int
store_msg_scan(int64_t after, store_msg_hook fn, void *arg)
{
	struct store_msg	 m;
	sqlite3_stmt		*s;
	unsigned char		*full = NULL;
	size_t			 len;
	int			 rc;

	if ((s = store_msg_stmt(M_SCAN)) == NULL)
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
		/* The stages read the body with what the columns hold. */
		if (store_body_full(&m, &full, &len)) {
			m.body = full;
			m.len = len;
		}
		fn(&m, sqlite3_column_int64(s, 0), arg);
		free(full);
		full = NULL;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("store: message replay: %s",
		    sqlite3_errmsg(store_handle()));
		return (-1);
	}
	return (0);
}
