/*
 * models.h - node models (SPEC section 9.3): versions of model files a node
 * can download, under data_dir/models/.
 *
 * A version is written in the libuv pool (temporary file, fdatasync,
 * rename, directory sync), so a crash never leaves half a model visible
 * and the loop never waits for the disk; its bytes are then served from
 * memory (bounded) for Block2 downloads.  The newest version of a name is
 * the one stored last.  Old versions are deleted once no node is assigned
 * to them and more than MODELS_KEEP newer ones exist.  All functions run
 * on the loop thread.
 */
#ifndef TE_MODELS_H
#define TE_MODELS_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define MODELS_NAME_MAX		64	/* [A-Za-z0-9_.-]{1,64} */
#define MODELS_VERSION_MAX	32	/* [A-Za-z0-9_.-]{1,32} */
#define MODELS_KEEP		3	/* versions kept per name at least */

/* What is known of one stored version. */
struct models_info {
	char		name[MODELS_NAME_MAX + 1];
	char		version[MODELS_VERSION_MAX + 1];
	char		sha256[65];	/* lowercase hex */
	size_t		size;
	uint64_t	stored_ms;
};

/* A put finished: ok 1 with info, or ok 0 with a cause (not stored). */
typedef void	(*models_put_cb)(int, const struct models_info *,
		    const char *, void *);
/* A name got a new version or lost one. */
typedef void	(*models_change_cb)(const char *);
/* Is NAME@VERSION assigned to some node? */
typedef int	(*models_in_use_cb)(const char *, const char *);

int	models_start(const struct config *, char **);
void	models_reload(const struct config *);
void	models_stop(void);

int	models_valid_name(const char *);
int	models_valid_version(const char *);
int	models_put(const char *, const char *, const void *, size_t,
	    models_put_cb, void *, char **);
int	models_find(const char *, const char *, struct models_info *);
const uint8_t *models_data(const char *, const char *, struct models_info *);
void	models_set_notify(models_change_cb);
void	models_set_in_use(models_in_use_cb);
void	models_delete(const char *);
void	models_gc(void);
void	models_check(uint64_t);

void	models_sha256(const void *, size_t, char [65]);

#endif
