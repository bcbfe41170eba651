/*
 * test_fl.c - unit tests of the federated-learning library (src/learn/)
 * that need no shared model: the head of small models built here (float
 * and int8 per-channel) read out, written back and run by the built-in
 * runtime; models without a usable head; a table of malformed updates; the
 * aggregation against a reference computed here (known deltas, clipping,
 * weight caps, a sign-flipped x10 update contained by clipping); the head
 * layout; and the validation file's parser, bounds and accuracy.
 * test_fl_models.c does the same on the shared TinyML models.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/fl.h"
#include "learn/fl_int.h"
#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_write.h"
#include "tflite_build.h"

#define F32	0
#define I32	2
#define I8	9

/* Write a one-operator model (graph output: the operator's output). */
static uint8_t *
write1(const struct tflite_write_tensor *t, int nt,
    const struct tflite_write_op *op, const int32_t *gin, int nin,
    size_t *len)
{
	struct tflite_write_graph	 g = { .tensors = t, .ntensors = nt,
	    .ops = op, .nops = 1, .inputs = gin, .ninputs = nin,
	    .outputs = op->out, .noutputs = 1 };
	uint8_t				*m;
	char				*cause = NULL;

	ck_assert_msg(tflite_write(&g, &m, len, &cause) == 0, "%s", cause);
	return (m);
}

/*
 * A float FC model: input [1,3], weights 2x3, bias 2 (nin 2: no bias);
 * share: the output tensor names the bias's buffer too.
 */
static uint8_t *
float_fc(int nin, int wconst, int share, size_t *len)
{
	static const float	 w[6] = { 1, 2, 3, -1, 0.5f, 0.25f };
	static const float	 b[2] = { 0.5f, -2 };
	struct tflite_write_tensor	 t[4] = {
		{ .type = F32, .ndims = 2, .dims = { 1, 3 } },
		{ .type = F32, .ndims = 2, .dims = { 2, 3 } },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = b,
		    .bytes = sizeof b },
		{ .type = F32, .ndims = 2, .dims = { 1, 2 } },
	};
	int32_t			 in[3] = { 0, 1, 2 }, out[1] = { 3 };
	int32_t			 gin[2] = { 0, 1 };
	struct tflite_write_op	 op = { .code = 9, .nin = nin, .nout = 1,
	    .in = in, .out = out };
	uint8_t			*m;

	if (wconst) {
		t[1].data = w;
		t[1].bytes = sizeof w;
	}
	m = write1(t, 4, &op, gin, wconst ? 1 : 2, len);
	/* the writer gives each constant its own buffer: share one here */
	if (share)
		ck_assert_int_eq(tb_set_tensor_buffer(m, *len, 3,
		    wconst ? 2 : 1), 0);
	return (m);
}

/* An int8 FC model: input [1,4] (scale 0.05), weights 3x4 per channel. */
static uint8_t *
int8_fc(size_t *len)
{
	static const int8_t	 w[12] = { 127, -50, 3, 0, -127, 64, 1, 2,
	    10, 20, -127, 100 };
	static const float	 ws[3] = { 0.01f, 0.02f, 0.03f };
	static const float	 bs[3] = { 0.0005f, 0.001f, 0.0015f };
	static const int32_t	 b[3] = { 1000, -2000, 300 };
	static const float	 is[1] = { 0.05f }, os[1] = { 0.1f };
	static const int64_t	 z3[3] = { 0, 0, 0 }, z1[1] = { 0 };
	struct tflite_write_tensor	 t[4] = {
		{ .type = I8, .ndims = 2, .dims = { 1, 4 }, .nq = 1,
		    .scales = is, .zero_points = z1 },
		{ .type = I8, .ndims = 2, .dims = { 3, 4 }, .data = w,
		    .bytes = sizeof w, .nq = 3, .scales = ws, .zero_points = z3 },
		{ .type = I32, .ndims = 1, .dims = { 3 }, .data = b,
		    .bytes = sizeof b, .nq = 3, .scales = bs, .zero_points = z3 },
		{ .type = I8, .ndims = 2, .dims = { 1, 3 }, .nq = 1,
		    .scales = os, .zero_points = z1 },
	};
	int32_t			 in[3] = { 0, 1, 2 }, out[1] = { 3 };
	int32_t			 gin[1] = { 0 };
	struct tflite_write_op	 op = { .code = 9, .nin = 3, .nout = 1,
	    .in = in, .out = out };

	return (write1(t, 4, &op, gin, 1, len));
}

/* Run model m (len bytes) on input x (ilen bytes) into y (olen bytes). */
static void
run(const uint8_t *m, size_t len, const void *x, size_t ilen, void *y,
    size_t olen)
{
	struct tflite_model	*tm;
	char			*cause = NULL;

	ck_assert_msg(tflite_model_load_mem(m, len, "fl", &tm, &cause) == 0,
	    "load: %s", cause);
	memcpy(tflite_model_input(tm, 0), x, ilen);
	ck_assert_int_eq(tflite_model_invoke(tm, NULL), 0);
	memcpy(y, tflite_model_output(tm, 0), olen);
	tflite_model_free(tm);
}

/* Float head: read exactly, written back changed, run as the math says. */
START_TEST(test_head_float)
{
	struct fl_head	 h;
	uint8_t		*m, *o;
	size_t		 len, olen;
	char		*cause = NULL;
	float		 x[3] = { 1, -2, 0.5f }, y[2];

	m = float_fc(3, 1, 0, &len);
	ck_assert_msg(fl_head_extract(m, len, &h, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(h.rows, 2);
	ck_assert_uint_eq(h.cols, 3);
	ck_assert(h.w[0] == 1 && h.w[2] == 3 && h.w[4] == 0.5f);
	ck_assert(h.b[0] == 0.5f && h.b[1] == -2);
	h.w[1] = 4;
	h.b[1] = 1;
	ck_assert(fl_head_write(m, len, &h, &o, &olen, &cause) == 0);
	ck_assert_uint_eq(olen, len);
	run(o, olen, x, sizeof x, y, sizeof y);
	/* y0 = 1 - 8 + 1.5 + 0.5, y1 = -1 - 1 + 0.125 + 1 */
	ck_assert_float_eq(y[0], -5.0f);
	ck_assert_float_eq(y[1], -0.875f);
	fl_head_free(&h);
	free(o);
	free(m);
}
END_TEST

/* int8 head: dequantized, written unchanged (same output), then changed. */
START_TEST(test_head_int8)
{
	struct fl_head	 h, h2;
	uint8_t		*m, *o;
	size_t		 len, olen;
	char		*cause = NULL;
	int8_t		 x[4] = { 20, -10, 5, 100 }, y0[3], y1[3];
	int		 i;

	m = int8_fc(&len);
	ck_assert_msg(fl_head_extract(m, len, &h, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(h.rows, 3);
	ck_assert_uint_eq(h.cols, 4);
	ck_assert_float_eq_tol(h.w[0], 1.27f, 1e-6f);
	ck_assert_float_eq_tol(h.w[4], -2.54f, 1e-6f);
	ck_assert_float_eq_tol(h.w[11], 3.0f, 1e-6f);
	/* bias scale = input scale x weight scale */
	ck_assert_float_eq_tol(h.b[0], 1000 * 0.05f * 0.01f, 1e-6f);
	ck_assert_float_eq_tol(h.b[1], -2000 * 0.05f * 0.02f, 1e-6f);
	run(m, len, x, sizeof x, y0, sizeof y0);
	ck_assert(fl_head_write(m, len, &h, &o, &olen, &cause) == 0);
	ck_assert_uint_eq(olen, len);
	ck_assert(fl_head_extract(o, olen, &h2, &cause) == 0);
	for (i = 0; i < 12; i++)
		ck_assert_float_eq_tol(h2.w[i], h.w[i], 1e-6f);
	fl_head_free(&h2);
	run(o, olen, x, sizeof x, y1, sizeof y1);
	for (i = 0; i < 3; i++)
		ck_assert_int_le(abs(y0[i] - y1[i]), 1);
	free(o);
	/* Row 2 x 0.5 and bias 0: y2 = 0.5 * (x . w2) in real numbers. */
	for (i = 8; i < 12; i++)
		h.w[i] *= 0.5f;
	h.b[2] = 0;
	ck_assert(fl_head_write(m, len, &h, &o, &olen, &cause) == 0);
	run(o, olen, x, sizeof x, y1, sizeof y1);
	{
		double	r = 0.05 * (20 * 0.3 - 10 * 0.6 - 5 * 3.81 +
		    100 * 3.0) * 0.5;

		ck_assert_int_le(abs(y1[2] - (int)lround(r / 0.1)), 1);
	}
	ck_assert_int_le(abs(y0[0] - y1[0]), 1);
	/* The new per-channel scale of row 2 is max|w| / 127. */
	ck_assert(fl_head_extract(o, olen, &h2, &cause) == 0);
	ck_assert_float_eq_tol(h2.w[10], -1.905f, 1e-5f);
	fl_head_free(&h2);
	fl_head_free(&h);
	free(o);
	free(m);
}
END_TEST

/* Models without a head the library can use, and heads it cannot write. */
START_TEST(test_head_reject)
{
	struct fl_head		 h;
	struct tflite_write_tensor	 t[2] = {
		{ .type = F32, .ndims = 2, .dims = { 1, 3 } },
		{ .type = F32, .ndims = 1, .dims = { 3 } },
	};
	int32_t			 in[1] = { 0 }, out[1] = { 1 };
	struct tflite_write_op	 op = { .code = 22, .nin = 1, .nout = 1,
	    .in = in, .out = out };
	uint8_t			*m, *o, junk[64];
	size_t			 len, olen;
	char			*cause = NULL;

	m = write1(t, 2, &op, in, 1, &len);
	ck_assert_int_eq(fl_head_extract(m, len, &h, &cause), -1);
	ck_assert_msg(strstr(cause, "no FULLY_CONNECTED") != NULL, "%s", cause);
	free(cause);
	free(m);
	m = float_fc(3, 0, 0, &len);
	ck_assert_int_eq(fl_head_extract(m, len, &h, &cause), -1);
	ck_assert_msg(strstr(cause, "not a constant buffer") != NULL, "%s",
	    cause);
	free(cause);
	free(m);
	m = float_fc(2, 1, 0, &len);
	ck_assert_int_eq(fl_head_extract(m, len, &h, &cause), -1);
	ck_assert_msg(strstr(cause, "no bias") != NULL, "%s", cause);
	free(cause);
	free(m);
	m = float_fc(3, 1, 1, &len);
	ck_assert_int_eq(fl_head_extract(m, len, &h, &cause), -1);
	ck_assert_msg(strstr(cause, "shared with tensor 3") != NULL, "%s",
	    cause);
	free(cause);
	free(m);
	memset(junk, 0xa5, sizeof junk);
	ck_assert_int_eq(fl_head_extract(junk, sizeof junk, &h, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	ck_assert_int_eq(fl_head_extract(junk, 0, &h, &cause), -1);
	free(cause);
	/* A head of another shape, or with a NaN, is not written. */
	m = float_fc(3, 1, 0, &len);
	ck_assert(fl_head_extract(m, len, &h, NULL) == 0);
	h.cols = 2;
	ck_assert_int_eq(fl_head_write(m, len, &h, &o, &olen, &cause), -1);
	ck_assert_ptr_null(o);
	free(cause);
	h.cols = 3;
	h.b[1] = NAN;
	ck_assert_int_eq(fl_head_write(m, len, &h, &o, &olen, &cause), -1);
	ck_assert_msg(strstr(cause, "not finite") != NULL, "%s", cause);
	free(cause);
	fl_head_free(&h);
	free(m);
}
END_TEST

/* The head layout: weights row-major then biases, float32 LE. */
START_TEST(test_head_bytes)
{
	float		 w[6] = { 1, 2, 3, 4, 5, 6 }, b[2] = { -1, 0.5f };
	struct fl_head	 h = { 2, 3, w, b }, p;
	uint8_t		 buf[32];
	char		*cause = NULL;

	ck_assert_uint_eq(fl_head_size(&h), 32);
	fl_head_serialize(&h, buf);
	ck_assert(buf[0] == 0 && buf[3] == 0x3f && buf[2] == 0x80);
	ck_assert(lu_rdf(buf + 4 * 6) == -1 && lu_rdf(buf + 28) == 0.5f);
	ck_assert(fl_head_parse(buf, 32, 2, 3, &p, &cause) == 0);
	ck_assert(memcmp(p.w, w, sizeof w) == 0);
	ck_assert(memcmp(p.b, b, sizeof b) == 0);
	fl_head_free(&p);
	ck_assert_int_eq(fl_head_parse(buf, 31, 2, 3, &p, &cause), -1);
	free(cause);
	ck_assert_int_eq(fl_head_parse(buf, 32, 3, 2, &p, &cause), -1);
	free(cause);
	ck_assert_int_eq(fl_head_parse(buf, 32, 0, 3, &p, &cause), -1);
	free(cause);
	lu_wrf(buf + 8, INFINITY);
	ck_assert_int_eq(fl_head_parse(buf, 32, 2, 3, &p, &cause), -1);
	ck_assert_ptr_null(p.w);
	free(cause);
}
END_TEST

/* An update for a 2x3 head: header fields and 8 delta values. */
static size_t
make_update(uint8_t *u, uint32_t round, uint32_t samples, const float *d,
    size_t n)
{
	size_t	 i;

	u[0] = 'F';
	u[1] = 'L';
	u[2] = 1;
	u[3] = 3;
	lu_wr32(u + 4, round);
	for (i = 0; i < 32; i++)
		u[8 + i] = (uint8_t)i;
	lu_wr32(u + 40, samples);
	for (i = 0; i < n; i++)
		lu_wrf(u + 44 + 4 * i, d[i]);
	return (44 + 4 * n);
}

/* A valid update parses with its fields and the delta in place. */
START_TEST(test_update_ok)
{
	float			 d[8] = { 1, 2, 3, 4, 5, 6, -7, 0.5f };
	uint8_t			 u[76];
	struct fl_update	 up;
	char			*cause = NULL;

	ck_assert_uint_eq(make_update(u, 7, 42, d, 8), 76);
	ck_assert_msg(fl_update_parse(u, 76, 2, 3, &up, &cause) == 0, "%s",
	    cause);
	ck_assert_uint_eq(up.round, 7);
	ck_assert_uint_eq(up.samples, 42);
	ck_assert_uint_eq(up.base[31], 31);
	ck_assert_ptr_eq(up.delta, u + 44);
	ck_assert(lu_rdf(up.delta + 28) == 0.5f);
}
END_TEST

/* Every malformed update is rejected, with a cause that says why. */
START_TEST(test_update_malformed)
{
	static const struct {
		const char	*name;
		size_t		 len;	/* 0: the whole 76 bytes */
		int		 at;	/* byte to set, -1 none */
		uint8_t		 val;
		int		 fat;	/* float index to set, -1 none */
		float		 fval;
		uint32_t	 rows, cols;
		const char	*want;
	} c[] = {
		{ "empty", 0xffff, -1, 0, -1, 0, 2, 3, "shorter" },
		{ "header cut", 43, -1, 0, -1, 0, 2, 3, "shorter" },
		{ "magic", 0, 0, 'X', -1, 0, 2, 3, "magic" },
		{ "magic case", 0, 1, 'l', -1, 0, 2, 3, "magic" },
		{ "version 0", 0, 2, 0, -1, 0, 2, 3, "version" },
		{ "version 2", 0, 2, 2, -1, 0, 2, 3, "version" },
		{ "dtype int8", 0, 3, 1, -1, 0, 2, 3, "dtype" },
		{ "dtype 0", 0, 3, 0, -1, 0, 2, 3, "dtype" },
		{ "samples 0", 0, 40, 0, -1, 0, 2, 3, "samples" },
		{ "no delta", 44, -1, 0, -1, 0, 2, 3, "delta of 0" },
		{ "delta short", 75, -1, 0, -1, 0, 2, 3, "delta of 31" },
		{ "delta long", 77, -1, 0, -1, 0, 2, 3, "delta of 33" },
		{ "other shape", 0, -1, 0, -1, 0, 3, 2, "needs" },
		{ "rows 0", 0, -1, 0, -1, 0, 0, 3, "shape" },
		{ "cols 0", 0, -1, 0, -1, 0, 2, 0, "shape" },
		{ "huge", 0, -1, 0, -1, 0, 65536, 65536, "shape" },
		{ "NaN", 0, -1, 0, 0, NAN, 2, 3, "NaN" },
		{ "+Inf", 0, -1, 0, 7, INFINITY, 2, 3, "infinite" },
		{ "-Inf", 0, -1, 0, 6, -INFINITY, 2, 3, "infinite" },
	};
	float			 d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t			 u[80];
	struct fl_update	 up;
	size_t			 i, len;
	char			*cause;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		memset(u, 0, sizeof u);
		make_update(u, 1, 10, d, 8);
		/* samples 0 needs all four bytes cleared */
		if (c[i].at == 40)
			memset(u + 40, 0, 4);
		else if (c[i].at >= 0)
			u[c[i].at] = c[i].val;
		if (c[i].fat >= 0)
			lu_wrf(u + 44 + 4 * c[i].fat, c[i].fval);
		len = c[i].len == 0 ? 76 : c[i].len == 0xffff ? 0 : c[i].len;
		cause = NULL;
		ck_assert_msg(fl_update_parse(u, len, c[i].rows, c[i].cols,
		    &up, &cause) == -1, "%s: accepted", c[i].name);
		ck_assert_msg(cause != NULL && strstr(cause, c[i].want) !=
		    NULL, "%s: cause '%s'", c[i].name, cause);
		ck_assert_ptr_null(up.delta);
		free(cause);
	}
}
END_TEST

/* Reference aggregation, written out plainly, in double. */
static void
ref_agg(const float *head, const float (*d)[6], const uint32_t *samples,
    int k, double clip, double maxw, double *out)
{
	double	 wsum = 0, s[6] = { 0 }, norm, sc, w;
	int	 i, j;

	for (i = 0; i < k; i++) {
		norm = 0;
		for (j = 0; j < 6; j++)
			norm += (double)d[i][j] * d[i][j];
		norm = sqrt(norm);
		sc = clip > 0 && norm > clip ? clip / norm : 1;
		w = maxw > 0 && samples[i] > maxw ? maxw : samples[i];
		for (j = 0; j < 6; j++)
			s[j] += w * sc * d[i][j];
		wsum += w;
	}
	for (j = 0; j < 6; j++)
		out[j] = head[j] + s[j] / wsum;
}

/* Aggregate k 2x2 deltas onto head (weights 4 then biases 2). */
static void
agg(const float *head, const float (*d)[6], const uint32_t *samples, int k,
    double clip, double maxw, float *out)
{
	struct fl_agg		*a = fl_agg_new(2, 2, clip, maxw);
	struct fl_update	 up;
	struct fl_head		 h = { 2, 2, (float *)head, (float *)head + 4 };
	struct fl_head		 n;
	uint8_t			 u[44 + 24];
	uint64_t		 total = 0;
	int			 i;

	ck_assert_ptr_nonnull(a);
	for (i = 0; i < k; i++) {
		make_update(u, 1, samples[i], d[i], 6);
		ck_assert(fl_update_parse(u, sizeof u, 2, 2, &up, NULL) == 0);
		ck_assert_int_eq(fl_agg_add(a, &up), 0);
		total += samples[i];
	}
	ck_assert_uint_eq(fl_agg_count(a), k);
	ck_assert_uint_eq(fl_agg_samples(a), total);
	ck_assert_int_eq(fl_agg_apply(a, &h, &n), 0);
	memcpy(out, n.w, 4 * sizeof *out);
	memcpy(out + 4, n.b, 2 * sizeof *out);
	fl_head_free(&n);
	fl_agg_free(a);
}

/* The aggregation rule, by hand and against the reference. */
START_TEST(test_agg_rule)
{
	float		 head[6] = { 1, -1, 0.5f, 0, 2, -2 }, zero[6] = { 0 };
	float		 d[4][6] = { { 1, 1, 1, 1, 1, 1 },
	    { 3, 3, 3, 3, 3, 3 }, { 3, 4, 0, 0, 0, 0 },
	    { -0.25f, 0.5f, 2, -8, 0.125f, 1 } };
	uint32_t	 s[4] = { 1, 3, 1000, 10 };
	float		 out[6];
	double		 ref[6];
	int		 j;

	/* (1 x 1 + 3 x 3) / 4 = 2.5 everywhere */
	agg(zero, d, s, 2, 0, 0, out);
	for (j = 0; j < 6; j++)
		ck_assert_float_eq(out[j], 2.5f);
	/* (3, 4) clipped to norm 1: (0.6, 0.8) */
	agg(head, d + 2, s + 2, 1, 1.0, 0, out);
	ck_assert_float_eq_tol(out[0], 1.6f, 1e-6f);
	ck_assert_float_eq_tol(out[1], -0.2f, 1e-6f);
	ck_assert_float_eq(out[4], 2.0f);
	/* a clip above the norm changes nothing */
	agg(head, d + 2, s + 2, 1, 5.0, 0, out);
	ck_assert_float_eq(out[0], 4.0f);
	/* samples 1000 and 10 capped at 10: the plain mean */
	agg(zero, d + 2, s + 2, 2, 0, 10, out);
	ck_assert_float_eq_tol(out[3], -4.0f, 1e-6f);
	ck_assert_float_eq_tol(out[0], 1.375f, 1e-6f);
	/* everything at once against the reference */
	agg(head, d, s, 4, 2.5, 100, out);
	ref_agg(head, d, s, 4, 2.5, 100, ref);
	for (j = 0; j < 6; j++)
		ck_assert_msg(fabs(out[j] - ref[j]) <= 1e-6 * (1 + fabs(ref[j])),
		    "%d: %g vs %g", j, (double)out[j], ref[j]);
	agg(head, d, s, 4, 0, 0, out);
	ref_agg(head, d, s, 4, 0, 0, ref);
	for (j = 0; j < 6; j++)
		ck_assert_msg(fabs(out[j] - ref[j]) <= 1e-6 * (1 + fabs(ref[j])),
		    "%d: %g vs %g", j, (double)out[j], ref[j]);
}
END_TEST

/* Five honest nodes and one sending their delta sign-flipped x10. */
START_TEST(test_agg_bad_node)
{
	float		 zero[6] = { 0 }, d[6][6], out[6];
	uint32_t	 s[6] = { 10, 10, 10, 10, 10, 10 };
	double		 dot = 0;
	int		 i, j;

	/* each honest delta has norm 1: (0.5, 0.5, 0.5, 0.5, 0, 0) */
	for (i = 0; i < 6; i++)
		for (j = 0; j < 6; j++)
			d[i][j] = j < 4 ? (i == 5 ? -5.0f : 0.5f) : 0;
	/* unclipped: (5 d - 10 d) / 6 points the wrong way */
	agg(zero, d, s, 6, 0, 0, out);
	ck_assert_float_eq_tol(out[0], -5.0f / 12, 1e-6f);
	/* clipped to norm 1: (5 d - d) / 6, still along d */
	agg(zero, d, s, 6, 1.0, 0, out);
	for (j = 0; j < 4; j++) {
		ck_assert_float_eq_tol(out[j], 4.0f / 12, 1e-6f);
		dot += out[j] * 0.5;
	}
	ck_assert(dot > 0);
	ck_assert_float_eq(out[5], 0);
}
END_TEST

/* No update, another shape, a bad update: no new head. */
START_TEST(test_agg_edges)
{
	float			 w[4] = { 0 }, b[2] = { 0 }, d[6] = { 1e38f,
	    1e38f, 0, 0, 0, 0 };
	struct fl_head		 h = { 2, 2, w, b }, h3 = { 2, 3, w, b }, n;
	struct fl_agg		*a = fl_agg_new(2, 2, 0, 0);
	struct fl_update	 up = { 0 };
	uint8_t			 u[68];

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(fl_agg_apply(a, &h, &n), -1);
	ck_assert_ptr_null(n.w);
	ck_assert_int_eq(fl_agg_add(a, &up), -1);
	ck_assert_uint_eq(fl_agg_count(a), 0);
	make_update(u, 1, 1, d, 6);
	ck_assert(fl_update_parse(u, sizeof u, 2, 2, &up, NULL) == 0);
	ck_assert_int_eq(fl_agg_add(a, &up), 0);
	ck_assert_int_eq(fl_agg_apply(a, &h3, &n), -1);
	/* 1e38 + 1e38 in double is fine; as float it is not */
	ck_assert_int_eq(fl_agg_add(a, &up), 0);
	w[0] = 3e38f;
	ck_assert_int_eq(fl_agg_apply(a, &h, &n), -1);
	fl_agg_free(a);
	ck_assert_ptr_null(fl_agg_new(0, 2, 0, 0));
	ck_assert_ptr_null(fl_agg_new(65536, 65536, 0, 0));
	fl_agg_free(NULL);
}
END_TEST

/* A validation file of n examples of cols inputs (labels i % 3). */
static uint8_t *
make_val(uint32_t n, uint32_t cols, const float *x, size_t *len)
{
	uint8_t		*v;
	uint32_t	 i, j;

	*len = FL_VAL_HEADER + (size_t)n * (4 + 4 * cols);
	ck_assert_ptr_nonnull(v = calloc(1, *len));
	memcpy(v, "FV\001\003", 4);
	lu_wr32(v + 4, cols);
	lu_wr32(v + 8, n);
	for (i = 0; i < n; i++) {
		uint8_t	*p = v + FL_VAL_HEADER + (size_t)i * (4 + 4 * cols);

		lu_wr32(p, i % 3);
		for (j = 0; x != NULL && j < cols; j++)
			lu_wrf(p + 4 + 4 * j, x[(size_t)i * cols + j]);
	}
	return (v);
}

/* Accuracy is argmax(W x + b) against the labels. */
START_TEST(test_val_accuracy)
{
	/* rows 3 x cols 2: y = (x0, x1, 0.5) */
	float		 w[6] = { 1, 0, 0, 1, 0, 0 }, b[3] = { 0, 0, 0.5f };
	float		 x[8] = { 2, 1, 0, 3, 0.1f, 0.2f, 1, 0 };
	struct fl_head	 h = { 3, 2, w, b };
	struct fl_val	 v;
	uint8_t		*f;
	size_t		 len;
	char		*cause = NULL;

	/* labels 0, 1, 2, 0: argmax 0, 1, 2, 0 */
	f = make_val(4, 2, x, &len);
	ck_assert_msg(fl_val_parse(f, len, 3, 2, &v, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(v.n, 4);
	ck_assert(v.x[3] == 3 && v.label[2] == 2);
	ck_assert(fl_val_accuracy(&h, &v) == 1.0);
	b[2] = 1.5f;	/* now example 3 (1, 0) goes to 2 as well */
	ck_assert(fl_val_accuracy(&h, &v) == 0.75);
	h.cols = 3;
	ck_assert(fl_val_accuracy(&h, &v) == -1);
	fl_val_free(&v);
	free(f);
}
END_TEST

/* Malformed validation files and the bounds on n and n x cols. */
START_TEST(test_val_malformed)
{
	static const struct {
		const char	*name;
		int		 at;	/* byte to set, -1 none */
		uint8_t		 val;
		long		 dlen;	/* length change */
		uint32_t	 rows, cols;
		const char	*want;
	} c[] = {
		{ "magic", 0, 'X', 0, 3, 2, "magic" },
		{ "version", 2, 2, 0, 3, 2, "version" },
		{ "dtype", 3, 9, 0, 3, 2, "dtype" },
		{ "cols", 4, 3, 0, 3, 2, "inputs" },
		{ "n 0", 8, 0, 0, 3, 2, "examples" },
		{ "short", -1, 0, -1, 3, 2, "bytes of records" },
		{ "long", -1, 0, 1, 3, 2, "bytes of records" },
		{ "header", -1, 0, -37, 3, 2, "shorter" },
		{ "label", -1, 0, 0, 2, 2, "label 2" },
		{ "NaN", 19, 0x7f, 0, 3, 2, "not finite" },
	};
	float		 x[6] = { 1, 2, 3, 4, 5, 6 };
	struct fl_val	 v;
	uint8_t		*f, hdr[FL_VAL_HEADER];
	size_t		 i, len;
	char		*cause;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		f = make_val(3, 2, x, &len);
		if (c[i].at >= 0)
			f[c[i].at] = c[i].val;
		if (c[i].at == 8)
			memset(f + 8, 0, 4);
		/* NaN: 0x7fc0.... as the first value of example 0 */
		if (c[i].at == 19)
			f[18] = 0xc0;
		cause = NULL;
		ck_assert_msg(fl_val_parse(f, len + c[i].dlen, c[i].rows,
		    c[i].cols, &v, &cause) == -1, "%s: accepted", c[i].name);
		ck_assert_msg(cause != NULL && strstr(cause, c[i].want) != NULL,
		    "%s: cause '%s'", c[i].name, cause);
		ck_assert_ptr_null(v.x);
		free(cause);
		free(f);
	}
	/* n above the bound is refused from the header alone */
	memcpy(hdr, "FV\001\003", 4);
	lu_wr32(hdr + 4, 1);
	lu_wr32(hdr + 8, FL_VAL_MAX_N + 1);
	ck_assert_int_eq(fl_val_parse(hdr, sizeof hdr, 3, 1, &v, &cause), -1);
	ck_assert_msg(strstr(cause, "examples") != NULL, "%s", cause);
	free(cause);
	/* so is n x cols above its bound */
	lu_wr32(hdr + 4, 200);
	lu_wr32(hdr + 8, FL_VAL_MAX_N);
	ck_assert_int_eq(fl_val_parse(hdr, sizeof hdr, 3, 200, &v, &cause), -1);
	ck_assert_msg(strstr(cause, "more than") != NULL, "%s", cause);
	free(cause);
	/* n at the bound is fine */
	f = make_val(FL_VAL_MAX_N, 1, NULL, &len);
	ck_assert(fl_val_parse(f, len, 3, 1, &v, NULL) == 0);
	ck_assert_uint_eq(v.n, FL_VAL_MAX_N);
	fl_val_free(&v);
	free(f);
}
END_TEST

int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_head_float, 0 },
		{ test_head_int8, 0 },
		{ test_head_reject, 0 },
		{ test_head_bytes, 0 },
		{ test_update_ok, 0 },
		{ test_update_malformed, 0 },
		{ test_agg_rule, 0 },
		{ test_agg_bad_node, 0 },
		{ test_agg_edges, 0 },
		{ test_val_accuracy, 0 },
		{ test_val_malformed, 0 },
	};

	return (testutil_run("fl", 60, cases, sizeof cases / sizeof cases[0]));
}
