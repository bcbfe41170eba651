/*
 * metrics.h - counters other modules increment, and P/metrics.
 *
 * Counters are plain integers owned by the loop thread.  Every
 * metrics_interval the module publishes every field of SPEC section 5
 * directly (not through the outbox: metrics are current state).
 */
#ifndef TE_METRICS_H
#define TE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct config;

enum metrics_counter {
	METRICS_INGEST_COAP,		/* messages accepted over CoAP */
	METRICS_INGEST_SERIAL,		/* messages accepted over serial */
	METRICS_INGEST_REJECTED,	/* requests answered 4.xx/5.xx */
	METRICS_INGEST_DUPLICATES,	/* repeated (node, boot, seq) */
	METRICS_TIER2_RUNS,		/* second-tier inferences */
	METRICS_TIER2_US,		/* their total time, microseconds */
	METRICS_TIER2_SKIPPED,		/* windows skipped: a model's queue full */
	METRICS_NCOUNTERS
};

int		 metrics_start(const struct config *, char **);
void		 metrics_reload(const struct config *);
void		 metrics_stop(void);
void		 metrics_check(uint64_t);
void		 metrics_add(enum metrics_counter, uint64_t);
uint64_t	 metrics_get(enum metrics_counter);
void		 metrics_new_id(char *, size_t);
char		*metrics_json(void);
void		 metrics_publish(void);

#endif
