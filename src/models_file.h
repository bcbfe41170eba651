/*
 * models_file.h - the files of node models, for models.c: durable writes,
 * whole reads, directory syncs, temporary file names.
 */
#ifndef TE_MODELS_FILE_H
#define TE_MODELS_FILE_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

int		models_file_is_tmp(const char *);
uint64_t	models_file_mtime_ns(const struct stat *);
int		models_file_sync_dir(const char *);
int		models_file_read(const char *, size_t, uint8_t **, size_t *);
int		models_file_write(const char *, const char *, const char *,
		    const uint8_t *, size_t, uint64_t, uint64_t *);

#endif
