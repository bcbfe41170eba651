/*
 * ingest_link.h - what a byte-stream link (a serial port, a BLE link)
 * does with the lines and frames its frame_reader finds: the one
 * frame-to-message path, its counters and their P/metrics form, so that
 * serial and BLE links count and store alike (SPEC sections 4 and 12).
 */
#ifndef TE_INGEST_LINK_H
#define TE_INGEST_LINK_H

#include <stdint.h>

#include "message.h"
#include "metrics.h"

struct cJSON;
struct frame;

/* Per-link counters (P/metrics "serial_links" and "ble_links"). */
struct ingest_link_counters {
	uint64_t	frames;		/* well-formed lines/frames seen */
	uint64_t	bad_crc;
	uint64_t	bad_frames;	/* bad COBS, bad lengths or type */
	uint64_t	skipped_lines;	/* lines that are not JSON objects */
	uint64_t	dropped_long;	/* over FRAME_MAX */
	uint64_t	rejected;	/* failed validation or store refused */
	uint64_t	reopens;	/* came back after vanishing */
};

/*
 * The part of a link the frame path needs.  A public type only so that
 * the link modules can embed it; its fields belong to ingest_link.c
 * except the counters, which the owner may bump (reopens).
 */
struct ingest_link {
	const char			*kind;	/* "serial" or "ble" */
	const char			*name;	/* NAME of the section */
	char				 node[MESSAGE_NODE_MAX + 1];
	char				 source[96];	/* "kind:name" */
	enum metrics_counter		 accepted;
	int				 refused_logged;
	struct ingest_link_counters	 n;
};

void	ingest_link_init(struct ingest_link *, const char *, const char *,
	    const char *, enum metrics_counter);
void	ingest_link_frame(const struct frame *, void *);
void	ingest_link_json(const struct ingest_link *, struct cJSON *, int);
void	ingest_link_log(const struct ingest_link *);

#endif
