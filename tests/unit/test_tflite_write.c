/*
 * test_tflite_write.c - unit tests of the .tflite writer (src/tflite/
 * tflite_write.c): a float FULLY_CONNECTED model and an int8 dense stack
 * written, loaded by the runtime and run against outputs worked out by
 * hand with TFLite's requantization; the layout the schema asks for
 * (identifier, version, operator codes in both fields, one code per
 * distinct operator, buffer 0 empty, constant data 16-byte aligned);
 * metadata written and found again, and the metadata reader on truncated
 * and foreign files; a table of descriptions every bound of the writer
 * refuses, each with its cause.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_fb.h"
#include "tflite/tflite_write.h"

#define F32	0
#define I32	2
#define I8	9

/* The float model: y = relu(W x + b), W 2x3. */
static const float	 FW[6] = { 1, 2, 3, -1, 0.5f, 0.25f };
static const float	 FB[2] = { 0.5f, -2 };

/*
 * The int8 stack: 3 -> 2 (RELU) -> 3, input scale 0.5 zero point 2.
 * Layer 0: per-channel weight scales 0.01, 0.02, output scale 0.1 zero
 * point -5.  Layer 1: weight scales 0.05, 0.03, 0.02, output scale 0.2
 * zero point 3.
 */
static const int8_t	 W0[6] = { 10, -20, 30, 40, 50, -60 };
static const float	 WS0[2] = { 0.01f, 0.02f };
static const int32_t	 B0[2] = { 100, -200 };
static const int8_t	 W1[6] = { 127, -127, 5, 6, 7, 8 };
static const float	 WS1[3] = { 0.05f, 0.03f, 0.02f };
static const int32_t	 B1[3] = { 1, 2, 3 };

/* Fill a two-layer dense description (layers must hold 2). */
static void
dense_model(struct tflite_write_dense *l, struct tflite_write_dense_model *dm)
{
	l[0] = (struct tflite_write_dense){ .in = 3, .out = 2, .weights = W0,
	    .w_scales = WS0, .bias = B0, .out_scale = 0.1f, .out_zp = -5,
	    .relu = 1 };
	l[1] = (struct tflite_write_dense){ .in = 2, .out = 3, .weights = W1,
	    .w_scales = WS1, .bias = B1, .out_scale = 0.2f, .out_zp = 3,
	    .relu = 0 };
	*dm = (struct tflite_write_dense_model){ .layers = l, .nlayers = 2,
	    .in_scale = 0.5f, .in_zp = 2 };
}

/* Load buf, run it on x (ilen bytes) and copy olen output bytes to y. */
static void
run(const uint8_t *buf, size_t len, const void *x, size_t ilen, void *y,
    size_t olen)
{
	struct tflite_model		*m;
	struct tflite_tensor_info	 ti;
	char				*cause = NULL;

	ck_assert_msg(tflite_model_load_mem(buf, len, "w", &m, &cause) == 0,
	    "load: %s", cause);
	ck_assert_int_eq(tflite_model_input_info(m, 0, &ti), 0);
	ck_assert_uint_eq(ti.bytes, ilen);
	memcpy(tflite_model_input(m, 0), x, ilen);
	ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
	ck_assert_int_eq(tflite_model_output_info(m, 0, &ti), 0);
	ck_assert_uint_eq(ti.bytes, olen);
	memcpy(y, tflite_model_output(m, 0), olen);
	tflite_model_free(m);
}

/* A float FC model with fused RELU gives W x + b, clamped at 0. */
START_TEST(float_fc)
{
	struct tflite_write_tensor	 t[4] = {
		{ .name = "x", .type = F32, .ndims = 2, .dims = { 1, 3 } },
		{ .type = F32, .ndims = 2, .dims = { 2, 3 }, .data = FW,
		    .bytes = sizeof FW },
		{ .type = F32, .ndims = 1, .dims = { 2 }, .data = FB,
		    .bytes = sizeof FB },
		{ .name = "y", .type = F32, .ndims = 2, .dims = { 1, 2 } },
	};
	static const struct tflite_write_opt opt[1] = { { 0, 'b', 1, 0 } };
	int32_t				 in[3] = { 0, 1, 2 }, out = 3, gin = 0;
	struct tflite_write_op		 op = { .code = 9, .options_type = 8,
	    .nin = 3, .nout = 1, .in = in, .out = &out, .nopt = 1,
	    .opt = opt };
	struct tflite_write_graph	 g = { .tensors = t, .ntensors = 4,
	    .ops = &op, .nops = 1, .inputs = &gin, .ninputs = 1,
	    .outputs = &out, .noutputs = 1 };
	float				 x[3] = { 1, 2, 4 }, y[2];
	uint8_t				*buf;
	size_t				 len;

	ck_assert_int_eq(tflite_write(&g, &buf, &len, NULL), 0);
	run(buf, len, x, sizeof x, y, sizeof y);
	/* 1 + 4 + 12 + 0.5 = 17.5; -1 + 1 + 1 - 2 = -1, RELU 0 */
	ck_assert_float_eq(y[0], 17.5f);
	ck_assert_float_eq(y[1], 0.0f);
	x[0] = -3;
	run(buf, len, x, sizeof x, y, sizeof y);
	/* -3 + 4 + 12 + 0.5 = 13.5; 3 + 1 + 1 - 2 = 3 */
	ck_assert_float_eq(y[0], 13.5f);
	ck_assert_float_eq(y[1], 3.0f);
	free(buf);
}
END_TEST

/*
 * The int8 stack against TFLite's arithmetic done by hand: acc = bias +
 * sum w * (x - in_zp), out = out_zp + round(acc * in_scale * w_scale /
 * out_scale), clamped to int8 (and to out_zp and up under RELU).
 */
START_TEST(int8_dense)
{
	struct tflite_write_dense	 l[2];
	struct tflite_write_dense_model	 dm;
	static const int8_t		 x[2][3] = {
		{ 10, -3, 100 }, { 4, 2, -6 } };
	/*
	 * x0 - 2 = (8, -5, 98).  Layer 0: 3120 + 100 = 3220 x 0.05 -> 161
	 * - 5 = 156 -> 127; -5810 - 200 = -6010 x 0.1 -> -601 - 5 -> -128,
	 * RELU -> -5.  Layer 1 on (127, -5) - (-5) = (132, 0): 16765 x 0.025
	 * -> 419 + 3 -> 127; 662 x 0.015 = 9.93 -> 10 + 3 = 13; 927 x 0.01
	 * = 9.27 -> 9 + 3 = 12.
	 * x1 - 2 = (2, 0, -8).  Layer 0: -220 + 100 = -120 x 0.05 = -6 - 5
	 * = -11, RELU -> -5; 560 - 200 = 360 x 0.1 = 36 - 5 = 31.  Layer 1
	 * on (0, 36): -4571 x 0.025 = -114.275 -> -114 + 3 = -111; 218 x
	 * 0.015 = 3.27 -> 3 + 3 = 6; 291 x 0.01 = 2.91 -> 3 + 3 = 6.
	 */
	static const int8_t		 want[2][3] = {
		{ 127, 13, 12 }, { -111, 6, 6 } };
	int8_t				 y[3];
	uint8_t				*buf;
	size_t				 len;
	char				*cause = NULL;
	int				 i;

	dense_model(l, &dm);
	ck_assert_msg(tflite_write_dense(&dm, &buf, &len, &cause) == 0, "%s",
	    cause);
	for (i = 0; i < 2; i++) {
		run(buf, len, x[i], 3, y, 3);
		ck_assert_msg(memcmp(y, want[i], 3) == 0, "input %d: %d %d %d",
		    i, y[0], y[1], y[2]);
	}
	free(buf);
}
END_TEST

/* Check the layout of a written dense model with the runtime's reader. */
static void
check_layout(const uint8_t *buf, size_t len, uint32_t nconst)
{
	struct fb	 b = { buf, len };
	struct fb_table	 root, ct, bt;
	struct fb_vec	 cv, bv, dv;
	uint8_t		 dep;
	int32_t		 v;
	uint32_t	 i;

	ck_assert_int_eq(memcmp(buf + 4, "TFL3", 4), 0);
	ck_assert_int_eq(fb_root(&b, &root), FB_OK);
	ck_assert_int_eq(fb_i32(&b, &root, 0, 0, &v), FB_OK);
	ck_assert_int_eq(v, 3);
	/* two FULLY_CONNECTED operators share one code entry */
	ck_assert_int_eq(fb_vector(&b, &root, 1, 4, &cv), FB_OK);
	ck_assert_uint_eq(cv.n, 1);
	ck_assert_int_eq(fb_vec_table(&b, &cv, 0, &ct), FB_OK);
	ck_assert_int_eq(fb_u8(&b, &ct, 0, 0, &dep), FB_OK);
	ck_assert_int_eq(fb_i32(&b, &ct, 3, 0, &v), FB_OK);
	ck_assert_int_eq(dep, 9);
	ck_assert_int_eq(v, 9);
	ck_assert_int_eq(fb_vector(&b, &root, 4, 4, &bv), FB_OK);
	ck_assert_uint_eq(bv.n, 1 + nconst);
	ck_assert_int_eq(fb_vec_table(&b, &bv, 0, &bt), FB_OK);
	ck_assert_int_eq(fb_vector(&b, &bt, 0, 1, &dv), FB_ABSENT);
	for (i = 1; i < bv.n; i++) {
		ck_assert_int_eq(fb_vec_table(&b, &bv, i, &bt), FB_OK);
		ck_assert_int_eq(fb_vector(&b, &bt, 0, 1, &dv), FB_OK);
		ck_assert_msg(dv.pos % 16 == 0, "buffer %u at %zu", i, dv.pos);
	}
}

/* Identifier, version, codes, buffers, alignment; the same bytes twice. */
START_TEST(layout)
{
	struct tflite_write_dense	 l[2];
	struct tflite_write_dense_model	 dm;
	struct tflite_write_meta	 meta = { "a", "xyz", 3 };
	uint8_t				*buf, *again;
	size_t				 len, len2;

	dense_model(l, &dm);
	dm.meta = &meta;
	dm.nmeta = 1;
	ck_assert_int_eq(tflite_write_dense(&dm, &buf, &len, NULL), 0);
	ck_assert_uint_eq((uintptr_t)buf % 16, 0);
	check_layout(buf, len, 4 + 1);
	ck_assert_int_eq(tflite_write_dense(&dm, &again, &len2, NULL), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_int_eq(memcmp(buf, again, len), 0);
	free(again);
	free(buf);
}
END_TEST

/* A code over 127 goes in builtin_code, 127 in the deprecated field. */
START_TEST(high_code)
{
	static const float		 s[1] = { 1 };
	struct tflite_write_tensor	 t[2] = {
		{ .type = F32, .ndims = 1, .dims = { 4 } },
		{ .type = F32, .ndims = 1, .dims = { 4 }, .nq = 1,
		    .scales = s },
	};
	int32_t				 i0 = 0, o1 = 1;
	struct tflite_write_op		 op[2] = {
		{ .code = 150, .nin = 1, .nout = 1, .in = &i0, .out = &o1 },
		{ .code = 28, .nin = 1, .nout = 1, .in = &o1, .out = &i0 },
	};
	struct tflite_write_graph	 g = { .tensors = t, .ntensors = 2,
	    .ops = op, .nops = 2, .inputs = &i0, .ninputs = 1,
	    .outputs = &o1, .noutputs = 1 };
	struct fb			 b;
	struct fb_table			 root, ct;
	struct fb_vec			 cv;
	uint8_t				*buf, dep;
	int32_t				 v;
	size_t				 len;

	ck_assert_int_eq(tflite_write(&g, &buf, &len, NULL), 0);
	b = (struct fb){ buf, len };
	ck_assert_int_eq(fb_root(&b, &root), FB_OK);
	ck_assert_int_eq(fb_vector(&b, &root, 1, 4, &cv), FB_OK);
	ck_assert_uint_eq(cv.n, 2);
	ck_assert_int_eq(fb_vec_table(&b, &cv, 0, &ct), FB_OK);
	ck_assert_int_eq(fb_u8(&b, &ct, 0, 0, &dep), FB_OK);
	ck_assert_int_eq(fb_i32(&b, &ct, 3, 0, &v), FB_OK);
	ck_assert_int_eq(dep, 127);
	ck_assert_int_eq(v, 150);
	ck_assert_int_eq(fb_vec_table(&b, &cv, 1, &ct), FB_OK);
	ck_assert_int_eq(fb_u8(&b, &ct, 0, 0, &dep), FB_OK);
	ck_assert_int_eq(dep, 28);
	free(buf);
}
END_TEST

/* Metadata entries come back by name; the reader survives any file. */
START_TEST(metadata)
{
	struct tflite_write_dense	 l[2];
	struct tflite_write_dense_model	 dm;
	static const uint8_t		 blob[40] = { 1, 2, 3, [39] = 9 };
	struct tflite_write_meta	 meta[3] = {
		{ "te.threshold", "0.25", 4 }, { "te.blob", blob, sizeof blob },
		{ "empty", NULL, 0 } };
	const void			*d;
	uint8_t				*buf, *cut;
	size_t				 len, dl, n;

	dense_model(l, &dm);
	dm.meta = meta;
	dm.nmeta = 3;
	dm.description = "learned at the gateway";
	ck_assert_int_eq(tflite_write_dense(&dm, &buf, &len, NULL), 0);
	ck_assert_int_eq(tflite_write_metadata(buf, len, "te.threshold", &d,
	    &dl), 0);
	ck_assert_uint_eq(dl, 4);
	ck_assert_int_eq(memcmp(d, "0.25", 4), 0);
	ck_assert_int_eq(tflite_write_metadata(buf, len, "te.blob", &d, &dl),
	    0);
	ck_assert_uint_eq(dl, sizeof blob);
	ck_assert_int_eq(memcmp(d, blob, sizeof blob), 0);
	ck_assert_uint_eq((uintptr_t)d % 16, 0);
	ck_assert_int_eq(tflite_write_metadata(buf, len, "empty", &d, &dl), 0);
	ck_assert_uint_eq(dl, 0);
	ck_assert_int_eq(tflite_write_metadata(buf, len, "te.thresh", &d, &dl),
	    -1);
	ck_assert_int_eq(tflite_write_metadata(buf, len, "", &d, &dl), -1);
	/* every truncation: found whole, or not found; never past the end */
	for (n = 0; n < len; n++) {
		ck_assert_ptr_nonnull(cut = malloc(n + 1));
		memcpy(cut, buf, n);
		if (tflite_write_metadata(cut, n, "te.blob", &d, &dl) == 0)
			ck_assert((const uint8_t *)d + dl <= cut + n);
		free(cut);
	}
	ck_assert_int_eq(tflite_write_metadata(NULL, 0, "a", &d, &dl), -1);
	free(buf);
	/* a model without metadata */
	dm.nmeta = 0;
	ck_assert_int_eq(tflite_write_dense(&dm, &buf, &len, NULL), 0);
	ck_assert_int_eq(tflite_write_metadata(buf, len, "te.blob", &d, &dl),
	    -1);
	free(buf);
}
END_TEST

/* A valid graph that each malformed case changes in one place. */
struct gctx {
	struct tflite_write_tensor	 t[3];
	struct tflite_write_op		 op;
	struct tflite_write_opt		 opt[2];
	struct tflite_write_meta	 meta[2];
	struct tflite_write_graph	 g;
	int32_t				 in[2], out, gin, gout;
	float				 s[2];
	int64_t				 z[2];
	char				 longname[TFLITE_WRITE_MAX_STRING + 2];
};

static const int8_t	 GW[8] = { 1, 2, 3, 4, -5, -6, -7, -8 };

/* Fill x with the valid graph: int8 FC [1,4] x [2,4] -> [1,2]. */
static void
gctx_init(struct gctx *x)
{
	memset(x, 0, sizeof *x);
	x->s[0] = 0.5f;
	x->s[1] = 0.25f;
	x->t[0] = (struct tflite_write_tensor){ .type = I8, .ndims = 2,
	    .dims = { 1, 4 }, .nq = 1, .scales = x->s, .zero_points = x->z };
	x->t[1] = (struct tflite_write_tensor){ .type = I8, .ndims = 2,
	    .dims = { 2, 4 }, .data = GW, .bytes = sizeof GW, .nq = 2,
	    .scales = x->s, .zero_points = x->z, .qdim = 0 };
	x->t[2] = x->t[0];
	x->t[2].dims[1] = 2;
	x->in[0] = 0;
	x->in[1] = 1;
	x->out = 2;
	x->gout = 2;
	x->opt[0] = (struct tflite_write_opt){ 0, 'b', 0, 0 };
	x->opt[1] = (struct tflite_write_opt){ 1, 'b', 0, 0 };
	x->op = (struct tflite_write_op){ .code = 9, .options_type = 8,
	    .nin = 2, .nout = 1, .in = x->in, .out = &x->out, .nopt = 2,
	    .opt = x->opt };
	x->meta[0] = (struct tflite_write_meta){ "m0", "ab", 2 };
	x->meta[1] = (struct tflite_write_meta){ "m1", "cd", 2 };
	x->g = (struct tflite_write_graph){ .tensors = x->t, .ntensors = 3,
	    .ops = &x->op, .nops = 1, .inputs = &x->gin, .ninputs = 1,
	    .outputs = &x->gout, .noutputs = 1, .meta = x->meta, .nmeta = 2 };
	memset(x->longname, 'n', sizeof x->longname - 1);
}

/* Break x in the way of case c; the cause expected, NULL past the end. */
static const char *
gctx_break(struct gctx *x, int c)
{
	static const int8_t	 dummy[16];

	switch (c) {
	case 0: x->g.ntensors = 0; return ("0 tensors");
	case 1: x->g.ntensors = TFLITE_WRITE_MAX_TENSORS + 1;
		return ("4097 tensors");
	case 2: x->g.nops = 0; return ("0 operators");
	case 3: x->g.nops = TFLITE_WRITE_MAX_OPS + 1; return ("4097 operators");
	case 4: x->t[0].type = 5; return ("tensor 0: type 5 not supported");
	case 5: x->t[0].ndims = 9; return ("tensor 0: 9 dimensions");
	case 6: x->t[0].ndims = -1; return ("tensor 0: -1 dimensions");
	case 7: x->t[2].dims[1] = 0; return ("tensor 2: dimension 1 is 0");
	case 8: x->t[2].dims[0] = -3; return ("tensor 2: dimension 0 is -3");
	case 9: x->t[0].dims[0] = 65536; x->t[0].dims[1] = 65536;
		return ("tensor 0: shape too large");
	case 10: x->t[1].bytes = 7;
		return ("tensor 1: 7 bytes of data for 8");
	case 11: x->t[2].bytes = 2; return ("tensor 2: 2 bytes without data");
	case 12: x->t[2].name = x->longname; return ("tensor 2: name over");
	case 13: x->t[1].dims[0] = 1; x->t[1].bytes = 4;
		return ("tensor 1: 2 scales do not match dimension 0");
	case 14: x->t[1].qdim = 2;
		return ("tensor 1: 2 scales do not match dimension 2");
	case 15: x->s[1] = 0; return ("tensor 1: scale 1 is 0");
	case 16: x->s[0] = NAN; return ("tensor 0: scale 0 is nan");
	case 17: x->z[0] = 128;
		return ("tensor 0: zero point 128 out of range");
	case 18: x->t[0].scales = NULL; return ("tensor 0: 1 scales");
	case 19: x->op.code = 32; return ("operator 0: code 32 not supported");
	case 20: x->op.code = -1; return ("operator 0: code -1 not supported");
	case 21: x->op.code = 1024;
		return ("operator 0: code 1024 not supported");
	case 22: x->op.options_type = 0; return ("operator 0: options type 0");
	case 23: x->op.options_type = 256;
		return ("operator 0: options type 256");
	case 24: x->op.nout = 0; return ("operator 0: no outputs");
	case 25: x->in[0] = 7;
		return ("operator 0: tensor index 7 out of range");
	case 26: x->out = -1;
		return ("operator 0: tensor index -1 out of range");
	case 27: x->op.nin = TFLITE_WRITE_MAX_OP_IO + 1;
		return ("operator 0: 17 tensors");
	case 28: x->opt[1].id = TFLITE_WRITE_MAX_OPT_ID + 1;
		return ("operator 0: option id 32 out of range");
	case 29: x->opt[1].id = 0; return ("operator 0: option 0 twice");
	case 30: x->opt[1].kind = 'x'; return ("operator 0: option 1 kind");
	case 31: x->op.nopt = -1; return ("operator 0: -1 options");
	case 32: x->g.ninputs = 0;
		return ("graph without inputs or outputs");
	case 33: x->gout = 3;
		return ("graph outputs: tensor index 3 out of range");
	case 34: x->gin = -1;
		return ("graph inputs: tensor index -1 out of range");
	case 35: x->g.description = x->longname;
		return ("description over 4096 bytes");
	case 36: x->g.nmeta = TFLITE_WRITE_MAX_META + 1;
		return ("17 metadata entries");
	case 37: x->meta[1].name = NULL; return ("metadata 1: no name");
	case 38: x->meta[1].name = ""; return ("metadata 1: no name");
	case 39: x->meta[1].name = "m0"; return ("metadata 1: name m0 twice");
	case 40: x->meta[0].data = NULL; return ("metadata 0: no data");
	case 41: x->meta[0].name = x->longname;
		return ("metadata 0: name over");
	case 42: x->meta[0].len = (size_t)1 << 31;
		return ("metadata 0: too large");
	case 43:
		/* two 1 GiB constants: each fits, the file would not */
		x->t[1] = (struct tflite_write_tensor){ .type = I8, .ndims = 1,
		    .dims = { 1 << 30 }, .data = dummy, .bytes = 1u << 30 };
		x->t[2] = x->t[1];
		return ("model of 2 GiB or more");
	}
	return (NULL);
}

#define NBAD_GRAPH	44

/* Each bound of tflite_write() refused, with its cause, nothing written. */
START_TEST(graph_refused)
{
	struct gctx	 x;
	const char	*want;
	uint8_t		*buf;
	size_t		 len = 0;
	char		*cause = NULL;

	gctx_init(&x);
	ck_assert_int_eq(tflite_write(&x.g, &buf, &len, NULL), 0);
	free(buf);
	ck_assert_ptr_nonnull(want = gctx_break(&x, _i));
	buf = NULL;
	ck_assert_int_eq(tflite_write(&x.g, &buf, &len, NULL), -1);
	ck_assert_int_eq(tflite_write(&x.g, &buf, &len, &cause), -1);
	ck_assert_ptr_null(buf);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "case %d: \"%s\"", _i,
	    cause);
	ck_assert_ptr_null(strchr(cause, '\n'));
	free(cause);
}
END_TEST

/* Break dense model dm (layers l) the way of case c; the cause expected. */
static const char *
dense_break(struct tflite_write_dense *l, struct tflite_write_dense_model *dm,
    int c)
{
	static const int8_t	 wneg[6] = { 10, -20, 30, 40, -128, -60 };

	switch (c) {
	case 0: dm->nlayers = 0; return ("0 layers");
	case 1: dm->nlayers = TFLITE_WRITE_MAX_LAYERS + 1; return ("65 layers");
	case 2: l[0].in = 0; return ("layer 0: 0 x 2");
	case 3: l[1].out = TFLITE_WRITE_MAX_WIDTH + 1;
		return ("layer 1: 2 x 65537");
	case 4: l[1].in = 3; return ("layer 1: 3 inputs after 2 outputs");
	case 5: l[0].weights = NULL; return ("layer 0: no weights");
	case 6: l[1].bias = NULL; return ("layer 1: no weights");
	case 7: l[1].w_scales = NULL; return ("layer 1: no weights");
	case 8: l[0].relu = 2; return ("layer 0: activation 2");
	case 9: l[0].weights = wneg; return ("layer 0: weight 4 is -128");
	case 10: dm->in_scale = 0; return ("tensor 0: scale 0 is 0");
	case 11: l[0].out_zp = 128; return ("zero point 128 out of range");
	case 12: dm->in_zp = -129; return ("zero point -129 out of range");
	case 13: l[1].out_scale = INFINITY; return ("tensor 6: scale 0 is inf");
	case 14: dm->in_scale = 1e-44f;
		/* the bias scale in_scale x w_scale underflows to 0 */
		return ("tensor 2: scale 0 is 0");
	}
	return (NULL);
}

#define NBAD_DENSE	15

/* Each bound of tflite_write_dense() refused, with its cause. */
START_TEST(dense_refused)
{
	struct tflite_write_dense	 l[2];
	struct tflite_write_dense_model	 dm;
	const char			*want;
	uint8_t				*buf = NULL;
	size_t				 len;
	char				*cause = NULL;

	dense_model(l, &dm);
	ck_assert_ptr_nonnull(want = dense_break(l, &dm, _i));
	ck_assert_int_eq(tflite_write_dense(&dm, &buf, &len, NULL), -1);
	ck_assert_int_eq(tflite_write_dense(&dm, &buf, &len, &cause), -1);
	ck_assert_ptr_null(buf);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "case %d: \"%s\"", _i,
	    cause);
	free(cause);
}
END_TEST

/* The largest dense stack the bounds allow is written and runs. */
START_TEST(dense_at_bounds)
{
	struct tflite_write_dense	*l;
	struct tflite_write_dense_model	 dm;
	static int8_t			 w[64];
	static float			 ws[8];
	static int32_t			 b[8];
	int8_t				 x[8] = { 0 }, y[8];
	uint8_t				*buf;
	size_t				 len;
	int				 k;

	for (k = 0; k < 64; k++)
		w[k] = (int8_t)((k * 37) % 255 - 127);
	for (k = 0; k < 8; k++)
		ws[k] = 0.01f;
	ck_assert_ptr_nonnull(l = calloc(TFLITE_WRITE_MAX_LAYERS, sizeof *l));
	for (k = 0; k < TFLITE_WRITE_MAX_LAYERS; k++)
		l[k] = (struct tflite_write_dense){ .in = 8, .out = 8,
		    .weights = w, .w_scales = ws, .bias = b, .out_scale = 0.1f,
		    .relu = k % 2 };
	dm = (struct tflite_write_dense_model){ .layers = l,
	    .nlayers = TFLITE_WRITE_MAX_LAYERS, .in_scale = 0.1f };
	ck_assert_int_eq(tflite_write_dense(&dm, &buf, &len, NULL), 0);
	/* zero in, zero bias: zero through every layer */
	run(buf, len, x, sizeof x, y, sizeof y);
	ck_assert_int_eq(memcmp(x, y, sizeof y), 0);
	free(buf);
	free(l);
}
END_TEST

/* Run the suite. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ float_fc, 0 },
		{ int8_dense, 0 },
		{ layout, 0 },
		{ high_code, 0 },
		{ metadata, 0 },
		{ graph_refused, NBAD_GRAPH },
		{ dense_refused, NBAD_DENSE },
		{ dense_at_bounds, 0 },
	};

	return (testutil_run("tflite_write", 120, cases,
	    sizeof cases / sizeof cases[0]));
}
