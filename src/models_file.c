/*
 * models_file.c - the files of node models (models.c): a version written
 * so that a crash never leaves half of it visible, read back whole, and
 * the temporary files a crash may leave recognised.
 *
 * A version is written to "tmp~XXXXXX" in its name's directory ('~' is in
 * no valid version, so a temporary file never shadows one), fdatasynced,
 * renamed to VERSION and the directory fsynced.  Everything here runs in
 * the libuv pool or at start-up: no loop, no log, errno on failure.  The
 * names and digests every part shares are here too (models.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "models.h"
#include "models_file.h"
#include "xmalloc.h"

#define MODELS_FILE_TMP		"tmp~"	/* temporary file prefix */

/* Is a directory entry a temporary file of an unfinished write? */
int
models_file_is_tmp(const char *name)
{
	return (strncmp(name, MODELS_FILE_TMP, strlen(MODELS_FILE_TMP)) == 0);
}

/* Nanoseconds of a file's mtime. */
uint64_t
models_file_mtime_ns(const struct stat *sb)
{
	return ((uint64_t)sb->st_mtim.tv_sec * 1000000000ULL +
	    (uint64_t)sb->st_mtim.tv_nsec);
}

/* fsync a directory. */
int
models_file_sync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

/* Read a whole file (at most max bytes); -1 with errno. */
int
models_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat	 sb;
	uint8_t		*buf;
	size_t		 done = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return (-1);
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		errno = EFBIG;
		return (-1);
	}
	buf = xmalloc(sb.st_size ? (size_t)sb.st_size : 1);
	while (done < (size_t)sb.st_size) {
		n = read(fd, buf + done, (size_t)sb.st_size - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shrank under us */
			free(buf);
			close(fd);
			return (-1);
		}
		done += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = done;
	return (0);
}

/*
 * Write a version: a temporary file in ndir (made if missing, and dir
 * synced then), written, its mtime set to now but at least min_ns,
 * fdatasynced, renamed to path, ndir synced; the mtime in *mtime_ns.  -1
 * with errno, and nothing left behind.
 */
int
models_file_write(const char *dir, const char *ndir, const char *path,
    const uint8_t *data, size_t len, uint64_t min_ns, uint64_t *mtime_ns)
{
	struct timespec	 ts[2];
	struct stat	 sb;
	uint64_t	 ns;
	char		 tmp[PATH_MAX];
	size_t		 done = 0;
	ssize_t		 n;
	int		 fd, made = 0;

	if (snprintf(tmp, sizeof tmp, "%s/" MODELS_FILE_TMP "XXXXXX", ndir) >=
	    (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if (mkdir(ndir, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		return (-1);
	if ((fd = mkstemp(tmp)) == -1)
		return (-1);
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		done += (size_t)n;
	}
	/*
	 * The kernel stamps mtimes at its tick (ms): a version stored right
	 * after another would tie with it, so it is stamped later explicitly.
	 */
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ns = (uint64_t)ts[0].tv_sec * 1000000000ULL + (uint64_t)ts[0].tv_nsec;
	if (ns < min_ns)
		ns = min_ns;
	ts[0].tv_sec = (time_t)(ns / 1000000000ULL);
	ts[0].tv_nsec = (long)(ns % 1000000000ULL);
	ts[1] = ts[0];
	if (fchmod(fd, 0644) == -1 || futimens(fd, ts) == -1 ||
	    fdatasync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if (models_file_sync_dir(ndir) == -1 || (made &&
	    models_file_sync_dir(dir) == -1) || stat(path, &sb) == -1) {
		/* Not known durable: take it back, as the caller says so. */
		n = errno;
		unlink(path);
		errno = (int)n;
		return (-1);
	}
	*mtime_ns = models_file_mtime_ns(&sb);
	return (0);
fail:
	n = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = (int)n;
	return (-1);
}

/* Is s 1..max of [A-Za-z0-9_.-], and not "." or ".."? */
static int
models_valid(const char *s, size_t max)
{
	size_t	i;

	if (s == NULL || *s == '\0' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return (0);
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return (0);
	}
	return (1);
}

/* A valid model name? */
int
models_valid_name(const char *s)
{
	return (models_valid(s, MODELS_NAME_MAX));
}

/* A valid version? */
int
models_valid_version(const char *s)
{
	return (models_valid(s, MODELS_VERSION_MAX));
}

/* sha256 of a buffer, as lowercase hex. */
void
models_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		fatalx("models: EVP_Digest sha256 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}
