/* tflite_gemm.c - int8 GEMM, depthwise and ADD/MUL kernels (tflite_gemm.h).
 *
 * GEMM weights are repacked at prepare time into blocks of 8 output
 * channels holding pairs of consecutive k values as int16, so that on AVX2
 * one multiply-add-pairs instruction (vpmaddwd) against a broadcast pair of
 * inputs does 16 multiply-accumulates; four output pixels share each weight
 * load.  Batch-1 FULLY_CONNECTED uses plain int16 rows instead (one dot
 * product per output).  Requantization runs eight channels at a time with
 * the exact reference arithmetic: the high multiply's round-half-away
 * nudge trunc((a*b + nudge) / 2^31) equals floor((a*b + 2^30) / 2^31) for
 * both signs (negative dividends carry nudge 1 - 2^30, and truncation of a
 * negative quotient is flooring after adding 2^31 - 1), so one 64-bit
 * shift does it; the saturating case needs both operands INT32_MIN and
 * multipliers are never negative.  The portable versions are plain C.
 */
#include "tflite/tflite_gemm.h"
#include "tflite/tflite_int.h"
#include "tflite/tflite_quant.h"

#include <string.h>

/* TFLITE_GENERIC forces the portable kernels (used to test them). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
	!defined(TFLITE_GENERIC)
#define TE_X86 1
#include <immintrin.h>
#endif
#if (defined(__aarch64__) || (defined(__arm__) && defined(__ARM_PCS_VFP))) && \
	defined(__linux__) && !defined(TFLITE_GENERIC)
#define TE_NEON 1
#include <sys/auxv.h>
#ifdef __arm__
#include <asm/hwcap.h>
#endif
#endif

/* Round up to a multiple of m (a power of two). */
static int up(int x, int m)
{
	return (x + m - 1) & ~(m - 1);
}

/* Round a byte count up to 64. */
static size_t a64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

/* True if the CPU can run the AVX2 kernels. */
int te_have_avx2(void)
{
#ifdef TE_X86
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

/* True if the CPU can run the NEON kernels (tflite_gemm_neon.c). */
int te_have_neon(void)
{
#if defined(TE_NEON) && defined(__aarch64__)
	/* Advanced SIMD is part of the base aarch64 architecture */
	return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#elif defined(TE_NEON)
	return (getauxval(AT_HWCAP) & HWCAP_NEON) != 0;
#else
	return 0;
#endif
}

/* Bytes te_gemm8_init needs for a k x oc problem. */
size_t te_gemm8_bytes(int k, int oc)
{
	size_t ocp = (size_t)up(oc, 8);
	return a64(ocp * (size_t)up(k, 16) * 2) + 4 * a64(ocp * 4);
}

/* Scratch bytes te_gemm8_run / te_gemm8_dot need. */
size_t te_gemm8_scratch(int k, int oc)
{
	return 4 * a64((size_t)up(k, 16) * 2) + a64((size_t)up(oc, 8) * 4) + 64;
}

/* Pack weights (oc x k, row-major) and per-channel parameters into mem. */
void te_gemm8_init(struct te_gemm8 *g, void *mem, const int8_t *w, int k,
		   int oc, const int32_t *bias, int32_t izp, const int32_t *qm,
		   const int32_t *ls, const int32_t *rs, int32_t ozp, int32_t lo,
		   int32_t hi, int dot)
{
	int ocp = up(oc, 8);
	uint8_t *q = mem;
	g->k = k;
	g->oc = oc;
	g->ocp = ocp;
	g->k2 = up(k, 2);
	g->kp = dot ? up(k, 16) : 0;
	g->avx2 = te_have_avx2();
	g->neon = te_have_neon();
	g->w = (int16_t *)q;
	memset(q, 0, (size_t)ocp * (size_t)up(k, 16) * 2);
	q += a64((size_t)ocp * (size_t)up(k, 16) * 2);
	g->bias = (int32_t *)q;
	q += a64((size_t)ocp * 4);
	g->qm = (int32_t *)q;
	q += a64((size_t)ocp * 4);
	g->ls = (int32_t *)q;
	q += a64((size_t)ocp * 4);
	g->rs = (int32_t *)q;
	g->ozp = ozp;
	g->lo = lo;
	g->hi = hi;
	for (int o = 0; o < ocp; o++) {
		int64_t sw = 0;
		for (int i = 0; i < k && o < oc; i++) {
			int16_t v = w[(size_t)o * k + i];
			if (dot)
				g->w[(size_t)o * g->kp + i] = v;
			else
				g->w[(((size_t)(o / 8) * (g->k2 / 2) + i / 2) * 8 + o % 8) *
				     2 + i % 2] = v;
			sw += v;
		}
		int32_t b = o < oc && bias ? bias[o] : 0;
		/* sum (x - izp) w = sum x w - izp sum w (int32 wrap-around) */
		g->bias[o] = (int32_t)((uint32_t)b - (uint32_t)(int32_t)(izp * sw));
		g->qm[o] = o < oc ? qm[o] : 0;
		g->ls[o] = o < oc ? ls[o] : 0;
		g->rs[o] = o < oc ? rs[o] : 0;
	}
}

/* Scalar requantization of one accumulator of channel ch. */
static inline int8_t req1(int32_t acc, int32_t qm, int32_t ls, int32_t rs,
			  int32_t ozp, int32_t lo, int32_t hi)
{
	return (int8_t)te_clamp(q_add(q_mul2(acc, qm, ls, rs), ozp), lo, hi);
}

/* Portable GEMM: one row and 8 channels at a time, reading the pair
 * layout; the 8-wide inner loops are left to the auto-vectorizer. */
static void gemm_generic(const struct te_gemm8 *g, const int8_t *const *rows,
			 int np, int8_t *const *outs)
{
	for (int p = 0; p < np; p++)
		for (int b = 0; b < g->ocp / 8; b++) {
			const int16_t *w = g->w + (size_t)b * g->k2 * 8;
			const int8_t *a = rows[p];
			/* unsigned: a hostile bias wraps instead of overflowing */
			uint32_t acc[8];
			memcpy(acc, g->bias + b * 8, sizeof acc);
			for (int i = 0; i < g->k2; i += 2) {
				int32_t x0 = a[i], x1 = i + 1 < g->k ? a[i + 1] : 0;
				const int16_t *wi = w + (size_t)i * 8;
				for (int j = 0; j < 8; j++)
					acc[j] += (uint32_t)(x0 * wi[2 * j] + x1 * wi[2 * j + 1]);
			}
			for (int j = 0; j < 8 && b * 8 + j < g->oc; j++) {
				int o = b * 8 + j;
				outs[p][o] = req1((int32_t)acc[j], g->qm[o], g->ls[o], g->rs[o],
						  g->ozp, g->lo, g->hi);
			}
		}
}

/* Portable batch-1 dot layout. */
static void dot_generic(const struct te_gemm8 *g, const int8_t *row,
			int8_t *out)
{
	for (int o = 0; o < g->oc; o++) {
		const int16_t *w = g->w + (size_t)o * g->kp;
		uint32_t acc = (uint32_t)g->bias[o];
		for (int i = 0; i < g->k; i++)
			acc += (uint32_t)(row[i] * w[i]);
		out[o] = req1((int32_t)acc, g->qm[o], g->ls[o], g->rs[o], g->ozp,
			      g->lo, g->hi);
	}
}

#ifdef TE_X86
#define TA static inline __attribute__((target("avx2"), always_inline))

/* Exact q_mul2 on 8 lanes (see the file comment for the rounding). */
TA __m256i v_mulq(__m256i acc, __m256i qm, __m256i ls, __m256i rs)
{
	__m256i x = _mm256_sllv_epi32(acc, ls);
	__m256i r30 = _mm256_set1_epi64x((int64_t)1 << 30);
	__m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, qm), r30);
	__m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32),
						       _mm256_srli_epi64(qm, 32)), r30);
	__m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31),
				       _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32),
				       0xAA);
	__m256i one = _mm256_set1_epi32(1);
	__m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, rs), one);
	__m256i rem = _mm256_and_si256(h, mask);
	__m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1),
				       _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
	return _mm256_sub_epi32(_mm256_srav_epi32(h, rs), _mm256_cmpgt_epi32(rem, thr));
}

/* Zero point and clamp on 8 lanes. */
TA __m256i v_zpclamp(__m256i r, int32_t ozp, int32_t lo, int32_t hi)
{
	r = _mm256_add_epi32(r, _mm256_set1_epi32(ozp));
	r = _mm256_max_epi32(r, _mm256_set1_epi32(lo));
	return _mm256_min_epi32(r, _mm256_set1_epi32(hi));
}

/* Load 8 int8 as int32 lanes. */
TA __m256i v_load8(const int8_t *p)
{
	return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

/* Load 8 int32. */
TA __m256i v_load32(const int32_t *p)
{
	return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* Store the first n (1..8) lanes, already in int8 range, as int8. */
TA void v_store8(int8_t *d, __m256i v, int n)
{
	__m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v),
				    _mm256_extracti128_si256(v, 1));
	__m128i b = _mm_packs_epi16(w, w);
	if (n >= 8) {
		_mm_storel_epi64((__m128i *)(void *)d, b);
	} else {
		int64_t t = _mm_cvtsi128_si64(b);
		memcpy(d, &t, (size_t)n);
	}
}

/* Broadcast the int16 pair at p. */
TA __m256i v_pair(const int16_t *p)
{
	int32_t x;
	memcpy(&x, p, 4);
	return _mm256_set1_epi32(x);
}

/* AVX2 GEMM: rows widened to int16, 4 rows x 8 channels per inner loop. */
__attribute__((target("avx2")))
static void gemm_avx2(const struct te_gemm8 *g, const int8_t *const *rows,
		      int np, int8_t *const *outs, void *scratch)
{
	const int k2 = g->k2;
	const size_t rstride = a64((size_t)up(g->k, 16) * 2) / 2;
	int16_t *a = (int16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
	for (int p = 0; p < np; p++) {
		int16_t *d = a + (size_t)p * rstride;
		int i = 0;
		for (; i + 16 <= g->k; i += 16)
			_mm256_storeu_si256((__m256i *)(void *)(d + i),
				_mm256_cvtepi8_epi16(_mm_loadu_si128(
					(const __m128i *)(const void *)(rows[p] + i))));
		for (; i < g->k; i++)
			d[i] = rows[p][i];
		if (g->k & 1)
			d[g->k] = 0;    /* pad to an even length */
	}
	const int16_t *a0 = a, *a1 = a + rstride, *a2 = a + 2 * rstride;
	const int16_t *a3 = a + 3 * rstride;
	for (int b = 0; b < g->ocp / 8; b++) {
		const int16_t *w = g->w + (size_t)b * k2 * 8;
		__m256i bias = v_load32(g->bias + b * 8);
		__m256i qm = v_load32(g->qm + b * 8), ls = v_load32(g->ls + b * 8);
		__m256i rs = v_load32(g->rs + b * 8);
		int n = g->oc - b * 8;
		if (np == 4) {
			__m256i c0 = bias, c1 = bias, c2 = bias, c3 = bias;
			for (int i = 0; i < k2; i += 2) {
				__m256i wv = _mm256_loadu_si256((const __m256i *)
								(const void *)(w + i * 8));
				c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(v_pair(a0 + i), wv));
				c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(v_pair(a1 + i), wv));
				c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(v_pair(a2 + i), wv));
				c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(v_pair(a3 + i), wv));
			}
			v_store8(outs[0] + b * 8, v_zpclamp(v_mulq(c0, qm, ls, rs),
				 g->ozp, g->lo, g->hi), n);
			v_store8(outs[1] + b * 8, v_zpclamp(v_mulq(c1, qm, ls, rs),
				 g->ozp, g->lo, g->hi), n);
			v_store8(outs[2] + b * 8, v_zpclamp(v_mulq(c2, qm, ls, rs),
				 g->ozp, g->lo, g->hi), n);
			v_store8(outs[3] + b * 8, v_zpclamp(v_mulq(c3, qm, ls, rs),
				 g->ozp, g->lo, g->hi), n);
			continue;
		}
		for (int p = 0; p < np; p++) {
			const int16_t *ap = a + (size_t)p * rstride;
			__m256i c0 = bias, c1 = _mm256_setzero_si256();
			int i = 0;
			for (; i + 4 <= k2; i += 4) {
				c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(v_pair(ap + i),
					_mm256_loadu_si256((const __m256i *)(const void *)
							   (w + i * 8))));
				c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(v_pair(ap + i + 2),
					_mm256_loadu_si256((const __m256i *)(const void *)
							   (w + i * 8 + 16))));
			}
			if (i < k2)
				c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(v_pair(ap + i),
					_mm256_loadu_si256((const __m256i *)(const void *)
							   (w + i * 8))));
			v_store8(outs[p] + b * 8, v_zpclamp(v_mulq(_mm256_add_epi32(c0, c1),
				 qm, ls, rs), g->ozp, g->lo, g->hi), n);
		}
	}
}

/* Sum each of four vectors' lanes: result lane j = sum of v_j. */
TA __m128i v_hsum4(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
	__m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1),
				      _mm256_hadd_epi32(v2, v3));
	return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* AVX2 batch-1 dot products, four outputs at a time. */
__attribute__((target("avx2")))
static void dot_avx2(const struct te_gemm8 *g, const int8_t *row, int8_t *out,
		     void *scratch)
{
	int16_t *a = (int16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
	int32_t *acc = (int32_t *)(void *)(a + g->kp);
	const int kp = g->kp;
	int i = 0;
	for (; i + 16 <= g->k; i += 16)
		_mm256_storeu_si256((__m256i *)(void *)(a + i), _mm256_cvtepi8_epi16(
			_mm_loadu_si128((const __m128i *)(const void *)(row + i))));
	for (; i < kp; i++)
		a[i] = i < g->k ? row[i] : 0;
	for (int o = 0; o < g->ocp; o += 4) {
		const int16_t *w0 = g->w + (size_t)o * kp, *w1 = w0 + kp;
		const int16_t *w2 = w1 + kp, *w3 = w2 + kp;
		__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
		for (int j = 0; j < kp; j += 16) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a + j));
#define DOTW(s, w) s = _mm256_add_epi32(s, _mm256_madd_epi16(x, \
		_mm256_loadu_si256((const __m256i *)(const void *)((w) + j))))
			DOTW(s0, w0);
			DOTW(s1, w1);
			DOTW(s2, w2);
			DOTW(s3, w3);
#undef DOTW
		}
		_mm_storeu_si128((__m128i *)(void *)(acc + o), v_hsum4(s0, s1, s2, s3));
	}
	for (int b = 0; b < g->ocp; b += 8) {
		__m256i v = _mm256_add_epi32(v_load32(acc + b), v_load32(g->bias + b));
		v_store8(out + b, v_zpclamp(v_mulq(v, v_load32(g->qm + b),
			 v_load32(g->ls + b), v_load32(g->rs + b)), g->ozp, g->lo,
			 g->hi), g->oc - b);
	}
}
#endif

/* Run np (1..4) rows through the GEMM. */
void te_gemm8_run(const struct te_gemm8 *g, const int8_t *const *rows, int np,
		  int8_t *const *outs, void *scratch)
{
#ifdef TE_X86
	if (g->avx2) {
		gemm_avx2(g, rows, np, outs, scratch);
		return;
	}
#endif
#ifdef TE_NEON
	if (g->neon) {
		te_neon_gemm8(g, rows, np, outs, scratch);
		return;
	}
#endif
	(void)scratch;
	gemm_generic(g, rows, np, outs);
}

/* One row through a dot-layout GEMM (batch-1 FULLY_CONNECTED). */
void te_gemm8_dot(const struct te_gemm8 *g, const int8_t *row, int8_t *out,
		  void *scratch)
{
#ifdef TE_X86
	if (g->avx2) {
		dot_avx2(g, row, out, scratch);
		return;
	}
#endif
#ifdef TE_NEON
	if (g->neon) {
		te_neon_dot8(g, row, out, scratch);
		return;
	}
#endif
	(void)scratch;
	dot_generic(g, row, out);
}

/* Valid tap range [k0, k1) of one window dimension. */
static inline void taps(int start, int k, int d, int in, int *k0, int *k1)
{
	int a = 0, b = k;
	while (a < b && start + a * d < 0)
		a++;
	while (b > a && start + (b - 1) * d >= in)
		b--;
	*k0 = a;
	*k1 = b;
}

/* Depthwise channels [c0, C) of one output pixel, scalar. */
static inline void dw_scalar(const struct te_dw8 *d, const int8_t *in,
			     int8_t *o, int b, int iy0, int ix0, int ky0,
			     int ky1, int kx0, int kx1, int c0)
{
	const int C = d->c;
	for (int ch = c0; ch < C; ch++) {
		uint32_t acc = (uint32_t)d->bias[ch];
		for (int ky = ky0; ky < ky1; ky++)
			for (int kx = kx0; kx < kx1; kx++) {
				int32_t x = in[(((size_t)b * d->ih + iy0 + ky * d->dh) *
						d->iw + ix0 + kx * d->dw) * C + ch];
				acc += (uint32_t)((x - d->izp) *
						  d->w[((size_t)ky * d->kw + kx) * C + ch]);
			}
		o[ch] = req1((int32_t)acc, d->qm[ch], d->ls[ch], d->rs[ch], d->ozp,
			     d->lo, d->hi);
	}
}

#ifdef TE_X86
/* AVX2 depthwise: eight channels per vector, valid taps only. */
__attribute__((target("avx2")))
static void dw_avx2(const struct te_dw8 *d, const int8_t *in, int8_t *out)
{
	const int C = d->c;
	const __m256i ioff = _mm256_set1_epi32(-d->izp);
	for (int b = 0; b < d->n; b++)
		for (int oy = 0; oy < d->oh; oy++)
			for (int ox = 0; ox < d->ow; ox++) {
				int iy0 = oy * d->sh - d->pt, ix0 = ox * d->sw - d->pl;
				int ky0, ky1, kx0, kx1;
				taps(iy0, d->kh, d->dh, d->ih, &ky0, &ky1);
				taps(ix0, d->kw, d->dw, d->iw, &kx0, &kx1);
				int8_t *o = out + (((size_t)b * d->oh + oy) * d->ow + ox) * C;
				int cb = 0;
				for (; cb + 8 <= C; cb += 8) {
					__m256i acc = v_load32(d->bias + cb);
					for (int ky = ky0; ky < ky1; ky++) {
						const int8_t *x = in + ((size_t)b * d->ih + iy0 +
							ky * d->dh) * d->iw * C + cb;
						const int32_t *w = d->w + (size_t)ky * d->kw * C + cb;
						for (int kx = kx0; kx < kx1; kx++)
							acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(
								_mm256_add_epi32(v_load8(x + (size_t)(ix0 +
									kx * d->dw) * C), ioff),
								v_load32(w + (size_t)kx * C)));
					}
					v_store8(o + cb, v_zpclamp(v_mulq(acc, v_load32(d->qm + cb),
						 v_load32(d->ls + cb), v_load32(d->rs + cb)),
						 d->ozp, d->lo, d->hi), 8);
				}
				if (cb < C)
					dw_scalar(d, in, o, b, iy0, ix0, ky0, ky1, kx0, kx1, cb);
			}
}
#endif

/* Portable depthwise for one pixel: channels innermost, 32 at a time. */
static void dw_generic_pixel(const struct te_dw8 *d, const int8_t *in,
			     int8_t *o, int b, int iy0, int ix0, int ky0,
			     int ky1, int kx0, int kx1)
{
	const int C = d->c;
	for (int c0 = 0; c0 < C; c0 += 32) {
		int nc = C - c0 < 32 ? C - c0 : 32;
		uint32_t acc[32];
		memcpy(acc, d->bias + c0, sizeof(int32_t) * (size_t)nc);
		for (int ky = ky0; ky < ky1; ky++)
			for (int kx = kx0; kx < kx1; kx++) {
				const int8_t *x = in + (((size_t)b * d->ih + iy0 + ky * d->dh) *
					d->iw + ix0 + kx * d->dw) * C + c0;
				const int32_t *w = d->w + ((size_t)ky * d->kw + kx) * C + c0;
				for (int j = 0; j < nc; j++)
					acc[j] += (uint32_t)((x[j] - d->izp) * w[j]);
			}
		for (int j = 0; j < nc; j++)
			o[c0 + j] = req1((int32_t)acc[j], d->qm[c0 + j], d->ls[c0 + j],
					 d->rs[c0 + j], d->ozp, d->lo, d->hi);
	}
}

/* Depthwise convolution, depth multiplier 1. */
void te_dw8_run(const struct te_dw8 *d, const int8_t *in, int8_t *out)
{
#ifdef TE_X86
	if (d->avx2) {
		dw_avx2(d, in, out);
		return;
	}
#endif
#ifdef TE_NEON
	if (d->neon) {
		te_neon_dw8(d, in, out);
		return;
	}
#endif
	for (int b = 0; b < d->n; b++)
		for (int oy = 0; oy < d->oh; oy++)
			for (int ox = 0; ox < d->ow; ox++) {
				int iy0 = oy * d->sh - d->pt, ix0 = ox * d->sw - d->pl;
				int ky0, ky1, kx0, kx1;
				taps(iy0, d->kh, d->dh, d->ih, &ky0, &ky1);
				taps(ix0, d->kw, d->dw, d->iw, &kx0, &kx1);
				dw_generic_pixel(d, in, out + (((size_t)b * d->oh + oy) *
						 d->ow + ox) * d->c, b, iy0, ix0, ky0, ky1,
						 kx0, kx1);
			}
}

/* ADD or MUL of one int8 pair, scalar reference arithmetic. */
int8_t te_bin8_one(const struct te_bin8 *q, int8_t a, int8_t b)
{
	int32_t r;
	if (q->add) {
		int32_t x = (a + q->off1) * (1 << 20);
		int32_t y = (b + q->off2) * (1 << 20);
		int32_t s = q_add(q_mul(x, q->m1, q->sh1), q_mul(y, q->m2, q->sh2));
		r = q_mul(s, q->mo, q->sho);
	} else
		r = q_mul((a + q->off1) * (b + q->off2), q->mo, q->sho);
	return (int8_t)te_clamp(q_add(r, q->ozp), q->lo, q->hi);
}

#ifdef TE_X86
/* AVX2 ADD/MUL over same-shape operands. */
__attribute__((target("avx2")))
static size_t bin_avx2(const struct te_bin8 *q, const int8_t *a,
		       const int8_t *b, int8_t *out, size_t n)
{
#define SPLIT(m, s, M, L, R) __m256i M = _mm256_set1_epi32(m), \
	L = _mm256_set1_epi32((s) > 0 ? (s) : 0), R = _mm256_set1_epi32((s) > 0 ? 0 : -(s))
	SPLIT(q->m1, q->sh1, m1, l1, r1);
	SPLIT(q->m2, q->sh2, m2, l2, r2);
	SPLIT(q->mo, q->sho, mo, lo, ro);
#undef SPLIT
	const __m256i o1 = _mm256_set1_epi32(q->off1), o2 = _mm256_set1_epi32(q->off2);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i x = _mm256_add_epi32(v_load8(a + i), o1);
		__m256i y = _mm256_add_epi32(v_load8(b + i), o2), r;
		if (q->add) {
			__m256i sx = v_mulq(_mm256_slli_epi32(x, 20), m1, l1, r1);
			__m256i sy = v_mulq(_mm256_slli_epi32(y, 20), m2, l2, r2);
			r = v_mulq(_mm256_add_epi32(sx, sy), mo, lo, ro);
		} else
			r = v_mulq(_mm256_mullo_epi32(x, y), mo, lo, ro);
		v_store8(out + i, v_zpclamp(r, q->ozp, q->lo, q->hi), 8);
	}
	return i;
}
#endif

/* ADD or MUL over n same-shape elements. */
void te_bin8_run(const struct te_bin8 *q, const int8_t *a, const int8_t *b,
		 int8_t *out, size_t n)
{
	size_t i = 0;
#ifdef TE_X86
	if (q->avx2)
		i = bin_avx2(q, a, b, out, n);
#endif
	for (; i < n; i++)
		out[i] = te_bin8_one(q, a[i], b[i]);
}
