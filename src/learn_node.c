/*
 * learn_node.c - one learned node's outward side: its status record in the
 * store, its retained P/learn/{NAME}/{node} document, its model loaded
 * into the runtime and served as node model learn-NAME-{node} (models.h).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "learn_int.h"
#include "log.h"
#include "metrics.h"
#include "models.h"
#include "store.h"
#include "xmalloc.h"

/* The P/learn document of a node (caller frees). */
char *
learn_doc(const struct learn_node *nd)
{
	cJSON	*o = cJSON_CreateObject(), *r;
	char	 id[48], *s;

	metrics_new_id(id, sizeof id);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "state", learn_state_name(nd->state));
	cJSON_AddNumberToObject(o, "windows", (double)nd->n);
	cJSON_AddNumberToObject(o, "target", (double)nd->s->windows);
	if (nd->state == LEARN_READY) {
		cJSON_AddNumberToObject(o, "threshold", nd->threshold);
		cJSON_AddNumberToObject(o, "model_bytes",
		    (double)nd->model_len);
		cJSON_AddStringToObject(o, "sha256", nd->sha256);
		cJSON_AddNumberToObject(o, "train_ms", (double)nd->train_ms);
		cJSON_AddNumberToObject(o, "agreement", nd->agreement);
		cJSON_AddNumberToObject(o, "max_error_diff", nd->max_diff);
		cJSON_AddBoolToObject(o, "served", nd->serve == 1);
	} else {
		cJSON_AddNullToObject(o, "threshold");
		cJSON_AddNullToObject(o, "model_bytes");
		cJSON_AddNullToObject(o, "sha256");
		cJSON_AddNullToObject(o, "train_ms");
	}
	if (nd->reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", nd->reason);
	r = cJSON_AddObjectToObject(o, "rejected");
	cJSON_AddNumberToObject(r, "shape", (double)nd->rej_shape);
	cJSON_AddNumberToObject(r, "bad", (double)nd->rej_bad);
	cJSON_AddNumberToObject(r, "full", (double)nd->rej_full);
	cJSON_AddNumberToObject(o, "features", nd->dim);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatalx("learn: out of memory");
	return (s);
}

/* Queue the retained P/learn/NAME/node (the outbox: durable). */
void
learn_publish(const struct learn_node *nd)
{
	char	topic[LEARN_KEY_MAX], *doc;

	snprintf(topic, sizeof topic, "learn/%s/%s", nd->s->name, nd->node);
	doc = learn_doc(nd);
	if (store_outbox_add(topic, doc, strlen(doc), STORE_CLASS_EVENT, 1,
	    NULL, NULL) != 0)
		log_warnx("learn %s: P/%s could not be queued", nd->s->name,
		    topic);
	free(doc);
}

/* Clear the retained P/learn/NAME/node (an empty retained message). */
void
learn_clear(const char *name, const char *node)
{
	char	topic[LEARN_KEY_MAX];

	snprintf(topic, sizeof topic, "learn/%s/%s", name, node);
	if (store_outbox_add(topic, "", 0, STORE_CLASS_EVENT, 1, NULL,
	    NULL) != 0)
		log_warnx("learn %s: P/%s could not be cleared", name, topic);
}

/* Write a node's status record (joins the open transaction). */
void
learn_save(const struct learn_node *nd)
{
	char	key[LEARN_KEY_MAX], *doc;

	learn_key(key, sizeof key, nd->s->name, nd->node, LEARN_REC_STATE, 0);
	doc = learn_state_encode(nd);
	if (store_state_set(key, doc, strlen(doc)) != 0)
		log_warnx("learn %s: %s: status not stored", nd->s->name,
		    nd->node);
	free(doc);
}

/*
 * models_put finished for a learned model; arg is its node's generation
 * (the node may have started over or gone meanwhile).  A model that
 * could not be stored is not served: P/learn says so.
 */
static void
learn_put_cb(int ok, const struct models_info *info, const char *cause,
    void *arg)
{
	struct learn_node	*nd = learn_node_gen((uint64_t)(uintptr_t)arg);

	if (ok) {
		log_info("learn: node model %s@%s stored (%zu bytes)",
		    info->name, info->version, info->size);
		return;
	}
	log_warnx("learn: node model not stored: %s", cause);
	if (nd != NULL && nd->state == LEARN_READY && nd->serve == 1) {
		nd->serve = 0;
		learn_publish(nd);
	}
}

/* Serve a ready node's model as node model learn-NAME-node. */
void
learn_serve(struct learn_node *nd)
{
	char	name[160], version[17], *cause = NULL;

	snprintf(name, sizeof name, "learn-%s-%s", nd->s->name, nd->node);
	if (!models_valid_name(name)) {
		if (nd->serve != -1)
			log_warnx("learn %s: %s: not served: node model name "
			    "%s is longer than %d", nd->s->name, nd->node, name,
			    MODELS_NAME_MAX);
		nd->serve = -1;
		return;
	}
	snprintf(version, sizeof version, "%.16s", nd->sha256);
	if (models_put(name, version, nd->model, nd->model_len, learn_put_cb,
	    (void *)(uintptr_t)nd->gen, &cause) != 0) {
		log_warnx("learn %s: node model %s: %s", nd->s->name, name,
		    cause);
		free(cause);
		nd->serve = 0;
		return;
	}
	nd->serve = 1;
}

/*
 * A node starts over or goes: its node model learn-NAME-node is no longer
 * served and its files are deleted (in the pool, models_delete()).
 */
void
learn_unserve(const char *name, const char *node)
{
	char	model[160];

	snprintf(model, sizeof model, "learn-%s-%s", name, node);
	if (models_valid_name(model))
		models_delete(model);
}

/* Load a ready node's model (and its metadata entry) into the runtime. */
int
learn_load_model(struct learn_node *nd, char **cause)
{
	const struct ae_meta	*m;

	ae_runner_free(nd->run);
	nd->run = NULL;
	if (nd->model == NULL) {
		xasprintf(cause, "no model");
		return (-1);
	}
	if (ae_runner_open(nd->model, nd->model_len, &nd->run, cause) != 0)
		return (-1);
	m = ae_runner_meta(nd->run);
	if (m->dim != nd->dim || !(m->threshold >= 0)) {
		xasprintf(cause, "the model is for %u features, windows have "
		    "%u", m->dim, nd->dim);
		ae_runner_free(nd->run);
		nd->run = NULL;
		return (-1);
	}
	nd->threshold = m->threshold;
	return (0);
}
