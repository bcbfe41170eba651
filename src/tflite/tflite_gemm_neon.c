/* tflite_gemm_neon.c - NEON versions of the int8 GEMM, batch-1 dot and
 * depthwise kernels, and of the float GEMM and depthwise for 32-bit ARM
 * (tflite_gemm.h).
 *
 * aarch64 always has Advanced SIMD; 32-bit ARM (armhf, ARMv7) has it only
 * on some cores, so this whole file is compiled for the NEON FPU with a
 * target pragma and tflite_gemm.c calls into it only when getauxval says
 * the CPU has NEON.  Nothing here may run before that check.
 *
 * The accumulators are int32 sums of int8 x int8 products in wrapping
 * arithmetic, which is associative, so any summation order gives the
 * portable kernels' bits.  The GEMM reads the portable pair layout
 * ([ocp/8][k2/2][8][2] int16): multiplying a block's 16 weights by the
 * broadcast input pair (x0, x1, x0, x1) leaves per-channel even and odd
 * partial sums side by side, added pairwise at the end.
 *
 * Requantization is TFLite's, lane by lane: VQRDMULH computes
 * sat((2ab + 2^31) >> 32) = floor((ab + 2^30) / 2^31), which equals the
 * reference's nudge-and-truncate high multiply for both signs (see
 * tflite_gemm.c), saturating in the same single case; the rounding
 * divide by a power of two is the reference's mask / remainder /
 * threshold formula written with vector compares.
 */
#include "tflite/tflite_gemm.h"
#include "tflite/tflite_int.h"
#include "tflite/tflite_quant.h"

#if (defined(__aarch64__) || (defined(__arm__) && defined(__ARM_PCS_VFP))) && \
	!defined(TFLITE_GENERIC)

#ifdef __arm__
#pragma GCC target("fpu=neon")
#endif
#include <arm_neon.h>
#include <string.h>

#define NI static inline __attribute__((always_inline))

/* Round up to a multiple of m (a power of two). */
NI int
up(int x, int m)
{
	return (x + m - 1) & ~(m - 1);
}

/* Exact q_mul2 on four lanes. */
NI int32x4_t
v_mulq(int32x4_t acc, int32x4_t qm, int32x4_t ls, int32x4_t rs)
{
	int32x4_t h = vqrdmulhq_s32(vshlq_s32(acc, ls), qm);
	int32x4_t one = vdupq_n_s32(1);
	int32x4_t mask = vsubq_s32(vshlq_s32(one, rs), one);
	int32x4_t rem = vandq_s32(h, mask);
	/* threshold = mask / 2, plus one for negative values */
	int32x4_t thr = vsubq_s32(vshrq_n_s32(mask, 1), vshrq_n_s32(h, 31));
	int32x4_t q = vshlq_s32(h, vnegq_s32(rs));
	/* a true compare is all ones (-1): subtracting it adds one */
	return vsubq_s32(q, vreinterpretq_s32_u32(vcgtq_s32(rem, thr)));
}

/* Requantize eight accumulators of channels ch..ch+7 and store n (1..8). */
NI void
v_out8(int8_t *d, int32x4_t a0, int32x4_t a1, const int32_t *qm,
       const int32_t *ls, const int32_t *rs, int32_t ozp, int32_t lo,
       int32_t hi, int n)
{
	int32x4_t z = vdupq_n_s32(ozp), l = vdupq_n_s32(lo), h = vdupq_n_s32(hi);
	a0 = v_mulq(a0, vld1q_s32(qm), vld1q_s32(ls), vld1q_s32(rs));
	a1 = v_mulq(a1, vld1q_s32(qm + 4), vld1q_s32(ls + 4), vld1q_s32(rs + 4));
	/* q_add wraps, as VADD does */
	a0 = vminq_s32(vmaxq_s32(vaddq_s32(a0, z), l), h);
	a1 = vminq_s32(vmaxq_s32(vaddq_s32(a1, z), l), h);
	int8x8_t b = vqmovn_s16(vcombine_s16(vqmovn_s32(a0), vqmovn_s32(a1)));
	if (n >= 8) {
		vst1_s8(d, b);
	} else {
		int8_t t[8];
		vst1_s8(t, b);
		memcpy(d, t, (size_t)n);
	}
}

/* Per-channel sums of the interleaved even/odd partials of 4 channels. */
NI int32x4_t
v_pairsum(int32x4_t a, int32x4_t b)
{
#ifdef __aarch64__
	return vpaddq_s32(a, b);
#else
	return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)),
			    vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
#endif
}

/* Sum of the four lanes. */
NI int32_t
v_hsum(int32x4_t v)
{
#ifdef __aarch64__
	return vaddvq_s32(v);
#else
	int32x2_t s = vadd_s32(vget_low_s32(v), vget_high_s32(v));
	return vget_lane_s32(vpadd_s32(s, s), 0);
#endif
}

/* Widen a row of k int8 to int16 in d, zero-padded to kp (k <= kp). */
NI void
widen(int16_t *d, const int8_t *s, int k, int kp)
{
	int i = 0;
	for (; i + 8 <= k; i += 8)
		vst1q_s16(d + i, vmovl_s8(vld1_s8(s + i)));
	for (; i < kp; i++)
		d[i] = i < k ? s[i] : 0;
}

/* The input pair at p broadcast as (x0, x1, x0, x1). */
NI int16x4_t
v_pair(const int16_t *p)
{
	int32_t x;
	memcpy(&x, p, 4);
	return vreinterpret_s16_s32(vdup_n_s32(x));
}

/* NR rows (1, 2 or 4) through one block of 8 channels. */
NI void
block(const struct te_gemm8 *g, int b, const int16_t *const *a, int NR,
      int8_t *const *outs)
{
	const int16_t *w = g->w + (size_t)b * g->k2 * 8;
	int32x4_t c[4][4];
	for (int r = 0; r < NR; r++)
		for (int j = 0; j < 4; j++)
			c[r][j] = vdupq_n_s32(0);
	for (int i = 0; i < g->k2; i += 2) {
		int16x8_t w0 = vld1q_s16(w + i * 8), w1 = vld1q_s16(w + i * 8 + 8);
		/* spelled out per row, constant indices, so that the
		 * accumulators stay in registers */
#define ROW(r) if (NR > (r)) {						\
			int16x4_t x = v_pair(a[r] + i);				\
			c[r][0] = vmlal_s16(c[r][0], vget_low_s16(w0), x);	\
			c[r][1] = vmlal_s16(c[r][1], vget_high_s16(w0), x);	\
			c[r][2] = vmlal_s16(c[r][2], vget_low_s16(w1), x);	\
			c[r][3] = vmlal_s16(c[r][3], vget_high_s16(w1), x);	\
		}
		ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
	}
	int32x4_t b0 = vld1q_s32(g->bias + b * 8), b1 = vld1q_s32(g->bias + b * 8 + 4);
	for (int r = 0; r < NR; r++)
		v_out8(outs[r] + b * 8, vaddq_s32(b0, v_pairsum(c[r][0], c[r][1])),
		       vaddq_s32(b1, v_pairsum(c[r][2], c[r][3])), g->qm + b * 8,
		       g->ls + b * 8, g->rs + b * 8, g->ozp, g->lo, g->hi,
		       g->oc - b * 8);
}

/* NEON GEMM: rows widened to int16, then blocks of 8 channels. */
void
te_neon_gemm8(const struct te_gemm8 *g, const int8_t *const *rows, int np,
	      int8_t *const *outs, void *scratch)
{
	/* the same scratch layout as the AVX2 kernel: te_gemm8_scratch */
	const size_t rstride = (((size_t)up(g->k, 16) * 2 + 63) & ~(size_t)63) / 2;
	int16_t *a = (int16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
	const int16_t *ar[4];
	for (int p = 0; p < np; p++) {
		widen(a + (size_t)p * rstride, rows[p], g->k, g->k2);
		ar[p] = a + (size_t)p * rstride;
	}
	for (int b = 0; b < g->ocp / 8; b++) {
#ifdef __aarch64__
		/* 16 accumulators fit aarch64's 32 vector registers */
		if (np == 4) {
			block(g, b, ar, 4, outs);
			continue;
		}
#endif
		int p = 0;
		for (; p + 2 <= np; p += 2)
			block(g, b, ar + p, 2, outs + p);
		if (p < np)
			block(g, b, ar + p, 1, outs + p);
	}
}

/* NEON batch-1 dot products, four outputs at a time. */
void
te_neon_dot8(const struct te_gemm8 *g, const int8_t *row, int8_t *out,
	     void *scratch)
{
	int16_t *a = (int16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
	int32_t *acc = (int32_t *)(void *)(a + g->kp);
	const int kp = g->kp;
	widen(a, row, g->k, kp);
	for (int o = 0; o < g->ocp; o += 4) {
		const int16_t *w = g->w + (size_t)o * kp;
		int32x4_t s[4];
		for (int r = 0; r < 4; r++)
			s[r] = vdupq_n_s32(0);
		for (int j = 0; j < kp; j += 8) {
			int16x8_t x = vld1q_s16(a + j);
			for (int r = 0; r < 4; r++) {
				int16x8_t wv = vld1q_s16(w + (size_t)r * kp + j);
				s[r] = vmlal_s16(s[r], vget_low_s16(x), vget_low_s16(wv));
				s[r] = vmlal_s16(s[r], vget_high_s16(x), vget_high_s16(wv));
			}
		}
		for (int r = 0; r < 4; r++)
			acc[o + r] = v_hsum(s[r]);
	}
	for (int b = 0; b < g->ocp; b += 8)
		v_out8(out + b, vaddq_s32(vld1q_s32(acc + b), vld1q_s32(g->bias + b)),
		       vaddq_s32(vld1q_s32(acc + b + 4), vld1q_s32(g->bias + b + 4)),
		       g->qm + b, g->ls + b, g->rs + b, g->ozp, g->lo, g->hi,
		       g->oc - b);
}

/* Valid tap range [k0, k1) of one window dimension. */
NI void
taps(int start, int k, int d, int in, int *k0, int *k1)
{
	int a = 0, b = k;
	while (a < b && start + a * d < 0)
		a++;
	while (b > a && start + (b - 1) * d >= in)
		b--;
	*k0 = a;
	*k1 = b;
}

/* Depthwise channels [c0, C) of one pixel, scalar (the last C % 8). */
static void
dw_tail(const struct te_dw8 *d, const int8_t *in, int8_t *o, int b, int iy0,
	int ix0, const int *kr, int c0)
{
	const int C = d->c;
	for (int ch = c0; ch < C; ch++) {
		uint32_t acc = (uint32_t)d->bias[ch];
		for (int ky = kr[0]; ky < kr[1]; ky++)
			for (int kx = kr[2]; kx < kr[3]; kx++) {
				int32_t x = in[(((size_t)b * d->ih + iy0 + ky * d->dh) *
						d->iw + ix0 + kx * d->dw) * C + ch];
				acc += (uint32_t)((x - d->izp) *
						  d->w[((size_t)ky * d->kw + kx) * C + ch]);
			}
		o[ch] = (int8_t)te_clamp(q_add(q_mul2((int32_t)acc, d->qm[ch],
			d->ls[ch], d->rs[ch]), d->ozp), d->lo, d->hi);
	}
}

/* One output pixel of the depthwise convolution, 8 channels per step. */
NI void
dw_pixel(const struct te_dw8 *d, const int8_t *in, int8_t *o, int b, int iy0,
	 int ix0, const int *kr)
{
	const int C = d->c;
	const int32x4_t ioff = vdupq_n_s32(-d->izp);
	int cb = 0;
	for (; cb + 8 <= C; cb += 8) {
		int32x4_t a0 = vld1q_s32(d->bias + cb), a1 = vld1q_s32(d->bias + cb + 4);
		for (int ky = kr[0]; ky < kr[1]; ky++) {
			const int8_t *x = in + ((size_t)b * d->ih + iy0 + ky * d->dh) *
				d->iw * C + cb;
			const int32_t *w = d->w + (size_t)ky * d->kw * C + cb;
			for (int kx = kr[2]; kx < kr[3]; kx++) {
				int16x8_t x16 = vmovl_s8(vld1_s8(x + (size_t)(ix0 + kx * d->dw) * C));
				const int32_t *wk = w + (size_t)kx * C;
				a0 = vmlaq_s32(a0, vaddq_s32(vmovl_s16(vget_low_s16(x16)), ioff),
					       vld1q_s32(wk));
				a1 = vmlaq_s32(a1, vaddq_s32(vmovl_s16(vget_high_s16(x16)), ioff),
					       vld1q_s32(wk + 4));
			}
		}
		v_out8(o + cb, a0, a1, d->qm + cb, d->ls + cb, d->rs + cb, d->ozp,
		       d->lo, d->hi, 8);
	}
	if (cb < C)
		dw_tail(d, in, o, b, iy0, ix0, kr, cb);
}

/* NEON depthwise convolution, depth multiplier 1. */
void
te_neon_dw8(const struct te_dw8 *d, const int8_t *in, int8_t *out)
{
	for (int b = 0; b < d->n; b++)
		for (int oy = 0; oy < d->oh; oy++)
			for (int ox = 0; ox < d->ow; ox++) {
				int iy0 = oy * d->sh - d->pt, ix0 = ox * d->sw - d->pl;
				int kr[4];
				taps(iy0, d->kh, d->dh, d->ih, &kr[0], &kr[1]);
				taps(ix0, d->kw, d->dw, d->iw, &kr[2], &kr[3]);
				dw_pixel(d, in, out + (((size_t)b * d->oh + oy) * d->ow +
					 ox) * d->c, b, iy0, ix0, kr);
			}
}

/* int8 dot product of n values, int32 wrap-around like the portable sum:
 * products widened to int16 (each fits) and pairwise added into int32. */
int32_t
te_neon_sdot8(const int8_t *a, const int8_t *b, int n)
{
	int32x4_t acc = vdupq_n_s32(0);
	int i = 0;
	for (; i + 16 <= n; i += 16) {
		int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
		acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
		acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(x), vget_high_s8(y)));
	}
	uint32_t s = (uint32_t)v_hsum(acc);
	for (; i < n; i++)
		s += (uint32_t)(a[i] * b[i]);
	return (int32_t)s;
}

/* Clamp and store the first n (1..8) of eight float lanes. */
NI void
f_out8(float *d, float32x4_t a0, float32x4_t a1, float lo, float hi, int n)
{
	float32x4_t l = vdupq_n_f32(lo), h = vdupq_n_f32(hi);
	float t[8];
	/* max then min, like the portable clamp for lo <= hi */
	vst1q_f32(t, vminq_f32(vmaxq_f32(a0, l), h));
	vst1q_f32(t + 4, vminq_f32(vmaxq_f32(a1, l), h));
	memcpy(d, t, sizeof(float) * (size_t)(n < 8 ? n : 8));
}

/* NR rows (1..4) through one block of 8 float channels. */
NI void
fblock(const struct te_gemmf *g, int b, const float *const *a, int NR,
       float *const *outs)
{
	const float *w = g->w + (size_t)b * g->k * 8;
	float32x4_t c[4][2];
	for (int r = 0; r < NR; r++) {
		c[r][0] = vld1q_f32(g->bias + b * 8);
		c[r][1] = vld1q_f32(g->bias + b * 8 + 4);
	}
	for (int i = 0; i < g->k; i++) {
		float32x4_t w0 = vld1q_f32(w + (size_t)i * 8);
		float32x4_t w1 = vld1q_f32(w + (size_t)i * 8 + 4);
#define ROW(r) if (NR > (r)) {						\
			c[r][0] = vmlaq_n_f32(c[r][0], w0, a[r][i]);		\
			c[r][1] = vmlaq_n_f32(c[r][1], w1, a[r][i]);		\
		}
		ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
	}
	for (int r = 0; r < NR; r++)
		f_out8(outs[r] + b * 8, c[r][0], c[r][1], g->lo, g->hi,
		       g->oc - b * 8);
}

/* NEON float GEMM: blocks of 8 channels, up to 4 rows at a time. */
void
te_neon_gemmf(const struct te_gemmf *g, const float *const *rows, int np,
	      float *const *outs)
{
	for (int b = 0; b < g->ocp / 8; b++) {
		if (np == 4)
			fblock(g, b, rows, 4, outs);
		else
			for (int p = 0; p < np; p++)
				fblock(g, b, rows + p, 1, outs + p);
	}
}

/* One output pixel of the float depthwise convolution. */
NI void
dwf_pixel(const struct te_dwf *d, const float *in, float *o, int b, int iy0,
	  int ix0, const int *kr)
{
	const int C = d->c;
	int cb = 0;
	for (; cb + 8 <= C; cb += 8) {
		float32x4_t a0 = vld1q_f32(d->bias + cb);
		float32x4_t a1 = vld1q_f32(d->bias + cb + 4);
		for (int ky = kr[0]; ky < kr[1]; ky++) {
			const float *x = in + ((size_t)b * d->ih + iy0 + ky * d->dh) *
				d->iw * C + cb;
			const float *w = d->w + (size_t)ky * d->kw * C + cb;
			for (int kx = kr[2]; kx < kr[3]; kx++) {
				const float *xk = x + (size_t)(ix0 + kx * d->dw) * C;
				const float *wk = w + (size_t)kx * C;
				a0 = vmlaq_f32(a0, vld1q_f32(xk), vld1q_f32(wk));
				a1 = vmlaq_f32(a1, vld1q_f32(xk + 4), vld1q_f32(wk + 4));
			}
		}
		f_out8(o + cb, a0, a1, d->lo, d->hi, 8);
	}
	for (; cb < C; cb++) {
		float acc = d->bias[cb];
		for (int ky = kr[0]; ky < kr[1]; ky++)
			for (int kx = kr[2]; kx < kr[3]; kx++)
				acc += in[(((size_t)b * d->ih + iy0 + ky * d->dh) * d->iw +
					   ix0 + kx * d->dw) * C + cb] *
				       d->w[((size_t)ky * d->kw + kx) * C + cb];
		o[cb] = acc < d->lo ? d->lo : acc > d->hi ? d->hi : acc;
	}
}

/* NEON float depthwise convolution, depth multiplier 1. */
void
te_neon_dwf(const struct te_dwf *d, const float *in, float *out)
{
	for (int b = 0; b < d->n; b++)
		for (int oy = 0; oy < d->oh; oy++)
			for (int ox = 0; ox < d->ow; ox++) {
				int iy0 = oy * d->sh - d->pt, ix0 = ox * d->sw - d->pl;
				int kr[4];
				taps(iy0, d->kh, d->dh, d->ih, &kr[0], &kr[1]);
				taps(ix0, d->kw, d->dw, d->iw, &kr[2], &kr[3]);
				dwf_pixel(d, in, out + (((size_t)b * d->oh + oy) * d->ow +
					  ox) * d->c, b, iy0, ix0, kr);
			}
}

#else
/* Not an ARM target with NEON: tflite_gemm.c never calls this file. */
typedef int te_neon_unused;
#endif
