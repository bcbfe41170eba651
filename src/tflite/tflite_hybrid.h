/* tflite_hybrid.h - hybrid (dynamic-range quantized) CONV_2D and
 * FULLY_CONNECTED: float activations, int8 weights.
 *
 * At each invoke the float input is quantized to int8 with a scale and
 * zero point (per row for fully connected and 1x1 convolutions, per batch
 * image otherwise), multiplied by the int8 weights in int32, and scaled
 * back to float by input scale times weight scale, plus the float bias,
 * then the activation clamp: the arithmetic of TFLite's CPU runtime with
 * its default XNNPACK delegate (tflite_hybrid.c).
 */
#ifndef TFLITE_HYBRID_H
#define TFLITE_HYBRID_H

#include <stddef.h>
#include <stdint.h>

/* A prepared hybrid convolution or fully connected layer. */
struct te_hyb {
	int fc;                 /* rows are the input's batches */
	int n, ih, iw, ic, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
	int k, oc;              /* patch (row) length, output channels */
	/* k is ic for a 1x1 convolution, whose rows are its pixels */
	const int8_t *w;        /* [oc][k] */
	const float *ws;        /* per-channel scales, or NULL */
	float wscale;           /* per-tensor scale (ws == NULL) */
	const float *bias;      /* oc values, or NULL */
	const int32_t *rowsum;  /* oc sums of each weight row (asym) */
	float lo, hi;
	int neon;               /* te_neon_sdot8 for the dot products */
};

void te_hyb_quantize(const float *x, size_t n, int asym, int8_t *q,
		     float *scale, int32_t *zp);
void te_hyb_rowsums(const int8_t *w, int oc, int k, int32_t *rowsum);
size_t te_hyb_scratch(const struct te_hyb *h);
void te_hyb_run(const struct te_hyb *h, const float *in, float *out,
		void *scratch);
#endif
