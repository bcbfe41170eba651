/*
 * store_fixture.h - the fixture the store's unit tests share
 * (test_store.c, test_store_schema.c, test_journal.c, test_store_dedup.c):
 * a temp directory with a config, the store started and stopped on the
 * daemon's loop, put results recorded, messages and outbox rows put,
 * and SQLite read and written on a second connection.
 * One copy, so the tests cannot drift apart in how they set up.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define FX_NRESULTS	4096

extern char			 fx_dir[64];
extern struct config		*fx_cf;
extern int			 fx_ncb;
extern enum store_result	 fx_results[FX_NRESULTS];
extern int64_t			 fx_hook_ids[64];
extern int			 fx_nhook;

void	fx_config(const char *, const char *);
void	fx_setup(const char *);
void	fx_start(void);
void	fx_start_fresh(void);
void	fx_stop(void);
void	fx_restart(void);
void	fx_wait_accepting(void);
void	fx_teardown(void);
void	fx_turn(void);
void	fx_flush(void);
void	fx_done_cb(enum store_result, void *);
void	fx_hook_cb(const struct store_msg *, int64_t, void *);
int	fx_put_msg(const char *, uint32_t, int64_t, enum store_kind, size_t);
int	fx_put_row(enum store_class, const char *, size_t);
int64_t	fx_count_sql(const char *);
void	fx_exec_sql(const char *);
int	fx_run_tests(const char *, int, const TTest **, size_t);

#endif
