/*
 * summary_interval.c - per-node summaries on P/summary/{node}.
 *
 * Every inference (a node's or tier 2's) is counted in the interval of its
 * gateway receive time: intervals are aligned to wall-clock multiples of
 * summary.interval, so summaries from many gateways line up.  When an
 * interval has passed, each node that sent something in it gets one
 * summary: n, and per label n, mean, min and max of the score.  A silent
 * node gets none.  Numeric SenML values (v) of the node's packs add, under
 * "senml", n, mean, min and max per resolved name: at most
 * SUMMARY_SENML_NAMES names per node and interval, later new names are
 * only counted ("senml_untracked").
 *
 * Exactly once.  The counts live in memory, but each is backed by message
 * rows in the store.  Closing an interval writes its summaries to the
 * outbox and moves the store's message cursor past the rows it covered, in
 * one transaction (store_msg_consume(); with raw_retention = 0 the rows go
 * in that transaction too).  At start the rows after the cursor are
 * replayed through the same code, so after kill -9 the open intervals are
 * rebuilt from exactly the acknowledged messages: nothing lost, nothing
 * counted twice.  The summary id (node and interval start) is the same
 * however often a summary is sent.
 *
 * Buckets are assigned in message-id order and never go backwards: a
 * message whose receive time falls before the newest open interval (the
 * clock stepped back a little) joins that interval.  So the closed
 * intervals always cover a prefix of the message ids, which is what makes
 * a single cursor enough.
 *
 * Clock sanity.  A Pi without a real-time clock boots in 1970 and steps
 * forward when NTP syncs; an operator may set the clock back.  Forward
 * steps need nothing: the old interval closes once (no storm of empty
 * summaries, since only intervals with data exist) and new data lands in
 * new intervals.  A step back by more than SUMMARY_STEP_MS would leave the
 * open interval waiting for a time that is far away, so the open intervals
 * are closed at once, alignment restarts at the new time, and an "epoch"
 * counter goes into later summary ids so they cannot collide with ids
 * already sent for the same interval start.  Both are logged.
 */
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "message.h"
#include "store.h"
#include "summary_int.h"
#include "xmalloc.h"

#define SUMMARY_STEP_MS		10000	/* clock jumps beyond this are logged */
#define SUMMARY_STATE_KEY	"summary"
#define SUMMARY_OTHER		"_other_"
/*
 * Distinct labels told apart per node and interval, as a multiple of
 * max_labels: a node inventing labels grows nothing past this; the later
 * new labels are counted under "_other_" (and as "untracked").
 */
#define SUMMARY_TRACK_FACTOR	4
/*
 * SenML names with statistics per node and interval; readings of later
 * new names are counted as "senml_untracked" only.
 */
#define SUMMARY_SENML_NAMES	64

/* Score statistics of one label. */
struct summary_label {
	char		*label;
	uint64_t	 n;
	double		 sum;
	double		 min;
	double		 max;
};

/* One node's data in one interval. */
struct summary_node {
	char			*node;
	uint64_t		 n;
	uint64_t		 untracked;	/* over the label bound */
	struct summary_label	*labels;
	size_t			 nlabels;
	struct summary_label	*senml;		/* per SenML name */
	size_t			 nsenml;
	uint64_t		 senml_untracked;
};

/* One open interval. */
struct summary_bucket {
	uint64_t		  start;
	int64_t			  max_id;	/* newest message counted */
	struct summary_node	**nodes;	/* sorted by name */
	size_t			  nnodes;
};

static struct {
	uint64_t		 iv_ms;
	uint64_t		 closed_to;	/* end of the newest closed one */
	uint64_t		 epoch;		/* backward clock steps so far */
	uint64_t		 latest;	/* start of the newest bucket */
	uint64_t		 tick;		/* next interval boundary */
	struct summary_bucket	*b;		/* oldest first */
	size_t			 nb;
	int64_t			 last_id;	/* newest message seen */
	uint64_t		 last_wall;
	uint64_t		 last_mono;
	int			 have_clock;
} intervals;

/* summary.max_labels (outside si: a restart of si keeps it). */
static size_t	summary_max_labels = 64;

/* Start of the interval holding time t. */
static uint64_t
summary_interval_floor(uint64_t t)
{
	return (t - t % intervals.iv_ms);
}

/* Compare a node name with a node aggregate (bsearch). */
static int
summary_interval_cmp(const void *key, const void *elem)
{
	const struct summary_node *const	*n = elem;

	return (strcmp(key, (*n)->node));
}

/* The aggregate of node in bucket b, created in name order if new. */
static struct summary_node *
summary_interval_node(struct summary_bucket *b, const char *node)
{
	struct summary_node	**p, *n;
	size_t			  lo = 0, hi = b->nnodes, mid;

	if (b->nnodes > 0 && (p = bsearch(node, b->nodes, b->nnodes,
	    sizeof *b->nodes, summary_interval_cmp)) != NULL)
		return (*p);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(b->nodes[mid]->node, node) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	n = xcalloc(1, sizeof *n);
	n->node = xstrdup(node);
	b->nodes = xreallocarray(b->nodes, b->nnodes + 1, sizeof *b->nodes);
	memmove(&b->nodes[lo + 1], &b->nodes[lo], (b->nnodes - lo) *
	    sizeof *b->nodes);
	b->nodes[lo] = n;
	b->nnodes++;
	return (n);
}

/* Count one inference in its node's aggregate. */
static void
summary_interval_count(struct summary_node *n, const char *label, double score)
{
	struct summary_label	*l = NULL;
	size_t			 i, again;

	n->n++;
	for (again = 0; again < 2 && l == NULL; again++) {
		for (i = 0; i < n->nlabels && l == NULL; i++) {
			if (strcmp(n->labels[i].label, label) == 0)
				l = &n->labels[i];
		}
		/* A new label past the bound is one of "_other_". */
		if (l == NULL && n->nlabels >= summary_max_labels *
		    SUMMARY_TRACK_FACTOR && strcmp(label, SUMMARY_OTHER) != 0) {
			n->untracked++;
			label = SUMMARY_OTHER;
			continue;
		}
		break;
	}
	if (l != NULL) {
		l->n++;
		l->sum += score;
		if (score < l->min)
			l->min = score;
		if (score > l->max)
			l->max = score;
		return;
	}
	n->labels = xreallocarray(n->labels, n->nlabels + 1, sizeof *n->labels);
	l = &n->labels[n->nlabels++];
	l->label = xstrdup(label);
	l->n = 1;
	l->sum = l->min = l->max = score;
}

/* A stored message of any kind (the cursor may pass it when idle). */
void
summary_interval_seen(int64_t id)
{
	if (id > intervals.last_id)
		intervals.last_id = id;
}

/* The bucket a message received at rx_ms with id joins (made if new). */
static struct summary_bucket *
summary_interval_bucket(uint64_t rx_ms, int64_t id)
{
	struct summary_bucket	*b;
	uint64_t		 start;

	summary_interval_seen(id);
	start = summary_interval_floor(rx_ms);
	if (start < intervals.latest)
		start = intervals.latest;
	intervals.latest = start;
	if (intervals.nb == 0 || intervals.b[intervals.nb - 1].start != start) {
		intervals.b = xreallocarray(intervals.b, intervals.nb + 1,
		    sizeof *intervals.b);
		b = &intervals.b[intervals.nb++];
		memset(b, 0, sizeof *b);
		b->start = start;
	}
	b = &intervals.b[intervals.nb - 1];
	b->max_id = id;
	return (b);
}

/* Count a new (or replayed) inference with message id id. */
void
summary_interval_add(const struct summary_inf *in, int64_t id)
{
	struct summary_bucket	*b;

	b = summary_interval_bucket(in->rx_ms, id);
	summary_interval_count(summary_interval_node(b, in->node), in->label,
	    in->score);
}

/* Count one numeric SenML value under its name (bounded, see above). */
static void
summary_interval_senml_one(struct summary_node *n, const char *name,
    double v)
{
	struct summary_label	*l = NULL;
	size_t			 i;

	for (i = 0; i < n->nsenml && l == NULL; i++) {
		if (strcmp(n->senml[i].label, name) == 0)
			l = &n->senml[i];
	}
	if (l == NULL && n->nsenml >= SUMMARY_SENML_NAMES) {
		n->senml_untracked++;
		return;
	}
	if (l == NULL) {
		n->senml = xreallocarray(n->senml, n->nsenml + 1,
		    sizeof *n->senml);
		l = &n->senml[n->nsenml++];
		l->label = xstrdup(name);
		l->n = 0;
		l->sum = 0;
		l->min = l->max = v;
	}
	l->n++;
	l->sum += v;
	if (v < l->min)
		l->min = v;
	if (v > l->max)
		l->max = v;
}

/* Count a new (or replayed) SenML pack's numeric values, message id id. */
void
summary_interval_senml(const char *node, const struct message_senml *r,
    size_t nr, uint64_t rx_ms, int64_t id)
{
	struct summary_node	*n;
	size_t			 i;

	n = summary_interval_node(summary_interval_bucket(rx_ms, id), node);
	for (i = 0; i < nr; i++) {
		if (r[i].has_v)
			summary_interval_senml_one(n, r[i].name, r[i].v);
	}
}

/* Free a node aggregate. */
static void
summary_interval_node_free(struct summary_node *n)
{
	size_t	i;

	for (i = 0; i < n->nlabels; i++)
		free(n->labels[i].label);
	free(n->labels);
	for (i = 0; i < n->nsenml; i++)
		free(n->senml[i].label);
	free(n->senml);
	free(n->node);
	free(n);
}

/* Free bucket 0 and shift the others down. */
static void
summary_interval_drop_first(void)
{
	struct summary_bucket	*b = &intervals.b[0];
	size_t			 i;

	for (i = 0; i < b->nnodes; i++)
		summary_interval_node_free(b->nodes[i]);
	free(b->nodes);
	intervals.nb--;
	memmove(&intervals.b[0], &intervals.b[1],
	    intervals.nb * sizeof *intervals.b);
}

/* Set summary.max_labels (start and SIGHUP). */
void
summary_interval_labels(size_t max)
{
	summary_max_labels = max > 0 ? max : 1;
}

/* qsort: more frequent labels first, then in name order. */
static int
summary_interval_rank(const void *a, const void *b)
{
	const struct summary_label *const	*x = a, *const *y = b;

	if ((*x)->n != (*y)->n)
		return ((*x)->n > (*y)->n ? -1 : 1);
	return (strcmp((*x)->label, (*y)->label));
}

/* Add one label's statistics as a member of labels. */
static void
summary_interval_label_json(cJSON *labels, const struct summary_label *l)
{
	cJSON	*lo;

	lo = cJSON_AddObjectToObject(labels, l->label);
	cJSON_AddNumberToObject(lo, "n", (double)l->n);
	cJSON_AddNumberToObject(lo, "mean", l->sum / (double)l->n);
	cJSON_AddNumberToObject(lo, "min", l->min);
	cJSON_AddNumberToObject(lo, "max", l->max);
}

/*
 * Mark in keep[] the labels a summary lists when there are more than
 * max_labels, and sum the others into *other; returns how many were
 * folded (0: every label is listed).
 */
static size_t
summary_interval_fold(const struct summary_node *n, char *keep,
    struct summary_label *other)
{
	const struct summary_label	**rank;
	size_t				  i, kept = 0, folded = 0;

	memset(keep, 1, n->nlabels);
	if (n->nlabels <= summary_max_labels)
		return (0);
	rank = xreallocarray(NULL, n->nlabels, sizeof *rank);
	for (i = 0; i < n->nlabels; i++)
		rank[i] = &n->labels[i];
	qsort(rank, n->nlabels, sizeof *rank, summary_interval_rank);
	memset(other, 0, sizeof *other);
	other->label = (char *)SUMMARY_OTHER;
	for (i = 0; i < n->nlabels; i++) {
		const struct summary_label *l = rank[i];

		if (kept < summary_max_labels &&
		    strcmp(l->label, SUMMARY_OTHER) != 0) {
			kept++;
			continue;
		}
		keep[l - n->labels] = 0;
		if (folded++ == 0) {
			other->min = l->min;
			other->max = l->max;
		}
		other->n += l->n;
		other->sum += l->sum;
		if (l->min < other->min)
			other->min = l->min;
		if (l->max > other->max)
			other->max = l->max;
	}
	free(rank);
	return (folded);
}

/* One node's summary as JSON (labels capped, see the top of the file). */
static char *
summary_interval_json(const struct summary_bucket *b,
    const struct summary_node *n)
{
	struct summary_label	 other;
	cJSON			*o, *labels;
	char			 id[200], *keep;
	size_t			 i, folded;

	if (intervals.epoch == 0)
		snprintf(id, sizeof id, "sum:%s:%" PRIu64, n->node, b->start);
	else
		snprintf(id, sizeof id, "sum:%s:%" PRIu64 ":e%" PRIu64,
		    n->node, b->start, intervals.epoch);
	keep = xmalloc(n->nlabels + 1);
	folded = summary_interval_fold(n, keep, &other);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "node", n->node);
	cJSON_AddNumberToObject(o, "from", (double)b->start);
	cJSON_AddNumberToObject(o, "to", (double)(b->start + intervals.iv_ms));
	cJSON_AddNumberToObject(o, "n", (double)n->n);
	labels = cJSON_AddObjectToObject(o, "labels");
	for (i = 0; i < n->nlabels; i++) {
		if (keep[i])
			summary_interval_label_json(labels, &n->labels[i]);
	}
	if (folded > 0) {
		summary_interval_label_json(labels, &other);
		cJSON_AddNumberToObject(o, "folded", (double)folded);
	}
	if (n->untracked > 0)
		cJSON_AddNumberToObject(o, "untracked", (double)n->untracked);
	if (n->nsenml > 0) {
		labels = cJSON_AddObjectToObject(o, "senml");
		for (i = 0; i < n->nsenml; i++)
			summary_interval_label_json(labels, &n->senml[i]);
	}
	if (n->senml_untracked > 0)
		cJSON_AddNumberToObject(o, "senml_untracked",
		    (double)n->senml_untracked);
	free(keep);
	return (summary_json(o));
}

/* Write bucket 0's summaries to the outbox; -1 if the store refused. */
static int
summary_interval_emit_first(void)
{
	const struct summary_bucket	*b = &intervals.b[0];
	char				*topic, *body;
	size_t				 i;
	int				 rv = 0;

	for (i = 0; rv == 0 && i < b->nnodes; i++) {
		body = summary_interval_json(b, b->nodes[i]);
		xasprintf(&topic, "summary/%s", b->nodes[i]->node);
		rv = store_outbox_add(topic, body, strlen(body),
		    STORE_CLASS_SUMMARY, 0, NULL, NULL);
		free(topic);
		cJSON_free(body);
	}
	return (rv);
}

/* Record closed_to and epoch, and move the message cursor to upto. */
static int
summary_interval_save(int64_t upto)
{
	char	buf[96];

	snprintf(buf, sizeof buf, "{\"closed_to\":%" PRIu64 ",\"epoch\":%"
	    PRIu64 "}", intervals.closed_to, intervals.epoch);
	if (store_state_set(SUMMARY_STATE_KEY, buf, strlen(buf)) != 0)
		return (-1);
	return (store_msg_consume(upto));
}

/*
 * Close the buckets that end at or before now (all of them if all is
 * set), in one transaction with the cursor move.  On a refusing store the
 * transaction is rolled back and summary.c rebuilds from the database.
 */
static void
summary_interval_close(uint64_t now, int all)
{
	int64_t	upto = -1;

	while (intervals.nb > 0 && (all ||
	    intervals.b[0].start + intervals.iv_ms <= now)) {
		if (summary_interval_emit_first() != 0)
			return;
		intervals.closed_to = intervals.b[0].start + intervals.iv_ms;
		upto = intervals.b[0].max_id;
		summary_interval_drop_first();
	}
	/* Nothing open: the cursor may pass whatever else was stored. */
	if (intervals.nb == 0 && intervals.last_id > store_msg_cursor())
		upto = intervals.last_id;
	if (upto >= 0)
		summary_interval_save(upto);
}

/* Restart interval alignment at now after a backward clock step. */
static void
summary_interval_realign(uint64_t now)
{
	summary_interval_close(now, 1);
	if (intervals.nb > 0)
		return;		/* store refusing: try again next check */
	intervals.epoch++;
	intervals.closed_to = summary_interval_floor(now);
	intervals.latest = intervals.closed_to;
	summary_interval_save(store_msg_cursor());
}

/* Log a wall-clock jump against the monotonic clock; ms, signed. */
static void
summary_interval_clock(uint64_t now, uint64_t mono)
{
	int64_t	step;

	if (intervals.have_clock) {
		step = (int64_t)(now - intervals.last_wall) -
		    (int64_t)(mono - intervals.last_mono);
		if (step > SUMMARY_STEP_MS || step < -SUMMARY_STEP_MS)
			log_warnx("summary: gateway clock stepped %s by "
			    "%.1f s", step > 0 ? "forward" : "back",
			    (double)(step > 0 ? step : -step) / 1000);
	}
	intervals.have_clock = 1;
	intervals.last_wall = now;
	intervals.last_mono = mono;
}

/* Housekeeping: close what has ended; handle clock steps. */
void
summary_interval_check(uint64_t now, uint64_t mono)
{
	uint64_t	newest;

	if (!store_accepting())
		return;
	summary_interval_clock(now, mono);
	newest = intervals.latest > intervals.closed_to ? intervals.latest :
	    intervals.closed_to;
	if (now + SUMMARY_STEP_MS < newest) {
		log_warnx("summary: gateway clock is %.1f s behind the newest "
		    "interval; closing open intervals and realigning "
		    "(clock set back, or not yet set?)",
		    (double)(newest - now) / 1000);
		summary_interval_realign(now);
	}
	if (now < intervals.tick && (intervals.nb == 0 ||
	    intervals.b[0].start + intervals.iv_ms > now))
		return;
	intervals.tick = summary_interval_floor(now) + intervals.iv_ms;
	summary_interval_close(now, 0);
}

/* The recorded "summary" state (closed_to, epoch), read at start. */
static void
summary_interval_load_state(const char *key, const void *val, size_t len,
    void *arg)
{
	const cJSON	*v;
	cJSON		*o;

	(void)key;
	(void)arg;
	o = cJSON_ParseWithLength(val, len);
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "closed_to")) != NULL &&
	    cJSON_IsNumber(v) && v->valuedouble >= 0)
		intervals.closed_to = (uint64_t)v->valuedouble;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "epoch")) != NULL &&
	    cJSON_IsNumber(v) && v->valuedouble >= 0)
		intervals.epoch = (uint64_t)v->valuedouble;
	cJSON_Delete(o);
}

/*
 * Start with interval iv_ms: read the recorded state.  The caller then
 * replays the messages after the cursor through summary_interval_add().
 */
int
summary_interval_start(uint64_t iv_ms)
{
	int	have_clock = intervals.have_clock;
	uint64_t last_wall = intervals.last_wall, last_mono =
	    intervals.last_mono;

	memset(&intervals, 0, sizeof intervals);
	/* A rebuild after a rollback keeps watching the same clock. */
	intervals.have_clock = have_clock;
	intervals.last_wall = last_wall;
	intervals.last_mono = last_mono;
	intervals.iv_ms = iv_ms;
	if (store_state_scan(SUMMARY_STATE_KEY, summary_interval_load_state,
	    NULL) != 0)
		return (-1);
	intervals.latest = intervals.closed_to;
	intervals.last_id = store_msg_cursor();
	return (0);
}

/*
 * SIGHUP with a new interval: data already counted stays in its bucket;
 * new data is aligned to the new interval.
 */
void
summary_interval_reload(uint64_t iv_ms)
{
	intervals.iv_ms = iv_ms;
}

/* Stop: forget the open intervals (the store holds their messages). */
void
summary_interval_stop(void)
{
	while (intervals.nb > 0)
		summary_interval_drop_first();
	free(intervals.b);
	intervals.b = NULL;
}

/* Inferences counted in intervals not yet closed (tests, status). */
size_t
summary_interval_pending(void)
{
	size_t	i, j, n = 0;

	for (i = 0; i < intervals.nb; i++) {
		for (j = 0; j < intervals.b[i].nnodes; j++)
			n += intervals.b[i].nodes[j]->n;
	}
	return (n);
}
