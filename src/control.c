/*
 * control.c - node settings (SPEC 9.1): what each node is told to do.
 *
 * A node's document is the [node:GLOB] sections matching its id merged in
 * file order, then its overrides (merge patches from MQTT commands,
 * control_merge.c), then its "model" (NAME or NAME@VERSION) resolved
 * through models_find() into an object; plus "rev".  Nothing here is
 * cached but the record of each node: its rev, a SHA-256 of its document
 * without rev, its overrides, and the model asked for and found.  The
 * document is computed again when asked for (control_settings) and on
 * every event that may change it (reload, command, new model version);
 * whenever its digest differs from the record's, the node gets a new rev
 * and the notify callback hears of it.
 *
 * Revs come from one gateway-wide counter, so a node that is forgotten
 * and met again still gets a larger rev.  Records and the counter live in
 * the store's state table ("ctl/n/NODE", "ctl/gen") and join its open
 * transaction.  To keep revs growing across a crash that loses the open
 * transaction, "ctl/gen" holds a ceiling: every rev handed out is at most
 * the committed ceiling, which is raised CONTROL_GEN_STEP at a time and
 * committed at once (store_flush) before a rev past it is used.  A clean
 * stop writes the exact counter and a "ctl/clean" marker; a start without
 * the marker treats every loaded record as stale, so each node gets a
 * fresh rev, larger than anything it may have seen.
 *
 * Records are made only for nodes the registry knows and are bounded by
 * gateway.max_nodes: a new one at the bound evicts first a record of a
 * node the registry does not know (one without overrides before one with
 * them, the lowest rev first).  Records of unknown nodes are not dropped
 * merely for being unknown: the registry is empty after a restart, and
 * the overrides an operator set must survive it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "control.h"
#include "control_int.h"
#include "log.h"
#include "models.h"
#include "nodes.h"
#include "parse.h"
#include "store.h"
#include "xmalloc.h"

#define CONTROL_GEN_STEP	1024	/* revs per committed ceiling */
#define CONTROL_KEY_GEN		"ctl/gen"
#define CONTROL_KEY_CLEAN	"ctl/clean"
#define CONTROL_KEY_NODE	"ctl/n/"

/* The model object and rev take at most this much of a document. */
_Static_assert(CONFIG_NODE_SETTINGS_MAX + 17 + 352 + 8 <= CONTROL_DOC_MAX,
    "settings bound leaves no room for rev and model");

static struct {
	const struct config	 *cf;
	struct control_rec	**buckets;
	size_t			  nbuckets;
	size_t			  nrecs;
	size_t			  max;
	uint32_t		  gen;		/* last rev handed out */
	uint32_t		  ceiling;	/* committed "ctl/gen" */
	int			  clean;	/* "ctl/clean" found at start */
	int			  started;
	control_change_cb	  notify;
} ctl;

/* A node id (or key) made safe to log; one at a time. */
const char *
control_esc(const char *s)
{
	static char	buf[4 * 80 + 4];

	return (log_escape(buf, sizeof buf, s, strnlen(s, 80)));
}

/* FNV-1a of a node id. */
static size_t
control_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return ((size_t)h);
}

/* The record of node; NULL if none. */
struct control_rec *
control_find(const char *node)
{
	struct control_rec	*r;

	if (ctl.nbuckets == 0)
		return (NULL);
	r = ctl.buckets[control_hash(node) & (ctl.nbuckets - 1)];
	for (; r != NULL; r = r->next) {
		if (strcmp(r->node, node) == 0)
			return (r);
	}
	return (NULL);
}

/* Put r in the table, which doubles when it gets crowded. */
static void
control_insert(struct control_rec *r)
{
	struct control_rec	**old = ctl.buckets, *p, *next;
	size_t			  n = ctl.nbuckets, i, h;

	if (ctl.nrecs >= 2 * ctl.nbuckets) {
		ctl.nbuckets = n ? 2 * n : 64;
		ctl.buckets = xcalloc(ctl.nbuckets, sizeof *ctl.buckets);
		for (i = 0; i < n; i++) {
			for (p = old[i]; p != NULL; p = next) {
				next = p->next;
				h = control_hash(p->node) & (ctl.nbuckets - 1);
				p->next = ctl.buckets[h];
				ctl.buckets[h] = p;
			}
		}
		free(old);
	}
	h = control_hash(r->node) & (ctl.nbuckets - 1);
	r->next = ctl.buckets[h];
	ctl.buckets[h] = r;
	ctl.nrecs++;
}

/* Free a record (not in the table). */
static void
control_rec_free(struct control_rec *r)
{
	free(r->node);
	cJSON_Delete(r->overrides);
	free(r->want);
	free(r->model);
	free(r);
}

/* Take r out of the table and free it. */
static void
control_remove(struct control_rec *r)
{
	struct control_rec	**pp;

	pp = &ctl.buckets[control_hash(r->node) & (ctl.nbuckets - 1)];
	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	ctl.nrecs--;
	control_rec_free(r);
}

/* Call cb for every record; cb must not add, remove or call out. */
static void
control_each(void (*cb)(struct control_rec *, void *), void *arg)
{
	struct control_rec	*r;
	size_t			 i;

	for (i = 0; i < ctl.nbuckets; i++) {
		for (r = ctl.buckets[i]; r != NULL; r = r->next)
			cb(r, arg);
	}
}

/*
 * Call cb for every record, which may notify: the callback may ask for
 * any node's settings, adding or evicting records, so the walk goes over
 * a copy of the names and skips those gone meanwhile.
 */
static void
control_each_safe(void (*cb)(struct control_rec *, void *), void *arg)
{
	struct control_rec	 *r;
	char			**names;
	size_t			  i, n = 0;

	if (ctl.nrecs == 0)
		return;
	names = xcalloc(ctl.nrecs, sizeof *names);
	for (i = 0; i < ctl.nbuckets; i++) {
		for (r = ctl.buckets[i]; r != NULL; r = r->next)
			names[n++] = xstrdup(r->node);
	}
	for (i = 0; i < n; i++) {
		if ((r = control_find(names[i])) != NULL)
			cb(r, arg);
		free(names[i]);
	}
	free(names);
}

/* Do two strings, either maybe NULL, differ? */
static int
control_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != b);
	return (strcmp(a, b) != 0);
}

/* Write r to the store ("ctl/n/NODE"); -1: refused. */
static int
control_rec_save(const struct control_rec *r)
{
	cJSON	*o = control_obj();
	char	*text, *key;
	int	 rc;

	cJSON_AddNumberToObject(o, "rev", r->rev);
	cJSON_AddStringToObject(o, "digest", r->digest);
	cJSON_AddItemToObject(o, "overrides", cJSON_Duplicate(r->overrides, 1));
	if (r->want != NULL)
		cJSON_AddStringToObject(o, "want", r->want);
	if (r->model != NULL)
		cJSON_AddStringToObject(o, "model", r->model);
	text = control_print(o);
	cJSON_Delete(o);
	xasprintf(&key, "%s%s", CONTROL_KEY_NODE, r->node);
	rc = store_state_set(key, text, strlen(text));
	free(key);
	free(text);
	return (rc);
}

/*
 * The next rev.  When it would pass the committed ceiling, a higher one
 * is written and committed first (with the clean marker gone), so a crash
 * can never lead to handing out a rev twice.  0 when that fails.
 */
static uint32_t
control_next_rev(void)
{
	struct store_stats	st;
	uint32_t		ceiling;
	char			buf[16];

	if (ctl.gen == UINT32_MAX) {
		log_warnx("control: revs exhausted");
		return (0);
	}
	if (ctl.gen >= ctl.ceiling) {
		ceiling = ctl.gen > UINT32_MAX - CONTROL_GEN_STEP ?
		    UINT32_MAX : ctl.gen + CONTROL_GEN_STEP;
		snprintf(buf, sizeof buf, "%" PRIu32, ceiling);
		if (store_state_set(CONTROL_KEY_GEN, buf, strlen(buf)) != 0 ||
		    store_state_delete(CONTROL_KEY_CLEAN) != 0)
			return (0);
		/* A commit waits only while a checkpoint runs. */
		store_flush();
		store_stats(&st);
		if (st.refusing)
			return (0);
		ctl.ceiling = ceiling;
	}
	return (++ctl.gen);
}

/*
 * Bring r up to date with cd (whose model strings it takes): a new rev
 * when the document differs from r's (or r is new or stale), the record
 * written when anything in it changed.  1 if the rev changed, 0 if not,
 * -1 if a new rev was needed and could not be made.
 */
int
control_apply(struct control_rec *r, struct control_doc *cd, int dirty)
{
	uint32_t	rev;
	int		changed;

	changed = r->rev == 0 || r->stale || strcmp(r->digest, cd->digest) != 0;
	if (control_differ(r->want, cd->want) ||
	    control_differ(r->model, cd->model))
		dirty = 1;
	if (!changed && !dirty)
		return (0);
	if (changed) {
		if ((rev = control_next_rev()) == 0)
			return (-1);
		r->rev = rev;
		r->stale = 0;
		memcpy(r->digest, cd->digest, sizeof r->digest);
	}
	free(r->want);
	free(r->model);
	r->want = cd->want;
	r->model = cd->model;
	cd->want = cd->model = NULL;
	/* Failing, memory is ahead of the store: a crash bumps every rev. */
	if (control_rec_save(r) != 0)
		log_warnx("control: %s: record not written", control_esc(r->node));
	if (changed) {
		/* The node's status may now say config_pending. */
		nodes_settings_changed(r->node);
		if (ctl.notify != NULL)
			ctl.notify(r->node, r->rev);
	}
	return (changed);
}

/* Compute r's document and apply it; out (if not NULL) gets it. */
static int
control_refresh(struct control_rec *r, struct control_doc *out)
{
	struct control_doc	cd;
	int			rc;

	control_compute(ctl.cf, r->node, r->overrides, &cd);
	rc = control_apply(r, &cd, 0);
	if (out != NULL)
		*out = cd;
	else
		control_doc_free(&cd);
	return (rc);
}

/* Delete r from the store and from memory. */
static void
control_drop(struct control_rec *r)
{
	char	*key;

	xasprintf(&key, "%s%s", CONTROL_KEY_NODE, r->node);
	if (store_state_delete(key) != 0)
		log_warnx("control: %s: record not deleted",
		    control_esc(r->node));
	free(key);
	control_remove(r);
}

/* The record to evict first, and its class (lower goes first). */
struct control_victim {
	struct control_rec	*r;
	int			 cls;
};

/* Consider r for eviction: unknown before known, no overrides first. */
static void
control_victim_cb(struct control_rec *r, void *arg)
{
	struct control_victim	*v = arg;
	int			 cls;

	if (r->busy)
		return;
	cls = (nodes_known(r->node) ? 2 : 0) +
	    (cJSON_GetArraySize(r->overrides) > 0);
	if (v->r == NULL || cls < v->cls || (cls == v->cls &&
	    r->rev < v->r->rev)) {
		v->r = r;
		v->cls = cls;
	}
}

/* Evict records until room more fit under the bound. */
void
control_make_room(size_t room)
{
	struct control_victim	v;

	while (ctl.nrecs > 0 && ctl.nrecs + room > ctl.max) {
		memset(&v, 0, sizeof v);
		control_each(control_victim_cb, &v);
		if (v.r == NULL)
			break;
		if (v.cls & 1)
			log_warnx("control: %s: record dropped with its "
			    "overrides (gateway.max_nodes)",
			    control_esc(v.r->node));
		control_drop(v.r);
	}
}

/* node's record, made (evicting another at the bound) if create. */
struct control_rec *
control_get(const char *node, int create)
{
	struct control_rec	*r = control_find(node);

	if (r != NULL || !create)
		return (r);
	control_make_room(1);
	r = xcalloc(1, sizeof *r);
	r->node = xstrdup(node);
	r->overrides = control_obj();
	control_insert(r);
	return (r);
}

/*
 * The document of node with "rev" (caller frees), *rev its rev.  NULL
 * when the registry does not know the node, or when its document changed
 * and no new rev could be made durable (the store refuses writes).
 */
char *
control_settings(const char *node, uint32_t *rev)
{
	struct control_rec	*r;
	struct control_doc	 cd;
	cJSON			*o, *c;
	char			*text = NULL;

	*rev = 0;
	if (!ctl.started || !nodes_known(node))
		return (NULL);
	r = control_get(node, 1);
	if (control_refresh(r, &cd) != -1 && r->rev != 0) {
		o = control_obj();
		cJSON_AddNumberToObject(o, "rev", r->rev);
		while ((c = cd.doc->child) != NULL) {
			cJSON_DetachItemViaPointer(cd.doc, c);
			cJSON_AddItemToArray(o, c);	/* keeps its key */
		}
		text = control_print(o);
		cJSON_Delete(o);
		*rev = r->rev;
	}
	control_doc_free(&cd);
	return (text);
}

/* The rev of node's current document; 0 when unknown or none yet. */
uint32_t
control_rev(const char *node)
{
	struct control_rec	*r;

	if (!ctl.started || !nodes_known(node))
		return (0);
	r = control_get(node, 1);
	control_refresh(r, NULL);
	return (r->rev);
}

/* Has control_start() run (and control_stop() not)? */
int
control_running(void)
{
	return (ctl.started);
}

/* The configuration the documents are computed from. */
const struct config *
control_config(void)
{
	return (ctl.cf);
}

/* Set the callback told of every new rev. */
void
control_set_notify(control_change_cb cb)
{
	ctl.notify = cb;
}

/* control_each callback: compute a record's document again. */
static void
control_refresh_cb(struct control_rec *r, void *arg)
{
	const char	*name = arg;
	size_t		 n;

	if (name != NULL) {
		n = strlen(name);
		if (r->want == NULL || strncmp(r->want, name, n) != 0 ||
		    (r->want[n] != '\0' && r->want[n] != '@'))
			return;
	}
	if (control_refresh(r, NULL) == -1)
		log_warnx("control: %s: no new rev (store refuses writes)",
		    control_esc(r->node));
}

/* SIGHUP: the new sections apply to every node with a record. */
void
control_reload(const struct config *cf)
{
	ctl.cf = cf;
	ctl.max = (size_t)config_int(cf, "gateway", "max_nodes");
	if (!ctl.started)
		return;
	control_make_room(0);
	control_each_safe(control_refresh_cb, NULL);
	models_gc();
}

/* A model name got or lost a version: nodes asking for it change. */
void
control_models_changed(const char *name)
{
	if (ctl.started)
		control_each_safe(control_refresh_cb, (void *)name);
}

/* What control_model_in_use() looks for. */
struct control_use {
	const char	*want;		/* NAME@VERSION */
	int		 found;
};

/* control_each callback: does r run or ask for the version? */
static void
control_use_cb(struct control_rec *r, void *arg)
{
	struct control_use	*u = arg;
	const cJSON		*m;

	m = cJSON_GetObjectItemCaseSensitive(r->overrides, "model");
	if ((r->model != NULL && strcmp(r->model, u->want) == 0) ||
	    (cJSON_IsString(m) && strcmp(m->valuestring, u->want) == 0))
		u->found = 1;
}

/*
 * Is name@version some node's model, or named by a section or overrides
 * (a node that has not asked yet will get it)?
 */
int
control_model_in_use(const char *name, const char *version)
{
	const struct config_node	*secs;
	struct control_use		 u;
	char				*want;
	size_t				 n = 0, i;

	xasprintf(&want, "%s@%s", name, version);
	u.want = want;
	u.found = 0;
	if (ctl.started)
		control_each(control_use_cb, &u);
	secs = ctl.cf != NULL ? config_nodes(ctl.cf, &n) : NULL;
	for (i = 0; i < n && !u.found; i++) {
		if (secs[i].model != NULL && strcmp(secs[i].model, want) == 0)
			u.found = 1;
	}
	free(want);
	return (u.found);
}

/* store_state_scan callback: the ceiling and the clean marker. */
static void
control_load_gen(const char *key, const void *val, size_t len, void *arg)
{
	char		buf[16];
	uint64_t	v;
	char		*end;

	(void)arg;
	if (strcmp(key, CONTROL_KEY_CLEAN) == 0) {
		ctl.clean = 1;
		return;
	}
	if (strcmp(key, CONTROL_KEY_GEN) != 0)
		return;
	if (len == 0 || len >= sizeof buf) {
		log_warnx("control: %s unreadable", key);
		return;
	}
	memcpy(buf, val, len);
	buf[len] = '\0';
	v = strtoull(buf, &end, 10);
	if (*end != '\0' || v > UINT32_MAX)
		log_warnx("control: %s unreadable", key);
	else
		ctl.gen = ctl.ceiling = (uint32_t)v;
}

/* Read a stored record's fields into r; -1 if it is not one of ours. */
static int
control_load_fields(const cJSON *o, struct control_rec *r)
{
	const cJSON	*rev, *dig, *ov, *want, *model;

	rev = cJSON_GetObjectItemCaseSensitive(o, "rev");
	dig = cJSON_GetObjectItemCaseSensitive(o, "digest");
	ov = cJSON_GetObjectItemCaseSensitive(o, "overrides");
	want = cJSON_GetObjectItemCaseSensitive(o, "want");
	model = cJSON_GetObjectItemCaseSensitive(o, "model");
	if (!cJSON_IsNumber(rev) || rev->valuedouble < 1 ||
	    rev->valuedouble > UINT32_MAX || !cJSON_IsString(dig) ||
	    strlen(dig->valuestring) != 64 || !cJSON_IsObject(ov) ||
	    (want != NULL && !cJSON_IsString(want)) ||
	    (model != NULL && !cJSON_IsString(model)))
		return (-1);
	r->rev = (uint32_t)rev->valuedouble;
	memcpy(r->digest, dig->valuestring, sizeof r->digest);
	r->overrides = cJSON_Duplicate(ov, 1);
	r->want = want != NULL ? xstrdup(want->valuestring) : NULL;
	r->model = model != NULL ? xstrdup(model->valuestring) : NULL;
	return (0);
}

/* store_state_scan callback: one node's record. */
static void
control_load_rec(const char *key, const void *val, size_t len, void *arg)
{
	const char		*node = key + strlen(CONTROL_KEY_NODE);
	struct control_rec	*r;
	cJSON			*o;

	(void)arg;
	if (!parse_id_valid(node, strlen(node), 64, "_.-") ||
	    control_find(node) != NULL) {
		log_warnx("control: bad record key %s", control_esc(key));
		return;
	}
	r = xcalloc(1, sizeof *r);
	o = cJSON_ParseWithLength(val, len);
	if (o == NULL || control_load_fields(o, r) != 0) {
		log_warnx("control: record of %s unreadable, ignored",
		    control_esc(node));
		cJSON_Delete(o);
		control_rec_free(r);
		return;
	}
	cJSON_Delete(o);
	r->node = xstrdup(node);
	r->stale = !ctl.clean;
	if (r->rev > ctl.gen)
		ctl.gen = r->rev;
	control_insert(r);
}

/* Load the counter and the records from the store (started before). */
int
control_start(const struct config *cf, char **cause)
{
	control_change_cb	notify = ctl.notify;

	control_stop();
	ctl.notify = notify;
	ctl.cf = cf;
	ctl.max = (size_t)config_int(cf, "gateway", "max_nodes");
	if (store_state_scan(CONTROL_KEY_GEN, control_load_gen, NULL) != 0 ||
	    store_state_scan(CONTROL_KEY_CLEAN, control_load_gen, NULL) != 0 ||
	    store_state_scan(CONTROL_KEY_NODE, control_load_rec, NULL) != 0) {
		xasprintf(cause, "node settings: cannot read the store");
		control_stop();
		return (-1);
	}
	/* A record may be newer than a ceiling a crash lost. */
	if (ctl.ceiling < ctl.gen)
		ctl.ceiling = ctl.gen;
	ctl.started = 1;
	/* Models ask us which versions nodes use, and tell us of new ones. */
	models_set_in_use(control_model_in_use);
	models_set_notify(control_models_changed);
	control_make_room(0);
	log_debug("control: %zu records, rev %" PRIu32 "%s", ctl.nrecs,
	    ctl.gen, ctl.clean ? "" : " (not stopped cleanly)");
	return (0);
}

/*
 * Write the exact counter and the clean marker (before the store stops:
 * its last commit takes them), then free everything.
 */
void
control_stop(void)
{
	struct control_rec	*r, *next;
	char			 buf[16];
	size_t			 i;

	if (ctl.started) {
		snprintf(buf, sizeof buf, "%" PRIu32, ctl.gen);
		if (store_state_set(CONTROL_KEY_GEN, buf, strlen(buf)) != 0 ||
		    store_state_set(CONTROL_KEY_CLEAN, "1", 1) != 0)
			log_warnx("control: counter not written at stop");
	}
	for (i = 0; i < ctl.nbuckets; i++) {
		for (r = ctl.buckets[i]; r != NULL; r = next) {
			next = r->next;
			control_rec_free(r);
		}
	}
	free(ctl.buckets);
	memset(&ctl, 0, sizeof ctl);
	models_set_in_use(NULL);
	models_set_notify(NULL);
}
