/*
 * models_scan.c - node models at start (SPEC 9.3): the versions stored
 * under data_dir/models/NAME/VERSION read into models.c's index.
 *
 * The filesystem is the only index, so models_start() scans it
 * synchronously, before the loop serves anything: each valid version's
 * bytes are read, hashed and held (models.c's cache bound applies), the
 * temporary files of a put that a crash interrupted are deleted, and
 * anything else (bad names, more names or versions than the bounds) is
 * ignored with a warning, never deleted.
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

#include "log.h"
#include "models.h"
#include "models_file.h"
#include "models_int.h"
#include "xmalloc.h"

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
		else if (models_versions(name) >= MODELS_VERSIONS_MAX)
			log_warnx("models: ignoring %s: more than %d versions",
			    p, MODELS_VERSIONS_MAX);
		else if (models_file_read(p, SIZE_MAX, &buf, &len) == -1)
			log_warn("models: %s", p);
		else {
			if (len == 0)
				log_warnx("models: ignoring empty %s", p);
			else {
				models_sha256(buf, len, sha);
				models_index_add(name, de->d_name, sha, len,
				    models_file_mtime_ns(&sb), buf);
				buf = NULL;
			}
			free(buf);
		}
		free(p);
	}
	closedir(d);
}

/* Scan dir, data_dir/models (made if missing), into the index. */
int
models_scan(const char *dir, char **cause)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		*p;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "models: %s: %s", dir, strerror(errno));
		return (-1);
	}
	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "models: %s: %s", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
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
