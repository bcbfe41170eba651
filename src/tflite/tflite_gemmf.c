/* tflite_gemmf.c - float32 GEMM and depthwise kernels (tflite_gemm.h).
 *
 * Float models have a tolerance rather than a bit-exact reference, so the
 * kernels are free to vectorize across output channels: weights are packed
 * in blocks of 8 output channels (k-major inside a block) and each input
 * value is broadcast against a block, four output pixels at a time.  The
 * loop bodies are written once with GCC/Clang vector extensions and
 * compiled twice: for the baseline target and, on x86-64, for AVX2+FMA,
 * chosen at prepare time.  aarch64's baseline has Advanced SIMD, so there
 * the baseline build is already vectorized; 32-bit ARM (armhf, whose
 * baseline FPU is VFP only, where GCC lowers the vector type to scalar
 * code even in a NEON-target function) uses the intrinsics versions in
 * tflite_gemm_neon.c when the CPU has NEON.  ARMv7 NEON flushes denormals
 * to zero, which the float tolerance absorbs.
 */
#include "tflite/tflite_gemm.h"

#include <string.h>

typedef float te_v8f __attribute__((vector_size(32)));

/* The bodies below are always inlined, so the vector ABI note is moot. */
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
	!defined(TFLITE_GENERIC)
#define TF_X86 1
#endif

#if defined(__arm__) && defined(__ARM_PCS_VFP) && !defined(TFLITE_GENERIC)
#define TF_ARM32 1
#endif

#define TF_INLINE static inline __attribute__((always_inline))

/* True if the CPU can run the AVX2+FMA builds. */
static int have_avx2_fma(void)
{
#ifdef TF_X86
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

/* Round up to a multiple of 8. */
static int up8(int x)
{
	return (x + 7) & ~7;
}

/* Bytes te_gemmf_init needs. */
size_t te_gemmf_bytes(int k, int oc)
{
	size_t ocp = (size_t)up8(oc);
	return ocp * (size_t)k * 4 + ocp * 4 + 64;
}

/* Pack weights (oc x k, row-major) and bias into mem. */
void te_gemmf_init(struct te_gemmf *g, void *mem, const float *w, int k,
		   int oc, const float *bias, float lo, float hi)
{
	int ocp = up8(oc);
	g->k = k;
	g->oc = oc;
	g->ocp = ocp;
	g->avx2 = have_avx2_fma();
	g->neon = te_have_neon();
	g->w = mem;
	g->bias = g->w + (size_t)ocp * k;
	g->lo = lo;
	g->hi = hi;
	for (int o = 0; o < ocp; o++) {
		for (int i = 0; i < k; i++)
			g->w[((size_t)(o / 8) * k + i) * 8 + o % 8] =
				o < oc ? w[(size_t)o * k + i] : 0.0f;
		g->bias[o] = o < oc && bias ? bias[o] : 0.0f;
	}
}

/* Load 8 floats. */
TF_INLINE te_v8f ldf(const float *p)
{
	te_v8f v;
	memcpy(&v, p, 32);
	return v;
}

/* Clamp 8 lanes and store the first n. */
TF_INLINE void stf(float *dst, const te_v8f *v, int n, float lo, float hi)
{
	float t[8];
	memcpy(t, v, 32);
	for (int j = 0; j < 8; j++)
		t[j] = t[j] < lo ? lo : t[j] > hi ? hi : t[j];
	memcpy(dst, t, sizeof(float) * (size_t)(n < 8 ? n : 8));
}

/* GEMM body: blocks of 8 channels, 4 rows at a time when possible. */
TF_INLINE void gemmf_body(const struct te_gemmf *g, const float *const *rows,
			  int np, float *const *outs)
{
	const int k = g->k;
	for (int b = 0; b < g->ocp / 8; b++) {
		const float *w = g->w + (size_t)b * k * 8;
		te_v8f bias = ldf(g->bias + b * 8);
		int n = g->oc - b * 8;
		if (np == 4) {
			const float *a0 = rows[0], *a1 = rows[1], *a2 = rows[2];
			const float *a3 = rows[3];
			te_v8f c0 = bias, c1 = bias, c2 = bias, c3 = bias;
			for (int i = 0; i < k; i++) {
				te_v8f wv = ldf(w + (size_t)i * 8);
				c0 += a0[i] * wv;
				c1 += a1[i] * wv;
				c2 += a2[i] * wv;
				c3 += a3[i] * wv;
			}
			stf(outs[0] + b * 8, &c0, n, g->lo, g->hi);
			stf(outs[1] + b * 8, &c1, n, g->lo, g->hi);
			stf(outs[2] + b * 8, &c2, n, g->lo, g->hi);
			stf(outs[3] + b * 8, &c3, n, g->lo, g->hi);
			continue;
		}
		for (int p = 0; p < np; p++) {
			te_v8f c0 = bias, c1 = { 0 };
			const float *a = rows[p];
			int i = 0;
			for (; i + 2 <= k; i += 2) {
				c0 += a[i] * ldf(w + (size_t)i * 8);
				c1 += a[i + 1] * ldf(w + (size_t)i * 8 + 8);
			}
			if (i < k)
				c0 += a[i] * ldf(w + (size_t)i * 8);
			c0 += c1;
			stf(outs[p] + b * 8, &c0, n, g->lo, g->hi);
		}
	}
}

/* Baseline build of the GEMM body. */
static void gemmf_base(const struct te_gemmf *g, const float *const *rows,
		       int np, float *const *outs)
{
	gemmf_body(g, rows, np, outs);
}

#ifdef TF_X86
/* AVX2+FMA build of the GEMM body. */
__attribute__((target("avx2,fma")))
static void gemmf_avx2(const struct te_gemmf *g, const float *const *rows,
		       int np, float *const *outs)
{
	gemmf_body(g, rows, np, outs);
}
#endif

/* Run np (1..4) rows through the float GEMM. */
void te_gemmf_run(const struct te_gemmf *g, const float *const *rows, int np,
		  float *const *outs)
{
#ifdef TF_X86
	if (g->avx2) {
		gemmf_avx2(g, rows, np, outs);
		return;
	}
#endif
#ifdef TF_ARM32
	if (g->neon) {
		te_neon_gemmf(g, rows, np, outs);
		return;
	}
#endif
	gemmf_base(g, rows, np, outs);
}

/* Valid tap range [k0, k1) of one window dimension. */
TF_INLINE void ftaps(int start, int k, int d, int in, int *k0, int *k1)
{
	int a = 0, b = k;
	while (a < b && start + a * d < 0)
		a++;
	while (b > a && start + (b - 1) * d >= in)
		b--;
	*k0 = a;
	*k1 = b;
}

/* Depthwise body: 8 channels per vector over the valid taps. */
TF_INLINE void dwf_body(const struct te_dwf *d, const float *in, float *out)
{
	const int C = d->c;
	for (int b = 0; b < d->n; b++)
		for (int oy = 0; oy < d->oh; oy++)
			for (int ox = 0; ox < d->ow; ox++) {
				int iy0 = oy * d->sh - d->pt, ix0 = ox * d->sw - d->pl;
				int ky0, ky1, kx0, kx1;
				ftaps(iy0, d->kh, d->dh, d->ih, &ky0, &ky1);
				ftaps(ix0, d->kw, d->dw, d->iw, &kx0, &kx1);
				float *o = out + (((size_t)b * d->oh + oy) * d->ow + ox) * C;
				int cb = 0;
				for (; cb + 8 <= C; cb += 8) {
					te_v8f acc = ldf(d->bias + cb);
					for (int ky = ky0; ky < ky1; ky++) {
						const float *x = in + ((size_t)b * d->ih + iy0 +
							ky * d->dh) * d->iw * C + cb;
						const float *w = d->w + (size_t)ky * d->kw * C + cb;
						for (int kx = kx0; kx < kx1; kx++)
							acc += ldf(x + (size_t)(ix0 + kx * d->dw) * C) *
							       ldf(w + (size_t)kx * C);
					}
					stf(o + cb, &acc, 8, d->lo, d->hi);
				}
				for (; cb < C; cb++) {
					float acc = d->bias[cb];
					for (int ky = ky0; ky < ky1; ky++)
						for (int kx = kx0; kx < kx1; kx++)
							acc += in[(((size_t)b * d->ih + iy0 + ky * d->dh) *
								   d->iw + ix0 + kx * d->dw) * C + cb] *
							       d->w[((size_t)ky * d->kw + kx) * C + cb];
					o[cb] = acc < d->lo ? d->lo : acc > d->hi ? d->hi : acc;
				}
			}
}

/* Baseline build of the depthwise body. */
static void dwf_base(const struct te_dwf *d, const float *in, float *out)
{
	dwf_body(d, in, out);
}

#ifdef TF_X86
/* AVX2+FMA build of the depthwise body. */
__attribute__((target("avx2,fma")))
static void dwf_avx2(const struct te_dwf *d, const float *in, float *out)
{
	dwf_body(d, in, out);
}
#endif

/* Float depthwise convolution, depth multiplier 1. */
void te_dwf_run(const struct te_dwf *d, const float *in, float *out)
{
#ifdef TF_X86
	if (have_avx2_fma()) {
		dwf_avx2(d, in, out);
		return;
	}
#endif
#ifdef TF_ARM32
	if (te_have_neon()) {
		te_neon_dwf(d, in, out);
		return;
	}
#endif
	dwf_base(d, in, out);
}
