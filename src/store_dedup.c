/*
 * store_dedup.c - which (node, kind, boot, seq) the store already holds.
 *
 * A repeated reading (a node that missed its ACK and sent again) is
 * acknowledged but stored once.  A unique index on the message table did
 * this once, and cost more than everything else: its entries are ordered
 * by node, so every group commit rewrote one index page per active node
 * (25 times the payload in writes at 100 nodes).  Instead the store keeps,
 * per node and kind, the seqs it holds for the node's current and previous
 * boot as a few sorted ranges: a node counting up is one range, each gap
 * (a reading never received) adds one.
 *
 * Bounds: DEDUP_RANGES ranges per boot (past that the lowest range is
 * forgotten), DEDUP_MAX entries (past that the least recently used entry
 * is forgotten).  A node on a bad link leaves about one gap per lost
 * exchange; 64 ranges cover well over the 4.5 s a CoAP client keeps
 * retransmitting even at a few losses a second (store-kill.sh loses
 * about two a second per node and sees repeats 8 s late).  Ranges are
 * allocated as they are needed: a node counting up costs one.  Forgetting can only let a very old repeat be stored
 * twice; it never refuses a reading.  Readings without a seq, and the
 * gateway's own tier-2 results, are never duplicates.
 *
 * The table survives restarts as a snapshot in the state table
 * (store_dedup_save_now(), with the message id it was taken at, every
 * minute and at stop); store_dedup_start() adds back the rows stored after
 * that id and the journal's records not yet in SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define DEDUP_BUCKETS	1024
#define DEDUP_MAX	16384	/* (node, kind) entries */
#define DEDUP_RANGES	64	/* seq ranges per boot */
#define DEDUP_SCAN	500000	/* rows read back without a snapshot */

/* Seqs [lo, hi] are stored. */
struct dedup_range {
	uint32_t	lo, hi;
};

/* What one boot of a node has stored. */
struct dedup_boot {
	uint32_t		 boot;
	uint8_t			 n, cap;
	struct dedup_range	*r;
};

/* One (node, kind). */
struct dedup {
	struct dedup		*next;
	char			*node;
	uint8_t			 kind;
	uint64_t		 used;		/* for least-recently-used */
	struct dedup_boot	 b[2];		/* current, previous boot */
};

static struct {
	struct dedup	*bucket[DEDUP_BUCKETS];
	size_t		 n;
	uint64_t	 clock;
} held;

/* FNV-1a of node and kind. */
static unsigned
store_dedup_hash(const char *node, unsigned kind)
{
	uint32_t	h = 2166136261u ^ kind;

	for (; *node != '\0'; node++)
		h = (h ^ (unsigned char)*node) * 16777619u;
	return (h % DEDUP_BUCKETS);
}

/* Free one entry. */
static void
store_dedup_free(struct dedup *d)
{
	free(d->b[0].r);
	free(d->b[1].r);
	free(d->node);
	free(d);
}

/* Forget the least recently used entry (the table is full). */
static void
store_dedup_evict(void)
{
	struct dedup	*d, **pp, **lru = NULL;
	size_t		 i;

	for (i = 0; i < DEDUP_BUCKETS; i++)
		for (pp = &held.bucket[i]; (d = *pp) != NULL; pp = &d->next)
			if (lru == NULL || d->used < (*lru)->used)
				lru = pp;
	if (lru == NULL)
		return;
	d = *lru;
	*lru = d->next;
	store_dedup_free(d);
	held.n--;
}

/* The entry of (node, kind); made when create is set, else NULL. */
static struct dedup *
store_dedup_find(const char *node, unsigned kind, int create)
{
	unsigned	 h = store_dedup_hash(node, kind);
	struct dedup	*d;

	for (d = held.bucket[h]; d != NULL; d = d->next)
		if (d->kind == kind && strcmp(d->node, node) == 0)
			break;
	if (d == NULL && create) {
		if (held.n >= DEDUP_MAX)
			store_dedup_evict();
		d = xcalloc(1, sizeof *d);
		d->node = xstrdup(node);
		d->kind = (uint8_t)kind;
		d->next = held.bucket[h];
		held.bucket[h] = d;
		held.n++;
	}
	if (d != NULL)
		d->used = ++held.clock;
	return (d);
}

/* Can this reading repeat an earlier one at all? */
static int
store_dedup_applies(enum store_kind kind, int64_t seq)
{
	return (seq >= 0 && seq <= UINT32_MAX && kind != STORE_KIND_TIER2);
}

/* The ranges of boot in d; made (shifting the older boot out) if create. */
static struct dedup_boot *
store_dedup_boot(struct dedup *d, uint32_t boot, int create)
{
	if (d->b[0].cap > 0 && d->b[0].boot == boot)
		return (&d->b[0]);
	if (d->b[1].cap > 0 && d->b[1].boot == boot)
		return (&d->b[1]);
	if (!create)
		return (NULL);
	if (d->b[0].cap == 0 || boot > d->b[0].boot) {
		/* A newer boot: the current one becomes the previous. */
		free(d->b[1].r);
		d->b[1] = d->b[0];
		memset(&d->b[0], 0, sizeof d->b[0]);
	} else {
		/* Late data of an older boot takes the previous slot. */
		free(d->b[1].r);
		memset(&d->b[1], 0, sizeof d->b[1]);
		d->b[1].boot = boot;
		d->b[1].cap = 1;
		d->b[1].r = xcalloc(1, sizeof *d->b[1].r);
		return (&d->b[1]);
	}
	d->b[0].boot = boot;
	d->b[0].cap = 1;
	d->b[0].r = xcalloc(1, sizeof *d->b[0].r);
	return (&d->b[0]);
}

/* Index of the first range with hi >= seq (n if none). */
static size_t
store_dedup_pos(const struct dedup_boot *b, uint32_t seq)
{
	size_t	lo = 0, hi = b->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (b->r[mid].hi < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Is seq in b's ranges? */
static int
store_dedup_has(const struct dedup_boot *b, uint32_t seq)
{
	size_t	i = store_dedup_pos(b, seq);

	return (i < b->n && b->r[i].lo <= seq);
}

/*
 * Add seqs [lo, hi] to b's ranges, merging what they touch; when there are
 * too many ranges the lowest is forgotten.
 */
static void
store_dedup_insert(struct dedup_boot *b, uint32_t lo, uint32_t hi)
{
	uint64_t	mlo = lo, mhi = hi;
	size_t		i, j;

	/* The first range that ends at or after lo - 1 (touching counts). */
	for (i = 0; i < b->n && (uint64_t)b->r[i].hi + 1 < lo; i++)
		;
	for (j = i; j < b->n && b->r[j].lo <= mhi + 1; j++) {
		if (b->r[j].lo < mlo)
			mlo = b->r[j].lo;
		if (b->r[j].hi > mhi)
			mhi = b->r[j].hi;
	}
	if (j == i) {
		/* A range of its own, between i - 1 and i. */
		if (b->n == b->cap) {
			b->cap = b->cap * 2 > DEDUP_RANGES + 1 ?
			    DEDUP_RANGES + 1 : b->cap * 2;
			b->r = xreallocarray(b->r, b->cap, sizeof *b->r);
		}
		memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof *b->r);
		b->n++;
		j = i + 1;
	}
	b->r[i].lo = (uint32_t)mlo;
	b->r[i].hi = (uint32_t)mhi;
	memmove(&b->r[i + 1], &b->r[j], (b->n - j) * sizeof *b->r);
	b->n -= (uint8_t)(j - i - 1);
	if (b->n > DEDUP_RANGES) {
		/* Forget the oldest seqs: a repeat of them would be stored. */
		memmove(&b->r[0], &b->r[1], (b->n - 1) * sizeof *b->r);
		b->n--;
	}
}

/* Has the store got this reading already? */
int
store_dedup_seen(const char *node, enum store_kind kind, uint32_t boot,
    int64_t seq)
{
	struct dedup		*d;
	struct dedup_boot	*b;

	if (!store_dedup_applies(kind, seq) ||
	    (d = store_dedup_find(node, kind, 0)) == NULL ||
	    (b = store_dedup_boot(d, boot, 0)) == NULL)
		return (0);
	return (store_dedup_has(b, (uint32_t)seq));
}

/* The store holds seqs [lo, hi] of this node, kind and boot now. */
static void
store_dedup_add_range(const char *node, enum store_kind kind, uint32_t boot,
    uint32_t lo, uint32_t hi)
{
	struct dedup	*d;

	d = store_dedup_find(node, kind, 1);
	store_dedup_insert(store_dedup_boot(d, boot, 1), lo, hi);
}

/* The store holds this reading now. */
void
store_dedup_add(const char *node, enum store_kind kind, uint32_t boot,
    int64_t seq)
{
	if (store_dedup_applies(kind, seq))
		store_dedup_add_range(node, kind, boot, (uint32_t)seq,
		    (uint32_t)seq);
}

/* Append n bytes of v, little-endian, to a growing buffer. */
static void
store_dedup_put(uint8_t **buf, size_t *len, size_t *cap, uint64_t v, int n)
{
	int	i;

	if (*len + (size_t)n > *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	for (i = 0; i < n; i++)
		(*buf)[(*len)++] = (uint8_t)(v >> (8 * i));
}

/*
 * The whole table as a blob for the state table: per entry the node
 * (length, bytes), the kind, and for both boots the boot, the range count
 * and the ranges.  Returns its length; *out is to be freed.
 */
size_t
store_dedup_save(uint8_t **out)
{
	struct dedup	*d;
	uint8_t		*buf = NULL;
	size_t		 len = 0, cap = 0, i, k, j, nl;

	store_dedup_put(&buf, &len, &cap, held.n, 4);
	for (i = 0; i < DEDUP_BUCKETS; i++) {
		for (d = held.bucket[i]; d != NULL; d = d->next) {
			nl = strlen(d->node);
			store_dedup_put(&buf, &len, &cap, nl, 1);
			for (j = 0; j < nl; j++)
				store_dedup_put(&buf, &len, &cap,
				    (uint8_t)d->node[j], 1);
			store_dedup_put(&buf, &len, &cap, d->kind, 1);
			for (k = 0; k < 2; k++) {
				store_dedup_put(&buf, &len, &cap,
				    d->b[k].boot, 4);
				store_dedup_put(&buf, &len, &cap, d->b[k].n, 1);
				for (j = 0; j < d->b[k].n; j++) {
					store_dedup_put(&buf, &len, &cap,
					    d->b[k].r[j].lo, 4);
					store_dedup_put(&buf, &len, &cap,
					    d->b[k].r[j].hi, 4);
				}
			}
		}
	}
	*out = buf;
	return (len);
}

/* Read n little-endian bytes at *p if there are; -1 past the end. */
static int64_t
store_dedup_get(const uint8_t **p, const uint8_t *end, int n)
{
	int64_t	v = 0;
	int	i;

	if (end - *p < n)
		return (-1);
	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | (*p)[i];
	*p += n;
	return (v);
}

/*
 * Load a blob of store_dedup_save() into the table (added to what it
 * holds); -1 when it is malformed (what was read stays: only fewer
 * repeats are recognized).
 */
int
store_dedup_load(const void *blob, size_t len)
{
	const uint8_t	*p = blob, *end = p + len;
	char		 node[256];
	int64_t		 count, nl, kind, boot, n, lo, hi, e, k, j;

	if ((count = store_dedup_get(&p, end, 4)) < 0)
		return (-1);
	for (e = 0; e < count; e++) {
		/* A NUL in the node would make an entry that saves empty. */
		if ((nl = store_dedup_get(&p, end, 1)) <= 0 || end - p < nl ||
		    memchr(p, '\0', (size_t)nl) != NULL)
			return (-1);
		memcpy(node, p, (size_t)nl);
		node[nl] = '\0';
		p += nl;
		if ((kind = store_dedup_get(&p, end, 1)) < 0)
			return (-1);
		/* The previous boot first, so the current stays current. */
		for (k = 1; k >= 0; k--) {
			if ((boot = store_dedup_get(&p, end, 4)) < 0 ||
			    (n = store_dedup_get(&p, end, 1)) < 0 ||
			    n > DEDUP_RANGES)
				return (-1);
			for (j = 0; j < n; j++) {
				if ((lo = store_dedup_get(&p, end, 4)) < 0 ||
				    (hi = store_dedup_get(&p, end, 4)) < lo)
					return (-1);
				if (kind != STORE_KIND_TIER2)
					store_dedup_add_range(node,
					    (enum store_kind)kind,
					    (uint32_t)boot, (uint32_t)lo,
					    (uint32_t)hi);
			}
		}
	}
	return (0);
}

/* Add one journal record to the repeats the store knows (at start). */
static void
store_dedup_record(const struct store_msg *m, uint64_t rseq, void *arg)
{
	(void)rseq;
	(void)arg;
	store_dedup_add(m->node, m->kind, m->boot, m->seq);
}

/* Load the snapshot of held readings; a damaged one is reported in arg. */
static void
store_dedup_snapshot(const char *key, const void *blob, size_t len,
    void *arg)
{
	int	*bad = arg;

	if (strcmp(key, "dedup_ranges") == 0 && store_dedup_load(blob,
	    len) != 0)
		*bad = 1;
}

/*
 * Rebuild the table of held readings: the last snapshot, the rows stored
 * after it, and the journal's records not yet in SQLite. Without a usable
 * snapshot the last DEDUP_SCAN rows are read instead.
 */
int
store_dedup_start(sqlite3 *db, int64_t msg_last, uint64_t committed)
{
	sqlite3_stmt	*s;
	int64_t		 mark;
	int		 rc, bad = 0;

	store_dedup_clear();
	if ((rc = store_state_get_int("dedup_mark", &mark)) != SQLITE_OK)
		return (rc);
	if (mark != 0 && (store_state_scan("dedup_ranges",
	    store_dedup_snapshot, &bad) != 0 || bad)) {
		store_dedup_clear();
		mark = 0;
	}
	if (mark == 0)
		mark = msg_last > DEDUP_SCAN ? msg_last -
		    DEDUP_SCAN : 0;
	if ((rc = sqlite3_prepare_v2(db, "SELECT node, kind, boot, seq "
	    "FROM msg WHERE id > ?1 AND seq IS NOT NULL ORDER BY id", -1, &s,
	    NULL)) != SQLITE_OK)
		return (rc);
	sqlite3_bind_int64(s, 1, mark);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		store_dedup_add((const char *)sqlite3_column_text(s, 0),
		    (enum store_kind)sqlite3_column_int(s, 1),
		    (uint32_t)sqlite3_column_int64(s, 2),
		    sqlite3_column_int64(s, 3));
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return (rc);
	store_journal_replay(committed, store_dedup_record, NULL);
	return (SQLITE_OK);
}

/* Save the table of held readings, in the open transaction. */
int
store_dedup_save_now(int64_t msg_next)
{
	uint8_t	*blob;
	size_t	 len;
	int	 rc;

	len = store_dedup_save(&blob);
	rc = store_state_set("dedup_ranges", blob, len);
	free(blob);
	if (rc == 0)
		rc = store_state_set_int("dedup_mark", msg_next);
	return (rc);
}

/* Forget everything (the store stops). */
void
store_dedup_clear(void)
{
	struct dedup	*d, *next;
	size_t		 i;

	for (i = 0; i < DEDUP_BUCKETS; i++) {
		for (d = held.bucket[i]; d != NULL; d = next) {
			next = d->next;
			store_dedup_free(d);
		}
	}
	memset(&held, 0, sizeof held);
}
