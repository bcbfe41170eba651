/* tflite_build.c - minimal .tflite writer (see tflite_build.h).
 *
 * The writer lays objects out front to back: a table is written first with
 * its vtable just before it, and every object it refers to is appended
 * later, so all reference offsets are positive as the format requires.
 * Every table gives each of its fields an 8-byte slot, which keeps the
 * layout trivial at the cost of a few bytes.
 */
#include "tflite_build.h"

#include <stdlib.h>
#include <string.h>

/* Growable output buffer. */
struct fbb {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

/* Append n zero bytes aligned to a; returns their position. */
static size_t put(struct fbb *b, size_t n, size_t a)
{
	size_t pos = (b->len + a - 1) / a * a;
	if (pos + n > b->cap) {
		size_t cap = (pos + n) * 2 + 256;
		uint8_t *np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return 0;
		}
		memset(np + b->cap, 0, cap - b->cap);
		b->p = np;
		b->cap = cap;
	}
	b->len = pos + n;
	return pos;
}

/* Store a little-endian 32-bit value. */
static void w32(struct fbb *b, size_t pos, uint32_t v)
{
	if (b->oom)
		return;
	for (int i = 0; i < 4; i++)
		b->p[pos + i] = (uint8_t)(v >> (8 * i));
}

/* Store one byte. */
static void w8(struct fbb *b, size_t pos, uint8_t v)
{
	if (!b->oom)
		b->p[pos] = v;
}

/* Store a little-endian 16-bit value. */
static void w16(struct fbb *b, size_t pos, uint16_t v)
{
	if (b->oom)
		return;
	b->p[pos] = (uint8_t)v;
	b->p[pos + 1] = (uint8_t)(v >> 8);
}

/* Start a table with nf field slots, the fields in mask present. */
static size_t table(struct fbb *b, int nf, uint32_t mask)
{
	size_t vt = put(b, 4 + 2 * (size_t)nf, 4);
	size_t t = put(b, 8 + 8 * (size_t)nf, 8);
	w16(b, vt, (uint16_t)(4 + 2 * nf));
	w16(b, vt + 2, (uint16_t)(8 + 8 * nf));
	for (int i = 0; i < nf; i++)
		if (mask & (1u << i))
			w16(b, vt + 4 + 2 * (size_t)i, (uint16_t)(8 + 8 * i));
	w32(b, t, (uint32_t)(t - vt));
	return t;
}

/* Position of field id's slot in table t. */
static size_t slot(size_t t, int id)
{
	return t + 8 + 8 * (size_t)id;
}

/* Point field id of table t (or a vector slot) at target. */
static void ref(struct fbb *b, size_t at, size_t target)
{
	w32(b, at, (uint32_t)(target - at));
}

/* Append a vector of n elements of size es; returns its length word. */
static size_t vec(struct fbb *b, size_t n, size_t es, const void *data)
{
	size_t pos = put(b, 4 + n * es, 16);
	/* put the data itself 16-byte aligned */
	if ((pos + 4) % 16) {
		b->len = pos;
		pos = put(b, 12 + 4 + n * es, 16) + 12;
	}
	w32(b, pos, (uint32_t)n);
	if (data && n && !b->oom)
		memcpy(b->p + pos + 4, data, n * es);
	return pos;
}

/* Write one operator's options table (if any); returns its position. */
static size_t options(struct fbb *b, const struct tb_op *op)
{
	int nf = 0;
	uint32_t mask = 0;
	for (int i = 0; i < op->nopt; i++) {
		if (op->opt[i].id + 1 > nf)
			nf = op->opt[i].id + 1;
		mask |= 1u << op->opt[i].id;
	}
	size_t t = table(b, nf, mask);
	for (int i = 0; i < op->nopt; i++) {
		const struct tb_opt *o = &op->opt[i];
		size_t s = slot(t, o->id);
		if (b->oom)
			break;
		if (o->kind == 'b')
			w8(b, s, (uint8_t)o->i);
		else if (o->kind == 'f')
			memcpy(b->p + s, &o->f, 4);
		else
			w32(b, s, (uint32_t)o->i);
	}
	return t;
}

/* Build a model; *out is malloc'd.  Returns 0, or -1 when out of memory. */
int tb_build(const struct tb_tensor *t, int nt, const struct tb_op *ops,
	     int nops, const int32_t *inputs, int nin, const int32_t *outputs,
	     int nout, uint8_t **out, size_t *len)
{
	struct fbb b = { 0 };
	size_t root_ref = put(&b, 8, 4);
	memcpy(b.p + 4, "TFL3", 4);
	/* Model: version 0, operator_codes 1, subgraphs 2, buffers 4 */
	size_t model = table(&b, 5, 0x17);
	ref(&b, root_ref, model);
	w32(&b, slot(model, 0), 3);
	size_t codes = vec(&b, (size_t)nops, 4, NULL);
	ref(&b, slot(model, 1), codes);
	for (int i = 0; i < nops; i++) {
		size_t c = table(&b, 4, 0x9);
		ref(&b, codes + 4 + 4 * (size_t)i, c);
		int dep = ops[i].deprecated || ops[i].code < 127;
		w8(&b, slot(c, 0), (uint8_t)(dep ? ops[i].code : 127));
		w32(&b, slot(c, 3), (uint32_t)(ops[i].deprecated ? 0 : ops[i].code));
	}
	size_t sgs = vec(&b, 1, 4, NULL);
	ref(&b, slot(model, 2), sgs);
	/* SubGraph: tensors 0, inputs 1, outputs 2, operators 3 */
	size_t sg = table(&b, 4, 0xf);
	ref(&b, sgs + 4, sg);
	size_t tv = vec(&b, (size_t)nt, 4, NULL);
	ref(&b, slot(sg, 0), tv);
	ref(&b, slot(sg, 1), vec(&b, (size_t)nin, 4, inputs));
	ref(&b, slot(sg, 2), vec(&b, (size_t)nout, 4, outputs));
	size_t ov = vec(&b, (size_t)nops, 4, NULL);
	ref(&b, slot(sg, 3), ov);
	uint32_t nbuf = 1;
	for (int i = 0; i < nt; i++) {
		/* Tensor: shape 0, type 1, buffer 2, quantization 4 */
		size_t tt = table(&b, 5, t[i].nq ? 0x17 : 0x7);
		ref(&b, tv + 4 + 4 * (size_t)i, tt);
		w8(&b, slot(tt, 1), (uint8_t)t[i].type);
		uint32_t bi = t[i].buffer ? t[i].buffer : t[i].data ? nbuf++ : 0;
		w32(&b, slot(tt, 2), bi);
		ref(&b, slot(tt, 0), vec(&b, (size_t)t[i].ndims, 4, t[i].dims));
		if (t[i].nq) {
			/* QuantizationParameters: scale 2, zero_point 3, dim 6 */
			size_t q = table(&b, 7, 0x4c);
			ref(&b, slot(tt, 4), q);
			w32(&b, slot(q, 6), (uint32_t)t[i].qdim);
			ref(&b, slot(q, 2), vec(&b, (size_t)t[i].nq, 4, t[i].scales));
			ref(&b, slot(q, 3), vec(&b, (size_t)t[i].nq, 8, t[i].zps));
		}
	}
	for (int i = 0; i < nops; i++) {
		/* Operator: opcode_index 0, inputs 1, outputs 2, options 4 */
		size_t o = table(&b, 5, ops[i].nopt ? 0x17 : 0x7);
		ref(&b, ov + 4 + 4 * (size_t)i, o);
		w32(&b, slot(o, 0), (uint32_t)i);
		ref(&b, slot(o, 1), vec(&b, (size_t)ops[i].nin, 4, ops[i].in));
		ref(&b, slot(o, 2), vec(&b, (size_t)ops[i].nout, 4, ops[i].out));
		if (ops[i].nopt)
			ref(&b, slot(o, 4), options(&b, &ops[i]));
	}
	size_t bv = vec(&b, nbuf, 4, NULL);
	ref(&b, slot(model, 4), bv);
	size_t empty = table(&b, 1, 0);
	ref(&b, bv + 4, empty);
	uint32_t k = 1;
	for (int i = 0; i < nt; i++) {
		if (t[i].buffer || !t[i].data)
			continue;
		size_t bt = table(&b, 1, 1);
		ref(&b, bv + 4 + 4 * (size_t)k++, bt);
		ref(&b, slot(bt, 0), vec(&b, t[i].bytes, 1, t[i].data));
	}
	if (b.oom) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
