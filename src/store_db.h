/*
 * store_db.h - private to the store: opening, checking and migrating the
 * SQLite file (store_db.c).
 */
#ifndef TE_STORE_DB_H
#define TE_STORE_DB_H

#include <sqlite3.h>
#include <stdint.h>

int	store_db_open(const char *, int, uint64_t, sqlite3 **, char **);
int	store_db_move_aside(const char *, char **);
int	store_db_exec(sqlite3 *, const char *, const char *, char **);
int	store_db_query_int(sqlite3 *, const char *, int64_t *);
int	store_db_is_corrupt(int);
int	store_db_is_refusal(int);

/* Between store.c and store_state.c only. */
sqlite3	*store_write_begin(void);
sqlite3	*store_handle(void);
int	 store_write_error(int);
int	 store_delete_rows(sqlite3_stmt *, uint64_t *);
int	 store_state_load(void);
void	 store_state_end(int);
void	 store_state_retention(uint64_t);
void	 store_state_check(uint64_t);
int	 store_state_evict(uint64_t, uint64_t *);
void	 store_state_close(void);

#endif
