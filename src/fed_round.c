/*
 * fed_round.c - closing a federated round (SPEC 10): the stored updates
 * aggregated (fl_agg_*, on the loop: heads are small), the validation
 * gate, the model with the new head written in the libuv pool (temporary
 * file, fdatasync, rename, directory sync), then on the loop one
 * transaction that opens the next round and queues the retained
 * P/fl/NAME, and the new model stored as node model NAME@rROUND.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "fed.h"
#include "fed_int.h"
#include "learn/fl.h"
#include "log.h"
#include "metrics.h"
#include "models.h"
#include "models_file.h"
#include "store.h"
#include "xmalloc.h"

#define FED_RETRY_MS	10000	/* a failed close is tried again after */

/* store_state_scan at a close: add each update to the aggregate. */
static void
fed_agg_cb(const char *key, const void *val, size_t len, void *arg)
{
	struct fed_close	*c = arg;
	struct fed		*f = c->f;
	struct fl_update	 u;
	char			*cause = NULL;

	c->keys = xreallocarray(c->keys, c->nkeys + 1, sizeof *c->keys);
	c->keys[c->nkeys++] = xstrdup(key);
	if (fl_update_parse(val, len, f->head.rows, f->head.cols, &u,
	    &cause) != 0 || u.round != f->round ||
	    memcmp(u.base, f->base, sizeof f->base) != 0 ||
	    fl_agg_add(c->agg, &u) != 0) {
		log_warnx("fl %s: %s: skipped: %s", f->name, key, cause != NULL ?
		    cause : "not of this round");
		free(cause);
	}
}

/* Free a close. */
static void
fed_close_free(struct fed_close *c)
{
	size_t	i;

	for (i = 0; i < c->nkeys; i++)
		free(c->keys[i]);
	free(c->keys);
	fl_head_free(&c->head);
	free(c->out);
	free(c->dir);
	free(c->ndir);
	free(c->path);
	free(c);
}

/* The P/fl/NAME message of a close: the new round, the closed one's counts. */
void
fed_publish(const struct fed *f, const struct fed_close *c,
    uint64_t accepted, uint64_t rejected)
{
	cJSON	*o;
	char	 id[48], topic[MODELS_NAME_MAX + 8], *text;

	metrics_new_id(id, sizeof id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "round", f->round);
	cJSON_AddNumberToObject(o, "clients", c->clients);
	cJSON_AddNumberToObject(o, "samples", (double)c->samples);
	cJSON_AddNumberToObject(o, "accepted", (double)accepted);
	cJSON_AddNumberToObject(o, "rejected", (double)rejected);
	cJSON_AddStringToObject(o, "base", f->basehex);
	if (c->before >= 0) {
		cJSON_AddNumberToObject(o, "val_acc_before", c->before);
		cJSON_AddNumberToObject(o, "val_acc_after", c->after);
	} else {
		cJSON_AddNullToObject(o, "val_acc_before");
		cJSON_AddNullToObject(o, "val_acc_after");
	}
	cJSON_AddStringToObject(o, "outcome", c->applied ? "applied" :
	    "rejected");
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(topic, sizeof topic, "fl/%s", f->name);
	if (store_outbox_add(topic, text, strlen(text), STORE_CLASS_EVENT, 1,
	    NULL, NULL) != 0)
		log_warnx("fl %s: P/%s could not be queued", f->name, topic);
	cJSON_free(text);
}

/* models_put finished for the new model. */
static void
fed_model_put_cb(int ok, const struct models_info *info, const char *cause,
    void *arg)
{
	(void)arg;
	if (ok)
		log_info("fl: node model %s@%s stored", info->name,
		    info->version);
	else
		log_warnx("fl: node model not stored: %s", cause);
}

/* Publish f's model as node model NAME@rROUND (unless it is there). */
void
fed_model_put(const struct fed *f)
{
	struct models_info	 info;
	char			 version[16], *cause = NULL;

	snprintf(version, sizeof version, "r%" PRIu32, f->round);
	if (models_find(f->name, version, &info) == 0)
		return;
	if (models_put(f->name, version, f->model, f->modellen,
	    fed_model_put_cb, NULL, &cause) != 0) {
		log_warnx("fl %s: node model %s: %s", f->name, version, cause);
		free(cause);
	}
}

/* Open the next round after a close: one transaction, then publish. */
static void
fed_next_round(struct fed *f, struct fed_close *c)
{
	uint64_t	accepted = f->accepted, rejected = f->rejected;
	size_t		i;

	if (c->applied)
		fed_set_head(f, &c->head, c->out, c->outlen);
	if (c->applied)
		c->out = NULL;
	f->round++;
	f->m_rounds++;
	f->deadline_ms = daemon_now_ms() + config_ms(fed_cf(), f->sect,
	    "round_timeout");
	f->accepted = f->rejected = 0;
	fed_clients_clear(f);
	for (i = 0; i < c->nkeys; i++)
		store_state_delete(c->keys[i]);
	fed_state_save(f);
	fed_publish(f, c, accepted, rejected);
	store_flush();
	log_info("fl %s: round %" PRIu32 " closed (%" PRIu32 " clients, %"
	    PRIu64 " samples, %s); round %" PRIu32 " opens on %.12s", f->name,
	    f->round - 1, c->clients, c->samples, c->applied ? "applied" :
	    "rejected by validation", f->round, f->basehex);
	if (c->applied)
		fed_model_put(f);
	fed_changed(f);
}

/* Pool: write the model with the new head atomically. */
static void
fed_write_work(uv_work_t *req)
{
	struct fed_close	*c = req->data;
	uint64_t		 mtime;

	c->rc = models_file_write(c->dir, c->ndir, c->path, c->out, c->outlen,
	    0, &mtime);
	c->err = errno;
}

/* Loop: the model is on disk (or not): open the next round. */
static void
fed_write_done(uv_work_t *req, int status)
{
	struct fed_close	*c = req->data;
	struct fed		*f = c->f;

	f->closing = 0;
	if (f->dead) {
		fed_free(f);
		fed_close_free(c);
		return;
	}
	if (status != 0 || c->rc != 0) {
		log_warnx("fl %s: %s: %s; round %" PRIu32 " stays open", f->name,
		    c->path, status != 0 ? uv_strerror(status) :
		    strerror(c->err), f->round);
		f->retry_ms = daemon_now_ms() + FED_RETRY_MS;
	} else
		fed_next_round(f, c);
	fed_close_free(c);
}

/* The gate: is the new head's accuracy within max_regression? */
static void
fed_gate(struct fed *f, struct fed_close *c)
{
	c->before = c->after = -1;
	c->applied = 1;
	if (!f->has_val)
		return;
	c->before = fl_val_accuracy(&f->head, &f->val);
	c->after = fl_val_accuracy(&c->head, &f->val);
	if (c->before - c->after > config_double(fed_cf(), f->sect,
	    "max_regression"))
		c->applied = 0;
}

/*
 * Close the round of f: aggregate the stored updates, gate, and write the
 * new model in the pool (a rejected round opens the next one at once).
 */
void
fed_close(struct fed *f)
{
	struct fed_close	*c = xcalloc(1, sizeof *c);
	struct fl_agg		*agg;
	char			 key[128], *cause = NULL;

	c->f = f;
	agg = fl_agg_new(f->head.rows, f->head.cols, config_double(fed_cf(),
	    f->sect, "clip_norm"), (double)config_int(fed_cf(), f->sect,
	    "max_weight"));
	c->agg = agg;
	fed_key(f, "u/", key, sizeof key);
	if (store_state_scan(key, fed_agg_cb, c) != 0) {
		fl_agg_free(agg);
		agg = NULL;
	}
	c->agg = NULL;
	if (agg == NULL || fl_agg_count(agg) == 0 ||
	    fl_agg_apply(agg, &f->head, &c->head) != 0) {
		log_warnx("fl %s: round %" PRIu32 ": nothing to aggregate",
		    f->name, f->round);
		if (agg != NULL)
			fl_agg_free(agg);
		f->retry_ms = daemon_now_ms() + FED_RETRY_MS;
		fed_close_free(c);
		return;
	}
	c->clients = fl_agg_count(agg);
	c->samples = fl_agg_samples(agg);
	fl_agg_free(agg);
	fed_gate(f, c);
	if (!c->applied) {
		fed_next_round(f, c);
		fed_close_free(c);
		return;
	}
	if (fl_head_write(f->model, f->modellen, &c->head, &c->out,
	    &c->outlen, &cause) != 0) {
		log_warnx("fl %s: the new head cannot be written: %s", f->name,
		    cause);
		free(cause);
		f->retry_ms = daemon_now_ms() + FED_RETRY_MS;
		fed_close_free(c);
		return;
	}
	c->path = fed_path(f, &c->dir, &c->ndir);
	c->req.data = c;
	f->closing = 1;
	uv_queue_work(daemon_loop(), &c->req, fed_write_work, fed_write_done);
}

