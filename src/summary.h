/*
 * summary.h - events from inferences ([summary], SPEC sections 2 and 5).
 */
#ifndef TE_SUMMARY_H
#define TE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct store_msg;

int	summary_start(const struct config *, char **);
void	summary_reload(const struct config *);
void	summary_stop(void);
void	summary_check(uint64_t);
void	summary_on_message(const struct store_msg *, int64_t, void *);
size_t	summary_open_events(void);

#endif
