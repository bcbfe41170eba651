/*
 * test_ae_int8.c - the autoencoder's int8 model as written by
 * tflite_write_dense() and run by the built-in runtime: outputs against
 * the float model within a bound derived from the scales, decisions and
 * anomalies against the float model's, standardized against raw input,
 * the 20 KB size of the defaults, and ae_runner (the scorer of written
 * files) against the step-by-step node path, with a table of files it
 * must refuse.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_fixture.h"
#include "learn/ae.h"
#include "learn/ae_int.h"
#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_write.h"

/*
 * A bound on |int8 output - float output| derived from the scales: the
 * error e of a layer's inputs (input: half a step) grows through layer
 * j's output channel c to at most
 *	sum_i |w_ci| e			(the input error through the weights)
 *	+ ws_c / 2 * (|a|_1 + in e)	(weight rounding, |a| the float input)
 *	+ in_scale * ws_c / 2		(bias rounding)
 * plus 1.5 output steps (the requantization's rounding, the fixed-point
 * multiplier and the zero point's nudge); ReLU does not increase it.
 * a1 is the largest |a|_1 of each layer's input over the windows.
 */
static double
int8_bound(const struct ae *ae, const struct ae_layer *first,
    const struct tflite_write_dense_model *m, const double *a1)
{
	const struct ae_layer		*l;
	const struct tflite_write_dense	*d;
	double				 e = m->in_scale / 2, next, s, sw;
	float				 in_scale = m->in_scale;
	uint32_t			 c, i;
	int				 j;

	for (j = 0; j < AE_NLAYERS; j++) {
		l = j == 0 ? first : &ae->l[j];
		d = &m->layers[j];
		next = 0;
		for (c = 0; c < l->out; c++) {
			sw = 0;
			for (i = 0; i < l->in; i++)
				sw += fabs(l->w[(size_t)c * l->in + i]);
			s = sw * e + d->w_scales[c] / 2 * (a1[j] + l->in * e) +
			    in_scale * d->w_scales[c] / 2;
			if (s > next)
				next = s;
		}
		e = next + 1.5 * d->out_scale;
		in_scale = d->out_scale;
	}
	return (e);
}

/* The largest |a|_1 of each int8 layer's input over n raw windows. */
static void
layer_l1(const struct ae *ae, const float *x, size_t n, uint32_t input,
    double *a1)
{
	float		 a[AE_NLAYERS + 1][SUB_DIM > AE_MAX_HIDDEN ? SUB_DIM :
			     AE_MAX_HIDDEN];
	const float	*row;
	double		 s;
	size_t		 k;
	uint32_t	 i;
	int		 j;

	memset(a1, 0, AE_NLAYERS * sizeof *a1);
	for (k = 0; k < n; k++) {
		row = x + k * SUB_DIM;
		for (i = 0; i < SUB_DIM; i++)
			a[0][i] = input == AE_INPUT_RAW ? row[i] : (row[i] -
			    ae->meta.mean[i]) / ae->meta.std[i];
		for (j = 0; j < AE_NLAYERS; j++) {
			ae_layer_forward(j == 0 && input == AE_INPUT_STD ?
			    &ae->z0 : &ae->l[j], a[j], a[j + 1]);
			s = 0;
			for (i = 0; i < ae->l[j].in; i++)
				s += fabs(a[j][i]);
			if (s > a1[j])
				a1[j] = s;
		}
	}
}

/* What running an int8 model of one input kind gave. */
struct int8_run {
	size_t	 bytes;		/* the .tflite file */
	double	 worst;		/* largest |int8 - float| output */
	double	 bound;		/* int8_bound() */
	int	 agree;		/* windows on the same side of thr */
	double	 ef, eq;	/* mean float and int8 errors */
	int	 caught;	/* of 20 anomalies, int8 error over thr */
};

/*
 * Quantize ae for input kind input, write it, load it with the runtime,
 * check its tensors and metadata, and run every window of x through it
 * as a node would (ae_input(), invoke, ae_dequant(), ae_error()).
 */
static void
int8_run(struct ae *ae, const float *x, float thr, uint32_t input,
    struct int8_run *r)
{
	struct tflite_tensor_info	 ii, oi;
	struct tflite_model		*tm;
	struct ae_meta			 meta;
	struct ae_quant			*q;
	const struct ae_layer		*first = input == AE_INPUT_STD ?
					    &ae->z0 : &ae->l[0];
	const void			*md;
	float				 fo[SUB_DIM], qo[SUB_DIM], ef, eq;
	double				 a1[AE_NLAYERS];
	uint8_t				*buf;
	size_t				 mlen, k;
	char				*cause = NULL;
	int				 i;

	memset(r, 0, sizeof *r);
	ck_assert_msg(ae_quantize(ae, x, SUB_N, input, &q, &cause) == 0, "%s",
	    cause);
	ck_assert_msg(tflite_write_dense(ae_quant_model(q), &buf, &r->bytes,
	    &cause) == 0, "%s", cause);
	ck_assert_msg(tflite_model_load_mem(buf, r->bytes, "ae", &tm, &cause)
	    == 0, "%s", cause);
	ck_assert_int_eq(tflite_model_input_info(tm, 0, &ii), 0);
	ck_assert_int_eq(tflite_model_output_info(tm, 0, &oi), 0);
	ck_assert_int_eq(ii.dtype, TFLITE_INT8);
	ck_assert_int_eq(oi.dtype, TFLITE_INT8);
	ck_assert_float_eq(ii.scale, ae_quant_model(q)->in_scale);
	ck_assert_int_eq(ii.zero_point, ae_quant_model(q)->in_zp);
	/* the metadata entry, as a node would read it */
	ck_assert_int_eq(tflite_write_metadata(buf, r->bytes, AE_META_NAME,
	    &md, &mlen), 0);
	ck_assert_int_eq(ae_meta_parse(md, mlen, &meta, &cause), 0);
	ck_assert_float_eq(meta.threshold, thr);
	ck_assert_uint_eq(meta.input, input);
	ck_assert_str_eq(meta.kind, "spectral");
	ck_assert_mem_eq(meta.std, ae_meta(ae)->std, SUB_DIM * sizeof(float));
	layer_l1(ae, x, SUB_N, input, a1);
	r->bound = int8_bound(ae, first, ae_quant_model(q), a1);
	for (k = 0; k < SUB_N; k++) {
		const float	*row = x + k * SUB_DIM;

		ae_input(&meta, row, ii.scale, ii.zero_point,
		    tflite_model_input(tm, 0));
		ck_assert_int_eq(tflite_model_invoke(tm, NULL), 0);
		ae_dequant(tflite_model_output(tm, 0), SUB_DIM, oi.scale,
		    oi.zero_point, qo);
		ae_forward(ae, row, fo);
		for (i = 0; i < SUB_DIM; i++) {
			if (fabs(qo[i] - fo[i]) > r->worst)
				r->worst = fabs(qo[i] - fo[i]);
		}
		ef = ae_error(&meta, row, fo);
		eq = ae_error(&meta, row, qo);
		r->agree += (ef > thr) == (eq > thr);
		r->ef += ef / SUB_N;
		r->eq += eq / SUB_N;
	}
	/* anomalies as in test_converge, outside the calibration ranges */
	for (k = 0; k < 20; k++) {
		float	 row[SUB_DIM];

		memcpy(row, x + k * SUB_DIM, sizeof row);
		row[0] += 3 * meta.std[0];
		row[1] -= 3 * meta.std[1];
		ae_input(&meta, row, ii.scale, ii.zero_point,
		    tflite_model_input(tm, 0));
		ck_assert_int_eq(tflite_model_invoke(tm, NULL), 0);
		ae_dequant(tflite_model_output(tm, 0), SUB_DIM, oi.scale,
		    oi.zero_point, qo);
		r->caught += ae_error(&meta, row, qo) > thr;
	}
	tflite_model_free(tm);
	ae_meta_free(&meta);
	free(buf);
	ae_quant_free(q);
}

/*
 * The int8 model written, loaded by the runtime and run on every
 * calibration window.  Standardized input (the default): every output
 * within the bound derived from the scales; the int8 error adds
 * quantization noise (output steps of ~0.03 in z) to a float error of
 * ~0.003 on this nearly noiseless problem, so with the float model's
 * threshold (the 95% quantile) at least 85% of the decisions agree, the
 * mean int8 error is under twice the float one, and every anomaly is
 * caught.  Raw input, on these features 1e-2..1e2 apart, does worse
 * (ae.h says why the default is standardized; numbers on stderr).
 */
START_TEST(test_written)
{
	struct ae_report	 rep;
	struct ae		*ae;
	struct int8_run		 s, r;
	float			*x = ae_fixture_subspace(SUB_N, 15, NULL), thr;

	ae = ae_fixture_train(x, 3, &rep);
	thr = ae_quantile(rep.held_errors, rep.nheld, 0.95);
	ae_set_threshold(ae, thr);
	int8_run(ae, x, thr, AE_INPUT_STD, &s);
	int8_run(ae, x, thr, AE_INPUT_RAW, &r);
	fprintf(stderr, "test_written: threshold %g; std input: %zu bytes, "
	    "worst %g (bound %g), agreement %d/%d, mean error float %g int8 "
	    "%g, anomalies %d/20; raw input: worst %g, agreement %d/%d, "
	    "mean int8 error %g, anomalies %d/20\n", thr, s.bytes, s.worst,
	    s.bound, s.agree, SUB_N, s.ef, s.eq, s.caught, r.worst, r.agree,
	    SUB_N, r.eq, r.caught);
	ck_assert_msg(s.worst <= s.bound, "int8 off by %g, bound %g", s.worst,
	    s.bound);
	ck_assert_msg(s.agree >= SUB_N * 85 / 100, "%d of %d agree", s.agree,
	    SUB_N);
	ck_assert(s.eq < 2 * s.ef);
	ck_assert_int_eq(s.caught, 20);
	ck_assert_int_lt(r.agree, s.agree);
	ae_report_free(&rep);
	ae_free(ae);
	free(x);
}
END_TEST

/*
 * The default sizes keep the written int8 model of dim 128 (and less)
 * within 20 KB, metadata included; dim 128's layers are 128-32-10-32-128.
 */
START_TEST(test_size)
{
	static const uint32_t	 dims[] = { 8, 39, 64, 128 };
	struct ae_params	 p;
	struct ae_report	 rep;
	struct ae		*ae;
	struct ae_quant		*q;
	uint64_t		 rng = 21;
	uint8_t			*buf;
	size_t			 len, i, k;
	float			*x = calloc(20 * 128, sizeof *x);

	ck_assert_ptr_nonnull(x);
	for (k = 0; k < 20 * 128; k++)
		x[k] = (float)ae_fixture_gauss(&rng);
	for (i = 0; i < sizeof dims / sizeof dims[0]; i++) {
		ae_params_default(&p);
		p.max_epochs = 2;
		ck_assert_int_eq(ae_train(x, 20, dims[i], &p, &ae, &rep, NULL),
		    0);
		ae_set_threshold(ae, 1);
		ck_assert_int_eq(ae_quantize(ae, x, 20, AE_INPUT_STD, &q, NULL),
		    0);
		ck_assert_int_eq(tflite_write_dense(ae_quant_model(q), &buf,
		    &len, NULL), 0);
		ck_assert_msg(len <= 20 * 1024, "dim %u: %zu bytes", dims[i],
		    len);
		if (dims[i] == 128) {
			ck_assert_uint_eq(rep.hidden, 32);
			ck_assert_uint_eq(rep.code, 10);
		}
		free(buf);
		ae_quant_free(q);
		ae_report_free(&rep);
		ae_free(ae);
	}
	free(x);
}
END_TEST

/* A trained, thresholded, quantized subspace model written to *buf. */
static struct ae_quant *
written(struct ae **ae, float **x, uint8_t **buf, size_t *len)
{
	struct ae_report	 rep;
	struct ae_quant		*q;

	*x = ae_fixture_subspace(SUB_N, 16, NULL);
	*ae = ae_fixture_train(*x, 4, &rep);
	ae_set_threshold(*ae, ae_quantile(rep.held_errors, rep.nheld, 0.99));
	ae_report_free(&rep);
	ck_assert_int_eq(ae_quantize(*ae, *x, SUB_N, AE_INPUT_STD, &q, NULL),
	    0);
	ck_assert_int_eq(tflite_write_dense(ae_quant_model(q), buf, len,
	    NULL), 0);
	return (q);
}

/*
 * The runner gives, bit for bit, the error of the node path (the runtime
 * fed by ae_quant_input(), ae_quant_output(), ae_error()); it keeps its
 * own copy of the file; a window with a NaN scores NaN (and so 1).
 */
START_TEST(test_runner)
{
	struct ae_runner	*r;
	struct tflite_model	*tm;
	struct ae_quant		*q;
	struct ae		*ae;
	float			*x, out[SUB_DIM], e1, e2, nanrow[SUB_DIM];
	uint8_t			*buf;
	size_t			 len, k;
	char			*cause = NULL;

	q = written(&ae, &x, &buf, &len);
	ck_assert_msg(ae_runner_open(buf, len, &r, &cause) == 0, "%s", cause);
	ck_assert_int_eq(tflite_model_load_mem(buf, len, "m", &tm, NULL), 0);
	memset(buf, 0, len);
	ck_assert_uint_eq(ae_runner_meta(r)->dim, SUB_DIM);
	ck_assert_float_eq(ae_runner_meta(r)->threshold,
	    ae_meta(ae)->threshold);
	for (k = 0; k < SUB_N; k++) {
		const float	*row = x + k * SUB_DIM;

		ae_quant_input(q, row, tflite_model_input(tm, 0));
		ck_assert_int_eq(tflite_model_invoke(tm, NULL), 0);
		ae_quant_output(q, tflite_model_output(tm, 0), out);
		e1 = ae_error(ae_meta(ae), row, out);
		e2 = ae_runner_error(r, row);
		ck_assert_mem_eq(&e1, &e2, sizeof e1);
	}
	memcpy(nanrow, x, sizeof nanrow);
	nanrow[3] = NAN;
	e1 = ae_runner_error(r, nanrow);
	ck_assert(isnan(e1));
	ck_assert_float_eq(ae_score(e1, 1), 1);
	tflite_model_free(tm);
	ae_runner_free(r);
	ae_quant_free(q);
	ae_free(ae);
	free(buf);
	free(x);
}
END_TEST

/* Files the runner must refuse, each with its cause. */
START_TEST(test_runner_refuse)
{
	struct tflite_write_dense_model	 dm;
	struct tflite_write_meta	 bad;
	struct ae_runner		*r;
	struct ae_quant			*q;
	struct ae_meta			 m8;
	struct ae			*ae;
	float				*x, mean[8] = { 0 }, std[8];
	uint8_t				*buf, *b2, *mb, junk[256];
	size_t				 len, l2, ml, k;
	char				*cause;

	q = written(&ae, &x, &buf, &len);
	/* garbage, empty, truncated */
	for (k = 0; k < sizeof junk; k++)
		junk[k] = (uint8_t)(k * 37 + 11);
	ck_assert_int_eq(ae_runner_open(junk, sizeof junk, &r, &cause), -1);
	ck_assert_ptr_null(r);
	free(cause);
	ck_assert_int_eq(ae_runner_open(buf, 0, &r, &cause), -1);
	free(cause);
	ck_assert_int_eq(ae_runner_open(buf, len / 2, &r, &cause), -1);
	free(cause);
	/* no metadata entry */
	dm = *ae_quant_model(q);
	dm.nmeta = 0;
	ck_assert_int_eq(tflite_write_dense(&dm, &b2, &l2, NULL), 0);
	ck_assert_int_eq(ae_runner_open(b2, l2, &r, &cause), -1);
	ck_assert_msg(strstr(cause, "no " AE_META_NAME) != NULL, "%s", cause);
	free(cause);
	free(b2);
	/* an entry that does not parse */
	bad = dm.meta[0];
	bad.len--;
	dm.meta = &bad;
	dm.nmeta = 1;
	ck_assert_int_eq(tflite_write_dense(&dm, &b2, &l2, NULL), 0);
	ck_assert_int_eq(ae_runner_open(b2, l2, &r, &cause), -1);
	ck_assert_msg(strstr(cause, "metadata is") != NULL, "%s", cause);
	free(cause);
	free(b2);
	/* an entry of another dim than the model's tensors */
	for (k = 0; k < 8; k++)
		std[k] = 1;
	m8 = (struct ae_meta){ .dim = 8, .threshold = 1, .kind = "raw",
	    .mean = mean, .std = std };
	ck_assert_int_eq(ae_meta_encode(&m8, &mb, &ml, NULL), 0);
	bad.data = mb;
	bad.len = ml;
	ck_assert_int_eq(tflite_write_dense(&dm, &b2, &l2, NULL), 0);
	ck_assert_int_eq(ae_runner_open(b2, l2, &r, &cause), -1);
	ck_assert_msg(strstr(cause, "input tensor is not int8 [1, 8]") != NULL,
	    "%s", cause);
	free(cause);
	free(b2);
	free(mb);
	ae_quant_free(q);
	ae_free(ae);
	free(buf);
	free(x);
}
END_TEST

/*
 * A threshold from the int8 model's own held-out errors, put into the
 * written file without quantizing again: the model's bytes are the same
 * but for the entry, the runner reads the new threshold, and a bad one
 * is refused with the old entry kept.
 */
START_TEST(test_int8_threshold)
{
	struct ae_report	 rep;
	struct ae_runner	*r;
	struct ae_quant		*q;
	struct ae		*ae;
	float			*x = ae_fixture_subspace(SUB_N, 18, NULL);
	float			*e8, thr;
	uint8_t			*b1, *b2;
	size_t			 l1, l2, k;
	char			*cause = NULL;

	ae = ae_fixture_train(x, 9, &rep);
	ae_set_threshold(ae, ae_quantile(rep.held_errors, rep.nheld, 0.99));
	ck_assert_int_eq(ae_quantize(ae, x, SUB_N, AE_INPUT_STD, &q, NULL), 0);
	ck_assert_int_eq(tflite_write_dense(ae_quant_model(q), &b1, &l1, NULL),
	    0);
	ck_assert_int_eq(ae_runner_open(b1, l1, &r, NULL), 0);
	e8 = calloc(rep.nheld, sizeof *e8);
	ck_assert_ptr_nonnull(e8);
	for (k = 0; k < rep.nheld; k++)
		e8[k] = ae_runner_error(r, x + rep.held_index[k] * SUB_DIM);
	ae_runner_free(r);
	thr = ae_quantile(e8, rep.nheld, 0.99);
	ck_assert(thr != ae_meta(ae)->threshold);
	ck_assert_int_eq(ae_quant_set_threshold(q, thr, NULL), 0);
	ck_assert_int_eq(ae_quant_set_threshold(q, NAN, &cause), -1);
	ck_assert_msg(strstr(cause, "threshold") != NULL, "%s", cause);
	free(cause);
	ck_assert_int_eq(tflite_write_dense(ae_quant_model(q), &b2, &l2, NULL),
	    0);
	ck_assert_uint_eq(l1, l2);
	ck_assert_int_eq(ae_runner_open(b2, l2, &r, NULL), 0);
	ck_assert_float_eq(ae_runner_meta(r)->threshold, thr);
	for (k = 0; k < rep.nheld; k++) {
		float	 e = ae_runner_error(r, x + rep.held_index[k] * SUB_DIM);

		ck_assert_mem_eq(&e, &e8[k], sizeof e);
	}
	ae_runner_free(r);
	free(e8);
	free(b1);
	free(b2);
	ae_quant_free(q);
	ae_report_free(&rep);
	ae_free(ae);
	free(x);
}
END_TEST

/* Run the tests. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_written, 0 },
		{ test_size, 0 },
		{ test_runner, 0 },
		{ test_runner_refuse, 0 },
		{ test_int8_threshold, 0 },
	};

	return (testutil_run("ae_int8", 120, cases,
	    sizeof cases / sizeof cases[0]));
}
