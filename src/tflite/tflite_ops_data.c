/* tflite_ops_data.c - QUANTIZE, DEQUANTIZE, LOGISTIC, TANH, CONCATENATION, MEAN.
 *
 * Conversions between float and int8, the fixed-point logistic and tanh of
 * the reference kernels (Q4.27 input, gemmlowp-style exp and reciprocal),
 * concatenation along any axis (int8 inputs with a different scale are
 * rescaled like the reference), and MEAN over any set of axes (integer sum,
 * requantization, rounded division).
 */
#include "tflite/tflite_int.h"
#include "tflite/tflite_quant.h"

#include <math.h>
#include <string.h>

/* Check quantization of an int8 tensor. */
static int check_q8(struct te_prep *p, const struct te_tensor *t, const char *w)
{
	if (t->nq < 1 || !(t->scale > 0) || t->zp < -128 || t->zp > 127)
		return te_fail(p, "%s: int8 tensor without valid quantization", w);
	return 0;
}

/* ---- QUANTIZE / DEQUANTIZE ---- */

struct qparams {
	size_t n;
	float scale;
	int32_t zp, izp, lo, hi;
	int32_t qm;
	int sh;
	double dscale;
};

/* QUANTIZE float -> int8. */
static void eval_quant_f(const struct te_op *op, struct te_tensor *t,
			 uint8_t *scratch)
{
	const struct qparams *q = op->data;
	const float *in = (const float *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	(void)scratch;
	for (size_t i = 0; i < q->n; i++) {
		int32_t v = te_f2i(in[i] / q->scale);
		v = v > INT32_MAX - 256 ? INT32_MAX - 256 : v;
		out[i] = (int8_t)te_clamp(v + q->zp, -128, 127);
	}
}

/* QUANTIZE int8 -> int8 (requantization). */
static void eval_quant_8(const struct te_op *op, struct te_tensor *t,
			 uint8_t *scratch)
{
	const struct qparams *q = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	(void)scratch;
	for (size_t i = 0; i < q->n; i++) {
		int32_t v = q_add(q_mul(in[i] - q->izp, q->qm, q->sh), q->zp);
		out[i] = (int8_t)te_clamp(v, -128, 127);
	}
}

/* Prepare QUANTIZE. */
int te_prep_quantize(struct te_prep *p)
{
	if (te_check_io(p, 1, 1, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *out = te_output(p, 0);
	if (in->nelem != out->nelem || out->type != TT_INT8)
		return te_fail(p, "unsupported shapes or dtypes");
	if (check_q8(p, out, "output") < 0)
		return -1;
	struct qparams *q = te_alloc(p, sizeof *q);
	if (!q)
		return -1;
	q->n = in->nelem;
	q->scale = out->scale;
	q->zp = out->zp;
	if (in->type == TT_FLOAT32) {
		p->op->eval = eval_quant_f;
		return 0;
	}
	if (in->type != TT_INT8 || check_q8(p, in, "input") < 0)
		return te_fail(p, "unsupported input dtype");
	q->izp = in->zp;
	q_quantize_multiplier((double)in->scale / (double)out->scale, &q->qm,
			      &q->sh);
	p->op->eval = eval_quant_8;
	return 0;
}

/* DEQUANTIZE int8 -> float. */
static void eval_dequant(const struct te_op *op, struct te_tensor *t,
			 uint8_t *scratch)
{
	const struct qparams *q = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	float *out = (float *)t[op->out[0]].data;
	(void)scratch;
	for (size_t i = 0; i < q->n; i++)
		out[i] = (float)(q->dscale * (double)(in[i] - q->zp));
}

/* Prepare DEQUANTIZE. */
int te_prep_dequantize(struct te_prep *p)
{
	if (te_check_io(p, 1, 1, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *out = te_output(p, 0);
	if (in->nelem != out->nelem || in->type != TT_INT8 ||
	    out->type != TT_FLOAT32)
		return te_fail(p, "only int8 to float32 is supported");
	if (in->nq != 1 || check_q8(p, in, "input") < 0)
		return te_fail(p, "input needs one scale");
	struct qparams *q = te_alloc(p, sizeof *q);
	if (!q)
		return -1;
	q->n = in->nelem;
	q->dscale = in->scale;
	q->zp = in->zp;
	p->op->eval = eval_dequant;
	return 0;
}

/* ---- LOGISTIC / TANH ---- */

struct act8 {
	size_t n;
	int32_t izp, radius, qm;
	int ls;
};

/* LOGISTIC int8 (output scale 1/256, zero point -128). */
static void eval_logistic8(const struct te_op *op, struct te_tensor *t,
			   uint8_t *scratch)
{
	const struct act8 *q = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	(void)scratch;
	for (size_t i = 0; i < q->n; i++) {
		int32_t x = in[i] - q->izp;
		if (x <= -q->radius)
			out[i] = -128;
		else if (x >= q->radius)
			out[i] = 127;
		else {
			int32_t r = q_rdpot(q_logistic(q_mul(x, q->qm, q->ls)), 23);
			out[i] = (int8_t)te_clamp(r - 128, -128, 127);
		}
	}
}

/* TANH int8 (output scale 1/128, zero point 0). */
static void eval_tanh8(const struct te_op *op, struct te_tensor *t,
		       uint8_t *scratch)
{
	const struct act8 *q = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	(void)scratch;
	for (size_t i = 0; i < q->n; i++) {
		int32_t x = in[i] - q->izp;
		if (x <= -q->radius)
			out[i] = -128;
		else if (x >= q->radius)
			out[i] = 127;
		else {
			int32_t r = q_rdpot(q_tanh(q_mul(x, q->qm, q->ls)), 24);
			out[i] = (int8_t)te_clamp(r, -128, 127);
		}
	}
}

/* LOGISTIC / TANH float. */
static void eval_actf(const struct te_op *op, struct te_tensor *t,
		      uint8_t *scratch)
{
	const struct act8 *q = op->data;
	const float *in = (const float *)t[op->in[0]].data;
	float *out = (float *)t[op->out[0]].data;
	(void)scratch;
	if (op->code == OP_TANH)
		for (size_t i = 0; i < q->n; i++)
			out[i] = tanhf(in[i]);
	else
		for (size_t i = 0; i < q->n; i++)
			out[i] = 1.0f / (1.0f + expf(-in[i]));
}

/* Prepare LOGISTIC / TANH. */
int te_prep_logistic_tanh(struct te_prep *p)
{
	if (te_check_io(p, 1, 1, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *out = te_output(p, 0);
	if (in->nelem != out->nelem || in->type != out->type)
		return te_fail(p, "input and output must match");
	struct act8 *q = te_alloc(p, sizeof *q);
	if (!q)
		return -1;
	q->n = in->nelem;
	if (in->type == TT_FLOAT32) {
		p->op->eval = eval_actf;
		return 0;
	}
	if (in->type != TT_INT8 || check_q8(p, in, "input") < 0)
		return te_fail(p, "unsupported dtype");
	/* input scaled into Q4.27 with a Q31 multiplier from frexp */
	double real = (double)in->scale * (double)(1 << 27);
	int e;
	double m = frexp(real, &e);
	if (e < 0 || e > 30)
		return te_fail(p, "unsupported input scale");
	int64_t qm = (int64_t)round(m * (double)(1LL << 31));
	if (qm > INT32_MAX)
		return te_fail(p, "unsupported input scale");
	q->qm = (int32_t)qm;
	q->ls = e;
	q->izp = in->zp;
	q->radius = q_input_radius(4, e);
	p->op->eval = p->op->code == OP_TANH ? eval_tanh8 : eval_logistic8;
	return 0;
}

/* ---- CONCATENATION ---- */

struct concat {
	size_t outer;
	int nin;
	int requant;
	int32_t ozp;
	float oscale;
	size_t es;
	/* followed by nin entries */
	struct cpart {
		size_t chunk;   /* elements per outer step */
		float scale;
		int32_t zp;
	} part[];
};

/* CONCATENATION: interleave contiguous chunks of every input. */
static void eval_concat(const struct te_op *op, struct te_tensor *t,
			uint8_t *scratch)
{
	const struct concat *q = op->data;
	uint8_t *out = t[op->out[0]].data;
	(void)scratch;
	for (size_t o = 0; o < q->outer; o++)
		for (int i = 0; i < q->nin; i++) {
			const struct cpart *pt = &q->part[i];
			const uint8_t *src = t[op->in[i]].data + o * pt->chunk * q->es;
			if (!q->requant || (pt->scale == q->oscale && pt->zp == q->ozp)) {
				memcpy(out, src, pt->chunk * q->es);
			} else {
				/* int8 inputs with another scale: float rescale */
				const int8_t *s8 = (const int8_t *)src;
				float sc = pt->scale / q->oscale;
				float bias = -(float)pt->zp * sc;
				for (size_t k = 0; k < pt->chunk; k++) {
					int32_t v = te_f2i((float)s8[k] * sc + bias);
					v = v > 100000 ? 100000 : v;
					((int8_t *)out)[k] = (int8_t)te_clamp(v + q->ozp,
									     -128, 127);
				}
			}
			out += pt->chunk * q->es;
		}
}

/* Prepare CONCATENATION. */
int te_prep_concat(struct te_prep *p)
{
	if (p->op->nin < 1 || te_check_io(p, p->op->nin, p->op->nin, 1) < 0)
		return te_fail(p, "needs inputs and one output");
	struct te_tensor *out = te_output(p, 0);
	int32_t axis;
	if (te_opt_i32(p, 0, 0, &axis) < 0)
		return -1;
	int nd = out->ndims;
	if (axis < 0)
		axis += nd;
	if (axis < 0 || axis >= nd)
		return te_fail(p, "axis out of range");
	struct concat *q = te_alloc(p, sizeof *q + sizeof(struct cpart) *
				    (size_t)p->op->nin);
	if (!q)
		return -1;
	q->nin = p->op->nin;
	q->es = out->nelem ? out->bytes / out->nelem : 1;
	q->outer = 1;
	for (int d = 0; d < axis; d++)
		q->outer *= (size_t)out->dims[d];
	size_t inner = 1;
	for (int d = axis + 1; d < nd; d++)
		inner *= (size_t)out->dims[d];
	int64_t sum = 0;
	for (int i = 0; i < q->nin; i++) {
		struct te_tensor *in = te_input(p, i);
		if (in->type != out->type || in->ndims != nd)
			return te_fail(p, "input %d does not match the output", i);
		for (int d = 0; d < nd; d++)
			if (d != axis && in->dims[d] != out->dims[d])
				return te_fail(p, "input %d shape mismatch", i);
		sum += in->dims[axis];
		q->part[i].chunk = (size_t)in->dims[axis] * inner;
		q->part[i].scale = in->scale;
		q->part[i].zp = in->zp;
	}
	if (sum != out->dims[axis])
		return te_fail(p, "output axis is not the sum of the inputs");
	if (out->type == TT_INT8) {
		if (check_q8(p, out, "output") < 0)
			return -1;
		for (int i = 0; i < q->nin; i++)
			if (check_q8(p, te_input(p, i), "input") < 0)
				return -1;
		q->requant = 1;
		q->oscale = out->scale;
		q->ozp = out->zp;
	} else if (out->type != TT_FLOAT32 && out->type != TT_INT32)
		return te_fail(p, "unsupported dtype");
	p->op->eval = eval_concat;
	return 0;
}

/* ---- MEAN ---- */

struct mean {
	int nd;
	int32_t dims[TE_MAXD];
	size_t ostride[TE_MAXD];  /* output stride per input dim, 0 if reduced */
	size_t nin, nout;
	int32_t cnt;
	int32_t izp, ozp, qm;
	int sh;
};

/* Sum every input element into its output slot (int32 or float). */
#define MEAN_ACCUMULATE(q, in, acc)                                        \
	do {                                                               \
		int32_t idx_[TE_MAXD] = { 0 };                             \
		size_t oi = 0;                                             \
		for (size_t i = 0; i < (q)->nin; i++) {                    \
			acc[oi] += in[i];                                  \
			for (int d = (q)->nd - 1; d >= 0; d--) {           \
				oi += (q)->ostride[d];                     \
				if (++idx_[d] < (q)->dims[d])              \
					break;                             \
				oi -= (q)->ostride[d] * (size_t)(q)->dims[d]; \
				idx_[d] = 0;                               \
			}                                                  \
		}                                                          \
	} while (0)

/* MEAN int8: integer sum, requantize, rounded division. */
static void eval_mean8(const struct te_op *op, struct te_tensor *t,
		       uint8_t *scratch)
{
	const struct mean *q = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	int32_t *acc = (int32_t *)scratch;
	memset(acc, 0, sizeof(int32_t) * q->nout);
	MEAN_ACCUMULATE(q, in, acc);
	int32_t n = q->cnt;
	for (size_t o = 0; o < q->nout; o++) {
		int32_t a = q_sub(acc[o], (int32_t)((int64_t)q->izp * n));
		a = q_mul(a, q->qm, q->sh);
		a = a > 0 ? (int32_t)(((int64_t)a + n / 2) / n) :
			    (int32_t)(((int64_t)a - n / 2) / n);
		out[o] = (int8_t)te_clamp(q_add(a, q->ozp), -128, 127);
	}
}

/* MEAN float. */
static void eval_meanf(const struct te_op *op, struct te_tensor *t,
		       uint8_t *scratch)
{
	const struct mean *q = op->data;
	const float *in = (const float *)t[op->in[0]].data;
	float *out = (float *)t[op->out[0]].data;
	float *acc = (float *)scratch;
	memset(acc, 0, sizeof(float) * q->nout);
	MEAN_ACCUMULATE(q, in, acc);
	for (size_t o = 0; o < q->nout; o++)
		out[o] = acc[o] / (float)q->cnt;
}

/* Prepare MEAN. */
int te_prep_mean(struct te_prep *p)
{
	if (te_check_io(p, 2, 2, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *ax = te_input(p, 1);
	struct te_tensor *out = te_output(p, 0);
	if (!ax->is_const || ax->type != TT_INT32)
		return te_fail(p, "axis must be a constant int32 tensor");
	if (in->type != out->type || (in->type != TT_INT8 &&
				      in->type != TT_FLOAT32))
		return te_fail(p, "unsupported dtype");
	struct mean *q = te_alloc(p, sizeof *q);
	if (!q)
		return -1;
	int red[TE_MAXD] = { 0 };
	const int32_t *axes = (const int32_t *)ax->data;
	for (size_t i = 0; i < ax->nelem; i++) {
		int32_t a = axes[i];
		if (a < 0)
			a += in->ndims;
		if (a < 0 || a >= in->ndims)
			return te_fail(p, "axis out of range");
		red[a] = 1;
	}
	q->nd = in->ndims;
	q->nin = in->nelem;
	size_t st = 1, cnt = 1;
	for (int d = in->ndims - 1; d >= 0; d--) {
		q->dims[d] = in->dims[d];
		q->ostride[d] = red[d] ? 0 : st;
		if (red[d])
			cnt *= (size_t)in->dims[d];
		else
			st *= (size_t)in->dims[d];
	}
	q->nout = st;
	if (out->nelem != st)
		return te_fail(p, "output has %zu elements, expected %zu",
			       out->nelem, st);
	if (cnt > (1 << 23))
		return te_fail(p, "reduction too large");
	q->cnt = (int32_t)cnt;
	p->op->scratch = 4 * st;
	if (in->type == TT_FLOAT32) {
		p->op->eval = eval_meanf;
		return 0;
	}
	if (check_q8(p, in, "input") < 0 || check_q8(p, out, "output") < 0)
		return -1;
	q->izp = in->zp;
	q->ozp = out->zp;
	q_quantize_multiplier((double)in->scale / (double)out->scale, &q->qm,
			      &q->sh);
	p->op->eval = eval_mean8;
	return 0;
}
