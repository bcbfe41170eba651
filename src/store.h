/*
 * store.h - the durable store: what ingest accepted and what must be
 * published (the outbox), in one SQLite database.
 *
 * A reading put into the store is journaled first (one write) and is then
 * durable as store.sync promises; it reaches SQLite in group commits
 * (store.commit_interval), off the acknowledgement path.  The uplink reads
 * the outbox oldest first (rows of the open transaction included) and
 * deletes a row only after its PUBACK.  All functions run on the loop
 * thread.
 *
 * Put contract: store_put_message() returns STORE_OK (durable now),
 * STORE_DUPLICATE (held already), STORE_REFUSED (not stored: 5.03) or, with
 * store.sync = full and a callback, STORE_WAIT: the callback runs once,
 * with OK, DUPLICATE or REFUSED, after the fdatasync that covers the
 * reading.  Outbox and state writes join the open transaction; their
 * callbacks run after its commit.  store_flush() commits at once.
 *
 * Stages after the store (summaries, tier 2) register message hooks: each
 * newly stored message is handed to them, with its row id, inside the
 * transaction that stores it, so what they write (outbox rows, state
 * records) commits with it or not at all.  The summary stage records how
 * far it has consumed the message table (store_msg_consume()); rows up to
 * that cursor are kept for store.raw_retention, the rest are replayed to
 * it at start (store_msg_scan()).  A stage that keeps state changed by
 * many messages writes it once, from its pre-commit callback
 * (store_set_precommit()), which runs inside the transaction just before
 * it commits.  A rolled-back transaction is told to every stage that keeps
 * state derived from messages (store_add_rollback()), so each rebuilds it
 * from the database.
 */
#ifndef TE_STORE_H
#define TE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct message;

/* What a node sent (SPEC section 3). */
enum store_kind {
	STORE_KIND_INFERENCE = 1,
	STORE_KIND_WINDOW = 2,
	STORE_KIND_HEARTBEAT = 3,
	STORE_KIND_TIER2 = 4,		/* the gateway's own second-tier result */
	STORE_KIND_SENML = 5,		/* a resolved SenML pack (SPEC 14) */
};

/* Outbox priority classes: under max_bytes the lowest class goes first. */
enum store_class {
	STORE_CLASS_WINDOW = 0,		/* P/windows/... (evicted first) */
	STORE_CLASS_SUMMARY = 3,	/* P/summary/... */
	STORE_CLASS_EVENT = 4,		/* P/events/... (evicted last) */
};

/* How a put ended (passed to the callback after the commit). */
enum store_result {
	STORE_OK = 0,		/* committed */
	STORE_DUPLICATE,	/* (node, boot, seq, kind) was stored already */
	STORE_REFUSED,		/* not stored: journal full or failing (5.03) */
	STORE_WAIT,		/* written; the callback says when durable */
};

/* One message accepted from a node; the store copies what it needs. */
struct store_msg {
	const char	*node;
	uint32_t	 boot;
	int64_t		 seq;		/* -1: none (never a duplicate) */
	enum store_kind	 kind;
	uint64_t	 rx_ms;		/* gateway receive time */
	int64_t		 ts_ms;		/* node clock, 0 if absent */
	const void	*body;
	size_t		 len;
	/*
	 * The validated message the body came from, when ingest has one (it
	 * is alive while the hooks run), so the stages after the store do
	 * not parse again what message.c just parsed; NULL for messages
	 * replayed from the database and for the gateway's own results.
	 */
	const struct message *msg;
};

/* One outbox row as handed to the uplink (valid during the callback). */
struct store_row {
	int64_t		 id;
	const char	*topic;		/* relative to topic_prefix */
	const void	*payload;
	size_t		 len;
	int		 retain;
	uint64_t	 created_ms;
};

/* Numbers for P/metrics and STATUS=. */
struct store_stats {
	uint64_t	queued;		/* outbox rows */
	uint64_t	bytes;		/* payload bytes, outbox + messages */
	uint64_t	oldest_age_s;	/* age of the oldest outbox row */
	uint64_t	dropped;	/* outbox rows dropped by caps */
	uint64_t	messages;	/* rows in the message table */
	uint64_t	oversize;	/* outbox rows over mqtt.max_payload */
	uint64_t	set_aside;	/* rows the broker kept refusing */
	uint64_t	refused;	/* readings the journal could not take */
	uint64_t	duplicates;	/* repeats recognized */
	uint64_t	commits;	/* SQLite group commits */
	uint64_t	journal_segments, journal_busy, journal_bytes;
	uint64_t	syncs, sync_us;	/* journal fdatasyncs (sync = full) */
	int		refusing;	/* disk full / I/O error mode */
};

typedef void	(*store_done_cb)(enum store_result, void *);
typedef void	(*store_row_cb)(const struct store_row *, void *);
typedef void	(*store_notify_cb)(void);
typedef void	(*store_msg_hook)(const struct store_msg *, int64_t, void *);
typedef void	(*store_rollback_cb)(void);
typedef void	(*store_precommit_cb)(void);
typedef void	(*store_state_cb)(const char *, const void *, size_t, void *);

int	store_start(const struct config *, char **);
void	store_reload(const struct config *);
void	store_stop(void);
size_t	store_status(char *, size_t);
void	store_check(uint64_t);

enum store_result store_put_message(const struct store_msg *, store_done_cb,
	    void *);
int	store_outbox_add(const char *, const void *, size_t, enum store_class,
	    int, store_done_cb, void *);
int	store_accepting(void);
int	store_sync_full(void);
void	store_flush(void);
int	store_uncommitted(void);

void	store_set_notify(store_notify_cb);
void	store_add_message_hook(store_msg_hook, void *);
void	store_remove_message_hook(store_msg_hook);
void	store_add_rollback(store_rollback_cb);
void	store_remove_rollback(store_rollback_cb);
void	store_set_precommit(store_precommit_cb);
int	store_msg_scan(int64_t, store_msg_hook, void *);
int	store_msg_consume(int64_t);
int64_t	store_msg_cursor(void);
int	store_state_set(const char *, const void *, size_t);
int	store_state_delete(const char *);
int	store_state_scan(const char *, store_state_cb, void *);
size_t	store_outbox_fetch(int64_t, int64_t, size_t, store_row_cb, void *);
int64_t	store_outbox_last_id(void);
void	store_outbox_delete(int64_t, int64_t);
int	store_outbox_set_aside(int64_t, const char *);
void	store_stats(struct store_stats *);

#endif
