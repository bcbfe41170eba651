/*
 * models_index.c - what node models are stored (SPEC 9.3): the names, their
 * versions (sha256, size, mtime) and the bytes held in memory, for
 * models.c and the start-up scan (models_scan.c).  No disk, no pool.
 *
 * The newest version of a name is the one with the latest mtime
 * (nanoseconds), ties broken by the larger version name.  Bytes are held
 * bounded by MODELS_CACHE_BYTES, least recently used dropped first (one
 * version larger than the bound is still held alone, or it could never be
 * served).  Names are bounded by class: MODELS_NAMES_MAX of the
 * operator's, and MODELS_LEARNED_MAX learned ones apart ("learn-" names,
 * one per node of a [learn:NAME] section, SPEC 11), so learned models
 * never take the operator's room.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "models_int.h"
#include "xmalloc.h"

#define MODELS_NAMES_MAX	64	/* names stored at most */
/* Learned models (SPEC 11, one per node) have a bound of their own. */
#define MODELS_LEARNED_PREFIX	"learn-"
#define MODELS_LEARNED_MAX	4096
#define MODELS_CACHE_BYTES	(16 * 1024 * 1024)

static struct {
	struct models_name	*n[MODELS_NAMES_MAX + MODELS_LEARNED_MAX];
	size_t			 nn;
	size_t			 cached;	/* bytes held in memory */
	uint64_t		 tick;
} idx;

/* The bound of name's class: learned models, or the operator's. */
size_t
models_class_max(const char *name)
{
	return (strncmp(name, MODELS_LEARNED_PREFIX,
	    strlen(MODELS_LEARNED_PREFIX)) == 0 ? MODELS_LEARNED_MAX :
	    MODELS_NAMES_MAX);
}

/* Names stored of the class of name. */
size_t
models_class_count(const char *name)
{
	size_t	i, n = 0, max = models_class_max(name);

	for (i = 0; i < idx.nn; i++)
		n += models_class_max(idx.n[i]->name) == max;
	return (n);
}

/* Is a newer than b? */
int
models_newer(const struct models_version *a, const struct models_version *b)
{
	if (a->mtime_ns != b->mtime_ns)
		return (a->mtime_ns > b->mtime_ns);
	return (strcmp(a->info.version, b->info.version) > 0);
}

/* Find a name; NULL if not stored. */
struct models_name *
models_name_find(const char *name)
{
	size_t	i;

	for (i = 0; i < idx.nn; i++) {
		if (strcmp(idx.n[i]->name, name) == 0)
			return (idx.n[i]);
	}
	return (NULL);
}

/* Find a version (NULL: the newest) of a name. */
struct models_version *
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
	idx.cached -= v->info.size;
}

/* Hold a version's bytes, dropping least recently used ones over bound. */
void
models_cache(struct models_version *v, uint8_t *data)
{
	struct models_version	*lru;
	size_t			 i, k;

	models_uncache(v);
	v->data = data;
	v->used = ++idx.tick;
	idx.cached += v->info.size;
	while (idx.cached > MODELS_CACHE_BYTES) {
		lru = NULL;
		for (i = 0; i < idx.nn; i++) {
			for (k = 0; k < idx.n[i]->nv; k++) {
				struct models_version *c = idx.n[i]->v[k];

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
struct models_version *
models_add(const char *name, const char *version, const char *sha256,
    size_t size, uint64_t mtime_ns)
{
	struct models_name	*n;
	struct models_version	*v;

	if ((n = models_name_find(name)) == NULL) {
		n = xcalloc(1, sizeof *n);
		snprintf(n->name, sizeof n->name, "%s", name);
		idx.n[idx.nn++] = n;
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

/* Versions stored of name. */
size_t
models_versions(const char *name)
{
	struct models_name	*n = models_name_find(name);

	return (n != NULL ? n->nv : 0);
}

/* The scan found name@version: index it and hold its bytes (taken). */
void
models_index_add(const char *name, const char *version, const char *sha256,
    size_t size, uint64_t mtime_ns, uint8_t *data)
{
	models_cache(models_add(name, version, sha256, size, mtime_ns), data);
}

/* Remove a version from the index (and a name left empty). */
void
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
	for (i = 0; i < idx.nn && idx.n[i] != n; i++)
		;
	idx.n[i] = idx.n[--idx.nn];
	free(n);
}

/* Free the index. */
void
models_clear(void)
{
	size_t	i, k;

	for (i = 0; i < idx.nn; i++) {
		for (k = 0; k < idx.n[i]->nv; k++) {
			free(idx.n[i]->v[k]->data);
			free(idx.n[i]->v[k]);
		}
		free(idx.n[i]);
	}
	idx.nn = 0;
	idx.cached = 0;
	idx.tick = 0;
}

/* Names stored. */
size_t
models_names(void)
{
	return (idx.nn);
}

/* The i-th stored name (i < models_names()). */
struct models_name *
models_name_at(size_t i)
{
	return (idx.n[i]);
}

/* A version's bytes were used: the last to be dropped. */
void
models_touch(struct models_version *v)
{
	v->used = ++idx.tick;
}
