/*
 * store_journal.c - the store's append-only journal: what makes a reading
 * durable before it reaches SQLite, at the price of one write.
 *
 * A reading is acknowledged once it is here (store.sync = normal: written
 * to the file, so it survives kill -9; store.sync = full: covered by an
 * fdatasync, so it survives power loss).  SQLite then gets it in group
 * commits, off the acknowledgement path, and on start every record not yet
 * in SQLite is replayed into it, once (the store keeps the last record it
 * applied in the same transaction as the rows).
 *
 * Files: data_dir/journal/seg.NNN, each seg_size bytes, zero-filled when
 * made (so later writes never allocate blocks: a full disk cannot fail a
 * write into an existing segment, and fdatasync has no metadata to flush).
 * One segment is active; records are appended to it; a full one is set
 * aside and a free one taken: free means every record in it is in SQLite
 * (safely enough for store.sync: committed for normal, checkpointed for
 * full).  Segments are made on demand up to the journal's byte cap; with
 * none free the journal is full and the store refuses (5.03) until SQLite
 * catches up.  Segments are reused, never deleted: on an SD card rewriting
 * the same blocks within the kernel's writeback window costs one write.
 *
 * A record: crc32 (zlib, over the rest), length, rseq (a sequence number
 * over the whole journal), rx_ms, ts_ms, seq, boot, kind, node length,
 * then the node id and the body.  A segment is read from its start while
 * records check out and their rseqs follow each other: a torn tail fails
 * its CRC, and what an earlier use of the segment left behind has older
 * rseqs, so neither is ever taken for a reading.
 *
 * Syncs (store.sync = full) run in the libuv pool: readings written while
 * one runs wait for the next, so one fdatasync covers everything that
 * arrived meanwhile; their waiters are called back on the loop.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>
#include <zlib.h>

#include "daemon.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define JNL_HDR		48		/* record header bytes */
#define JNL_SEG_MIN	(256 * 1024)	/* smallest segment */
#define JNL_NODE_MAX	255

/* One segment file. */
struct jseg {
	int		 fd;
	unsigned	 idx;		/* seg.NNN */
	size_t		 used;		/* bytes written in this use */
	uint64_t	 first, last;	/* rseqs in this use; 0: none */
	int		 dirty;		/* written since its last sync */
};

/* A reading waiting for the sync that covers it. */
struct jwait {
	uint64_t	 rseq;
	store_done_cb	 cb;
	void		*arg;
	enum store_result result;
};

/* Making a spare segment in the pool. */
struct jmake {
	uv_work_t	 req;
	unsigned	 idx;
	int		 fd;
	int		 err;
};

/* One sync in the pool: the segments it covers. */
struct jsync {
	uv_work_t	 req;
	int		*fds;
	size_t		 nfds;
	uint64_t	 upto;		/* rseqs covered */
	int		 err;		/* errno of a failed fdatasync */
};

static struct {
	char		*dir;
	struct jseg	*seg;
	size_t		 nseg, maxseg;
	size_t		 seg_size;
	size_t		 active;
	uint64_t	 next;		/* rseq of the next record */
	uint64_t	 free_upto;	/* records <= this may be overwritten */
	uint64_t	 synced;	/* records <= this are fdatasync'ed */
	uint8_t		*buf;
	size_t		 szbuf;
	struct jwait	*wait;
	size_t		 nwait, szwait, wait0;
	struct jsync	*running;
	struct jmake	*making;
	int		 make_err;
	int		 closing;
	uint64_t	 syncs, sync_us, writes, bytes;
	uint64_t	 sync_start;
} journal;

/* Little-endian stores and loads. */
static void
jr_put(uint8_t *p, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Load n little-endian bytes. */
static uint64_t
jr_get(const uint8_t *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return (v);
}

/* Open (and make, zero-filled, when create is set) segment idx. */
static int
store_journal_file(unsigned idx, int create, int *fdp)
{
	static const uint8_t	 zero[65536];
	char			*path;
	size_t			 off;
	ssize_t			 n;
	int			 fd, saved;

	xasprintf(&path, "%s/seg.%03u", journal.dir, idx);
	fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0),
	    0600);
	if (fd == -1 || !create) {
		saved = errno;
		free(path);
		errno = saved;
		*fdp = fd;
		return (fd == -1 ? -1 : 0);
	}
	for (off = 0; off < journal.seg_size; off += (size_t)n) {
		n = pwrite(fd, zero, journal.seg_size - off < sizeof zero ?
		    journal.seg_size - off : sizeof zero, (off_t)off);
		if (n <= 0)
			break;
	}
	if (off < journal.seg_size || fdatasync(fd) == -1) {
		/* No half-made segment stays behind (a full disk). */
		saved = errno ? errno : ENOSPC;
		close(fd);
		unlink(path);
		free(path);
		errno = saved;
		return (-1);
	}
	free(path);
	*fdp = fd;
	return (0);
}

/*
 * Check the record at p (avail bytes left in the segment); its length, or
 * 0 when there is no valid record there.
 */
static size_t
store_journal_check(const uint8_t *p, size_t avail)
{
	uint64_t	len;

	if (avail < JNL_HDR)
		return (0);
	len = jr_get(p + 4, 4);
	if (len < JNL_HDR || len > avail || len < (uint64_t)JNL_HDR + p[45])
		return (0);
	if (crc32(0L, p + 4, (uInt)(len - 4)) != (uLong)jr_get(p, 4))
		return (0);
	return ((size_t)len);
}

/* Decode a checked record into m (pointing into p); returns its rseq. */
static uint64_t
store_journal_decode(const uint8_t *p, size_t len, struct store_msg *m,
    char *node)
{
	memset(m, 0, sizeof *m);
	memcpy(node, p + JNL_HDR, p[45]);
	node[p[45]] = '\0';
	m->node = node;
	m->rx_ms = jr_get(p + 16, 8);
	m->ts_ms = (int64_t)jr_get(p + 24, 8);
	m->seq = (int64_t)jr_get(p + 32, 8);
	m->boot = (uint32_t)jr_get(p + 40, 4);
	m->kind = (enum store_kind)p[44];
	m->body = p + JNL_HDR + p[45];
	m->len = len - JNL_HDR - p[45];
	return (jr_get(p + 8, 8));
}

/*
 * Walk the valid records of one segment read into buf (n bytes): their
 * first and last rseq and the bytes they take.  With cb, hand each record
 * with rseq > after to it.
 */
static size_t
store_journal_walk(const uint8_t *buf, size_t n, uint64_t *first,
    uint64_t *last, uint64_t after, store_journal_cb cb, void *arg)
{
	struct store_msg	m;
	char			node[JNL_NODE_MAX + 1];
	uint64_t		rseq, expect = 0;
	size_t			off = 0, len;

	*first = *last = 0;
	while ((len = store_journal_check(buf + off, n - off)) > 0) {
		rseq = store_journal_decode(buf + off, len, &m, node);
		if (rseq == 0 || (expect != 0 && rseq != expect))
			break;
		if (*first == 0)
			*first = rseq;
		*last = rseq;
		expect = rseq + 1;
		if (cb != NULL && rseq > after)
			cb(&m, rseq, arg);
		off += len;
	}
	return (off);
}

/* Read a whole segment into a new buffer; NULL on error. */
static uint8_t *
store_journal_read(int fd, size_t *n)
{
	uint8_t	*buf = xmalloc(journal.seg_size);
	ssize_t	 r;
	size_t	 off = 0;

	while (off < journal.seg_size) {
		r = pread(fd, buf + off, journal.seg_size - off, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	*n = off;
	return (buf);
}

/* qsort order of segments: by first rseq (empty ones first). */
static int
store_journal_cmp(const void *a, const void *b)
{
	const struct jseg	*x = a, *y = b;

	return (x->first < y->first ? -1 : x->first > y->first);
}

/* qsort order of segment pointers: by first rseq. */
static int
store_journal_cmp_ptr(const void *a, const void *b)
{
	return (store_journal_cmp(*(const struct jseg *const *)a,
	    *(const struct jseg *const *)b));
}

/* Find the segment files in the directory and what each holds. */
static int
store_journal_scan(char **cause)
{
	struct dirent	*de;
	DIR		*d;
	struct jseg	*s;
	uint8_t		*buf;
	unsigned	 idx;
	size_t		 n;
	char		 extra;

	if ((d = opendir(journal.dir)) == NULL) {
		xasprintf(cause, "%s: %s", journal.dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "seg.%3u%c", &idx, &extra) != 1)
			continue;
		journal.seg = xreallocarray(journal.seg, journal.nseg + 1,
		    sizeof *journal.seg);
		s = &journal.seg[journal.nseg];
		memset(s, 0, sizeof *s);
		s->idx = idx;
		if (store_journal_file(idx, 0, &s->fd) != 0) {
			xasprintf(cause, "%s/%s: %s", journal.dir, de->d_name,
			    strerror(errno));
			closedir(d);
			return (-1);
		}
		journal.nseg++;
		buf = store_journal_read(s->fd, &n);
		s->used = store_journal_walk(buf, n, &s->first, &s->last, 0,
		    NULL, NULL);
		free(buf);
		if (s->last >= journal.next)
			journal.next = s->last + 1;
	}
	closedir(d);
	if (journal.nseg > 0)
		qsort(journal.seg, journal.nseg, sizeof *journal.seg,
		    store_journal_cmp);
	if (journal.next == 0)
		journal.next = 1;
	return (0);
}

/*
 * Open the journal in dir: segments of at least seg_size bytes (one must
 * hold the largest record), at most max_bytes of them; new records follow
 * committed, the last one SQLite holds.  Existing segments
 * are read; nothing is replayed until store_journal_replay().
 */
int
store_journal_open(const char *dir, size_t seg_size, size_t max_bytes,
    uint64_t committed, char **cause)
{
	memset(&journal, 0, sizeof journal);
	journal.dir = xstrdup(dir);
	journal.seg_size = seg_size < JNL_SEG_MIN ? JNL_SEG_MIN : seg_size;
	journal.maxseg = max_bytes / journal.seg_size;
	if (journal.maxseg < 2)
		journal.maxseg = 2;
	if (mkdir(journal.dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", journal.dir, strerror(errno));
		return (-1);
	}
	if (store_journal_scan(cause) != 0)
		return (-1);
	/*
	 * Never hand out an rseq SQLite already has (segments lost, or a
	 * committed record torn): the replay skips those.
	 */
	if (journal.next <= committed)
		journal.next = committed + 1;
	if (journal.nseg > journal.maxseg)
		journal.maxseg = journal.nseg;
	/* Two segments from the start: the loop never waits to make one. */
	while (journal.nseg < 2) {
		journal.seg = xreallocarray(journal.seg, journal.nseg + 1,
		    sizeof *journal.seg);
		memset(&journal.seg[journal.nseg], 0, sizeof *journal.seg);
		journal.seg[journal.nseg].idx = (unsigned)journal.nseg;
		while (store_journal_file(journal.seg[journal.nseg].idx, 0,
		    &journal.seg[journal.nseg].fd) == 0) {
			close(journal.seg[journal.nseg].fd);
			journal.seg[journal.nseg].idx++;
		}
		if (store_journal_file(journal.seg[journal.nseg].idx, 1,
		    &journal.seg[journal.nseg].fd) != 0) {
			xasprintf(cause, "%s: cannot make a journal segment: "
			    "%s", journal.dir, strerror(errno));
			return (-1);
		}
		journal.nseg++;
	}
	/* No segment is active until the first append takes a free one. */
	journal.active = SIZE_MAX;
	log_info("store: journal %s: %zu segments of %zu KB, up to %zu",
	    journal.dir, journal.nseg, journal.seg_size / 1024, journal.maxseg);
	return (0);
}

/*
 * Hand every record with rseq > after to cb, in rseq order (at start, or
 * when SQLite takes writes again, to put into it what it does not have).
 */
void
store_journal_replay(uint64_t after, store_journal_cb cb, void *arg)
{
	struct jseg	*s, **order;
	uint8_t		*buf;
	uint64_t	 first, last;
	size_t		 i, k, n;

	/*
	 * In rseq order: a reused segment early in the array may hold newer
	 * records than one made later, and the store applies in order.
	 */
	order = xreallocarray(NULL, journal.nseg ? journal.nseg : 1,
	    sizeof *order);
	for (i = k = 0; i < journal.nseg; i++) {
		if (journal.seg[i].last > after)
			order[k++] = &journal.seg[i];
	}
	qsort(order, k, sizeof *order, store_journal_cmp_ptr);
	for (i = 0; i < k; i++) {
		s = order[i];
		buf = store_journal_read(s->fd, &n);
		store_journal_walk(buf, n, &first, &last, after, cb, arg);
		free(buf);
	}
	free(order);
}

/* Records <= rseq are safely in SQLite: their segments may be reused. */
void
store_journal_release(uint64_t rseq)
{
	if (rseq > journal.free_upto)
		journal.free_upto = rseq;
}

/* The pool side of making a spare segment. */
static void
store_journal_make_work(uv_work_t *req)
{
	struct jmake	*jm = req->data;

	if (store_journal_file(jm->idx, 1, &jm->fd) != 0)
		jm->err = errno;
}

/* Back on the loop: a spare segment is ready (or could not be made). */
static void
store_journal_make_done(uv_work_t *req, int status)
{
	struct jmake	*jm = req->data;
	struct jseg	*s;

	journal.making = NULL;
	if (status == 0 && jm->err == 0) {
		journal.seg = xreallocarray(journal.seg, journal.nseg + 1,
		    sizeof *journal.seg);
		s = &journal.seg[journal.nseg++];
		memset(s, 0, sizeof *s);
		s->fd = jm->fd;
		s->idx = jm->idx;
		journal.make_err = 0;
	} else if (journal.make_err != (jm->err ? jm->err : ECANCELED)) {
		journal.make_err = jm->err ? jm->err : ECANCELED;
		log_warnx("store: cannot make a journal segment in %s: %s",
		    journal.dir, strerror(journal.make_err));
	}
	free(jm);
	if (journal.closing && journal.running == NULL)
		store_journal_close();
}

/* Is segment i free to be written from its start? */
static int
store_journal_is_free(size_t i)
{
	return (i != journal.active &&
	    journal.seg[i].last <= journal.free_upto);
}

/*
 * Keep one free segment ahead: when none is left and the cap allows, make
 * one in the pool (zero-filling and syncing a file must not stall the
 * loop).
 */
void
store_journal_spare(void)
{
	struct jmake	*jm;
	unsigned	 idx;
	size_t		 i;

	if (journal.making != NULL || journal.closing ||
	    journal.nseg >= journal.maxseg)
		return;
	for (i = 0; i < journal.nseg; i++)
		if (store_journal_is_free(i))
			return;
	/* The lowest unused file number. */
	for (idx = 0;; idx++) {
		for (i = 0; i < journal.nseg && journal.seg[i].idx != idx; i++)
			;
		if (i == journal.nseg)
			break;
	}
	jm = xcalloc(1, sizeof *jm);
	jm->idx = idx;
	jm->fd = -1;
	jm->req.data = jm;
	journal.making = jm;
	uv_queue_work(daemon_loop(), &jm->req, store_journal_make_work,
	    store_journal_make_done);
}

/* A free segment to write into next; NULL (errno ENOSPC) if none. */
static struct jseg *
store_journal_take(void)
{
	struct jseg	*s;
	size_t		 i;

	for (i = 0; i < journal.nseg; i++) {
		if (!store_journal_is_free(i))
			continue;
		s = &journal.seg[i];
		s->used = 0;
		s->first = s->last = 0;
		journal.active = i;
		store_journal_spare();
		return (s);
	}
	store_journal_spare();
	errno = ENOSPC;
	return (NULL);
}

/* Build the record for m with rseq into jr.buf; its length. */
static size_t
store_journal_build(const struct store_msg *m, uint64_t rseq)
{
	size_t	nlen = strlen(m->node), len;

	len = JNL_HDR + nlen + m->len;
	if (len > journal.szbuf) {
		journal.szbuf = len;
		journal.buf = xreallocarray(journal.buf, len, 1);
	}
	memset(journal.buf, 0, JNL_HDR);
	jr_put(journal.buf + 4, len, 4);
	jr_put(journal.buf + 8, rseq, 8);
	jr_put(journal.buf + 16, m->rx_ms, 8);
	jr_put(journal.buf + 24, (uint64_t)m->ts_ms, 8);
	jr_put(journal.buf + 32, (uint64_t)m->seq, 8);
	jr_put(journal.buf + 40, m->boot, 4);
	journal.buf[44] = (uint8_t)m->kind;
	journal.buf[45] = (uint8_t)nlen;
	memcpy(journal.buf + JNL_HDR, m->node, nlen);
	if (m->len > 0)
		memcpy(journal.buf + JNL_HDR + nlen, m->body, m->len);
	jr_put(journal.buf, crc32(0L, journal.buf + 4, (uInt)(len - 4)), 4);
	return (len);
}

/*
 * Append one reading: one pwrite.  Returns 0 with its rseq, or -1 with
 * errno (ENOSPC: no free segment, the journal is full).
 */
int
store_journal_append(const struct store_msg *m, uint64_t *rseq)
{
	struct jseg	*s;
	size_t		 len;
	ssize_t		 n;

	if (strlen(m->node) > JNL_NODE_MAX) {
		errno = EINVAL;
		return (-1);
	}
	len = store_journal_build(m, journal.next);
	if (len > journal.seg_size) {
		errno = EFBIG;
		return (-1);
	}
	s = journal.active < journal.nseg ? &journal.seg[journal.active] : NULL;
	/* Records of one use of a segment follow each other (see the top). */
	if (s == NULL || s->used + len > journal.seg_size ||
	    (s->last != 0 && s->last + 1 != journal.next)) {
		if ((s = store_journal_take()) == NULL)
			return (-1);
	}
	do
		n = pwrite(s->fd, journal.buf, len, (off_t)s->used);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		return (-1);
	}
	s->used += len;
	if (s->first == 0)
		s->first = journal.next;
	s->last = journal.next;
	s->dirty = 1;
	journal.writes++;
	journal.bytes += len;
	*rseq = journal.next++;
	return (0);
}

/* The pool side of a sync: fdatasync every segment it covers. */
static void
store_journal_sync_work(uv_work_t *req)
{
	struct jsync	*js = req->data;
	size_t		 i;

	for (i = 0; i < js->nfds; i++)
		if (fdatasync(js->fds[i]) == -1 && js->err == 0)
			js->err = errno;
}

static void	store_journal_sync_done(uv_work_t *, int);

/* Start a sync of everything written so far, unless one runs. */
static void
store_journal_sync_start(void)
{
	struct jsync	*js;
	size_t		 i;

	if (journal.running != NULL || journal.synced + 1 >= journal.next)
		return;
	js = xcalloc(1, sizeof *js);
	js->fds = xcalloc(journal.nseg, sizeof *js->fds);
	for (i = 0; i < journal.nseg; i++) {
		if (!journal.seg[i].dirty)
			continue;
		journal.seg[i].dirty = 0;
		js->fds[js->nfds++] = journal.seg[i].fd;
	}
	js->upto = journal.next - 1;
	js->req.data = js;
	journal.running = js;
	journal.sync_start = (uv_hrtime() / 1000);
	uv_queue_work(daemon_loop(), &js->req, store_journal_sync_work,
	    store_journal_sync_done);
}

/* Call the waiters whose readings the last sync covered. */
static void
store_journal_wake(enum store_result fail)
{
	struct jwait	*w;

	while (journal.wait0 < journal.nwait) {
		w = &journal.wait[journal.wait0];
		if (w->rseq > journal.synced && fail == STORE_OK)
			break;
		journal.wait0++;
		w->cb(fail == STORE_OK ? w->result : fail, w->arg);
	}
	if (journal.wait0 == journal.nwait)
		journal.wait0 = journal.nwait = 0;
}

/* Back on the loop: a sync finished; wake its waiters, start the next. */
static void
store_journal_sync_done(uv_work_t *req, int status)
{
	struct jsync	*js = req->data;

	journal.running = NULL;
	journal.syncs++;
	journal.sync_us += (uv_hrtime() / 1000) - journal.sync_start;
	if (status == 0 && js->err == 0) {
		journal.synced = js->upto;
		store_journal_wake(STORE_OK);
	} else {
		/* Not durable: those readings are refused, not acknowledged. */
		log_warnx("store: journal fdatasync: %s", strerror(js->err ?
		    js->err : EIO));
		store_journal_wake(STORE_REFUSED);
	}
	free(js->fds);
	free(js);
	if (journal.closing && journal.making == NULL)
		store_journal_close();
	else if (journal.closing)
		return;
	else
		store_journal_sync_start();
}

/*
 * store.sync = full: call cb(result) once the reading with this rseq is
 * covered by an fdatasync (STORE_REFUSED if that sync fails).
 */
void
store_journal_wait(uint64_t rseq, enum store_result result, store_done_cb cb,
    void *arg)
{
	struct jwait	*w;

	if (rseq <= journal.synced) {
		cb(result, arg);
		return;
	}
	if (journal.nwait == journal.szwait) {
		journal.szwait = journal.szwait ? journal.szwait * 2 : 256;
		journal.wait = xreallocarray(journal.wait, journal.szwait,
		    sizeof *journal.wait);
	}
	w = &journal.wait[journal.nwait++];
	w->rseq = rseq;
	w->result = result;
	w->cb = cb;
	w->arg = arg;
	store_journal_sync_start();
}

/* The rseq of the last record written (0: none yet). */
uint64_t
store_journal_last(void)
{
	return (journal.next - 1);
}

/* The rseq of the last record an fdatasync covers. */
uint64_t
store_journal_synced(void)
{
	return (journal.synced);
}

/* Numbers for metrics: segments, writes, bytes, syncs and their time. */
void
store_journal_stats(struct store_journal_stats *js)
{
	size_t	i;

	memset(js, 0, sizeof *js);
	js->segments = journal.nseg;
	js->max_segments = journal.maxseg;
	for (i = 0; i < journal.nseg; i++)
		js->busy += journal.seg[i].last > journal.free_upto;
	js->writes = journal.writes;
	js->bytes = journal.bytes;
	js->syncs = journal.syncs;
	js->sync_us = journal.sync_us;
}

/*
 * Close the files.  A sync still running is waited for (its waiters are
 * called then) and the files are closed in its completion.
 */
void
store_journal_close(void)
{
	size_t	i;

	if (journal.dir == NULL)
		return;
	if (journal.running != NULL || journal.making != NULL) {
		journal.closing = 1;
		return;
	}
	if (journal.nwait > journal.wait0 && !journal.closing) {
		/* Readings still waiting get their sync before we go. */
		journal.closing = 1;
		store_journal_sync_start();
		if (journal.running != NULL)
			return;
	}
	store_journal_wake(STORE_REFUSED);
	for (i = 0; i < journal.nseg; i++)
		close(journal.seg[i].fd);
	free(journal.seg);
	free(journal.buf);
	free(journal.wait);
	free(journal.dir);
	memset(&journal, 0, sizeof journal);
}
