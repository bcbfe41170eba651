/*
 * tier2.c - the tier2 module: escalation, a bounded queue per model, runs
 * on the libuv thread pool and results back into the store.
 *
 * The store hands every newly stored message to tier2_hook(), inside its
 * transaction on the loop thread.  For a window the hook finds the models
 * whose `nodes` glob matches, decides escalation (`always`, or
 * `low_confidence`: the node's own score for that window, from the window
 * itself or from an inference naming it in "window", is below `threshold`;
 * no score at all counts as unsure), parses the window once and queues a
 * copy of its values per model.  Nothing in the hook waits: a model runs
 * one window at a time (its interpreter and feature state belong to one
 * thread), up to `queue` more wait, and beyond that windows are skipped
 * and counted.
 *
 * The work callback runs tier2_model_run() on a pool thread; the after-work
 * callback, back on the loop, stores the result as a STORE_KIND_TIER2
 * message whose body is an inference JSON with "tier":2, updates the
 * counters and starts the next queued window.  A model is never freed while
 * a run uses it: a reload that replaces it while busy parks the new one
 * until the run returns, and stop cancels queued work and waits for the
 * running one (the loop stays alive for it), so uv_loop_close() succeeds.
 *
 * tier2_replace() (P/cmd/tier2/SECTION) writes new model bytes to a
 * temporary file beside the section's model file in the pool, opens and
 * checks it exactly as the section's model is opened (from a copy of the
 * section: a SIGHUP may free the configuration meanwhile), renames it over
 * the model file and syncs the directory; back on the loop the new model
 * replaces the running one as a reload does (parked behind a run in
 * flight).  A file that does not load or fit is deleted, and the old
 * model and file stay.  A later SIGHUP or restart loads the same file.
 */
#include <sys/stat.h>

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "store.h"
#include "tier2.h"
#include "tier2_model.h"
#include "xmalloc.h"

#define TIER2_CACHE	256	/* recent inferences that name a window */
#define TIER2_LOG_MS	10000	/* at most one error line per model per this */

struct tier2;

/* One window queued for, or running on, one model. */
struct tier2_job {
	struct tier2			*t;
	struct tier2_model		*m;	/* the model it runs on */
	uv_work_t			 req;
	char				 node[MESSAGE_NODE_MAX + 1];
	uint32_t			 boot;
	int64_t				 seq;
	size_t				 frames;
	size_t				 axes;
	uint64_t			 interval_us;
	float				*values;
	int				 rc;
	char				*cause;
	struct tier2_model_result	 res;
	struct tier2_job		*next;
};

/* One [tier2:NAME] section at run time. */
struct tier2 {
	char			*sect;		/* "tier2:kws" */
	const char		*name;		/* "kws" */
	int			 index;		/* section order */
	char			*nodes;
	int			 always;
	double			 threshold;
	size_t			 qmax;
	char			*signature;
	struct tier2_model_spec	*spec;		/* the section, for replacing */
	int			 replacing;	/* a replacement in the pool */
	struct stat		 file;		/* the model file when loaded */
	struct tier2_model	*m;
	struct tier2_model	*parked;	/* replaces m after the run */
	struct tier2_job	*running;
	struct tier2_job	*head, *tail;	/* waiting */
	size_t			 waiting;
	uint64_t		 runs, us, feat_us, infer_us;
	uint64_t		 skipped, errors, stored_fail;
	uint64_t		 last_log;
};

/* An inference that names its window, with the node's score. */
struct tier2_seen {
	char		node[MESSAGE_NODE_MAX + 1];
	uint32_t	boot;
	int64_t		window;
	double		score;
};

/* A replacement model (P/cmd/tier2/SECTION) being checked in the pool. */
struct tier2_replace {
	uv_work_t		 req;
	uint64_t		 gen;
	char			*sect;		/* "tier2:kws" */
	struct tier2_model_spec	*spec;		/* a copy: SIGHUP may free cf */
	uint8_t			*data;
	size_t			 len;
	struct tier2_model	*m;
	struct stat		 file;
	int			 rc;
	char			*cause;
	tier2_replace_cb	 cb;
	void			*arg;
};

/* Bumped by start and stop: a replacement of another run is stale. */
static uint64_t	tier2_gen;

static struct {
	struct tier2		**t;
	size_t			  n;
	int			  started;
	int			  stopping;
	int			  want_scores;	/* some model is low_confidence */
	size_t			  nseen;	/* ever put in tier2_seen */
} t2;

/*
 * The recent inferences, a ring of TIER2_CACHE read up to t2.nseen only.
 * Outside t2 because tier2_start clears t2: clearing the ring made its
 * 22 KB resident on every gateway, with tier-2 models or without.
 */
static struct tier2_seen	tier2_seen[TIER2_CACHE];

static void	tier2_kick(struct tier2 *);

/* Same file as when loaded (device, inode, size, mtime)? */
static int
tier2_same_file(const struct stat *a, const struct stat *b)
{
	return (a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec);
}

/* Take the reloadable settings of a section. */
static void
tier2_settings(struct tier2 *t, const struct config *cf)
{
	free(t->nodes);
	t->nodes = xstrdup(config_str(cf, t->sect, "nodes"));
	t->always = config_enum(cf, t->sect, "when") == CONFIG_WHEN_ALWAYS;
	t->threshold = config_double(cf, t->sect, "threshold");
	free(t->signature);
	t->signature = tier2_model_signature(cf, t->sect);
	tier2_model_spec_free(t->spec);
	t->spec = tier2_model_spec(cf, t->sect);
}

/* Load a section's model and note the file it came from. */
static int
tier2_load(struct tier2 *t, const struct config *cf, struct tier2_model **mp,
    struct stat *sb, char **cause)
{
	int	line;

	memset(sb, 0, sizeof *sb);
	stat(config_str(cf, t->sect, "model"), sb);
	return (tier2_model_open(cf, t->sect, mp, &line, cause));
}

/* Free a job. */
static void
tier2_job_free(struct tier2_job *j)
{
	free(j->values);
	free(j->cause);
	free(j);
}

/* Free a model's run-time state (no run may be in flight). */
static void
tier2_free(struct tier2 *t)
{
	struct tier2_job	*j;

	while ((j = t->head) != NULL) {
		t->head = j->next;
		tier2_job_free(j);
	}
	tier2_model_free(t->m);
	tier2_model_free(t->parked);
	free(t->nodes);
	free(t->signature);
	tier2_model_spec_free(t->spec);
	free(t->sect);
	free(t);
}

/* After stop: free everything once no run is in flight. */
static void
tier2_release(void)
{
	size_t	i;

	for (i = 0; i < t2.n; i++) {
		if (t2.t[i] != NULL && t2.t[i]->running != NULL)
			return;
	}
	for (i = 0; i < t2.n; i++)
		tier2_free(t2.t[i]);
	free(t2.t);
	t2.t = NULL;
	t2.n = 0;
}

/* Pool thread: features, quantization, invoke, interpretation. */
static void
tier2_work(uv_work_t *req)
{
	struct tier2_job	*j = req->data;

	j->rc = tier2_model_run(j->m, j->values, j->frames, j->axes,
	    j->interval_us, &j->res, &j->cause);
}

/* Store a run's result as a tier-2 inference. */
static void
tier2_store(struct tier2 *t, struct tier2_job *j)
{
	struct store_msg	 sm;
	cJSON			*o;
	char			*body;
	uint64_t		 lat = j->res.features_us + j->res.invoke_us;

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)j->seq);
	cJSON_AddNumberToObject(o, "boot", j->boot);
	cJSON_AddStringToObject(o, "model", t->name);
	cJSON_AddStringToObject(o, "label", j->res.label);
	cJSON_AddNumberToObject(o, "score", j->res.score);
	cJSON_AddNumberToObject(o, "tier", 2);
	cJSON_AddNumberToObject(o, "window", (double)j->seq);
	cJSON_AddNumberToObject(o, "latency_us", (double)lat);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (body == NULL)
		fatalx("tier2: out of memory");
	memset(&sm, 0, sizeof sm);
	sm.node = j->node;
	sm.boot = j->boot;
	/* Unique per (window, model): one row per section for each window. */
	sm.seq = j->seq + ((int64_t)t->index << 32);
	sm.kind = STORE_KIND_TIER2;
	sm.rx_ms = daemon_now_ms();
	sm.ts_ms = 0;
	sm.body = body;
	sm.len = strlen(body);
	if (store_put_message(&sm, NULL, NULL) == STORE_REFUSED) {
		t->stored_fail++;
		log_debug("tier2 %s: store refused the result for %s seq "
		    "%" PRId64, t->name, j->node, j->seq);
	}
	cJSON_free(body);
}

/* Loop thread: a run finished (or was cancelled). */
static void
tier2_after_work(uv_work_t *req, int status)
{
	struct tier2_job	*j = req->data;
	struct tier2		*t = j->t;
	uint64_t		 now;

	t->running = NULL;
	if (t->parked != NULL) {
		tier2_model_free(t->m);
		t->m = t->parked;
		t->parked = NULL;
	}
	if (status == UV_ECANCELED || t2.stopping) {
		tier2_job_free(j);
		if (t2.stopping)
			tier2_release();
		return;
	}
	if (j->rc == 0) {
		t->runs++;
		t->feat_us += j->res.features_us;
		t->infer_us += j->res.invoke_us;
		t->us += j->res.features_us + j->res.invoke_us;
		metrics_add(METRICS_TIER2_RUNS, 1);
		metrics_add(METRICS_TIER2_US, j->res.features_us +
		    j->res.invoke_us);
		tier2_store(t, j);
	} else {
		t->errors++;
		now = uv_now(daemon_loop());
		if (t->last_log == 0 || now - t->last_log >= TIER2_LOG_MS) {
			t->last_log = now;
			log_warnx("tier2 %s: node %s window %" PRId64 ": %s",
			    t->name, j->node, j->seq, j->cause);
		}
	}
	tier2_job_free(j);
	tier2_kick(t);
}

/* Start the next waiting window if the model is idle. */
static void
tier2_kick(struct tier2 *t)
{
	struct tier2_job	*j;
	int			 rv;

	while (t->running == NULL && (j = t->head) != NULL) {
		t->head = j->next;
		if (t->head == NULL)
			t->tail = NULL;
		t->waiting--;
		j->next = NULL;
		j->m = t->m;
		j->req.data = j;
		if ((rv = uv_queue_work(daemon_loop(), &j->req, tier2_work,
		    tier2_after_work)) != 0) {
			log_warnx("tier2 %s: uv_queue_work: %s", t->name,
			    uv_strerror(rv));
			t->errors++;
			tier2_job_free(j);
			continue;
		}
		t->running = j;
	}
}

/* Queue a window for one model, or skip it when the queue is full. */
static void
tier2_enqueue(struct tier2 *t, const struct store_msg *sm,
    const struct message *w)
{
	struct tier2_job	*j;
	size_t			 n = (size_t)w->frames * w->axes;

	if (t->running != NULL && t->waiting >= t->qmax) {
		t->skipped++;
		metrics_add(METRICS_TIER2_SKIPPED, 1);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->t = t;
	snprintf(j->node, sizeof j->node, "%s", sm->node);
	j->boot = sm->boot;
	j->seq = sm->seq >= 0 ? sm->seq : (int64_t)w->seq;
	j->frames = w->frames;
	j->axes = w->axes;
	j->interval_us = w->interval_us;
	j->values = xreallocarray(NULL, n, sizeof *j->values);
	memcpy(j->values, w->values, n * sizeof *j->values);
	if (t->tail != NULL)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	t->waiting++;
	tier2_kick(t);
}

/* Remember the score of an inference that names its window. */
static void
tier2_note_inference(const struct store_msg *sm)
{
	const struct message	*m = sm->msg;
	struct message		*parsed = NULL;
	struct tier2_seen	*s;
	char			*cause = NULL;

	if (m == NULL) {
		if (memmem(sm->body, sm->len, "\"window\"", 8) == NULL)
			return;
		if (message_parse_stored(sm->kind, sm->node, sm->body,
		    sm->len, &parsed, &cause) != 0) {
			free(cause);
			return;
		}
		m = parsed;
	}
	if (m->window >= 0) {
		s = &tier2_seen[t2.nseen++ % TIER2_CACHE];
		snprintf(s->node, sizeof s->node, "%s", sm->node);
		s->boot = sm->boot;
		s->window = m->window;
		s->score = m->score;
	}
	message_free(parsed);
}

/* The node's own score for a window: 1 and *score, or 0 if none. */
static int
tier2_node_score(const struct store_msg *sm, const struct message *w,
    double *score)
{
	size_t	i, n;

	if (w->has_result) {
		*score = w->score;
		return (1);
	}
	n = t2.nseen < TIER2_CACHE ? t2.nseen : TIER2_CACHE;
	for (i = 0; i < n; i++) {
		const struct tier2_seen *s = &tier2_seen[i];

		if (s->boot == sm->boot && s->window == sm->seq &&
		    strcmp(s->node, sm->node) == 0) {
			*score = s->score;
			return (1);
		}
	}
	return (0);
}

/* Parse a stored window (JSON or binary); NULL if it does not parse. */
static struct message *
tier2_parse_window(const struct store_msg *sm)
{
	struct message		*w = NULL;
	char			*cause = NULL;

	if (message_parse_stored(sm->kind, sm->node, sm->body, sm->len, &w,
	    &cause) != 0) {
		log_debug("tier2: stored window of %s does not parse: %s",
		    sm->node, cause);
		free(cause);
		return (NULL);
	}
	return (w);
}

/* Store hook: escalate new windows to the models that want them. */
static void
tier2_hook(const struct store_msg *sm, int64_t id, void *arg)
{
	const struct message	*w = NULL;
	struct message		*parsed = NULL;
	struct tier2		*t;
	double			 score = 0;
	size_t			 i;
	int			 has_score = 0;

	(void)id;
	(void)arg;
	if (t2.stopping || t2.n == 0)
		return;
	if (sm->kind == STORE_KIND_INFERENCE && t2.want_scores) {
		tier2_note_inference(sm);
		return;
	}
	if (sm->kind != STORE_KIND_WINDOW)
		return;
	for (i = 0; i < t2.n; i++) {
		t = t2.t[i];
		if (t->m == NULL || fnmatch(t->nodes, sm->node, 0) != 0)
			continue;
		if (w == NULL) {
			/* Ingest's parse when there is one (live data). */
			if ((w = sm->msg) == NULL &&
			    (w = parsed = tier2_parse_window(sm)) == NULL)
				return;
			has_score = tier2_node_score(sm, w, &score);
		}
		if (!t->always && has_score && score >= t->threshold)
			continue;
		tier2_enqueue(t, sm, w);
	}
	message_free(parsed);
}

/* Is any model low_confidence (so inference scores are worth noting)? */
static void
tier2_want_scores(void)
{
	size_t	i;

	t2.want_scores = 0;
	for (i = 0; i < t2.n; i++) {
		if (!t2.t[i]->always)
			t2.want_scores = 1;
	}
}

/* Start: load every [tier2:NAME] model, then watch the store. */
int
tier2_start(const struct config *cf, char **cause)
{
	const char *const	*names;
	struct tier2		*t;
	size_t			 n, i;
	char			*why = NULL;

	memset(&t2, 0, sizeof t2);
	tier2_gen++;
	names = config_sections(cf, "tier2", &n);
	t2.t = xcalloc(n ? n : 1, sizeof *t2.t);
	for (i = 0; i < n; i++) {
		t = xcalloc(1, sizeof *t);
		t->sect = xstrdup(names[i]);
		t->name = strchr(t->sect, ':') + 1;
		t->index = (int)i;
		t->qmax = (size_t)config_int(cf, t->sect, "queue");
		tier2_settings(t, cf);
		t2.t[t2.n++] = t;
		if (tier2_load(t, cf, &t->m, &t->file, &why) != 0) {
			xasprintf(cause, "tier2 %s: %s", t->name, why);
			free(why);
			tier2_release();
			return (-1);
		}
		log_info("tier2 %s: %s loaded, %s for nodes %s", t->name,
		    config_str(cf, t->sect, "model"), t->always ? "always" :
		    "on low confidence", t->nodes);
	}
	tier2_want_scores();
	store_add_message_hook(tier2_hook, NULL);
	t2.started = 1;
	return (0);
}

/* SIGHUP: new settings; a changed model file or section is reloaded. */
void
tier2_reload(const struct config *cf)
{
	const char *const	*names;
	struct tier2_model	*m;
	struct tier2		*t;
	struct stat		 sb;
	size_t			 n, i, k;
	char			*sig, *why = NULL;

	if (!t2.started)
		return;
	names = config_sections(cf, "tier2", &n);
	for (k = 0; k < n; k++) {
		for (t = NULL, i = 0; i < t2.n && t == NULL; i++) {
			if (strcmp(t2.t[i]->sect, names[k]) == 0)
				t = t2.t[i];
		}
		if (t == NULL)
			continue;	/* a new section needs a restart */
		sig = tier2_model_signature(cf, t->sect);
		memset(&sb, 0, sizeof sb);
		stat(config_str(cf, t->sect, "model"), &sb);
		if (strcmp(sig, t->signature) == 0 &&
		    tier2_same_file(&sb, &t->file)) {
			free(sig);
			continue;
		}
		free(sig);
		if (tier2_load(t, cf, &m, &sb, &why) != 0) {
			log_warnx("tier2 %s: reload: %s; keeping the loaded "
			    "model", t->name, why);
			free(why);
			why = NULL;
			continue;
		}
		tier2_settings(t, cf);
		t->file = sb;
		if (t->running != NULL) {
			tier2_model_free(t->parked);
			t->parked = m;
		} else {
			tier2_model_free(t->m);
			t->m = m;
		}
		log_info("tier2 %s: reloaded %s", t->name,
		    config_str(cf, t->sect, "model"));
	}
	tier2_want_scores();
}

/* Stop: no new windows, cancel queued work, let a running one finish. */
void
tier2_stop(void)
{
	struct tier2_job	*j;
	size_t			 i;

	if (!t2.started)
		return;
	t2.started = 0;
	t2.stopping = 1;
	tier2_gen++;
	store_remove_message_hook(tier2_hook);
	for (i = 0; i < t2.n; i++) {
		while ((j = t2.t[i]->head) != NULL) {
			t2.t[i]->head = j->next;
			tier2_job_free(j);
		}
		t2.t[i]->tail = NULL;
		t2.t[i]->waiting = 0;
		if (t2.t[i]->running != NULL)
			uv_cancel((uv_req_t *)&t2.t[i]->running->req);
	}
	tier2_release();
}

/* Free a replacement job. */
static void
tier2_replace_free(struct tier2_replace *r)
{
	tier2_model_free(r->m);
	tier2_model_spec_free(r->spec);
	free(r->sect);
	free(r->data);
	free(r->cause);
	free(r);
}

/* Pool: write, load and check the new model, then rename it into place. */
static void
tier2_replace_work(uv_work_t *req)
{
	struct tier2_replace	*r = req->data;

	r->rc = tier2_model_install(r->spec, r->data, r->len, &r->m,
	    &r->cause);
	memset(&r->file, 0, sizeof r->file);
	if (r->rc == 0)
		stat(tier2_model_spec_path(r->spec), &r->file);
}

/* Loop: swap the checked model in (a running window finishes first). */
static void
tier2_replace_after(uv_work_t *req, int status)
{
	struct tier2_replace	*r = req->data;
	struct tier2		*t = NULL;
	size_t			 i;

	(void)status;
	if (r->gen != tier2_gen || !t2.started) {
		tier2_replace_free(r);	/* stopped meanwhile */
		return;
	}
	for (i = 0; i < t2.n && t == NULL; i++) {
		if (strcmp(t2.t[i]->sect, r->sect) == 0)
			t = t2.t[i];
	}
	if (t == NULL) {
		/* Sections change only with a restart, which bumps the gen. */
		r->cb(0, "section gone", r->arg);
		tier2_replace_free(r);
		return;
	}
	t->replacing = 0;
	if (r->rc != 0) {
		log_warnx("tier2 %s: replacement refused, keeping the loaded "
		    "model: %s", t->name, r->cause);
		r->cb(0, r->cause, r->arg);
		tier2_replace_free(r);
		return;
	}
	if (r->cause != NULL)
		log_warnx("tier2 %s: %s", t->name, r->cause);
	t->file = r->file;
	if (t->running != NULL) {
		tier2_model_free(t->parked);
		t->parked = r->m;
	} else {
		tier2_model_free(t->m);
		t->m = r->m;
	}
	r->m = NULL;
	log_info("tier2 %s: replaced %s (%zu bytes)", t->name,
	    tier2_model_spec_path(r->spec), r->len);
	r->cb(1, NULL, r->arg);
	tier2_replace_free(r);
}

/*
 * P/cmd/tier2/SECTION: check new model bytes against [tier2:SECTION] in
 * the pool and, if they fit, make them the section's model file and the
 * running model.  0 and cb later, or -1 with a cause (no cb).
 */
int
tier2_replace(const char *section, const void *data, size_t len,
    tier2_replace_cb cb, void *arg, char **cause)
{
	struct tier2_replace	*r;
	struct tier2		*t = NULL;
	size_t			 i;
	int			 rv;

	for (i = 0; t2.started && i < t2.n && t == NULL; i++) {
		if (strcmp(t2.t[i]->name, section) == 0)
			t = t2.t[i];
	}
	if (t == NULL) {
		xasprintf(cause, "no [tier2:%s] section is running", section);
		return (-1);
	}
	if (len == 0) {
		xasprintf(cause, "tier2 %s: empty model", section);
		return (-1);
	}
	/* One at a time, or two renames could land out of order. */
	if (t->replacing) {
		xasprintf(cause, "tier2 %s: a replacement is in progress",
		    section);
		return (-1);
	}
	r = xcalloc(1, sizeof *r);
	r->gen = tier2_gen;
	r->sect = xstrdup(t->sect);
	r->spec = tier2_model_spec_dup(t->spec);
	r->data = xmalloc(len);
	memcpy(r->data, data, len);
	r->len = len;
	r->cb = cb;
	r->arg = arg;
	r->req.data = r;
	if ((rv = uv_queue_work(daemon_loop(), &r->req, tier2_replace_work,
	    tier2_replace_after)) != 0) {
		xasprintf(cause, "uv_queue_work: %s", uv_strerror(rv));
		tier2_replace_free(r);
		return (-1);
	}
	t->replacing = 1;
	return (0);
}

/* STATUS= part: models and runs. */
size_t
tier2_status(char *buf, size_t len)
{
	uint64_t	runs = 0, skipped = 0;
	size_t		i;
	int		n;

	if (t2.n == 0)
		return (0);
	for (i = 0; i < t2.n; i++) {
		runs += t2.t[i]->runs;
		skipped += t2.t[i]->skipped;
	}
	n = snprintf(buf, len, "tier2 %zu model%s, %" PRIu64 " runs, %"
	    PRIu64 " skipped", t2.n, t2.n == 1 ? "" : "s", runs, skipped);
	return (n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1);
}

/* P/metrics: per-model figures under tier2.models.NAME. */
void
tier2_metrics(cJSON *o)
{
	cJSON	*models, *s;
	size_t	 i;

	models = cJSON_AddObjectToObject(o, "models");
	for (i = 0; i < t2.n; i++) {
		const struct tier2 *t = t2.t[i];

		s = cJSON_AddObjectToObject(models, t->name);
		cJSON_AddNumberToObject(s, "runs", (double)t->runs);
		cJSON_AddNumberToObject(s, "mean_us", t->runs ?
		    (double)(t->us / t->runs) : 0);
		cJSON_AddNumberToObject(s, "features_us", t->runs ?
		    (double)(t->feat_us / t->runs) : 0);
		cJSON_AddNumberToObject(s, "inference_us", t->runs ?
		    (double)(t->infer_us / t->runs) : 0);
		cJSON_AddNumberToObject(s, "skipped", (double)t->skipped);
		cJSON_AddNumberToObject(s, "errors", (double)t->errors);
		cJSON_AddNumberToObject(s, "queued", (double)(t->waiting +
		    (t->running != NULL)));
	}
}
