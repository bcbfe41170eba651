/*
 * command.c - commands from the operator over MQTT (SPEC section 9.2): run
 * each id once and publish its one result.
 *
 * The uplink hands every message of P/cmd/# to command_handle() on the
 * loop thread.  command_parse.c reads it; a bad one changes nothing and
 * gets ok:false.  A good one runs: config patches node settings
 * (control.c), reload is SIGHUP (daemon.c), learn restarts a node's
 * learning (learn.c), at once; model stores a node
 * model (models.c) and tier2 swaps a second-tier model (tier2.c), both in
 * the libuv pool, answering later.
 *
 * Every result goes out through the store's outbox (QoS 1, not retained) on
 * results/ID, and is kept in the store's state table ("cmd/r/ID", with
 * "cmd/o/SEQ" -> ID giving the order) in the same transaction, so a
 * redelivered or resent id gets the very same result again and is not run
 * twice; only the last COMMAND_KEEP are kept.  An id whose asynchronous run
 * is still going is not started again: its one result comes when it
 * ends.  At most COMMAND_RUNNING_MAX runs go at once; one more gets
 * ok:false "busy", which is not kept, so sending it again later runs
 * it.  Results of ids that could not be read go to results/_invalid and are
 * not kept (there is no id to find them by).
 *
 * While the store refuses writes (disk full, I/O errors) a command is not
 * run: it gets ok:false "store refuses writes" published directly (not
 * through the outbox, which cannot take it), and is not kept, so sending
 * it again later runs it.
 */
#include <cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "command_int.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "learn.h"
#include "log.h"
#include "models.h"
#include "store.h"
#include "tier2.h"
#include "uplink.h"
#include "xmalloc.h"

#define COMMAND_ERR_MAX		256

/* One id in the order it was kept (a ring of the last COMMAND_KEEP). */
struct command_kept {
	uint64_t	seq;
	char		id[COMMAND_RID_MAX + 1];
};

/* A model or tier2 run waiting for its callback. */
struct command_run {
	uint64_t		 token;
	enum command_verb	 verb;
	char			 id[COMMAND_RID_MAX + 1];
	struct command_run	*next;
};

/* A result waiting for the commit of what it reports. */
struct command_held {
	char			*id;
	char			*json;
	struct command_held	*next;
};

static struct {
	int			 started;
	struct command_held	*held, **held_tail;
	size_t			 nheld;
	size_t			 max;	/* mqtt.command_max */
	struct command_kept	*kept;	/* ring, oldest at head */
	size_t			 head, nkept;
	uint64_t		 seq;		/* next order number */
	struct command_run	*runs;
	size_t			 nruns;
	uint64_t		 token;
} cmd;

static void	command_release(int);

/* store_state_scan callback: add one "cmd/o/SEQ" -> ID row to the ring. */
static void
command_load_cb(const char *key, const void *val, size_t len, void *arg)
{
	struct command_kept	*k;
	uint64_t		 seq;
	char			*end;

	(void)arg;
	seq = strtoull(key + 6, &end, 10);
	if (*end != '\0' || len == 0 || len > COMMAND_RID_MAX ||
	    cmd.nkept == COMMAND_KEEP)
		return;
	k = &cmd.kept[(cmd.head + cmd.nkept++) % COMMAND_KEEP];
	k->seq = seq;
	memcpy(k->id, val, len);
	k->id[len] = '\0';
	if (seq >= cmd.seq)
		cmd.seq = seq + 1;
}

/* Remember the handler's settings; load the order of the kept results. */
int
command_start(const struct config *cf, char **cause)
{
	command_stop();
	memset(&cmd, 0, sizeof cmd);
	cmd.kept = xcalloc(COMMAND_KEEP, sizeof *cmd.kept);
	cmd.max = (size_t)config_bytes(cf, "mqtt", "command_max");
	/* Keys sort by the zero-padded SEQ: oldest first. */
	if (store_state_scan("cmd/o/", command_load_cb, NULL) != 0) {
		xasprintf(cause, "commands: cannot read the kept results");
		free(cmd.kept);
		cmd.kept = NULL;
		return (-1);
	}
	cmd.started = 1;
	uplink_set_message_handler(command_handle);
	log_info("command: %s, %zu results kept, command_max %zu",
	    config_bool(cf, "mqtt", "commands") ? "on" : "off", cmd.nkept,
	    cmd.max);
	return (0);
}

/* SIGHUP: command_max may change. */
void
command_reload(const struct config *cf)
{
	if (cmd.started)
		cmd.max = (size_t)config_bytes(cf, "mqtt", "command_max");
}

/* Stop taking commands; runs still going will find no record and end. */
void
command_stop(void)
{
	struct command_run	*r;

	if (!cmd.started)
		return;
	uplink_set_message_handler(NULL);
	/* The store stops later and commits what is open with these. */
	command_release(1);
	while ((r = cmd.runs) != NULL) {
		cmd.runs = r->next;
		free(r);
	}
	free(cmd.kept);
	memset(&cmd, 0, sizeof cmd);
}

/* store_state_scan callback: copy the record whose key is exactly arg's. */
static void
command_get_cb(const char *key, const void *val, size_t len, void *arg)
{
	char	**out = arg;

	if (strcmp(key, out[0]) != 0 || out[1] != NULL)
		return;
	out[1] = xmalloc(len + 1);
	memcpy(out[1], val, len);
	out[1][len] = '\0';
}

/* The kept result of id, or NULL (caller frees). */
static char *
command_kept_result(const char *id)
{
	char	*want[2];

	xasprintf(&want[0], "cmd/r/%s", id);
	want[1] = NULL;
	store_state_scan(want[0], command_get_cb, want);
	free(want[0]);
	return (want[1]);
}

/* Keep a result under its id, forgetting the oldest beyond COMMAND_KEEP. */
static void
command_keep(const char *id, const char *json)
{
	struct command_kept	*k;
	char			 key[32 + COMMAND_RID_MAX];

	if (cmd.nkept == COMMAND_KEEP) {
		k = &cmd.kept[cmd.head];
		snprintf(key, sizeof key, "cmd/r/%s", k->id);
		store_state_delete(key);
		snprintf(key, sizeof key, "cmd/o/%020" PRIu64, k->seq);
		store_state_delete(key);
		cmd.head = (cmd.head + 1) % COMMAND_KEEP;
		cmd.nkept--;
	}
	snprintf(key, sizeof key, "cmd/r/%s", id);
	if (store_state_set(key, json, strlen(json)) != 0)
		return;
	k = &cmd.kept[(cmd.head + cmd.nkept) % COMMAND_KEEP];
	k->seq = cmd.seq++;
	snprintf(k->id, sizeof k->id, "%s", id);
	snprintf(key, sizeof key, "cmd/o/%020" PRIu64, k->seq);
	if (store_state_set(key, id, strlen(id)) != 0) {
		/* Without its order row it would never be forgotten. */
		snprintf(key, sizeof key, "cmd/r/%s", id);
		store_state_delete(key);
		return;
	}
	cmd.nkept++;
}

/* Publish a result now, not through the outbox (the store refuses). */
static void
command_send_now(const char *id, const char *json)
{
	char	*topic;

	xasprintf(&topic, "%s/results/%s", uplink_prefix() ? uplink_prefix() :
	    "", id);
	if (uplink_publish_now(topic, json, strlen(json), 1, 0) != 0)
		log_warnx("command: %s: not connected, result lost", topic);
	free(topic);
}

/*
 * Put the held results into the outbox once nothing written before them
 * is uncommitted (all: at stop, whatever the store's state).  The uplink
 * may publish outbox rows of the open transaction, so a result added at
 * once could leave before the change it reports is durable: the store
 * defers commits while a checkpoint runs.
 */
static void
command_release(int all)
{
	struct command_held	*h;
	char			*topic;
	int			 rc;

	if (!all && store_uncommitted())
		return;
	while ((h = cmd.held) != NULL) {
		if ((cmd.held = h->next) == NULL)
			cmd.held_tail = &cmd.held;
		cmd.nheld--;
		rc = -1;
		if (store_accepting()) {
			xasprintf(&topic, "results/%s", h->id);
			rc = store_outbox_add(topic, h->json, strlen(h->json),
			    STORE_CLASS_EVENT, 0, NULL, NULL);
			free(topic);
		}
		if (rc != 0)
			command_send_now(h->id, h->json);
		free(h->id);
		free(h->json);
		free(h);
	}
}

/*
 * Publish a result: after the commit of what it reports, or at once if the
 * store refuses writes.
 */
static void
command_send(const char *id, const char *json)
{
	struct command_held	*h;

	if (!store_accepting()) {
		command_send_now(id, json);
		return;
	}
	h = xcalloc(1, sizeof *h);
	h->id = xstrdup(id);
	h->json = xstrdup(json);
	if (cmd.held_tail == NULL)
		cmd.held_tail = &cmd.held;
	*cmd.held_tail = h;
	cmd.held_tail = &h->next;
	cmd.nheld++;
	store_flush();
	/* A long checkpoint: do not hold more than a bound. */
	command_release(cmd.nheld > COMMAND_HELD_MAX);
}

/* Housekeeping: results held while a checkpoint deferred the commit. */
void
command_check(uint64_t now)
{
	(void)now;
	if (cmd.started && cmd.held != NULL) {
		store_flush();
		command_release(0);
	}
}

/*
 * The one result of a command: log it, keep it (if keep, the id readable
 * and the store willing) and publish it.  o is consumed; error NULL: ok.
 */
static void
command_result(enum command_verb verb, const char *id, const char *topic,
    cJSON *o, const char *error, int keep)
{
	cJSON	*r = cJSON_CreateObject(), *c;
	char	*json, eid[2 * COMMAND_RID_MAX], etopic[160], eerr[320];
	int	 invalid = *id == '\0';

	/* "id", "ok" and "error" first, then what the verb adds. */
	cJSON_AddStringToObject(r, "id", invalid ? COMMAND_INVALID : id);
	cJSON_AddBoolToObject(r, "ok", error == NULL);
	if (error != NULL)
		cJSON_AddStringToObject(r, "error", error);
	if (invalid) {
		/* The full topic, as the operator published it. */
		xasprintf(&json, "%s/%s", uplink_prefix() ? uplink_prefix() :
		    "", topic);
		cJSON_AddStringToObject(r, "topic", json);
		free(json);
	}
	while ((c = o->child) != NULL)
		cJSON_AddItemToObject(r, c->string,
		    cJSON_DetachItemViaPointer(o, c));
	cJSON_Delete(o);
	json = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	if (json == NULL)
		fatalx("command: cJSON_PrintUnformatted: out of memory");
	log_escape(eid, sizeof eid, id, strlen(id));
	log_escape(etopic, sizeof etopic, topic, strlen(topic));
	if (error != NULL)
		log_escape(eerr, sizeof eerr, error, strlen(error));
	log_info("command: %s %s: %s%s", command_verb_name(verb),
	    invalid ? etopic : eid, error ? "failed: " : "ok",
	    error ? eerr : "");
	if (keep && !invalid && store_accepting())
		command_keep(id, json);
	command_send(invalid ? COMMAND_INVALID : id, json);
	free(json);
}

/* The one result of a command, kept. */
static void
command_finish(enum command_verb verb, const char *id, const char *topic,
    cJSON *o, const char *error)
{
	command_result(verb, id, topic, o, error, 1);
}

/* The run with this token (unlinked), or NULL if stopped meanwhile. */
static struct command_run *
command_run_take(uint64_t token)
{
	struct command_run	**rp, *r;

	for (rp = &cmd.runs; (r = *rp) != NULL; rp = &r->next) {
		if (r->token == token) {
			*rp = r->next;
			cmd.nruns--;
			return (r);
		}
	}
	return (NULL);
}

/* Is id running now? */
static int
command_running(const char *id)
{
	struct command_run	*r;

	for (r = cmd.runs; r != NULL; r = r->next)
		if (strcmp(r->id, id) == 0)
			return (1);
	return (0);
}

/* models_put finished. */
static void
command_model_cb(int ok, const struct models_info *mi, const char *cause,
    void *arg)
{
	struct command_run	*r;
	cJSON			*o = cJSON_CreateObject();

	if ((r = command_run_take((uint64_t)(uintptr_t)arg)) == NULL) {
		cJSON_Delete(o);
		return;
	}
	if (ok) {
		cJSON_AddStringToObject(o, "sha256", mi->sha256);
		cJSON_AddNumberToObject(o, "size", (double)mi->size);
	}
	/* A failure changed nothing and may pass (I/O, busy): not kept. */
	command_result(r->verb, r->id, "", o, ok ? NULL :
	    cause ? cause : "failed", ok);
	free(r);
}

/* tier2_replace finished. */
static void
command_tier2_cb(int ok, const char *cause, void *arg)
{
	struct command_run	*r;

	if ((r = command_run_take((uint64_t)(uintptr_t)arg)) == NULL)
		return;
	command_result(r->verb, r->id, "", cJSON_CreateObject(), ok ? NULL :
	    cause ? cause : "failed", ok);
	free(r);
}

/* Start a model or tier2 run; its result comes from the callback. */
static void
command_run_async(const struct command_req *q, const char *topic)
{
	struct command_run	*r;
	char			*cause = NULL, err[64];
	void			*arg;
	int			 rc;

	if (cmd.nruns >= COMMAND_RUNNING_MAX) {
		snprintf(err, sizeof err, "busy (%d commands running), try "
		    "again", COMMAND_RUNNING_MAX);
		/* Not kept: the same id sent again later runs. */
		command_result(q->verb, q->id, topic, cJSON_CreateObject(),
		    err, 0);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->token = ++cmd.token;
	r->verb = q->verb;
	snprintf(r->id, sizeof r->id, "%s", q->id);
	/* Linked first: a callback may come before the call returns. */
	r->next = cmd.runs;
	cmd.runs = r;
	cmd.nruns++;
	arg = (void *)(uintptr_t)r->token;
	if (q->verb == COMMAND_MODEL)
		rc = models_put(q->arg, q->version, q->data, q->len,
		    command_model_cb, arg, &cause);
	else
		rc = tier2_replace(q->arg, q->data, q->len, command_tier2_cb,
		    arg, &cause);
	if (rc != 0 && (r = command_run_take((uint64_t)(uintptr_t)arg)) !=
	    NULL) {
		command_result(q->verb, q->id, topic, cJSON_CreateObject(),
		    cause ? cause : "failed", 0);
		free(r);
	}
	free(cause);
}

/* Run config or reload at once and finish it. */
static void
command_run_now(const struct command_req *q, const char *topic)
{
	cJSON	*o = cJSON_CreateObject(), *nodes;
	char	*cause = NULL;
	int	 rc;

	if (q->verb == COMMAND_CONFIG) {
		nodes = cJSON_CreateArray();
		rc = control_patch(q->arg, q->set, nodes, &cause);
		if (rc == 0)
			cJSON_AddItemToObject(o, "nodes", nodes);
		else
			cJSON_Delete(nodes);
	} else if (q->verb == COMMAND_LEARN) {
		if ((rc = learn_restart(q->arg, q->node, &cause)) == 0)
			cJSON_AddStringToObject(o, "state", "collecting");
	} else
		rc = daemon_reload(&cause);
	command_finish(q->verb, q->id, topic, o, rc == 0 ? NULL :
	    cause ? cause : "failed");
	free(cause);
}

/*
 * A message of P/cmd/# (topic relative to the prefix), on the loop: a
 * command to answer exactly once.  data NULL with len a marker of uplink.h:
 * too large (answered, kept), or dropped in a burst (answered "busy", not
 * kept, so sending it again runs it).
 */
void
command_handle(const char *topic, const void *data, size_t len)
{
	struct command_req	 q;
	char			 err[COMMAND_ERR_MAX], *kept;
	int			 rc, busy = len == UPLINK_MSG_DROPPED;

	if (!cmd.started)
		return;
	/* Without its bytes the topic alone may still name the id. */
	rc = command_parse(topic, busy ? NULL : data, busy ?
	    UPLINK_MSG_TOO_LARGE : len, cmd.max, &q, err, sizeof err);
	if (q.id[0] != '\0' && (kept = command_kept_result(q.id)) != NULL) {
		log_info("command: %s: id seen before, result sent again",
		    q.id);
		command_send(q.id, kept);
		free(kept);
	} else if (q.id[0] != '\0' && command_running(q.id))
		log_info("command: %s: still running, result to come", q.id);
	else if (!store_accepting())
		/* Nothing changes, but the operator hears why. */
		command_finish(q.verb, q.id, topic, cJSON_CreateObject(),
		    "store refuses writes");
	else if (busy)
		command_result(q.verb, q.id, topic, cJSON_CreateObject(),
		    "busy: too many commands at once, send it again", 0);
	else if (rc != 0)
		command_finish(q.verb, q.id, topic, cJSON_CreateObject(), err);
	else if (q.verb == COMMAND_MODEL || q.verb == COMMAND_TIER2)
		command_run_async(&q, topic);
	else
		command_run_now(&q, topic);
	command_req_free(&q);
}
