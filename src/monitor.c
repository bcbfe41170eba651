/*
 * monitor.c - the monitoring stage: P/metrics and the nodes' status.
 *
 * Data flows one way: ingest, the store, tier 2 and the registry only
 * count (metrics.h) and record (nodes.c keeps a set of changed nodes);
 * this module, at the top, reads them and publishes through the uplink.
 * It is the only caller of uplink_publish_now() besides the uplink itself.
 *
 * P/metrics carries every field of SPEC section 5 and goes out directly
 * every metrics_interval (the housekeeping table runs monitor_check), not
 * through the outbox: a stale metrics sample is worth nothing after an
 * outage.  The "store" object adds the store's own counters
 * (monitor_store()); the "tier2" object adds "skipped" and, under
 * "models", each model's own runs, mean time, skips and errors.
 *
 * With [homeassistant] discovery on, ha.c rides along: the gateway's
 * discovery configs after every connect, a node's with its status, their
 * removal with a forgotten node's clear.
 *
 * A status that does not go while the link is up (Paho's queue is full:
 * the whole registry after a reconnect) waits in a bounded retry set and
 * goes at the end of a later turn.
 *
 * Node status (retained) goes out when the registry marks a node changed
 * (appeared, back, heartbeat fields changed, offline) and a forgotten
 * node's status is cleared; after every (re)connect every node is sent
 * again.  The changed set is emptied at the end of every loop turn that
 * ran callbacks: a uv_check handle right after the I/O callbacks (CoAP,
 * serial) and a uv_prepare handle right before the loop blocks (timers:
 * the store's commit, the housekeeping that times nodes out).  So a change
 * leaves in the same turn it was made, as it did when the registry
 * published directly, and no sample of P/metrics sees a clear pending
 * that the next turn would send.  Both handles cost one empty-list test
 * per turn; a timer would add latency, an idle handle would spin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "fed.h"
#include "ha.h"
#include "ingest_serial.h"
#include "learn.h"
#include "metrics.h"
#include "monitor.h"
#include "nodes.h"
#include "store.h"
#include "tier2.h"
#include "uplink.h"
#include "xmalloc.h"

#define MONITOR_RETRY_BUCKETS	1024

/* A node whose status did not go while connected: sent again later. */
struct monitor_retry {
	char			*id;
	struct monitor_retry	*next;		/* in its bucket */
	struct monitor_retry	*qnext;		/* in the queue */
};

static struct {
	struct monitor_retry	*buckets[MONITOR_RETRY_BUCKETS];
	struct monitor_retry	*head, **tail;
	size_t			 n, max;
} retry;

static struct {
	uint64_t	 interval_ms;
	uint64_t	 last_ms;
	uint32_t	 expiry_s;	/* MQTT 5 message expiry of P/metrics */
	char		*topic;
	int		 started;
	int		 handles;
	uv_prepare_t	 prepare;	/* before the loop blocks */
	uv_check_t	 check;		/* after the I/O callbacks */
} monitor;

/* Resident set size in KB from /proc/self/statm. */
static uint64_t
monitor_rss_kb(void)
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
monitor_num(cJSON *o, const char *name, uint64_t v)
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
monitor_store(cJSON *s, const struct store_stats *ss)
{
	monitor_num(s, "oversize", ss->oversize);
	monitor_num(s, "set_aside", ss->set_aside);
	monitor_num(s, "refused", ss->refused);
	monitor_num(s, "duplicates", ss->duplicates);
	monitor_num(s, "commits", ss->commits);
	monitor_num(s, "journal_segments", ss->journal_segments);
	monitor_num(s, "journal_busy", ss->journal_busy);
	monitor_num(s, "journal_bytes", ss->journal_bytes);
	monitor_num(s, "syncs", ss->syncs);
	monitor_num(s, "sync_us", ss->sync_us);
}

/* The "ingest" object, from the counters. */
static void
monitor_counters(cJSON *o)
{
	cJSON	*s;

	s = cJSON_AddObjectToObject(o, "ingest");
	monitor_num(s, "coap", metrics_get(METRICS_INGEST_COAP));
	monitor_num(s, "serial", metrics_get(METRICS_INGEST_SERIAL));
	monitor_num(s, "rejected", metrics_get(METRICS_INGEST_REJECTED));
	monitor_num(s, "duplicates", metrics_get(METRICS_INGEST_DUPLICATES));
}

/* The "tier2" object: the counters and each model's own. */
static void
monitor_tier2(cJSON *o)
{
	cJSON		*s;
	uint64_t	 runs;

	s = cJSON_AddObjectToObject(o, "tier2");
	runs = metrics_get(METRICS_TIER2_RUNS);
	monitor_num(s, "runs", runs);
	monitor_num(s, "mean_us", runs ? metrics_get(METRICS_TIER2_US) /
	    runs : 0);
	monitor_num(s, "skipped", metrics_get(METRICS_TIER2_SKIPPED));
	tier2_metrics(s);
}

/* Build the P/metrics body (caller frees with cJSON_free). */
char *
monitor_json(void)
{
	struct store_stats	 ss;
	struct uplink_stats	 us;
	uint64_t		 known, online;
	cJSON			*o, *s;
	char			 id[48], *text;

	store_stats(&ss);
	uplink_stats(&us);
	nodes_counts(&known, &online);
	metrics_new_id(id, sizeof id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	monitor_num(o, "ts", daemon_now_ms());
	monitor_num(o, "uptime_s", daemon_uptime_ms() / 1000);
	monitor_counters(o);
	s = cJSON_AddObjectToObject(o, "store");
	monitor_num(s, "queued", ss.queued);
	monitor_num(s, "bytes", ss.bytes);
	monitor_num(s, "oldest_age_s", ss.oldest_age_s);
	monitor_num(s, "dropped", ss.dropped);
	monitor_num(s, "messages", ss.messages);
	cJSON_AddBoolToObject(s, "refusing", ss.refusing);
	monitor_store(s, &ss);
	s = cJSON_AddObjectToObject(o, "uplink");
	cJSON_AddBoolToObject(s, "connected", us.connected);
	monitor_num(s, "published", us.published);
	monitor_num(s, "inflight", us.inflight);
	monitor_num(s, "reconnects", us.reconnects);
	monitor_tier2(o);
	fed_metrics(o);
	learn_metrics(o);
	s = cJSON_AddObjectToObject(o, "nodes");
	monitor_num(s, "known", known);
	monitor_num(s, "online", online);
	nodes_metrics(s);
	monitor_num(o, "rss_kb", monitor_rss_kb());
	ingest_serial_metrics(o);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return (text);
}

/* Publish one report now (dropped silently while disconnected). */
void
monitor_publish(void)
{
	char	*text;

	if (monitor.topic == NULL)
		return;
	text = monitor_json();
	if (text == NULL)
		return;
	/* Two periods: a consumer's queue never holds a stale sample. */
	uplink_publish_expiring(monitor.topic, text, strlen(text),
	    monitor.expiry_s);
	cJSON_free(text);
}

/* Is the uplink connected? */
static int
monitor_connected(void)
{
	struct uplink_stats	us;

	uplink_stats(&us);
	return (us.connected);
}

/* Publish a node's retained status (body NULL: clear it); 0 if sent. */
static int
monitor_send_status(const char *id, const char *body)
{
	const char	*prefix = uplink_prefix();
	char		*topic;
	int		 rc;

	if (prefix == NULL)
		return (-1);
	xasprintf(&topic, "%s/nodes/%s/status", prefix, id);
	rc = uplink_publish_now(topic, body != NULL ? body : "",
	    body != NULL ? strlen(body) : 0, 1, 1);
	free(topic);
	return (rc);
}

/* The bucket of an id in the retry set (FNV-1a). */
static struct monitor_retry **
monitor_retry_bucket(const char *id)
{
	uint32_t	h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return (&retry.buckets[h % MONITOR_RETRY_BUCKETS]);
}

/* Take the oldest id off the retry queue and free it. */
static void
monitor_retry_pop(void)
{
	struct monitor_retry	*r = retry.head, **pp;

	for (pp = monitor_retry_bucket(r->id); *pp != r; pp = &(*pp)->next)
		;
	*pp = r->next;
	if ((retry.head = r->qnext) == NULL)
		retry.tail = &retry.head;
	free(r->id);
	free(r);
	retry.n--;
}

/*
 * A status did not go although the link is up: Paho takes only so many
 * QoS 1 messages at once (max_inflight + 16 in flight, 100 queued), which
 * the whole registry after a reconnect exceeds.  Remember the id (once);
 * the set is bounded (twice gateway.max_nodes; the oldest goes, and the
 * next connect sends every status anyway).
 */
static void
monitor_retry_add(const char *id)
{
	struct monitor_retry	**b = monitor_retry_bucket(id), *r;

	for (r = *b; r != NULL; r = r->next)
		if (strcmp(r->id, id) == 0)
			return;
	if (retry.n >= retry.max && retry.head != NULL)
		monitor_retry_pop();
	r = xcalloc(1, sizeof *r);
	r->id = xstrdup(id);
	r->next = *b;
	*b = r;
	*retry.tail = r;
	retry.tail = &r->qnext;
	retry.n++;
}

/*
 * nodes_flush_* callback: send a node's retained status, or (body NULL)
 * the empty retained message that deletes it.  0 if sent.
 */
static int
monitor_node_send(const char *id, const char *body)
{
	int	rc;

	rc = monitor_send_status(id, body);
	/* Discovery configs (or their removal) follow a status that went. */
	if (rc == 0)
		(void)ha_node(id, body);
	else if (body != NULL && monitor_connected())
		monitor_retry_add(id);
	return (rc);
}

/* Send the statuses that waited, oldest first, while the uplink takes them. */
static void
monitor_retry_drain(void)
{
	char	*body;

	while (retry.head != NULL) {
		/* Forgotten since: the registry clears it on its own. */
		if ((body = nodes_status(retry.head->id)) != NULL) {
			if (monitor_send_status(retry.head->id, body) != 0) {
				free(body);
				return;
			}
			(void)ha_node(retry.head->id, body);
			free(body);
		}
		monitor_retry_pop();
	}
}

/* Forget every waiting status. */
static void
monitor_retry_clear(void)
{
	while (retry.head != NULL)
		monitor_retry_pop();
}

/* End of a loop turn's callbacks: send what the registry changed. */
static void
monitor_turn_cb(void)
{
	if (!monitor.started)
		return;
	nodes_flush_changed(monitor_node_send);
	monitor_retry_drain();
	ha_drain();
}

/* uv_check: right after the I/O callbacks. */
static void
monitor_check_cb(uv_check_t *h)
{
	(void)h;
	monitor_turn_cb();
}

/* uv_prepare: right before the loop blocks. */
static void
monitor_prepare_cb(uv_prepare_t *h)
{
	(void)h;
	monitor_turn_cb();
}

/*
 * After every (re)connect: the gateway's discovery configs, the waiting
 * clears, then every node again (with its discovery configs).
 */
static void
monitor_on_connect(void)
{
	if (!monitor.started)
		return;
	ha_connected();
	/* Every status goes again: what waited is in it. */
	monitor_retry_clear();
	nodes_flush_all(monitor_node_send);
}

/* Start: remember the period and topic; watch the registry each turn. */
int
monitor_start(const struct config *cf, char **cause)
{
	if (ha_start(cf, cause) != 0)
		return (-1);
	monitor.interval_ms = config_ms(cf, "mqtt", "metrics_interval");
	/* The uplink's prefix (started before us): gateway.site shapes it. */
	xasprintf(&monitor.topic, "%s/metrics", uplink_prefix() != NULL ?
	    uplink_prefix() : config_str(cf, "mqtt", "topic_prefix"));
	monitor.expiry_s = (uint32_t)(2 * monitor.interval_ms / 1000);
	monitor.last_ms = daemon_now_ms();
	retry.tail = &retry.head;
	retry.max = 2 * (size_t)config_int(cf, "gateway", "max_nodes");
	if (!monitor.handles) {
		uv_prepare_init(daemon_loop(), &monitor.prepare);
		uv_check_init(daemon_loop(), &monitor.check);
		/* Housekeeping handles: they must not keep the loop alive. */
		uv_unref((uv_handle_t *)&monitor.prepare);
		uv_unref((uv_handle_t *)&monitor.check);
		uv_prepare_start(&monitor.prepare, monitor_prepare_cb);
		uv_check_start(&monitor.check, monitor_check_cb);
		monitor.handles = 1;
		/* Once per start, as the registry did: hooks are never removed. */
		uplink_on_connect(monitor_on_connect);
	}
	monitor.started = 1;
	return (0);
}

/* SIGHUP: metrics_interval is reloadable. */
void
monitor_reload(const struct config *cf)
{
	monitor.interval_ms = config_ms(cf, "mqtt", "metrics_interval");
	monitor.expiry_s = (uint32_t)(2 * monitor.interval_ms / 1000);
	retry.max = 2 * (size_t)config_int(cf, "gateway", "max_nodes");
}

/* Stop: send what changed last, close the handles. */
void
monitor_stop(void)
{
	if (monitor.started)
		nodes_flush_changed(monitor_node_send);
	if (monitor.handles) {
		uv_close((uv_handle_t *)&monitor.prepare, NULL);
		uv_close((uv_handle_t *)&monitor.check, NULL);
		monitor.handles = 0;
	}
	ha_stop();
	monitor_retry_clear();
	free(monitor.topic);
	monitor.topic = NULL;
	monitor.started = 0;
}

/* Housekeeping: publish P/metrics when the interval has passed. */
void
monitor_check(uint64_t mono)
{
	uint64_t	now = daemon_now_ms();

	(void)mono;
	if (!monitor.started || now - monitor.last_ms < monitor.interval_ms)
		return;
	monitor.last_ms = now;
	monitor_publish();
}
