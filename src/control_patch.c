/*
 * control_patch.c - overrides set over MQTT (SPEC 9.2 P/cmd/config/GLOB).
 *
 * A patch is checked whole before anything changes: a JSON object of
 * setting names, no key repeated, nested at most CONTROL_MERGE_DEPTH, a
 * "model" that is null or NAME[@VERSION].  Then the new overrides and
 * document of every known node the glob matches are computed; if any
 * document would pass its bound, or the store refuses writes, nothing
 * changes.  Otherwise each node takes its new overrides (a new rev where
 * its document changed) and the store commits at once, so the overrides
 * are durable before the command's result is published.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "control.h"
#include "models.h"
#include "control_int.h"
#include "nodes.h"
#include "parse.h"
#include "store.h"
#include "xmalloc.h"

/* Check a merge patch before it touches anything. */
static int
control_patch_check(const cJSON *patch, char **cause)
{
	const cJSON	*c;
	cJSON		*tmp = NULL;
	char		*why;
	int		 rc;

	if (!cJSON_IsObject(patch)) {
		xasprintf(cause, "the settings patch is not a JSON object");
		return (-1);
	}
	rc = control_merge_patch(&tmp, patch);
	cJSON_Delete(tmp);
	if (rc != 0) {
		xasprintf(cause, "the settings patch is nested deeper than %d",
		    CONTROL_MERGE_DEPTH);
		return (-1);
	}
	if (control_merge_repeats(patch)) {
		xasprintf(cause, "the settings patch repeats a key");
		return (-1);
	}
	cJSON_ArrayForEach(c, patch) {
		if (!parse_id_valid(c->string, strlen(c->string),
		    CONFIG_NODE_KEY_MAX, "_") || strcmp(c->string, "rev") == 0) {
			xasprintf(cause, "\"%.64s\" is not a setting name "
			    "([A-Za-z0-9_]{1,64}, not rev)", c->string);
			return (-1);
		}
		if (strcmp(c->string, "model") != 0 || cJSON_IsNull(c))
			continue;
		if (!cJSON_IsString(c) || config_node_model_check(
		    c->valuestring, &why) != 0) {
			if (cJSON_IsString(c))
				free(why);
			xasprintf(cause, "model must be null, NAME or "
			    "NAME@VERSION");
			return (-1);
		}
	}
	return (0);
}

/* The nodes a patch applies to, with what it makes of each. */
struct control_patching {
	const char		*glob;
	size_t			 n;
	char			**nodes;
	cJSON			**overrides;
	struct control_doc	*docs;
};

/* nodes_foreach callback: collect the known nodes the glob matches. */
static void
control_patch_match(const char *node, void *arg)
{
	struct control_patching	*p = arg;

	if (fnmatch(p->glob, node, 0) != 0)
		return;
	p->nodes = xreallocarray(p->nodes, p->n + 1, sizeof *p->nodes);
	p->nodes[p->n++] = xstrdup(node);
}

/* Free a patching (its docs up to n). */
static void
control_patching_free(struct control_patching *p, size_t ndocs)
{
	size_t	i;

	for (i = 0; i < p->n; i++) {
		free(p->nodes[i]);
		if (p->overrides != NULL)
			cJSON_Delete(p->overrides[i]);
	}
	for (i = 0; i < ndocs; i++)
		control_doc_free(&p->docs[i]);
	free(p->nodes);
	free(p->overrides);
	free(p->docs);
}

/* Compute each node's new overrides and document; -1 if one is too big. */
static int
control_patch_prepare(struct control_patching *p, const cJSON *patch,
    size_t *ndocs, char **cause)
{
	struct control_rec	*r;
	size_t			 i;

	if (p->n == 0)
		return (0);
	p->overrides = xcalloc(p->n, sizeof *p->overrides);
	p->docs = xcalloc(p->n, sizeof *p->docs);
	for (i = 0; i < p->n; i++) {
		r = control_find(p->nodes[i]);
		p->overrides[i] = r != NULL ? cJSON_Duplicate(r->overrides, 1) :
		    control_obj();
		control_merge_patch(&p->overrides[i], patch);
		control_compute(control_config(), p->nodes[i], p->overrides[i], &p->docs[i]);
		*ndocs = i + 1;
		if (p->docs[i].settings_len > CONFIG_NODE_SETTINGS_MAX) {
			xasprintf(cause, "the settings of %.64s would take %zu "
			    "bytes as JSON, more than %d", p->nodes[i],
			    p->docs[i].settings_len, CONFIG_NODE_SETTINGS_MAX);
			return (-1);
		}
	}
	return (0);
}

/* Is the overrides object a different from b? */
static int
control_overrides_differ(const cJSON *a, const cJSON *b)
{
	char	*ta = control_print(a), *tb = control_print(b);
	int	 d = strcmp(ta, tb) != 0;

	free(ta);
	free(tb);
	return (d);
}

/* Give each node its new overrides and document, listing them in out. */
static int
control_patch_commit(struct control_patching *p, cJSON *out, char **cause)
{
	struct control_rec	*r;
	cJSON			*o;
	size_t			 i, fresh = 0;
	int			 dirty, failed = 0;

	for (i = 0; i < p->n; i++) {
		if ((r = control_find(p->nodes[i])) != NULL)
			r->busy = 1;
		else
			fresh++;
	}
	control_make_room(fresh);
	for (i = 0; i < p->n; i++) {
		r = control_get(p->nodes[i], 1);
		r->busy = 1;
		dirty = control_overrides_differ(r->overrides, p->overrides[i]);
		cJSON_Delete(r->overrides);
		r->overrides = p->overrides[i];
		p->overrides[i] = NULL;
		if (control_apply(r, &p->docs[i], dirty) == -1)
			failed = 1;
		o = control_obj();
		cJSON_AddStringToObject(o, "node", r->node);
		cJSON_AddNumberToObject(o, "rev", r->rev);
		cJSON_AddItemToArray(out, o);
	}
	for (i = 0; i < p->n; i++) {
		if ((r = control_find(p->nodes[i])) != NULL)
			r->busy = 0;
	}
	/* The overrides are durable before the command's result goes. */
	store_flush();
	if (failed) {
		xasprintf(cause, "store refuses writes");
		return (-1);
	}
	return (0);
}

/*
 * Apply merge patch to the overrides of every known node matching glob;
 * out (a JSON array) gets {"node", "rev"} for each.  A bad patch, one
 * that would make a document too large, or a store refusing writes
 * changes nothing and gives -1 with a cause.
 */
int
control_patch(const char *glob, const cJSON *patch, cJSON *out,
    char **cause)
{
	struct control_patching	 p;
	struct store_stats	 st;
	size_t			 ndocs = 0;
	int			 rc;

	if (control_patch_check(patch, cause) != 0)
		return (-1);
	if (!control_running()) {
		xasprintf(cause, "node settings are not running");
		return (-1);
	}
	memset(&p, 0, sizeof p);
	p.glob = glob;
	nodes_foreach(control_patch_match, &p);
	if (control_patch_prepare(&p, patch, &ndocs, cause) != 0) {
		control_patching_free(&p, ndocs);
		return (-1);
	}
	store_stats(&st);
	if (st.refusing) {
		xasprintf(cause, "store refuses writes");
		control_patching_free(&p, ndocs);
		return (-1);
	}
	rc = control_patch_commit(&p, out, cause);
	control_patching_free(&p, ndocs);
	/* An assignment may have moved off a version: old ones may go. */
	if (rc == 0)
		models_gc();
	return (rc);
}

