/*
 * ingest_coap_block.c - Block1 uploads (RFC 7959), reassembled by us.
 *
 * libcoap 4.3.1 can reassemble a Block1 body itself, but it does so before
 * any handler runs: it answers 2.31 to every block from anyone, allocates
 * whatever Size1 claims, and only hands the handler the finished body, so
 * no rule (DTLS only, max_body, the route) could stop an upload early.  The
 * daemon therefore runs libcoap without block handling and keeps uploads
 * here.  The handler decides at the first block (route, method, DTLS rule,
 * Size1 against max_body, content-format) before it calls us; every later
 * block must continue an upload we hold, in order.
 *
 * An upload is keyed by its peer (address and port: with DTLS that is the
 * session), its node resource and its Request-Tag option (RFC 9175): a
 * node may send two bodies to one resource at once under two tags, and
 * they must not be spliced into one.  No Request-Tag is a tag of its own.
 *
 * Bounds: a body grows block by block up to the caller's maximum (never
 * allocated from Size1); at most BLOCK_MAX uploads receive blocks at once
 * and at most BLOCK_PER_PEER from one host (any port).  Past a bound a new
 * upload is refused (BLOCK_BUSY: the caller answers 5.03 with Max-Age) and
 * the bound is logged, at most once per BLOCK_LOG_MS; uploads in progress
 * are never evicted for a newcomer.  An upload with no block for
 * BLOCK_IDLE_MS is dropped by the housekeeping check (or when its slot is
 * wanted).  A block that does not continue an open upload (a lone block
 * with num != 0, a gap, a change of content-format, a different
 * Request-Tag) is not a body: 4.08.
 *
 * A finished upload keeps its slot (without its buffer) until it idles
 * out, with the answer its last block got: a node whose final ACK was lost
 * retransmits that block and gets the same answer again, instead of a 4.08
 * that would make it send the whole body once more.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "ingest_coap_int.h"
#include "log.h"
#include "xmalloc.h"

#define BLOCK_LOG_MS	10000	/* one "refused" line per this at most */
#define BLOCK_XSTR(n)	#n
#define BLOCK_STR(n)	BLOCK_XSTR(n)

/* One upload in progress. */
struct upload {
	coap_address_t	 peer;
	char		 node[MESSAGE_NODE_MAX + 1];
	int		 type;		/* enum message_type */
	uint8_t		 rtag[BLOCK_RTAG_MAX];
	int		 rtaglen;	/* -1: no Request-Tag option */
	int		 cf;		/* content-format of the first block */
	uint8_t		*buf;
	size_t		 len, cap;
	uint32_t	 next;		/* the block number expected next */
	uint64_t	 last_ms;
	int		 used;
	int		 finished;	/* body handled; kept for repeats */
	int		 code;		/* the answer it got; 0: pending */
};

static struct upload	block_up[BLOCK_MAX];

/*
 * Refusals for want of a slot, by bound (0: per host, 1: the table), each
 * logged at most once per BLOCK_LOG_MS with a count of those held back.
 */
static struct {
	uint64_t	last_ms;
	int		logged;
	uint64_t	held;
} block_full[2];

/* Two addresses are the same peer (address and port). */
static int
ingest_coap_block_same_peer(const coap_address_t *a, const coap_address_t *b)
{
	return (coap_address_equals(a, b));
}

/* Two addresses share a host (the per-peer bound ignores ports). */
static int
ingest_coap_block_same_host(const coap_address_t *a, const coap_address_t *b)
{
	if (a->addr.sa.sa_family != b->addr.sa.sa_family)
		return (0);
	if (a->addr.sa.sa_family == AF_INET6)
		return (memcmp(&a->addr.sin6.sin6_addr, &b->addr.sin6.sin6_addr,
		    sizeof a->addr.sin6.sin6_addr) == 0);
	return (a->addr.sin.sin_addr.s_addr == b->addr.sin.sin_addr.s_addr);
}

/* Free one upload's buffer and its slot. */
static void
ingest_coap_block_free(struct upload *u)
{
	free(u->buf);
	memset(u, 0, sizeof *u);
}

/*
 * The upload of this key (peer, node resource, Request-Tag), or NULL.
 * RFC 9175: uploads with different Request-Tags are different bodies, and
 * an absent Request-Tag is a value of its own, distinct from an empty one.
 */
static struct upload *
ingest_coap_block_find(const struct block_key *k)
{
	struct upload	*u;
	size_t		 i;

	for (i = 0; i < BLOCK_MAX; i++) {
		u = &block_up[i];
		if (u->used && u->type == k->type &&
		    u->rtaglen == k->rtaglen && (k->rtaglen <= 0 ||
		    memcmp(u->rtag, k->rtag, (size_t)k->rtaglen) == 0) &&
		    strcmp(u->node, k->node) == 0 &&
		    ingest_coap_block_same_peer(&u->peer, k->peer))
			return (u);
	}
	return (NULL);
}

/* Say (once per BLOCK_LOG_MS and bound at most) that an upload was refused. */
static void
ingest_coap_block_refused(int bound, const char *why, uint64_t now)
{
	char	more[64] = "";

	if (block_full[bound].logged &&
	    now - block_full[bound].last_ms < BLOCK_LOG_MS) {
		block_full[bound].held++;
		return;
	}
	if (block_full[bound].held > 0)
		snprintf(more, sizeof more, " (and %" PRIu64 " more since the "
		    "last line)", block_full[bound].held);
	log_info("coap: Block1 upload refused: %s%s", why, more);
	block_full[bound].logged = 1;
	block_full[bound].last_ms = now;
	block_full[bound].held = 0;
}

/*
 * A slot for a new upload, or NULL when the bounds are reached: this host
 * already has BLOCK_PER_PEER uploads receiving blocks, or all BLOCK_MAX
 * slots hold uploads receiving blocks.  A finished upload (kept only to
 * answer a repeat of its last block) or an idle one gives way to a new
 * upload.  Uploads in progress are never evicted: a peer opening many
 * uploads must not be able to cut short the uploads of others.
 */
static struct upload *
ingest_coap_block_slot(const coap_address_t *peer, uint64_t now)
{
	struct upload	*u, *spare = NULL;
	size_t		 i, host = 0, busy = 0;

	for (i = 0; i < BLOCK_MAX; i++) {
		u = &block_up[i];
		if (u->used && !u->finished && now - u->last_ms >=
		    BLOCK_IDLE_MS)
			ingest_coap_block_free(u);
		if (!u->used) {
			if (spare == NULL || spare->used)
				spare = u;
			continue;
		}
		if (u->finished) {
			if (spare == NULL || (spare->used &&
			    u->last_ms < spare->last_ms))
				spare = u;
			continue;
		}
		busy++;
		if (ingest_coap_block_same_host(&u->peer, peer))
			host++;
	}
	if (host >= BLOCK_PER_PEER) {
		ingest_coap_block_refused(0, "this address has "
		    BLOCK_STR(BLOCK_PER_PEER) " uploads open (BLOCK_PER_PEER)",
		    now);
		return (NULL);
	}
	if (spare == NULL) {
		ingest_coap_block_refused(1, BLOCK_STR(BLOCK_MAX) " uploads "
		    "open (BLOCK_MAX)", now);
		return (NULL);
	}
	if (spare->used)
		ingest_coap_block_free(spare);
	return (spare);
}

/* Append a block's bytes, growing the buffer by doubling up to max. */
static int
ingest_coap_block_append(struct upload *u, const uint8_t *data, size_t len,
    size_t max)
{
	size_t	cap;

	if (len > max || u->len > max - len)
		return (-1);
	if (u->len + len > u->cap) {
		cap = u->cap ? u->cap : 1024;
		while (cap < u->len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		u->buf = xreallocarray(u->buf, cap, 1);
		u->cap = cap;
	}
	/* An empty block on an empty upload: no buffer, nothing to copy. */
	if (len == 0)
		return (0);
	memcpy(u->buf + u->len, data, len);
	u->len += len;
	return (0);
}

/*
 * Take one block of an upload: k says whose (peer, node resource,
 * Request-Tag), b is the request's Block1 option, max the body limit
 * (max_body).  On BLOCK_DONE *out is the finished upload: read its body
 * with ingest_coap_block_body(), then hand it back with
 * ingest_coap_block_done().
 */
enum block_step
ingest_coap_block_put(const struct block_key *k, int cf,
    const coap_block_b_t *b, const uint8_t *data, size_t len, size_t max,
    uint64_t now, struct upload **out)
{
	struct upload	*u;
	size_t		 size = (size_t)1 << (b->szx + 4), offset;

	*out = NULL;
	if (k->rtaglen > BLOCK_RTAG_MAX)
		return (BLOCK_INCOMPLETE);
	u = ingest_coap_block_find(k);
	if (u != NULL && u->finished && b->num != 0) {
		if (b->num + 1 != u->next || b->m)
			return (BLOCK_INCOMPLETE);
		u->last_ms = now;
		*out = u;
		return (BLOCK_REPEAT);
	}
	if (b->num == 0) {
		/* A first block (re)starts the upload. */
		if (u != NULL)
			ingest_coap_block_free(u);
		if ((u = ingest_coap_block_slot(k->peer, now)) == NULL)
			return (BLOCK_BUSY);
		u->used = 1;
		u->peer = *k->peer;
		snprintf(u->node, sizeof u->node, "%s", k->node);
		u->type = k->type;
		u->rtaglen = k->rtaglen;
		if (k->rtaglen > 0)
			memcpy(u->rtag, k->rtag, (size_t)k->rtaglen);
		u->cf = cf;
	} else if (u == NULL || u->cf != cf)
		return (BLOCK_INCOMPLETE);
	else if (b->num + 1 == u->next && b->m) {
		/* A retransmission of the block we acknowledged last. */
		u->last_ms = now;
		return (BLOCK_AGAIN);
	}
	offset = (size_t)b->num << (b->szx + 4);
	if (offset != u->len || (b->m && len != size)) {
		ingest_coap_block_free(u);
		return (BLOCK_INCOMPLETE);
	}
	if (ingest_coap_block_append(u, data, len, max) != 0) {
		ingest_coap_block_free(u);
		return (BLOCK_TOO_LARGE);
	}
	u->next = b->num + 1;
	u->last_ms = now;
	if (b->m)
		return (BLOCK_MORE);
	*out = u;
	return (BLOCK_DONE);
}

/* The assembled body of a finished upload. */
const uint8_t *
ingest_coap_block_body(const struct upload *u, size_t *len)
{
	*len = u->len;
	return (u->buf != NULL ? u->buf : (const uint8_t *)"");
}

/*
 * A finished upload has been handled with answer code (0: the answer is
 * still pending): free its body, keep the slot to answer repeats.
 */
void
ingest_coap_block_done(struct upload *u, int code)
{
	if (u == NULL)
		return;
	free(u->buf);
	u->buf = NULL;
	u->len = u->cap = 0;
	u->finished = 1;
	u->code = code;
}

/* The answer a finished upload's last block got (0: still pending). */
int
ingest_coap_block_code(const struct upload *u)
{
	return (u->code);
}

/* Housekeeping: drop uploads idle for BLOCK_IDLE_MS. */
void
ingest_coap_block_check(uint64_t now)
{
	size_t	i;

	for (i = 0; i < BLOCK_MAX; i++) {
		if (block_up[i].used && now - block_up[i].last_ms >=
		    BLOCK_IDLE_MS)
			ingest_coap_block_free(&block_up[i]);
	}
}

/* Uploads still receiving blocks (for the status line). */
size_t
ingest_coap_block_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < BLOCK_MAX; i++)
		n += block_up[i].used && !block_up[i].finished;
	return (n);
}

/* Stop: drop every upload. */
void
ingest_coap_block_clear(void)
{
	size_t	i;

	for (i = 0; i < BLOCK_MAX; i++)
		if (block_up[i].used)
			ingest_coap_block_free(&block_up[i]);
}
