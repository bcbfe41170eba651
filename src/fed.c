/*
 * fed.c - federated rounds per [federated:NAME] section (SPEC section 10).
 *
 * At start each section reads its model: data_dir/fl/NAME.tflite when a
 * round has ever been applied (the newest head), else the configured
 * model, which is only ever the starting point and never written.  Its
 * last FULLY_CONNECTED layer is the head; "base" is the sha256 of the
 * head serialized (fl_head_serialize).  The open round lives in the store:
 * "fed/NAME/state" (round, deadline, counts, base) and one record per node
 * "fed/NAME/u/NODE" holding the update as received, so a restarted daemon
 * continues the open round with every update it acknowledged.  An update
 * is answered 2.04 only after store_flush() committed it: a SQLite commit
 * (WAL, synchronous = NORMAL), which survives kill -9 of the daemon but,
 * unlike the journal's fdatasync with store.sync = full, not a power cut.
 *
 * A round closes when target_clients updates are in, or at its deadline
 * with min_clients; a deadline without enough is moved by round_timeout
 * (logged, observers notified).  Closing aggregates on the loop (heads are
 * small), runs the validation gate, and writes the model with the new head
 * in the libuv pool (temporary file, fdatasync, rename, directory sync);
 * back on the loop, one transaction opens the next round (round + 1, new
 * base, updates deleted) and queues the retained P/fl/NAME.  A crash
 * between the rename and that commit leaves a file whose head is not the
 * stored base: the start then finishes the close (the aggregation is
 * deterministic, the file is its result).  A round the gate rejects keeps
 * the head; its number still grows.  The new model is also node model
 * NAME, version rROUND (models.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <float.h>
#include <fnmatch.h>
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
#include "parse.h"
#include "store.h"
#include "xmalloc.h"

#define FED_FILE_MAX	(64 * 1024 * 1024)	/* model or validation file */
#define FED_NODE_MAX	64

static struct {
	const struct config	*cf;
	struct fed		**f;
	size_t			 n;
	fed_notify_cb		 notify;
} fed;

static void	fed_due(struct fed *, uint64_t);

/* The section of name, or NULL. */
static struct fed *
fed_find(const char *name)
{
	size_t	i;

	for (i = 0; i < fed.n; i++) {
		if (strcmp(fed.f[i]->name, name) == 0)
			return (fed.f[i]);
	}
	return (NULL);
}

/* A key of this section's store records: "fed/NAME/" then suffix. */
void
fed_key(const struct fed *f, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "fed/%s/%s", f->name, suffix);
}

/* Tell the observers of f's document. */
void
fed_changed(const struct fed *f)
{
	if (fed.notify != NULL)
		fed.notify(f->name);
}

/* Write the state record (joins the open transaction). */
int
fed_state_save(const struct fed *f)
{
	char	key[128], val[160];
	int	n;

	fed_key(f, "state", key, sizeof key);
	n = snprintf(val, sizeof val, "%" PRIu32 " %" PRIu64 " %" PRIu64 " %"
	    PRIu64 " %s", f->round, f->deadline_ms, f->accepted, f->rejected,
	    f->basehex);
	return (store_state_set(key, val, (size_t)n));
}

/* Commit now; 0 only if the commit happened (a checkpoint may defer it). */
static int
fed_commit(void)
{
	store_flush();
	return (store_uncommitted() ? -1 : 0);
}

/* Make head (moved in) the current head of f, with model (moved in). */
void
fed_set_head(struct fed *f, struct fl_head *head, uint8_t *model, size_t len)
{
	size_t	n;

	fl_head_free(&f->head);
	f->head = *head;
	memset(head, 0, sizeof *head);
	if (model != NULL) {
		free(f->model);
		f->model = model;
		f->modellen = len;
	}
	free(f->headbuf);
	f->headlen = fl_head_size(&f->head);
	f->headbuf = xmalloc(f->headlen);
	fl_head_serialize(&f->head, f->headbuf);
	models_sha256(f->headbuf, f->headlen, f->basehex);
	if (parse_hex(f->basehex, f->base, sizeof f->base, &n) != 0)
		fatalx("fed: sha256 hex");
}

/* Is node among the round's clients? */
static ssize_t
fed_client_find(const struct fed *f, const char *node)
{
	size_t	i;

	for (i = 0; i < f->nclients; i++) {
		if (strcmp(f->clients[i], node) == 0)
			return ((ssize_t)i);
	}
	return (-1);
}

/* Forget the round's clients. */
void
fed_clients_clear(struct fed *f)
{
	size_t	i;

	for (i = 0; i < f->nclients; i++)
		free(f->clients[i]);
	free(f->clients);
	f->clients = NULL;
	f->nclients = 0;
}

/* Add node to the round's clients (once). */
static void
fed_client_add(struct fed *f, const char *node)
{
	if (fed_client_find(f, node) >= 0)
		return;
	f->clients = xreallocarray(f->clients, f->nclients + 1,
	    sizeof *f->clients);
	f->clients[f->nclients++] = xstrdup(node);
}

/* Free a section. */
void
fed_free(struct fed *f)
{
	fed_clients_clear(f);
	fl_head_free(&f->head);
	if (f->has_val)
		fl_val_free(&f->val);
	free(f->headbuf);
	free(f->model);
	free(f->sect);
	free(f);
}

/* Read a file whole (start-up only: it may block). */
static int
fed_read(const char *path, uint8_t **out, size_t *len, char **cause)
{
	if (models_file_read(path, FED_FILE_MAX, out, len) != 0) {
		xasprintf(cause, "%s: %s", path, errno == EFBIG ? "too large" :
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Path of the newest model of f: data_dir/fl/NAME.tflite. */
char *
fed_path(const struct fed *f, char **dir, char **ndir)
{
	const char	*data = config_str(fed.cf, "gateway", "data_dir");
	char		*p;

	xasprintf(&p, "%s/fl/%s.tflite", data, f->name);
	if (dir != NULL)
		*dir = xstrdup(data);
	if (ndir != NULL)
		xasprintf(ndir, "%s/fl", data);
	return (p);
}

/* Load the model and the validation file of f. */
static int
fed_load(struct fed *f, char **cause)
{
	struct fl_head	 head;
	struct stat	 sb;
	const char	*path, *vpath;
	char		*newest, *c = NULL;
	uint8_t		*buf;
	size_t		 len;
	int		 rc;

	newest = fed_path(f, NULL, NULL);
	path = stat(newest, &sb) == 0 ? newest : config_str(fed.cf, f->sect,
	    "model");
	rc = fed_read(path, &buf, &len, cause);
	if (rc == 0 && fl_head_extract(buf, len, &head, &c) != 0) {
		xasprintf(cause, "%s: %s", path, c);
		free(c);
		free(buf);
		rc = -1;
	}
	f->from_copy = path == newest;
	if (rc == 0) {
		log_info("fl %s: head %" PRIu32 "x%" PRIu32 " from %s", f->name,
		    head.rows, head.cols, path);
		fed_set_head(f, &head, buf, len);
	}
	free(newest);
	if (rc != 0)
		return (-1);
	vpath = config_str(fed.cf, f->sect, "validation");
	if (*vpath == '\0')
		return (0);
	if (fed_read(vpath, &buf, &len, cause) != 0)
		return (-1);
	rc = fl_val_parse(buf, len, f->head.rows, f->head.cols, &f->val, &c);
	free(buf);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", vpath, c);
		free(c);
		return (-1);
	}
	f->has_val = 1;
	return (0);
}

/* store_state_scan: the state record, "ROUND DEADLINE ACC REJ BASE". */
static void
fed_state_cb(const char *key, const void *val, size_t len, void *arg)
{
	char		**out = arg;

	(void)key;
	free(*out);
	*out = xmalloc(len + 1);
	memcpy(*out, val, len);
	(*out)[len] = '\0';
}

/* store_state_scan: an update record of the open round; keep its node. */
static void
fed_update_cb(const char *key, const void *val, size_t len, void *arg)
{
	struct fed	*f = arg;
	const char	*node = strrchr(key, '/') + 1;

	(void)val;
	(void)len;
	fed_client_add(f, node);
}

/*
 * Find the open round in the store.  A stored base that is not the head's
 * is a close whose commit did not happen (or a model changed by hand):
 * the head read is the newer, so a new round opens on it.
 */
static int
fed_resume(struct fed *f, char **cause)
{
	struct fed_close c;
	char		 key[128], hex[65], *rec = NULL;
	uint64_t	 deadline, acc, rej;
	uint32_t	 round;
	size_t		 i;

	fed_key(f, "state", key, sizeof key);
	if (store_state_scan(key, fed_state_cb, &rec) != 0) {
		xasprintf(cause, "fl %s: the store cannot be read", f->name);
		return (-1);
	}
	f->round = 1;
	f->deadline_ms = daemon_now_ms() + config_ms(fed.cf, f->sect,
	    "round_timeout");
	if (rec == NULL || sscanf(rec, "%" SCNu32 " %" SCNu64 " %" SCNu64 " %"
	    SCNu64 " %64s", &round, &deadline, &acc, &rej, hex) != 5) {
		free(rec);
		return (fed_state_save(f));
	}
	free(rec);
	fed_key(f, "u/", key, sizeof key);
	if (store_state_scan(key, fed_update_cb, f) != 0) {
		xasprintf(cause, "fl %s: the store cannot be read", f->name);
		return (-1);
	}
	if (strcmp(hex, f->basehex) == 0) {
		f->round = round;
		f->deadline_ms = deadline;
		f->accepted = acc;
		f->rejected = rej;
		log_info("fl %s: round %" PRIu32 " continues with %zu updates",
		    f->name, f->round, f->nclients);
		return (0);
	}
	log_warnx("fl %s: the head is not round %" PRIu32 "'s base: a close "
	    "was interrupted or the model changed; round %" PRIu32 " opens",
	    f->name, round, round + 1);
	for (i = 0; i < f->nclients; i++) {
		snprintf(key, sizeof key, "fed/%s/u/%s", f->name,
		    f->clients[i]);
		store_state_delete(key);
	}
	/* P/fl still says the closed round: say the new one (no samples). */
	memset(&c, 0, sizeof c);
	c.clients = (uint32_t)f->nclients;
	c.before = c.after = -1;
	c.applied = 1;
	fed_clients_clear(f);
	f->round = round + 1;
	fed_publish(f, &c, acc, rej);
	return (fed_state_save(f));
}

/* Check what the config table cannot: section names are model names. */
int
fed_config_check(const struct config *cf, char **cause)
{
	const char *const	*s;
	size_t			 n, i;

	s = config_sections(cf, "federated", &n);
	for (i = 0; i < n; i++) {
		if (!models_valid_name(s[i] + strlen("federated:"))) {
			xasprintf(cause, "%s:%d: [%s]: the name must be 1 to "
			    "64 of [A-Za-z0-9_.-]", config_path(cf),
			    config_line(cf, s[i], "model"), s[i]);
			return (-1);
		}
		if (config_int(cf, s[i], "target_clients") != 0 &&
		    config_int(cf, s[i], "target_clients") <
		    config_int(cf, s[i], "min_clients")) {
			xasprintf(cause, "%s:%d: [%s]: target_clients must be "
			    "0 or at least min_clients", config_path(cf),
			    config_line(cf, s[i], "target_clients"), s[i]);
			return (-1);
		}
	}
	return (0);
}

/* Start every section: load its model, resume its round. */
int
fed_start(const struct config *cf, char **cause)
{
	const char *const	*s;
	struct fed		*f;
	size_t			 n, i;

	memset(&fed, 0, sizeof fed);
	fed.cf = cf;
	s = config_sections(cf, "federated", &n);
	if (n == 0)
		return (0);
	if (fed_config_check(cf, cause) != 0)
		return (-1);
	fed.f = xcalloc(n, sizeof *fed.f);
	for (i = 0; i < n; i++) {
		f = xcalloc(1, sizeof *f);
		f->sect = xstrdup(s[i]);
		snprintf(f->name, sizeof f->name, "%s", s[i] +
		    strlen("federated:"));
		fed.f[fed.n++] = f;
		if (fed_load(f, cause) != 0 || fed_resume(f, cause) != 0) {
			fed_stop();
			return (-1);
		}
		/* A crash may have come between the rename and the put. */
		if (f->from_copy)
			fed_model_put(f);
	}
	store_flush();
	return (0);
}

/* SIGHUP: keys are read where used; only the config pointer changes. */
void
fed_reload(const struct config *cf)
{
	fed.cf = cf;
}

/* Stop: a section whose write is running is freed when it returns. */
void
fed_stop(void)
{
	size_t	i;

	for (i = 0; i < fed.n; i++) {
		if (fed.f[i]->closing)
			fed.f[i]->dead = 1;
		else
			fed_free(fed.f[i]);
	}
	free(fed.f);
	fed.f = NULL;
	fed.n = 0;
}

/* Is the round of f due to close (or to be extended) at wall time now? */
static void
fed_due(struct fed *f, uint64_t now)
{
	uint64_t	min = (uint64_t)config_int(fed.cf, f->sect,
			    "min_clients");
	uint64_t	timeout = config_ms(fed.cf, f->sect, "round_timeout");
	int64_t		target = config_int(fed.cf, f->sect,
			    "target_clients");

	if (f->closing || now < f->retry_ms)
		return;
	if (f->unsure) {
		if (fed_commit() != 0)
			return;
		f->unsure = 0;
	}
	if (target > 0 && f->nclients >= (uint64_t)target) {
		fed_close(f);
		return;
	}
	if (now < f->deadline_ms)
		return;
	if (f->nclients >= min && f->nclients > 0) {
		fed_close(f);
		return;
	}
	while (f->deadline_ms <= now)
		f->deadline_ms += timeout;
	log_info("fl %s: round %" PRIu32 " has %zu of %" PRIu64 " updates "
	    "at its deadline: extended by %" PRIu64 " s", f->name, f->round,
	    f->nclients, min, timeout / 1000);
	fed_state_save(f);
	fed_changed(f);
}

/* Housekeeping: close or extend rounds whose time came. */
void
fed_check(uint64_t mono)
{
	uint64_t	now = daemon_now_ms();
	size_t		i;

	(void)mono;
	for (i = 0; i < fed.n; i++)
		fed_due(fed.f[i], now);
}

/*
 * Does head + delta stay a finite float32 everywhere?  An update that
 * does not could never be applied: the round it is in would never close.
 * (A weighted mean of updates that each pass cannot overflow.)
 */
static enum fed_result
fed_post_range(const struct fed *f, const struct fl_update *u, char **cause)
{
	size_t		 nw = (size_t)f->head.rows * f->head.cols, i;
	const uint8_t	*p;
	uint32_t	 bits;
	float		 d;
	double		 v;

	for (i = 0; i < nw + f->head.rows; i++) {
		/* Little-endian float32, as fl_update_parse read it. */
		p = u->delta + 4 * i;
		bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		memcpy(&d, &bits, sizeof d);
		v = (double)(i < nw ? f->head.w[i] : f->head.b[i - nw]) + d;
		if (!(v >= -FLT_MAX && v <= FLT_MAX)) {
			xasprintf(cause, "value %zu: head + delta is not a "
			    "finite float32", i);
			return (FED_BAD);
		}
	}
	return (FED_OK);
}

/* Check an update of node for f; FED_OK when it may be stored. */
static enum fed_result
fed_post_check(struct fed *f, const char *node, const uint8_t *data,
    size_t len, char **cause)
{
	struct fl_update	u;
	char			*c = NULL;

	if (fnmatch(config_str(fed.cf, f->sect, "nodes"), node, 0) != 0) {
		xasprintf(cause, "node not in [%s] nodes", f->sect);
		return (FED_FORBIDDEN);
	}
	if (fl_update_parse(data, len, f->head.rows, f->head.cols, &u,
	    &c) != 0) {
		*cause = c;
		return (FED_BAD);
	}
	if (u.round != f->round) {
		xasprintf(cause, "round %" PRIu32 " is not the open round %"
		    PRIu32, u.round, f->round);
		return (FED_STALE);
	}
	if (memcmp(u.base, f->base, sizeof f->base) != 0) {
		xasprintf(cause, "base is not the current head %s",
		    f->basehex);
		return (FED_STALE);
	}
	return (fed_post_range(f, &u, cause));
}

/*
 * An update from node for NAME: checked, stored (replacing the node's
 * earlier one in this round) and committed before FED_OK.
 */
enum fed_result
fed_post(const char *name, const char *node, const uint8_t *data, size_t len,
    char **cause)
{
	struct fed	*f;
	enum fed_result	 rv;
	char		 key[128];
	int64_t		 max;

	if ((f = fed_find(name)) == NULL) {
		xasprintf(cause, "no federated model %s", name);
		return (FED_UNKNOWN);
	}
	if ((rv = fed_post_check(f, node, data, len, cause)) != FED_OK) {
		f->rejected++;
		f->m_rejects++;
		return (rv);
	}
	max = config_int(fed.cf, "gateway", "max_nodes");
	if (f->closing || (fed_client_find(f, node) < 0 &&
	    f->nclients >= (uint64_t)max) || !store_accepting()) {
		xasprintf(cause, f->closing ? "the round is closing: try the "
		    "next one" : "cannot take updates now: try again later");
		return (FED_BUSY);
	}
	snprintf(key, sizeof key, "fed/%s/u/%s", f->name, node);
	f->accepted++;
	if (store_state_set(key, data, len) != 0 || fed_state_save(f) != 0) {
		f->accepted--;
		xasprintf(cause, "the store could not take it: try again");
		return (FED_BUSY);
	}
	/* In the transaction: it counts, though unacknowledged if late. */
	fed_client_add(f, node);
	if (fed_commit() != 0) {
		/*
		 * A checkpoint defers the commit: the node is told to send
		 * again, and the round does not close until the update is
		 * committed, so the resent one lands in this round too.
		 */
		f->accepted--;
		f->unsure = 1;
		xasprintf(cause, "the store could not commit now: try again");
		return (FED_AGAIN);
	}
	f->m_updates++;
	f->m_in += len;
	log_debug("fl %s: update of %s for round %" PRIu32 " (%zu in)",
	    f->name, node, f->round, f->nclients);
	fed_due(f, daemon_now_ms());
	return (FED_OK);
}

/* The configuration in force. */
const struct config *
fed_cf(void)
{
	return (fed.cf);
}

/* The round document of NAME (caller frees), or NULL. */
char *
fed_doc(const char *name)
{
	struct fed	*f;
	char		*s;

	if ((f = fed_find(name)) == NULL)
		return (NULL);
	xasprintf(&s, "{\"round\":%" PRIu32 ",\"base\":\"%s\",\"rows\":%"
	    PRIu32 ",\"cols\":%" PRIu32 ",\"deadline\":%" PRIu64 "}", f->round,
	    f->basehex, f->head.rows, f->head.cols, f->deadline_ms / 1000);
	return (s);
}

/* The serialized head of NAME and its ETag, or NULL. */
const uint8_t *
fed_head(const char *name, size_t *len, uint8_t etag[FED_ETAG_LEN])
{
	struct fed	*f;

	if ((f = fed_find(name)) == NULL)
		return (NULL);
	*len = f->headlen;
	memcpy(etag, f->base, FED_ETAG_LEN);
	return (f->headbuf);
}

/* Count bytes of NAME's head sent to a node. */
void
fed_count_out(const char *name, size_t n)
{
	struct fed	*f;

	if ((f = fed_find(name)) != NULL)
		f->m_out += n;
}

/* The open round of NAME, 0 if unknown. */
uint32_t
fed_round(const char *name)
{
	struct fed	*f = fed_find(name);

	return (f != NULL ? f->round : 0);
}

/* Who hears of changed documents (the CoAP observers). */
void
fed_set_notify(fed_notify_cb cb)
{
	fed.notify = cb;
}

/* The "fl" object of P/metrics: per name. */
void
fed_metrics(cJSON *o)
{
	cJSON	*all, *s;
	size_t	 i;

	all = cJSON_AddObjectToObject(o, "fl");
	for (i = 0; i < fed.n; i++) {
		const struct fed *f = fed.f[i];

		s = cJSON_AddObjectToObject(all, f->name);
		cJSON_AddNumberToObject(s, "round", f->round);
		cJSON_AddNumberToObject(s, "clients", (double)f->nclients);
		cJSON_AddNumberToObject(s, "updates", (double)f->m_updates);
		cJSON_AddNumberToObject(s, "rejects", (double)f->m_rejects);
		cJSON_AddNumberToObject(s, "rounds", (double)f->m_rounds);
		cJSON_AddNumberToObject(s, "bytes_in", (double)f->m_in);
		cJSON_AddNumberToObject(s, "bytes_out", (double)f->m_out);
	}
}

/* One-line status: the open rounds. */
size_t
fed_status(char *buf, size_t len)
{
	size_t	i, n = 0;
	int	w;

	buf[0] = '\0';
	for (i = 0; i < fed.n && n < len; i++) {
		w = snprintf(buf + n, len - n, "%sfl %s round %" PRIu32 " (%zu)",
		    i ? ", " : "", fed.f[i]->name, fed.f[i]->round,
		    fed.f[i]->nclients);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return (n < len ? n : len - 1);
}
