/*
 * learn.c - the learn module (SPEC section 11): [learn:NAME] sections,
 * per-node collection of normal windows, scoring with the learned model,
 * P/learn/{NAME}/{node} and the command that restarts a node.
 *
 * A store hook sees each newly stored window inside the transaction that
 * stores it.  For every section whose `nodes` glob matches, the window's
 * features are computed on the loop and either collected (learn_take();
 * the feature vector is written as a state record in the same
 * transaction, so a collected window is exactly as durable as the window
 * itself) or, once the node's model is ready, scored with its int8 model
 * through the runtime (ae_runner: a dense autoencoder of a few thousand
 * multiply-adds).  Features and scoring together measured 13-40 us per
 * window (spectral, 64 frames; learn.NAME.score_us in P/metrics), so they
 * stay on the loop rather than pay a pool round trip.  A score
 * becomes a tier-2 inference ("anomaly" above the threshold, else
 * "normal"; score = ae_score(), 0.5 at the threshold), stored as tier 2's
 * results are, from a zero timer right after the hook's transaction: a
 * message hook must not put messages itself.
 *
 * When a node has `windows` windows it is queued for training
 * (learn_train.c: one at a time, in the pool).  Nodes per section are
 * bounded by `max_nodes` (later nodes are ignored, counted and logged
 * once), collected memory by LEARN_MEM_MAX.  A ready node's model is node
 * model learn-NAME-{node} (version: the first 16 hex digits of its
 * sha256) when that name fits MODELS_NAME_MAX; a longer one is learned
 * and scores but is not served, and its status says so.
 *
 * Start reads every "learn/" record: windows, state, model; records of a
 * section no longer configured, or whose signature (features and their
 * parameters, windows) changed, are deleted, so those nodes start over.
 * SIGHUP does the same per section (added, removed, changed); `nodes`,
 * `threshold_quantile` and `max_nodes` apply from then on.  After the
 * store rolls a transaction back (disk full), the nodes are rebuilt the
 * same way before the next window, command or reload uses them, so the
 * windows the journal replays are collected once.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "features/features.h"
#include "learn.h"
#include "learn_int.h"
#include "log.h"
#include "metrics.h"
#include "models.h"
#include "store.h"
#include "uplink.h"
#include "xmalloc.h"

#define LEARN_SEQ_BASE	0x10000	/* tier-2 seq: past tier2's sections */

/* The feature parameters a section may set (features_params_set names). */
static const char *const learn_feature_keys[] = {
	"mfcc_sample_rate", "mfcc_frame_length", "mfcc_frame_step",
	"mfcc_fft_length", "mfcc_mel_bins", "mfcc_lower_hz", "mfcc_upper_hz",
	"mfcc_log_offset", "mfcc_coefficients", "mfcc_frames",
	"mfcc_normalize", "spectral_axes", "spectral_bands",
	"spectral_low_hz", "spectral_lowpass_hz", "spectral_highpass_hz",
};
#define LEARN_NFEATKEYS	(sizeof learn_feature_keys / \
	sizeof learn_feature_keys[0])

/* A scored window waiting to be stored as a tier-2 inference. */
struct learn_emit {
	char		 node[MESSAGE_NODE_MAX + 1];
	char		 model[MESSAGE_TEXT_MAX + 1];
	uint32_t	 boot;
	int64_t		 seq, wseq;
	int		 anomaly;
	double		 score, error;
	uint64_t	 us;
};

static struct {
	const struct config	*cf;
	struct learn_sect	**s;
	size_t			  ns;
	size_t			  mem;
	uint64_t		  gen;
	int			  started;
	int			  stale;	/* the store rolled back */
	int			  timer_init;
	uv_timer_t		  timer;
	size_t			  nemit;	/* in learn_emits */
	uint64_t		  emit_dropped, store_fail;
	float			 *buf;		/* features of one window */
} lm;

/*
 * Scored windows waiting to be stored, [0, lm.nemit).  Outside lm because
 * learn_start clears lm: 188 KB of zeroes written at every start were
 * resident on every gateway, learning or not; these pages are touched
 * only as windows are scored.
 */
static struct learn_emit	learn_emits[LEARN_EMIT_MAX];

static void	learn_on_connect(void);

/* uplink_on_connect() hooks are never removed: once per process. */
static int	learn_hooked;

/* The bytes collected by every node (learn_take's counter). */
size_t *
learn_mem(void)
{
	return (&lm.mem);
}

/* The sections, their count in *n. */
struct learn_sect *const *
learn_sects(size_t *n)
{
	*n = lm.ns;
	return (lm.s);
}

/* Scored windows dropped at the LEARN_EMIT_MAX bound. */
uint64_t
learn_emit_dropped(void)
{
	return (lm.emit_dropped);
}

/* The node of generation gen (each node's is unique), or NULL. */
struct learn_node *
learn_node_gen(uint64_t gen)
{
	size_t	i, k;

	for (i = 0; i < lm.ns; i++) {
		for (k = 0; k < lm.s[i]->nn; k++) {
			if (lm.s[i]->n[k]->gen == gen)
				return (lm.s[i]->n[k]);
		}
	}
	return (NULL);
}

/* The section named name, or NULL. */
static struct learn_sect *
learn_sect_find(const char *name)
{
	size_t	i;

	for (i = 0; i < lm.ns; i++) {
		if (strcmp(lm.s[i]->name, name) == 0)
			return (lm.s[i]);
	}
	return (NULL);
}

/* The node of section name, or NULL. */
struct learn_node *
learn_node_find(const char *name, const char *node)
{
	struct learn_sect	*s = learn_sect_find(name);
	size_t			 i;

	for (i = 0; s != NULL && i < s->nn; i++) {
		if (strcmp(s->n[i]->node, node) == 0)
			return (s->n[i]);
	}
	return (NULL);
}

/* Add node to s (caller checked the bound). */
struct learn_node *
learn_node_new(struct learn_sect *s, const char *node)
{
	struct learn_node	*nd = xcalloc(1, sizeof *nd);

	snprintf(nd->node, sizeof nd->node, "%s", node);
	nd->s = s;
	nd->gen = ++lm.gen;
	s->n = xreallocarray(s->n, s->nn + 1, sizeof *s->n);
	s->n[s->nn++] = nd;
	return (nd);
}

/* Free a node (its training, if queued or running, is forgotten). */
static void
learn_node_free(struct learn_node *nd)
{
	learn_train_forget(nd);
	learn_node_drop(nd, &lm.mem);
	free(nd);
}

/* Free a section and its nodes. */
static void
learn_sect_free(struct learn_sect *s)
{
	size_t	i;

	for (i = 0; i < s->nn; i++)
		learn_node_free(s->n[i]);
	free(s->n);
	features_free(s->feat);
	free(s->nodes);
	free(s->sig);
	free(s->sect);
	free(s);
}

/* The signature of a section: what, when changed, starts it over. */
static char *
learn_signature(const struct config *cf, const char *sect)
{
	char	*sig, *t;
	size_t	 i;

	xasprintf(&sig, "features=%s windows=%" PRId64, config_str(cf, sect,
	    "features"), config_int(cf, sect, "windows"));
	for (i = 0; i < LEARN_NFEATKEYS; i++) {
		xasprintf(&t, "%s %s=%s", sig, learn_feature_keys[i],
		    config_str(cf, sect, learn_feature_keys[i]));
		free(sig);
		sig = t;
	}
	return (sig);
}

/* Build the feature state of a section; -1 with a cause. */
static int
learn_features(const struct config *cf, const char *sect,
    struct features **out, char **cause)
{
	static const enum features_kind kinds[] = {
		[CONFIG_FEATURES_RAW] = FEATURES_RAW,
		[CONFIG_FEATURES_MFCC] = FEATURES_MFCC,
		[CONFIG_FEATURES_SPECTRAL] = FEATURES_SPECTRAL,
	};
	struct features_params	 p;
	size_t			 i;
	char			*why = NULL;

	features_params_default(&p, kinds[config_enum(cf, sect, "features")]);
	for (i = 0; i < LEARN_NFEATKEYS; i++) {
		if (features_params_set(&p, learn_feature_keys[i],
		    config_str(cf, sect, learn_feature_keys[i]), &why) != 0)
			break;
	}
	if (why == NULL && features_new(&p, out, &why) == 0)
		return (0);
	xasprintf(cause, "%s:%d: [%s]: %s", config_path(cf), config_line(cf,
	    sect, "features"), sect, why);
	free(why);
	return (-1);
}

/* Check what the table cannot: names, features. */
int
learn_config_check(const struct config *cf, char **cause)
{
	const char *const	*s;
	struct features		*f;
	size_t			 n, i;

	s = config_sections(cf, "learn", &n);
	for (i = 0; i < n; i++) {
		if (!models_valid_name(s[i] + strlen("learn:"))) {
			xasprintf(cause, "%s:%d: [%s]: the name must be 1 to "
			    "64 of [A-Za-z0-9_.-]", config_path(cf),
			    config_line(cf, s[i], "nodes"), s[i]);
			return (-1);
		}
		if (learn_features(cf, s[i], &f, cause) != 0)
			return (-1);
		features_free(f);
	}
	return (0);
}

/* Take a section's reloadable settings. */
static void
learn_settings(struct learn_sect *s, const struct config *cf)
{
	free(s->nodes);
	s->nodes = xstrdup(config_str(cf, s->sect, "nodes"));
	s->quantile = config_double(cf, s->sect, "threshold_quantile");
	s->max_nodes = (size_t)config_int(cf, s->sect, "max_nodes");
}

/* A new section from the configuration; NULL with a cause. */
static struct learn_sect *
learn_sect_new(const struct config *cf, const char *sect, int index,
    char **cause)
{
	struct learn_sect	*s = xcalloc(1, sizeof *s);

	s->sect = xstrdup(sect);
	s->name = strchr(s->sect, ':') + 1;
	s->index = index;
	s->kind = config_enum(cf, sect, "features");
	s->windows = (size_t)config_int(cf, sect, "windows");
	s->sig = learn_signature(cf, sect);
	learn_settings(s, cf);
	if (learn_features(cf, sect, &s->feat, cause) != 0) {
		learn_sect_free(s);
		return (NULL);
	}
	return (s);
}

/* After every (re)connect: every node's status again, directly. */
static void
learn_on_connect(void)
{
	char	 topic[512], *doc;
	size_t	 i, k;

	if (!lm.started || uplink_prefix() == NULL)
		return;
	for (i = 0; i < lm.ns; i++) {
		for (k = 0; k < lm.s[i]->nn; k++) {
			const struct learn_node *nd = lm.s[i]->n[k];

			snprintf(topic, sizeof topic, "%s/learn/%s/%s",
			    uplink_prefix(), lm.s[i]->name, nd->node);
			doc = learn_doc(nd);
			if (uplink_publish_now(topic, doc, strlen(doc), 1,
			    1) != 0)
				log_debug("learn: %s not sent now", topic);
			free(doc);
		}
	}
}

/* Zero timer: store the scored windows as tier-2 inferences. */
static void
learn_emit_cb(uv_timer_t *h)
{
	struct store_msg	 sm;
	struct learn_emit	*e;
	char			*body;
	size_t			 i;

	(void)h;
	for (i = 0; i < lm.nemit; i++) {
		e = &learn_emits[i];
		xasprintf(&body, "{\"seq\":%" PRId64 ",\"boot\":%" PRIu32
		    ",\"model\":\"%s\",\"label\":\"%s\",\"score\":%.6f,"
		    "\"tier\":2,\"window\":%" PRId64 ",\"latency_us\":%" PRIu64
		    ",\"error\":%.9g}", e->wseq, e->boot, e->model,
		    e->anomaly ? "anomaly" : "normal", e->score, e->wseq,
		    e->us, e->error);
		memset(&sm, 0, sizeof sm);
		sm.node = e->node;
		sm.boot = e->boot;
		sm.seq = e->seq;
		sm.kind = STORE_KIND_TIER2;
		sm.rx_ms = daemon_now_ms();
		sm.body = body;
		sm.len = strlen(body);
		if (store_put_message(&sm, NULL, NULL) == STORE_REFUSED)
			lm.store_fail++;
		free(body);
	}
	lm.nemit = 0;
}

/* Score a window's features (dim) with a ready node's int8 model. */
static void
learn_score(struct learn_node *nd, const float *x, const struct store_msg *sm,
    uint64_t wseq, uint64_t t0)
{
	struct learn_emit	*e;
	float			 err;

	/* The runtime and the metadata entry, as the node would score. */
	err = ae_runner_error(nd->run, x);
	if (!isfinite(err)) {
		nd->rej_bad++;
		return;
	}
	nd->scored++;
	if (lm.nemit == LEARN_EMIT_MAX) {
		lm.emit_dropped++;
		return;
	}
	e = &learn_emits[lm.nemit++];
	snprintf(e->node, sizeof e->node, "%s", nd->node);
	snprintf(e->model, sizeof e->model, "learn-%.58s", nd->s->name);
	e->boot = sm->boot;
	e->wseq = (int64_t)wseq;
	/* Unique per (window, section), apart from tier2's results. */
	e->seq = (int64_t)wseq + ((int64_t)(LEARN_SEQ_BASE + nd->s->index) <<
	    32);
	e->error = err;
	e->anomaly = !(err <= nd->threshold);
	e->score = ae_score(err, nd->threshold);
	e->us = (uv_hrtime() - t0) / 1000;
	nd->score_us += e->us;
	if (e->anomaly)
		nd->anomalies++;
	if (lm.nemit == 1)
		uv_timer_start(&lm.timer, learn_emit_cb, 0, 0);
}

/* A node collected enough: training, queued. */
static void
learn_full(struct learn_node *nd)
{
	nd->state = LEARN_TRAINING;
	nd->reason[0] = '\0';
	learn_save(nd);
	learn_publish(nd);
	learn_train_queue(nd);
}

/* Collect a window's features (dim) for a collecting node. */
static void
learn_collect(struct learn_node *nd, const float *x, uint32_t dim,
    const struct message *w)
{
	enum learn_take	 t;
	char		 key[LEARN_KEY_MAX];
	uint8_t		 rec[LEARN_DIM_MAX * 4];

	t = learn_take(nd, x, dim, w->frames, w->axes, w->interval_us,
	    nd->s->windows, &lm.mem);
	if (t == LEARN_DONE)
		return;
	if (t != LEARN_TAKEN) {
		learn_save(nd);		/* the counts */
		if (t == LEARN_SHAPE || nd->rej_bad + nd->rej_full == 1)
			log_debug("learn %s: %s: window not collected (%s)",
			    nd->s->name, nd->node, t == LEARN_SHAPE ? "shape" :
			    t == LEARN_BAD ? "bad" : "memory bound");
		return;
	}
	learn_key(key, sizeof key, nd->s->name, nd->node, LEARN_REC_WINDOW,
	    (uint32_t)(nd->n - 1));
	learn_window_encode(x, dim, rec);
	store_state_set(key, rec, (size_t)dim * 4);
	if (nd->n == 1)
		learn_save(nd);		/* the shape of the first window */
	if (nd->n == 1 || nd->n % 50 == 0)
		learn_publish(nd);
	if (nd->n >= nd->s->windows)
		learn_full(nd);
}

/* The node of s for a window, made if the bound allows; or NULL. */
static struct learn_node *
learn_node_get(struct learn_sect *s, const char *node)
{
	size_t	i;

	for (i = 0; i < s->nn; i++) {
		if (strcmp(s->n[i]->node, node) == 0)
			return (s->n[i]);
	}
	if (s->nn >= s->max_nodes) {
		s->refused++;
		if (!s->refused_logged)
			log_warnx("learn %s: more than %zu nodes: node %s and "
			    "later ones are not learned (max_nodes)", s->name,
			    s->max_nodes, node);
		s->refused_logged = 1;
		return (NULL);
	}
	return (learn_node_new(s, node));
}

/* One section's work on one window. */
static void
learn_window(struct learn_sect *s, const struct store_msg *sm,
    const struct message *w)
{
	struct learn_node	*nd;
	size_t			 dim;
	uint64_t		 t0 = uv_hrtime();
	char			*why = NULL;

	if ((nd = learn_node_get(s, sm->node)) == NULL)
		return;
	if (nd->state == LEARN_TRAINING || nd->state == LEARN_FAILED ||
	    (nd->state == LEARN_READY && nd->run == NULL))
		return;
	if (features_output_len(s->feat, w->frames, w->axes, &dim, &why) != 0 ||
	    dim == 0 || dim > LEARN_DIM_MAX || features_compute(s->feat,
	    w->values, w->frames, w->axes, (uint32_t)w->interval_us, lm.buf,
	    dim, &why) != 0) {
		free(why);
		nd->rej_bad++;
		if (nd->state == LEARN_COLLECTING)
			learn_save(nd);
		return;
	}
	if (nd->state == LEARN_COLLECTING)
		learn_collect(nd, lm.buf, (uint32_t)dim, w);
	else if (dim != nd->dim || w->frames != nd->frames ||
	    w->axes != nd->axes || w->interval_us != nd->interval_us)
		nd->rej_shape++;
	else
		learn_score(nd, lm.buf, sm, sm->seq >= 0 ? (uint64_t)sm->seq :
		    w->seq, t0);
}

/*
 * The store rolled a transaction back: windows collected (and results
 * recorded) in it are gone from the store but not from memory, and its
 * journal replay will hand those windows to the hook again.  Rebuilding
 * here could free a node that a hook of ours is using (the rollback may
 * come from our own write), so it waits for learn_fresh().
 */
static void
learn_rolled_back(void)
{
	lm.stale = 1;
}

/*
 * Before memory is used again after a rollback: every node rebuilt from
 * the store's records, as at start (a training in flight is dropped when
 * it returns: its node has a new generation).  0, or -1 while the store
 * cannot be read (the nodes stay empty and it is tried again).
 */
int
learn_fresh(void)
{
	struct learn_sect	*s;
	char			*cause = NULL;
	size_t			 i, k;

	if (!lm.stale)
		return (0);
	for (i = 0; i < lm.ns; i++) {
		s = lm.s[i];
		for (k = 0; k < s->nn; k++)
			learn_node_free(s->n[k]);
		s->nn = 0;
	}
	if (learn_load(lm.s, lm.ns, "learn/", &cause) != 0) {
		log_warnx("learn: after a rollback: %s", cause);
		free(cause);
		return (-1);
	}
	lm.stale = 0;
	log_info("learn: rebuilt from the store after its rollback");
	/* The uplink may have sent P/learn rows of the rolled-back one. */
	learn_on_connect();
	return (0);
}

/* Store hook: windows of matching nodes are collected or scored. */
static void
learn_hook(const struct store_msg *sm, int64_t id, void *arg)
{
	struct message	*parsed = NULL;
	const struct message *w = sm->msg;
	char		*cause = NULL;
	size_t		 i;

	(void)id;
	(void)arg;
	if (!lm.started || sm->kind != STORE_KIND_WINDOW || learn_fresh() != 0)
		return;
	for (i = 0; i < lm.ns; i++) {
		if (fnmatch(lm.s[i]->nodes, sm->node, 0) != 0)
			continue;
		if (w == NULL && message_parse_stored(sm->kind, sm->node,
		    sm->body, sm->len, &parsed, &cause) != 0) {
			free(cause);
			return;
		}
		if (w == NULL)
			w = parsed;
		learn_window(lm.s[i], sm, w);
	}
	message_free(parsed);
}

/* Start every section and read back what the store kept. */
int
learn_start(const struct config *cf, char **cause)
{
	const char *const	*names;
	struct learn_sect	*s;
	size_t			 n, i;

	memset(&lm, 0, sizeof lm);
	lm.cf = cf;
	names = config_sections(cf, "learn", &n);
	lm.s = xcalloc(n ? n : 1, sizeof *lm.s);
	lm.buf = xreallocarray(NULL, LEARN_DIM_MAX, sizeof *lm.buf);
	for (i = 0; i < n; i++) {
		if ((s = learn_sect_new(cf, names[i], (int)i, cause)) == NULL) {
			learn_stop();
			return (-1);
		}
		lm.s[lm.ns++] = s;
	}
	/* Also with no section: records of removed ones are deleted. */
	if (learn_load(lm.s, lm.ns, "learn/", cause) != 0) {
		learn_stop();
		return (-1);
	}
	uv_timer_init(daemon_loop(), &lm.timer);
	lm.timer_init = 1;
	store_add_message_hook(learn_hook, NULL);
	store_add_rollback(learn_rolled_back);
	lm.started = 1;
	for (i = 0; i < lm.ns; i++) {
		for (n = 0; n < lm.s[i]->nn; n++)
			learn_publish(lm.s[i]->n[n]);
		log_info("learn %s: %s features, %zu windows per node, nodes "
		    "%s (%zu known)", lm.s[i]->name, config_str(cf,
		    lm.s[i]->sect, "features"), lm.s[i]->windows,
		    lm.s[i]->nodes, lm.s[i]->nn);
	}
	if (!learn_hooked)
		uplink_on_connect(learn_on_connect);
	learn_hooked = 1;
	return (0);
}

/* Forget a section: its nodes, records, retained topics, training. */
static void
learn_sect_remove(struct learn_sect *s)
{
	char	prefix[LEARN_KEY_MAX];
	size_t	i;

	for (i = 0; i < s->nn; i++) {
		learn_clear(s->name, s->n[i]->node);
		learn_unserve(s->name, s->n[i]->node);
	}
	snprintf(prefix, sizeof prefix, "learn/%s/", s->name);
	learn_records_delete(prefix);
	learn_sect_free(s);
}

/* SIGHUP: sections added, removed or changed; settings of the others. */
void
learn_reload(const struct config *cf)
{
	const char *const	*names;
	struct learn_sect	**ns, *s;
	char			 prefix[LEARN_KEY_MAX], *sig, *cause = NULL;
	size_t			 n, i, k;

	if (!lm.started)
		return;
	learn_fresh();
	names = config_sections(cf, "learn", &n);
	ns = xcalloc(n ? n : 1, sizeof *ns);
	for (i = 0; i < n; i++) {
		for (s = NULL, k = 0; k < lm.ns && s == NULL; k++) {
			if (lm.s[k] != NULL &&
			    strcmp(lm.s[k]->sect, names[i]) == 0)
				s = lm.s[k];
		}
		sig = learn_signature(cf, names[i]);
		if (s != NULL && strcmp(s->sig, sig) == 0) {
			lm.s[k - 1] = NULL;
			learn_settings(s, cf);
			s->index = (int)i;
			ns[i] = s;
		} else {
			if (s != NULL) {
				log_info("learn %s: changed: every node starts "
				    "over", s->name);
				lm.s[k - 1] = NULL;
				learn_sect_remove(s);
			}
			ns[i] = learn_sect_new(cf, names[i], (int)i, &cause);
			snprintf(prefix, sizeof prefix, "learn/%s/", names[i] +
			    strlen("learn:"));
			if (ns[i] == NULL || learn_load(&ns[i], 1, prefix,
			    &cause) != 0) {
				/* -t checked it: only the store can fail. */
				log_warnx("learn: %s", cause);
				free(cause);
				cause = NULL;
			}
		}
		free(sig);
	}
	for (k = 0; k < lm.ns; k++) {
		if (lm.s[k] != NULL) {
			log_info("learn %s: removed", lm.s[k]->name);
			learn_sect_remove(lm.s[k]);
		}
	}
	free(lm.s);
	lm.s = ns;
	lm.cf = cf;
	for (i = lm.ns = 0; i < n; i++) {
		if (ns[i] != NULL)
			lm.s[lm.ns++] = ns[i];
	}
}

/* Stop: the hook goes, a running training is dropped when it returns. */
void
learn_stop(void)
{
	size_t	i;

	if (lm.started) {
		store_remove_message_hook(learn_hook);
		store_remove_rollback(learn_rolled_back);
	}
	if (lm.timer_init) {
		learn_emit_cb(&lm.timer);
		uv_close((uv_handle_t *)&lm.timer, NULL);
	}
	lm.timer_init = 0;
	lm.started = 0;
	learn_train_stop();
	for (i = 0; i < lm.ns; i++)
		learn_sect_free(lm.s[i]);
	free(lm.s);
	lm.s = NULL;
	lm.ns = 0;
	free(lm.buf);
	lm.buf = NULL;
}

/*
 * P/cmd/learn/NAME/NODE {"action":"restart"}: drop the node's windows
 * and model; it collects again.  -1 with a cause for an unknown node.
 */
int
learn_restart(const char *name, const char *node, char **cause)
{
	struct learn_sect	*s;
	struct learn_node	*nd;
	char			 prefix[LEARN_KEY_MAX];

	if ((s = learn_sect_find(name)) == NULL) {
		xasprintf(cause, "no [learn:%s] section", name);
		return (-1);
	}
	if (learn_fresh() != 0) {
		xasprintf(cause, "the store cannot be read");
		return (-1);
	}
	if ((nd = learn_node_find(name, node)) == NULL) {
		if (fnmatch(s->nodes, node, 0) != 0) {
			xasprintf(cause, "node %s does not match [learn:%s] "
			    "nodes", node, name);
			return (-1);
		}
		if ((nd = learn_node_get(s, node)) == NULL) {
			xasprintf(cause, "[learn:%s] has max_nodes nodes",
			    name);
			return (-1);
		}
	}
	learn_train_forget(nd);
	snprintf(prefix, sizeof prefix, "learn/%s/%s/", name, node);
	learn_records_delete(prefix);
	learn_unserve(name, node);
	learn_node_drop(nd, &lm.mem);
	nd->gen = ++lm.gen;
	learn_save(nd);
	learn_publish(nd);
	log_info("learn %s: %s: restarted, collecting", name, node);
	return (0);
}
