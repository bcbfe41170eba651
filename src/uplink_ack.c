/*
 * uplink_ack.c - the outbox rows the broker acknowledged, deleted in
 * batches.
 *
 * Each delete is a commit, and one per Paho wake-up would cost the drain
 * a fifth of its speed.  So the loop side of the uplink remembers every
 * PUBACKed id here and deletes them later in one go: PUBACKs mostly come
 * in order, so runs of consecutive ids become one range delete each.  A
 * crash loses at most a batch of deletes; those rows go out again
 * (at-least-once, payloads carry "id").  Loop thread only.
 */
#include <stdint.h>
#include <stdlib.h>

#include "store.h"
#include "uplink_int.h"
#include "xmalloc.h"

static struct {
	int64_t	*ids;
	size_t	 n, size;
} acks;

/* Remember an acknowledged id until the next flush. */
void
uplink_ack_add(int64_t id)
{
	if (acks.n == acks.size) {
		acks.size = acks.size ? acks.size * 2 : 256;
		acks.ids = xreallocarray(acks.ids, acks.size, sizeof *acks.ids);
	}
	acks.ids[acks.n++] = id;
}

/* How many acknowledged ids wait for their delete. */
size_t
uplink_ack_pending(void)
{
	return (acks.n);
}

/* qsort comparison of ids. */
static int
uplink_ack_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Delete the acknowledged rows, one range per run of consecutive ids. */
void
uplink_ack_flush(void)
{
	size_t	i, j;

	if (acks.n == 0)
		return;
	qsort(acks.ids, acks.n, sizeof *acks.ids, uplink_ack_cmp);
	for (i = 0; i < acks.n; i = j) {
		for (j = i + 1; j < acks.n && acks.ids[j] <= acks.ids[j - 1] + 1;
		    j++)
			;
		store_outbox_delete(acks.ids[i], acks.ids[j - 1]);
	}
	acks.n = 0;
}

/* Forget everything (stop); pending ids are not deleted. */
void
uplink_ack_free(void)
{
	free(acks.ids);
	acks.ids = NULL;
	acks.n = acks.size = 0;
}
