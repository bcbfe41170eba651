/*
 * te-slowsync.c - an LD_PRELOAD object for bench/ingest: every fsync()
 * and fdatasync() of the process that loads it takes TE_SYNC_MS
 * milliseconds longer (default 10) than the disk's own.
 *
 * Why: store.sync = full is measured against a server that makes each
 * reading durable with its own fdatasync.  On the machines the benchmarks
 * run on a sync costs a fraction of a millisecond; on a Raspberry Pi's SD
 * card it costs 10-50 ms, and that latency is what grouping the syncs is
 * for.  The bench loads this object into both servers of the comparison,
 * so each pays the same added latency per sync; the real sync still runs
 * first, so nothing is made less durable.
 *
 * Built by bench/ingest itself (cc -shared); not part of the daemon.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

typedef int (*slowsync_fn)(int);

/* The added latency in nanoseconds, from TE_SYNC_MS. */
static long
slowsync_ns(void)
{
	const char	*s = getenv("TE_SYNC_MS");
	long		 ms = s != NULL ? atol(s) : 10;

	if (ms < 0 || ms > 1000)
		ms = 10;
	return (ms * 1000000L);
}

/* Sleep the added latency, whatever signals interrupt it. */
static void
slowsync_wait(void)
{
	struct timespec	ts;
	long		ns = slowsync_ns();

	ts.tv_sec = ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Run the real NAME on fd, then wait; errno is the real call's. */
static int
slowsync_call(const char *name, int fd)
{
	slowsync_fn	 real = (slowsync_fn)dlsym(RTLD_NEXT, name);
	int		 rc, saved;

	if (real == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	rc = real(fd);
	saved = errno;
	slowsync_wait();
	errno = saved;
	return (rc);
}

/* fdatasync(2), as the disk does it, then TE_SYNC_MS more. */
int
fdatasync(int fd)
{
	return (slowsync_call("fdatasync", fd));
}

/* fsync(2), as the disk does it, then TE_SYNC_MS more. */
int
fsync(int fd)
{
	return (slowsync_call("fsync", fd));
}
