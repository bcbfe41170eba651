/*
 * summary_int.h - private to the summary stage: the event part
 * (summary_event.c) and the per-interval part (summary_interval.c), both
 * driven by summary.c.
 */
#ifndef TE_SUMMARY_INT_H
#define TE_SUMMARY_INT_H

#include <stddef.h>
#include <stdint.h>

/* One inference (a node's or tier 2's) as the summary stage sees it. */
struct summary_inf {
	const char	*node;
	const char	*label;
	const char	*model;
	double		 score;
	int		 tier;		/* 1 node, 2 gateway */
	uint32_t	 boot;
	int64_t		 seq;
	uint64_t	 rx_ms;
};

struct cJSON;

char	*summary_json(struct cJSON *);

void	summary_event_config(double, char *const *, size_t, uint64_t);
int	summary_event_load(void);
void	summary_event_add(const struct summary_inf *);
void	summary_event_flush(void);
void	summary_event_check(uint64_t);
void	summary_event_stop(void);
size_t	summary_event_open(void);

int	summary_interval_start(uint64_t);
void	summary_interval_reload(uint64_t);
void	summary_interval_labels(size_t);
void	summary_interval_add(const struct summary_inf *, int64_t);
void	summary_interval_seen(int64_t);
void	summary_interval_check(uint64_t, uint64_t);
void	summary_interval_stop(void);
size_t	summary_interval_pending(void);

#endif
