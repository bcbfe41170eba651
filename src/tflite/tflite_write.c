/*
 * tflite_write.c - a FlatBuffers writer for TFLite's schema (see
 * tflite_write.h), and the reader of the metadata entries it writes.
 *
 * The file is laid out front to back: each table is written with its
 * vtable just before it, and everything a table refers to (vectors,
 * strings, sub-tables) is appended after it, so every reference is a
 * positive unsigned offset as the format requires; the referring slot is
 * patched once its target has a position.  Fields of a table are packed by
 * size (8, 4, 2, then 1 bytes), each aligned to its size, the table
 * aligned to its largest field.  Vectors are aligned for their elements
 * and constant data for SIMD loads (16 bytes, TFLite's force_align on
 * Buffer.data); the output is copied at the end into memory from
 * posix_memalign(16) (malloc aligns to 8 only on 32-bit ARM), so the
 * runtime can use constant data in place.
 *
 * Everything a caller passes is checked before a byte is written, so a
 * refused description costs nothing and an accepted one cannot fail but
 * for memory.  Constant tensors get buffers 1, 2, ... in tensor order, then
 * the metadata entries in their order; buffer 0 is the empty one.
 */
#include "tflite/tflite_write.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_fb.h"
#include "tflite/tflite_int.h"

/* Largest file: offsets are 32-bit, and TFLite's verifier wants < 2 GiB. */
#define WRITE_MAX_FILE	((size_t)INT32_MAX)
/* Fields of the widest table written (options tables included). */
#define WRITE_MAXF	(TFLITE_WRITE_MAX_OPT_ID + 1)

/* The growing output. */
struct wb {
	uint8_t	*p;
	size_t	 len, cap;
	int	 err;		/* 0, ENOMEM or EFBIG */
};

/* One table being written: its position and each field's slot. */
struct wtab {
	size_t	 pos;
	size_t	 slot[WRITE_MAXF];
};

/*
 * Store a formatted cause (when wanted) and return -1: the writer's files
 * (tflite_write.c, tflite_write_dense.c) share it through tflite_int.h.
 */
int
te_cause(char **cause, const char *fmt, ...)
{
	va_list	 ap;

	if (cause == NULL)
		return (-1);
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return (-1);
}

/* Make room for the bytes up to end, zeroed; 0, or -1 with b->err set. */
static int
wb_grow(struct wb *b, size_t end)
{
	uint8_t	*np;
	size_t	 cap;

	if (b->err)
		return (-1);
	if (end > WRITE_MAX_FILE) {
		b->err = EFBIG;
		return (-1);
	}
	if (end > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < end)
			cap = cap > WRITE_MAX_FILE / 2 ? WRITE_MAX_FILE :
			    cap * 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = ENOMEM;
			return (-1);
		}
		memset(np + b->cap, 0, cap - b->cap);
		b->p = np;
		b->cap = cap;
	}
	b->len = end;
	return (0);
}

/* Append n zero bytes at the next multiple of align; their position. */
static size_t
wb_put(struct wb *b, size_t n, size_t align)
{
	size_t	 pos = (b->len + align - 1) / align * align;

	if (n > WRITE_MAX_FILE || wb_grow(b, pos + n) == -1)
		return (0);
	return (pos);
}

/* Little-endian store of the n low bytes of v at pos. */
static void
wb_store(struct wb *b, size_t pos, uint64_t v, int n)
{
	int	 i;

	if (b->err)
		return;
	for (i = 0; i < n; i++)
		b->p[pos + i] = (uint8_t)(v >> (8 * i));
}

/* Point the offset slot at (written earlier) to target (written later). */
static void
wb_ref(struct wb *b, size_t at, size_t target)
{
	wb_store(b, at, target - at, 4);
}

/*
 * Start a table of nf fields, size[i] the bytes of field i (0: absent);
 * the slots are left zero for the caller to fill.
 */
static void
wb_table(struct wb *b, int nf, const uint8_t *size, struct wtab *t)
{
	uint16_t	 off[WRITE_MAXF];
	size_t		 vt, o = 4, maxa = 4;
	int		 i, s;

	for (s = 8; s >= 1; s /= 2) {
		for (i = 0; i < nf; i++) {
			if (size[i] != s)
				continue;
			o = (o + (size_t)s - 1) / (size_t)s * (size_t)s;
			off[i] = (uint16_t)o;
			o += (size_t)s;
			if ((size_t)s > maxa)
				maxa = (size_t)s;
		}
	}
	o = (o + 3) / 4 * 4;
	vt = wb_put(b, 4 + 2 * (size_t)nf, 4);
	t->pos = wb_put(b, o, maxa);
	wb_store(b, vt, 4 + 2 * (uint64_t)nf, 2);
	wb_store(b, vt + 2, o, 2);
	for (i = 0; i < nf; i++) {
		t->slot[i] = size[i] ? t->pos + off[i] : 0;
		wb_store(b, vt + 4 + 2 * (size_t)i, size[i] ? off[i] : 0, 2);
	}
	/* the vtable is before the table: a positive soffset */
	wb_store(b, t->pos, t->pos - vt, 4);
}

/*
 * Append a vector of n elements of es bytes (copied from data if not
 * NULL; extra zero bytes after them, for a string's NUL), its elements
 * aligned to align; the position of its length word.
 */
static size_t
wb_vec(struct wb *b, size_t n, size_t es, const void *data, size_t extra,
    size_t align)
{
	size_t	 pos;

	if (n > WRITE_MAX_FILE / es) {
		b->err = EFBIG;
		return (0);
	}
	pos = (b->len + 4 + align - 1) / align * align - 4;
	if (wb_grow(b, pos + 4 + n * es + extra) == -1)
		return (0);
	wb_store(b, pos, n, 4);
	if (data != NULL && n > 0)
		memcpy(b->p + pos + 4, data, n * es);
	return (pos);
}

/* Append a vector of int32 and point slot at to it. */
static void
wb_ivec(struct wb *b, size_t at, const int32_t *v, int n)
{
	size_t	 pos;
	int	 i;

	pos = wb_vec(b, (size_t)n, 4, NULL, 0, 4);
	for (i = 0; i < n; i++)
		wb_store(b, pos + 4 + 4 * (size_t)i, (uint32_t)v[i], 4);
	wb_ref(b, at, pos);
}

/* Append a string and point slot at to it. */
static void
wb_str(struct wb *b, size_t at, const char *s)
{
	wb_ref(b, at, wb_vec(b, strlen(s), 1, s, 1, 4));
}

/* Bytes of one element of a tensor type, 0 for types not written. */
static size_t
type_size(int type)
{
	switch (type) {
	case 0: case 2: case 15:	/* float32, int32, uint32 */
		return (4);
	case 1: case 7: case 16:	/* float16, int16, uint16 */
		return (2);
	case 3: case 6: case 9:		/* uint8, bool, int8 */
		return (1);
	case 4: case 10: case 12:	/* int64, float64, uint64 */
		return (8);
	}
	return (0);
}

/* Check a name or description: NULL or a bounded string. */
static int
check_str(const char *s, const char *what, int i, char **cause)
{
	if (s == NULL ||
	    strnlen(s, TFLITE_WRITE_MAX_STRING + 1) <= TFLITE_WRITE_MAX_STRING)
		return (0);
	if (i < 0)
		return (te_cause(cause, "%s over %d bytes", what,
		    TFLITE_WRITE_MAX_STRING));
	return (te_cause(cause, "%s %d: name over %d bytes", what, i,
	    TFLITE_WRITE_MAX_STRING));
}

/* Check one tensor's quantization parameters. */
static int
check_quant(const struct tflite_write_tensor *t, int i, char **cause)
{
	int64_t	 z, lo = 0, hi = 0;
	int	 k;

	if (t->nq == 0)
		return (0);
	if (t->nq < 0 || t->scales == NULL)
		return (te_cause(cause, "tensor %d: %d scales", i, t->nq));
	if (t->nq > 1 && (t->qdim < 0 || t->qdim >= t->ndims ||
	    t->dims[t->qdim] != t->nq))
		return (te_cause(cause, "tensor %d: %d scales do not match "
		    "dimension %d", i, t->nq, t->qdim));
	if (t->type == 9) {
		lo = -128;
		hi = 127;
	} else if (t->type == 3)
		hi = 255;
	for (k = 0; k < t->nq; k++) {
		if (!isfinite(t->scales[k]) || !(t->scales[k] > 0))
			return (te_cause(cause, "tensor %d: scale %d is %g", i, k,
			    (double)t->scales[k]));
		z = t->zero_points != NULL ? t->zero_points[k] : 0;
		if (z < lo || z > hi)
			return (te_cause(cause, "tensor %d: zero point %lld out of "
			    "range", i, (long long)z));
	}
	return (0);
}

/* Check one tensor; add its constant bytes to *total. */
static int
check_tensor(const struct tflite_write_tensor *t, int i, size_t *total,
    char **cause)
{
	size_t	 es, n = 1;
	int	 d;

	if ((es = type_size(t->type)) == 0)
		return (te_cause(cause, "tensor %d: type %d not supported", i,
		    t->type));
	if (t->ndims < 0 || t->ndims > TFLITE_WRITE_MAX_DIMS)
		return (te_cause(cause, "tensor %d: %d dimensions", i, t->ndims));
	for (d = 0; d < t->ndims; d++) {
		if (t->dims[d] <= 0)
			return (te_cause(cause, "tensor %d: dimension %d is %d", i,
			    d, (int)t->dims[d]));
		if ((size_t)t->dims[d] > WRITE_MAX_FILE / es / n)
			return (te_cause(cause, "tensor %d: shape too large", i));
		n *= (size_t)t->dims[d];
	}
	if (t->data != NULL && t->bytes != n * es)
		return (te_cause(cause, "tensor %d: %zu bytes of data for %zu",
		    i, t->bytes, n * es));
	if (t->data == NULL && t->bytes != 0)
		return (te_cause(cause, "tensor %d: %zu bytes without data", i,
		    t->bytes));
	if (check_str(t->name, "tensor", i, cause) == -1 ||
	    check_quant(t, i, cause) == -1)
		return (-1);
	*total += t->bytes + 64 + 12 * (size_t)t->nq;
	return (0);
}

/* Check tensor indices v[0..n-1] of what; optional ones (-1) if opt. */
static int
check_index(const int32_t *v, int n, int nt, int opt, const char *what,
    char **cause)
{
	int	 k;

	if (n < 0 || n > TFLITE_WRITE_MAX_OP_IO || (n > 0 && v == NULL))
		return (te_cause(cause, "%s: %d tensors", what, n));
	for (k = 0; k < n; k++) {
		if (v[k] == -1 && opt)
			continue;
		if (v[k] < 0 || v[k] >= nt)
			return (te_cause(cause, "%s: tensor index %d out of range",
			    what, (int)v[k]));
	}
	return (0);
}

/* Check one operator. */
static int
check_op(const struct tflite_write_op *op, int i, int nt, char **cause)
{
	uint32_t	 seen = 0;
	char		 what[32];
	int		 k;

	/* CUSTOM needs a custom_code string this writer has no field for */
	if (op->code < 0 || op->code > 1023 || op->code == 32)
		return (te_cause(cause, "operator %d: code %d not supported", i,
		    op->code));
	if (op->options_type < 0 || op->options_type > 255 ||
	    (op->nopt > 0 && op->options_type == 0))
		return (te_cause(cause, "operator %d: options type %d", i,
		    op->options_type));
	if (op->nout < 1)
		return (te_cause(cause, "operator %d: no outputs", i));
	snprintf(what, sizeof what, "operator %d", i);
	if (check_index(op->in, op->nin, nt, 1, what, cause) == -1 ||
	    check_index(op->out, op->nout, nt, 0, what, cause) == -1)
		return (-1);
	if (op->nopt < 0 || op->nopt > TFLITE_WRITE_MAX_OPT_ID + 1 ||
	    (op->nopt > 0 && op->opt == NULL))
		return (te_cause(cause, "operator %d: %d options", i, op->nopt));
	for (k = 0; k < op->nopt; k++) {
		if (op->opt[k].id < 0 ||
		    op->opt[k].id > TFLITE_WRITE_MAX_OPT_ID)
			return (te_cause(cause, "operator %d: option id %d out of "
			    "range", i, op->opt[k].id));
		if (seen & (1u << op->opt[k].id))
			return (te_cause(cause, "operator %d: option %d twice", i,
			    op->opt[k].id));
		seen |= 1u << op->opt[k].id;
		if (op->opt[k].kind != 'b' && op->opt[k].kind != 'i' &&
		    op->opt[k].kind != 'f')
			return (te_cause(cause, "operator %d: option %d kind %d",
			    i, op->opt[k].id, op->opt[k].kind));
	}
	return (0);
}

/* Check the metadata entries; add their bytes to *total. */
static int
check_meta(const struct tflite_write_graph *g, size_t *total, char **cause)
{
	int	 i, k;

	if (g->nmeta < 0 || g->nmeta > TFLITE_WRITE_MAX_META ||
	    (g->nmeta > 0 && g->meta == NULL))
		return (te_cause(cause, "%d metadata entries", g->nmeta));
	for (i = 0; i < g->nmeta; i++) {
		if (g->meta[i].name == NULL || *g->meta[i].name == '\0')
			return (te_cause(cause, "metadata %d: no name", i));
		if (check_str(g->meta[i].name, "metadata", i, cause) == -1)
			return (-1);
		if (g->meta[i].data == NULL && g->meta[i].len != 0)
			return (te_cause(cause, "metadata %d: no data", i));
		if (g->meta[i].len > WRITE_MAX_FILE)
			return (te_cause(cause, "metadata %d: too large", i));
		for (k = 0; k < i; k++)
			if (strcmp(g->meta[k].name, g->meta[i].name) == 0)
				return (te_cause(cause, "metadata %d: name %s "
				    "twice", i, g->meta[i].name));
		*total += g->meta[i].len + 64 + strlen(g->meta[i].name);
	}
	return (0);
}

/* Check a whole graph before writing it. */
static int
check_graph(const struct tflite_write_graph *g, char **cause)
{
	size_t	 total = 4096;
	int	 i;

	if (g->ntensors < 1 || g->ntensors > TFLITE_WRITE_MAX_TENSORS ||
	    g->tensors == NULL)
		return (te_cause(cause, "%d tensors", g->ntensors));
	if (g->nops < 1 || g->nops > TFLITE_WRITE_MAX_OPS || g->ops == NULL)
		return (te_cause(cause, "%d operators", g->nops));
	for (i = 0; i < g->ntensors; i++)
		if (check_tensor(&g->tensors[i], i, &total, cause) == -1)
			return (-1);
	for (i = 0; i < g->nops; i++)
		if (check_op(&g->ops[i], i, g->ntensors, cause) == -1)
			return (-1);
	if (g->ninputs < 1 || g->noutputs < 1)
		return (te_cause(cause, "graph without inputs or outputs"));
	if (check_index(g->inputs, g->ninputs, g->ntensors, 0, "graph inputs",
	    cause) == -1 || check_index(g->outputs, g->noutputs,
	    g->ntensors, 0, "graph outputs", cause) == -1)
		return (-1);
	if (check_str(g->description, "description", -1, cause) == -1 ||
	    check_meta(g, &total, cause) == -1)
		return (-1);
	total += (size_t)g->nops * (128 + 8 * TFLITE_WRITE_MAX_OP_IO) +
	    (size_t)g->ntensors * TFLITE_WRITE_MAX_STRING;
	if (total > WRITE_MAX_FILE)
		return (te_cause(cause, "model of 2 GiB or more"));
	return (0);
}

/* Write tensor t's table into slot at, with its constant buffer index. */
static void
write_tensor(struct wb *b, size_t at, const struct tflite_write_tensor *t,
    uint32_t buf)
{
	static const uint8_t	 qsz[7] = { 0, 0, 4, 4, 0, 0, 4 };
	uint8_t			 sz[5] = { 4, 1, 4, 0, 0 };
	struct wtab		 tt, q;
	size_t			 v;
	int			 k;

	sz[3] = t->name != NULL ? 4 : 0;
	sz[4] = t->nq > 0 ? 4 : 0;
	wb_table(b, 5, sz, &tt);
	wb_ref(b, at, tt.pos);
	wb_store(b, tt.slot[1], (uint8_t)t->type, 1);
	wb_store(b, tt.slot[2], buf, 4);
	wb_ivec(b, tt.slot[0], t->dims, t->ndims);
	if (t->name != NULL)
		wb_str(b, tt.slot[3], t->name);
	if (t->nq == 0)
		return;
	/* QuantizationParameters: scale 2, zero_point 3,
	 * quantized_dimension 6 */
	wb_table(b, 7, qsz, &q);
	wb_ref(b, tt.slot[4], q.pos);
	wb_store(b, q.slot[6], (uint32_t)(t->nq > 1 ? t->qdim : 0), 4);
	v = wb_vec(b, (size_t)t->nq, 4, t->scales, 0, 4);
	wb_ref(b, q.slot[2], v);
	v = wb_vec(b, (size_t)t->nq, 8, NULL, 0, 8);
	for (k = 0; k < t->nq && t->zero_points != NULL; k++)
		wb_store(b, v + 4 + 8 * (size_t)k, (uint64_t)t->zero_points[k],
		    8);
	wb_ref(b, q.slot[3], v);
}

/* Write an operator's builtin options table into slot at. */
static void
write_options(struct wb *b, size_t at, const struct tflite_write_op *op)
{
	uint8_t				 sz[WRITE_MAXF];
	const struct tflite_write_opt	*o;
	struct wtab			 t;
	int				 k, nf = 0;
	uint32_t			 f;

	memset(sz, 0, sizeof sz);
	for (k = 0; k < op->nopt; k++) {
		o = &op->opt[k];
		sz[o->id] = o->kind == 'b' ? 1 : 4;
		if (o->id + 1 > nf)
			nf = o->id + 1;
	}
	wb_table(b, nf, sz, &t);
	wb_ref(b, at, t.pos);
	for (k = 0; k < op->nopt; k++) {
		o = &op->opt[k];
		if (o->kind == 'f') {
			memcpy(&f, &o->f, 4);
			wb_store(b, t.slot[o->id], f, 4);
		} else
			wb_store(b, t.slot[o->id], (uint32_t)o->i,
			    o->kind == 'b' ? 1 : 4);
	}
}

/* Write the operators vector into slot at; idx[i] is op i's code index. */
static void
write_ops(struct wb *b, size_t at, const struct tflite_write_graph *g,
    const uint32_t *idx)
{
	static const uint8_t	 plain[5] = { 4, 4, 4, 0, 0 };
	static const uint8_t	 withopt[5] = { 4, 4, 4, 1, 4 };
	const struct tflite_write_op *op;
	struct wtab		 t;
	size_t			 v;
	int			 i;

	v = wb_vec(b, (size_t)g->nops, 4, NULL, 0, 4);
	wb_ref(b, at, v);
	for (i = 0; i < g->nops; i++) {
		op = &g->ops[i];
		/* Operator: opcode_index 0, inputs 1, outputs 2, options 3/4 */
		wb_table(b, 5, op->options_type ? withopt : plain, &t);
		wb_ref(b, v + 4 + 4 * (size_t)i, t.pos);
		wb_store(b, t.slot[0], idx[i], 4);
		wb_ivec(b, t.slot[1], op->in, op->nin);
		wb_ivec(b, t.slot[2], op->out, op->nout);
		if (op->options_type == 0)
			continue;
		wb_store(b, t.slot[3], (uint8_t)op->options_type, 1);
		write_options(b, t.slot[4], op);
	}
}

/*
 * Write the operator codes vector into slot at, one entry per distinct
 * code; idx[i] gets operator i's entry.
 */
static void
write_codes(struct wb *b, size_t at, const struct tflite_write_graph *g,
    uint32_t *idx)
{
	static const uint8_t	 sz[4] = { 1, 0, 0, 4 };
	struct wtab		 t;
	uint32_t		 n = 0;
	size_t			 v;
	int			 i, j, code;

	for (i = 0; i < g->nops; i++) {
		for (j = 0; j < i && g->ops[j].code != g->ops[i].code; j++)
			;
		idx[i] = j < i ? idx[j] : n++;
	}
	v = wb_vec(b, n, 4, NULL, 0, 4);
	wb_ref(b, at, v);
	for (i = 0; i < g->nops; i++) {
		for (j = 0; j < i && idx[j] != idx[i]; j++)
			;
		if (j < i)
			continue;
		/* OperatorCode: deprecated_builtin_code 0, builtin_code 3 */
		code = g->ops[i].code;
		wb_table(b, 4, sz, &t);
		wb_ref(b, v + 4 + 4 * (size_t)idx[i], t.pos);
		/* 127 tells old readers to look at builtin_code */
		wb_store(b, t.slot[0], (uint8_t)(code < 127 ? code : 127), 1);
		wb_store(b, t.slot[3], (uint32_t)code, 4);
	}
}

/* Write the subgraph vector (one subgraph) into slot at. */
static void
write_subgraph(struct wb *b, size_t at, const struct tflite_write_graph *g,
    const uint32_t *idx)
{
	static const uint8_t	 sz[5] = { 4, 4, 4, 4, 4 };
	struct wtab		 sg;
	size_t			 v;
	uint32_t		 buf = 1;
	int			 i;

	v = wb_vec(b, 1, 4, NULL, 0, 4);
	wb_ref(b, at, v);
	/* SubGraph: tensors 0, inputs 1, outputs 2, operators 3, name 4 */
	wb_table(b, 5, sz, &sg);
	wb_ref(b, v + 4, sg.pos);
	v = wb_vec(b, (size_t)g->ntensors, 4, NULL, 0, 4);
	wb_ref(b, sg.slot[0], v);
	for (i = 0; i < g->ntensors; i++)
		write_tensor(b, v + 4 + 4 * (size_t)i, &g->tensors[i],
		    g->tensors[i].data != NULL ? buf++ : 0);
	wb_ivec(b, sg.slot[1], g->inputs, g->ninputs);
	wb_ivec(b, sg.slot[2], g->outputs, g->noutputs);
	write_ops(b, sg.slot[3], g, idx);
	wb_str(b, sg.slot[4], "main");
}

/* Write one Buffer table of len bytes into slot at. */
static void
write_buffer(struct wb *b, size_t at, const void *data, size_t len)
{
	static const uint8_t	 sz[1] = { 4 };
	struct wtab		 t;

	wb_table(b, 1, sz, &t);
	wb_ref(b, at, t.pos);
	wb_ref(b, t.slot[0], wb_vec(b, len, 1, data, 0, 16));
}

/*
 * Write the buffers (0 empty, then the constant tensors', then the
 * metadata entries') into slot bat and the metadata vector into mat.
 */
static void
write_buffers(struct wb *b, size_t bat, size_t mat,
    const struct tflite_write_graph *g)
{
	static const uint8_t	 msz[2] = { 4, 4 };
	struct wtab		 t;
	size_t			 v, mv;
	uint32_t		 n = 1;
	int			 i;

	for (i = 0; i < g->ntensors; i++)
		if (g->tensors[i].data != NULL)
			n++;
	v = wb_vec(b, n + (uint32_t)g->nmeta, 4, NULL, 0, 4);
	wb_ref(b, bat, v);
	wb_table(b, 0, NULL, &t);
	wb_ref(b, v + 4, t.pos);
	n = 1;
	for (i = 0; i < g->ntensors; i++)
		if (g->tensors[i].data != NULL)
			write_buffer(b, v + 4 + 4 * (size_t)n++,
			    g->tensors[i].data, g->tensors[i].bytes);
	if (g->nmeta == 0)
		return;
	mv = wb_vec(b, (size_t)g->nmeta, 4, NULL, 0, 4);
	wb_ref(b, mat, mv);
	for (i = 0; i < g->nmeta; i++) {
		/* Metadata: name 0, buffer 1 */
		wb_table(b, 2, msz, &t);
		wb_ref(b, mv + 4 + 4 * (size_t)i, t.pos);
		wb_str(b, t.slot[0], g->meta[i].name);
		wb_store(b, t.slot[1], n + (uint32_t)i, 4);
	}
	for (i = 0; i < g->nmeta; i++)
		write_buffer(b, v + 4 + 4 * (size_t)(n + (uint32_t)i),
		    g->meta[i].data, g->meta[i].len);
}

/* Write a single-subgraph model; *out is 16-byte aligned, for free(). */
int
tflite_write(const struct tflite_write_graph *g, uint8_t **out,
    size_t *len, char **cause)
{
	uint8_t		 sz[7] = { 4, 4, 4, 0, 4, 0, 0 };
	struct wb	 b;
	struct wtab	 m;
	uint32_t	*idx;
	size_t		 root;
	void		*aligned;

	if (check_graph(g, cause) == -1)
		return (-1);
	if ((idx = calloc((size_t)g->nops, sizeof *idx)) == NULL)
		return (te_cause(cause, "out of memory"));
	memset(&b, 0, sizeof b);
	root = wb_put(&b, 8, 16);
	if (!b.err)
		memcpy(b.p + root + 4, "TFL3", 4);
	/* Model: version 0, operator_codes 1, subgraphs 2, description 3,
	 * buffers 4, metadata 6 */
	sz[3] = g->description != NULL ? 4 : 0;
	sz[6] = g->nmeta > 0 ? 4 : 0;
	wb_table(&b, 7, sz, &m);
	wb_ref(&b, root, m.pos);
	wb_store(&b, m.slot[0], 3, 4);
	write_codes(&b, m.slot[1], g, idx);
	write_subgraph(&b, m.slot[2], g, idx);
	if (g->description != NULL)
		wb_str(&b, m.slot[3], g->description);
	write_buffers(&b, m.slot[4], m.slot[6], g);
	free(idx);
	if (b.err) {
		free(b.p);
		return (te_cause(cause, b.err == EFBIG ? "model of 2 GiB or more" :
		    "out of memory"));
	}
	/* realloc keeps malloc's alignment only: copy to 16 once. */
	if (posix_memalign(&aligned, 16, b.len) != 0) {
		free(b.p);
		return (te_cause(cause, "out of memory"));
	}
	memcpy(aligned, b.p, b.len);
	free(b.p);
	*out = aligned;
	*len = b.len;
	return (0);
}

/* Find external buffer data (offset, size fields) of table bt in b. */
static int
meta_external(const struct fb *b, const struct fb_table *bt,
    const void **data, size_t *dlen)
{
	uint64_t	 off, size;

	if (fb_u64(b, bt, 1, 0, &off) == FB_BAD ||
	    fb_u64(b, bt, 2, 0, &size) == FB_BAD)
		return (-1);
	/* TFLite's convention: an offset of 0 or 1 means no data */
	if (off <= 1) {
		*data = b->p;
		*dlen = 0;
		return (0);
	}
	if (off > b->len || size > b->len - off)
		return (-1);
	*data = b->p + off;
	*dlen = (size_t)size;
	return (0);
}

/*
 * Find the metadata entry called name in the .tflite in buf (untrusted):
 * 0 and its bytes, or -1 if absent or malformed.
 */
int
tflite_write_metadata(const void *buf, size_t len, const char *name,
    const void **data, size_t *dlen)
{
	struct fb	 b = { buf, len };
	struct fb_table	 root, mt, bt;
	struct fb_vec	 mv, bv, dv;
	const char	*s;
	uint32_t	 i, n;
	int32_t		 bi;
	size_t		 nl = strlen(name);
	int		 r;

	if (buf == NULL || fb_root(&b, &root) != FB_OK ||
	    fb_vector(&b, &root, 6, 4, &mv) != FB_OK ||
	    fb_vector(&b, &root, 4, 4, &bv) != FB_OK)
		return (-1);
	for (i = 0; i < mv.n; i++) {
		if (fb_vec_table(&b, &mv, i, &mt) != FB_OK ||
		    fb_string(&b, &mt, 0, &s, &n) != FB_OK)
			continue;
		if (n != nl || memcmp(s, name, nl) != 0)
			continue;
		if (fb_i32(&b, &mt, 1, 0, &bi) == FB_BAD ||
		    (uint32_t)bi >= bv.n ||
		    fb_vec_table(&b, &bv, (uint32_t)bi, &bt) != FB_OK)
			return (-1);
		r = fb_vector(&b, &bt, 0, 1, &dv);
		if (r == FB_BAD)
			return (-1);
		if (r == FB_ABSENT)
			return (meta_external(&b, &bt, data, dlen));
		*data = b.p + dv.pos;
		*dlen = dv.n;
		return (0);
	}
	return (-1);
}
