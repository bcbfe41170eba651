/*
 * store_int.h - private to the store family: store.c (transactions, the
 * put path, start and stop), store_db.c (the SQLite file and its
 * checkpoints), store_outbox.c (the outbox and the caps), store_state.c
 * (named records), store_msg.c (message replay, the summary cursor,
 * retention), store_journal.c (the journal),
 * store_dedup.c (which readings are held), store_hook.c (the stages'
 * hooks and the callbacks waiting for a commit) and store_stats.c (the
 * numbers: refusals, repeats, commits).
 */
#ifndef TE_STORE_INT_H
#define TE_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Classes of the msg table, between the outbox ones (see store.h). */
#define STORE_CLASS_RAW_WINDOW	1
#define STORE_CLASS_RAW		2
#define STORE_NCLASS		5

/* store_db.c */
int	store_db_open(const char *, uint64_t, sqlite3 **, char **);
int	store_db_move_aside(const char *, char **);
int	store_db_exec(sqlite3 *, const char *, const char *, char **);
int	store_db_query_int(sqlite3 *, const char *, int64_t *);
int	store_db_is_corrupt(int);
int	store_db_is_refusal(int);
uint64_t store_db_wal_pages(uint64_t);
int	store_db_ckpt_open(const char *, char **);
int	store_db_ckpt_start(void (*)(int, int));
int	store_db_ckpt_running(void);
void	store_db_ckpt_close(void);

/* store.c, for the other store files */
sqlite3	*store_write_begin(void);
sqlite3	*store_handle(void);
int	 store_write_error(int);
int	 store_txn_open(void);
int	 store_sql_refusing(void);
void	 store_turn_notify(void);

/* store_stats.c */
void	 store_stats_refused(int);
void	 store_stats_taken(void);
void	 store_stats_duplicate(void);
void	 store_stats_commit(void);
void	 store_stats_clear(void);

/* store_hook.c */
void	 store_hook_message(const struct store_msg *, int64_t);
void	 store_hook_precommit(void);
void	 store_hook_rollback(void);
void	 store_pend(store_done_cb, void *, enum store_result);
void	 store_hook_pending(int);
void	 store_hook_clear(void);

/* store_outbox.c */
int	 store_outbox_prepare(sqlite3 *);
void	 store_outbox_finalize(void);
int	 store_outbox_load(sqlite3 *);
void	 store_outbox_caps(uint64_t, uint64_t, uint64_t);
void	 store_outbox_txn_end(int);
int	 store_outbox_account_msg(int, int64_t);
int	 store_outbox_enforce(void);
void	 store_outbox_prune(uint64_t);
void	 store_outbox_log_drops(void);
int	 store_delete_rows(sqlite3_stmt *, uint64_t *);
uint64_t store_outbox_total(void);
void	 store_outbox_counts(struct store_stats *);

/* store_state.c */
sqlite3_stmt *store_state_prepare(sqlite3_stmt **, const char *);
void	 store_state_finalize(sqlite3_stmt **, size_t);
void	 store_state_close(void);
int	 store_state_get_int(const char *, int64_t *);
int	 store_state_set_int(const char *, int64_t);

/* store_msg.c */
int	 store_msg_load(void);
void	 store_msg_end(int);
void	 store_msg_retention(uint64_t);
void	 store_msg_check(uint64_t);
int	 store_msg_evict(uint64_t, uint64_t *);
void	 store_msg_close(void);

/* store_body.c */
int	 store_body_slim(const struct store_msg *, unsigned char **, size_t *);
int	 store_body_full(const struct store_msg *, unsigned char **, size_t *);

/* store_journal.c */
typedef void	(*store_journal_cb)(const struct store_msg *, uint64_t, void *);

struct store_journal_stats {
	uint64_t	segments, max_segments, busy;
	uint64_t	writes, bytes;
	uint64_t	syncs, sync_us;
};

int	 store_journal_open(const char *, size_t, size_t, uint64_t, char **);
void	 store_journal_replay(uint64_t, store_journal_cb, void *);
int	 store_journal_append(const struct store_msg *, uint64_t *);
void	 store_journal_release(uint64_t);
void	 store_journal_spare(void);
void	 store_journal_wait(uint64_t, enum store_result, store_done_cb,
	    void *);
uint64_t store_journal_last(void);
uint64_t store_journal_synced(void);
void	 store_journal_stats(struct store_journal_stats *);
void	 store_journal_close(void);

/* store_dedup.c */
int	 store_dedup_seen(const char *, enum store_kind, uint32_t, int64_t);
void	 store_dedup_add(const char *, enum store_kind, uint32_t, int64_t);
size_t	 store_dedup_save(uint8_t **);
int	 store_dedup_load(const void *, size_t);
void	 store_dedup_clear(void);
int	 store_dedup_start(sqlite3 *, int64_t, uint64_t);
int	 store_dedup_save_now(int64_t);

#endif
