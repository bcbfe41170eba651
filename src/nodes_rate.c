/*
 * nodes_rate.c - how fast each unauthenticated source may introduce new
 * node ids (gateway.new_nodes_per_minute): one token bucket per source.
 *
 * A source is what ingest says a message came from: a plain CoAP peer's
 * address, a serial link's name.  Its bucket holds up to the per-minute
 * rate (the burst) and refills continuously at that rate; a new id costs
 * one token.  The table of sources is fixed (NODES_RATE_SOURCES): a peer
 * spraying from many addresses takes the place of the source unused the
 * longest rather than growing memory.  That gives a forgotten source a
 * full bucket again, which is the price of the bound; with spoofable UDP
 * addresses per-address limits are a speed bump, and gateway.max_nodes
 * (nodes.c) is what bounds the registry.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nodes.h"

#define NODES_RATE_NAME	128

/* One source and its bucket. */
struct nodes_rate_src {
	char		name[NODES_RATE_NAME];
	double		tokens;
	uint64_t	last_ms;	/* last refill */
	uint64_t	used_ms;	/* last lookup, for replacement */
	int		used;
};

static struct {
	struct nodes_rate_src	src[NODES_RATE_SOURCES];
	unsigned		per_minute;
	size_t			nsrc;
} admission;

/*
 * Forget every source (start, stop).  Only the slots in use are cleared:
 * the table is 40 KB of zeroed BSS, and a memset of all of it at every
 * start made each page resident even on a gateway whose nodes come from
 * a few sources.
 */
void
nodes_rate_reset(void)
{
	size_t	i;

	for (i = 0; i < NODES_RATE_SOURCES; i++)
		if (admission.src[i].used)
			memset(&admission.src[i], 0, sizeof admission.src[i]);
	admission.nsrc = 0;
}

/* Set the rate; buckets above the new burst are cut down to it. */
void
nodes_rate_configure(unsigned per_minute)
{
	size_t	i;

	admission.per_minute = per_minute;
	for (i = 0; i < NODES_RATE_SOURCES; i++)
		if (admission.src[i].used &&
		    admission.src[i].tokens > per_minute)
			admission.src[i].tokens = per_minute;
}

/* Is there a limit at all (0 = unlimited)? */
int
nodes_rate_enabled(void)
{
	return (admission.per_minute != 0);
}

/* How many sources are tracked. */
size_t
nodes_rate_sources(void)
{
	return (admission.nsrc);
}

/* Find a source's bucket, or make one (full) in a free or the stalest slot. */
static struct nodes_rate_src *
nodes_rate_find(const char *source, uint64_t now)
{
	struct nodes_rate_src	*s, *slot = NULL;
	char			 name[NODES_RATE_NAME];
	size_t			 i;

	snprintf(name, sizeof name, "%s", source);
	for (i = 0; i < NODES_RATE_SOURCES; i++) {
		s = &admission.src[i];
		if (s->used && strcmp(s->name, name) == 0) {
			s->used_ms = now;
			return (s);
		}
		if (slot == NULL || (slot->used && (!s->used ||
		    s->used_ms < slot->used_ms)))
			slot = s;
	}
	if (!slot->used)
		admission.nsrc++;
	memcpy(slot->name, name, sizeof slot->name);
	slot->tokens = admission.per_minute;
	slot->last_ms = slot->used_ms = now;
	slot->used = 1;
	return (slot);
}

/* Add what the time since the last refill earned, up to the burst. */
static void
nodes_rate_refill(struct nodes_rate_src *s, uint64_t now)
{
	uint64_t	elapsed;

	/* A clock stepping back earns nothing and restarts the count. */
	elapsed = now > s->last_ms ? now - s->last_ms : 0;
	s->last_ms = now;
	if (elapsed > 60000)
		elapsed = 60000;
	s->tokens += (double)elapsed * admission.per_minute / 60000.0;
	if (s->tokens > admission.per_minute)
		s->tokens = admission.per_minute;
}

/* May source introduce a new id now?  (Does not take the token.) */
int
nodes_rate_check(const char *source, uint64_t now)
{
	struct nodes_rate_src	*s = nodes_rate_find(source, now);

	nodes_rate_refill(s, now);
	return (s->tokens >= 1.0);
}

/* Source did introduce a new id: one token less. */
void
nodes_rate_take(const char *source, uint64_t now)
{
	struct nodes_rate_src	*s = nodes_rate_find(source, now);

	nodes_rate_refill(s, now);
	if (s->tokens >= 1.0)
		s->tokens -= 1.0;
}
