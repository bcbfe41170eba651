/*
 * store_db.c - the store's SQLite file: opening, checks, pragmas, schema,
 * and checkpoints.
 *
 * The schema is versioned with PRAGMA user_version; store_db_migrations[i]
 * takes a file from version i to i + 1, each step in its own transaction,
 * so an old file is upgraded in place and a newer one is refused (never
 * touched).  A file that is not a database or fails quick_check is reported
 * as corrupt: store.c then moves it aside with store_db_move_aside() and
 * starts fresh; nothing is ever deleted.  Any other failure (a file the
 * daemon may not open or write, an I/O error) is not corruption: the start
 * fails with the reason and the file stays where it is.
 *
 * Checkpoints never run on the loop: the store's own connection has
 * auto-checkpoints off and the WAL is copied into the database by a second
 * connection in the libuv pool (store_db_ckpt_start), PASSIVE, so the loop
 * keeps writing meanwhile.  That connection is synchronous = NORMAL, so a
 * checkpoint syncs the WAL before copying and the database after: once it
 * completed, what was committed before it is on disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "daemon.h"
#include "log.h"
#include "store_int.h"
#include "xmalloc.h"

/* Schema steps: store_migrations[i] takes user_version i to i + 1. */
static const char *const store_db_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE msg ("
	"  id INTEGER PRIMARY KEY,"
	"  node TEXT NOT NULL,"
	"  boot INTEGER NOT NULL,"
	"  seq INTEGER,"			/* NULL: never a duplicate */
	"  kind INTEGER NOT NULL,"		/* 1 inference 2 window 3 hb */
	"  prio INTEGER NOT NULL,"
	"  rx_ms INTEGER NOT NULL,"
	"  ts_ms INTEGER NOT NULL,"
	"  body BLOB NOT NULL,"
	"  UNIQUE (node, boot, seq, kind));"
	/*
	 * No AUTOINCREMENT and no index on prio: each costs a page write per
	 * commit.  Ids are assigned by store.c, increasing while the process
	 * runs (the uplink's cursor relies on that); eviction scans from the
	 * oldest id, which is where the rows it wants are.
	 */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  prio INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  retain INTEGER NOT NULL DEFAULT 0,"
	"  topic TEXT NOT NULL,"		/* relative to topic_prefix */
	"  payload BLOB NOT NULL);",
	/*
	 * 1 -> 2: small named records the later stages keep across restarts
	 * (the summary cursor, open events), written in the same
	 * transaction as the data they describe.  Messages stored by a
	 * version without summaries are behind the cursor: they are not
	 * summarized after the upgrade, in one burst of old intervals.
	 */
	"CREATE TABLE state ("
	"  key TEXT PRIMARY KEY,"
	"  val BLOB NOT NULL) WITHOUT ROWID;"
	"INSERT INTO state(key, val) SELECT 'msg_cursor', max(id) FROM msg "
	"  WHERE id IS NOT NULL HAVING count(*) > 0;",
	/*
	 * 2 -> 3: outbox rows the broker keeps refusing are moved here, so
	 * the rows after them flow; kept for people to look at (bounded).
	 */
	"CREATE TABLE aside ("
	"  id INTEGER PRIMARY KEY,"
	"  created_ms INTEGER NOT NULL,"
	"  aside_ms INTEGER NOT NULL,"
	"  retain INTEGER NOT NULL,"
	"  topic TEXT NOT NULL,"
	"  payload BLOB NOT NULL,"
	"  reason TEXT NOT NULL);",
	/*
	 * 3 -> 4: no unique index on (node, boot, seq, kind).  Ordered by
	 * node, it made every group commit rewrite a page per active node;
	 * store_dedup.c recognizes repeats instead.
	 */
	"CREATE TABLE msg4 ("
	"  id INTEGER PRIMARY KEY,"
	"  node TEXT NOT NULL,"
	"  boot INTEGER NOT NULL,"
	"  seq INTEGER,"
	"  kind INTEGER NOT NULL,"
	"  prio INTEGER NOT NULL,"
	"  rx_ms INTEGER NOT NULL,"
	"  ts_ms INTEGER NOT NULL,"
	"  body BLOB NOT NULL);"
	"INSERT INTO msg4 SELECT id, node, boot, seq, kind, prio, rx_ms, ts_ms, "
	"  body FROM msg ORDER BY id;"
	"DROP TABLE msg;"
	"ALTER TABLE msg4 RENAME TO msg;",
	/*
	 * 4 -> 5: nothing to change in the file, but JSON bodies are now
	 * stored without the "seq", "boot" and "ts" their row's columns
	 * hold (store_body.c): a version 4 daemon would read such a body
	 * as an inference without its seq, so it must refuse the file.
	 */
	"SELECT 1;",
};
#define STORE_VERSION	((int)(sizeof store_db_migrations / \
			    sizeof store_db_migrations[0]))

/* WAL pages between checkpoints for a byte cap (64 .. 1000). */
uint64_t
store_db_wal_pages(uint64_t max_bytes)
{
	uint64_t	pages = max_bytes / 4096 / 4;

	return (pages < 64 ? 64 : pages > 1000 ? 1000 : pages);
}

/* Is this SQLite result a disk-full or I/O failure (refuse, keep going)? */
int
store_db_is_refusal(int rc)
{
	rc &= 0xff;
	return (rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN
	    || rc == SQLITE_READONLY);
}

/* Does this result mean the file is not a usable database? */
int
store_db_is_corrupt(int rc)
{
	rc &= 0xff;
	return (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB);
}

/* Run SQL text with no result rows; returns the SQLite result code. */
int
store_db_exec(sqlite3 *db, const char *path, const char *sql, char **cause)
{
	char	*err = NULL;
	int	 rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK && cause != NULL)
		xasprintf(cause, "%s: %s", path, err ? err :
		    sqlite3_errstr(rc));
	sqlite3_free(err);
	return (rc);
}

/* Read one integer from a one-row query; returns the result code. */
int
store_db_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return (rc);
	*out = 0;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(s);
	return (rc);
}

/* Bring the schema to STORE_VERSION, one transaction per step. */
static int
store_db_migrate(sqlite3 *db, const char *path, char **cause)
{
	int64_t	v;
	char	sql[64];
	int	rc;

	if ((rc = store_db_query_int(db, "PRAGMA user_version",
	    &v)) != SQLITE_OK) {
		xasprintf(cause, "%s: %s", path, sqlite3_errstr(rc));
		return (rc);
	}
	if (v > STORE_VERSION) {
		xasprintf(cause, "%s: schema version %" PRId64 " is newer than "
		    "this tinyedged understands (%d)", path, v, STORE_VERSION);
		return (SQLITE_ERROR);
	}
	for (; v < STORE_VERSION; v++) {
		log_info("store: migrating schema %" PRId64 " -> %" PRId64,
		    v, v + 1);
		snprintf(sql, sizeof sql, "PRAGMA user_version = %" PRId64,
		    v + 1);
		if ((rc = store_db_exec(db, path, "BEGIN", cause)) != SQLITE_OK)
			return (rc);
		if ((rc = store_db_exec(db, path, store_db_migrations[v],
		    cause)) != SQLITE_OK ||
		    (rc = store_db_exec(db, path, sql, cause)) != SQLITE_OK ||
		    (rc = store_db_exec(db, path, "COMMIT", cause)) !=
		    SQLITE_OK) {
			store_db_exec(db, path, "ROLLBACK", NULL);
			return (rc);
		}
	}
	return (SQLITE_OK);
}

/*
 * Open path, check it, set the pragmas, migrate.  Returns 0 with *dbp
 * open, 1 when the file is corrupt or unreadable (the caller moves it
 * aside), -1 otherwise; *cause says why.
 */
int
store_db_open(const char *path, uint64_t max_bytes, sqlite3 **dbp, char **cause)
{
	sqlite3		*db = NULL;
	char		*sql, *c2 = NULL;
	uint64_t	 wal_pages;
	int64_t		 ok;
	sqlite3_stmt	*s;
	int		 rc;

	*dbp = NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 100);
	/* quick_check reads every page once: a damaged file is caught here. */
	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s,
	    NULL)) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s);
	ok = rc == SQLITE_ROW && strcmp((const char *)
	    sqlite3_column_text(s, 0), "ok") == 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		goto fail;
	if (!ok) {
		xasprintf(cause, "%s: integrity check failed", path);
		sqlite3_close(db);
		return (1);
	}
	/*
	 * store.c checkpoints every wal_pages pages (SQLite's default 1000 =
	 * 4 MB) but never more than a quarter of max_bytes, so a small cap
	 * means a small file set; journal_size_limit trims the WAL after.
	 */
	wal_pages = store_db_wal_pages(max_bytes);
	/*
	 * A 1 MB page cache instead of SQLite's 2 MB: writes touch the tail
	 * of two tables and their indexes, and a daemon on a Pi should not
	 * grow with the size of its database file.
	 */
	/*
	 * synchronous = NORMAL whatever store.sync says: a commit is never a
	 * sync (the journal makes readings durable; a checkpoint syncs).
	 * secure_delete = 0: Debian builds SQLite with it on, and then every
	 * page freed (the open-events record rewritten at each commit, rows
	 * leaving the outbox) is written again as zeros before it is reused:
	 * 4 % of the bytes written at 100 readings/s.  Deleted readings are
	 * no secret the database must hide from whoever can read the file.
	 */
	xasprintf(&sql, "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; "
	    "PRAGMA cache_size = -1024; PRAGMA secure_delete = 0; "
	    "PRAGMA wal_autocheckpoint = 0; "
	    "PRAGMA journal_size_limit = %" PRIu64 ";", wal_pages * 4096);
	rc = store_db_exec(db, path, sql, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		goto fail;
	if ((rc = store_db_migrate(db, path, &c2)) != SQLITE_OK) {
		if (store_db_is_corrupt(rc))
			goto fail;
		*cause = c2;
		sqlite3_close(db);
		return (-1);
	}
	*dbp = db;
	return (0);

fail:
	free(c2);
	xasprintf(cause, "%s: %s", path, db != NULL ?
	    sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	/* Only a damaged file moves aside; a refused one is the admin's. */
	if (store_db_is_corrupt(rc))
		return (access(path, F_OK) == 0 ? 1 : -1);
	return (-1);
}

/* Rename a damaged database (and its WAL) aside with a UTC timestamp. */
int
store_db_move_aside(const char *path, char **cause)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char		 stamp[32], *from, *to;
	time_t		 now = time(NULL);
	struct tm	 tm;
	size_t		 i;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 3; i++) {
		xasprintf(&from, "%s%s", path, sfx[i]);
		xasprintf(&to, "%s.corrupt-%s%s", path, stamp, sfx[i]);
		if (rename(from, to) == -1 && errno != ENOENT) {
			xasprintf(cause, "cannot move %s aside: %s", from,
			    strerror(errno));
			free(from);
			free(to);
			return (-1);
		}
		if (i == 0)
			log_error("store: database %s is unusable; moved to "
			    "%s and starting with an empty store", from, to);
		free(from);
		free(to);
	}
	return (0);
}


/* The checkpoint connection and the one checkpoint that may run. */
static struct {
	sqlite3		*db;
	uv_work_t	 req;
	int		 running;
	int		 rc, log, done;
	void		(*cb)(int, int);
} ckpt;

/* Open the second connection, used only for checkpoints (in the pool). */
int
store_db_ckpt_open(const char *path, char **cause)
{
	int	rc;

	memset(&ckpt, 0, sizeof ckpt);
	rc = sqlite3_open_v2(path, &ckpt.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = store_db_exec(ckpt.db, path,
		    "PRAGMA synchronous = NORMAL; "
		    "PRAGMA cache_size = -64", cause);
	else
		xasprintf(cause, "%s: %s", path, sqlite3_errstr(rc));
	if (rc != SQLITE_OK) {
		sqlite3_close(ckpt.db);
		ckpt.db = NULL;
		return (-1);
	}
	/* A reader of the WAL index may be busy for a moment: wait a bit. */
	sqlite3_busy_timeout(ckpt.db, 1000);
	return (0);
}

/* The pool side: copy the WAL into the database. */
static void
store_db_ckpt_work(uv_work_t *req)
{
	(void)req;
	ckpt.rc = sqlite3_wal_checkpoint_v2(ckpt.db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &ckpt.log, &ckpt.done);
}

/* Back on the loop: say whether every frame of the WAL was copied. */
static void
store_db_ckpt_after(uv_work_t *req, int status)
{
	(void)req;
	ckpt.running = 0;
	if (ckpt.cb != NULL)
		ckpt.cb(status == 0 ? ckpt.rc : SQLITE_ABORT, status == 0 &&
		    ckpt.rc == SQLITE_OK && ckpt.done == ckpt.log);
	if (ckpt.db != NULL && ckpt.cb == NULL) {
		/* store_db_ckpt_close() came while we ran. */
		sqlite3_close(ckpt.db);
		ckpt.db = NULL;
	}
}

/*
 * Start a PASSIVE checkpoint in the pool unless one runs; cb(rc, all)
 * runs on the loop after it (all: every frame was copied).  -1 if none
 * could start.
 */
int
store_db_ckpt_start(void (*cb)(int, int))
{
	if (ckpt.db == NULL || ckpt.running)
		return (-1);
	ckpt.running = 1;
	ckpt.cb = cb;
	uv_queue_work(daemon_loop(), &ckpt.req, store_db_ckpt_work,
	    store_db_ckpt_after);
	return (0);
}

/* Is a checkpoint running? */
int
store_db_ckpt_running(void)
{
	return (ckpt.running);
}

/* Close the checkpoint connection (after the running checkpoint, if any). */
void
store_db_ckpt_close(void)
{
	ckpt.cb = NULL;
	if (ckpt.running)
		return;
	sqlite3_close(ckpt.db);
	ckpt.db = NULL;
}
