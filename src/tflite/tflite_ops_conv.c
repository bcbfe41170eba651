/* tflite_ops_conv.c - CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED.
 *
 * int8 kernels follow TFLite's reference arithmetic: acc = sum of
 * (x - input_zp) * w over the window (weights are symmetric, zero point 0),
 * plus the int32 bias, then a per-channel fixed-point requantization, plus
 * the output zero point, then the activation clamp.  Integer sums are exact,
 * so the kernels reorder them freely for speed: the input zero-point term
 * is folded into the bias at prepare time (sum over the whole filter), and
 * padded positions of the im2col patch are filled with the input zero point
 * so that they contribute exactly nothing.  1x1 stride-1 convolutions and
 * fully connected layers use the input directly as the GEMM operand.
 *
 * Hybrid models (float activations, int8 weights) run CONV_2D and
 * FULLY_CONNECTED with TFLite's CPU runtime's hybrid arithmetic
 * (tflite_hybrid.c: dynamic int8 quantization of the input at each
 * invoke); DEPTHWISE_CONV_2D with int8 weights dequantizes them to float
 * once at prepare time.
 */
#include "tflite/tflite_gemm.h"
#include "tflite/tflite_hybrid.h"
#include "tflite/tflite_int.h"
#include "tflite/tflite_quant.h"

#include <string.h>

/* Everything a convolution-like kernel needs at eval time. */
struct conv {
	int n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl;
	int mult;               /* depthwise multiplier */
	int k;                  /* patch length kh*kw*ic */
	int direct;             /* 1x1, stride 1, no padding: no im2col */
	int32_t lo, hi, ozp;    /* int8 output clamp and zero point */
	int32_t izp;            /* input zero point (pad value) */
	float flo, fhi;
	const int8_t *w;        /* int8 weights */
	const float *wf;        /* float weights */
	int32_t *bias;          /* int8: bias + folded zero-point term */
	float *biasf;
	int32_t *qm;            /* per-channel multiplier */
	int32_t *ls, *rs;       /* per-channel left/right shift */
	int fo;                 /* FC: filter offset (-filter zero point) */
	int batches, units;     /* FC */
	int32_t *wdw;           /* depthwise int8 weights widened to int32 */
	struct te_gemm8 g;      /* conv / FC int8 GEMM */
	struct te_dw8 d;        /* depthwise int8 */
	struct te_gemmf gf;     /* conv / FC float */
	struct te_dwf df;       /* depthwise float */
	struct te_hyb hy;       /* conv / FC hybrid (float in, int8 weights) */
	void *gmem;
	size_t patch_bytes;     /* im2col area at the start of the scratch */
};

/* Round a byte count up to 64. */
static size_t al64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

/* Output size and leading padding of one spatial dimension. */
static int out_size(struct te_prep *p, int in, int k, int s, int d, int same,
		    int *out, int *pad)
{
	if (k <= 0 || s <= 0 || d <= 0 || s > 65536 || d > 65536 || k > 65536)
		return te_fail(p, "bad kernel/stride/dilation");
	int64_t eff = (int64_t)(k - 1) * d + 1;
	int64_t o;
	/* keeps every window coordinate (o * s + k * d) well inside int */
	if (eff > (1 << 24))
		return te_fail(p, "dilated window too large");
	if (same)
		o = ((int64_t)in + s - 1) / s;
	else {
		if (in < eff)
			return te_fail(p, "window larger than input");
		o = ((int64_t)in - eff + s) / s;
	}
	int64_t total = (o - 1) * s + eff - in;
	*pad = total > 0 ? (int)(total / 2) : 0;
	*out = (int)o;
	return 0;
}

/* Check quantization of an int8 activation tensor. */
static int check_q8(struct te_prep *p, const struct te_tensor *t, const char *w)
{
	if (t->nq < 1 || !(t->scale > 0) || t->zp < -128 || t->zp > 127)
		return te_fail(p, "%s: int8 tensor without valid quantization", w);
	return 0;
}

/* Per-channel requantization parameters from scales (double like TFLite). */
static void set_mults(struct conv *c, int nch, float in_s, const float *ws,
		      int nws, float out_s)
{
	for (int i = 0; i < nch; i++) {
		double eff = (double)in_s * (double)ws[nws > 1 ? i : 0] /
			     (double)out_s;
		int sh;
		q_quantize_multiplier(eff, &c->qm[i], &sh);
		c->ls[i] = sh > 0 ? sh : 0;
		c->rs[i] = sh > 0 ? 0 : -sh;
	}
}

/* Weights as float: direct for float filters, dequantized for hybrid. */
static const float *float_weights(const struct te_tensor *f, float *dst,
				  int qdim_len)
{
	if (f->type == TT_FLOAT32)
		return (const float *)f->data;
	/* per-axis dimension is the last one for depthwise, first otherwise */
	size_t inner = 1;
	for (int d = f->qdim + 1; d < f->ndims; d++)
		inner *= (size_t)f->dims[d];
	const int8_t *w = (const int8_t *)f->data;
	for (size_t i = 0; i < f->nelem; i++) {
		int ch = f->nq > 1 ? (int)((i / inner) % (size_t)qdim_len) : 0;
		dst[i] = f->scales[ch] * (float)(w[i] - f->zps[ch]);
	}
	return dst;
}

/* Weights, scales and row sums of a hybrid layer (geometry comes later). */
static void hyb_init(struct te_hyb *h, const struct te_tensor *f,
		     int32_t *rowsum, int nch, int k, const float *bias)
{
	memset(h, 0, sizeof *h);
	h->w = (const int8_t *)f->data;
	h->oc = nch;
	h->k = k;
	h->wscale = f->scales[0];
	h->bias = bias;
	/* equal per-channel scales are one scale to TFLite (EvalHybrid) */
	for (int i = 1; i < f->nq; i++)
		if (f->scales[i] != f->scales[0])
			h->ws = f->scales;
	te_hyb_rowsums(h->w, nch, k, rowsum);
	h->rowsum = rowsum;
	h->neon = te_have_neon();
}

/* CONV_2D / FULLY_CONNECTED hybrid (tflite_hybrid.c). */
static void eval_hyb(const struct te_op *op, struct te_tensor *t,
		     uint8_t *scratch)
{
	const struct conv *c = op->data;
	te_hyb_run(&c->hy, (const float *)t[op->in[0]].data,
		   (float *)t[op->out[0]].data, scratch);
}

/* Operand dtypes and weight quantization of the three kernels. */
static int check_types(struct te_prep *p, int nch, int kind)
{
	struct te_tensor *in = te_input(p, 0), *f = te_input(p, 1);
	struct te_tensor *b = te_input(p, 2), *out = te_output(p, 0);
	if (in->type == TT_INT8) {
		if (f->type != TT_INT8 || out->type != TT_INT8 ||
		    (b && b->type != TT_INT32))
			return te_fail(p, "unsupported dtype combination");
		if (check_q8(p, in, "input") < 0 || check_q8(p, out, "output") < 0)
			return -1;
		if (f->nq != 1 && f->nq != nch)
			return te_fail(p, "filter needs 1 or %d scales", nch);
		for (int i = 0; i < f->nq; i++)
			if (!(f->scales[i] > 0) || (kind != 2 && f->zps[i] != 0))
				return te_fail(p, "bad filter quantization");
	} else if (in->type == TT_FLOAT32) {
		if ((f->type != TT_FLOAT32 && f->type != TT_INT8) ||
		    out->type != TT_FLOAT32 || (b && b->type != TT_FLOAT32))
			return te_fail(p, "unsupported dtype combination");
		if (f->type == TT_INT8 && (f->nq < 1 ||
					   (f->nq > 1 && f->nq != nch)))
			return te_fail(p, "hybrid weights without quantization");
		/* TFLite's hybrid kernels take the weights as symmetric */
		for (int i = 0; f->type == TT_INT8 && i < f->nq; i++)
			if (!(f->scales[i] > 0) || f->zps[i] != 0)
				return te_fail(p, "bad hybrid weight quantization");
	} else
		return te_fail(p, "unsupported input dtype");
	return 0;
}

/* Shared operand checks and parameter setup for the three kernels. */
static int prep_common(struct te_prep *p, struct conv **cp, int nch, int kind,
		       size_t wfloats, int gemm_k)
{
	struct te_tensor *in = te_input(p, 0), *f = te_input(p, 1);
	struct te_tensor *b = te_input(p, 2), *out = te_output(p, 0);
	if (!f->is_const)
		return te_fail(p, "non-constant weights are unsupported");
	if (b && (!b->is_const || (int)b->nelem != nch))
		return te_fail(p, "bias must be constant with %d values", nch);
	if (check_types(p, nch, kind) < 0)
		return -1;
	int q8 = in->type == TT_INT8;
	int hyb = !q8 && f->type == TT_INT8 && kind != 1;
	size_t sz = al64(sizeof(struct conv)) + 4 * al64(sizeof(int32_t) * (size_t)nch);
	if (!q8 && f->type == TT_INT8 && !hyb)
		sz += al64(sizeof(float) * wfloats);
	if (q8 && kind != 1)
		sz += al64(te_gemm8_bytes(gemm_k, nch));
	if (!q8 && kind != 1 && !hyb)
		sz += al64(te_gemmf_bytes(gemm_k, nch));
	if (hyb)
		sz += al64(sizeof(int32_t) * (size_t)nch);
	if (q8 && kind == 1)
		sz += al64(sizeof(int32_t) * f->nelem);
	struct conv *c = te_alloc(p, sz);
	if (!c)
		return -1;
	uint8_t *q = (uint8_t *)c + al64(sizeof *c);
	c->bias = (int32_t *)q;
	c->biasf = (float *)q;
	q += al64(sizeof(int32_t) * (size_t)nch);
	c->qm = (int32_t *)q;
	q += al64(sizeof(int32_t) * (size_t)nch);
	c->ls = (int32_t *)q;
	q += al64(sizeof(int32_t) * (size_t)nch);
	c->rs = (int32_t *)q;
	q += al64(sizeof(int32_t) * (size_t)nch);
	if (q8) {
		c->izp = in->zp;
		c->ozp = out->zp;
		c->w = (const int8_t *)f->data;
		set_mults(c, nch, in->scale, f->scales, f->nq, out->scale);
		if (b)
			memcpy(c->bias, b->data, sizeof(int32_t) * (size_t)nch);
		if (kind != 1)
			c->gmem = q;
		else {
			c->wdw = (int32_t *)q;
			for (size_t i = 0; i < f->nelem; i++)
				c->wdw[i] = c->w[i];
		}
	} else if (hyb) {
		hyb_init(&c->hy, f, (int32_t *)q, nch, gemm_k, b ? c->biasf : NULL);
		if (b)
			memcpy(c->biasf, b->data, sizeof(float) * (size_t)nch);
	} else {
		c->wf = float_weights(f, (float *)q, nch);
		if (f->type == TT_INT8)
			q += al64(sizeof(float) * wfloats);
		c->gmem = q;
		if (b)
			memcpy(c->biasf, b->data, sizeof(float) * (size_t)nch);
	}
	*cp = c;
	return 0;
}

/* Requantize one int32 accumulator of channel ch to int8. */
static inline int8_t requant(const struct conv *c, int32_t acc, int ch)
{
	int32_t v = q_add(q_mul2(acc, c->qm[ch], c->ls[ch], c->rs[ch]), c->ozp);
	return (int8_t)te_clamp(v, c->lo, c->hi);
}

/* int8 dot product with int32 accumulation (vectorized by the compiler). */
static inline int32_t dot8(const int8_t *restrict a, const int8_t *restrict b,
			   int n)
{
	int32_t s = 0;
	for (int i = 0; i < n; i++)
		s += (int16_t)a[i] * (int16_t)b[i];
	return s;
}

/* Build the im2col patch of output pixel (b, oy, ox); padding is the input
 * zero point, so it adds nothing once the bias holds the zero-point term. */
static void patch8(const struct conv *c, const int8_t *in, int b, int oy,
		   int ox, int8_t *dst)
{
	const size_t run = (size_t)c->kw * c->ic;
	int ix0 = ox * c->sw - c->pl;
	int full = c->dw == 1 && ix0 >= 0 && ix0 + c->kw <= c->iw;
	for (int ky = 0; ky < c->kh; ky++) {
		int iy = oy * c->sh - c->pt + ky * c->dh;
		int8_t *d = dst + (size_t)ky * run;
		if (iy < 0 || iy >= c->ih) {
			memset(d, (int8_t)c->izp, run);
			continue;
		}
		const int8_t *row = in + ((size_t)b * c->ih + iy) * c->iw * c->ic;
		if (full) {
			/* the whole kernel row is inside: one copy */
			memcpy(d, row + (size_t)ix0 * c->ic, run);
			continue;
		}
		for (int kx = 0; kx < c->kw; kx++) {
			int ix = ix0 + kx * c->dw;
			if (ix < 0 || ix >= c->iw)
				memset(d + (size_t)kx * c->ic, (int8_t)c->izp,
				       (size_t)c->ic);
			else
				memcpy(d + (size_t)kx * c->ic, row + (size_t)ix * c->ic,
				       (size_t)c->ic);
		}
	}
}

/* Float version of patch8 (padding is 0). */
static void patchf(const struct conv *c, const float *in, int b, int oy,
		   int ox, float *dst)
{
	for (int ky = 0; ky < c->kh; ky++) {
		int iy = oy * c->sh - c->pt + ky * c->dh;
		for (int kx = 0; kx < c->kw; kx++) {
			int ix = ox * c->sw - c->pl + kx * c->dw;
			float *d = dst + ((size_t)ky * c->kw + kx) * c->ic;
			if (iy < 0 || iy >= c->ih || ix < 0 || ix >= c->iw)
				memset(d, 0, sizeof(float) * (size_t)c->ic);
			else
				memcpy(d, in + (((size_t)b * c->ih + iy) * c->iw + ix) *
				       c->ic, sizeof(float) * (size_t)c->ic);
		}
	}
}

/* One row of the scalar int8 GEMM (FC with a non-zero filter zero point). */
static void gemm_row8(const struct conv *c, const int8_t *a, int32_t corr,
		      int8_t *o)
{
	for (int oc = 0; oc < c->oc; oc++)
		o[oc] = requant(c, q_add(q_add(dot8(a, c->w + (size_t)oc * c->k,
						    c->k), c->bias[oc]), corr), oc);
}

/* CONV_2D int8: output pixels in groups of four through the GEMM. */
static void eval_conv8(const struct te_op *op, struct te_tensor *t,
		       uint8_t *scratch)
{
	const struct conv *c = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	size_t npix = (size_t)c->n * c->oh * c->ow;
	const int8_t *rows[4];
	int8_t *outs[4];
	for (size_t p0 = 0; p0 < npix; p0 += 4) {
		int np = npix - p0 < 4 ? (int)(npix - p0) : 4;
		for (int j = 0; j < np; j++) {
			size_t pix = p0 + (size_t)j;
			if (c->direct)
				rows[j] = in + pix * c->ic;
			else {
				int ox = (int)(pix % (size_t)c->ow);
				int oy = (int)(pix / (size_t)c->ow % (size_t)c->oh);
				int b = (int)(pix / ((size_t)c->ow * c->oh));
				int8_t *patch = (int8_t *)scratch + (size_t)j * c->k;
				patch8(c, in, b, oy, ox, patch);
				rows[j] = patch;
			}
			outs[j] = out + pix * c->oc;
		}
		te_gemm8_run(&c->g, rows, np, outs, scratch + c->patch_bytes);
	}
}

/* CONV_2D float (and hybrid): pixels in groups of four through the GEMM. */
static void eval_convf(const struct te_op *op, struct te_tensor *t,
		       uint8_t *scratch)
{
	const struct conv *c = op->data;
	const float *in = (const float *)t[op->in[0]].data;
	float *out = (float *)t[op->out[0]].data;
	size_t npix = (size_t)c->n * c->oh * c->ow;
	const float *rows[4];
	float *outs[4];
	for (size_t p0 = 0; p0 < npix; p0 += 4) {
		int np = npix - p0 < 4 ? (int)(npix - p0) : 4;
		for (int j = 0; j < np; j++) {
			size_t pix = p0 + (size_t)j;
			if (c->direct)
				rows[j] = in + pix * c->ic;
			else {
				int ox = (int)(pix % (size_t)c->ow);
				int oy = (int)(pix / (size_t)c->ow % (size_t)c->oh);
				int b = (int)(pix / ((size_t)c->ow * c->oh));
				float *patch = (float *)(void *)scratch + (size_t)j * c->k;
				patchf(c, in, b, oy, ox, patch);
				rows[j] = patch;
			}
			outs[j] = out + pix * c->oc;
		}
		te_gemmf_run(&c->gf, rows, np, outs);
	}
}

/* Geometry, activation and padding options shared by CONV_2D and DEPTHWISE. */
static int prep_geom(struct te_prep *p, struct conv *c, int dw)
{
	uint8_t pad, act;
	int32_t sw, sh, dlw, dlh, dm = 1;
	/* DepthwiseConv2DOptions has depth_multiplier at slot 3, shifting the rest */
	int base = dw ? 1 : 0;
	if (te_opt_u8(p, 0, 0, &pad) < 0 || te_opt_i32(p, 1, 1, &sw) < 0 ||
	    te_opt_i32(p, 2, 1, &sh) < 0 ||
	    te_opt_u8(p, 3 + base, 0, &act) < 0 ||
	    te_opt_i32(p, 4 + base, 1, &dlw) < 0 ||
	    te_opt_i32(p, 5 + base, 1, &dlh) < 0 ||
	    (dw && te_opt_i32(p, 3, 1, &dm) < 0))
		return -1;
	(void)dm;
	if (pad > 1)
		return te_fail(p, "unsupported padding %d", pad);
	struct te_tensor *in = te_input(p, 0), *out = te_output(p, 0);
	c->sh = sh;
	c->sw = sw;
	c->dh = dlh;
	c->dw = dlw;
	if (out_size(p, c->ih, c->kh, sh, dlh, pad == 0, &c->oh, &c->pt) < 0 ||
	    out_size(p, c->iw, c->kw, sw, dlw, pad == 0, &c->ow, &c->pl) < 0)
		return -1;
	if (out->ndims != 4 || out->dims[0] != c->n || out->dims[1] != c->oh ||
	    out->dims[2] != c->ow || out->dims[3] != c->oc)
		return te_fail(p, "output shape does not match [%d,%d,%d,%d]",
			       c->n, c->oh, c->ow, c->oc);
	if (in->type == TT_INT8)
		return te_act_range_q(p, act, out, &c->lo, &c->hi);
	return te_act_range_f(p, act, &c->flo, &c->fhi);
}

/* Prepare CONV_2D. */
int te_prep_conv(struct te_prep *p)
{
	if (te_check_io(p, 2, 3, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *f = te_input(p, 1);
	if (in->ndims != 4 || f->ndims != 4)
		return te_fail(p, "input and filter must be 4-D");
	if (f->dims[3] != in->dims[3])
		return te_fail(p, "grouped convolution is unsupported");
	if ((int64_t)f->dims[1] * f->dims[2] * f->dims[3] > (in->type == TT_INT8 ?
							       32768 : (1 << 24)))
		return te_fail(p, "filter too large");
	struct conv *c;
	if (prep_common(p, &c, f->dims[0], 0, f->nelem,
			f->dims[1] * f->dims[2] * f->dims[3]) < 0)
		return -1;
	c->n = in->dims[0];
	c->ih = in->dims[1];
	c->iw = in->dims[2];
	c->ic = in->dims[3];
	c->oc = f->dims[0];
	c->kh = f->dims[1];
	c->kw = f->dims[2];
	c->k = c->kh * c->kw * c->ic;
	if (prep_geom(p, c, 0) < 0)
		return -1;
	if (in->type == TT_INT8)
		te_gemm8_init(&c->g, c->gmem, c->w, c->k, c->oc,
			      te_input(p, 2) ? (const int32_t *)te_input(p, 2)->data :
			      NULL, c->izp, c->qm, c->ls, c->rs, c->ozp, c->lo, c->hi,
			      0);
	c->direct = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 &&
		    c->pt == 0 && c->pl == 0;
	if (f->type == TT_INT8 && in->type == TT_FLOAT32) {
		struct te_hyb *h = &c->hy;
		h->n = c->n;
		h->ih = c->ih;
		h->iw = c->iw;
		h->ic = c->ic;
		h->oh = c->oh;
		h->ow = c->ow;
		h->kh = c->kh;
		h->kw = c->kw;
		h->sh = c->sh;
		h->sw = c->sw;
		h->dh = c->dh;
		h->dw = c->dw;
		h->pt = c->pt;
		h->pl = c->pl;
		h->lo = c->flo;
		h->hi = c->fhi;
		p->op->scratch = te_hyb_scratch(h);
		p->op->eval = eval_hyb;
		return 0;
	}
	if (in->type == TT_INT8) {
		c->patch_bytes = c->direct ? 0 : al64((size_t)c->k * 4);
		p->op->scratch = c->patch_bytes + te_gemm8_scratch(c->k, c->oc);
	} else {
		p->op->scratch = c->direct ? 0 : (size_t)c->k * 4 * 4;
		te_gemmf_init(&c->gf, c->gmem, c->wf, c->k, c->oc, c->biasf, c->flo,
			      c->fhi);
	}
	p->op->eval = in->type == TT_INT8 ? eval_conv8 : eval_convf;
	return 0;
}

/* DEPTHWISE_CONV_2D int8, depth multiplier 1 (tflite_gemm.c). */
static void eval_dw8(const struct te_op *op, struct te_tensor *t,
		     uint8_t *scratch)
{
	const struct conv *c = op->data;
	(void)scratch;
	te_dw8_run(&c->d, (const int8_t *)t[op->in[0]].data,
		   (int8_t *)t[op->out[0]].data);
}

/* DEPTHWISE_CONV_2D int8 with a depth multiplier above 1 (scalar). */
static void eval_dw8_mult(const struct te_op *op, struct te_tensor *t,
			  uint8_t *scratch)
{
	const struct conv *c = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	/* unsigned accumulators: wrap instead of UB with a hostile bias */
	uint32_t *acc = (uint32_t *)scratch;
	const int oc_n = c->oc, ic_n = c->ic, mult = c->mult;
	const int32_t ioff = -c->izp;
	for (int b = 0; b < c->n; b++)
		for (int oy = 0; oy < c->oh; oy++)
			for (int ox = 0; ox < c->ow; ox++) {
				memcpy(acc, c->bias, sizeof(int32_t) * (size_t)oc_n);
				for (int ky = 0; ky < c->kh; ky++) {
					int iy = oy * c->sh - c->pt + ky * c->dh;
					if (iy < 0 || iy >= c->ih)
						continue;
					for (int kx = 0; kx < c->kw; kx++) {
						int ix = ox * c->sw - c->pl + kx * c->dw;
						if (ix < 0 || ix >= c->iw)
							continue;
						const int8_t *x = in + (((size_t)b * c->ih + iy) *
								 c->iw + ix) * ic_n;
						const int8_t *w = c->w + ((size_t)ky * c->kw + kx) *
								  oc_n;
						for (int ic = 0; ic < ic_n; ic++)
							for (int m = 0; m < mult; m++)
								acc[ic * mult + m] += (uint32_t)
									((x[ic] + ioff) * w[ic * mult + m]);
					}
				}
				int8_t *o = out + (((size_t)b * c->oh + oy) * c->ow + ox) *
					    oc_n;
				for (int ch = 0; ch < oc_n; ch++)
					o[ch] = requant(c, (int32_t)acc[ch], ch);
			}
}

/* DEPTHWISE_CONV_2D float. */
static void eval_dwf(const struct te_op *op, struct te_tensor *t,
		     uint8_t *scratch)
{
	const struct conv *c = op->data;
	const float *in = (const float *)t[op->in[0]].data;
	float *out = (float *)t[op->out[0]].data;
	float *acc = (float *)scratch;
	const int oc_n = c->oc, ic_n = c->ic, mult = c->mult;
	for (int b = 0; b < c->n; b++)
		for (int oy = 0; oy < c->oh; oy++)
			for (int ox = 0; ox < c->ow; ox++) {
				memcpy(acc, c->biasf, sizeof(float) * (size_t)oc_n);
				for (int ky = 0; ky < c->kh; ky++) {
					int iy = oy * c->sh - c->pt + ky * c->dh;
					if (iy < 0 || iy >= c->ih)
						continue;
					for (int kx = 0; kx < c->kw; kx++) {
						int ix = ox * c->sw - c->pl + kx * c->dw;
						if (ix < 0 || ix >= c->iw)
							continue;
						const float *x = in + (((size_t)b * c->ih + iy) *
								c->iw + ix) * ic_n;
						const float *w = c->wf + ((size_t)ky * c->kw + kx) *
								 oc_n;
						for (int ic = 0; ic < ic_n; ic++)
							for (int m = 0; m < mult; m++)
								acc[ic * mult + m] += x[ic] *
									w[ic * mult + m];
					}
				}
				float *o = out + (((size_t)b * c->oh + oy) * c->ow + ox) *
					   oc_n;
				for (int ch = 0; ch < oc_n; ch++)
					o[ch] = te_clampf(acc[ch], c->flo, c->fhi);
			}
}

/* DEPTHWISE_CONV_2D float, depth multiplier 1 (tflite_gemmf.c). */
static void eval_dwf1(const struct te_op *op, struct te_tensor *t,
		      uint8_t *scratch)
{
	const struct conv *c = op->data;
	(void)scratch;
	te_dwf_run(&c->df, (const float *)t[op->in[0]].data,
		   (float *)t[op->out[0]].data);
}

/* Prepare DEPTHWISE_CONV_2D. */
int te_prep_dwconv(struct te_prep *p)
{
	if (te_check_io(p, 2, 3, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *f = te_input(p, 1);
	if (in->ndims != 4 || f->ndims != 4 || f->dims[0] != 1)
		return te_fail(p, "input and filter must be 4-D [1,kh,kw,c]");
	if (f->dims[3] % in->dims[3] != 0)
		return te_fail(p, "output channels %d not a multiple of %d",
			       f->dims[3], in->dims[3]);
	if (f->type == TT_INT8 && f->nq > 1 && f->qdim != 3)
		return te_fail(p, "per-axis filter scales must be on axis 3");
	if ((int64_t)f->dims[1] * f->dims[2] > 32768)
		return te_fail(p, "filter too large");
	struct conv *c;
	if (prep_common(p, &c, f->dims[3], 1, f->nelem, 0) < 0)
		return -1;
	c->n = in->dims[0];
	c->ih = in->dims[1];
	c->iw = in->dims[2];
	c->ic = in->dims[3];
	c->oc = f->dims[3];
	c->kh = f->dims[1];
	c->kw = f->dims[2];
	c->mult = c->oc / c->ic;
	if (prep_geom(p, c, 1) < 0)
		return -1;
	p->op->scratch = sizeof(int32_t) * (size_t)c->oc;
	p->op->eval = in->type != TT_INT8 ? (c->mult == 1 ? eval_dwf1 : eval_dwf) :
		      c->mult == 1 ? eval_dw8 : eval_dw8_mult;
	c->df = (struct te_dwf){ c->n, c->ih, c->iw, c->oc, c->oh, c->ow, c->kh,
				 c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl, 0,
				 c->wf, c->biasf, c->flo, c->fhi };
	c->d = (struct te_dw8){ c->n, c->ih, c->iw, c->oc, c->oh, c->ow, c->kh,
				c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
				c->izp, c->ozp, c->lo, c->hi, te_have_avx2(), te_have_neon(),
				c->wdw, c->bias, c->qm, c->ls, c->rs };
	return 0;
}

/* FULLY_CONNECTED int8: batch rows through the GEMM, four at a time. */
static void eval_fc8(const struct te_op *op, struct te_tensor *t,
		     uint8_t *scratch)
{
	const struct conv *c = op->data;
	const int8_t *in = (const int8_t *)t[op->in[0]].data;
	int8_t *out = (int8_t *)t[op->out[0]].data;
	if (c->fo) {
		for (int b = 0; b < c->batches; b++) {
			/* non-zero filter zero point: add fo * sum(x - zp_in) */
			const int8_t *x = in + (size_t)b * c->k;
			int32_t sx = 0;
			for (int i = 0; i < c->k; i++)
				sx += x[i];
			gemm_row8(c, x, c->fo * (sx - c->izp * c->k),
				  out + (size_t)b * c->units);
		}
		return;
	}
	if (c->g.kp) {
		te_gemm8_dot(&c->g, in, out, scratch);
		return;
	}
	const int8_t *rows[4];
	int8_t *outs[4];
	for (int b0 = 0; b0 < c->batches; b0 += 4) {
		int np = c->batches - b0 < 4 ? c->batches - b0 : 4;
		for (int j = 0; j < np; j++) {
			rows[j] = in + (size_t)(b0 + j) * c->k;
			outs[j] = out + (size_t)(b0 + j) * c->units;
		}
		te_gemm8_run(&c->g, rows, np, outs, scratch);
	}
}

/* FULLY_CONNECTED float (and hybrid): batch rows through the GEMM. */
static void eval_fcf(const struct te_op *op, struct te_tensor *t,
		     uint8_t *scratch)
{
	const struct conv *c = op->data;
	const float *in = (const float *)t[op->in[0]].data;
	float *out = (float *)t[op->out[0]].data;
	const float *rows[4];
	float *outs[4];
	(void)scratch;
	for (int b0 = 0; b0 < c->batches; b0 += 4) {
		int np = c->batches - b0 < 4 ? c->batches - b0 : 4;
		for (int j = 0; j < np; j++) {
			rows[j] = in + (size_t)(b0 + j) * c->k;
			outs[j] = out + (size_t)(b0 + j) * c->units;
		}
		te_gemmf_run(&c->gf, rows, np, outs);
	}
}

/* Prepare FULLY_CONNECTED. */
int te_prep_fc(struct te_prep *p)
{
	if (te_check_io(p, 2, 3, 1) < 0)
		return -1;
	struct te_tensor *in = te_input(p, 0), *f = te_input(p, 1);
	struct te_tensor *out = te_output(p, 0);
	uint8_t act, fmt;
	if (te_opt_u8(p, 0, 0, &act) < 0 || te_opt_u8(p, 1, 0, &fmt) < 0)
		return -1;
	if (fmt != 0)
		return te_fail(p, "unsupported weights format %d", fmt);
	if (f->ndims != 2)
		return te_fail(p, "weights must be 2-D");
	int units = f->dims[0], k = f->dims[1];
	if (in->nelem % (size_t)k != 0)
		return te_fail(p, "input size %zu not a multiple of %d",
			       in->nelem, k);
	if (k > 32768 && in->type == TT_INT8)
		return te_fail(p, "weights too large");
	size_t batches = in->nelem / (size_t)k;
	if (out->nelem != batches * (size_t)units)
		return te_fail(p, "output size %zu, expected %zu", out->nelem,
			       batches * (size_t)units);
	if (f->type == TT_INT8 && f->nq > 1 && f->qdim != 0)
		return te_fail(p, "per-axis weight scales must be on axis 0");
	struct conv *c;
	if (prep_common(p, &c, units, 2, f->nelem, k) < 0)
		return -1;
	c->k = k;
	c->oc = c->units = units;
	c->batches = (int)batches;
	if (in->type == TT_INT8) {
		if (f->nq > 1)
			for (int i = 0; i < f->nq; i++)
				if (f->zps[i] != 0)
					return te_fail(p, "bad filter quantization");
		c->fo = -f->zp;
		if (f->zp < -127 || f->zp > 127)
			return te_fail(p, "bad filter zero point");
		if (te_act_range_q(p, act, out, &c->lo, &c->hi) < 0)
			return -1;
		if (c->fo)
			for (int u = 0; u < units; u++) {
				int32_t sw = 0;
				for (int i = 0; i < k; i++)
					sw += c->w[(size_t)u * k + i];
				/* (x - zi)(w + fo) = x w - zi w + fo (x - zi) */
				c->bias[u] = q_sub(c->bias[u],
						   (int32_t)((int64_t)c->izp * sw));
			}
		else
			te_gemm8_init(&c->g, c->gmem, c->w, k, units,
				      te_input(p, 2) ? (const int32_t *)
				      te_input(p, 2)->data : NULL, c->izp, c->qm,
				      c->ls, c->rs, c->ozp, c->lo, c->hi,
				      batches == 1);
		p->op->scratch = te_gemm8_scratch(k, units);
		p->op->eval = eval_fc8;
	} else if (f->type == TT_INT8) {
		/* asymmetric_quantize_inputs (option 3) chooses TFLite's own
		 * kernel's quantization; XNNPACK's is asymmetric either way */
		if (te_act_range_f(p, act, &c->hy.lo, &c->hy.hi) < 0)
			return -1;
		c->hy.fc = 1;
		c->hy.n = (int)batches;
		c->hy.oh = c->hy.ow = 1;
		p->op->scratch = te_hyb_scratch(&c->hy);
		p->op->eval = eval_hyb;
	} else {
		if (te_act_range_f(p, act, &c->flo, &c->fhi) < 0)
			return -1;
		te_gemmf_init(&c->gf, c->gmem, c->wf, k, units, c->biasf, c->flo,
			      c->fhi);
		p->op->eval = eval_fcf;
	}
	return 0;
}
