/* test_tflite_ops.c - per-operator tests of the TFLite runtime.
 *
 * Each test writes a one-operator model with tflite_write, runs it, and
 * compares with values worked out by hand from the operator's definition
 * (padding corners, even kernels with SAME padding, stride 2, depth
 * multiplier, per-axis scales, ADD with different scales, pooling rounding,
 * softmax saturation), plus direct checks of the fixed-point helpers.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_gemm.h"
#include "tflite/tflite_int.h"
#include "tflite/tflite_quant.h"
#include "tflite/tflite_write.h"
#include "tflite_build.h"

#define I8 9
#define F32 0
#define I32 2

static const float one[] = { 1.0f };
static const int64_t zero64[] = { 0 };

/* An int8 activation tensor with one scale and zero point. */
static struct tflite_write_tensor act8(int nd, const int32_t *dims, const float *s,
			     const int64_t *z)
{
	struct tflite_write_tensor t = { .type = I8, .ndims = nd, .nq = 1, .scales = s,
			       .zero_points = z };
	memcpy(t.dims, dims, sizeof(int32_t) * (size_t)nd);
	return t;
}

/* A float tensor (constant when data is not NULL). */
static struct tflite_write_tensor tf32(int nd, const int32_t *dims, const float *data,
			     size_t n)
{
	struct tflite_write_tensor t = { .type = F32, .ndims = nd, .data = data,
			       .bytes = n * 4 };
	memcpy(t.dims, dims, sizeof(int32_t) * (size_t)nd);
	return t;
}

/* The BuiltinOptions union type of the operators given options here. */
static int options_type(int code)
{
	switch (code) {
	case 0: return 11;      /* ADD: AddOptions */
	case 1: case 17: return 5;      /* pools: Pool2DOptions */
	case 2: return 10;      /* CONCATENATION: ConcatenationOptions */
	case 3: return 1;       /* CONV_2D: Conv2DOptions */
	case 4: return 2;       /* DEPTHWISE_CONV_2D: DepthwiseConv2DOptions */
	case 25: return 9;      /* SOFTMAX: SoftmaxOptions */
	case 40: return 27;     /* MEAN: ReducerOptions */
	}
	ck_abort_msg("no options type for operator %d", code);
	return 0;
}

/* Write a model of t[0..nt-1] and ops[0..nops-1]; graph inputs gin[0..nin-1],
 * output tensor o. */
static void write1(const struct tflite_write_tensor *t, int nt,
		   const struct tflite_write_op *ops, int nops,
		   const int32_t *gin, int nin, const int32_t *o,
		   uint8_t **buf, size_t *len)
{
	struct tflite_write_graph g = { .tensors = t, .ntensors = nt,
					.ops = ops, .nops = nops,
					.inputs = gin, .ninputs = nin,
					.outputs = o, .noutputs = 1 };
	char *cause = NULL;
	int rc = tflite_write(&g, buf, len, &cause);
	ck_assert_msg(rc == 0, "write: %s", cause ? cause : "?");
}

/* Build a one-operator model whose graph inputs are the first nin tensors
 * and whose output is the last tensor; run it and copy the output. */
static struct tflite_model *run1(const struct tflite_write_tensor *t, int nt, int code,
				 const int32_t *in, int nopin, int nin,
				 const struct tflite_write_opt *opt, int nopt,
				 const void *const *inputs, void *out,
				 size_t outbytes)
{
	int32_t o = nt - 1, gin[4];
	for (int i = 0; i < nin; i++)
		gin[i] = in[i];
	struct tflite_write_op op = { .code = code, .nin = nopin, .nout = 1,
				      .in = in, .out = &o, .nopt = nopt,
				      .opt = opt };
	uint8_t *buf;
	size_t len;
	if (nopt > 0)
		op.options_type = options_type(code);
	write1(t, nt, &op, 1, gin, nin, &o, &buf, &len);
	struct tflite_model *m;
	char *cause = NULL;
	int rc = tflite_model_load_mem(buf, len, "test", &m, &cause);
	free(buf);
	if (rc < 0) {
		ck_abort_msg("load failed: %s", cause ? cause : "?");
		free(cause);
		return NULL;
	}
	for (int i = 0; i < nin; i++) {
		struct tflite_tensor_info ti;
		tflite_model_input_info(m, i, &ti);
		memcpy(tflite_model_input(m, i), inputs[i], ti.bytes);
	}
	ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
	struct tflite_tensor_info oi;
	tflite_model_output_info(m, 0, &oi);
	ck_assert_uint_eq(oi.bytes, outbytes);
	memcpy(out, tflite_model_output(m, 0), outbytes);
	return m;
}

/* Assert two int8 arrays are equal, naming the first difference. */
static void expect8(const int8_t *got, const int8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "element %zu: got %d want %d", i,
			      got[i], want[i]);
}

START_TEST(fixed_point_helpers)
{
	ck_assert_int_eq(q_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
	ck_assert_int_eq(q_srdhm(1 << 30, 1 << 30), 1 << 29);
	ck_assert_int_eq(q_rdpot(5, 1), 3);     /* 2.5 -> 3 */
	ck_assert_int_eq(q_rdpot(-5, 1), -3);   /* -2.5 -> -3 */
	ck_assert_int_eq(q_rdpot(-3, 2), -1);   /* -0.75 -> -1 */
	ck_assert_int_eq(q_rdpot(6, 2), 2);     /* 1.5 -> 2 */
	int32_t qm;
	int sh;
	q_quantize_multiplier(0.5, &qm, &sh);
	ck_assert_int_eq(qm, 1 << 30);
	ck_assert_int_eq(sh, 0);
	q_quantize_multiplier(1.0, &qm, &sh);
	ck_assert_int_eq(qm, 1 << 30);
	ck_assert_int_eq(sh, 1);
	q_quantize_multiplier(0.0, &qm, &sh);
	ck_assert_int_eq(qm, 0);
	q_quantize_multiplier(0.75, &qm, &sh);
	ck_assert_int_eq(q_mul(100, qm, sh), 75);
	/* the high multiply's nudge rounds a negative half up: -1.5 -> -1 */
	ck_assert_int_eq(q_mul(-2, qm, sh), -1);
	/* exp(0) = 1, exp(-1) in Q5.26 input, Q0.31 output */
	ck_assert_int_eq(q_exp_neg(0, 5), INT32_MAX);
	double e1 = q_exp_neg(-(1 << 26), 5) / 2147483648.0;
	ck_assert(fabs(e1 - exp(-1.0)) < 1e-6);
	double e3 = q_exp_neg(-(3 << 26) - (1 << 25), 5) / 2147483648.0;
	ck_assert(fabs(e3 - exp(-3.5)) < 1e-6);
	double r = q_one_over_one_plus(1 << 30) / 2147483648.0;
	ck_assert(fabs(r - 1 / 1.5) < 1e-6);
	ck_assert(fabs(q_logistic(1 << 27) / 2147483648.0 - 1 / (1 + exp(-1.0))) < 1e-6);
	ck_assert(fabs(q_tanh(-(1 << 26)) / 2147483648.0 - tanh(-0.5)) < 1e-6);
}
END_TEST

START_TEST(conv_same_even_kernel_padding)
{
	/* 3x3 input (real 1..9), 2x2 ones filter, SAME: the one row/column of
	 * padding goes bottom/right; input zero point 3 checks that padding
	 * contributes nothing */
	static const int32_t din[] = { 1, 3, 3, 1 }, dw[] = { 1, 2, 2, 1 };
	static const int32_t db[] = { 1 };
	static const int8_t w[] = { 1, 1, 1, 1 };
	static const int32_t bias[] = { 0 };
	static const int64_t zin[] = { 3 }, zout[] = { -5 };
	struct tflite_write_tensor t[4] = { act8(4, din, one, zin), act8(4, dw, one, zero64),
				  { .type = I32, .ndims = 1, .data = bias,
				    .bytes = 4 }, act8(4, din, one, zout) };
	t[1].data = w;
	t[1].bytes = 4;
	memcpy(t[2].dims, db, 4);
	int8_t in[9], out[9];
	for (int i = 0; i < 9; i++)
		in[i] = (int8_t)(i + 1 + 3);
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 0, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 } };
	static const int32_t ops[] = { 0, 1, 2 };
	tflite_model_free(run1(t, 4, 3, ops, 3, 1, opt, 3, ins, out, 9));
	static const int8_t want[] = { 12 - 5, 16 - 5, 9 - 5, 24 - 5, 28 - 5,
				       15 - 5, 15 - 5, 17 - 5, 9 - 5 };
	expect8(out, want, 9);
}
END_TEST

START_TEST(conv_stride2_per_axis)
{
	/* 1x1 filter, 2 channels with scales 0.25 and 1, stride 2 VALID */
	static const int32_t din[] = { 1, 4, 4, 1 }, dw[] = { 2, 1, 1, 1 };
	static const int32_t dout[] = { 1, 2, 2, 2 };
	static const int8_t w[] = { 2, -3 };
	static const int32_t bias[] = { 4, 0 };
	static const float sin[] = { 0.5f }, sw[] = { 0.25f, 1.0f };
	static const int64_t zw[] = { 0, 0 };
	struct tflite_write_tensor t[4] = { act8(4, din, sin, zero64), act8(4, dw, sw, zw),
				  { .type = I32, .ndims = 1, .dims = { 2 },
				    .data = bias, .bytes = 8 },
				  act8(4, dout, sin, zero64) };
	t[1].nq = 2;
	t[1].data = w;
	t[1].bytes = 2;
	int8_t in[16], out[8];
	for (int i = 0; i < 16; i++)
		in[i] = (int8_t)i;
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 1, 0 }, { 1, 'i', 2, 0 },
					     { 2, 'i', 2, 0 } };
	static const int32_t ops[] = { 0, 1, 2 };
	tflite_model_free(run1(t, 4, 3, ops, 3, 1, opt, 3, ins, out, 8));
	static const int8_t want[] = { 1, 0, 2, -6, 5, -24, 6, -30 };
	expect8(out, want, 8);
}
END_TEST

START_TEST(depthwise_multiplier_relu)
{
	/* 2x2 input, one channel, depth multiplier 2, VALID, fused RELU */
	static const int32_t din[] = { 1, 2, 2, 1 }, dw[] = { 1, 2, 2, 2 };
	static const int32_t dout[] = { 1, 1, 1, 2 };
	static const int8_t w[] = { 1, 1, 1, -1, 1, -2, 1, 0 };
	static const float sw[] = { 1, 1 };
	static const int64_t zw[] = { 0, 0 };
	struct tflite_write_tensor t[3] = { act8(4, din, one, zero64), act8(4, dw, sw, zw),
				  act8(4, dout, one, zero64) };
	t[1].nq = 2;
	t[1].qdim = 3;
	t[1].data = w;
	t[1].bytes = 8;
	static const int8_t in[] = { 1, 2, 3, 4 };
	int8_t out[2];
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 1, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 }, { 3, 'i', 2, 0 },
					     { 4, 'b', 1, 0 } };
	static const int32_t ops[] = { 0, 1 };
	tflite_model_free(run1(t, 3, 4, ops, 2, 1, opt, 5, ins, out, 2));
	/* ch0 = 1+2+3+4 = 10; ch1 = 1-2-6+0 = -7 -> RELU -> 0 */
	static const int8_t want[] = { 10, 0 };
	expect8(out, want, 2);
}
END_TEST

START_TEST(depthwise_same_stride2_corners)
{
	/* 3x3 ones filter over a 4x4 input of ones, SAME, stride 2: the
	 * top-left output sees 4 real pixels, the others 6 and 9 */
	static const int32_t din[] = { 1, 4, 4, 1 }, dw[] = { 1, 3, 3, 1 };
	static const int32_t dout[] = { 1, 2, 2, 1 };
	static const int8_t w[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const int64_t zin[] = { -1 };
	struct tflite_write_tensor t[3] = { act8(4, din, one, zin), act8(4, dw, one, zero64),
				  act8(4, dout, one, zero64) };
	t[1].data = w;
	t[1].bytes = 9;
	int8_t in[16], out[4];
	memset(in, 0, sizeof in);   /* real value 1 everywhere */
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 0, 0 }, { 1, 'i', 2, 0 },
					     { 2, 'i', 2, 0 }, { 3, 'i', 1, 0 } };
	static const int32_t ops[] = { 0, 1 };
	tflite_model_free(run1(t, 3, 4, ops, 2, 1, opt, 4, ins, out, 4));
	/* total padding 1: top/left 0, so windows start at 0 and 2 */
	static const int8_t want[] = { 9, 6, 6, 4 };
	expect8(out, want, 4);
}
END_TEST

START_TEST(fully_connected_rounding)
{
	static const int32_t din[] = { 1, 3 }, dw[] = { 2, 3 }, dout[] = { 1, 2 };
	static const int8_t w[] = { 1, 0, -1, 2, 2, 2 };
	static const int32_t bias[] = { 10, -1 };
	static const int64_t zin[] = { 1 };
	static const float sout[] = { 2.0f };
	struct tflite_write_tensor t[4] = { act8(2, din, one, zin), act8(2, dw, one, zero64),
				  { .type = I32, .ndims = 1, .dims = { 2 },
				    .data = bias, .bytes = 8 },
				  act8(2, dout, sout, zero64) };
	t[1].data = w;
	t[1].bytes = 6;
	static const int8_t in[] = { 2, 3, 4 };
	int8_t out[2];
	const void *ins[] = { in };
	static const int32_t ops[] = { 0, 1, 2 };
	tflite_model_free(run1(t, 4, 9, ops, 3, 1, NULL, 0, ins, out, 2));
	/* ch0: 1-3+10 = 8 -> 4; ch1: 2+4+6-1 = 11 -> 5.5 -> 6 */
	static const int8_t want[] = { 4, 6 };
	expect8(out, want, 2);
}
END_TEST

START_TEST(avg_pool_rounding_and_padding)
{
	/* 2x2 SAME window, stride 1, on 2x2x2: counts 4, 2, 2, 1 */
	static const int32_t d[] = { 1, 2, 2, 2 };
	struct tflite_write_tensor t[2] = { act8(4, d, one, zero64), act8(4, d, one, zero64) };
	static const int8_t in[] = { -1, -1, 1, -1, 0, 0, 2, -2 };
	int8_t out[8];
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 0, 0 }, { 1, 'i', 1, 0 },
					     { 2, 'i', 1, 0 }, { 3, 'i', 2, 0 },
					     { 4, 'i', 2, 0 } };
	static const int32_t ops[] = { 0 };
	tflite_model_free(run1(t, 2, 1, ops, 1, 1, opt, 5, ins, out, 8));
	/* ch0: 2/4 -> 1, 3/2 -> 2, 2/2 -> 1, 2; ch1: -4/4, -3/2 -> -2, -1, -2 */
	static const int8_t want[] = { 1, -1, 2, -2, 1, -1, 2, -2 };
	expect8(out, want, 8);
}
END_TEST

START_TEST(max_pool_stride2)
{
	static const int32_t din[] = { 1, 2, 4, 1 }, dout[] = { 1, 1, 2, 1 };
	struct tflite_write_tensor t[2] = { act8(4, din, one, zero64),
				  act8(4, dout, one, zero64) };
	static const int8_t in[] = { 1, 5, -3, -2, 0, 2, -7, -1 };
	int8_t out[2];
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 1, 0 }, { 1, 'i', 2, 0 },
					     { 2, 'i', 2, 0 }, { 3, 'i', 2, 0 },
					     { 4, 'i', 2, 0 } };
	static const int32_t ops[] = { 0 };
	tflite_model_free(run1(t, 2, 17, ops, 1, 1, opt, 5, ins, out, 2));
	static const int8_t want[] = { 5, -1 };
	expect8(out, want, 2);
}
END_TEST

START_TEST(add_different_scales)
{
	static const int32_t d[] = { 4 };
	static const float sa[] = { 0.5f }, sb[] = { 0.25f };
	static const int64_t zb[] = { 10 }, zo[] = { -3 };
	struct tflite_write_tensor t[3] = { act8(1, d, sa, zero64), act8(1, d, sb, zb),
				  act8(1, d, one, zo) };
	static const int8_t a[] = { 4, -6, 3, 1 }, b[] = { 14, 2, 12, 11 };
	int8_t out[4];
	const void *ins[] = { a, b };
	static const int32_t ops[] = { 0, 1 };
	tflite_model_free(run1(t, 3, 0, ops, 2, 2, NULL, 0, ins, out, 4));
	/* real sums 3, -5, 2, 0.75 -> q = sum - 3 */
	static const int8_t want[] = { 0, -8, -1, -2 };
	expect8(out, want, 4);
}
END_TEST

START_TEST(add_float_broadcast_relu6)
{
	static const int32_t da[] = { 2, 2 }, db[] = { 2 };
	struct tflite_write_tensor t[3] = { tf32(2, da, NULL, 0), tf32(1, db, NULL, 0),
				  tf32(2, da, NULL, 0) };
	static const float a[] = { 1, 2, 3, -40 }, b[] = { 10, 20 };
	float out[4];
	const void *ins[] = { a, b };
	static const struct tflite_write_opt opt[] = { { 0, 'b', 3, 0 } };
	static const int32_t ops[] = { 0, 1 };
	tflite_model_free(run1(t, 3, 0, ops, 2, 2, opt, 1, ins, out, 16));
	ck_assert(out[0] == 6 && out[1] == 6 && out[2] == 6 && out[3] == 0);
}
END_TEST

START_TEST(mul_int8)
{
	static const int32_t d[] = { 3 };
	static const float sa[] = { 0.5f }, so[] = { 0.25f };
	struct tflite_write_tensor t[3] = { act8(1, d, sa, zero64), act8(1, d, sa, zero64),
				  act8(1, d, so, zero64) };
	static const int8_t a[] = { 2, -4, 7 }, b[] = { 6, 5, 7 };
	int8_t out[3];
	const void *ins[] = { a, b };
	static const int32_t ops[] = { 0, 1 };
	tflite_model_free(run1(t, 3, 18, ops, 2, 2, NULL, 0, ins, out, 3));
	/* 1*3 = 3 -> 12; -2*2.5 = -5 -> -20; 3.5*3.5 = 12.25 -> 49 */
	static const int8_t want[] = { 12, -20, 49 };
	expect8(out, want, 3);
}
END_TEST

START_TEST(softmax_saturation)
{
	static const int32_t d[] = { 2, 4 };
	static const float so[] = { 1.0f / 256 };
	static const int64_t zo[] = { -128 };
	struct tflite_write_tensor t[2] = { act8(2, d, one, zero64), act8(2, d, so, zo) };
	static const int8_t in[] = { 100, -100, -100, -100, 5, 5, 5, 5 };
	int8_t out[8];
	const void *ins[] = { in };
	static const struct tflite_write_opt opt[] = { { 0, 'f', 0, 1.0f } };
	static const int32_t ops[] = { 0 };
	tflite_model_free(run1(t, 2, 25, ops, 1, 1, opt, 1, ins, out, 8));
	static const int8_t want[] = { 127, -128, -128, -128, -64, -64, -64, -64 };
	expect8(out, want, 8);
}
END_TEST

START_TEST(quantize_dequantize)
{
	static const int32_t d[] = { 3 };
	static const float s[] = { 0.5f };
	static const int64_t z[] = { 1 };
	struct tflite_write_tensor t[2] = { tf32(1, d, NULL, 0), act8(1, d, s, z) };
	static const float in[] = { 1.0f, -1.25f, 100.0f };
	int8_t out[3];
	const void *ins[] = { in };
	static const int32_t ops[] = { 0 };
	tflite_model_free(run1(t, 2, 114, ops, 1, 1, NULL, 0, ins, out, 3));
	static const int8_t want[] = { 3, -2, 127 };
	expect8(out, want, 3);
	struct tflite_write_tensor u[2] = { act8(1, d, s, z), tf32(1, d, NULL, 0) };
	float fo[3];
	static const int8_t qin[] = { 3, -2, -128 };
	const void *qins[] = { qin };
	tflite_model_free(run1(u, 2, 6, ops, 1, 1, NULL, 0, qins, fo, 12));
	ck_assert(fo[0] == 1.0f && fo[1] == -1.5f && fo[2] == -64.5f);
}
END_TEST

START_TEST(logistic_tanh_int8)
{
	static const int32_t d[] = { 3 };
	static const float si[] = { 1.0f / 16 }, sl[] = { 1.0f / 256 };
	static const float st[] = { 1.0f / 128 };
	static const int64_t zl[] = { -128 };
	struct tflite_write_tensor t[2] = { act8(1, d, si, zero64), act8(1, d, sl, zl) };
	static const int8_t in[] = { 0, 127, -128 };
	int8_t out[3];
	const void *ins[] = { in };
	static const int32_t ops[] = { 0 };
	tflite_model_free(run1(t, 2, 14, ops, 1, 1, NULL, 0, ins, out, 3));
	/* sigmoid(0) = 0.5 -> 128 - 128 = 0; sigmoid(7.94) -> 255.9 -> 127 */
	ck_assert_int_eq(out[0], 0);
	ck_assert_int_eq(out[1], 127);
	ck_assert_int_eq(out[2], -128);
	struct tflite_write_tensor u[2] = { act8(1, d, si, zero64), act8(1, d, st, zero64) };
	tflite_model_free(run1(u, 2, 28, ops, 1, 1, NULL, 0, ins, out, 3));
	ck_assert_int_eq(out[0], 0);
	ck_assert_int_eq(out[1], 127);
	ck_assert_int_eq(out[2], -128);
}
END_TEST

START_TEST(concat_mean_reshape)
{
	static const int32_t da[] = { 1, 2 }, db[] = { 1, 1 }, dc[] = { 1, 3 };
	struct tflite_write_tensor t[3] = { act8(2, da, one, zero64), act8(2, db, one, zero64),
				  act8(2, dc, one, zero64) };
	static const int8_t a[] = { 1, 2 }, b[] = { 3 };
	int8_t out[4];
	const void *ins[] = { a, b };
	static const struct tflite_write_opt opt[] = { { 0, 'i', -1, 0 } };
	static const int32_t ops[] = { 0, 1 };
	tflite_model_free(run1(t, 3, 2, ops, 2, 2, opt, 1, ins, out, 3));
	static const int8_t want[] = { 1, 2, 3 };
	expect8(out, want, 3);

	static const int32_t dm[] = { 1, 2, 2, 1 }, dax[] = { 2 };
	static const int32_t dmo[] = { 1, 1, 1, 1 };
	static const int32_t axes[] = { 1, 2 };
	struct tflite_write_tensor u[3] = { act8(4, dm, one, zero64),
				  { .type = I32, .ndims = 1, .data = axes,
				    .bytes = 8 }, act8(4, dmo, one, zero64) };
	memcpy(u[1].dims, dax, 4);
	static const int8_t mi[] = { 1, 2, 3, 5 };
	const void *mins[] = { mi };
	static const struct tflite_write_opt kd[] = { { 0, 'b', 1, 0 } };
	tflite_model_free(run1(u, 3, 40, ops, 2, 1, kd, 1, mins, out, 1));
	ck_assert_int_eq(out[0], 3);  /* 11/4 = 2.75 -> 3 */

	static const int32_t dr[] = { 4 };
	struct tflite_write_tensor r[2] = { act8(4, dm, one, zero64), act8(1, dr, one, zero64) };
	tflite_model_free(run1(r, 2, 22, ops, 1, 1, NULL, 0, mins, out, 4));
	expect8(out, mi, 4);
}
END_TEST

START_TEST(unsupported_and_deprecated_codes)
{
	static const int32_t d[] = { 4 };
	struct tflite_write_tensor t[2] = { act8(1, d, one, zero64), act8(1, d, one, zero64) };
	int32_t i0 = 0, o1 = 1;
	struct tflite_write_op pad = { .code = 34, .nin = 1, .nout = 1,
				       .in = &i0, .out = &o1 };
	uint8_t *buf;
	size_t len;
	write1(t, 2, &pad, 1, &i0, 1, &o1, &buf, &len);
	struct tflite_model *m;
	char *cause = NULL;
	ck_assert_int_eq(tflite_model_load_mem(buf, len, "pad.tflite", &m, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "unsupported operator PAD") != NULL, "%s", cause);
	ck_assert_ptr_null(strchr(cause, '\n'));
	free(cause);
	free(buf);
	/* RESHAPE stored only in deprecated_builtin_code */
	struct tflite_write_op rs = { .code = 22, .nin = 1, .nout = 1,
				      .in = &i0, .out = &o1 };
	write1(t, 2, &rs, 1, &i0, 1, &o1, &buf, &len);
	ck_assert_int_eq(tb_set_opcode(buf, len, 0, 22, 0), 0);
	ck_assert_int_eq(tflite_model_load_mem(buf, len, "rs", &m, &cause), 0);
	ck_assert_str_eq(tflite_model_op_name(m, 0), "RESHAPE");
	tflite_model_free(m);
	free(buf);
}
END_TEST

/* Small deterministic PRNG (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

START_TEST(simd_requant_matches_scalar)
{
	/* random scales and operands through the (possibly AVX2) ADD/MUL
	 * kernel against the scalar reference arithmetic */
	uint32_t seed = 12345;
	int8_t a[67], b[67], out[67];
	for (int round = 0; round < 300; round++) {
		struct te_bin8 q = { .add = round & 1, .avx2 = te_have_avx2(),
				     .lo = -128, .hi = 127 };
		q.off1 = (int32_t)(rnd(&seed) % 256) - 127;
		q.off2 = (int32_t)(rnd(&seed) % 256) - 127;
		q.ozp = (int32_t)(rnd(&seed) % 256) - 128;
		double s1 = ldexp(1.0 + rnd(&seed) % 1000 / 1000.0, -(int)(rnd(&seed) % 12));
		double s2 = ldexp(1.0 + rnd(&seed) % 1000 / 1000.0, -(int)(rnd(&seed) % 12));
		double so = ldexp(1.0 + rnd(&seed) % 1000 / 1000.0, -(int)(rnd(&seed) % 12));
		double tw = 2 * (s1 > s2 ? s1 : s2);
		q_quantize_multiplier(s1 / tw, &q.m1, &q.sh1);
		q_quantize_multiplier(s2 / tw, &q.m2, &q.sh2);
		if (q.add)
			q_quantize_multiplier(tw / ((1 << 20) * so), &q.mo, &q.sho);
		else
			q_quantize_multiplier(s1 * s2 / so, &q.mo, &q.sho);
		for (int i = 0; i < 67; i++) {
			a[i] = (int8_t)rnd(&seed);
			b[i] = (int8_t)rnd(&seed);
		}
		te_bin8_run(&q, a, b, out, 67);
		for (int i = 0; i < 67; i++)
			ck_assert_int_eq(out[i], te_bin8_one(&q, a[i], b[i]));
	}
}
END_TEST

START_TEST(simd_gemm_matches_scalar)
{
	/* random GEMMs (odd k, channel counts not a multiple of 8, 1..4 rows,
	 * per-channel multipliers with left and right shifts) against a
	 * straightforward scalar evaluation */
	uint32_t seed = 777;
	for (int round = 0; round < 60; round++) {
		int k = 1 + (int)(rnd(&seed) % 70), oc = 1 + (int)(rnd(&seed) % 20);
		int np = 1 + (int)(rnd(&seed) % 4);
		int dot = round % 3 == 0;
		int8_t *w = malloc((size_t)(k * oc));
		int8_t rowsb[4][80], outb[4][24];
		int32_t bias[20], qm[20], ls[20], rs[20];
		int32_t izp = (int32_t)(rnd(&seed) % 256) - 128, ozp = (int32_t)(rnd(&seed) % 50);
		for (int i = 0; i < k * oc; i++)
			w[i] = (int8_t)(rnd(&seed) % 255 - 127);
		for (int o = 0; o < oc; o++) {
			int sh;
			bias[o] = (int32_t)(rnd(&seed) % 20001) - 10000;
			q_quantize_multiplier(ldexp(1.0 + rnd(&seed) % 997 / 1000.0,
						    (int)(rnd(&seed) % 16) - 14), &qm[o], &sh);
			ls[o] = sh > 0 ? sh : 0;
			rs[o] = sh > 0 ? 0 : -sh;
		}
		for (int p = 0; p < 4; p++)
			for (int i = 0; i < k; i++)
				rowsb[p][i] = (int8_t)rnd(&seed);
		void *mem = aligned_alloc(64, (te_gemm8_bytes(k, oc) + 63) / 64 * 64);
		void *scratch = malloc(te_gemm8_scratch(k, oc));
		struct te_gemm8 g;
		te_gemm8_init(&g, mem, w, k, oc, bias, izp, qm, ls, rs, ozp, -128,
			      100, dot);
		const int8_t *rows[4] = { rowsb[0], rowsb[1], rowsb[2], rowsb[3] };
		int8_t *outs[4] = { outb[0], outb[1], outb[2], outb[3] };
		if (dot)
			te_gemm8_dot(&g, rows[0], outs[0], scratch);
		else
			te_gemm8_run(&g, rows, np, outs, scratch);
		for (int p = 0; p < (dot ? 1 : np); p++)
			for (int o = 0; o < oc; o++) {
				int32_t acc = bias[o];
				for (int i = 0; i < k; i++)
					acc += (rowsb[p][i] - izp) * w[o * k + i];
				int32_t v = q_mul2(acc, qm[o], ls[o], rs[o]) + ozp;
				v = v < -128 ? -128 : v > 100 ? 100 : v;
				ck_assert_msg(outb[p][o] == v, "k=%d oc=%d row %d ch %d: %d vs %d",
					      k, oc, p, o, outb[p][o], v);
			}
		free(mem);
		free(scratch);
		free(w);
	}
}
END_TEST

/* Output size and leading padding, TFLite's formulas. */
static void geom(int in, int k, int s, int d, int same, int *out, int *pad)
{
	int eff = (k - 1) * d + 1;
	*out = same ? (in + s - 1) / s : (in - eff + s) / s;
	int total = (*out - 1) * s + eff - in;
	*pad = total > 0 ? total / 2 : 0;
}

START_TEST(conv_geometries_against_reference)
{
	/* random int8 and float convolutions and depthwise convolutions over
	 * strides, dilations, both paddings and depth multipliers, against a
	 * direct evaluation of the definition */
	uint32_t seed = 4242;
	for (int round = 0; round < 48; round++) {
		int dw = round % 2, fl = round / 2 % 2;
		int h = 3 + (int)(rnd(&seed) % 7), w = 3 + (int)(rnd(&seed) % 7);
		int c = 1 + (int)(rnd(&seed) % 11);
		int mult = dw ? 1 + (int)(rnd(&seed) % 3) : 1;
		int oc = dw ? c * mult : 1 + (int)(rnd(&seed) % 13);
		int kh = 1 + (int)(rnd(&seed) % 3), kw = 1 + (int)(rnd(&seed) % 4);
		int sh = 1 + (int)(rnd(&seed) % 2), sw = 1 + (int)(rnd(&seed) % 2);
		int dh = 1 + (int)(rnd(&seed) % 2), dwl = 1 + (int)(rnd(&seed) % 2);
		int same = (int)(rnd(&seed) % 2);
		if (!same && ((kh - 1) * dh + 1 > h || (kw - 1) * dwl + 1 > w))
			same = 1;
		int oh, ow, pt, pl;
		geom(h, kh, sh, dh, same, &oh, &pt);
		geom(w, kw, sw, dwl, same, &ow, &pl);
		int kc = dw ? 1 : c;      /* filter depth */
		int nw = oc * kh * kw * kc;
		int8_t in8[9 * 9 * 11], w8[13 * 3 * 4 * 11], out8[9 * 9 * 33];
		float inf[9 * 9 * 11], wf[13 * 3 * 4 * 11], outf[9 * 9 * 33];
		int32_t bias8[33];
		float biasf[33], ws[33];
		int64_t wz[33] = { 0 };
		for (int i = 0; i < h * w * c; i++) {
			in8[i] = (int8_t)rnd(&seed);
			inf[i] = (float)((int)(rnd(&seed) % 2001) - 1000) / 500.0f;
		}
		for (int i = 0; i < nw; i++) {
			w8[i] = (int8_t)(rnd(&seed) % 255 - 127);
			wf[i] = (float)((int)(rnd(&seed) % 2001) - 1000) / 700.0f;
		}
		for (int o = 0; o < oc; o++) {
			bias8[o] = (int32_t)(rnd(&seed) % 4001) - 2000;
			biasf[o] = (float)((int)(rnd(&seed) % 201) - 100) / 100.0f;
			ws[o] = (float)ldexp(1.0 + rnd(&seed) % 100 / 100.0, -7);
		}
		static const float sin_[] = { 0.05f }, sout[] = { 0.25f };
		static const int64_t zin[] = { 7 }, zout[] = { -3 };
		int32_t din[4] = { 1, h, w, c }, dout[4] = { 1, oh, ow, oc };
		int32_t dwt[4] = { dw ? 1 : oc, kh, kw, dw ? oc : c };
		struct tflite_write_tensor t[4];
		memset(t, 0, sizeof t);
		t[0] = fl ? tf32(4, din, NULL, 0) : act8(4, din, sin_, zin);
		t[1] = fl ? tf32(4, dwt, wf, (size_t)nw) : act8(4, dwt, ws, wz);
		if (!fl) {
			t[1].nq = oc;
			t[1].qdim = dw ? 3 : 0;
			t[1].data = w8;
			t[1].bytes = (size_t)nw;
		}
		t[2] = (struct tflite_write_tensor){ .type = fl ? F32 : I32, .ndims = 1,
					   .dims = { oc }, .data = fl ? (void *)biasf :
					   (void *)bias8, .bytes = 4 * (size_t)oc };
		t[3] = fl ? tf32(4, dout, NULL, 0) : act8(4, dout, sout, zout);
		struct tflite_write_opt opt[7] = { { 0, 'b', same ? 0 : 1, 0 }, { 1, 'i', sw, 0 },
					 { 2, 'i', sh, 0 } };
		int nopt = 3;
		if (dw) {
			opt[nopt++] = (struct tflite_write_opt){ 3, 'i', mult, 0 };
			opt[nopt++] = (struct tflite_write_opt){ 5, 'i', dwl, 0 };
			opt[nopt++] = (struct tflite_write_opt){ 6, 'i', dh, 0 };
		} else {
			opt[nopt++] = (struct tflite_write_opt){ 4, 'i', dwl, 0 };
			opt[nopt++] = (struct tflite_write_opt){ 5, 'i', dh, 0 };
		}
		static const int32_t ops[] = { 0, 1, 2 };
		const void *ins[] = { fl ? (const void *)inf : (const void *)in8 };
		size_t ob = (size_t)(oh * ow * oc) * (fl ? 4 : 1);
		tflite_model_free(run1(t, 4, dw ? 4 : 3, ops, 3, 1, opt, nopt, ins,
				       fl ? (void *)outf : (void *)out8, ob));
		for (int y = 0; y < oh; y++)
			for (int x = 0; x < ow; x++)
				for (int o = 0; o < oc; o++) {
					int64_t acc = bias8[o];
					double accf = biasf[o];
					for (int ky = 0; ky < kh; ky++)
						for (int kx = 0; kx < kw; kx++)
							for (int ic = 0; ic < kc; ic++) {
								int iy = y * sh - pt + ky * dh;
								int ix = x * sw - pl + kx * dwl;
								if (iy < 0 || iy >= h || ix < 0 || ix >= w)
									continue;
								int ch = dw ? o / mult : ic;
								int wi = ((dw ? 0 : o) * kh * kw + ky * kw + kx) *
									 (dw ? oc : kc) + (dw ? o : ic);
								int ii = (iy * w + ix) * c + ch;
								acc += (in8[ii] - 7) * w8[wi];
								accf += (double)inf[ii] * wf[wi];
							}
					int idx = (y * ow + x) * oc + o;
					if (fl) {
						ck_assert_msg(fabs(outf[idx] - accf) < 1e-4,
							      "round %d: %g vs %g", round,
							      (double)outf[idx], accf);
						continue;
					}
					int32_t qm;
					int shft;
					q_quantize_multiplier(0.05 * (double)ws[o] / 0.25, &qm, &shft);
					int32_t v = q_mul(q_add((int32_t)acc, 0), qm, shft) - 3;
					v = v < -128 ? -128 : v > 127 ? 127 : v;
					ck_assert_msg(out8[idx] == v,
						      "round %d (dw %d %dx%dx%d k%dx%d s%d,%d d%d,%d "
						      "same %d) at %d: %d vs %d", round, dw, h, w, c,
						      kh, kw, sh, sw, dh, dwl, same, idx, out8[idx], v);
				}
	}
}
END_TEST

/* Run the suite; exit status reflects failures. */
int main(void)
{
	struct testutil_case cases[] = {
		{ fixed_point_helpers, 0 },
		{ conv_same_even_kernel_padding, 0 },
		{ conv_stride2_per_axis, 0 },
		{ depthwise_multiplier_relu, 0 },
		{ depthwise_same_stride2_corners, 0 },
		{ fully_connected_rounding, 0 },
		{ avg_pool_rounding_and_padding, 0 },
		{ max_pool_stride2, 0 },
		{ add_different_scales, 0 },
		{ add_float_broadcast_relu6, 0 },
		{ mul_int8, 0 },
		{ softmax_saturation, 0 },
		{ quantize_dequantize, 0 },
		{ logistic_tanh_int8, 0 },
		{ concat_mean_reshape, 0 },
		{ unsupported_and_deprecated_codes, 0 },
		{ simd_requant_matches_scalar, 0 },
		{ simd_gemm_matches_scalar, 0 },
		{ conv_geometries_against_reference, 0 },
	};
	return testutil_run("tflite_ops", 0, cases,
			    sizeof cases / sizeof cases[0]);
}
