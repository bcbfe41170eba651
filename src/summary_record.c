/*
 * summary_record.c - the open events as one record of the state table.
 *
 * The events still collecting repeats must survive kill -9, so they are
 * written in every transaction that changed one of them.  With a record
 * per event in JSON that write cost more than the readings it summarized
 * (1,200 open events at 100 nodes: 15 ms on the loop and about 280 KB per
 * commit).  All of them now go as one compact binary record, rewritten
 * whole when any changed: a few bytes of header, then per event fixed
 * fields and three length-prefixed strings, little-endian:
 *
 *	"TEEV" version:u8 count:u32
 *	tier:u8 boot:u32 seq:u64 count:u64 first_ms:u64 last_ms:u64
 *	score:u64 (IEEE 754 bits) node label model (each len:u16 bytes)
 *
 * The decoder trusts nothing (the database is a file on an SD card): a
 * bad magic, version, count, length, string or trailing byte is an error
 * with a cause, and nothing of a bad record is used.  No state, no I/O.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary_int.h"
#include "xmalloc.h"

#define REC_MAGIC	"TEEV"
#define REC_VERSION	1
#define REC_HEADER	9		/* magic, version, count */
#define REC_FIXED	45		/* tier .. score */
#define REC_MIN		(REC_FIXED + 6)	/* fixed part and three lengths */

/* Fail with a message. */
static int
summary_record_fail(char **cause, const char *what, uint32_t i)
{
	xasprintf(cause, "open events record: %s (event %" PRIu32 ")", what, i);
	return (-1);
}

/* Append n bytes to the buffer, growing it. */
static void
summary_record_grow(struct summary_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->size) {
		b->size = b->size == 0 ? 4096 : b->size;
		while (b->len + n > b->size)
			b->size *= 2;
		b->data = xreallocarray(b->data, b->size, 1);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Append v as n little-endian bytes. */
static void
summary_record_uint(struct summary_buf *b, uint64_t v, size_t n)
{
	unsigned char	tmp[8];
	size_t		i;

	for (i = 0; i < n; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	summary_record_grow(b, tmp, n);
}

/* Read n little-endian bytes at p. */
static uint64_t
summary_record_get(const unsigned char *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return (v);
}

/* Start a record (empty: the count is kept right by _add). */
void
summary_record_begin(struct summary_buf *b)
{
	b->len = 0;
	b->count = 0;
	summary_record_grow(b, REC_MAGIC, 4);
	summary_record_uint(b, REC_VERSION, 1);
	summary_record_uint(b, 0, 4);
}

/* Append a length-prefixed string (longer ones are cut: never expected). */
static void
summary_record_str(struct summary_buf *b, const char *s)
{
	size_t	n = strnlen(s, SUMMARY_RECORD_STR_MAX);

	summary_record_uint(b, n, 2);
	summary_record_grow(b, s, n);
}

/* Append one event. */
void
summary_record_add(struct summary_buf *b, const struct summary_rec *r)
{
	uint64_t	bits;

	memcpy(&bits, &r->score, sizeof bits);
	summary_record_uint(b, (uint64_t)r->tier, 1);
	summary_record_uint(b, r->boot, 4);
	summary_record_uint(b, (uint64_t)r->seq, 8);
	summary_record_uint(b, r->count, 8);
	summary_record_uint(b, r->first_ms, 8);
	summary_record_uint(b, r->last_ms, 8);
	summary_record_uint(b, bits, 8);
	summary_record_str(b, r->node);
	summary_record_str(b, r->label);
	summary_record_str(b, r->model);
	b->count++;
	/* The count in the header is right after every event. */
	b->data[5] = (unsigned char)b->count;
	b->data[6] = (unsigned char)(b->count >> 8);
	b->data[7] = (unsigned char)(b->count >> 16);
	b->data[8] = (unsigned char)(b->count >> 24);
}

/* Read one string into out (NUL-terminated); -1 if malformed. */
static int
summary_record_take(const unsigned char **p, const unsigned char *end,
    char *out)
{
	size_t	n;

	if (end - *p < 2)
		return (-1);
	n = (size_t)summary_record_get(*p, 2);
	*p += 2;
	if (n == 0 || n > SUMMARY_RECORD_STR_MAX || (size_t)(end - *p) < n ||
	    memchr(*p, '\0', n) != NULL)
		return (-1);
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return (0);
}

/*
 * Decode a whole record, calling cb for each event, but only once all of
 * it has been checked.  Returns the number of events or -1 with *cause.
 */
int
summary_record_parse(const void *buf, size_t len, summary_record_cb cb,
    void *arg, char **cause)
{
	const unsigned char	*p = buf, *end = p + len, *start;
	char			 s[3][SUMMARY_RECORD_STR_MAX + 1];
	struct summary_rec	 r;
	uint64_t		 bits;
	uint32_t		 n, i;
	int			 pass;

	if (len < REC_HEADER)
		return (summary_record_fail(cause, "truncated header", 0));
	if (memcmp(p, REC_MAGIC, 4) != 0)
		return (summary_record_fail(cause, "bad magic", 0));
	if (p[4] != REC_VERSION)
		return (summary_record_fail(cause, "unknown version", 0));
	n = (uint32_t)summary_record_get(p + 5, 4);
	if (n > (len - REC_HEADER) / REC_MIN || n > SUMMARY_OPEN_MAX)
		return (summary_record_fail(cause, "bad count", n));
	start = p + REC_HEADER;
	/* Pass 0 checks everything, pass 1 hands the events out. */
	for (pass = 0; pass < 2; pass++) {
		for (p = start, i = 0; i < n; i++) {
			if (end - p < REC_FIXED)
				return (summary_record_fail(cause, "truncated",
				    i));
			memset(&r, 0, sizeof r);
			r.tier = p[0];
			r.boot = (uint32_t)summary_record_get(p + 1, 4);
			r.seq = (int64_t)summary_record_get(p + 5, 8);
			r.count = summary_record_get(p + 13, 8);
			r.first_ms = summary_record_get(p + 21, 8);
			r.last_ms = summary_record_get(p + 29, 8);
			bits = summary_record_get(p + 37, 8);
			memcpy(&r.score, &bits, sizeof r.score);
			p += REC_FIXED;
			if (summary_record_take(&p, end, s[0]) != 0 ||
			    summary_record_take(&p, end, s[1]) != 0 ||
			    summary_record_take(&p, end, s[2]) != 0)
				return (summary_record_fail(cause, "bad string",
				    i));
			if (r.tier < 1 || r.tier > 2 || r.count == 0 ||
			    r.first_ms > r.last_ms || r.score != r.score)
				return (summary_record_fail(cause, "bad event",
				    i));
			r.node = s[0];
			r.label = s[1];
			r.model = s[2];
			if (pass == 1)
				cb(&r, arg);
		}
		if (p != end)
			return (summary_record_fail(cause, "trailing bytes",
			    n));
	}
	return ((int)n);
}
