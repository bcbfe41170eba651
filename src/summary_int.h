/*
 * summary_int.h - private to the summary stage: the event part
 * (summary_event.c, its record in summary_record.c) and the per-interval
 * part (summary_interval.c), all driven by summary.c.
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

/* An open event as summary_record.c encodes it. */
struct summary_rec {
	const char	*node;
	const char	*label;
	const char	*model;
	int		 tier;
	uint32_t	 boot;
	int64_t		 seq;
	double		 score;
	uint64_t	 count;
	uint64_t	 first_ms;
	uint64_t	 last_ms;
};

/* A growing output buffer for summary_record_*. */
struct summary_buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 size;
	uint32_t	 count;
};

#define SUMMARY_OPEN_MAX	4096	/* open events; more are sent at once */
#define SUMMARY_RECORD_STR_MAX	255	/* node, label, model in a record */

typedef void (*summary_record_cb)(const struct summary_rec *, void *);

struct cJSON;
struct message_senml;

char	*summary_json(struct cJSON *);

void	summary_event_config(double, char *const *, size_t, uint64_t);
int	summary_event_load(void);
void	summary_event_add(const struct summary_inf *);
void	summary_event_flush(void);
void	summary_event_check(uint64_t);
void	summary_event_stop(void);
size_t	summary_event_open(void);

void	summary_record_begin(struct summary_buf *);
void	summary_record_add(struct summary_buf *, const struct summary_rec *);
int	summary_record_parse(const void *, size_t, summary_record_cb, void *,
	    char **);

int	summary_interval_start(uint64_t);
void	summary_interval_reload(uint64_t);
void	summary_interval_labels(size_t);
void	summary_interval_add(const struct summary_inf *, int64_t);
void	summary_interval_senml(const char *, const struct message_senml *,
	    size_t, uint64_t, int64_t);
void	summary_interval_seen(int64_t);
void	summary_interval_check(uint64_t, uint64_t);
void	summary_interval_stop(void);
size_t	summary_interval_pending(void);

#endif
