/* test_tflite_hybrid.c - hybrid (float activations, int8 weights) CONV_2D
 * and FULLY_CONNECTED against TFLite's hybrid arithmetic.
 *
 * The dynamic input quantization is checked on a table of inputs whose
 * results follow from the definition by hand (ties rounded away from zero,
 * zero, infinite and NaN inputs, one-element rows, the asymmetric zero
 * point's choice and clamping).  One-operator models built with
 * tflite_build then check the whole pipeline on inputs chosen so that the
 * quantization is exact (scale 1): the output is then exactly weight
 * scale x integer sum + bias, which a dequantize-the-weights runtime also
 * gives, so each case also has inputs where TFLite's rounding of the
 * input shows (the answer only the hybrid arithmetic gives).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_hybrid.h"
#include "tflite_build.h"

#define F32 0
#define I8 9
#define OP_CONV 3
#define OP_FC 9

/* One row of the quantization table. */
struct qcase {
	const char *name;
	int n, asym;
	float x[6];
	int8_t q[6];
	float scale;            /* NAN: not checked */
	int32_t zp;
};

static const struct qcase qcases[] = {
	{ "zeros sym", 3, 0, { 0, 0, 0 }, { 0, 0, 0 }, 1.0f, 0 },
	{ "zeros asym", 3, 1, { 0, -0.0f, 0 }, { 0, 0, 0 }, 1.0f, 0 },
	{ "ties away from zero", 6, 0, { 127, 0.5f, -0.5f, -1.5f, 2.5f, -127 },
	  { 127, 1, -1, -2, 3, -127 }, 1.0f, 0 },
	{ "range from the negative end", 3, 0, { -254, 1, 3 }, { -127, 1, 2 },
	  2.0f, 0 },
	{ "one element", 1, 0, { -3 }, { -127 }, 3.0f / 127.0f, 0 },
	{ "asym: zero point from max end, tie", 3, 1, { -255, 0, -127.5f },
	  { -128, 127, -1 }, 1.0f, 127 },
	{ "asym: all positive", 2, 1, { 255, 0 }, { 127, -128 }, 1.0f, -128 },
	{ "asym: min end nearer", 3, 1, { -100, 155, 0 }, { -128, 127, -28 },
	  1.0f, -28 },
	{ "infinite input", 2, 0, { INFINITY, 1 }, { -127, 0 }, INFINITY, 0 },
};

START_TEST(quantize_table)
{
	const struct qcase *c = &qcases[_i];
	int8_t q[6];
	float s;
	int32_t zp;
	memset(q, 0x55, sizeof q);
	te_hyb_quantize(c->x, (size_t)c->n, c->asym, q, &s, &zp);
	for (int i = 0; i < c->n; i++)
		ck_assert_msg(q[i] == c->q[i], "%s: q[%d] = %d, want %d", c->name,
			      i, q[i], c->q[i]);
	ck_assert_msg(s == c->scale, "%s: scale %g, want %g", c->name, s,
		      c->scale);
	ck_assert_msg(zp == c->zp, "%s: zp %d, want %d", c->name, zp, c->zp);
}
END_TEST

START_TEST(quantize_nan_is_bounded)
{
	/* NaN has no defined answer; it must stay in range and not trap */
	const float x[4] = { NAN, 1, -2, NAN };
	int8_t q[4];
	float s;
	int32_t zp;
	for (int asym = 0; asym < 2; asym++) {
		te_hyb_quantize(x, 4, asym, q, &s, &zp);
		for (int i = 0; i < 4; i++)
			ck_assert(q[i] >= -128 && q[i] <= 127);
		ck_assert(zp >= -128 && zp <= 127);
	}
}
END_TEST

/* Build and run a one-operator float model; copy out nout floats. */
static void
run(const struct tb_tensor *t, int nt, int code, const struct tb_opt *opt,
    int nopt, const float *in, float *out, size_t nout)
{
	static const int32_t ins[] = { 0, 1, 2 };
	int32_t o = nt - 1, gin = 0;
	struct tb_op op = { .code = code, .nin = 3, .nout = 1, .in = ins,
			    .out = &o, .nopt = nopt, .opt = opt };
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(tb_build(t, nt, &op, 1, &gin, 1, &o, 1, &buf, &len), 0);
	struct tflite_model *m;
	char *cause = NULL;
	int rc = tflite_model_load_mem(buf, len, "hybrid", &m, &cause);
	free(buf);
	ck_assert_msg(rc == 0, "load: %s", cause ? cause : "?");
	struct tflite_tensor_info ti;
	tflite_model_input_info(m, 0, &ti);
	memcpy(tflite_model_input(m, 0), in, ti.bytes);
	ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
	tflite_model_output_info(m, 0, &ti);
	ck_assert_uint_eq(ti.bytes, nout * 4);
	memcpy(out, tflite_model_output(m, 0), nout * 4);
	tflite_model_free(m);
}

/* Assert float arrays are equal exactly. */
static void
expectf(const char *what, const float *got, const float *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "%s: [%zu] = %.9g, want %.9g",
			      what, i, got[i], want[i]);
}

START_TEST(fc_per_tensor_symmetric)
{
	/* 2 batches x 3 inputs, 2 units, weight scale 0.5, bias, no act */
	static const int8_t w[] = { 1, 2, -3, -4, 5, 6 };
	static const float ws[] = { 0.5f }, bias[] = { 0.25f, -1.0f };
	static const int64_t z0[] = { 0 };
	struct tb_tensor t[4] = {
		{ .type = F32, .ndims = 2, .dims = { 2, 3 } },
		{ .type = I8, .ndims = 2, .dims = { 2, 3 }, .data = w, .bytes = 6,
		  .nq = 1, .scales = ws, .zps = z0 },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = bias, .bytes = 8 },
		{ .type = F32, .ndims = 2, .dims = { 2, 2 } },
	};
	float out[4];
	/* row 0 has range 127 (q = x); row 1 range 254 (q = x / 2) */
	static const float in[] = { 127, -64, 3, 254, 3, -2 };
	run(t, 4, OP_FC, NULL, 0, in, out, 4);
	/* row 0: acc0 = 127 - 128 - 9 = -10 -> -5 + 0.25; acc1 = -508 - 320
	 * + 18 = -810 -> -405 - 1.  row 1: q = 127, 2 (1.5 away), -1; scale
	 * 2 * 0.5 = 1: acc0 = 127 + 4 + 3 = 134; acc1 = -508 + 10 - 6 = -504
	 * (dequantized weights would give 133.25 for the third value) */
	static const float want[] = { -4.75f, -406.0f, 134.25f, -505.0f };
	expectf("fc", out, want, 4);
}
END_TEST

START_TEST(fc_asymmetric_option_relu)
{
	/* asymmetric_quantize_inputs (option 3) and RELU (option 0 = 1) */
	static const int8_t w[] = { 1, -1, 2, 3 };
	static const float ws[] = { 0.25f }, bias[] = { 100.0f, -200.0f };
	static const int64_t z0[] = { 0 };
	struct tb_tensor t[4] = {
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
		{ .type = I8, .ndims = 2, .dims = { 2, 2 }, .data = w, .bytes = 4,
		  .nq = 1, .scales = ws, .zps = z0 },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = bias, .bytes = 8 },
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
	};
	static const struct tb_opt opt[] = { { 0, 'b', 1, 0 }, { 3, 'b', 1, 0 } };
	/* x = (-100, 155): scale 1, zero point -28, q = (-128, 127):
	 * (q - zp) = x exactly: acc0 = -100 - 155 = -255 -> -63.75 + 100;
	 * acc1 = -200 + 465 = 265 -> 66.25 - 200 < 0 -> RELU 0 (symmetric
	 * quantization would give 36.23 for the first) */
	static const float in[] = { -100, 155 };
	float out[2];
	run(t, 4, OP_FC, opt, 2, in, out, 2);
	static const float want[] = { 36.25f, 0.0f };
	expectf("fc asym", out, want, 2);
}
END_TEST

START_TEST(conv_per_tensor_same_padding)
{
	/* 3x3 SAME, stride 1, on 1x3x3x1, 1 output channel, weight scale 1:
	 * padding is zero; whole-image symmetric quantization */
	static const int8_t w[] = { 1, 1, 1, 1, 2, 1, 1, 1, 1 };
	static const float ws[] = { 1.0f }, bias[] = { 0.5f };
	static const int64_t z0[] = { 0 };
	struct tb_tensor t[4] = {
		{ .type = F32, .ndims = 4, .dims = { 1, 3, 3, 1 } },
		{ .type = I8, .ndims = 4, .dims = { 1, 3, 3, 1 }, .data = w,
		  .bytes = 9, .nq = 1, .scales = ws, .zps = z0 },
		{ .type = F32, .ndims = 1, .dims = { 1 }, .data = bias, .bytes = 4 },
		{ .type = F32, .ndims = 4, .dims = { 1, 3, 3, 1 } },
	};
	static const struct tb_opt opt[] = { { 0, 'b', 0, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 } };
	/* range 254: q = x / 2 with 5 / 2 = 2.5 -> 3 and -1 / 2 -> -1;
	 * scale 2: q = 127 0 3 / 0 -1 0 / 0 0 0 */
	static const float in[] = { 254, 0, 5, 0, -1, 0, 0, 0, 0 };
	float out[9];
	run(t, 4, OP_CONV, opt, 3, in, out, 9);
	/* each output: 2 * (sum of q over the window, centre twice) + 0.5;
	 * dequantized weights would see 5, not 2 * 3, in the corner */
	static const float want[] = {
		2 * (127 * 2 + 0 - 1) + 0.5f, 2 * (127 + 3 - 1) + 0.5f,
		2 * (6 + 0 - 1) + 0.5f,
		2 * (127 - 1) + 0.5f, 2 * (127 + 3 - 2) + 0.5f,
		2 * (3 - 1 + 0) + 0.5f,
		2 * (-1) + 0.5f, 2 * (-1) + 0.5f, 2 * (-1) + 0.5f,
	};
	expectf("conv", out, want, 9);
}
END_TEST

START_TEST(conv_per_channel_asymmetric)
{
	/* 2x2 VALID, stride 1, on 1x2x3x1, 2 channels with different scales:
	 * EvalHybridPerChannel quantizes asymmetrically */
	static const int8_t w[] = { 1, 0, 0, 1, -1, 1, 1, -1 };
	static const float ws[] = { 0.5f, 0.25f }, bias[] = { 0, 1 };
	static const int64_t z0[] = { 0, 0 };
	struct tb_tensor t[4] = {
		{ .type = F32, .ndims = 4, .dims = { 1, 2, 3, 1 } },
		{ .type = I8, .ndims = 4, .dims = { 2, 2, 2, 1 }, .data = w,
		  .bytes = 8, .nq = 2, .scales = ws, .zps = z0, .qdim = 0 },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = bias, .bytes = 8 },
		{ .type = F32, .ndims = 4, .dims = { 1, 1, 2, 2 } },
	};
	static const struct tb_opt opt[] = { { 0, 'b', 1, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 } };
	/* min -100, max 155: scale 1, zp -28, q - zp = x exactly */
	static const float in[] = { -100, 155, 7, 3, -9, 20 };
	float out[4];
	run(t, 4, OP_CONV, opt, 3, in, out, 4);
	/* window (0,0): -100 155 / 3 -9; window (0,1): 155 7 / -9 20 */
	static const float want[] = {
		0.5f * (-100 - 9), 0.25f * (100 + 155 + 3 + 9) + 1,
		0.5f * (155 + 20), 0.25f * (-155 + 7 - 9 - 20) + 1,
	};
	expectf("conv per-channel", out, want, 4);
}
END_TEST

/* Run the suite; exit status reflects failures. */
int
main(void)
{
	struct testutil_case cases[] = {
		{ quantize_table, (int)(sizeof qcases / sizeof qcases[0]) },
		{ quantize_nan_is_bounded, 0 },
		{ fc_per_tensor_symmetric, 0 },
		{ fc_asymmetric_option_relu, 0 },
		{ conv_per_tensor_same_padding, 0 },
		{ conv_per_channel_asymmetric, 0 },
	};
	return testutil_run("tflite_hybrid", 0, cases,
			    sizeof cases / sizeof cases[0]);
}
