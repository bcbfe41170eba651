/* test_tflite_simd.c - the SIMD int8 kernels (AVX2 or NEON) against the
 * portable ones, bit for bit.
 *
 * Each prepared kernel is run twice on the same data: as prepared (the
 * SIMD path where the CPU has one) and with its avx2 / neon fields
 * cleared, which forces the portable path.  A table of requantization
 * edge cases (INT32_MIN/MAX accumulators, ties at every right shift, the
 * largest multipliers and left shifts) goes through the GEMM, dot and
 * depthwise kernels; random problems with odd sizes and padding cover the
 * accumulation.  Under qemu, TE_EXPECT_SIMD=1 makes a missing SIMD path a
 * failure, so a cross run proves the NEON kernels ran.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite_gemm.h"
#include "tflite/tflite_int.h"
#include "tflite/tflite_quant.h"

/* A small deterministic generator (LCG, high bits). */
static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* True if this build and CPU have a SIMD path to compare. */
static int
have_simd(void)
{
	return te_have_avx2() || te_have_neon();
}

START_TEST(simd_path_present)
{
	const char *e = getenv("TE_EXPECT_SIMD");
	if (e != NULL && strcmp(e, "1") == 0)
		ck_assert_msg(have_simd(), "TE_EXPECT_SIMD=1 but no SIMD path");
}
END_TEST

/* Requantize acc with (qm, ls, rs) through a 1 x 1 GEMM (dot or pair
 * layout, SIMD as prepared or forced portable); the zero point is chosen
 * so the exact result lands on 5, any other value elsewhere. */
static int8_t
requant_gemm(int32_t acc, int32_t qm, int32_t ls, int32_t rs, int dot,
	     int simd)
{
	static const int8_t w0[1] = { 0 };
	int32_t r = q_mul2(acc, qm, ls, rs);
	int32_t ozp = (int32_t)(5u - (uint32_t)r);
	void *mem = aligned_alloc(64, (te_gemm8_bytes(1, 1) + 63) / 64 * 64);
	void *scratch = malloc(te_gemm8_scratch(1, 1));
	struct te_gemm8 g;
	int8_t row[1] = { 3 }, out[1] = { 0 };
	const int8_t *rows[1] = { row };
	int8_t *outs[1] = { out };
	te_gemm8_init(&g, mem, w0, 1, 1, &acc, 0, &qm, &ls, &rs, ozp, -128, 127,
		      dot);
	if (!simd)
		g.avx2 = g.neon = 0;
	if (dot)
		te_gemm8_dot(&g, row, out, scratch);
	else
		te_gemm8_run(&g, rows, 1, outs, scratch);
	free(mem);
	free(scratch);
	return out[0];
}

/* The same through a 1 x 1 x 8 depthwise convolution (channel 3). */
static int8_t
requant_dw(int32_t acc, int32_t qm, int32_t ls, int32_t rs, int simd)
{
	int32_t r = q_mul2(acc, qm, ls, rs);
	int32_t w[8] = { 0 }, bias[8] = { 0 }, qms[8], lss[8], rss[8];
	int8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];
	for (int i = 0; i < 8; i++) {
		qms[i] = qm;
		lss[i] = ls;
		rss[i] = rs;
	}
	bias[3] = acc;
	struct te_dw8 d = { 1, 1, 1, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0,
			    (int32_t)(5u - (uint32_t)r), -128, 127,
			    simd ? te_have_avx2() : 0, simd ? te_have_neon() : 0,
			    w, bias, qms, lss, rss };
	te_dw8_run(&d, in, out);
	return out[3];
}

START_TEST(requant_edge_table)
{
	static const int32_t accs[] = {
		INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -65536 - 32768,
		-3, -2, -1, 0, 1, 2, 3, 65536 + 32768, 1 << 30, (1 << 30) + 1,
		INT32_MAX - 1, INT32_MAX, 0x5a5a5a5a, -0x5a5a5a5a,
	};
	/* multipliers are never negative: prepare refuses scales <= 0 */
	static const int32_t qms[] = {
		INT32_MAX, (int32_t)1 << 30, (1 << 30) + 1, 1518500250,
		1, 0,
	};
	static const int32_t lss[] = { 0, 1, 7, 31 };
	static const int32_t rss[] = { 0, 1, 2, 5, 15, 30, 31 };
	int n = 0;
	for (size_t a = 0; a < sizeof accs / sizeof accs[0]; a++)
		for (size_t m = 0; m < sizeof qms / sizeof qms[0]; m++)
			for (size_t l = 0; l < sizeof lss / sizeof lss[0]; l++)
				for (size_t r = 0; r < sizeof rss / sizeof rss[0]; r++) {
					int32_t A = accs[a], Q = qms[m];
					int32_t L = lss[l], R = rss[r];
					for (int simd = 0; simd < 2; simd++) {
						ck_assert_msg(requant_gemm(A, Q, L, R, 0, simd) == 5,
							      "gemm acc %d qm %d ls %d rs %d simd %d",
							      A, Q, L, R, simd);
						ck_assert_msg(requant_gemm(A, Q, L, R, 1, simd) == 5,
							      "dot acc %d qm %d ls %d rs %d simd %d",
							      A, Q, L, R, simd);
						ck_assert_msg(requant_dw(A, Q, L, R, simd) == 5,
							      "dw acc %d qm %d ls %d rs %d simd %d",
							      A, Q, L, R, simd);
					}
					n++;
				}
	ck_assert_int_eq(n, 19 * 6 * 4 * 7);
}
END_TEST

/* Random per-channel requantization parameters for n channels. */
static void
rand_quant(uint32_t *seed, int n, int32_t *bias, int32_t *qm, int32_t *ls,
	   int32_t *rs)
{
	for (int o = 0; o < n; o++) {
		int sh;
		bias[o] = (int32_t)(rnd(seed) % 200001) - 100000;
		q_quantize_multiplier(ldexp(1.0 + rnd(seed) % 997 / 1000.0,
					    (int)(rnd(seed) % 18) - 16), &qm[o], &sh);
		ls[o] = sh > 0 ? sh : 0;
		rs[o] = sh > 0 ? 0 : -sh;
	}
}

START_TEST(gemm_random_simd_equals_portable)
{
	uint32_t seed = 99;
	for (int round = 0; round < 200; round++) {
		int k = 1 + (int)(rnd(&seed) % 300), oc = 1 + (int)(rnd(&seed) % 40);
		int np = 1 + (int)(rnd(&seed) % 4), dot = round % 2;
		int8_t *w = malloc((size_t)(k * oc)), *rowsb = malloc((size_t)(4 * k));
		int8_t o1[4][40], o2[4][40];
		int32_t bias[40], qm[40], ls[40], rs[40];
		for (int i = 0; i < k * oc; i++)
			w[i] = (int8_t)rnd(&seed);
		for (int i = 0; i < 4 * k; i++)
			rowsb[i] = (int8_t)rnd(&seed);
		rand_quant(&seed, oc, bias, qm, ls, rs);
		int32_t izp = (int32_t)(rnd(&seed) % 256) - 128;
		int32_t ozp = (int32_t)(rnd(&seed) % 256) - 128;
		void *mem = aligned_alloc(64, (te_gemm8_bytes(k, oc) + 63) / 64 * 64);
		void *scratch = malloc(te_gemm8_scratch(k, oc));
		struct te_gemm8 g;
		te_gemm8_init(&g, mem, w, k, oc, bias, izp, qm, ls, rs, ozp, -128,
			      127, dot);
		const int8_t *rows[4] = { rowsb, rowsb + k, rowsb + 2 * k, rowsb + 3 * k };
		for (int pass = 0; pass < 2; pass++) {
			int8_t (*o)[40] = pass ? o2 : o1;
			int8_t *outs[4] = { o[0], o[1], o[2], o[3] };
			if (pass)
				g.avx2 = g.neon = 0;
			if (dot)
				te_gemm8_dot(&g, rows[0], outs[0], scratch);
			else
				te_gemm8_run(&g, rows, np, outs, scratch);
		}
		for (int p = 0; p < (dot ? 1 : np); p++)
			ck_assert_msg(memcmp(o1[p], o2[p], (size_t)oc) == 0,
				      "round %d k %d oc %d row %d", round, k, oc, p);
		free(mem);
		free(scratch);
		free(w);
		free(rowsb);
	}
}
END_TEST

START_TEST(dw_random_simd_equals_portable)
{
	uint32_t seed = 2024;
	for (int round = 0; round < 120; round++) {
		int ih = 1 + (int)(rnd(&seed) % 9), iw = 1 + (int)(rnd(&seed) % 9);
		int c = 1 + (int)(rnd(&seed) % 37);
		int kh = 1 + (int)(rnd(&seed) % 3), kw = 1 + (int)(rnd(&seed) % 3);
		int sh = 1 + (int)(rnd(&seed) % 2), sw = 1 + (int)(rnd(&seed) % 2);
		int dh = 1 + (int)(rnd(&seed) % 2), dwl = 1 + (int)(rnd(&seed) % 2);
		int oh = (ih + sh - 1) / sh, ow = (iw + sw - 1) / sw;
		int pt = (int)(rnd(&seed) % (size_t)kh), pl = (int)(rnd(&seed) % (size_t)kw);
		size_t nin = (size_t)(ih * iw * c), nout = (size_t)(oh * ow * c);
		int8_t *in = malloc(nin), *o1 = malloc(nout), *o2 = malloc(nout);
		int32_t *w = malloc(sizeof(int32_t) * (size_t)(kh * kw * c));
		int32_t bias[37], qm[37], ls[37], rs[37];
		for (size_t i = 0; i < nin; i++)
			in[i] = (int8_t)rnd(&seed);
		for (int i = 0; i < kh * kw * c; i++)
			w[i] = (int8_t)rnd(&seed);
		rand_quant(&seed, c, bias, qm, ls, rs);
		struct te_dw8 d = { 1, ih, iw, c, oh, ow, kh, kw, sh, sw, dh, dwl,
				    pt, pl, (int32_t)(rnd(&seed) % 256) - 128,
				    (int32_t)(rnd(&seed) % 256) - 128, -100, 120,
				    te_have_avx2(), te_have_neon(), w, bias, qm, ls, rs };
		te_dw8_run(&d, in, o1);
		d.avx2 = d.neon = 0;
		te_dw8_run(&d, in, o2);
		ck_assert_msg(memcmp(o1, o2, nout) == 0, "round %d %dx%dx%d k %dx%d",
			      round, ih, iw, c, kh, kw);
		free(in);
		free(o1);
		free(o2);
		free(w);
	}
}
END_TEST

/* Run the suite; exit status reflects failures. */
int
main(void)
{
	struct testutil_case cases[] = {
		{ simd_path_present, 0 },
		{ requant_edge_table, 0 },
		{ gemm_random_simd_equals_portable, 0 },
		{ dw_random_simd_equals_portable, 0 },
	};
	return testutil_run("tflite_simd", 0, cases,
			    sizeof cases / sizeof cases[0]);
}
