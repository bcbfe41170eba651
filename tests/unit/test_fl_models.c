/*
 * test_fl_models.c - the federated-learning library on the shared TinyML
 * models: every model's head is found (each has a FULLY_CONNECTED); for
 * every model with reference vectors, the head written back unchanged gives
 * a model the built-in runtime loads and that answers like the original
 * (float: the same bytes and outputs; int8: within 1 LSB); and changed
 * heads change the outputs as the math says: biases + 1 on ad01_fp32
 * (whose last layer is its output) add 1 to every output, biases + 1 on a
 * float classifier leave its softmax alone, and a large bias on one class
 * of kws_ref_model (int8) makes that class win every vector.  Needs the
 * models: skipped as a whole without them (testutil.c).
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/fl.h"
#include "testutil.h"
#include "tflite/tflite.h"

#define MAXM	32
#define MAXOUT	4096		/* floats of output per vector */

static const char	*models_dir;
static char		*vec_models[MAXM];
static int		 nvec;

/* A model file in memory. */
struct model {
	uint8_t		*buf;
	size_t		 len;
};

/* Read tflite/NAME.tflite. */
static void
model_read(const char *name, struct model *m)
{
	char	 path[1400];

	snprintf(path, sizeof path, "%s/tflite/%s.tflite", models_dir, name);
	m->buf = testutil_slurp(path, &m->len);
	ck_assert_msg(m->buf != NULL, "cannot read %s", path);
}

/*
 * Run model bytes buf on vector k of NAME into out (as floats, dequantized
 * when the output is quantized, raw integers in q); 0 when no vector k.
 */
static int
run_vector(const uint8_t *buf, size_t len, const char *name, int k,
    float *out, int *q, size_t *n)
{
	struct tflite_model		*tm;
	struct tflite_tensor_info	 ii, oi;
	char				 path[1400], *cause = NULL;
	uint8_t				*in;
	const uint8_t			*y;
	size_t				 il, i;

	snprintf(path, sizeof path, "%s/vectors/%s/input_%02d.bin",
	    models_dir, name, k);
	if ((in = testutil_slurp(path, &il)) == NULL)
		return (0);
	ck_assert_msg(tflite_model_load_mem(buf, len, name, &tm, &cause) == 0,
	    "%s", cause);
	tflite_model_input_info(tm, 0, &ii);
	tflite_model_output_info(tm, 0, &oi);
	ck_assert_uint_eq(il, ii.bytes);
	memcpy(tflite_model_input(tm, 0), in, il);
	ck_assert_int_eq(tflite_model_invoke(tm, NULL), 0);
	y = tflite_model_output(tm, 0);
	*n = oi.dtype == TFLITE_FLOAT32 ? oi.bytes / 4 : oi.bytes;
	ck_assert_uint_le(*n, MAXOUT);
	for (i = 0; i < *n; i++) {
		if (oi.dtype == TFLITE_FLOAT32) {
			memcpy(&out[i], y + 4 * i, 4);
			q[i] = 0;
		} else {
			q[i] = oi.dtype == TFLITE_INT8 ? (int8_t)y[i] : y[i];
			out[i] = (float)((q[i] - oi.zero_point) *
			    (double)oi.scale);
		}
	}
	free(in);
	tflite_model_free(tm);
	return (1);
}

/* Every shared model has a head the library reads. */
START_TEST(test_extract_all)
{
	static const struct {
		const char	*name;
		uint32_t	 rows, cols;
	} want[] = {
		{ "kws_ref_model", 12, 64 },
		{ "ad01_fp32", 640, 128 },
		{ "ad01_int8", 640, 128 },
		{ "vww_96_int8", 2, 256 },
	};
	struct model	 m;
	struct fl_head	 h;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		model_read(want[i].name, &m);
		ck_assert_msg(fl_head_extract(m.buf, m.len, &h, &cause) == 0,
		    "%s: %s", want[i].name, cause);
		ck_assert_uint_eq(h.rows, want[i].rows);
		ck_assert_uint_eq(h.cols, want[i].cols);
		ck_assert(isfinite(h.w[0]) && isfinite(h.b[h.rows - 1]));
		fl_head_free(&h);
		free(m.buf);
	}
}
END_TEST

/* Unchanged head written back: the same answers on every vector. */
START_TEST(test_roundtrip)
{
	const char	*name = vec_models[_i];
	struct model	 m;
	struct fl_head	 h;
	uint8_t		*o;
	size_t		 olen, n0, n1, i;
	char		*cause = NULL;
	static float	 y0[MAXOUT], y1[MAXOUT];
	static int	 q0[MAXOUT], q1[MAXOUT];
	int		 k, worst = 0;

	ck_assert_msg(nvec > 0, "no vectors under %s", models_dir);
	model_read(name, &m);
	ck_assert_msg(fl_head_extract(m.buf, m.len, &h, &cause) == 0, "%s: %s",
	    name, cause);
	ck_assert_msg(fl_head_write(m.buf, m.len, &h, &o, &olen, &cause) == 0,
	    "%s: %s", name, cause);
	ck_assert_uint_eq(olen, m.len);
	for (k = 0; k < 100; k++) {
		if (!run_vector(m.buf, m.len, name, k, y0, q0, &n0))
			break;
		ck_assert(run_vector(o, olen, name, k, y1, q1, &n1));
		ck_assert_uint_eq(n0, n1);
		for (i = 0; i < n0; i++) {
			ck_assert_msg(abs(q0[i] - q1[i]) <= 1, "%s vector %d "
			    "output %zu: %d vs %d", name, k, i, q0[i], q1[i]);
			if (abs(q0[i] - q1[i]) > worst)
				worst = abs(q0[i] - q1[i]);
			if (q0[i] == q1[i])
				ck_assert_msg(y0[i] == y1[i], "%s vector %d "
				    "output %zu: %g vs %g", name, k, i,
				    (double)y0[i], (double)y1[i]);
		}
	}
	ck_assert_int_gt(k, 0);
	printf("# %s: %dx%u head, %d vectors, worst %d LSB\n", name, h.rows,
	    h.cols, k, worst);
	fl_head_free(&h);
	free(o);
	free(m.buf);
}
END_TEST

/* Write h into m and run vector k of name on the result. */
static void
run_changed(const struct model *m, const struct fl_head *h, const char *name,
    int k, float *y, int *q, size_t *n)
{
	uint8_t	*o;
	size_t	 olen;
	char	*cause = NULL;

	ck_assert_msg(fl_head_write(m->buf, m->len, h, &o, &olen, &cause) == 0,
	    "%s: %s", name, cause);
	ck_assert(run_vector(o, olen, name, k, y, q, n));
	free(o);
}

/* Changed heads change the outputs as the math says. */
START_TEST(test_changed)
{
	static float	 y0[MAXOUT], y1[MAXOUT];
	static int	 q0[MAXOUT], q1[MAXOUT];
	struct model	 m;
	struct fl_head	 h;
	size_t		 n0, n1, i;
	uint32_t	 r;
	int		 k;

	/* ad01_fp32 ends in its FULLY_CONNECTED: every output + 1 */
	model_read("ad01_fp32", &m);
	ck_assert(fl_head_extract(m.buf, m.len, &h, NULL) == 0);
	for (r = 0; r < h.rows; r++)
		h.b[r] += 1.0f;
	for (k = 0; k < 3; k++) {
		ck_assert(run_vector(m.buf, m.len, "ad01_fp32", k, y0, q0, &n0));
		run_changed(&m, &h, "ad01_fp32", k, y1, q1, &n1);
		ck_assert_uint_eq(n0, h.rows);
		for (i = 0; i < n0; i++)
			ck_assert_msg(fabsf(y1[i] - y0[i] - 1) < 1e-4f,
			    "output %zu: %g then %g", i, (double)y0[i],
			    (double)y1[i]);
	}
	fl_head_free(&h);
	free(m.buf);
	/* a float classifier: softmax ignores the same shift of all logits */
	model_read("vww_96_float", &m);
	ck_assert(fl_head_extract(m.buf, m.len, &h, NULL) == 0);
	for (r = 0; r < h.rows; r++)
		h.b[r] += 1.0f;
	ck_assert(run_vector(m.buf, m.len, "vww_96_float", 0, y0, q0, &n0));
	run_changed(&m, &h, "vww_96_float", 0, y1, q1, &n1);
	for (i = 0; i < n0; i++)
		ck_assert_float_eq_tol(y1[i], y0[i], 1e-5f);
	/* and one class's bias + 50 makes it certain */
	h.b[1] += 50;
	run_changed(&m, &h, "vww_96_float", 0, y1, q1, &n1);
	ck_assert_float_eq_tol(y1[1], 1.0f, 1e-6f);
	fl_head_free(&h);
	free(m.buf);
	/*
	 * int8 kws: class 7's bias + 100 wins every vector (its logit
	 * saturates at the layer's int8 range, so the others keep a little).
	 */
	model_read("kws_ref_model", &m);
	ck_assert(fl_head_extract(m.buf, m.len, &h, NULL) == 0);
	h.b[7] += 100;
	for (k = 0; k < 5; k++) {
		ck_assert(run_vector(m.buf, m.len, "kws_ref_model", k, y0, q0,
		    &n0));
		run_changed(&m, &h, "kws_ref_model", k, y1, q1, &n1);
		ck_assert_msg(q1[7] >= 100 && q1[7] > q0[7], "vector %d: "
		    "class 7 %d", k, q1[7]);
		for (i = 0; i < n1; i++)
			ck_assert_msg(i == 7 || q1[i] <= -120, "vector %d "
			    "class %zu: %d", k, i, q1[i]);
	}
	fl_head_free(&h);
	free(m.buf);
}
END_TEST

/* Ascending string order for qsort. */
static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* The models with reference vectors. */
static void
list_vectors(void)
{
	char		 path[1200];
	DIR		*d;
	struct dirent	*de;

	snprintf(path, sizeof path, "%s/vectors", models_dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && nvec < MAXM)
		if (de->d_name[0] != '.')
			vec_models[nvec++] = strdup(de->d_name);
	closedir(d);
	qsort(vec_models, (size_t)nvec, sizeof *vec_models, cmp_str);
}

int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_extract_all, 0 },
		{ test_roundtrip, 1 },
		{ test_changed, 0 },
	};
	int			 rc, i;

	models_dir = testutil_models("tflite/kws_ref_model.tflite");
	list_vectors();
	cases[1].loops = nvec > 0 ? nvec : 1;
	rc = testutil_run("fl_models", 300, cases,
	    sizeof cases / sizeof cases[0]);
	for (i = 0; i < nvec; i++)
		free(vec_models[i]);
	return (rc);
}
