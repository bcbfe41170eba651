/*
 * models.c - node models (SPEC 9.3): the versions stored under
 * data_dir/models/NAME/VERSION, their index and their bytes in memory.
 *
 * The filesystem is the only index: models_start() scans the directory
 * (models_scan.c: synchronously, before the loop serves), deletes
 * temporary files a crash left behind and notes each version's sha256,
 * size and mtime.  The newest
 * version of a name is the one with the latest mtime (nanoseconds), ties
 * broken by the larger version name.
 *
 * Everything that touches the disk afterwards runs in the libuv pool: a put
 * writes a temporary file in the name's directory, fdatasyncs it, renames
 * it to VERSION and syncs the directory (models_file.c); only then, back on
 * the loop, does the version enter the index.  A version is immutable: a
 * put of the same bytes again is fine and writes nothing, other bytes are
 * refused.  A name@version with a write or delete in flight is "busy" and
 * refuses another put, so two pool jobs never race on one file.
 *
 * Bytes are served from memory (models_index.c: the index, its cache
 * and the bounds of names); a miss starts a read in the pool, checked
 * against the indexed sha256, and answers NULL meanwhile.  A name can be
 * deleted whole (models_delete(): a learned model that starts over).
 *
 * Every pool job carries copies of what it needs and the generation of
 * the module it was started by: after models_stop() (or a restart) its
 * after-callback finds the generation changed and only frees the job.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "models.h"
#include "models_file.h"
#include "models_int.h"
#include "xmalloc.h"

enum models_op {
	MODELS_OP_PUT,		/* write a new version */
	MODELS_OP_SAME,		/* a put of stored bytes: nothing to write */
	MODELS_OP_READ,		/* read a version into memory */
	MODELS_OP_DELETE,	/* delete a collected version */
};

/* One job in the pool, with copies of everything it needs. */
struct models_job {
	uv_work_t		 req;
	enum models_op		 op;
	uint64_t		 gen;
	char			 name[MODELS_NAME_MAX + 1];
	char			 version[MODELS_VERSION_MAX + 1];
	char			*dir;		/* data_dir/models */
	char			*ndir;		/* dir/NAME */
	char			*path;		/* dir/NAME/VERSION */
	uint8_t			*data;
	size_t			 len;
	char			 sha256[65];
	uint64_t		 mtime_ns;	/* put: at least, then as is */
	int			 rc;
	int			 doomed;	/* put: the name was deleted */
	char			*cause;
	models_put_cb		 cb;
	void			*arg;
	struct models_job	*next;
};

static struct {
	int			 started;
	uint64_t		 gen;
	char			*dir;
	size_t			 max;		/* mqtt.command_max */
	uint64_t		 gc_ms;		/* last periodic GC */
	struct models_job	*jobs;		/* in flight, this generation */
	models_change_cb	 notify;
	models_in_use_cb	 in_use;
} mdl;

#define MODELS_GC_EVERY_MS	(3600 * 1000)

static int	models_queue(struct models_job *, char **);
static struct models_job *models_job_new(enum models_op, const char *,
		    const char *);

/* Start: scan the stored versions. */
int
models_start(const struct config *cf, char **cause)
{
	size_t	i, nv = 0;

	models_clear();
	mdl.gen++;
	mdl.jobs = NULL;
	free(mdl.dir);
	xasprintf(&mdl.dir, "%s/models", config_str(cf, "gateway",
	    "data_dir"));
	mdl.max = config_bytes(cf, "mqtt", "command_max");
	if (models_scan(mdl.dir, cause) != 0) {
		models_clear();
		return (-1);
	}
	for (i = 0; i < models_names(); i++)
		nv += models_name_at(i)->nv;
	log_info("models: %zu name%s, %zu version%s in %s", models_names(),
	    models_names() == 1 ? "" : "s", nv, nv == 1 ? "" : "s", mdl.dir);
	mdl.started = 1;
	return (0);
}

/* SIGHUP: the size bound may change (data_dir needs a restart). */
void
models_reload(const struct config *cf)
{
	if (mdl.started)
		mdl.max = config_bytes(cf, "mqtt", "command_max");
}

/* Stop: forget the index; jobs in flight finish and free themselves. */
void
models_stop(void)
{
	if (!mdl.started)
		return;
	mdl.started = 0;
	mdl.gen++;
	mdl.jobs = NULL;
	models_clear();
	free(mdl.dir);
	mdl.dir = NULL;
}

/* Who to tell that a name changed. */
void
models_set_notify(models_change_cb cb)
{
	mdl.notify = cb;
}

/* Who says whether a version is assigned to a node. */
void
models_set_in_use(models_in_use_cb cb)
{
	mdl.in_use = cb;
}

/* Tell the notify callback a name changed. */
static void
models_changed(const char *name)
{
	if (mdl.notify != NULL)
		mdl.notify(name);
}

/* Free a job. */
static void
models_job_free(struct models_job *j)
{
	free(j->dir);
	free(j->ndir);
	free(j->path);
	free(j->data);
	free(j->cause);
	free(j);
}

/* The job of this generation in flight for name@version, if any. */
static struct models_job *
models_job_find(const char *name, const char *version)
{
	struct models_job	*j;

	for (j = mdl.jobs; j != NULL; j = j->next) {
		if (strcmp(j->name, name) == 0 &&
		    strcmp(j->version, version) == 0)
			return (j);
	}
	return (NULL);
}

/* Unlink a finished job from the in-flight list. */
static void
models_job_done(struct models_job *j)
{
	struct models_job	**jp;

	for (jp = &mdl.jobs; *jp != NULL; jp = &(*jp)->next) {
		if (*jp == j) {
			*jp = j->next;
			return;
		}
	}
}

/* Pool: run a job. */
static void
models_work(uv_work_t *req)
{
	struct models_job	*j = req->data;
	char			 sha[65];
	size_t			 len;

	errno = 0;
	switch (j->op) {
	case MODELS_OP_SAME:
		j->rc = 0;
		return;
	case MODELS_OP_PUT:
		j->rc = models_file_write(j->dir, j->ndir, j->path, j->data,
		    j->len, j->mtime_ns, &j->mtime_ns);
		break;
	case MODELS_OP_READ:
		if ((j->rc = models_file_read(j->path, j->len, &j->data,
		    &len)) == 0) {
			models_sha256(j->data, len, sha);
			if (len != j->len || strcmp(sha, j->sha256) != 0) {
				xasprintf(&j->cause, "%s: changed on disk",
				    j->path);
				j->rc = -1;
			}
		}
		break;
	case MODELS_OP_DELETE:
		if ((j->rc = unlink(j->path)) == 0)
			j->rc = models_file_sync_dir(j->ndir);
		break;
	}
	if (j->rc != 0 && j->cause == NULL)
		xasprintf(&j->cause, "%s: %s", j->path, strerror(errno));
}

/* A put's result on the loop: index, cache, callbacks. */
static void
models_put_done(struct models_job *j)
{
	struct models_version	*v;

	if (j->rc != 0) {
		log_warnx("models: storing %s@%s: %s", j->name, j->version,
		    j->cause);
		j->cb(0, NULL, j->cause, j->arg);
		return;
	}
	if (j->op == MODELS_OP_SAME) {
		/* Stored already; it may have been collected meanwhile. */
		v = models_version_find(models_name_find(j->name), j->version);
		if (v != NULL)
			j->cb(1, &v->info, NULL, j->arg);
		else
			j->cb(0, NULL, "collected while being stored", j->arg);
		return;
	}
	if (j->doomed) {
		/* models_delete() came while it was written: it goes too. */
		models_queue(models_job_new(MODELS_OP_DELETE, j->name,
		    j->version), NULL);
		j->cb(0, NULL, "deleted while being stored", j->arg);
		return;
	}
	v = models_add(j->name, j->version, j->sha256, j->len, j->mtime_ns);
	models_cache(v, j->data);
	j->data = NULL;
	log_info("models: stored %s@%s, %zu bytes, sha256 %s", j->name,
	    j->version, v->info.size, v->info.sha256);
	j->cb(1, &v->info, NULL, j->arg);
	models_changed(j->name);
}

/* Loop: a job finished. */
static void
models_after_work(uv_work_t *req, int status)
{
	struct models_job	*j = req->data;
	struct models_version	*v;

	if (j->gen != mdl.gen || !mdl.started) {
		models_job_free(j);	/* stopped meanwhile */
		return;
	}
	models_job_done(j);
	if (status != 0 && j->rc == 0) {
		j->rc = -1;
		xasprintf(&j->cause, "%s", uv_strerror(status));
	}
	switch (j->op) {
	case MODELS_OP_PUT:
	case MODELS_OP_SAME:
		models_put_done(j);
		break;
	case MODELS_OP_READ:
		v = models_version_find(models_name_find(j->name), j->version);
		if (j->rc != 0)
			log_warnx("models: reading %s", j->cause);
		else if (v != NULL && strcmp(v->info.sha256, j->sha256) == 0) {
			models_cache(v, j->data);
			j->data = NULL;
		}
		break;
	case MODELS_OP_DELETE:
		if (j->rc != 0)
			log_warnx("models: deleting %s", j->cause);
		else
			log_info("models: deleted %s@%s", j->name, j->version);
		break;
	}
	models_job_free(j);
}

/* Queue a job; -1 with a cause if libuv refuses. */
static int
models_queue(struct models_job *j, char **cause)
{
	int	rv;

	j->gen = mdl.gen;
	j->dir = xstrdup(mdl.dir);
	xasprintf(&j->ndir, "%s/%s", j->dir, j->name);
	xasprintf(&j->path, "%s/%s", j->ndir, j->version);
	j->req.data = j;
	if ((rv = uv_queue_work(daemon_loop(), &j->req, models_work,
	    models_after_work)) != 0) {
		if (cause != NULL)
			xasprintf(cause, "uv_queue_work: %s", uv_strerror(rv));
		models_job_free(j);
		return (-1);
	}
	j->next = mdl.jobs;
	mdl.jobs = j;
	return (0);
}

/* A new job for name@version. */
static struct models_job *
models_job_new(enum models_op op, const char *name, const char *version)
{
	struct models_job	*j;

	j = xcalloc(1, sizeof *j);
	j->op = op;
	snprintf(j->name, sizeof j->name, "%s", name);
	snprintf(j->version, sizeof j->version, "%s", version);
	return (j);
}

/*
 * Puts in flight: of one name (versions), or of names not yet stored
 * (of the class of cls).
 */
static size_t
models_pending(const char *name, const char *cls)
{
	struct models_job	*j, *k;
	size_t			 n = 0;

	for (j = mdl.jobs; j != NULL; j = j->next) {
		if (j->op != MODELS_OP_PUT)
			continue;
		if (name != NULL) {
			n += strcmp(j->name, name) == 0;
			continue;
		}
		if (models_name_find(j->name) != NULL ||
		    models_class_max(j->name) != models_class_max(cls))
			continue;
		/* Count each new name once. */
		for (k = mdl.jobs; k != j; k = k->next) {
			if (k->op == MODELS_OP_PUT &&
			    strcmp(k->name, j->name) == 0)
				break;
		}
		n += k == j;
	}
	return (n);
}

/* Is there no room for a new version of name?  The cause says why. */
static int
models_full(const char *name, char **cause)
{
	struct models_name	*n = models_name_find(name);
	size_t			 pend = models_pending(name, NULL);

	if (n == NULL && pend == 0 && models_class_count(name) +
	    models_pending(NULL, name) >= models_class_max(name)) {
		if (cause != NULL)
			xasprintf(cause, "too many model names (%zu)",
			    models_class_max(name));
		return (1);
	}
	if ((n != NULL ? n->nv : 0) + pend >= MODELS_VERSIONS_MAX) {
		if (cause != NULL)
			xasprintf(cause, "%s has too many versions (%d) in use",
			    name, MODELS_VERSIONS_MAX);
		return (1);
	}
	return (0);
}

/* Store a version; 0 and cb later, or -1 with a cause (no cb). */
int
models_put(const char *name, const char *version, const void *data,
    size_t len, models_put_cb cb, void *arg, char **cause)
{
	struct models_version	*v;
	struct models_job	*j;
	char			 sha[65];

	if (!mdl.started) {
		xasprintf(cause, "models are not running");
		return (-1);
	}
	if (!models_valid_name(name) || !models_valid_version(version)) {
		xasprintf(cause, "bad model name or version");
		return (-1);
	}
	if (len == 0 || len > mdl.max) {
		xasprintf(cause, "%s@%s: %zu bytes, must be 1 to %zu", name,
		    version, len, mdl.max);
		return (-1);
	}
	if (models_job_find(name, version) != NULL) {
		xasprintf(cause, "%s@%s is busy (being stored or deleted), "
		    "try again", name, version);
		return (-1);
	}
	models_sha256(data, len, sha);
	v = models_version_find(models_name_find(name), version);
	if (v != NULL && (v->info.size != len ||
	    strcmp(v->info.sha256, sha) != 0)) {
		xasprintf(cause, "%s@%s exists with other content", name,
		    version);
		return (-1);
	}
	if (v == NULL && models_full(name, NULL)) {
		models_gc();	/* full: collect first */
		if (models_full(name, cause))
			return (-1);
	}
	j = models_job_new(v != NULL ? MODELS_OP_SAME : MODELS_OP_PUT, name,
	    version);
	memcpy(j->sha256, sha, sizeof sha);
	j->len = len;
	if (v == NULL) {
		j->data = xmalloc(len);
		memcpy(j->data, data, len);
		/* Later than the newest: the newest is the one put last. */
		if ((v = models_version_find(models_name_find(name),
		    NULL)) != NULL)
			j->mtime_ns = v->mtime_ns + 1;
	}
	j->cb = cb;
	j->arg = arg;
	return (models_queue(j, cause));
}

/* What is stored of name@version (NULL: the newest); 0 or -1. */
int
models_find(const char *name, const char *version, struct models_info *info)
{
	struct models_version	*v;

	if (!mdl.started || name == NULL)
		return (-1);
	if ((v = models_version_find(models_name_find(name), version)) == NULL)
		return (-1);
	if (info != NULL)
		*info = v->info;
	return (0);
}

/*
 * The bytes of name@version (NULL: the newest), valid until the loop runs
 * again.  NULL when unknown (models_find() fails too) or not in memory:
 * then a read starts, and a retry a moment later finds them.
 */
const uint8_t *
models_data(const char *name, const char *version, struct models_info *info)
{
	struct models_version	*v;
	struct models_job	*j;

	if (!mdl.started || name == NULL)
		return (NULL);
	if ((v = models_version_find(models_name_find(name), version)) == NULL)
		return (NULL);
	if (info != NULL)
		*info = v->info;
	if (v->data != NULL) {
		models_touch(v);
		return (v->data);
	}
	if (models_job_find(v->info.name, v->info.version) == NULL) {
		j = models_job_new(MODELS_OP_READ, v->info.name,
		    v->info.version);
		memcpy(j->sha256, v->info.sha256, sizeof j->sha256);
		j->len = v->info.size;
		models_queue(j, NULL);
	}
	return (NULL);
}

/* Take a version out of the index now, its file in the pool; 0 or -1. */
static int
models_drop(struct models_name *n, struct models_version *v)
{
	struct models_job	*j;

	j = models_job_new(MODELS_OP_DELETE, n->name, v->info.version);
	if (models_queue(j, NULL) != 0)
		return (-1);
	models_remove(n, v);
	return (0);
}

/*
 * Delete every version of name (a learned model started over, SPEC 11):
 * out of the index at once, so it is no longer served, and its files in
 * the pool; a put of the name still in flight is deleted when it lands.
 * An unknown name is fine.
 */
void
models_delete(const char *name)
{
	struct models_name	*n;
	struct models_job	*j;
	int			 changed = 0;

	if (!mdl.started)
		return;
	for (j = mdl.jobs; j != NULL; j = j->next) {
		if (j->op == MODELS_OP_PUT && strcmp(j->name, name) == 0)
			j->doomed = 1;
	}
	while ((n = models_name_find(name)) != NULL) {
		if (models_drop(n, n->v[0]) != 0) {
			/* libuv refused: the file stays until a restart. */
			log_warnx("models: %s@%s not deleted", name,
			    n->v[0]->info.version);
			models_remove(n, n->v[0]);
		}
		changed = 1;
	}
	if (changed)
		models_changed(name);
}

/* Collect one name: 1 if a version went. */
static int
models_gc_name(struct models_name *n)
{
	struct models_version	*v, *order[MODELS_VERSIONS_MAX];
	size_t			 i, k, nv = n->nv;
	int			 gone = 0;

	/* Newest first (insertion sort: at most MODELS_VERSIONS_MAX). */
	for (i = 0; i < nv; i++) {
		v = n->v[i];
		for (k = i; k > 0 && models_newer(v, order[k - 1]); k--)
			order[k] = order[k - 1];
		order[k] = v;
	}
	for (i = MODELS_KEEP; i < nv; i++) {
		v = order[i];
		if (mdl.in_use(n->name, v->info.version) ||
		    models_job_find(n->name, v->info.version) != NULL)
			continue;
		if (models_drop(n, v) == 0)
			gone = 1;
	}
	return (gone);
}

/*
 * Delete versions beyond the newest MODELS_KEEP of each name that no node
 * is assigned to.  Without an in-use callback nothing is known to be
 * unassigned, so nothing is deleted.
 */
void
models_gc(void)
{
	char	name[MODELS_NAME_MAX + 1];
	size_t	i;

	if (!mdl.started || mdl.in_use == NULL)
		return;
	for (i = 0; i < models_names(); i++) {
		/* A name keeps MODELS_KEEP versions, so it stays at i. */
		snprintf(name, sizeof name, "%s", models_name_at(i)->name);
		if (models_gc_name(models_name_at(i)))
			models_changed(name);
	}
}

/*
 * Housekeeping: the GC once an hour, for assignments that went away
 * without a reload or a command (a node forgotten by the registry).
 */
void
models_check(uint64_t now)
{
	if (!mdl.started || now - mdl.gc_ms < MODELS_GC_EVERY_MS)
		return;
	mdl.gc_ms = now;
	models_gc();
}
