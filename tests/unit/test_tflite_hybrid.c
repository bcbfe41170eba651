/* test_tflite_hybrid.c - hybrid (float activations, int8 weights) CONV_2D
 * and FULLY_CONNECTED against the arithmetic of TFLite's CPU runtime.
 *
 * The dynamic input quantization is checked on a table of inputs whose
 * results follow from the definition by hand (ties rounded away from zero,
 * zero, infinite and NaN inputs, one-element rows, the asymmetric zero
 * point's choice and clamping; symmetric rows as TFLite's own kernels
 * quantize).  One-operator models built with tflite_build then check the
 * whole pipeline on inputs chosen so that the quantization is exact
 * (scale 1 or 2, zero point -28): the output is then exactly weight
 * scale x integer sum + bias, which a dequantize-the-weights runtime also
 * gives, so each case also has an input whose rounding shows (an answer
 * only the hybrid arithmetic gives), and the 1x1 case tells per-pixel
 * from per-image quantization.  Built with -DTEST_WITH_MODELS
 * (test_tflite_hybrid_models), the two shared hybrid models are compared
 * with real TFLite's outputs (bench/hybrid/, from LiteRT) within 1e-4 of
 * max, and the program is skipped as a whole without the models.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_hybrid.h"
#include "tflite/tflite_write.h"

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

/* The BuiltinOptions union type of an operator (Conv2D, FullyConnected). */
static int
opts_type(int code)
{
	return (code == OP_CONV ? 1 : 8);
}

/* Write a one-operator model: graph input tensor 0, output o. */
static void
write1(const struct tflite_write_tensor *t, int nt,
    const struct tflite_write_op *op, int32_t o, uint8_t **buf, size_t *len)
{
	static const int32_t gin = 0;
	struct tflite_write_graph g = { .tensors = t, .ntensors = nt,
	    .ops = op, .nops = 1, .inputs = &gin, .ninputs = 1,
	    .outputs = &o, .noutputs = 1 };
	char *cause = NULL;

	ck_assert_msg(tflite_write(&g, buf, len, &cause) == 0, "write: %s",
	    cause ? cause : "?");
}

/* Build and run a one-operator float model; copy out nout floats. */
static void
run(const struct tflite_write_tensor *t, int nt, int code, const struct tflite_write_opt *opt,
    int nopt, const float *in, float *out, size_t nout)
{
	static const int32_t ins[] = { 0, 1, 2 };
	int32_t o = nt - 1;
	struct tflite_write_op op = { .code = code, .nin = 3, .nout = 1, .in = ins,
			    .out = &o, .nopt = nopt, .opt = opt,
			    .options_type = nopt > 0 ? opts_type(code) : 0 };
	uint8_t *buf;
	size_t len;
	write1(t, nt, &op, o, &buf, &len);
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

START_TEST(fc_rows_quantized_apart)
{
	/* 2 batches x 3 inputs, 2 units, weight scale 0.5, bias, no act */
	static const int8_t w[] = { 1, 2, -3, -4, 5, 6 };
	static const float ws[] = { 0.5f }, bias[] = { 0.25f, -1.0f };
	static const int64_t z0[] = { 0 };
	struct tflite_write_tensor t[4] = {
		{ .type = F32, .ndims = 2, .dims = { 2, 3 } },
		{ .type = I8, .ndims = 2, .dims = { 2, 3 }, .data = w, .bytes = 6,
		  .nq = 1, .scales = ws, .zero_points = z0 },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = bias, .bytes = 8 },
		{ .type = F32, .ndims = 2, .dims = { 2, 2 } },
	};
	float out[4];
	/* row 0: scale 1, zero point -28, exact; row 1: scale 2, zero point
	 * -28, and 3 / 2 = 1.5 gives round(-26.5) = -27, i.e. 2 not 3 */
	static const float in[] = { -100, 155, 3, -200, 310, 3 };
	run(t, 4, OP_FC, NULL, 0, in, out, 4);
	/* row 0: acc0 = -100 + 310 - 9 = 201 -> 100.5 + 0.25; acc1 = 400 +
	 * 775 + 18 = 1193 -> 596.5 - 1.  row 1 (q - zp = -100, 155, 1, scale
	 * 2 x 0.5 = 1): acc0 = -100 + 310 - 3 = 207; acc1 = 400 + 775 + 6 =
	 * 1181.  Dequantized weights would give 205.75 for the third value */
	static const float want[] = { 100.75f, 595.5f, 207.25f, 1180.0f };
	expectf("fc", out, want, 4);
}
END_TEST

START_TEST(fc_relu)
{
	/* RELU (option 0 = 1); asymmetric_quantize_inputs (option 3) set,
	 * which changes nothing here */
	static const int8_t w[] = { 1, -1, 2, 3 };
	static const float ws[] = { 0.25f }, bias[] = { 100.0f, -200.0f };
	static const int64_t z0[] = { 0 };
	struct tflite_write_tensor t[4] = {
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
		{ .type = I8, .ndims = 2, .dims = { 2, 2 }, .data = w, .bytes = 4,
		  .nq = 1, .scales = ws, .zero_points = z0 },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = bias, .bytes = 8 },
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
	};
	static const struct tflite_write_opt opt[] = { { 0, 'b', 1, 0 }, { 3, 'b', 1, 0 } };
	/* x = (-100, 155): scale 1, zero point -28, q = (-128, 127):
	 * (q - zp) = x exactly: acc0 = -100 - 155 = -255 -> -63.75 + 100;
	 * acc1 = -200 + 465 = 265 -> 66.25 - 200 < 0 -> RELU 0 (symmetric
	 * quantization would give 36.23 for the first) */
	static const float in[] = { -100, 155 };
	float out[2];
	run(t, 4, OP_FC, opt, 2, in, out, 2);
	static const float want[] = { 36.25f, 0.0f };
	expectf("fc relu", out, want, 2);
}
END_TEST

START_TEST(conv_per_tensor_same_padding)
{
	/* 3x3 SAME, stride 1, on 1x3x3x1, 1 output channel, weight scale 1:
	 * one scale for the image; padding holds the zero point */
	static const int8_t w[] = { 1, 1, 1, 1, 2, 1, 1, 1, 1 };
	static const float ws[] = { 1.0f }, bias[] = { 0.5f };
	static const int64_t z0[] = { 0 };
	struct tflite_write_tensor t[4] = {
		{ .type = F32, .ndims = 4, .dims = { 1, 3, 3, 1 } },
		{ .type = I8, .ndims = 4, .dims = { 1, 3, 3, 1 }, .data = w,
		  .bytes = 9, .nq = 1, .scales = ws, .zero_points = z0 },
		{ .type = F32, .ndims = 1, .dims = { 1 }, .data = bias, .bytes = 4 },
		{ .type = F32, .ndims = 4, .dims = { 1, 3, 3, 1 } },
	};
	static const struct tflite_write_opt opt[] = { { 0, 'b', 0, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 } };
	/* min -100, max 155: scale 1, zero point -28; 5.5 quantizes to
	 * round(-22.5) = -23, i.e. 5 */
	static const float in[] = { 155, 0, 5.5f, 0, -1, 0, 0, 0, -100 };
	float out[9];
	run(t, 4, OP_CONV, opt, 3, in, out, 9);
	/* each output: the window's sum with the centre twice, + 0.5;
	 * dequantized weights would see 5.5 where this sees 5 */
	static const float want[] = {
		309.5f, 159.5f, 9.5f,
		154.5f, 58.5f, -95.5f,
		-0.5f, -100.5f, -200.5f,
	};
	expectf("conv", out, want, 9);
}
END_TEST

START_TEST(conv_1x1_per_pixel)
{
	/* a 1x1 convolution quantizes each pixel apart: pixel 0 (-100, 155)
	 * has scale 1, pixel 1 (-200, 310) scale 2, both exact; one scale
	 * for the image (2) would round 155 / 2 and give 56, not 55 */
	static const int8_t w[] = { 1, 1 };
	static const float ws[] = { 1.0f }, bias[] = { 0 };
	static const int64_t z0[] = { 0 };
	struct tflite_write_tensor t[4] = {
		{ .type = F32, .ndims = 4, .dims = { 1, 1, 2, 2 } },
		{ .type = I8, .ndims = 4, .dims = { 1, 1, 1, 2 }, .data = w,
		  .bytes = 2, .nq = 1, .scales = ws, .zero_points = z0 },
		{ .type = F32, .ndims = 1, .dims = { 1 }, .data = bias, .bytes = 4 },
		{ .type = F32, .ndims = 4, .dims = { 1, 1, 2, 1 } },
	};
	static const struct tflite_write_opt opt[] = { { 0, 'b', 1, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 } };
	static const float in[] = { -100, 155, -200, 310 };
	float out[2];
	run(t, 4, OP_CONV, opt, 3, in, out, 2);
	static const float want[] = { 55.0f, 110.0f };
	expectf("conv 1x1", out, want, 2);
}
END_TEST

START_TEST(conv_per_channel_asymmetric)
{
	/* 2x2 VALID, stride 1, on 1x2x3x1, 2 channels with different
	 * scales */
	static const int8_t w[] = { 1, 0, 0, 1, -1, 1, 1, -1 };
	static const float ws[] = { 0.5f, 0.25f }, bias[] = { 0, 1 };
	static const int64_t z0[] = { 0, 0 };
	struct tflite_write_tensor t[4] = {
		{ .type = F32, .ndims = 4, .dims = { 1, 2, 3, 1 } },
		{ .type = I8, .ndims = 4, .dims = { 2, 2, 2, 1 }, .data = w,
		  .bytes = 8, .nq = 2, .scales = ws, .zero_points = z0, .qdim = 0 },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = bias, .bytes = 8 },
		{ .type = F32, .ndims = 4, .dims = { 1, 1, 2, 2 } },
	};
	static const struct tflite_write_opt opt[] = { { 0, 'b', 1, 0 }, { 1, 'i', 1, 0 },
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

/* One malformed hybrid weight quantization: what must be refused. */
/*
 * The writer refuses bad scales itself, so a file is written with a
 * sentinel scale and patched: the sentinel's 4 bytes become bad, or the
 * length of the scales vector (the u32 before its first float) becomes
 * count.
 */
#define SENTINEL 1234.5f
struct badq {
	const char *name;
	int nq;
	float scales[3];
	int64_t zps[3];
	float bad;		/* replaces SENTINEL, if there is one */
	uint32_t count;		/* 0, or the scales vector's new length */
};

static const struct badq badqs[] = {
	{ "zero point 3", 1, { 0.5f }, { 3 }, 0, 0 },
	{ "zero scale", 1, { SENTINEL }, { 0 }, 0.0f, 0 },
	{ "negative channel scale", 2, { 0.5f, SENTINEL }, { 0, 0 }, -0.5f, 0 },
	{ "NaN scale", 1, { SENTINEL }, { 0 }, NAN, 0 },
	{ "3 scales for 2 channels", 2, { SENTINEL, 1 }, { 0, 0 }, SENTINEL, 3 },
	{ "no quantization", 0, { 0 }, { 0 }, 0, 0 },
};

/* Patch a written file as c says (see struct badq). */
static void
badq_patch(const struct badq *c, uint8_t *buf, size_t len)
{
	float f = SENTINEL;
	size_t i;

	if (c->nq == 0 || (c->scales[0] != SENTINEL &&
	    c->scales[1] != SENTINEL))
		return;
	for (i = 4; i + 4 <= len; i++)
		if (memcmp(buf + i, &f, 4) == 0)
			break;
	ck_assert_msg(i + 4 <= len, "%s: sentinel not in the file", c->name);
	if (c->count != 0)
		memcpy(buf + i - 4, &c->count, 4);
	else
		memcpy(buf + i, &c->bad, 4);
}

START_TEST(bad_weight_quantization_refused)
{
	const struct badq *c = &badqs[_i];
	static const int8_t w[] = { 1, 2, 3, 4 };
	static const int32_t ins[] = { 0, 1, 2 };
	int32_t o = 3;
	struct tflite_write_tensor t[4] = {
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
		{ .type = I8, .ndims = 2, .dims = { 2, 2 }, .data = w, .bytes = 4,
		  .nq = c->nq, .scales = c->scales, .zero_points = c->zps },
		{ .type = F32, .ndims = 1, .dims = { 2 } },
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
	};
	static const float bias[] = { 0, 0 };
	t[2].data = bias;
	t[2].bytes = 8;
	struct tflite_write_op op = { .code = OP_FC, .nin = 3, .nout = 1, .in = ins,
			    .out = &o };
	uint8_t *buf;
	size_t len;
	write1(t, 4, &op, o, &buf, &len);
	badq_patch(c, buf, len);
	struct tflite_model *m = NULL;
	char *cause = NULL;
	int rc = tflite_model_load_mem(buf, len, "bad", &m, &cause);
	free(buf);
	ck_assert_msg(rc < 0 && cause != NULL, "%s: loaded", c->name);
	free(cause);
}
END_TEST

#ifdef TEST_WITH_MODELS
/* Read a whole file (NULL if missing); *n gets its size. */
static float *
slurpf(const char *path, size_t *n)
{
	return (float *)(void *)testutil_slurp(path, n);
}

START_TEST(shared_models_match_litert)
{
	/* bench/hybrid/<model>/: inputs and LiteRT's outputs (hybrid-ref.mjs) */
	static const char *names[] = { "model_ToyCar_quant",
				       "kws_ref_model_float32" };
	const char *models = getenv("TE_MODELS"), *src = getenv("TE_SRCDIR");
	char path[2048];
	struct tflite_model *m;
	char *cause = NULL;
	snprintf(path, sizeof path, "%s/extra/%s.tflite", models, names[_i]);
	ck_assert_msg(tflite_model_load_file(path, &m, &cause) == 0, "%s: %s",
		      path, cause ? cause : "?");
	int v = 0;
	for (; v < 16; v++) {
		size_t ni, ne;
		snprintf(path, sizeof path, "%s/bench/hybrid/%s/input_%02d.bin",
			 src ? src : "..", names[_i], v);
		float *x = slurpf(path, &ni);
		snprintf(path, sizeof path, "%s/bench/hybrid/%s/expected_%02d.bin",
			 src ? src : "..", names[_i], v);
		float *e = slurpf(path, &ne);
		if (x == NULL || e == NULL) {
			free(x);
			free(e);
			break;
		}
		struct tflite_tensor_info ii, oi;
		tflite_model_input_info(m, 0, &ii);
		tflite_model_output_info(m, 0, &oi);
		ck_assert_uint_eq(ni, ii.bytes);
		ck_assert_uint_eq(ne, oi.bytes);
		memcpy(tflite_model_input(m, 0), x, ni);
		ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
		const float *o = tflite_model_output(m, 0);
		double mx = 0, md = 0;
		for (size_t i = 0; i < ne / 4; i++) {
			mx = fmax(mx, fabs(e[i]));
			md = fmax(md, fabs((double)o[i] - e[i]));
		}
		ck_assert_msg(md <= 1e-4 * mx, "%s vector %d: max |diff| %g > 1e-4 "
			      "x %g", names[_i], v, md, mx);
		free(x);
		free(e);
	}
	ck_assert_msg(v >= 4, "%s: %d vectors under bench/hybrid", names[_i], v);
	tflite_model_free(m);
}
END_TEST

#endif /* TEST_WITH_MODELS */

/* Run the suite (with the models: skipped as a whole without them). */
int
main(void)
{
#ifdef TEST_WITH_MODELS
	static char env[1100];
	const char *dir = testutil_models("extra/model_ToyCar_quant.tflite");
	snprintf(env, sizeof env, "TE_MODELS=%s", dir);
	putenv(env);
#endif
	struct testutil_case cases[] = {
		{ quantize_table, (int)(sizeof qcases / sizeof qcases[0]) },
		{ quantize_nan_is_bounded, 0 },
		{ fc_rows_quantized_apart, 0 },
		{ fc_relu, 0 },
		{ conv_per_tensor_same_padding, 0 },
		{ conv_1x1_per_pixel, 0 },
		{ conv_per_channel_asymmetric, 0 },
		{ bad_weight_quantization_refused,
		  (int)(sizeof badqs / sizeof badqs[0]) },
#ifdef TEST_WITH_MODELS
		{ shared_models_match_litert, 2 },
#endif
	};
	return testutil_run("tflite_hybrid", 0, cases,
			    sizeof cases / sizeof cases[0]);
}
