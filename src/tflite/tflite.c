/* tflite.c - model loading, validation, arena planning and invoke.
 *
 * Loading walks the flatbuffer once through the bounds-checked reader,
 * copying what the runtime needs into plain C arrays (tensors, operators),
 * checking every index (buffer, tensor, opcode) and every size (shape
 * products, buffer lengths) on the way.  Each operator's prepare function
 * then validates its operands and precomputes its parameters.  Finally the
 * planner gives every activation tensor and every scratch buffer an offset
 * in one arena, reusing memory between tensors whose lifetimes (first and
 * last operator touching them) do not overlap.  After that, invoke is a
 * loop over eval functions that cannot fail and allocates nothing.
 */
#include "tflite/tflite.h"
#include "tflite/tflite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Limits that keep a hostile file from asking for absurd memory. */
#define MAX_TENSOR_BYTES ((size_t)1 << 28)

struct tflite_model {
	uint8_t *map;           /* mmap'd file, or NULL */
	size_t maplen;
	uint8_t *copy;          /* aligned copy of an in-memory model, or NULL */
	struct te_tensor *t;
	size_t nt;
	struct te_op *ops;
	int nops;
	int32_t *inputs;
	int nin;
	int32_t *outputs;
	int nout;
	uint8_t *arena;
	size_t arena_bytes;
	void **owned;           /* aligned copies of misaligned constants */
	size_t nowned;
};

/* Operator names by builtin code, for --info and error messages. */
static const char *const op_names[] = {
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D",
	"DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP",
	"FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION",
	"L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC",
	"LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1",
	"RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX",
	"SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM",
	"CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
	"UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
	"SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
	"UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE",
	"BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
	"DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
	"ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER",
	"GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN",
	"TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
	"NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN",
	"FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
	"ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
	"FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
	"RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
	"MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
	"GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE",
	"MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH",
	"IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
	"SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
	"PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE",
	"BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS",
	"HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
	"REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
	"ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL",
	"BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
	"DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD",
	"UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
	"UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
};

/* Name of a builtin operator code ("UNKNOWN" past the table). */
static const char *op_name(int code)
{
	if (code >= 0 && (size_t)code < sizeof op_names / sizeof op_names[0])
		return op_names[code];
	return "UNKNOWN";
}

/* Prepare function for each supported builtin code. */
static int (*prep_for(int code))(struct te_prep *)
{
	switch (code) {
	case OP_ADD: case OP_MUL: return te_prep_add_mul;
	case OP_AVERAGE_POOL_2D: case OP_MAX_POOL_2D: return te_prep_pool;
	case OP_CONCATENATION: return te_prep_concat;
	case OP_CONV_2D: return te_prep_conv;
	case OP_DEPTHWISE_CONV_2D: return te_prep_dwconv;
	case OP_DEQUANTIZE: return te_prep_dequantize;
	case OP_FULLY_CONNECTED: return te_prep_fc;
	case OP_LOGISTIC: case OP_TANH: return te_prep_logistic_tanh;
	case OP_RESHAPE: return te_prep_reshape;
	case OP_SOFTMAX: return te_prep_softmax;
	case OP_MEAN: return te_prep_mean;
	case OP_QUANTIZE: return te_prep_quantize;
	default: return NULL;
	}
}

/* Element size of a schema TensorType (1 for types without kernels). */
static size_t elem_size(int type)
{
	switch (type) {
	case TT_FLOAT32: case TT_INT32: return 4;
	case TT_INT64: case 10: return 8;
	case TT_INT16: case 1: return 2;
	default: return 1;
	}
}

/* Store "name: message" in *cause. */
static void set_cause(char **cause, const char *name, const char *msg)
{
	if (!cause)
		return;
	size_t n = strlen(name) + strlen(msg) + 3;
	*cause = malloc(n);
	if (*cause)
		snprintf(*cause, n, "%s: %s", name, msg);
}

/* Free everything a (possibly half-built) model owns. */
void tflite_model_free(struct tflite_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nt; i++) {
		free(m->t[i].scales);
		free(m->t[i].zps);
		free(m->t[i].name);
	}
	free(m->t);
	for (int i = 0; i < m->nops; i++) {
		free(m->ops[i].in);
		free(m->ops[i].out);
		free(m->ops[i].data);
	}
	free(m->ops);
	free(m->inputs);
	free(m->outputs);
	free(m->arena);
	for (size_t i = 0; i < m->nowned; i++)
		free(m->owned[i]);
	free(m->owned);
	if (m->map)
		munmap(m->map, m->maplen);
	free(m->copy);
	free(m);
}

/* Copy a string field into a printable, NUL-terminated heap string. */
static char *dup_name(const struct fb *b, const struct fb_table *t, int id)
{
	const char *s = "";
	uint32_t n = 0;
	if (fb_string(b, t, id, &s, &n) != FB_OK)
		n = 0;
	if (n > 200)
		n = 200;
	char *r = malloc(n + 1);
	if (!r)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		r[i] = c >= 32 && c < 127 ? (char)c : '?';
	}
	r[n] = 0;
	return r;
}

/* Read a vector of tensor indices into a heap array, checking ranges. */
static int read_indices(const struct fb *b, const struct fb_table *t, int id,
			size_t nt, int allow_neg, int32_t **out, int *n,
			char *err, size_t errlen, const char *what)
{
	struct fb_vec v;
	int r = fb_vector(b, t, id, 4, &v);
	*out = NULL;
	*n = 0;
	if (r == FB_BAD) {
		snprintf(err, errlen, "%s: malformed index vector", what);
		return -1;
	}
	if (r == FB_ABSENT)
		return 0;
	if (v.n > 1024) {
		snprintf(err, errlen, "%s: too many operands (%u)", what, v.n);
		return -1;
	}
	*out = malloc(sizeof(int32_t) * (v.n ? v.n : 1));
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < v.n; i++) {
		int32_t x = fb_vec_i32(b, &v, i);
		if ((x < 0 && !(allow_neg && x == -1)) || (x >= 0 && (size_t)x >= nt)) {
			snprintf(err, errlen, "%s: tensor index %d out of range",
				 what, (int)x);
			return -1;
		}
		(*out)[i] = x;
	}
	*n = (int)v.n;
	return 0;
}

/* Parse one tensor's quantization parameters. */
static int read_quant(const struct fb *b, const struct fb_table *tt,
		      struct te_tensor *t, char *err, size_t errlen, size_t ti)
{
	struct fb_table q;
	int r = fb_sub(b, tt, 4, &q);
	if (r == FB_ABSENT)
		return 0;
	if (r == FB_BAD)
		goto bad;
	struct fb_vec sv, zv;
	int rs = fb_vector(b, &q, 2, 4, &sv);
	int rz = fb_vector(b, &q, 3, 8, &zv);
	int32_t qdim;
	if (rs == FB_BAD || rz == FB_BAD || fb_i32(b, &q, 6, 0, &qdim) == FB_BAD)
		goto bad;
	if (rs == FB_ABSENT || sv.n == 0)
		return 0;
	if (rz == FB_ABSENT)
		zv.n = 0;
	if (zv.n != 0 && zv.n != 1 && zv.n != sv.n)
		goto bad;
	/* some converters store a bogus axis on 1-D per-channel biases */
	if (sv.n > 1 && t->ndims == 1 && (uint32_t)t->dims[0] == sv.n)
		qdim = 0;
	if (sv.n > 1 && (qdim < 0 || qdim >= t->ndims ||
			 (uint32_t)t->dims[qdim] != sv.n))
		goto bad;
	t->scales = malloc(sizeof(float) * sv.n);
	t->zps = malloc(sizeof(int32_t) * sv.n);
	if (!t->scales || !t->zps) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < sv.n; i++) {
		float s = fb_vec_f32(b, &sv, i);
		int64_t z = zv.n ? fb_vec_i64(b, &zv, zv.n == 1 ? 0 : i) : 0;
		if (!isfinite(s) || s < 0 || z < -32768 || z > 65535)
			goto bad;
		t->scales[i] = s;
		t->zps[i] = (int32_t)z;
	}
	t->nq = (int)sv.n;
	t->qdim = sv.n > 1 ? qdim : 0;
	t->scale = t->scales[0];
	t->zp = t->zps[0];
	return 0;
bad:
	snprintf(err, errlen, "tensor %zu: bad quantization parameters", ti);
	return -1;
}

/* Keep a constant's data aligned for its element type (copy if needed). */
static int own_aligned(struct tflite_model *m, struct te_tensor *t,
		       const uint8_t *src, size_t n)
{
	if (((uintptr_t)src & 15) == 0) {
		t->data = (uint8_t *)src;
		return 0;
	}
	void **no = realloc(m->owned, sizeof(void *) * (m->nowned + 1));
	if (!no)
		return -1;
	m->owned = no;
	uint8_t *c = aligned_alloc(16, (n + 15) / 16 * 16);
	if (!c)
		return -1;
	memcpy(c, src, n);
	m->owned[m->nowned++] = c;
	t->data = c;
	return 0;
}

/* A tensor's shape from its shape vector sh: dims, element count, bytes. */
static int read_tensor_shape(const struct fb *b, const struct fb_vec *sh,
			     struct te_tensor *t, uint32_t i,
			     char *err, size_t errlen)
{
	if (sh->n > TE_MAXD) {
		snprintf(err, errlen, "tensor %u: %u dimensions", i, sh->n);
		return -1;
	}
	t->ndims = (int)sh->n;
	size_t es = elem_size(t->type);
	size_t ne = 1;
	for (uint32_t d = 0; d < sh->n; d++) {
		int32_t x = fb_vec_i32(b, sh, d);
		if (x <= 0) {
			snprintf(err, errlen, "tensor %u: dimension %u is %d",
				 i, d, (int)x);
			return -1;
		}
		t->dims[d] = x;
		if ((size_t)x > MAX_TENSOR_BYTES / es / ne) {
			snprintf(err, errlen, "tensor %u: shape too large", i);
			return -1;
		}
		ne *= (size_t)x;
	}
	t->nelem = ne;
	t->bytes = ne * es;
	return 0;
}

/*
 * A tensor's constant data from buffer bufi (not 0), inside the flatbuffer
 * or, for large models, after it; none is fine (a tensor computed at run
 * time), too little for the shape is not.
 */
static int read_tensor_data(struct tflite_model *m, const struct fb *b,
			    const struct fb_vec *bufs, int32_t bufi,
			    struct te_tensor *t, uint32_t i,
			    char *err, size_t errlen)
{
	struct fb_table bt;
	struct fb_vec dv;
	uint64_t boff, bsize;
	int rd;
	if (fb_vec_table(b, bufs, (uint32_t)bufi, &bt) != FB_OK ||
	    (rd = fb_vector(b, &bt, 0, 1, &dv)) == FB_BAD ||
	    fb_u64(b, &bt, 1, 0, &boff) == FB_BAD ||
	    fb_u64(b, &bt, 2, 0, &bsize) == FB_BAD) {
		snprintf(err, errlen, "buffer %u: malformed", (uint32_t)bufi);
		return -1;
	}
	const uint8_t *src = NULL;
	uint64_t have = 0;
	if (rd == FB_OK && dv.n > 0) {
		src = b->p + dv.pos;
		have = dv.n;
	} else if (boff > 1) {
		/* large models keep buffers after the flatbuffer */
		if (boff > b->len || bsize > b->len - boff) {
			snprintf(err, errlen, "buffer %u: offset out of range",
				 (uint32_t)bufi);
			return -1;
		}
		src = b->p + boff;
		have = bsize;
	}
	if (!src)
		return 0;
	if (have < t->bytes) {
		snprintf(err, errlen,
			 "tensor %u: buffer %u holds %llu bytes, shape needs %zu",
			 i, (uint32_t)bufi, (unsigned long long)have, t->bytes);
		return -1;
	}
	if (own_aligned(m, t, src, t->bytes) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->is_const = 1;
	return 0;
}

/* Parse tensor i of the subgraph's tensor vector tv into m->t[i]. */
static int read_tensor(struct tflite_model *m, const struct fb *b,
		       const struct fb_vec *tv, const struct fb_vec *bufs,
		       uint32_t i, char *err, size_t errlen)
{
	struct te_tensor *t = &m->t[i];
	struct fb_table tt;
	struct fb_vec sh;
	uint8_t type;
	int32_t bufi;
	t->first = t->last = -2;
	if (fb_vec_table(b, tv, i, &tt) != FB_OK ||
	    fb_vector(b, &tt, 0, 4, &sh) == FB_BAD ||
	    fb_u8(b, &tt, 1, 0, &type) == FB_BAD ||
	    fb_i32(b, &tt, 2, 0, &bufi) == FB_BAD) {
		snprintf(err, errlen, "tensor %u: malformed", i);
		return -1;
	}
	uint8_t isvar;
	if (fb_u8(b, &tt, 5, 0, &isvar) == FB_BAD) {
		snprintf(err, errlen, "tensor %u: malformed", i);
		return -1;
	}
	t->is_var = isvar != 0;
	t->name = dup_name(b, &tt, 3);
	if (!t->name) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->type = type;
	if (fb_field(b, &tt, 0, 4, &(size_t){0}) == FB_ABSENT)
		sh.n = 0;
	if (read_tensor_shape(b, &sh, t, i, err, errlen) < 0)
		return -1;
	if ((uint32_t)bufi >= bufs->n) {
		snprintf(err, errlen, "tensor %u: buffer %u out of range",
			 i, (uint32_t)bufi);
		return -1;
	}
	if (read_quant(b, &tt, t, err, errlen, i) < 0)
		return -1;
	if (bufi == 0)
		return 0;
	return read_tensor_data(m, b, bufs, bufi, t, i, err, errlen);
}

/* Parse the subgraph's tensors. */
static int read_tensors(struct tflite_model *m, const struct fb *b,
			const struct fb_table *sg, const struct fb_vec *bufs,
			char *err, size_t errlen)
{
	struct fb_vec tv;
	if (fb_vector(b, sg, 0, 4, &tv) != FB_OK) {
		snprintf(err, errlen, "subgraph: missing or malformed tensors");
		return -1;
	}
	m->t = calloc(tv.n ? tv.n : 1, sizeof(struct te_tensor));
	if (!m->t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->nt = tv.n;
	for (uint32_t i = 0; i < tv.n; i++)
		if (read_tensor(m, b, &tv, bufs, i, err, errlen) < 0)
			return -1;
	return 0;
}

/* Parse and prepare the operators. */
static int read_ops(struct tflite_model *m, const struct fb *b,
		    const struct fb_table *sg, const int32_t *codes,
		    uint32_t ncodes, char *err, size_t errlen)
{
	struct fb_vec ov;
	int r = fb_vector(b, sg, 3, 4, &ov);
	if (r == FB_BAD) {
		snprintf(err, errlen, "subgraph: malformed operators");
		return -1;
	}
	if (r == FB_ABSENT)
		ov.n = 0;
	m->ops = calloc(ov.n ? ov.n : 1, sizeof(struct te_op));
	if (!m->ops) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < ov.n; i++) {
		struct te_op *op = &m->ops[i];
		struct fb_table ot;
		uint32_t oc;
		int32_t oci;
		m->nops = (int)i + 1;
		char what[32];
		snprintf(what, sizeof what, "operator %u", i);
		if (fb_vec_table(b, &ov, i, &ot) != FB_OK ||
		    fb_i32(b, &ot, 0, 0, &oci) == FB_BAD) {
			snprintf(err, errlen, "operator %u: malformed", i);
			return -1;
		}
		oc = (uint32_t)oci;
		if (oc >= ncodes) {
			snprintf(err, errlen, "operator %u: opcode %u out of range",
				 i, oc);
			return -1;
		}
		if (read_indices(b, &ot, 1, m->nt, 1, &op->in, &op->nin, err,
				 errlen, what) < 0 ||
		    read_indices(b, &ot, 2, m->nt, 0, &op->out, &op->nout, err,
				 errlen, what) < 0)
			return -1;
		op->code = codes[oc];
		int (*prep)(struct te_prep *) = prep_for(op->code);
		if (!prep) {
			snprintf(err, errlen, "operator %u: unsupported operator %s",
				 i, op->code == 32 ? "CUSTOM" : op_name(op->code));
			return -1;
		}
		for (int k = 0; k < op->nout; k++)
			if (m->t[op->out[k]].is_const) {
				snprintf(err, errlen,
					 "operator %u: writes constant tensor %d",
					 i, (int)op->out[k]);
				return -1;
			}
		struct te_prep p = { .fb = b, .t = m->t, .nt = m->nt, .op = op };
		char perr[200];
		p.err = perr;
		p.errlen = sizeof perr;
		perr[0] = 0;
		r = fb_sub(b, &ot, 4, &p.opt);
		if (r == FB_BAD) {
			snprintf(err, errlen, "operator %u (%s): malformed options",
				 i, op_name(op->code));
			return -1;
		}
		p.has_opt = r == FB_OK;
		if (prep(&p) < 0) {
			snprintf(err, errlen, "operator %u (%s): %s", i,
				 op_name(op->code), perr);
			return -1;
		}
	}
	m->nops = (int)ov.n;
	return 0;
}

/* Parse a whole model from an aligned buffer. */
static int parse_model(struct tflite_model *m, const uint8_t *buf, size_t len,
		       char *err, size_t errlen)
{
	struct fb b = { buf, len };
	struct fb_table root, sg;
	struct fb_vec cv, sv, bv;
	if (len == 0) {
		snprintf(err, errlen, "empty file");
		return -1;
	}
	if (fb_root(&b, &root) != FB_OK) {
		snprintf(err, errlen, "not a flatbuffer (bad root table)");
		return -1;
	}
	if (fb_vector(&b, &root, 1, 4, &cv) != FB_OK) {
		snprintf(err, errlen, "missing or malformed operator codes");
		return -1;
	}
	if (fb_vector(&b, &root, 2, 4, &sv) != FB_OK || sv.n < 1) {
		snprintf(err, errlen, "missing or malformed subgraphs");
		return -1;
	}
	if (fb_vector(&b, &root, 4, 4, &bv) != FB_OK) {
		snprintf(err, errlen, "missing or malformed buffers");
		return -1;
	}
	int32_t *codes = malloc(sizeof(int32_t) * (cv.n ? cv.n : 1));
	if (!codes) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < cv.n; i++) {
		struct fb_table ct;
		uint8_t dep;
		int32_t bc;
		if (fb_vec_table(&b, &cv, i, &ct) != FB_OK ||
		    fb_u8(&b, &ct, 0, 0, &dep) == FB_BAD ||
		    fb_i32(&b, &ct, 3, 0, &bc) == FB_BAD) {
			snprintf(err, errlen, "operator code %u: malformed", i);
			free(codes);
			return -1;
		}
		/* old files keep the code in the deprecated int8 field */
		int32_t d = (int8_t)dep;
		codes[i] = d > bc ? d : bc;
	}
	int rc = -1;
	if (fb_vec_table(&b, &sv, 0, &sg) != FB_OK) {
		snprintf(err, errlen, "subgraph 0: malformed");
		goto out;
	}
	if (read_tensors(m, &b, &sg, &bv, err, errlen) < 0)
		goto out;
	if (read_indices(&b, &sg, 1, m->nt, 0, &m->inputs, &m->nin, err, errlen,
			 "subgraph inputs") < 0 ||
	    read_indices(&b, &sg, 2, m->nt, 0, &m->outputs, &m->nout, err,
			 errlen, "subgraph outputs") < 0)
		goto out;
	for (int i = 0; i < m->nin; i++)
		if (m->t[m->inputs[i]].is_const) {
			snprintf(err, errlen, "input tensor %d is constant",
				 (int)m->inputs[i]);
			goto out;
		}
	if (read_ops(m, &b, &sg, codes, cv.n, err, errlen) < 0)
		goto out;
	if (te_plan_arena(m->t, m->nt, m->ops, m->nops, m->inputs, m->nin,
			  m->outputs, m->nout, &m->arena, &m->arena_bytes, err,
			  errlen) < 0)
		goto out;
	rc = 0;
out:
	free(codes);
	return rc;
}

/* Load a model from memory; the bytes are copied into an aligned buffer. */
int tflite_model_load_mem(const void *buf, size_t len, const char *name,
			  struct tflite_model **out, char **cause)
{
	char err[256];
	*out = NULL;
	if (cause)
		*cause = NULL;
	if (!name)
		name = "model";
	struct tflite_model *m = calloc(1, sizeof *m);
	if (!m) {
		set_cause(cause, name, "out of memory");
		return -1;
	}
	m->copy = aligned_alloc(16, len ? (len + 15) / 16 * 16 : 16);
	if (!m->copy) {
		free(m);
		set_cause(cause, name, "out of memory");
		return -1;
	}
	if (len)
		memcpy(m->copy, buf, len);
	if (parse_model(m, m->copy, len, err, sizeof err) < 0) {
		set_cause(cause, name, err);
		tflite_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* Load a model file, mapped read-only. */
int tflite_model_load_file(const char *path, struct tflite_model **out,
			   char **cause)
{
	char err[256];
	*out = NULL;
	if (cause)
		*cause = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_cause(cause, path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_cause(cause, path, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		set_cause(cause, path, "empty file");
		close(fd);
		return -1;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		set_cause(cause, path, strerror(errno));
		return -1;
	}
	struct tflite_model *m = calloc(1, sizeof *m);
	if (!m) {
		munmap(map, (size_t)st.st_size);
		set_cause(cause, path, "out of memory");
		return -1;
	}
	m->map = map;
	m->maplen = (size_t)st.st_size;
	if (parse_model(m, map, m->maplen, err, sizeof err) < 0) {
		set_cause(cause, path, err);
		tflite_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* Bytes of the planned tensor arena. */
size_t tflite_model_arena_bytes(const struct tflite_model *m)
{
	return m->arena_bytes;
}

/* Number of graph inputs. */
int tflite_model_ninputs(const struct tflite_model *m)
{
	return m->nin;
}

/* Number of graph outputs. */
int tflite_model_noutputs(const struct tflite_model *m)
{
	return m->nout;
}

/* Fill a public description from an internal tensor. */
static void describe(const struct te_tensor *t, struct tflite_tensor_info *info)
{
	memset(info, 0, sizeof *info);
	info->name = t->name;
	switch (t->type) {
	case TT_FLOAT32: case TT_INT32: case TT_UINT8: case TT_INT64:
	case TT_INT16: case TT_INT8:
		info->dtype = (enum tflite_dtype)t->type;
		break;
	default:
		info->dtype = TFLITE_OTHER;
	}
	info->ndims = t->ndims;
	memcpy(info->dims, t->dims, sizeof(int32_t) * (size_t)t->ndims);
	info->scale = t->scale;
	info->zero_point = t->zp;
	info->bytes = t->bytes;
}

/* Describe graph input i. */
int tflite_model_input_info(const struct tflite_model *m, int i,
			    struct tflite_tensor_info *info)
{
	if (i < 0 || i >= m->nin)
		return -1;
	describe(&m->t[m->inputs[i]], info);
	return 0;
}

/* Describe graph output i. */
int tflite_model_output_info(const struct tflite_model *m, int i,
			     struct tflite_tensor_info *info)
{
	if (i < 0 || i >= m->nout)
		return -1;
	describe(&m->t[m->outputs[i]], info);
	return 0;
}

/* Writable data of graph input i (in the arena). */
void *tflite_model_input(struct tflite_model *m, int i)
{
	if (i < 0 || i >= m->nin)
		return NULL;
	return m->t[m->inputs[i]].data;
}

/* Data of graph output i. */
const void *tflite_model_output(const struct tflite_model *m, int i)
{
	if (i < 0 || i >= m->nout)
		return NULL;
	return m->t[m->outputs[i]].data;
}

/* Run every operator in order; cannot fail once the model is loaded. */
int tflite_model_invoke(struct tflite_model *m, char **cause)
{
	if (cause)
		*cause = NULL;
	for (int i = 0; i < m->nops; i++) {
		const struct te_op *op = &m->ops[i];
		op->eval(op, m->t, m->arena + op->scratch_off);
	}
	return 0;
}

/* Number of operators. */
int tflite_model_nops(const struct tflite_model *m)
{
	return m->nops;
}

/* Name of operator i. */
const char *tflite_model_op_name(const struct tflite_model *m, int i)
{
	if (i < 0 || i >= m->nops)
		return NULL;
	return op_name(m->ops[i].code);
}

/* Printable name of a dtype. */
const char *tflite_dtype_name(enum tflite_dtype t)
{
	switch (t) {
	case TFLITE_FLOAT32: return "float32";
	case TFLITE_INT32: return "int32";
	case TFLITE_UINT8: return "uint8";
	case TFLITE_INT64: return "int64";
	case TFLITE_INT16: return "int16";
	case TFLITE_INT8: return "int8";
	default: return "other";
	}
}
