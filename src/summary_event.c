/*
 * summary_event.c - debounced events on P/events/{node}.
 *
 * An inference whose score is at least event_min_score and whose label is
 * not in ignore_labels qualifies.  With debounce = 0 it becomes one event
 * at once, written to the outbox in the transaction that stores the
 * inference.  With debounce > 0 it opens an event for (node, tier, label)
 * or extends the open one (count, highest score, last_ts); an event closes
 * when debounce has passed without a repeat.
 *
 * Open events survive kill -9: each one is also a record in the store's
 * state table ("ev/NODE/TIER/LABEL"), written in the transaction of the
 * inferences that opened or extended it (once per transaction, from the
 * store's pre-commit callback, not once per inference: at 100 readings a
 * second from one node that is one write instead of a hundred) and
 * deleted in the transaction that writes the closed event to the outbox.
 * After a kill the journal gives the inferences of the lost transaction
 * back in order, so the events are exactly as the acknowledged inferences
 * left them: none lost, none counted twice.
 *
 * Event ids derive from the inference that opened the event (node, boot,
 * seq, tier), so one event always carries one id however often it is
 * sent.  Timestamps are the gateway's receive times.
 */
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "summary_int.h"
#include "xmalloc.h"

/* An event still collecting repeats. */
struct summary_event {
	char		*key;		/* state record key */
	char		*node;
	char		*label;
	char		*model;
	int		 tier;
	uint32_t	 boot;
	int64_t		 seq;
	double		 score;
	uint64_t	 count;
	uint64_t	 first_ms;
	uint64_t	 last_ms;
	uint32_t	 hash;		/* of node, tier, label: a quick test */
	int		 dirty;		/* changed since its record was written */
};

static struct {
	double			 min_score;
	char *const		*ignore;	/* borrowed from the config */
	size_t			 nignore;
	uint64_t		 debounce_ms;
	struct summary_event	*open;
	size_t			 nopen;
} se;

/* Take the thresholds in force (ignore is borrowed, see summary.c). */
void
summary_event_config(double min_score, char *const *ignore, size_t nignore,
    uint64_t debounce_ms)
{
	se.min_score = min_score;
	se.ignore = ignore;
	se.nignore = nignore;
	se.debounce_ms = debounce_ms;
}

/* Does an inference make an event? */
static int
summary_event_qualifies(const struct summary_inf *in)
{
	size_t	i;

	if (in->score < se.min_score)
		return (0);
	for (i = 0; i < se.nignore; i++) {
		if (strcmp(se.ignore[i], in->label) == 0)
			return (0);
	}
	return (1);
}

/* The event as JSON: for the outbox (public) or the state record. */
static char *
summary_event_json(const struct summary_event *e, int public)
{
	cJSON	*o;
	char	 id[200];

	o = cJSON_CreateObject();
	if (public) {
		snprintf(id, sizeof id, "ev:%s:%" PRIu32 ":%" PRId64 ":%d",
		    e->node, e->boot, e->seq, e->tier);
		cJSON_AddStringToObject(o, "id", id);
	}
	cJSON_AddStringToObject(o, "node", e->node);
	cJSON_AddStringToObject(o, "label", e->label);
	cJSON_AddNumberToObject(o, "score", e->score);
	cJSON_AddNumberToObject(o, "tier", e->tier);
	cJSON_AddStringToObject(o, "model", e->model);
	if (!public)
		cJSON_AddNumberToObject(o, "boot", e->boot);
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddNumberToObject(o, "count", (double)e->count);
	cJSON_AddNumberToObject(o, "first_ts", (double)e->first_ms);
	cJSON_AddNumberToObject(o, "last_ts", (double)e->last_ms);
	return (summary_json(o));
}

/* Write one closed event to the outbox (joins the open transaction). */
static int
summary_event_emit(const struct summary_event *e)
{
	char	*topic, *body;
	int	 rv;

	body = summary_event_json(e, 1);
	/* Outbox topics are relative to mqtt.topic_prefix. */
	xasprintf(&topic, "events/%s", e->node);
	rv = store_outbox_add(topic, body, strlen(body), STORE_CLASS_EVENT, 0,
	    NULL, NULL);
	free(topic);
	cJSON_free(body);
	return (rv);
}

/* Record an open event in the state table. */
static void
summary_event_save(const struct summary_event *e)
{
	char	*s;

	s = summary_event_json(e, 0);
	if (store_state_set(e->key, s, strlen(s)) != 0)
		log_warnx("summary: open event %s not recorded", e->key);
	cJSON_free(s);
}

/* Free what an event owns. */
static void
summary_event_free(struct summary_event *e)
{
	free(e->key);
	free(e->node);
	free(e->label);
	free(e->model);
}

/* FNV-1a over node, tier and label: most open events differ in it. */
static uint32_t
summary_event_hash(const char *node, int tier, const char *label)
{
	uint32_t	h = 2166136261u;

	for (; *node != '\0'; node++)
		h = (h ^ (uint8_t)*node) * 16777619u;
	h = (h ^ (uint8_t)tier) * 16777619u;
	for (; *label != '\0'; label++)
		h = (h ^ (uint8_t)*label) * 16777619u;
	return (h);
}

/* Append an event to the open list (takes ownership). */
static void
summary_event_push(struct summary_event *e)
{
	se.open = xreallocarray(se.open, se.nopen + 1, sizeof *se.open);
	se.open[se.nopen++] = *e;
}

/* The state key of (node, tier, label). */
static char *
summary_event_key(const char *node, int tier, const char *label)
{
	char	*key;

	xasprintf(&key, "ev/%s/%d/%s", node, tier, label);
	return (key);
}

/* A new inference: emit, extend or open an event. */
void
summary_event_add(const struct summary_inf *in)
{
	struct summary_event	 ev, *e;
	size_t			 i;
	uint32_t		 h;

	if (!summary_event_qualifies(in))
		return;
	h = summary_event_hash(in->node, in->tier, in->label);
	for (i = 0; se.debounce_ms != 0 && i < se.nopen; i++) {
		e = &se.open[i];
		if (e->hash != h || e->tier != in->tier ||
		    strcmp(e->node, in->node) != 0 ||
		    strcmp(e->label, in->label) != 0)
			continue;
		e->count++;
		if (in->score > e->score)
			e->score = in->score;
		e->last_ms = in->rx_ms;
		e->dirty = 1;
		return;
	}
	memset(&ev, 0, sizeof ev);
	ev.node = xstrdup(in->node);
	ev.label = xstrdup(in->label);
	ev.model = xstrdup(in->model);
	ev.tier = in->tier;
	ev.boot = in->boot;
	ev.seq = in->seq;
	ev.score = in->score;
	ev.count = 1;
	ev.first_ms = ev.last_ms = in->rx_ms;
	if (se.debounce_ms == 0) {
		if (summary_event_emit(&ev) != 0)
			log_warnx("summary: event for %s seq %" PRId64 " not "
			    "stored (store refusing)", ev.node, ev.seq);
		summary_event_free(&ev);
		return;
	}
	ev.key = summary_event_key(ev.node, ev.tier, ev.label);
	ev.hash = h;
	ev.dirty = 1;
	summary_event_push(&ev);
}

/*
 * Write the records of the events changed in this transaction (the
 * store's pre-commit callback, through summary.c).
 */
void
summary_event_flush(void)
{
	size_t	i;

	for (i = 0; i < se.nopen; i++) {
		if (!se.open[i].dirty)
			continue;
		summary_event_save(&se.open[i]);
		se.open[i].dirty = 0;
	}
}

/* Read a number member of a state record; 0 if absent. */
static double
summary_event_num(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return (cJSON_IsNumber(v) ? v->valuedouble : 0);
}

/* Read a string member of a state record; NULL if absent. */
static const char *
summary_event_str(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

/* One state record "ev/..." read back at start. */
static void
summary_event_loaded(const char *key, const void *val, size_t len, void *arg)
{
	struct summary_event	 ev;
	const char		*node, *label, *model;
	cJSON			*o;

	(void)arg;
	o = cJSON_ParseWithLength(val, len);
	node = summary_event_str(o, "node");
	label = summary_event_str(o, "label");
	model = summary_event_str(o, "model");
	if (node == NULL || label == NULL || model == NULL) {
		/* Not ours to interpret: leave it, say so once. */
		log_warnx("summary: unreadable open event record %s", key);
		cJSON_Delete(o);
		return;
	}
	memset(&ev, 0, sizeof ev);
	ev.key = xstrdup(key);
	ev.node = xstrdup(node);
	ev.label = xstrdup(label);
	ev.model = xstrdup(model);
	ev.tier = (int)summary_event_num(o, "tier");
	ev.boot = (uint32_t)summary_event_num(o, "boot");
	ev.seq = (int64_t)summary_event_num(o, "seq");
	ev.score = summary_event_num(o, "score");
	ev.count = (uint64_t)summary_event_num(o, "count");
	ev.first_ms = (uint64_t)summary_event_num(o, "first_ts");
	ev.last_ms = (uint64_t)summary_event_num(o, "last_ts");
	ev.hash = summary_event_hash(ev.node, ev.tier, ev.label);
	cJSON_Delete(o);
	summary_event_push(&ev);
}

/* Start: take back the events that were open when the daemon stopped. */
int
summary_event_load(void)
{
	if (store_state_scan("ev/", summary_event_loaded, NULL) != 0)
		return (-1);
	if (se.nopen > 0)
		log_info("summary: %zu open events recovered", se.nopen);
	return (0);
}

/* Close open event i: outbox row and record removal, one transaction. */
static int
summary_event_close(size_t i)
{
	struct summary_event	*e = &se.open[i];

	if (summary_event_emit(e) != 0 || store_state_delete(e->key) != 0)
		return (-1);
	summary_event_free(e);
	se.open[i] = se.open[--se.nopen];
	return (0);
}

/*
 * Housekeeping: close events that saw no repeat for debounce.  While the
 * store refuses writes nothing closes; the events stay open (and
 * recorded) until it accepts again.
 */
void
summary_event_check(uint64_t now)
{
	size_t	i;

	if (!store_accepting())
		return;
	for (i = se.nopen; i > 0; i--) {
		if (now >= se.open[i - 1].last_ms + se.debounce_ms &&
		    summary_event_close(i - 1) != 0)
			return;
	}
}

/*
 * Stop: forget the open events.  They stay recorded in the store and are
 * taken back at the next start, so a restart neither closes an event
 * early nor splits it in two.
 */
void
summary_event_stop(void)
{
	while (se.nopen > 0)
		summary_event_free(&se.open[--se.nopen]);
	free(se.open);
	se.open = NULL;
	se.ignore = NULL;
	se.nignore = 0;
}

/* Number of events still open (for metrics and tests). */
size_t
summary_event_open(void)
{
	return (se.nopen);
}
