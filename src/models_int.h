/*
 * models_int.h - private to the node models family: the index
 * (models_index.c: names, versions, cached bytes, the bounds of the two
 * classes of names) that models.c serves and changes and the start-up
 * scan (models_scan.c) fills.
 */
#ifndef TE_MODELS_INT_H
#define TE_MODELS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "models.h"

#define MODELS_VERSIONS_MAX	16	/* versions of one name at most */

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

/* models_index.c */
size_t			 models_class_max(const char *);
size_t			 models_class_count(const char *);
int			 models_newer(const struct models_version *,
			    const struct models_version *);
struct models_name	*models_name_find(const char *);
struct models_version	*models_version_find(struct models_name *,
			    const char *);
void			 models_cache(struct models_version *, uint8_t *);
void			 models_touch(struct models_version *);
struct models_version	*models_add(const char *, const char *,
			    const char *, size_t, uint64_t);
void			 models_remove(struct models_name *,
			    struct models_version *);
void			 models_clear(void);
size_t			 models_names(void);
struct models_name	*models_name_at(size_t);
size_t			 models_versions(const char *);
void			 models_index_add(const char *, const char *,
			    const char *, size_t, uint64_t, uint8_t *);

/* models_scan.c */
int	models_scan(const char *, char **);

#endif
