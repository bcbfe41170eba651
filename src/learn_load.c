/*
 * learn_load.c - the learn module's records read back at start (SPEC 11:
 * a restart keeps ready models and the windows collected so far).
 *
 * One scan of the "learn/" records (sorted by key, so a node's model and
 * status come before its windows) rebuilds each node: its
 * status, its windows in index order (a gap ends them), its model.
 * Records of sections not configured, or whose signature changed, and of
 * nodes past max_nodes are deleted after the scan (never during it), and
 * the section's new signature is written.  Then a ready node's model is
 * loaded into the runtime and served again; a node that was training (or
 * had all its windows) is queued for training again; a ready node whose
 * model does not load starts over, logged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn_int.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* What a scan gathers. */
struct learn_scan {
	struct learn_sect	**s;
	size_t			  ns;
	int			 *reset;	/* per section */
	char			**del;		/* keys to delete */
	size_t			  ndel;
	char			 *sig;		/* learn_sig_cb's find */
};

/* Remember a key to delete after the scan. */
static void
learn_scan_del(struct learn_scan *sc, const char *key)
{
	sc->del = xreallocarray(sc->del, sc->ndel + 1, sizeof *sc->del);
	sc->del[sc->ndel++] = xstrdup(key);
}

/* Delete the gathered keys (joins the open transaction). */
static void
learn_scan_flush(struct learn_scan *sc)
{
	size_t	i;

	for (i = 0; i < sc->ndel; i++) {
		store_state_delete(sc->del[i]);
		free(sc->del[i]);
	}
	free(sc->del);
	sc->del = NULL;
	sc->ndel = 0;
}

/* store_state_scan: gather every key under a prefix. */
static void
learn_del_cb(const char *key, const void *val, size_t len, void *arg)
{
	(void)val;
	(void)len;
	learn_scan_del(arg, key);
}

/* Delete every record whose key starts with prefix. */
void
learn_records_delete(const char *prefix)
{
	struct learn_scan	sc;

	memset(&sc, 0, sizeof sc);
	if (store_state_scan(prefix, learn_del_cb, &sc) != 0)
		log_warnx("learn: %s: the store cannot be read", prefix);
	learn_scan_flush(&sc);
}

/* store_state_scan: the exact signature record. */
static void
learn_sig_cb(const char *key, const void *val, size_t len, void *arg)
{
	struct learn_scan	*sc = arg;
	struct learn_key	 k;

	if (learn_key_parse(key, &k) != 0 || k.kind != LEARN_REC_SIG)
		return;
	free(sc->sig);
	sc->sig = xmalloc(len + 1);
	memcpy(sc->sig, val, len);
	sc->sig[len] = '\0';
}

/* One record of a known node. */
static void
learn_scan_node(struct learn_scan *sc, struct learn_node *nd,
    const struct learn_key *k, const char *key, const void *val, size_t len)
{
	char	*cause = NULL;
	float	 x[LEARN_DIM_MAX];

	switch (k->kind) {
	case LEARN_REC_STATE:
		if (learn_state_parse(val, len, nd, &cause) != 0) {
			log_warnx("learn: %s: %s; the node starts over", key,
			    cause);
			free(cause);
			learn_node_drop(nd, learn_mem());
			learn_unserve(nd->s->name, nd->node);
		}
		break;
	case LEARN_REC_MODEL:
		free(nd->model);
		nd->model = xmalloc(len ? len : 1);
		memcpy(nd->model, val, len);
		nd->model_len = len;
		break;
	case LEARN_REC_WINDOW:
		if (k->index != nd->n || nd->dim == 0 ||
		    learn_window_decode(val, len, nd->dim, x) != 0 ||
		    learn_take(nd, x, nd->dim, nd->frames, nd->axes,
		    nd->interval_us, nd->s->windows, learn_mem()) !=
		    LEARN_TAKEN)
			learn_scan_del(sc, key);
		break;
	default:
		break;
	}
}

/* store_state_scan: one "learn/" record. */
static void
learn_scan_cb(const char *key, const void *val, size_t len, void *arg)
{
	struct learn_scan	*sc = arg;
	struct learn_sect	*s = NULL;
	struct learn_node	*nd = NULL;
	struct learn_key	 k;
	enum learn_state	 st;
	size_t			 i;

	if (learn_key_parse(key, &k) != 0) {
		learn_scan_del(sc, key);
		return;
	}
	for (i = 0; i < sc->ns && s == NULL; i++) {
		if (strcmp(sc->s[i]->name, k.sect) == 0)
			s = sc->s[i];
	}
	if (k.kind == LEARN_REC_SIG && s != NULL)
		return;
	if (s == NULL || sc->reset[i - 1]) {
		/* Gone or starting over: its P/learn and model go too. */
		if (k.kind == LEARN_REC_STATE) {
			learn_clear(k.sect, k.node);
			learn_unserve(k.sect, k.node);
		}
		learn_scan_del(sc, key);
		return;
	}
	for (i = 0; i < s->nn && nd == NULL; i++) {
		if (strcmp(s->n[i]->node, k.node) == 0)
			nd = s->n[i];
	}
	if (nd == NULL && s->nn >= s->max_nodes) {
		if (k.kind == LEARN_REC_STATE) {
			learn_clear(k.sect, k.node);
			learn_unserve(k.sect, k.node);
		}
		learn_scan_del(sc, key);
		return;
	}
	if (nd == NULL)
		nd = learn_node_new(s, k.node);
	/* learn_take collects only in this state: the status says the rest. */
	st = nd->state;
	if (k.kind == LEARN_REC_WINDOW)
		nd->state = LEARN_COLLECTING;
	learn_scan_node(sc, nd, &k, key, val, len);
	if (k.kind == LEARN_REC_WINDOW)
		nd->state = st;
}

/* After the scan: ready models back in the runtime, trainings queued. */
static void
learn_resume(struct learn_node *nd)
{
	char	*cause = NULL;

	if (nd->state == LEARN_READY && learn_load_model(nd, &cause) != 0) {
		log_warnx("learn %s: %s: the stored model does not load (%s); "
		    "the node starts over", nd->s->name, nd->node, cause);
		free(cause);
		learn_node_drop(nd, learn_mem());
		learn_unserve(nd->s->name, nd->node);
		learn_save(nd);
	}
	if (nd->state == LEARN_READY) {
		learn_serve(nd);
		log_info("learn %s: %s: ready, %zu byte model %.12s", nd->s->name,
		    nd->node, nd->model_len, nd->sha256);
		return;
	}
	/* The status record said training, or a crash came just before. */
	if ((nd->state == LEARN_COLLECTING || nd->state == LEARN_TRAINING) &&
	    nd->n >= nd->s->windows) {
		nd->state = LEARN_TRAINING;
		learn_train_queue(nd);
	} else if (nd->state == LEARN_TRAINING)
		nd->state = LEARN_COLLECTING;
	if (nd->state == LEARN_COLLECTING)
		log_info("learn %s: %s: collecting, %zu of %zu windows kept",
		    nd->s->name, nd->node, nd->n, nd->s->windows);
}

/* Read the sections' signatures: a changed one starts its section over. */
static int
learn_signatures(struct learn_scan *sc, char **cause)
{
	char	key[LEARN_KEY_MAX];
	size_t	i;

	for (i = 0; i < sc->ns; i++) {
		learn_key(key, sizeof key, sc->s[i]->name, NULL,
		    LEARN_REC_SIG, 0);
		if (store_state_scan(key, learn_sig_cb, sc) != 0) {
			xasprintf(cause, "learn: the store cannot be read");
			return (-1);
		}
		sc->reset[i] = sc->sig == NULL || strcmp(sc->sig,
		    sc->s[i]->sig) != 0;
		if (sc->reset[i] && sc->sig != NULL)
			log_info("learn %s: features or windows changed: every "
			    "node starts over", sc->s[i]->name);
		free(sc->sig);
		sc->sig = NULL;
		if (sc->reset[i])
			store_state_set(key, sc->s[i]->sig,
			    strlen(sc->s[i]->sig));
	}
	return (0);
}

/*
 * Rebuild the nodes of the sections from the records under prefix
 * ("learn/" at start: records of other sections are deleted; "learn/S/"
 * for a section added or changed by a reload).
 */
int
learn_load(struct learn_sect **s, size_t ns, const char *prefix,
    char **cause)
{
	struct learn_scan	sc;
	size_t			i, k;
	int			rc = -1;

	memset(&sc, 0, sizeof sc);
	sc.s = s;
	sc.ns = ns;
	sc.reset = xcalloc(ns ? ns : 1, sizeof *sc.reset);
	if (learn_signatures(&sc, cause) != 0)
		goto out;
	if (store_state_scan(prefix, learn_scan_cb, &sc) != 0) {
		xasprintf(cause, "learn: the store cannot be read");
		goto out;
	}
	learn_scan_flush(&sc);
	for (i = 0; i < ns; i++) {
		for (k = 0; k < s[i]->nn; k++)
			learn_resume(s[i]->n[k]);
	}
	rc = 0;
out:
	learn_scan_flush(&sc);
	free(sc.reset);
	return (rc);
}
