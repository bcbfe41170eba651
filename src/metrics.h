/*
 * metrics.h - the gateway's counters and message ids: a leaf any module
 * may use.
 *
 * Counters are plain integers owned by the loop thread; modules bump them
 * with metrics_add() and the monitor (monitor.c) reads them for P/metrics.
 * metrics_new_id() makes the "id" every published JSON object carries.
 * Nothing here publishes or touches the loop, so ingest, tier 2, the
 * registry and the uplink can all include it without a cycle.
 */
#ifndef TE_METRICS_H
#define TE_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metrics_counter {
	METRICS_INGEST_COAP,		/* messages accepted over CoAP */
	METRICS_INGEST_SERIAL,		/* messages accepted over serial */
	METRICS_INGEST_BLE,		/* messages accepted over BLE links */
	METRICS_INGEST_REJECTED,	/* requests answered 4.xx/5.xx */
	METRICS_INGEST_DUPLICATES,	/* repeated (node, boot, seq) */
	METRICS_TIER2_RUNS,		/* second-tier inferences */
	METRICS_TIER2_US,		/* their total time, microseconds */
	METRICS_TIER2_SKIPPED,		/* windows skipped: a model's queue full */
	METRICS_NCOUNTERS
};

void		 metrics_add(enum metrics_counter, uint64_t);
uint64_t	 metrics_get(enum metrics_counter);
void		 metrics_new_id(char *, size_t);

#endif
