/*
 * metrics.c - the gateway's counters and the P/metrics publisher.
 *
 * Other modules bump counters with metrics_add(); gauges (store depth,
 * uplink state, nodes) are read from their modules when a report is built.
 * The report carries every field of SPEC section 5 and goes out directly
 * every metrics_interval, not through the outbox: a stale metrics sample is
 * worth nothing after an outage.
 *
 * The "store" object adds the store's own counters (metrics_store()).
 * The "tier2" object adds "skipped" and, under "models", each model's
 * own runs, mean time (total, features, inference), skips and errors.
 *
 * metrics_new_id() also lives here: every JSON object the gateway
 * publishes carries an "id" unique per gateway, made of the process start
 * time (ms, base 36) and a counter, so ids never repeat across restarts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "ingest_serial.h"
#include "metrics.h"
#include "nodes.h"
#include "store.h"
#include "tier2.h"
#include "uplink.h"
#include "xmalloc.h"

static struct {
	uint64_t	 counters[METRICS_NCOUNTERS];
	uint64_t	 interval_ms;
	uint64_t	 last_ms;
	uint64_t	 epoch_ms;	/* id prefix: process start */
	uint64_t	 next_id;
	char		*topic;
	int		 started;
} mx;

/* Add n to a counter. */
void
metrics_add(enum metrics_counter c, uint64_t n)
{
	if (c < METRICS_NCOUNTERS)
		mx.counters[c] += n;
}

/* Read a counter. */
uint64_t
metrics_get(enum metrics_counter c)
{
	return (c < METRICS_NCOUNTERS ? mx.counters[c] : 0);
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

	if (mx.epoch_ms == 0)
		mx.epoch_ms = daemon_now_ms();
	metrics_base36(mx.epoch_ms, a);
	metrics_base36(++mx.next_id, b);
	snprintf(buf, len, "%s-%s", a, b);
}

/* Resident set size in KB from /proc/self/statm. */
static uint64_t
metrics_rss_kb(void)
{
	unsigned long long	 size, rss;
	FILE			*f;
	long			 page = sysconf(_SC_PAGESIZE);

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (0);
	if (fscanf(f, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return ((uint64_t)rss * (uint64_t)(page > 0 ? page : 4096) / 1024);
}

/* Add an object member that is an unsigned number. */
static void
metrics_num(cJSON *o, const char *name, uint64_t v)
{
	cJSON_AddNumberToObject(o, name, (double)v);
}

/*
 * The store's own counters beside the SPEC fields: rows not stored or
 * not sent (oversize, set_aside), readings refused or recognized as
 * repeats, group commits, and the journal (segments, busy ones, bytes,
 * fdatasyncs and their total time).
 */
static void
metrics_store(cJSON *s, const struct store_stats *ss)
{
	metrics_num(s, "oversize", ss->oversize);
	metrics_num(s, "set_aside", ss->set_aside);
	metrics_num(s, "refused", ss->refused);
	metrics_num(s, "duplicates", ss->duplicates);
	metrics_num(s, "commits", ss->commits);
	metrics_num(s, "journal_segments", ss->journal_segments);
	metrics_num(s, "journal_busy", ss->journal_busy);
	metrics_num(s, "journal_bytes", ss->journal_bytes);
	metrics_num(s, "syncs", ss->syncs);
	metrics_num(s, "sync_us", ss->sync_us);
}

/* Build the P/metrics body (caller frees). */
char *
metrics_json(void)
{
	struct store_stats	 ss;
	struct uplink_stats	 us;
	uint64_t		 known, online, runs;
	cJSON			*o, *s;
	char			 id[48], *text;

	store_stats(&ss);
	uplink_stats(&us);
	nodes_counts(&known, &online);
	metrics_new_id(id, sizeof id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	metrics_num(o, "ts", daemon_now_ms());
	metrics_num(o, "uptime_s", daemon_uptime_ms() / 1000);
	s = cJSON_AddObjectToObject(o, "ingest");
	metrics_num(s, "coap", mx.counters[METRICS_INGEST_COAP]);
	metrics_num(s, "serial", mx.counters[METRICS_INGEST_SERIAL]);
	metrics_num(s, "rejected", mx.counters[METRICS_INGEST_REJECTED]);
	metrics_num(s, "duplicates", mx.counters[METRICS_INGEST_DUPLICATES]);
	s = cJSON_AddObjectToObject(o, "store");
	metrics_num(s, "queued", ss.queued);
	metrics_num(s, "bytes", ss.bytes);
	metrics_num(s, "oldest_age_s", ss.oldest_age_s);
	metrics_num(s, "dropped", ss.dropped);
	metrics_num(s, "messages", ss.messages);
	cJSON_AddBoolToObject(s, "refusing", ss.refusing);
	metrics_store(s, &ss);
	s = cJSON_AddObjectToObject(o, "uplink");
	cJSON_AddBoolToObject(s, "connected", us.connected);
	metrics_num(s, "published", us.published);
	metrics_num(s, "inflight", us.inflight);
	metrics_num(s, "reconnects", us.reconnects);
	s = cJSON_AddObjectToObject(o, "tier2");
	runs = mx.counters[METRICS_TIER2_RUNS];
	metrics_num(s, "runs", runs);
	metrics_num(s, "mean_us", runs ? mx.counters[METRICS_TIER2_US] / runs :
	    0);
	metrics_num(s, "skipped", mx.counters[METRICS_TIER2_SKIPPED]);
	tier2_metrics(s);
	s = cJSON_AddObjectToObject(o, "nodes");
	metrics_num(s, "known", known);
	metrics_num(s, "online", online);
	nodes_metrics(s);
	metrics_num(o, "rss_kb", metrics_rss_kb());
	ingest_serial_metrics(o);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return (text);
}

/* Publish one report now (dropped silently while disconnected). */
void
metrics_publish(void)
{
	char	*text;

	if (mx.topic == NULL)
		return;
	text = metrics_json();
	if (text == NULL)
		return;
	uplink_publish_now(mx.topic, text, strlen(text), 0, 0);
	cJSON_free(text);
}

/* Start: remember the period and topic. */
int
metrics_start(const struct config *cf, char **cause)
{
	(void)cause;
	mx.interval_ms = config_ms(cf, "mqtt", "metrics_interval");
	xasprintf(&mx.topic, "%s/metrics", config_str(cf, "mqtt",
	    "topic_prefix"));
	mx.last_ms = daemon_now_ms();
	mx.started = 1;
	return (0);
}

/* SIGHUP: metrics_interval is reloadable. */
void
metrics_reload(const struct config *cf)
{
	mx.interval_ms = config_ms(cf, "mqtt", "metrics_interval");
}

/* Stop: nothing to close (the housekeeping timer drives us). */
void
metrics_stop(void)
{
	free(mx.topic);
	mx.topic = NULL;
	mx.started = 0;
}

/* Housekeeping: publish when the interval has passed. */
void
metrics_check(uint64_t mono)
{
	uint64_t	now = daemon_now_ms();

	(void)mono;
	if (!mx.started || now - mx.last_ms < mx.interval_ms)
		return;
	mx.last_ms = now;
	metrics_publish();
}
