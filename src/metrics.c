/*
 * metrics.c - the gateway's counters and message ids, a leaf.
 *
 * Other modules bump counters with metrics_add(); the monitor (monitor.c)
 * reads them with metrics_get() when it builds P/metrics.  This file
 * publishes nothing and includes no other module, so anyone may call it:
 * the uplink too, for its P/status ids, without calling back up.
 *
 * metrics_new_id() lives here: every JSON object the gateway
 * publishes carries an "id" unique per gateway, made of the process start
 * time (ms, base 36) and a counter, so ids never repeat across restarts.
 */
#include <stdio.h>
#include <time.h>

#include "metrics.h"

static struct {
	uint64_t	 counters[METRICS_NCOUNTERS];
	uint64_t	 epoch_ms;	/* id prefix: process start */
	uint64_t	 next_id;
} tally;

/* Wall-clock milliseconds (the same clock as daemon_now_ms()). */
static uint64_t
metrics_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Add n to a counter. */
void
metrics_add(enum metrics_counter c, uint64_t n)
{
	if (c < METRICS_NCOUNTERS)
		tally.counters[c] += n;
}

/* Read a counter. */
uint64_t
metrics_get(enum metrics_counter c)
{
	return (c < METRICS_NCOUNTERS ? tally.counters[c] : 0);
}

/* Write n in base 36 into buf (at least 14 bytes). */
static void
metrics_base36(uint64_t n, char *buf)
{
	char	tmp[16];
	size_t	i = 0, j;

	do {
		tmp[i++] = "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
		n /= 36;
	} while (n > 0 && i < sizeof tmp);
	for (j = 0; j < i; j++)
		buf[j] = tmp[i - 1 - j];
	buf[i] = '\0';
}

/* A new id, unique per gateway across restarts: "<start36>-<counter36>". */
void
metrics_new_id(char *buf, size_t len)
{
	char	a[16], b[16];

	if (tally.epoch_ms == 0)
		tally.epoch_ms = metrics_now_ms();
	metrics_base36(tally.epoch_ms, a);
	metrics_base36(++tally.next_id, b);
	snprintf(buf, len, "%s-%s", a, b);
}
