/*
 * ae_quant.c - post-training int8 quantization of a trained autoencoder
 * into the description tflite_write_dense() writes, with TFLite's
 * conventions (those the runtime in src/tflite/ reproduces bit-exact):
 *
 *  - weights per output channel, symmetric: scale = max|w| / 127, zero
 *    point 0, q = round(w / scale) in [-127, 127];
 *  - bias int32 at scale input_scale * weight_scale[c];
 *  - activations per tensor, asymmetric int8: the float model's observed
 *    min/max on the calibration windows, widened to include 0, scale =
 *    (max - min) / 255 and the zero point chosen and nudged as TFLite's
 *    ChooseQuantizationParams does (the side with the smaller rounding
 *    error, then rounded and clamped into [-128, 127]);
 *  - the input tensor from the calibration windows' range the same way:
 *    standardized with the model's mean and std (AE_INPUT_STD, the first
 *    layer as trained) or raw (AE_INPUT_RAW, the folded first layer).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_int.h"

/* The int8 model: arrays owned, described by model for the writer. */
struct ae_quant {
	uint32_t			 dim;
	struct ae_meta			 meta_in;	/* the entry parsed back */
	int8_t				*w[AE_NLAYERS];
	float				*ws[AE_NLAYERS];
	int32_t				*bias[AE_NLAYERS];
	struct tflite_write_dense	 layers[AE_NLAYERS];
	uint8_t				*meta_buf;
	struct tflite_write_meta	 meta;
	struct tflite_write_dense_model	 model;
};

/* Scale and zero point of an int8 tensor over [lo, hi] (TFLite's rule). */
static void
ae_qparams(double lo, double hi, float *scale, int32_t *zp)
{
	double	 s, zmin, zmax, emin, emax, z;

	if (lo > 0)
		lo = 0;
	if (hi < 0)
		hi = 0;
	/* an all-zero tensor still needs a positive scale */
	if (hi - lo < 1e-12)
		hi = lo + 1.0;
	s = (hi - lo) / 255.0;
	zmin = -128 - lo / s;
	zmax = 127 - hi / s;
	emin = fabs(-128.0) + fabs(lo / s);
	emax = fabs(127.0) + fabs(hi / s);
	z = emin < emax ? zmin : zmax;
	if (z < -128)
		*zp = -128;
	else if (z > 127)
		*zp = 127;
	else
		*zp = (int32_t)round(z);
	*scale = (float)s;
}

/*
 * Quantize one float layer whose input has scale in_scale: per-channel
 * weights and the int32 bias.  A channel's scale is raised when its bias
 * would not fit in int32 at in_scale * scale (weights that small round to
 * 0 anyway), and an all-zero channel gets scale 1.
 */
static void
ae_qlayer(const struct ae_layer *l, float in_scale, int8_t *q, float *ws,
    int32_t *bias)
{
	const float	*w;
	double		 mx, s, v, bmin;
	uint32_t	 o, i;

	for (o = 0; o < l->out; o++) {
		w = l->w + (size_t)o * l->in;
		mx = 0;
		for (i = 0; i < l->in; i++) {
			if (fabs(w[i]) > mx)
				mx = fabs(w[i]);
		}
		s = mx > 0 ? mx / 127.0 : 1.0;
		bmin = fabs(l->b[o]) / ((double)in_scale * 1073741824.0);
		if (s < bmin)
			s = bmin;
		ws[o] = (float)s;
		for (i = 0; i < l->in; i++) {
			v = round(w[i] / (double)ws[o]);
			q[(size_t)o * l->in + i] = (int8_t)(v > 127 ? 127 :
			    (v < -127 ? -127 : v));
		}
		/* the bias scale as the runtime computes it, in float */
		v = round(l->b[o] / (double)(in_scale * ws[o]));
		bias[o] = (int32_t)(v > INT32_MAX ? INT32_MAX :
		    (v < INT32_MIN ? INT32_MIN : v));
	}
}

/* The first layer that an int8 model of this input kind quantizes. */
static const struct ae_layer *
ae_first(const struct ae *ae, uint32_t input)
{
	return (input == AE_INPUT_STD ? &ae->z0 : &ae->l[0]);
}

/* Observed ranges: of the input (lo/hi[0]) and of each layer's output. */
static void
ae_ranges(const struct ae *ae, const float *x, size_t n, uint32_t input,
    double lo[AE_NLAYERS + 1], double hi[AE_NLAYERS + 1])
{
	float		 a[AE_NLAYERS + 1][AE_MAX_DIM > AE_MAX_HIDDEN ?
			     AE_MAX_DIM : AE_MAX_HIDDEN];
	size_t		 k;
	uint32_t	 i, w;
	int		 j;

	for (j = 0; j <= AE_NLAYERS; j++) {
		lo[j] = INFINITY;
		hi[j] = -INFINITY;
	}
	for (k = 0; k < n; k++) {
		for (i = 0; i < ae->dim; i++) {
			a[0][i] = x[k * ae->dim + i];
			/* as ae_input() will do it */
			if (input == AE_INPUT_STD)
				a[0][i] = (a[0][i] - ae->meta.mean[i]) /
				    ae->meta.std[i];
		}
		ae_layer_forward(ae_first(ae, input), a[0], a[1]);
		for (j = 1; j < AE_NLAYERS; j++)
			ae_layer_forward(&ae->l[j], a[j], a[j + 1]);
		for (j = 0; j <= AE_NLAYERS; j++) {
			w = j == 0 ? ae->dim : ae->l[j - 1].out;
			for (i = 0; i < w; i++) {
				if (a[j][i] < lo[j])
					lo[j] = a[j][i];
				if (a[j][i] > hi[j])
					hi[j] = a[j][i];
			}
		}
	}
	/* a fused ReLU's output range starts at 0 */
	for (j = 0; j < AE_NLAYERS; j++) {
		if (ae->l[j].relu)
			lo[j + 1] = 0;
	}
}

/* Quantize a trained model with calibration windows; see ae.h. */
int
ae_quantize(const struct ae *ae, const float *x, size_t n, uint32_t input,
    struct ae_quant **out, char **cause)
{
	struct ae_quant	*q;
	double		 lo[AE_NLAYERS + 1], hi[AE_NLAYERS + 1];
	float		 in_scale;
	size_t		 len;
	int		 j;

	*out = NULL;
	if (input != AE_INPUT_STD && input != AE_INPUT_RAW)
		return (lu_fail(cause, "input kind %u unknown", input));
	if (n == 0 || n > AE_MAX_N)
		return (lu_fail(cause, "%zu calibration windows, need 1..%u",
		    n, AE_MAX_N));
	if (ae_check_finite(x, n, ae->dim, cause) != 0)
		return (-1);
	if ((q = calloc(1, sizeof *q)) == NULL)
		return (lu_fail(cause, "out of memory"));
	q->dim = ae->dim;
	q->meta_in = ae->meta;
	q->meta_in.input = input;
	/* parsed back: the input helpers then see exactly what a node sees */
	if (ae_meta_encode(&q->meta_in, &q->meta_buf, &len, cause) != 0 ||
	    ae_meta_parse(q->meta_buf, len, &q->meta_in, cause) != 0) {
		memset(&q->meta_in, 0, sizeof q->meta_in);
		ae_quant_free(q);
		return (-1);
	}
	ae_ranges(ae, x, n, input, lo, hi);
	ae_qparams(lo[0], hi[0], &q->model.in_scale, &q->model.in_zp);
	in_scale = q->model.in_scale;
	for (j = 0; j < AE_NLAYERS; j++) {
		const struct ae_layer		*l = j == 0 ?
						    ae_first(ae, input) : &ae->l[j];
		struct tflite_write_dense	*d = &q->layers[j];

		q->w[j] = calloc((size_t)l->in * l->out, 1);
		q->ws[j] = calloc(l->out, sizeof(float));
		q->bias[j] = calloc(l->out, sizeof(int32_t));
		if (q->w[j] == NULL || q->ws[j] == NULL || q->bias[j] == NULL) {
			ae_quant_free(q);
			return (lu_fail(cause, "out of memory"));
		}
		ae_qlayer(l, in_scale, q->w[j], q->ws[j], q->bias[j]);
		d->in = (int)l->in;
		d->out = (int)l->out;
		d->weights = q->w[j];
		d->w_scales = q->ws[j];
		d->bias = q->bias[j];
		d->relu = l->relu;
		ae_qparams(lo[j + 1], hi[j + 1], &d->out_scale, &d->out_zp);
		in_scale = d->out_scale;
	}
	q->meta.name = AE_META_NAME;
	q->meta.data = q->meta_buf;
	q->meta.len = len;
	q->model.layers = q->layers;
	q->model.nlayers = AE_NLAYERS;
	q->model.meta = &q->meta;
	q->model.nmeta = 1;
	q->model.description = "tinyedge learned autoencoder";
	*out = q;
	return (0);
}

/* The writer's description of the int8 model. */
const struct tflite_write_dense_model *
ae_quant_model(const struct ae_quant *q)
{
	return (&q->model);
}

/* Re-encode the metadata entry with another threshold. */
int
ae_quant_set_threshold(struct ae_quant *q, float thr, char **cause)
{
	struct ae_meta	 m = q->meta_in;
	uint8_t		*buf;
	size_t		 len;

	m.threshold = thr;
	if (ae_meta_encode(&m, &buf, &len, cause) != 0)
		return (-1);
	free(q->meta_buf);
	q->meta_buf = buf;
	q->meta.data = buf;
	q->meta.len = len;
	q->meta_in.threshold = thr;
	return (0);
}

/* A raw window to this model's int8 input tensor. */
void
ae_quant_input(const struct ae_quant *q, const float *x, int8_t *in)
{
	ae_input(&q->meta_in, x, q->model.in_scale, q->model.in_zp, in);
}

/* This model's int8 output tensor to floats. */
void
ae_quant_output(const struct ae_quant *q, const int8_t *o, float *out)
{
	const struct tflite_write_dense	*d = &q->layers[AE_NLAYERS - 1];

	ae_dequant(o, q->dim, d->out_scale, d->out_zp, out);
}

/* Free an int8 model. */
void
ae_quant_free(struct ae_quant *q)
{
	int	 j;

	if (q == NULL)
		return;
	for (j = 0; j < AE_NLAYERS; j++) {
		free(q->w[j]);
		free(q->ws[j]);
		free(q->bias[j]);
	}
	ae_meta_free(&q->meta_in);
	free(q->meta_buf);
	free(q);
}
