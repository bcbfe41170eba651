/*
 * store_body.c - JSON bodies in the message table without what the row's
 * columns already hold.
 *
 * Why: a reading is written to SQLite twice (the WAL, then the database
 * file at a checkpoint), so every byte of a row costs two on the SD card.
 * A node's JSON body repeats its "seq", "boot" and "ts", which the row
 * keeps as columns anyway; in the SPEC's example inference that is about
 * 40 of 140 bytes.  The store writes the body without those members
 * (store_body_slim()) and gives them back, from the columns, to whoever
 * reads the row (store_body_full()), so every stage sees the body it would
 * have seen before.
 *
 * A member is left out only when putting it back is exact: a top-level
 * member, its name spelled without escapes and present once, its value a
 * plain run of digits equal to the column (seq: present; boot and ts: not
 * 0, since 0 also means absent).  Anything else (an escaped name, a
 * repeat, 1e3, a body that is not an object) is stored as it came, and so
 * are heartbeats, SenML packs, binary windows and tier-2 results.  Full
 * bodies of older versions read back unchanged, since the members are
 * there.  The body put back is compact where members were removed, its
 * members' own text is verbatim.
 *
 * The scanner reads any bytes without going past them; what it does not
 * understand it leaves alone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define BODY_MEMBERS_MAX	64	/* members looked at; more: as is */

/* The members the columns hold, in the order they are put back. */
enum { BODY_SEQ, BODY_BOOT, BODY_TS, BODY_NAMES };
static const char *const body_names[BODY_NAMES] = { "seq", "boot", "ts" };

/* One top-level member: its text from the name's quote to its value. */
struct body_member {
	size_t	start, end;
	size_t	vstart;
	int	name;		/* BODY_*, or -1 */
};

struct body_scan {
	const unsigned char	*p;
	size_t			 len, at;
	size_t			 open;		/* just after the '{' */
	struct body_member	 m[BODY_MEMBERS_MAX];
	size_t			 n;
	int			 count[BODY_NAMES];
	int			 escaped;	/* a name with a backslash */
};

/* Skip JSON white space. */
static void
body_ws(struct body_scan *b)
{
	while (b->at < b->len && (b->p[b->at] == ' ' || b->p[b->at] == '\t' ||
	    b->p[b->at] == '\n' || b->p[b->at] == '\r'))
		b->at++;
}

/*
 * Skip a string at b->at (its quote); -1 if it does not end or holds a
 * control byte (not JSON; and a NUL would end the name cJSON sees).
 */
static int
body_string(struct body_scan *b, int *escaped)
{
	for (b->at++; b->at < b->len; b->at++) {
		if (b->p[b->at] < 0x20)
			return (-1);
		if (b->p[b->at] == '\\') {
			*escaped = 1;
			b->at++;
		} else if (b->p[b->at] == '"') {
			b->at++;
			return (0);
		}
	}
	return (-1);
}

/* Skip one value; -1 if it does not end inside the body. */
static int
body_value(struct body_scan *b)
{
	size_t	depth = 0;
	int	esc;

	if (b->at < b->len && b->p[b->at] == '"')
		return (body_string(b, &esc));
	while (b->at < b->len) {
		switch (b->p[b->at]) {
		case '"':
			if (body_string(b, &esc) != 0)
				return (-1);
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return (0);
			if (--depth == 0) {
				b->at++;
				return (0);
			}
			break;
		case ',':
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			if (depth == 0)
				return (0);
			break;
		}
		b->at++;
	}
	return (depth == 0 ? 0 : -1);
}

/* Which of our names the key [s, e) is, or -1. */
static int
body_name(const unsigned char *p, size_t s, size_t e)
{
	int	i;

	for (i = 0; i < BODY_NAMES; i++) {
		if (e - s == strlen(body_names[i]) &&
		    memcmp(p + s, body_names[i], e - s) == 0)
			return (i);
	}
	return (-1);
}

/* Scan the members of one object; -1 if it is not one we understand. */
static int
body_scan(struct body_scan *b)
{
	struct body_member	*m;
	size_t			 ks;

	body_ws(b);
	if (b->at >= b->len || b->p[b->at] != '{')
		return (-1);
	b->open = ++b->at;
	body_ws(b);
	if (b->at < b->len && b->p[b->at] == '}')
		return (0);
	for (;;) {
		if (b->at >= b->len || b->p[b->at] != '"' ||
		    b->n == BODY_MEMBERS_MAX)
			return (-1);
		m = &b->m[b->n++];
		m->start = ks = b->at;
		if (body_string(b, &b->escaped) != 0)
			return (-1);
		m->name = body_name(b->p, ks + 1, b->at - 1);
		if (m->name != -1)
			b->count[m->name]++;
		body_ws(b);
		if (b->at >= b->len || b->p[b->at] != ':')
			return (-1);
		b->at++;
		body_ws(b);
		m->vstart = b->at;
		if (body_value(b) != 0 || b->at == m->vstart)
			return (-1);
		m->end = b->at;
		body_ws(b);
		if (b->at < b->len && b->p[b->at] == ',') {
			b->at++;
			body_ws(b);
			continue;
		}
		return (b->at < b->len && b->p[b->at] == '}' ? 0 : -1);
	}
}

/* Start scanning m's body if it is a JSON body we may change; -1 if not. */
static int
body_begin(const struct store_msg *m, struct body_scan *b)
{
	memset(b, 0, sizeof *b);
	/*
	 * Nodes' inferences and windows only: the gateway's own tier-2
	 * results are one per window at most, and stay as they were made.
	 */
	if (m->kind != STORE_KIND_INFERENCE && m->kind != STORE_KIND_WINDOW)
		return (-1);
	b->p = m->body;
	b->len = m->len;
	if (body_scan(b) != 0 || b->escaped)
		return (-1);
	return (0);
}

/* The column value of name i, or -1 when the column says "absent". */
static int64_t
body_column(const struct store_msg *m, int i)
{
	switch (i) {
	case BODY_SEQ:
		return (m->seq >= 0 ? m->seq : -1);
	case BODY_BOOT:
		return (m->boot != 0 ? (int64_t)m->boot : -1);
	default:
		return (m->ts_ms > 0 ? m->ts_ms : -1);
	}
}

/* Is member x's value exactly the digits of v? */
static int
body_same(const struct body_scan *b, const struct body_member *x, int64_t v)
{
	char	digits[24];
	int	n;

	n = snprintf(digits, sizeof digits, "%lld", (long long)v);
	return (v >= 0 && (size_t)n == x->end - x->vstart &&
	    memcmp(b->p + x->vstart, digits, (size_t)n) == 0);
}

/*
 * The body to store for m: 1 with *out (to free) and *outlen when members
 * were left out, 0 when the body is stored as it is.
 */
int
store_body_slim(const struct store_msg *m, unsigned char **out,
    size_t *outlen)
{
	struct body_scan	 b;
	struct body_member	*x;
	unsigned char		*o;
	size_t			 i, n = 0, dropped = 0;

	if (body_begin(m, &b) != 0)
		return (0);
	for (i = 0; i < b.n; i++) {
		x = &b.m[i];
		if (x->name != -1 && b.count[x->name] == 1 &&
		    body_same(&b, x, body_column(m, x->name))) {
			x->name = -2;		/* left out */
			dropped++;
		}
	}
	if (dropped == 0)
		return (0);
	o = xmalloc(m->len + 1);
	o[n++] = '{';
	for (i = 0; i < b.n; i++) {
		x = &b.m[i];
		if (x->name == -2)
			continue;
		if (n > 1)
			o[n++] = ',';
		memcpy(o + n, b.p + x->start, x->end - x->start);
		n += x->end - x->start;
	}
	o[n++] = '}';
	*out = o;
	*outlen = n;
	return (1);
}

/*
 * The body as the stages read it: 1 with *out (to free, NUL-terminated)
 * and *outlen when members were put back from the columns, 0 when the
 * stored body is that already.
 */
int
store_body_full(const struct store_msg *m, unsigned char **out,
    size_t *outlen)
{
	struct body_scan	 b;
	char			 add[96];
	size_t			 n = 0, rest;
	int			 i, w;
	int64_t			 v;

	if (body_begin(m, &b) != 0)
		return (0);
	for (i = 0; i < BODY_NAMES; i++) {
		if (b.count[i] != 0 || (v = body_column(m, i)) < 0)
			continue;
		w = snprintf(add + n, sizeof add - n, "%s\"%s\":%lld",
		    n ? "," : "", body_names[i], (long long)v);
		n += (size_t)w;
	}
	if (n == 0)
		return (0);
	/* What followed the '{', after a comma unless it was empty. */
	rest = m->len - b.open;
	*out = xmalloc(1 + n + 1 + rest + 1);
	(*out)[0] = '{';
	memcpy(*out + 1, add, n);
	*outlen = 1 + n;
	if (b.n > 0)
		(*out)[(*outlen)++] = ',';
	memcpy(*out + *outlen, b.p + b.open, rest);
	*outlen += rest;
	(*out)[*outlen] = '\0';
	return (1);
}
