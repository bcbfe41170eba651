/* tflite_prep.c - helpers shared by the operators' prepare functions.
 *
 * Operand access and counting, option reading with schema defaults, fused
 * activation ranges (quantized exactly as the reference computes them),
 * error formatting and the per-operator parameter allocation.  Everything
 * here runs at load time only.
 */
#include "tflite/tflite_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record a formatted failure message in the prepare context. */
int te_fail(struct te_prep *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Input tensor i of the operator being prepared, NULL if optional/absent. */
struct te_tensor *te_input(struct te_prep *p, int i)
{
	if (i >= p->op->nin || p->op->in[i] < 0)
		return NULL;
	return &p->t[p->op->in[i]];
}

/* Output tensor i of the operator being prepared. */
struct te_tensor *te_output(struct te_prep *p, int i)
{
	if (i >= p->op->nout || p->op->out[i] < 0)
		return NULL;
	return &p->t[p->op->out[i]];
}

/* Check operand counts: min_in..max_in inputs, exactly nout outputs. */
int te_check_io(struct te_prep *p, int min_in, int max_in, int nout)
{
	if (p->op->nin < min_in || p->op->nin > max_in)
		return te_fail(p, "%d inputs, expected %d..%d", p->op->nin,
			       min_in, max_in);
	if (p->op->nout != nout)
		return te_fail(p, "%d outputs, expected %d", p->op->nout, nout);
	for (int i = 0; i < min_in; i++)
		if (p->op->in[i] < 0)
			return te_fail(p, "input %d missing", i);
	for (int i = 0; i < nout; i++)
		if (p->op->out[i] < 0)
			return te_fail(p, "output %d missing", i);
	return 0;
}

/* Quantized clamp range of a fused activation (CalculateActivationRangeQuantized). */
int te_act_range_q(struct te_prep *p, int act, const struct te_tensor *out,
		   int32_t *lo, int32_t *hi)
{
	int32_t qmin = out->type == TT_INT8 ? -128 : out->type == TT_INT16 ?
		       -32768 : 0;
	int32_t qmax = out->type == TT_INT8 ? 127 : out->type == TT_INT16 ?
		       32767 : 255;
	float s = out->scale;
	int32_t zp = out->zp;
	/* quantize(x) = zp + round(x / scale), in float like the reference */
	switch (act) {
	case ACT_NONE:
		*lo = qmin;
		*hi = qmax;
		return 0;
	case ACT_RELU:
		*lo = te_clamp(zp, qmin, qmax);
		*hi = qmax;
		return 0;
	case ACT_RELU6:
		*lo = te_clamp(zp, qmin, qmax);
		*hi = te_clamp((int32_t)((int64_t)zp + te_f2i(6.0f / s)), qmin, qmax);
		return 0;
	case ACT_RELU_N1_TO_1:
		*lo = te_clamp((int32_t)((int64_t)zp + te_f2i(-1.0f / s)), qmin, qmax);
		*hi = te_clamp((int32_t)((int64_t)zp + te_f2i(1.0f / s)), qmin, qmax);
		return 0;
	default:
		return te_fail(p, "unsupported fused activation %d", act);
	}
}

/* Float clamp range of a fused activation. */
int te_act_range_f(struct te_prep *p, int act, float *lo, float *hi)
{
	switch (act) {
	case ACT_NONE: *lo = -INFINITY; *hi = INFINITY; return 0;
	case ACT_RELU: *lo = 0; *hi = INFINITY; return 0;
	case ACT_RELU6: *lo = 0; *hi = 6; return 0;
	case ACT_RELU_N1_TO_1: *lo = -1; *hi = 1; return 0;
	default: return te_fail(p, "unsupported fused activation %d", act);
	}
}

/* True if two tensors have identical shapes. */
int te_same_shape(const struct te_tensor *a, const struct te_tensor *b)
{
	if (a->ndims != b->ndims)
		return 0;
	for (int i = 0; i < a->ndims; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return 1;
}

/* Read an int32 option (default when the options table is absent). */
int te_opt_i32(struct te_prep *p, int id, int32_t def, int32_t *v)
{
	*v = def;
	if (p->has_opt && fb_i32(p->fb, &p->opt, id, def, v) == FB_BAD)
		return te_fail(p, "malformed options");
	return 0;
}

/* Read a byte option. */
int te_opt_u8(struct te_prep *p, int id, uint8_t def, uint8_t *v)
{
	*v = def;
	if (p->has_opt && fb_u8(p->fb, &p->opt, id, def, v) == FB_BAD)
		return te_fail(p, "malformed options");
	return 0;
}

/* Read a float option. */
int te_opt_f32(struct te_prep *p, int id, float def, float *v)
{
	*v = def;
	if (p->has_opt && fb_f32(p->fb, &p->opt, id, def, v) == FB_BAD)
		return te_fail(p, "malformed options");
	return 0;
}

/* Zeroed, 64-byte aligned kernel parameter block, owned by the operator. */
void *te_alloc(struct te_prep *p, size_t bytes)
{
	size_t n = (bytes + 63) / 64 * 64;
	void *d = aligned_alloc(64, n ? n : 64);
	if (!d) {
		te_fail(p, "out of memory");
		return NULL;
	}
	memset(d, 0, n ? n : 64);
	free(p->op->data);
	p->op->data = d;
	return d;
}

