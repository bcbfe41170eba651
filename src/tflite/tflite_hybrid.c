/* tflite_hybrid.c - hybrid CONV_2D / FULLY_CONNECTED (tflite_hybrid.h).
 *
 * Models quantized with dynamic range (float activations, int8 weights)
 * run as TFLite's CPU runtime runs them, rather than with the weights
 * dequantized to float (which differs by up to a couple of percent of
 * max).  TFLite (LiteRT) hands these layers to its default XNNPACK
 * delegate, whose dynamically quantized kernels differ from TFLite's own
 * hybrid kernels in where the input is quantized and how:
 *
 * - the input is quantized asymmetrically, per unit: a fully connected
 *   row; each pixel of a 1x1 stride-1 unpadded convolution (a fully
 *   connected layer over the pixels); the whole batch image of any other
 *   convolution.  rmin = min(0, min x), rmax = max(0, max x) in double,
 *   scale = (rmax - rmin) / 255, the zero point from whichever end has
 *   the smaller error, nudged into [-128, 127] and rounded, q = round(zp
 *   + x * (float)(1 / scale)) clamped to [-128, 127]; a zero range gives
 *   q = 0, scale 1;
 * - each output channel's scale is unit scale times the weight scale (per
 *   tensor, or the channel's);
 * - acc = sum q * w - rowsum * zp in int32 (padding of a convolution
 *   holds the zero point, so it adds nothing), out = (float)acc * scale +
 *   bias, clamped.
 *
 * This reproduces LiteRT 2.5 (WebAssembly, XNNPACK) on the shared hybrid
 * models to a few 1e-7 of max (bench/hybrid-check).  TFLite's own hybrid
 * kernels, which run when XNNPACK is off, quantize symmetrically (range =
 * max |x|, scale = range / 127, q = round(x * (127 / range)) in
 * [-127, 127]) per row or per image; te_hyb_quantize does both.  Integer
 * sums are exact in any order; each float step rounds once.
 */
#include "tflite/tflite_gemm.h"
#include "tflite/tflite_hybrid.h"
#include "tflite/tflite_int.h"

#include <math.h>
#include <string.h>

/* Round up to a multiple of 64. */
static size_t
a64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

/* round() of a float into [lo, hi]; NaN goes to lo. */
static int32_t
qround(float v, int32_t lo, int32_t hi)
{
	float r = roundf(v);
	if (!(r >= (float)lo))
		return lo;
	if (r > (float)hi)
		return hi;
	return (int32_t)r;
}

/* Quantize n floats to int8 with one scale (and zero point if asym). */
void
te_hyb_quantize(const float *x, size_t n, int asym, int8_t *q, float *scale,
		int32_t *zp)
{
	float mn = n ? x[0] : 0.0f, mx = mn;
	for (size_t i = 1; i < n; i++) {
		mn = x[i] < mn ? x[i] : mn;
		mx = x[i] > mx ? x[i] : mx;
	}
	*zp = 0;
	if (!asym) {
		float range = fabsf(mn) > fabsf(mx) ? fabsf(mn) : fabsf(mx);
		if (range == 0.0f) {
			memset(q, 0, n);
			*scale = 1.0f;
			return;
		}
		*scale = range / 127.0f;
		const float inv = 127.0f / range;
		for (size_t i = 0; i < n; i++)
			q[i] = (int8_t)qround(x[i] * inv, -127, 127);
		return;
	}
	double rmin = fmin(0.0, (double)mn), rmax = fmax(0.0, (double)mx);
	if (rmin == rmax) {
		memset(q, 0, n);
		*scale = 1.0f;
		return;
	}
	double s = (rmax - rmin) / 255.0;
	double zmin = -128.0 - rmin / s, zmax = 127.0 - rmax / s;
	double emin = 128.0 + fabs(rmin / s), emax = 127.0 + fabs(rmax / s);
	double zd = emin < emax ? zmin : zmax;
	*zp = zd <= -128.0 ? -128 : zd >= 127.0 ? 127 : (int32_t)round(zd);
	*scale = (float)s;
	const float inv = (float)(1.0 / (double)*scale);
	for (size_t i = 0; i < n; i++)
		q[i] = (int8_t)qround((float)*zp + x[i] * inv, -128, 127);
}

/* Sum of each weight row (for the asymmetric offset term). */
void
te_hyb_rowsums(const int8_t *w, int oc, int k, int32_t *rowsum)
{
	for (int o = 0; o < oc; o++) {
		int32_t s = 0;
		for (int i = 0; i < k; i++)
			s += w[(size_t)o * k + i];
		rowsum[o] = s;
	}
}

/* Length of one quantization unit. */
static size_t
unit_len(const struct te_hyb *h)
{
	return h->fc ? (size_t)h->k : (size_t)h->ih * h->iw * h->ic;
}

/* Scratch bytes te_hyb_run needs. */
size_t
te_hyb_scratch(const struct te_hyb *h)
{
	return a64(unit_len(h)) + a64((size_t)h->k);
}

/* int8 dot product, int32 wrap-around (vectorized by the compiler). */
static int32_t
dot(const int8_t *restrict a, const int8_t *restrict b, int n)
{
	uint32_t s = 0;
	for (int i = 0; i < n; i++)
		s += (uint32_t)((int16_t)a[i] * (int16_t)b[i]);
	return (int32_t)s;
}

/* All outputs of one patch: acc, offset term, scale, bias, clamp. */
static void
outputs(const struct te_hyb *h, const int8_t *patch, float sf, int32_t zp,
	float *o)
{
	for (int c = 0; c < h->oc; c++) {
		const int8_t *w = h->w + (size_t)c * h->k;
#ifdef TE_NEON_KERNELS
		int32_t acc = h->neon ? te_neon_sdot8(w, patch, h->k) :
				       dot(w, patch, h->k);
#else
		int32_t acc = dot(w, patch, h->k);
#endif
		if (zp != 0)
			acc = (int32_t)((uint32_t)acc - (uint32_t)h->rowsum[c] *
					(uint32_t)zp);
		float scale = h->ws ? sf * h->ws[c] : sf;
		float v = (float)acc * scale;
		if (h->bias)
			v = v + h->bias[c];
		o[c] = te_clampf(v, h->lo, h->hi);
	}
}

/* The im2col patch of output pixel (oy, ox) from a quantized image. */
static void
patch(const struct te_hyb *h, const int8_t *img, int oy, int ox, int8_t pad,
      int8_t *dst)
{
	for (int ky = 0; ky < h->kh; ky++) {
		int iy = oy * h->sh - h->pt + ky * h->dh;
		for (int kx = 0; kx < h->kw; kx++) {
			int ix = ox * h->sw - h->pl + kx * h->dw;
			int8_t *d = dst + ((size_t)ky * h->kw + kx) * h->ic;
			if (iy < 0 || iy >= h->ih || ix < 0 || ix >= h->iw)
				memset(d, pad, (size_t)h->ic);
			else
				memcpy(d, img + ((size_t)iy * h->iw + ix) * h->ic,
				       (size_t)h->ic);
		}
	}
}

/* True for a 1x1, stride 1, unpadded convolution. */
static int
direct(const struct te_hyb *h)
{
	return h->kh == 1 && h->kw == 1 && h->sh == 1 && h->sw == 1 &&
	       h->pt == 0 && h->pl == 0;
}

/* Run the layer: quantize each unit, then every output of it. */
void
te_hyb_run(const struct te_hyb *h, const float *in, float *out,
	   void *scratch)
{
	const size_t ul = unit_len(h);
	int8_t *q = scratch, *pt = q + a64(ul);
	for (int u = 0; u < h->n; u++) {
		float sf;
		int32_t zp;
		const float *x = in + (size_t)u * ul;
		float *o = out + (size_t)u * h->oh * h->ow * h->oc;
		if (h->fc || direct(h)) {
			/* rows: one FC batch row, or every pixel of a 1x1 conv */
			int rows = h->fc ? 1 : h->oh * h->ow;
			for (int r = 0; r < rows; r++) {
				te_hyb_quantize(x + (size_t)r * h->k, (size_t)h->k, 1, q,
						&sf, &zp);
				outputs(h, q, h->ws ? sf : sf * h->wscale, zp,
					o + (size_t)r * h->oc);
			}
			continue;
		}
		te_hyb_quantize(x, ul, 1, q, &sf, &zp);
		if (!h->ws)
			sf *= h->wscale;
		for (int oy = 0; oy < h->oh; oy++)
			for (int ox = 0; ox < h->ow; ox++) {
				patch(h, q, oy, ox, (int8_t)zp, pt);
				outputs(h, pt, sf, zp, o + ((size_t)oy * h->ow + ox) *
					h->oc);
			}
	}
}
