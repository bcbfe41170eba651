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
 * Open events survive kill -9: all of them are one record of the store's
 * state table ("events", summary_record.c), rewritten in each transaction
 * that opened, extended or closed one (from the store's pre-commit
 * callback, so once per transaction, not once per inference), and the
 * transaction that writes a closed event to the outbox also drops it from
 * the record.  After a kill the journal gives the inferences of the lost
 * transaction back in order, so the events are exactly as the
 * acknowledged inferences left them: none lost, none counted twice.
 * Older versions kept a JSON record per event ("ev/NODE/TIER/LABEL"):
 * those are read at start and replaced by the one record.
 *
 * At most SUMMARY_OPEN_MAX events are open (a node can invent labels):
 * past that an inference that would open one is sent as its own event at
 * once, as with debounce = 0.  Open events are found by a hash table of
 * (node, tier, label).
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

#define SUMMARY_EVENTS_KEY	"events"	/* the state record */
#define SUMMARY_LEGACY_PREFIX	"ev/"		/* one JSON record each */

/*
 * An event still collecting repeats: the fields of its record (the
 * strings are this event's own copies) and a hash for the table.
 */
struct summary_event {
	struct summary_rec	r;
	uint32_t		hash;	/* of node, tier, label */
};

static struct {
	double			 min_score;
	char *const		*ignore;	/* borrowed from the config */
	size_t			 nignore;
	uint64_t		 debounce_ms;
	struct summary_event	*open;
	size_t			 nopen;
	uint32_t		*slots;		/* index + 1 into open, or 0 */
	size_t			 nslots;	/* a power of two */
	int			 changed;	/* since the record was written */
	int			 capped;	/* SUMMARY_OPEN_MAX reached */
	char			**legacy;	/* old records to delete */
	size_t			 nlegacy;
	struct summary_buf	 buf;
} events;

/* Take the thresholds in force (ignore is borrowed, see summary.c). */
void
summary_event_config(double min_score, char *const *ignore, size_t nignore,
    uint64_t debounce_ms)
{
	events.min_score = min_score;
	events.ignore = ignore;
	events.nignore = nignore;
	events.debounce_ms = debounce_ms;
}

/* Does an inference make an event? */
static int
summary_event_qualifies(const struct summary_inf *in)
{
	size_t	i;

	if (in->score < events.min_score)
		return (0);
	for (i = 0; i < events.nignore; i++) {
		if (strcmp(events.ignore[i], in->label) == 0)
			return (0);
	}
	return (1);
}

/*
 * A number as cJSON would print it, but without its round-trip check on
 * every integer: the event is built per inference with debounce = 0.
 */
static void
summary_event_num(cJSON *o, const char *name, double v)
{
	char	buf[32];

	if (v == (double)(int64_t)v && v < 1e15 && v > -1e15)
		snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v);
	else {
		snprintf(buf, sizeof buf, "%1.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof buf, "%1.17g", v);
	}
	cJSON_AddRawToObject(o, name, buf);
}

/* The event as the JSON of P/events/{node}. */
static char *
summary_event_json(const struct summary_event *e)
{
	cJSON	*o;
	char	 id[200];

	o = cJSON_CreateObject();
	snprintf(id, sizeof id, "ev:%s:%" PRIu32 ":%" PRId64 ":%d", e->r.node,
	    e->r.boot, e->r.seq, e->r.tier);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "node", e->r.node);
	cJSON_AddStringToObject(o, "label", e->r.label);
	summary_event_num(o, "score", e->r.score);
	summary_event_num(o, "tier", e->r.tier);
	cJSON_AddStringToObject(o, "model", e->r.model);
	summary_event_num(o, "seq", (double)e->r.seq);
	summary_event_num(o, "count", (double)e->r.count);
	summary_event_num(o, "first_ts", (double)e->r.first_ms);
	summary_event_num(o, "last_ts", (double)e->r.last_ms);
	return (summary_json(o));
}

/* Write one closed event to the outbox (joins the open transaction). */
static int
summary_event_emit(const struct summary_event *e)
{
	char	*topic, *body;
	int	 rv;

	body = summary_event_json(e);
	/* Outbox topics are relative to mqtt.topic_prefix. */
	xasprintf(&topic, "events/%s", e->r.node);
	rv = store_outbox_add(topic, body, strlen(body), STORE_CLASS_EVENT, 0,
	    NULL, NULL);
	free(topic);
	cJSON_free(body);
	return (rv);
}

/* Free what an event owns. */
static void
summary_event_free(struct summary_event *e)
{
	/* Our own copies (see summary_event_init). */
	free((char *)e->r.node);
	free((char *)e->r.label);
	free((char *)e->r.model);
}

/* FNV-1a over node, tier and label. */
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

/* Make ev an event of its own with the fields of r. */
static void
summary_event_init(struct summary_event *ev, const struct summary_rec *r)
{
	ev->r = *r;
	ev->r.node = xstrdup(r->node);
	ev->r.label = xstrdup(r->label);
	ev->r.model = xstrdup(r->model);
	ev->hash = summary_event_hash(r->node, r->tier, r->label);
}

/* Put open event i into the hash table (which has room). */
static void
summary_event_slot(size_t i)
{
	size_t	mask = events.nslots - 1, k;

	for (k = events.open[i].hash & mask; events.slots[k] != 0; k =
	    (k + 1) & mask)
		;
	events.slots[k] = (uint32_t)i + 1;
}

/* Rebuild the hash table, at least twice as large as the open events. */
static void
summary_event_rehash(void)
{
	size_t	i;

	if (events.nslots < 64)
		events.nslots = 64;
	while (events.nslots < 2 * (events.nopen + 1))
		events.nslots *= 2;
	free(events.slots);
	events.slots = xcalloc(events.nslots, sizeof *events.slots);
	for (i = 0; i < events.nopen; i++)
		summary_event_slot(i);
}

/* The open event of (node, tier, label), or NULL. */
static struct summary_event *
summary_event_find(const char *node, int tier, const char *label, uint32_t h)
{
	struct summary_event	*e;
	size_t			 mask = events.nslots - 1, k;

	if (events.nslots == 0)
		return (NULL);
	for (k = h & mask; events.slots[k] != 0; k = (k + 1) & mask) {
		e = &events.open[events.slots[k] - 1];
		if (e->hash == h && e->r.tier == tier &&
		    strcmp(e->r.node, node) == 0 && strcmp(e->r.label, label) == 0)
			return (e);
	}
	return (NULL);
}

/* Append an event to the open list (takes ownership). */
static void
summary_event_push(struct summary_event *e)
{
	events.open = xreallocarray(events.open, events.nopen + 1,
	    sizeof *events.open);
	events.open[events.nopen++] = *e;
	if (2 * events.nopen > events.nslots)
		summary_event_rehash();
	else
		summary_event_slot(events.nopen - 1);
	events.changed = 1;
}

/* Send an event at once; it is freed. */
static void
summary_event_now(struct summary_event *ev)
{
	if (summary_event_emit(ev) != 0)
		log_warnx("summary: event for %s seq %" PRId64 " not stored "
		    "(store refusing)", ev->r.node, ev->r.seq);
	summary_event_free(ev);
}

/* A new inference: emit, extend or open an event. */
void
summary_event_add(const struct summary_inf *in)
{
	struct summary_event	 ev, *e;
	struct summary_rec	 r;
	uint32_t		 h;

	if (!summary_event_qualifies(in))
		return;
	h = summary_event_hash(in->node, in->tier, in->label);
	if (events.debounce_ms != 0 &&
	    (e = summary_event_find(in->node, in->tier, in->label,
	    h)) != NULL) {
		e->r.count++;
		if (in->score > e->r.score)
			e->r.score = in->score;
		e->r.last_ms = in->rx_ms;
		events.changed = 1;
		return;
	}
	memset(&r, 0, sizeof r);
	r.node = in->node;
	r.label = in->label;
	r.model = in->model;
	r.tier = in->tier;
	r.boot = in->boot;
	r.seq = in->seq;
	r.score = in->score;
	r.count = 1;
	r.first_ms = r.last_ms = in->rx_ms;
	summary_event_init(&ev, &r);
	if (events.debounce_ms == 0) {
		summary_event_now(&ev);
		return;
	}
	if (events.nopen >= SUMMARY_OPEN_MAX) {
		if (!events.capped)
			log_warnx("summary: %d events open, the most: new ones "
			    "are sent at once until some close",
			    SUMMARY_OPEN_MAX);
		events.capped = 1;
		summary_event_now(&ev);
		return;
	}
	summary_event_push(&ev);
}

/*
 * Write the record of the open events if this transaction changed them
 * (the store's pre-commit callback, through summary.c).  Records of older
 * versions go in the same transaction.
 */
void
summary_event_flush(void)
{
	size_t	i;

	if (!events.changed)
		return;
	for (i = 0; i < events.nlegacy; i++) {
		if (store_state_delete(events.legacy[i]) != 0)
			return;
	}
	summary_record_begin(&events.buf);
	for (i = 0; i < events.nopen; i++)
		summary_record_add(&events.buf, &events.open[i].r);
	if ((events.nopen == 0 ? store_state_delete(SUMMARY_EVENTS_KEY) :
	    store_state_set(SUMMARY_EVENTS_KEY, events.buf.data,
	    events.buf.len)) != 0) {
		log_warnx("summary: open events not recorded");
		return;
	}
	while (events.nlegacy > 0)
		free(events.legacy[--events.nlegacy]);
	events.changed = 0;
}

/* An event of the record read at start. */
static void
summary_event_decoded(const struct summary_rec *r, void *arg)
{
	struct summary_event	ev;

	(void)arg;
	summary_event_init(&ev, r);
	if (summary_event_find(ev.r.node, ev.r.tier, ev.r.label, ev.hash) != NULL ||
	    events.nopen >= SUMMARY_OPEN_MAX) {
		summary_event_free(&ev);	/* only a bad record has these */
		return;
	}
	summary_event_push(&ev);
}

/* The record read at start. */
static void
summary_event_record(const char *key, const void *val, size_t len, void *arg)
{
	char	*cause = NULL;

	(void)arg;
	if (strcmp(key, SUMMARY_EVENTS_KEY) != 0)
		return;
	if (summary_record_parse(val, len, summary_event_decoded, NULL,
	    &cause) < 0) {
		/* Left as it is for a look; replaced at the next change. */
		log_warnx("summary: %s: the events open before the stop are "
		    "lost", cause);
		free(cause);
	}
}

/* Read a number member of an old record; 0 if absent. */
static double
summary_event_legacy_num(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return (cJSON_IsNumber(v) ? v->valuedouble : 0);
}

/* Read a string member of an old record; NULL if absent. */
static const char *
summary_event_legacy_str(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

/* One record "ev/..." of an older version, read at start. */
static void
summary_event_legacy(const char *key, const void *val, size_t len, void *arg)
{
	struct summary_rec	 r;
	cJSON			*o;

	(void)arg;
	o = cJSON_ParseWithLength(val, len);
	r.node = summary_event_legacy_str(o, "node");
	r.label = summary_event_legacy_str(o, "label");
	r.model = summary_event_legacy_str(o, "model");
	if (r.node == NULL || r.label == NULL || r.model == NULL) {
		/* Not ours to interpret: leave it, say so once. */
		log_warnx("summary: unreadable open event record %s", key);
		cJSON_Delete(o);
		return;
	}
	r.tier = (int)summary_event_legacy_num(o, "tier");
	r.boot = (uint32_t)summary_event_legacy_num(o, "boot");
	r.seq = (int64_t)summary_event_legacy_num(o, "seq");
	r.score = summary_event_legacy_num(o, "score");
	r.count = (uint64_t)summary_event_legacy_num(o, "count");
	r.first_ms = (uint64_t)summary_event_legacy_num(o, "first_ts");
	r.last_ms = (uint64_t)summary_event_legacy_num(o, "last_ts");
	summary_event_decoded(&r, NULL);
	cJSON_Delete(o);
	events.legacy = xreallocarray(events.legacy, events.nlegacy + 1,
	    sizeof *events.legacy);
	events.legacy[events.nlegacy++] = xstrdup(key);
}

/* Start: take back the events that were open when the daemon stopped. */
int
summary_event_load(void)
{
	if (store_state_scan(SUMMARY_EVENTS_KEY, summary_event_record,
	    NULL) != 0 ||
	    store_state_scan(SUMMARY_LEGACY_PREFIX, summary_event_legacy,
	    NULL) != 0)
		return (-1);
	/* Old records are replaced in the transaction open now. */
	events.changed = events.nlegacy > 0;
	summary_event_flush();
	if (events.nopen > 0)
		log_info("summary: %zu open events recovered", events.nopen);
	return (0);
}

/* Close open event i: its outbox row joins the open transaction. */
static int
summary_event_close(size_t i)
{
	struct summary_event	*e = &events.open[i];

	if (summary_event_emit(e) != 0)
		return (-1);
	summary_event_free(e);
	events.open[i] = events.open[--events.nopen];
	events.changed = 1;
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
	size_t	i, n = events.nopen;

	if (!store_accepting())
		return;
	for (i = events.nopen; i > 0; i--) {
		if (now >= events.open[i - 1].r.last_ms + events.debounce_ms &&
		    summary_event_close(i - 1) != 0)
			break;
	}
	if (events.nopen != n) {
		summary_event_rehash();
		if (events.capped && events.nopen < SUMMARY_OPEN_MAX) {
			log_info("summary: fewer events open, new ones wait "
			    "for repeats again");
			events.capped = 0;
		}
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
	while (events.nopen > 0)
		summary_event_free(&events.open[--events.nopen]);
	while (events.nlegacy > 0)
		free(events.legacy[--events.nlegacy]);
	free(events.open);
	free(events.slots);
	free(events.legacy);
	free(events.buf.data);
	events.open = NULL;
	events.slots = NULL;
	events.nslots = 0;
	events.legacy = NULL;
	memset(&events.buf, 0, sizeof events.buf);
	events.changed = events.capped = 0;
	events.ignore = NULL;
	events.nignore = 0;
}

/* Number of events still open (for metrics and tests). */
size_t
summary_event_open(void)
{
	return (events.nopen);
}
