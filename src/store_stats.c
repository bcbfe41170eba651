/*
 * store_stats.c - the store's numbers and how it is doing: readings the
 * journal refused (5.03, logged once per period however often room comes
 * and goes), repeats recognized, group commits; store_stats() for
 * P/metrics and store_status() for systemd's STATUS=.
 *
 * store.c counts through the store_stats_* calls; the outbox, the journal
 * and the refusing mode of SQLite add their own figures here.  The
 * numbers start at 0 with every store_start().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

#define STORE_LOG_MS		10000

static struct {
	uint64_t	refused, duplicates, commits;
	uint64_t	log_ms;		/* last refusal logged */
	int		refusing;	/* the journal cannot take more */
} store_numbers;

/* The journal cannot take a reading (errno err): count, say so, refuse. */
void
store_stats_refused(int err)
{
	uint64_t	now = daemon_now_ms();

	store_numbers.refused++;
	/* Once per period, even when room comes and goes in between. */
	if (store_numbers.log_ms == 0 ||
	    now - store_numbers.log_ms >= STORE_LOG_MS) {
		store_numbers.log_ms = now;
		log_error("store: journal: %s; new readings are refused "
		    "(5.03) until it has room (%" PRIu64 " so far)",
		    err == ENOSPC ? "full (SQLite is behind)" : strerror(err),
		    store_numbers.refused);
	}
	store_numbers.refusing = 1;
}

/* The journal took a reading: it has room again if it had none. */
void
store_stats_taken(void)
{
	if (store_numbers.refusing) {
		store_numbers.refusing = 0;
		log_info("store: journal has room again, taking readings");
	}
}

/* A repeat of a reading held already. */
void
store_stats_duplicate(void)
{
	store_numbers.duplicates++;
}

/* A group commit. */
void
store_stats_commit(void)
{
	store_numbers.commits++;
}

/* The store starts or stops: the numbers start again. */
void
store_stats_clear(void)
{
	memset(&store_numbers, 0, sizeof store_numbers);
}

/* Fill the numbers for metrics and status. */
void
store_stats(struct store_stats *ss)
{
	struct store_journal_stats	js;

	memset(ss, 0, sizeof *ss);
	if (store_handle() == NULL)
		return;
	store_outbox_counts(ss);
	store_journal_stats(&js);
	ss->refusing = store_sql_refusing() || store_numbers.refusing;
	ss->refused = store_numbers.refused;
	ss->duplicates = store_numbers.duplicates;
	ss->commits = store_numbers.commits;
	ss->journal_segments = js.segments;
	ss->journal_busy = js.busy;
	ss->journal_bytes = js.bytes;
	ss->syncs = js.syncs;
	ss->sync_us = js.sync_us;
}

/* One-line status for systemd. */
size_t
store_status(char *buf, size_t len)
{
	struct store_stats	ss;
	int			n;

	store_stats(&ss);
	n = snprintf(buf, len, "store %" PRIu64 " queued, %" PRIu64 " KB%s",
	    ss.queued, ss.bytes / 1024, store_numbers.refusing ? ", REFUSING "
	    "(journal full)" : store_sql_refusing() ? ", JOURNAL ONLY (disk)" :
	    "");
	return (n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n);
}
