/*
 * models.c - node models (SPEC 9.3): the versions stored under
 * data_dir/models/NAME/VERSION, their index and their bytes in memory.
 *
 * The filesystem is the only index: models_start() scans the directory
 * (synchronously, before the loop serves), deletes temporary files a crash
 * left behind and notes each version's sha256, size and mtime.  The newest
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
 * Bytes are served from memory, bounded by MODELS_CACHE_BYTES, least
 * recently used dropped first (one version larger than the bound is still
 * held alone, or it could never be served).  A miss starts a read in the
 * pool, checked against the indexed sha256, and answers NULL meanwhile.
 *
 * Names are bounded by class: MODELS_NAMES_MAX of the operator's, and
 * MODELS_LEARNED_MAX learned ones apart ("learn-" names, one per node of
 * a [learn:NAME] section, SPEC 11), so learned models never take the
 * operator's room.
 *
 * Every pool job carries copies of what it needs and the generation of
 * the module it was started by: after models_stop() (or a restart) its
 * after-callback finds the generation changed and only frees the job.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
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
#include "xmalloc.h"

#define MODELS_NAMES_MAX	64	/* names stored at most */
/* Learned models (SPEC 11, one per node) have a bound of their own. */
#define MODELS_LEARNED_PREFIX	"learn-"
#define MODELS_LEARNED_MAX	4096
#define MODELS_VERSIONS_MAX	16	/* versions of one name at most */
#define MODELS_CACHE_BYTES	(16 * 1024 * 1024)

/* One stored version. */
struct models_version {
	struct models_info	 info;
	uint64_t		 mtime_ns;
	uint8_t			*data;		/* cached bytes, or NULL */
	uint64_t		 used;		/* LRU tick of the last use */
};

/* One name and its versions. */
struct models_name {
	char			 name[MODELS_NAME_MAX + 1];
	struct models_version	*v[MODELS_VERSIONS_MAX];
	size_t			 nv;
};

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
	struct models_name	*n[MODELS_NAMES_MAX + MODELS_LEARNED_MAX];
	size_t			 nn;
	size_t			 cached;	/* bytes held in memory */
	uint64_t		 tick;
	uint64_t		 gc_ms;		/* last periodic GC */
	struct models_job	*jobs;		/* in flight, this generation */
	models_change_cb	 notify;
	models_in_use_cb	 in_use;
} mdl;

#define MODELS_GC_EVERY_MS	(3600 * 1000)

/* The bound of name's class: learned models, or the operator's. */
static size_t
models_class_max(const char *name)
{
	return (strncmp(name, MODELS_LEARNED_PREFIX,
	    strlen(MODELS_LEARNED_PREFIX)) == 0 ? MODELS_LEARNED_MAX :
	    MODELS_NAMES_MAX);
}

/* Names stored of the class of name. */
static size_t
models_class_count(const char *name)
{
	size_t	i, n = 0, max = models_class_max(name);

	for (i = 0; i < mdl.nn; i++)
		n += models_class_max(mdl.n[i]->name) == max;
	return (n);
}

/* Is a newer than b? */
static int
models_newer(const struct models_version *a, const struct models_version *b)
{
	if (a->mtime_ns != b->mtime_ns)
		return (a->mtime_ns > b->mtime_ns);
	return (strcmp(a->info.version, b->info.version) > 0);
}

/* Find a name; NULL if not stored. */
static struct models_name *
models_name_find(const char *name)
{
	size_t	i;

	for (i = 0; i < mdl.nn; i++) {
		if (strcmp(mdl.n[i]->name, name) == 0)
			return (mdl.n[i]);
	}
	return (NULL);
}

/* Find a version (NULL: the newest) of a name. */
static struct models_version *
models_version_find(struct models_name *n, const char *version)
{
	struct models_version	*best = NULL;
	size_t			 i;

	for (i = 0; n != NULL && i < n->nv; i++) {
		if (version != NULL) {
			if (strcmp(n->v[i]->info.version, version) == 0)
				return (n->v[i]);
		} else if (best == NULL || models_newer(n->v[i], best))
			best = n->v[i];
	}
	return (best);
}

/* Drop a version's cached bytes. */
static void
models_uncache(struct models_version *v)
{
	if (v->data == NULL)
		return;
	free(v->data);
	v->data = NULL;
	mdl.cached -= v->info.size;
}

/* Hold a version's bytes, dropping least recently used ones over bound. */
static void
models_cache(struct models_version *v, uint8_t *data)
{
	struct models_version	*lru;
	size_t			 i, k;

	models_uncache(v);
	v->data = data;
	v->used = ++mdl.tick;
	mdl.cached += v->info.size;
	while (mdl.cached > MODELS_CACHE_BYTES) {
		lru = NULL;
		for (i = 0; i < mdl.nn; i++) {
			for (k = 0; k < mdl.n[i]->nv; k++) {
				struct models_version *c = mdl.n[i]->v[k];

				if (c != v && c->data != NULL &&
				    (lru == NULL || c->used < lru->used))
					lru = c;
			}
		}
		if (lru == NULL)
			break;	/* v alone: held even over the bound */
		models_uncache(lru);
	}
}

/* Add a version to the index (the caller checked the bounds). */
static struct models_version *
models_add(const char *name, const char *version, const char *sha256,
    size_t size, uint64_t mtime_ns)
{
	struct models_name	*n;
	struct models_version	*v;

	if ((n = models_name_find(name)) == NULL) {
		n = xcalloc(1, sizeof *n);
		snprintf(n->name, sizeof n->name, "%s", name);
		mdl.n[mdl.nn++] = n;
	}
	v = xcalloc(1, sizeof *v);
	snprintf(v->info.name, sizeof v->info.name, "%s", name);
	snprintf(v->info.version, sizeof v->info.version, "%s", version);
	snprintf(v->info.sha256, sizeof v->info.sha256, "%s", sha256);
	v->info.size = size;
	v->info.stored_ms = mtime_ns / 1000000;
	v->mtime_ns = mtime_ns;
	n->v[n->nv++] = v;
	return (v);
}

/* Remove a version from the index (and a name left empty). */
static void
models_remove(struct models_name *n, struct models_version *v)
{
	size_t	i;

	for (i = 0; i < n->nv && n->v[i] != v; i++)
		;
	if (i == n->nv)
		return;
	n->v[i] = n->v[--n->nv];
	models_uncache(v);
	free(v);
	if (n->nv != 0)
		return;
	for (i = 0; i < mdl.nn && mdl.n[i] != n; i++)
		;
	mdl.n[i] = mdl.n[--mdl.nn];
	free(n);
}

/* Free the index. */
static void
models_clear(void)
{
	size_t	i, k;

	for (i = 0; i < mdl.nn; i++) {
		for (k = 0; k < mdl.n[i]->nv; k++) {
			free(mdl.n[i]->v[k]->data);
			free(mdl.n[i]->v[k]);
		}
		free(mdl.n[i]);
	}
	mdl.nn = 0;
	mdl.cached = 0;
}

/* Scan one name's directory: versions in, temporary files out. */
static void
models_scan_name(const char *name, const char *path)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	uint8_t		*buf;
	size_t		 len;
	char		*p, sha[65];

	if ((d = opendir(path)) == NULL) {
		log_warn("models: %s", path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&p, "%s/%s", path, de->d_name);
		if (models_file_is_tmp(de->d_name)) {
			/* A put that a crash interrupted before its rename. */
			if (unlink(p) == -1)
				log_warn("models: unlink %s", p);
			else
				log_info("models: deleted leftover %s", p);
		} else if (!models_valid_version(de->d_name) ||
		    stat(p, &sb) == -1 || !S_ISREG(sb.st_mode))
			log_warnx("models: ignoring %s", p);
		else if (models_name_find(name) != NULL &&
		    models_name_find(name)->nv >= MODELS_VERSIONS_MAX)
			log_warnx("models: ignoring %s: more than %d versions",
			    p, MODELS_VERSIONS_MAX);
		else if (models_file_read(p, SIZE_MAX, &buf, &len) == -1)
			log_warn("models: %s", p);
		else {
			if (len == 0)
				log_warnx("models: ignoring empty %s", p);
			else {
				models_sha256(buf, len, sha);
				models_cache(models_add(name, de->d_name, sha,
				    len, models_file_mtime_ns(&sb)), buf);
				buf = NULL;
			}
			free(buf);
		}
		free(p);
	}
	closedir(d);
}

/* Scan data_dir/models (made if missing). */
static int
models_scan(char **cause)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		*p;

	if (mkdir(mdl.dir, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "models: %s: %s", mdl.dir, strerror(errno));
		return (-1);
	}
	if ((d = opendir(mdl.dir)) == NULL) {
		xasprintf(cause, "models: %s: %s", mdl.dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&p, "%s/%s", mdl.dir, de->d_name);
		if (!models_valid_name(de->d_name) || stat(p, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode))
			log_warnx("models: ignoring %s", p);
		else if (models_class_count(de->d_name) >=
		    models_class_max(de->d_name))
			log_warnx("models: ignoring %s: more than %zu names", p,
			    models_class_max(de->d_name));
		else
			models_scan_name(de->d_name, p);
		free(p);
	}
	closedir(d);
	return (0);
}

/* Start: scan the stored versions. */
int
models_start(const struct config *cf, char **cause)
{
	size_t	i, nv = 0;

	models_clear();
	mdl.gen++;
	mdl.jobs = NULL;
	mdl.tick = 0;
	free(mdl.dir);
	xasprintf(&mdl.dir, "%s/models", config_str(cf, "gateway",
	    "data_dir"));
	mdl.max = config_bytes(cf, "mqtt", "command_max");
	if (models_scan(cause) != 0) {
		models_clear();
		return (-1);
	}
	for (i = 0; i < mdl.nn; i++)
		nv += mdl.n[i]->nv;
	log_info("models: %zu name%s, %zu version%s in %s", mdl.nn,
	    mdl.nn == 1 ? "" : "s", nv, nv == 1 ? "" : "s", mdl.dir);
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
		v->used = ++mdl.tick;
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

/* Collect one name: 1 if a version went. */
static int
models_gc_name(struct models_name *n)
{
	struct models_version	*v, *order[MODELS_VERSIONS_MAX];
	struct models_job	*j;
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
		j = models_job_new(MODELS_OP_DELETE, n->name, v->info.version);
		if (models_queue(j, NULL) != 0)
			continue;
		/* Out of the index now; the file goes in the pool. */
		models_remove(n, v);
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
	for (i = 0; i < mdl.nn; i++) {
		/* A name keeps MODELS_KEEP versions, so it stays at i. */
		snprintf(name, sizeof name, "%s", mdl.n[i]->name);
		if (models_gc_name(mdl.n[i]))
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
