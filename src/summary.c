/*
 * summary.c - turn stored inferences into events on P/events/{node}.
 *
 * The store calls summary_on_message() for every message it newly stores,
 * inside the transaction that stores it; a repeated (node, boot, seq) never
 * reaches us.  An inference whose score is at least event_min_score and
 * whose label is not in ignore_labels qualifies:
 *
 * - debounce = 0: it becomes one event at once, written to the outbox in the
 *   same transaction as the inference itself, so an acknowledged inference
 *   and its event are on disk together or not at all;
 * - debounce > 0: it opens an event for (node, label), or extends the open
 *   one (count, highest score, last_ts); the housekeeping check closes an
 *   event when debounce has passed without a repeat and writes it to the
 *   outbox.  A graceful stop closes every open event.
 *
 * Event ids derive from the inference that opened the event (node, boot,
 * seq), so one event always carries one id however often it is sent.
 * Timestamps are the gateway's receive times (node clocks drift).
 *
 * Not yet: open events survive a crash only as their raw inference rows
 * (the summaries issue rebuilds them from the database), and per-interval
 * summaries on P/summary/{node}.
 */
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "store.h"
#include "summary.h"
#include "xmalloc.h"

/* An event still collecting repeats. */
struct summary_event {
	char		*node;
	char		*label;
	char		*model;
	uint32_t	 boot;
	int64_t		 seq;
	double		 score;
	uint64_t	 count;
	uint64_t	 first_ms;
	uint64_t	 last_ms;
};

static struct {
	double			 min_score;
	/*
	 * Borrowed from the configuration in force: the daemon hands us a
	 * new one in summary_reload() before it frees the old one.
	 */
	char *const		*ignore;
	size_t			 nignore;
	uint64_t		 debounce_ms;
	struct summary_event	*open;
	size_t			 nopen;
	uint64_t		 dropped;
} sm;

/* Take the [summary] keys we use from a configuration. */
static void
summary_read_config(const struct config *cf)
{
	sm.ignore = config_list(cf, "summary", "ignore_labels", &sm.nignore);
	sm.min_score = config_double(cf, "summary", "event_min_score");
	sm.debounce_ms = config_ms(cf, "summary", "debounce");
}

/* Does a label/score pair make an event? */
static int
summary_qualifies(const char *label, double score)
{
	size_t	i;

	if (score < sm.min_score)
		return (0);
	for (i = 0; i < sm.nignore; i++) {
		if (strcmp(sm.ignore[i], label) == 0)
			return (0);
	}
	return (1);
}

/* Write one event to the outbox (joins the store's open transaction). */
static void
summary_emit(const struct summary_event *e, int tier)
{
	cJSON	*o;
	char	*topic, *body, id[160];

	snprintf(id, sizeof id, "ev:%s:%" PRIu32 ":%" PRId64 ":%d", e->node,
	    e->boot, e->seq, tier);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "node", e->node);
	cJSON_AddStringToObject(o, "label", e->label);
	cJSON_AddNumberToObject(o, "score", e->score);
	cJSON_AddNumberToObject(o, "tier", tier);
	cJSON_AddStringToObject(o, "model", e->model);
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddNumberToObject(o, "count", (double)e->count);
	cJSON_AddNumberToObject(o, "first_ts", (double)e->first_ms);
	cJSON_AddNumberToObject(o, "last_ts", (double)e->last_ms);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* Outbox topics are relative to mqtt.topic_prefix. */
	xasprintf(&topic, "events/%s", e->node);
	if (body == NULL || store_outbox_add(topic, body, strlen(body),
	    STORE_CLASS_EVENT, 0, NULL, NULL) != 0) {
		sm.dropped++;
		log_warnx("summary: event %s not stored (store refusing)", id);
	}
	free(topic);
	cJSON_free(body);
}

/* Free what an open event owns. */
static void
summary_event_free(struct summary_event *e)
{
	free(e->node);
	free(e->label);
	free(e->model);
}

/* Close open event i: emit it and remove it from the list. */
static void
summary_close(size_t i)
{
	summary_emit(&sm.open[i], 1);
	summary_event_free(&sm.open[i]);
	sm.open[i] = sm.open[--sm.nopen];
}

/* Store hook: a new message was stored in the open transaction. */
void
summary_on_message(const struct store_msg *m, int64_t id, void *arg)
{
	struct summary_event	 ev, *e;
	const cJSON		*label, *score, *model;
	cJSON			*o;
	size_t			 i;

	(void)arg;
	(void)id;
	if (m->kind != STORE_KIND_INFERENCE)
		return;
	o = cJSON_ParseWithLength(m->body, m->len);
	label = cJSON_GetObjectItemCaseSensitive(o, "label");
	score = cJSON_GetObjectItemCaseSensitive(o, "score");
	model = cJSON_GetObjectItemCaseSensitive(o, "model");
	if (!cJSON_IsString(label) || !cJSON_IsNumber(score) ||
	    !cJSON_IsString(model) ||
	    !summary_qualifies(label->valuestring, score->valuedouble)) {
		cJSON_Delete(o);
		return;
	}
	for (i = 0; sm.debounce_ms != 0 && i < sm.nopen; i++) {
		e = &sm.open[i];
		if (strcmp(e->node, m->node) != 0 ||
		    strcmp(e->label, label->valuestring) != 0)
			continue;
		e->count++;
		if (score->valuedouble > e->score)
			e->score = score->valuedouble;
		e->last_ms = m->rx_ms;
		cJSON_Delete(o);
		return;
	}
	memset(&ev, 0, sizeof ev);
	ev.node = xstrdup(m->node);
	ev.label = xstrdup(label->valuestring);
	ev.model = xstrdup(model->valuestring);
	ev.boot = m->boot;
	ev.seq = m->seq;
	ev.score = score->valuedouble;
	ev.count = 1;
	ev.first_ms = ev.last_ms = m->rx_ms;
	cJSON_Delete(o);
	if (sm.debounce_ms == 0) {
		summary_emit(&ev, 1);
		summary_event_free(&ev);
		return;
	}
	sm.open = xreallocarray(sm.open, sm.nopen + 1, sizeof *sm.open);
	sm.open[sm.nopen++] = ev;
}

/* Housekeeping: close events that saw no repeat for debounce. */
void
summary_check(uint64_t mono)
{
	uint64_t	now = daemon_now_ms();
	size_t		i;

	(void)mono;
	for (i = sm.nopen; i > 0; i--) {
		if (now >= sm.open[i - 1].last_ms + sm.debounce_ms)
			summary_close(i - 1);
	}
}

/* Number of events still open (for metrics and tests). */
size_t
summary_open_events(void)
{
	return (sm.nopen);
}

/* Start: read the config and ask the store for new messages. */
int
summary_start(const struct config *cf, char **cause)
{
	(void)cause;
	summary_read_config(cf);
	store_add_message_hook(summary_on_message, NULL);
	return (0);
}

/* SIGHUP: new thresholds apply to new inferences. */
void
summary_reload(const struct config *cf)
{
	summary_read_config(cf);
}

/* Stop: close every open event so nothing collected is lost. */
void
summary_stop(void)
{
	while (sm.nopen > 0)
		summary_close(sm.nopen - 1);
	store_remove_message_hook(summary_on_message);
	free(sm.open);
	sm.open = NULL;
	sm.ignore = NULL;
	sm.nignore = 0;
}
