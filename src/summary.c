/*
 * summary.c - the stage after the store: events, per-interval summaries
 * and forwarded windows ([summary], SPEC sections 2 and 5).
 *
 * The store hands every newly stored message to summary_on_message(),
 * inside the transaction that stores it; a repeated (node, boot, seq)
 * never reaches us.  Inferences (the nodes' and tier 2's own, kind
 * STORE_KIND_TIER2) feed the events (summary_event.c) and the interval
 * summaries (summary_interval.c); with forward_windows a window is written
 * to the outbox as JSON.  SenML packs (SPEC 14) are published on
 * P/senml/{node} and their numeric values counted per name in the
 * intervals.  Whatever this stage writes joins the message's
 * transaction, so it commits with the message or not at all.
 *
 * Crash recovery: open events are records in the store's state table and
 * open intervals are rebuilt at start by replaying the messages after the
 * store's cursor.  If the store rolls back a transaction (disk full), the
 * in-memory state may hold messages that were never stored; the store
 * tells us and the next housekeeping run rebuilds everything from the
 * database the same way.
 */
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "message.h"
#include "store.h"
#include "summary.h"
#include "summary_int.h"
#include "xmalloc.h"

static struct {
	int		forward_windows;
	uint64_t	interval_ms;
	int		stale;		/* rebuild from the database */
	int		started;
} stage;

/* Print o compactly and free it; the text is freed with cJSON_free(). */
char *
summary_json(cJSON *o)
{
	char	*s;

	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatalx("summary: out of memory");
	return (s);
}

/* Take the [summary] keys from a configuration. */
static void
summary_read_config(const struct config *cf)
{
	char *const	*ignore;
	size_t		 n;

	/* Borrowed: the daemon calls reload with a new config first. */
	ignore = config_list(cf, "summary", "ignore_labels", &n);
	summary_event_config(config_double(cf, "summary", "event_min_score"),
	    ignore, n, config_ms(cf, "summary", "debounce"));
	stage.forward_windows = config_bool(cf, "summary", "forward_windows");
	stage.interval_ms = config_ms(cf, "summary", "interval");
	summary_interval_labels((size_t)config_int(cf, "summary",
	    "max_labels"));
}

/*
 * Describe an inference to the events and intervals.  A live message comes
 * with message.c's parse; a replayed one or a tier-2 result is read from
 * its stored body, and *parsed (to be freed by the caller) holds the
 * strings.  Returns -1 if the body is not an inference.
 */
static int
summary_parse(const struct store_msg *m, struct summary_inf *in,
    struct message **parsed)
{
	const struct message	*r = m->msg;
	char			*cause = NULL;

	memset(in, 0, sizeof *in);
	in->node = m->node;
	in->tier = m->kind == STORE_KIND_TIER2 ? 2 : 1;
	in->boot = m->boot;
	in->seq = m->seq;
	in->rx_ms = m->rx_ms;
	*parsed = NULL;
	if (r == NULL) {
		if (message_parse_stored(m->kind, m->node, m->body, m->len,
		    parsed, &cause) != 0) {
			log_debug("summary: stored inference of %s does not "
			    "parse: %s", m->node, cause);
			free(cause);
			return (-1);
		}
		r = *parsed;
	}
	in->label = r->label;
	in->model = r->model;
	in->score = r->score;
	return (0);
}

/* The Edge Impulse payload shape of a binary window, as for JSON ones. */
static cJSON *
summary_window_binary(const struct store_msg *m, const struct message *w)
{
	cJSON		*o, *sensors, *values, *row, *s;
	char		 name[16];
	uint32_t	 f, a;

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)m->seq);
	cJSON_AddNumberToObject(o, "boot", m->boot);
	cJSON_AddNumberToObject(o, "interval_ms",
	    (double)w->interval_us / 1000);
	sensors = cJSON_AddArrayToObject(o, "sensors");
	for (a = 0; a < w->axes; a++) {
		snprintf(name, sizeof name, "axis%" PRIu32, a);
		s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "name", name);
		cJSON_AddItemToArray(sensors, s);
	}
	values = cJSON_AddArrayToObject(o, "values");
	for (f = 0; f < w->frames; f++) {
		row = cJSON_CreateFloatArray(&w->values[f * w->axes],
		    (int)w->axes);
		cJSON_AddItemToArray(values, row);
	}
	return (o);
}

/*
 * A window as the JSON of P/windows/{node}, with our id; NULL if bad.  A
 * JSON window is forwarded with the members it was stored with, so its
 * validated body is printed again with ours added.
 */
static char *
summary_window_json(const struct store_msg *m)
{
	const struct message	*w = m->msg;
	struct message		*parsed = NULL;
	cJSON			*o;
	char			 id[160], *cause = NULL;

	/* Ingest's parse when there is one (always, for live data). */
	if (w == NULL) {
		if (message_parse_stored(m->kind, m->node, m->body, m->len,
		    &parsed, &cause) != 0) {
			log_debug("summary: stored window of %s does not "
			    "parse: %s", m->node, cause);
			free(cause);
			return (NULL);
		}
		w = parsed;
	}
	if (w->format == MESSAGE_WINDOW_BINARY)
		o = summary_window_binary(m, w);
	else
		o = cJSON_ParseWithLength((const char *)w->body, w->body_len);
	message_free(parsed);
	if (o == NULL)
		return (NULL);
	snprintf(id, sizeof id, "win:%s:%" PRIu32 ":%" PRId64, m->node,
	    m->boot, m->seq);
	cJSON_AddItemToObject(o, "node", cJSON_CreateString(m->node));
	cJSON_AddItemToObject(o, "id", cJSON_CreateString(id));
	return (summary_json(o));
}

/* forward_windows: put a window on P/windows/{node} via the outbox. */
static void
summary_forward_window(const struct store_msg *m)
{
	char	*body, *topic;

	if ((body = summary_window_json(m)) == NULL) {
		log_warnx("summary: window %s seq %" PRId64 " not forwarded "
		    "(unreadable)", m->node, m->seq);
		return;
	}
	xasprintf(&topic, "windows/%s", m->node);
	if (store_outbox_add(topic, body, strlen(body), STORE_CLASS_WINDOW,
	    0, NULL, NULL) != 0)
		log_warnx("summary: window %s seq %" PRId64 " not forwarded "
		    "(store refusing)", m->node, m->seq);
	free(topic);
	cJSON_free(body);
}

/*
 * A stored SenML pack: count its numeric values in the intervals and, when
 * live (not a replay), publish it on P/senml/{node} through the outbox in
 * the message's transaction.  The id is the node, receive time and row id:
 * unique, and the same however often the row is sent.
 */
static void
summary_senml(const struct store_msg *m, int64_t id, int live)
{
	const struct message	*r = m->msg;
	struct message		*parsed = NULL;
	char			*cause = NULL, *body, *topic;

	if (r == NULL) {
		if (message_parse_stored(m->kind, m->node, m->body, m->len,
		    &parsed, &cause) != 0) {
			log_debug("summary: stored SenML of %s does not parse: "
			    "%s", m->node, cause);
			free(cause);
			summary_interval_seen(id);
			return;
		}
		r = parsed;
	}
	summary_interval_senml(m->node, r->senml, r->nsenml, m->rx_ms, id);
	if (live) {
		/* The body is the resolved JSON array: embedded as it is. */
		xasprintf(&body, "{\"id\":\"senml:%s:%" PRIu64 ":%" PRId64 "\","
		    "\"node\":\"%s\",\"records\":%.*s}", m->node, m->rx_ms, id,
		    m->node, (int)r->body_len, (const char *)r->body);
		xasprintf(&topic, "senml/%s", m->node);
		if (store_outbox_add(topic, body, strlen(body),
		    STORE_CLASS_EVENT, 0, NULL, NULL) != 0)
			log_warnx("summary: SenML of %s not published (store "
			    "refusing)", m->node);
		free(topic);
		free(body);
	}
	message_free(parsed);
}

/* Store hook: a new message was stored in the open transaction. */
void
summary_on_message(const struct store_msg *m, int64_t id, void *arg)
{
	struct summary_inf	 in;
	struct message		*parsed;

	(void)arg;
	if (m->kind == STORE_KIND_SENML) {
		summary_senml(m, id, 1);
		return;
	}
	if (m->kind == STORE_KIND_WINDOW && stage.forward_windows)
		summary_forward_window(m);
	if ((m->kind != STORE_KIND_INFERENCE && m->kind != STORE_KIND_TIER2) ||
	    summary_parse(m, &in, &parsed) != 0) {
		summary_interval_seen(id);
		return;
	}
	summary_event_add(&in);
	summary_interval_add(&in, id);
	message_free(parsed);
}

/* Replay one stored message into the open intervals (not events). */
static void
summary_replay(const struct store_msg *m, int64_t id, void *arg)
{
	struct summary_inf	 in;
	struct message		*parsed;
	size_t			*n = arg;

	if (m->kind == STORE_KIND_SENML) {
		summary_senml(m, id, 0);
		return;
	}
	if ((m->kind != STORE_KIND_INFERENCE && m->kind != STORE_KIND_TIER2) ||
	    summary_parse(m, &in, &parsed) != 0) {
		summary_interval_seen(id);
		return;
	}
	summary_interval_add(&in, id);
	message_free(parsed);
	(*n)++;
}

/* Load events and intervals from the database. */
static int
summary_load(char **cause)
{
	size_t	n = 0;

	if (summary_event_load() != 0 ||
	    summary_interval_start(stage.interval_ms) != 0 ||
	    store_msg_scan(store_msg_cursor(), summary_replay, &n) != 0) {
		xasprintf(cause, "summary: cannot read state from the store");
		return (-1);
	}
	if (n > 0)
		log_info("summary: %zu inferences of open intervals recovered",
		    n);
	return (0);
}

/* The store rolled a transaction back: rebuild at the next check. */
static void
summary_rolled_back(void)
{
	stage.stale = 1;
}

/* Just before the store commits: record the events changed in it. */
static void
summary_precommit(void)
{
	if (stage.started && !stage.stale)
		summary_event_flush();
}

/* Housekeeping: rebuild if needed, close events and intervals. */
void
summary_check(uint64_t mono)
{
	uint64_t	 now = daemon_now_ms();
	char		*cause = NULL;

	if (!stage.started)
		return;
	if (stage.stale && store_accepting()) {
		summary_event_stop();
		summary_interval_stop();
		summary_read_config(daemon_config());
		if (summary_load(&cause) != 0) {
			log_warnx("%s", cause);
			free(cause);
			return;
		}
		stage.stale = 0;
		log_info("summary: state rebuilt from the store after a "
		    "rolled-back write");
	}
	summary_event_check(now);
	summary_interval_check(now, mono);
}

/* Number of events still open (for metrics and tests). */
size_t
summary_open_events(void)
{
	return (summary_event_open());
}

/* Start: read the config, recover state, ask the store for messages. */
int
summary_start(const struct config *cf, char **cause)
{
	summary_read_config(cf);
	if (summary_load(cause) != 0) {
		summary_event_stop();
		summary_interval_stop();
		return (-1);
	}
	store_add_message_hook(summary_on_message, NULL);
	store_add_rollback(summary_rolled_back);
	store_set_precommit(summary_precommit);
	stage.started = 1;
	return (0);
}

/* SIGHUP: new thresholds apply to new inferences. */
void
summary_reload(const struct config *cf)
{
	summary_read_config(cf);
	summary_interval_reload(stage.interval_ms);
}

/*
 * Stop: forget what is in memory.  Open events and intervals are in the
 * store and are taken back at the next start.
 */
void
summary_stop(void)
{
	if (!stage.started)
		return;
	store_remove_message_hook(summary_on_message);
	store_remove_rollback(summary_rolled_back);
	store_set_precommit(NULL);
	/* The store commits once more at its stop: changed events join. */
	if (!stage.stale && store_accepting())
		summary_event_flush();
	summary_event_stop();
	summary_interval_stop();
	stage.started = 0;
}
