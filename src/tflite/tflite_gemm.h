/* tflite_gemm.h - the vectorized int8 kernels (GEMM, depthwise, ADD/MUL).
 *
 * Every kernel exists in a portable version written with GCC/Clang vector
 * extensions, on x86-64 an AVX2 version written with intrinsics in
 * functions compiled for that target only, and on ARM a NEON version
 * (tflite_gemm_neon.c).  Which one runs is decided once, when the operator
 * is prepared (__builtin_cpu_supports, getauxval(AT_HWCAP)), so a single
 * binary uses the SIMD unit where the CPU has it.  All versions compute
 * exactly the reference integer arithmetic.  Clearing the avx2 / neon
 * field of a prepared kernel forces the portable path (a test hook).
 */
#ifndef TFLITE_GEMM_H
#define TFLITE_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* A prepared int8 GEMM with per-channel requantization:
 * out[p][oc] = clamp(requant(sum_k a[p][k] * w[oc][k] + bias[oc]) + ozp).
 * The caller's input zero point is folded into bias. */
struct te_gemm8 {
	int k, oc, ocp;
	int k2;                 /* k rounded up to even (pair layout) */
	int kp;                 /* dot layout: k rounded up to 16, else 0 */
	int avx2, neon;
	int16_t *w;             /* pairs [ocp/8][k2/2][8][2] or rows [ocp][kp] */
	int32_t *bias, *qm, *ls, *rs;   /* ocp entries each */
	int32_t ozp, lo, hi;
};

size_t te_gemm8_bytes(int k, int oc);
size_t te_gemm8_scratch(int k, int oc);
void te_gemm8_init(struct te_gemm8 *g, void *mem, const int8_t *w, int k,
		   int oc, const int32_t *bias, int32_t izp, const int32_t *qm,
		   const int32_t *ls, const int32_t *rs, int32_t ozp, int32_t lo,
		   int32_t hi, int dot);
void te_gemm8_run(const struct te_gemm8 *g, const int8_t *const *rows, int np,
		  int8_t *const *outs, void *scratch);
void te_gemm8_dot(const struct te_gemm8 *g, const int8_t *row, int8_t *out,
		  void *scratch);

/* A prepared depthwise convolution with depth multiplier 1. */
struct te_dw8 {
	int n, ih, iw, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
	int32_t izp, ozp, lo, hi;
	int avx2, neon;
	const int32_t *w;       /* [kh][kw][c] widened weights */
	const int32_t *bias, *qm, *ls, *rs;
};

void te_dw8_run(const struct te_dw8 *d, const int8_t *in, int8_t *out);

/* ADD / MUL requantization parameters (TFLite's scheme). */
struct te_bin8 {
	int add;
	int avx2;
	int32_t off1, off2, ozp, lo, hi;
	int32_t m1, m2, mo;
	int sh1, sh2, sho;
};

int8_t te_bin8_one(const struct te_bin8 *q, int8_t a, int8_t b);
void te_bin8_run(const struct te_bin8 *q, const int8_t *a, const int8_t *b,
		 int8_t *out, size_t n);
int te_have_avx2(void);
int te_have_neon(void);

/* The NEON kernels (tflite_gemm_neon.c), called only if te_have_neon(). */
void te_neon_gemm8(const struct te_gemm8 *g, const int8_t *const *rows,
		   int np, int8_t *const *outs, void *scratch);
void te_neon_dot8(const struct te_gemm8 *g, const int8_t *row, int8_t *out,
		  void *scratch);
void te_neon_dw8(const struct te_dw8 *d, const int8_t *in, int8_t *out);

/* A prepared float GEMM (conv / fully connected) with bias and clamp. */
struct te_gemmf {
	int k, oc, ocp;
	int avx2, neon;
	float *w;               /* blocks [ocp/8][k][8] */
	float *bias;            /* ocp entries */
	float lo, hi;
};

size_t te_gemmf_bytes(int k, int oc);
void te_gemmf_init(struct te_gemmf *g, void *mem, const float *w, int k,
		   int oc, const float *bias, float lo, float hi);
void te_gemmf_run(const struct te_gemmf *g, const float *const *rows, int np,
		  float *const *outs);

/* A prepared float depthwise convolution with depth multiplier 1. */
struct te_dwf {
	int n, ih, iw, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
	int avx2;
	const float *w;         /* [kh][kw][c] */
	const float *bias;      /* c entries */
	float lo, hi;
};

void te_dwf_run(const struct te_dwf *d, const float *in, float *out);

/* The NEON kernels exist on ARM with a hard-float ABI (not in portable
 * builds); they run only where te_have_neon() says so. */
#if (defined(__aarch64__) || (defined(__arm__) && defined(__ARM_PCS_VFP))) && \
	!defined(TFLITE_GENERIC)
#define TE_NEON_KERNELS 1
#endif

/* NEON int8 dot product with int32 wrap-around (hybrid layers). */
int32_t te_neon_sdot8(const int8_t *a, const int8_t *b, int n);

/* NEON float kernels (tflite_gemm_neon.c), used on 32-bit ARM. */
void te_neon_gemmf(const struct te_gemmf *g, const float *const *rows,
		   int np, float *const *outs);
void te_neon_dwf(const struct te_dwf *d, const float *in, float *out);
#endif
