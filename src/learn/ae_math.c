/*
 * ae_math.c - the float model of the autoencoder library: allocation,
 * inference, folding the standardization into the first layer, the
 * reconstruction error a node computes, and the threshold helpers
 * (quantile of held-out errors, anomaly score).  Also the library's cause
 * helper.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_int.h"

/* Refuse n x dim values with a NaN or an infinity, naming the first. */
int
ae_check_finite(const float *x, size_t n, uint32_t dim, char **cause)
{
	size_t	 i, total = n * dim;

	for (i = 0; i < total; i++) {
		if (!isfinite(x[i]))
			return (lu_fail(cause, "window %zu feature %zu is not "
			    "finite", i / dim, i % dim));
	}
	return (0);
}

/* A zeroed model dim -> hidden -> code -> hidden -> dim, or NULL. */
struct ae *
ae_alloc(uint32_t dim, uint32_t hidden, uint32_t code)
{
	struct ae	*ae;
	uint32_t	 w[AE_NLAYERS + 1] = { dim, hidden, code, hidden, dim };
	int		 i;

	if ((ae = calloc(1, sizeof *ae)) == NULL)
		return (NULL);
	ae->dim = dim;
	ae->meta.dim = dim;
	ae->meta.threshold = NAN;
	ae->meta.mean = calloc(dim, sizeof *ae->meta.mean);
	ae->meta.std = calloc(dim, sizeof *ae->meta.std);
	if (ae->meta.mean == NULL || ae->meta.std == NULL)
		goto fail;
	for (i = 0; i < AE_NLAYERS; i++) {
		ae->l[i].in = w[i];
		ae->l[i].out = w[i + 1];
		/* ReLU after the two hidden layers; code and output linear */
		ae->l[i].relu = (i == 0 || i == 2);
		ae->l[i].w = calloc((size_t)w[i] * w[i + 1], sizeof(float));
		ae->l[i].b = calloc(w[i + 1], sizeof(float));
		if (ae->l[i].w == NULL || ae->l[i].b == NULL)
			goto fail;
	}
	ae->z0 = ae->l[0];
	ae->z0.w = calloc((size_t)dim * hidden, sizeof(float));
	ae->z0.b = calloc(hidden, sizeof(float));
	if (ae->z0.w == NULL || ae->z0.b == NULL)
		goto fail;
	return (ae);
fail:
	ae_free(ae);
	return (NULL);
}

/* Free a model. */
void
ae_free(struct ae *ae)
{
	int	 i;

	if (ae == NULL)
		return;
	for (i = 0; i < AE_NLAYERS; i++) {
		free(ae->l[i].w);
		free(ae->l[i].b);
	}
	free(ae->z0.w);
	free(ae->z0.b);
	free(ae->meta.mean);
	free(ae->meta.std);
	free(ae);
}

/* Features per window. */
uint32_t
ae_dim(const struct ae *ae)
{
	return (ae->dim);
}

/* Inputs and outputs of layer i. */
void
ae_layer_size(const struct ae *ae, int i, uint32_t *in, uint32_t *out)
{
	*in = ae->l[i].in;
	*out = ae->l[i].out;
}

/* The model's metadata. */
const struct ae_meta *
ae_meta(const struct ae *ae)
{
	return (&ae->meta);
}

/* Set the threshold stored in the metadata. */
void
ae_set_threshold(struct ae *ae, float thr)
{
	ae->meta.threshold = thr;
}

/* One layer: y = W x + b, ReLU'd when the layer says so. */
void
ae_layer_forward(const struct ae_layer *l, const float *x, float *y)
{
	const float	*w;
	float		 s;
	uint32_t	 o, i;

	for (o = 0; o < l->out; o++) {
		w = l->w + (size_t)o * l->in;
		s = l->b[o];
		for (i = 0; i < l->in; i++)
			s += w[i] * x[i];
		y[o] = (l->relu && s < 0) ? 0 : s;
	}
}

/* Float inference of raw x into the standardized reconstruction out. */
void
ae_forward(const struct ae *ae, const float *x, float *out)
{
	float	 a[AE_MAX_HIDDEN], b[AE_MAX_HIDDEN];

	ae_layer_forward(&ae->l[0], x, a);
	ae_layer_forward(&ae->l[1], a, b);
	ae_layer_forward(&ae->l[2], b, a);
	ae_layer_forward(&ae->l[3], a, out);
}

/*
 * Fold z = (x - mean) / std into the first layer, so that the model takes
 * raw x: w'[o][i] = w[o][i] / std[i], b'[o] = b[o] - sum_i w'[o][i] mean[i].
 * The layer as it was is kept in z0.
 */
void
ae_fold(struct ae *ae)
{
	struct ae_layer	*l = &ae->l[0];
	float		*w;
	double		 s;
	uint32_t	 o, i;

	memcpy(ae->z0.w, l->w, (size_t)l->in * l->out * sizeof *l->w);
	memcpy(ae->z0.b, l->b, l->out * sizeof *l->b);
	for (o = 0; o < l->out; o++) {
		w = l->w + (size_t)o * l->in;
		s = 0;
		for (i = 0; i < l->in; i++) {
			w[i] /= ae->meta.std[i];
			s += (double)w[i] * ae->meta.mean[i];
		}
		l->b[o] = (float)(l->b[o] - s);
	}
}

/* Quantize a raw window for the int8 input tensor; see ae.h. */
void
ae_input(const struct ae_meta *m, const float *x, float scale, int32_t zp,
    int8_t *q)
{
	double		 v;
	uint32_t	 i;

	for (i = 0; i < m->dim; i++) {
		v = x[i];
		if (m->input == AE_INPUT_STD)
			v = (float)((x[i] - m->mean[i]) / m->std[i]);
		v = round(v / scale) + zp;
		q[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
	}
}

/* Dequantize n int8 values. */
void
ae_dequant(const int8_t *q, uint32_t n, float scale, int32_t zp, float *out)
{
	uint32_t	 i;

	for (i = 0; i < n; i++)
		out[i] = (float)(((int32_t)q[i] - zp) * scale);
}

/* Mean over features of (out - standardized x)^2; see ae.h. */
float
ae_error(const struct ae_meta *m, const float *x, const float *out)
{
	double	 s = 0, d;
	uint32_t i;

	for (i = 0; i < m->dim; i++) {
		d = (double)out[i] - ((double)x[i] - m->mean[i]) / m->std[i];
		s += d * d;
	}
	return ((float)(s / m->dim));
}

/* The reconstruction error of one raw window under the float model. */
float
ae_model_error(const struct ae *ae, const float *x)
{
	float	 out[AE_MAX_DIM];

	ae_forward(ae, x, out);
	return (ae_error(&ae->meta, x, out));
}

/* qsort order of floats (no NaN reaches it: they sort as equal). */
static int
ae_cmpf(const void *a, const void *b)
{
	float	 x = *(const float *)a, y = *(const float *)b;

	return ((x > y) - (x < y));
}

/* Quantile q of n values, linear between order statistics. */
float
ae_quantile(const float *v, size_t n, double q)
{
	float	*s;
	double	 pos, frac;
	size_t	 lo;
	float	 r;

	if (n == 0 || !(q >= 0 && q <= 1))
		return (NAN);
	if ((s = malloc(n * sizeof *s)) == NULL)
		return (NAN);
	memcpy(s, v, n * sizeof *s);
	qsort(s, n, sizeof *s, ae_cmpf);
	pos = q * (double)(n - 1);
	lo = (size_t)pos;
	frac = pos - (double)lo;
	if (lo + 1 >= n)
		r = s[n - 1];
	else
		r = (float)(s[lo] + frac * ((double)s[lo + 1] - s[lo]));
	free(s);
	return (r);
}

/* Anomaly score in [0,1], 0.5 at the threshold. */
float
ae_score(float err, float thr)
{
	if (isnan(err))
		return (1);
	if (err <= 0)
		return (0);
	if (!(thr > 0))
		return (1);
	if (isinf(err))
		return (1);
	return ((float)((double)err / ((double)err + thr)));
}
