/*
 * test_ae.c - unit tests of the autoencoder library (src/learn/ae_*.c):
 * training converges on points near a low-dimensional linear subspace
 * (a held-out loss under a bound derived from the noise) and windows off
 * the subspace score higher; runs are deterministic for a seed; folding
 * the standardization gives what standardizing by hand gives; the
 * quantizer against scales computed by hand on a tiny layer; quantile and
 * score; NaN/inf, wrong shapes and bounds refused; the metadata entry's
 * round trip and a table of malformed entries.  test_ae_int8.c runs the
 * written int8 model.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/ae.h"
#include "learn/ae_int.h"
#include "ae_fixture.h"
#include "testutil.h"

/*
 * Convergence.  With the code at least the subspace's rank, the best
 * reconstruction leaves at most the noise, whose share of standardized
 * feature j is nvar[j]: the optimal error is below mean_j nvar[j].  The
 * trained nonlinear model on 160 windows gets within 3x of that (and far
 * under 1, the error of predicting the mean).  A window pushed off the
 * subspace by 1 standardized unit along a direction the subspace cannot
 * reach has an error over every held-out window's.
 */
START_TEST(test_converge)
{
	struct ae_report	 rep;
	struct ae		*ae;
	double			 nvar[SUB_DIM], bound = 0;
	float			*x = ae_fixture_subspace(SUB_N, 11, nvar), *y, err, mx;
	size_t			 i;
	int			 j;

	for (j = 0; j < SUB_DIM; j++)
		bound += nvar[j] / SUB_DIM;
	bound *= 3;
	ae = ae_fixture_train(x, 1, &rep);
	ck_assert_uint_eq(rep.nheld, 40);
	ck_assert_int_ge(rep.epochs, rep.best_epoch);
	ck_assert_int_ge(rep.best_epoch, 1);
	/* stopped by patience (25 epochs without a better held loss) or
	 * by the epoch bound (300), and the kept loss is the best one */
	ck_assert(rep.epochs == 300 || rep.epochs == rep.best_epoch + 25);
	for (j = 0; j < rep.epochs; j++)
		ck_assert(rep.held_loss[j] >= rep.held_loss[rep.best_epoch -
		    1]);
	ck_assert_msg(rep.held_loss[rep.best_epoch - 1] < bound,
	    "held loss %g, bound %g", rep.held_loss[rep.best_epoch - 1],
	    bound);
	/* the loss fell from where it started */
	ck_assert(rep.train_loss[rep.epochs - 1] < rep.train_loss[0] / 4);
	mx = ae_quantile(rep.held_errors, rep.nheld, 1.0);
	ck_assert(mx < 4 * bound);
	/* fresh normal windows: mostly under the threshold */
	y = ae_fixture_subspace(SUB_N, 99, NULL);
	for (i = 0, j = 0; i < SUB_N; i++) {
		err = ae_model_error(ae, y + i * SUB_DIM);
		if (err > mx)
			j++;
	}
	ck_assert_msg(j < SUB_N / 10, "%d normal windows over", j);
	/* anomalies: feature 0 and 1 moved apart by 3 std each */
	for (i = 0; i < 20; i++) {
		float	*r = y + i * SUB_DIM;

		r[0] += 3 * ae_meta(ae)->std[0];
		r[1] -= 3 * ae_meta(ae)->std[1];
		err = ae_model_error(ae, r);
		ck_assert_msg(err > mx, "anomaly %zu error %g <= %g", i, err,
		    mx);
		ck_assert(ae_score(err, mx) > 0.5f);
	}
	ae_report_free(&rep);
	ae_free(ae);
	free(x);
	free(y);
}
END_TEST

/* The same seed gives the same model; another seed another split. */
START_TEST(test_deterministic)
{
	struct ae_report	 r1, r2, r3;
	struct ae		*a1, *a2, *a3;
	float			*x = ae_fixture_subspace(SUB_N, 12, NULL);

	a1 = ae_fixture_train(x, 5, &r1);
	a2 = ae_fixture_train(x, 5, &r2);
	a3 = ae_fixture_train(x, 6, &r3);
	ck_assert_int_eq(r1.epochs, r2.epochs);
	ck_assert_mem_eq(r1.held_index, r2.held_index, r1.nheld *
	    sizeof *r1.held_index);
	ck_assert_mem_eq(r1.held_errors, r2.held_errors, r1.nheld *
	    sizeof *r1.held_errors);
	ck_assert_mem_eq(a1->l[0].w, a2->l[0].w, SUB_DIM * r1.hidden *
	    sizeof(float));
	ck_assert(memcmp(r1.held_index, r3.held_index, r1.nheld *
	    sizeof *r1.held_index) != 0);
	ae_report_free(&r1);
	ae_report_free(&r2);
	ae_report_free(&r3);
	ae_free(a1);
	ae_free(a2);
	ae_free(a3);
	free(x);
}
END_TEST

/*
 * Constant features: their std is floored at 1e-3 of the largest (no
 * division by 0), training works, and a window that moves a constant
 * feature scores far over the normal ones.  (Windows all the same are
 * refused: test_refuse_values.)
 */
START_TEST(test_constant)
{
	struct ae_report	 rep;
	struct ae		*ae;
	float			*x = ae_fixture_subspace(SUB_N, 17, NULL);
	float			 mx, row[SUB_DIM], maxstd = 0;
	size_t			 i;
	int			 j;

	for (i = 0; i < SUB_N; i++)
		x[i * SUB_DIM + 5] = 3;
	ae = ae_fixture_train(x, 8, &rep);
	for (j = 0; j < SUB_DIM; j++) {
		if (ae_meta(ae)->std[j] > maxstd)
			maxstd = ae_meta(ae)->std[j];
	}
	ck_assert_float_eq_tol(ae_meta(ae)->std[5], maxstd * 1e-3f,
	    maxstd * 1e-9f);
	ck_assert_float_eq(ae_meta(ae)->mean[5], 3);
	mx = ae_quantile(rep.held_errors, rep.nheld, 1);
	ck_assert(isfinite(mx));
	memcpy(row, x, sizeof row);
	row[5] = 3 + maxstd * 0.01f;
	ck_assert(ae_model_error(ae, row) > 10 * mx);
	ae_report_free(&rep);
	ae_free(ae);
	free(x);
}
END_TEST

/* A model of the given sizes with seeded weights and biases. */
static struct ae *
hand_model(uint32_t dim, uint32_t h, uint32_t c, uint64_t seed)
{
	struct ae	*ae = ae_alloc(dim, h, c);
	uint64_t	 rng = seed;
	size_t		 k;
	uint32_t	 d;
	int		 j;

	ck_assert_ptr_nonnull(ae);
	for (j = 0; j < AE_NLAYERS; j++) {
		for (k = 0; k < (size_t)ae->l[j].in * ae->l[j].out; k++)
			ae->l[j].w[k] = (float)(ae_rand01(&rng) - 0.5);
		for (k = 0; k < ae->l[j].out; k++)
			ae->l[j].b[k] = (float)(ae_rand01(&rng) - 0.5);
	}
	for (d = 0; d < dim; d++) {
		ae->meta.mean[d] = (float)(50 * ae_rand01(&rng) - 25);
		ae->meta.std[d] = (float)pow(10, 3 * ae_rand01(&rng) - 1.5);
	}
	snprintf(ae->meta.kind, sizeof ae->meta.kind, "raw");
	return (ae);
}

/*
 * Folding: the folded model on raw x gives what the unfolded model gives
 * on x standardized by hand, and ae_error() is the mean squared
 * difference to the hand-standardized x.  Training's held-out errors are
 * the same errors computed by hand.
 */
START_TEST(test_fold)
{
	struct ae		*u = hand_model(6, 5, 2, 3), *f = hand_model(6, 5,
				    2, 3);
	struct ae_report	 rep;
	struct ae		*t;
	float			 x[6], z[6], o1[6], o2[6], *sx;
	double			 e;
	uint64_t		 rng = 9;
	size_t			 k, i;
	int			 r, d;

	ae_fold(f);
	for (r = 0; r < 50; r++) {
		for (d = 0; d < 6; d++) {
			x[d] = f->meta.mean[d] + f->meta.std[d] *
			    (float)(4 * ae_rand01(&rng) - 2);
			z[d] = (x[d] - u->meta.mean[d]) / u->meta.std[d];
		}
		ae_forward(f, x, o1);
		ae_forward(u, z, o2);
		e = 0;
		for (d = 0; d < 6; d++) {
			ck_assert_float_eq_tol(o1[d], o2[d], 1e-4);
			e += ((double)o2[d] - z[d]) * ((double)o2[d] - z[d]);
		}
		ck_assert_float_eq_tol(ae_error(&f->meta, x, o1), e / 6,
		    1e-4 * (1 + e));
	}
	ae_free(u);
	ae_free(f);

	/* the held-out errors of a training run, by hand */
	sx = ae_fixture_subspace(SUB_N, 13, NULL);
	t = ae_fixture_train(sx, 2, &rep);
	for (k = 0; k < rep.nheld; k++) {
		const float	*row = sx + rep.held_index[k] * SUB_DIM;
		float		 out[SUB_DIM];

		ae_forward(t, row, out);
		e = 0;
		for (i = 0; i < SUB_DIM; i++) {
			double	 zz = ((double)row[i] - t->meta.mean[i]) /
			    t->meta.std[i];

			e += (out[i] - zz) * (out[i] - zz);
		}
		ck_assert_float_eq_tol(rep.held_errors[k], e / SUB_DIM,
		    1e-5 * (1 + e));
	}
	/* the held windows are distinct */
	for (k = 0; k < rep.nheld; k++)
		for (i = k + 1; i < rep.nheld; i++)
			ck_assert(rep.held_index[k] != rep.held_index[i]);
	ae_report_free(&rep);
	ae_free(t);
	free(sx);
}
END_TEST

/*
 * The quantizer on a tiny model whose scales are worked out by hand.
 * Input: calibration x in {(0,1), (2,-1)}: range [-1, 2], scale 3/255,
 * zero point -128 + 1/(3/255) = -43.  Layer 0 (ReLU): rows (0.5, -1.27)
 * and (0.254, 0.1): weight scales 1.27/127 = 0.01 and 0.254/127 = 0.002,
 * int8 rows (50, -127) and (127, 50); biases 0.1 and -0.2 at 3/255 x
 * scale: 850 and -8500; outputs max(0, .) are (0, 0) and (2.37, 0.208):
 * range [0, 2.37], zero point -128.  Layer 1: all-zero weights get scale
 * 1 and its bias 0.5 is round(0.5 / (2.37/255)) = 54; its output is 0.5
 * everywhere: range [0, 0.5].  Layer 3: weights of 1e-9 next to a bias of
 * 1000 would overflow int32 at max|w|/127; the scale is raised.
 */
START_TEST(test_quant_hand)
{
	static const float	 cal[4] = { 0, 1, 2, -1 };
	static const float	 w0[4] = { 0.5f, -1.27f, 0.254f, 0.1f };
	const struct tflite_write_dense_model *m;
	const struct tflite_write_dense *l;
	struct ae		*ae = ae_alloc(2, 2, 1);
	struct ae_quant		*q;
	char			*cause = NULL;
	int8_t			 in[2];
	float			 back[2];
	double			 eff;

	ck_assert_ptr_nonnull(ae);
	memcpy(ae->l[0].w, w0, sizeof w0);
	ae->l[0].b[0] = 0.1f;
	ae->l[0].b[1] = -0.2f;
	ae->l[1].b[0] = 0.5f;
	ae->l[3].w[0] = 1e-9f;
	ae->l[3].w[1] = -1e-9f;
	ae->l[3].b[0] = 1000;
	ae->meta.mean[0] = ae->meta.mean[1] = 0;
	ae->meta.std[0] = ae->meta.std[1] = 1;
	snprintf(ae->meta.kind, sizeof ae->meta.kind, "raw");
	/* no threshold yet: refused */
	ck_assert_int_eq(ae_quantize(ae, cal, 2, AE_INPUT_RAW, &q, &cause),
	    -1);
	ck_assert_msg(strstr(cause, "threshold") != NULL, "%s", cause);
	free(cause);
	ae_set_threshold(ae, 0.25f);
	ck_assert_msg(ae_quantize(ae, cal, 2, AE_INPUT_RAW, &q, &cause) == 0,
	    "%s", cause);
	m = ae_quant_model(q);
	ck_assert_int_eq(m->nlayers, 4);
	ck_assert_float_eq_tol(m->in_scale, 3.0 / 255, 1e-9);
	ck_assert_int_eq(m->in_zp, -43);
	l = &m->layers[0];
	ck_assert_int_eq(l->in, 2);
	ck_assert_int_eq(l->out, 2);
	ck_assert_int_eq(l->relu, 1);
	ck_assert_float_eq_tol(l->w_scales[0], 0.01, 1e-9);
	ck_assert_float_eq_tol(l->w_scales[1], 0.002, 1e-10);
	ck_assert_int_eq(l->weights[0], 50);
	ck_assert_int_eq(l->weights[1], -127);
	ck_assert_int_eq(l->weights[2], 127);
	ck_assert_int_eq(l->weights[3], 50);
	ck_assert_int_eq(l->bias[0], 850);
	ck_assert_int_eq(l->bias[1], -8500);
	ck_assert_float_eq_tol(l->out_scale, 2.37 / 255, 1e-8);
	ck_assert_int_eq(l->out_zp, -128);
	l = &m->layers[1];
	ck_assert_int_eq(l->relu, 0);
	ck_assert_float_eq(l->w_scales[0], 1);
	ck_assert_int_eq(l->weights[0], 0);
	ck_assert_int_eq(l->bias[0], 54);
	ck_assert_float_eq_tol(l->out_scale, 0.5 / 255, 1e-9);
	ck_assert_int_eq(l->out_zp, -128);
	/* layer 3: bias kept within int32, the effective bias still 1000 */
	l = &m->layers[3];
	ck_assert(labs((long)l->bias[0]) <= (1L << 30) + 1);
	eff = (double)l->bias[0] * m->layers[2].out_scale * l->w_scales[0];
	ck_assert_float_eq_tol(eff, 1000, 1e-3);
	/* input and output helpers */
	ae_quant_input(q, cal + 2, in);
	ck_assert_int_eq(in[0], 127);
	ck_assert_int_eq(in[1], -128);
	in[0] = -128;
	in[1] = 27;
	ae_quant_output(q, in, back);
	ck_assert_float_eq_tol(back[0], 0, 1e-9);
	ck_assert_float_eq_tol(back[1], 155 * l->out_scale, 1e-9);
	/* the metadata entry rides along */
	ck_assert_int_eq(m->nmeta, 1);
	ck_assert_str_eq(m->meta[0].name, AE_META_NAME);
	ck_assert_uint_eq(m->meta[0].len, 24 + 3 + 16);
	ae_quant_free(q);
	ae_free(ae);
}
END_TEST

/* Quantile between order statistics; score's shape. */
START_TEST(test_quantile_score)
{
	float	 v[5] = { 3, 1, 2, 4, 10 }, e;
	float	 c[5];
	int	 i;

	memcpy(c, v, sizeof v);
	ck_assert_float_eq(ae_quantile(v, 5, 0), 1);
	ck_assert_float_eq(ae_quantile(v, 5, 1), 10);
	ck_assert_float_eq(ae_quantile(v, 5, 0.5), 3);
	ck_assert_float_eq_tol(ae_quantile(v, 5, 0.875), 7, 1e-6);
	ck_assert_float_eq_tol(ae_quantile(v, 4, 1.0 / 3), 2, 1e-6);
	ck_assert_float_eq(ae_quantile(v, 1, 0.7), 3);
	ck_assert_mem_eq(v, c, sizeof v);
	ck_assert(isnan(ae_quantile(v, 0, 0.5)));
	ck_assert(isnan(ae_quantile(v, 5, -0.1)));
	ck_assert(isnan(ae_quantile(v, 5, 1.1)));
	ck_assert(isnan(ae_quantile(v, 5, NAN)));

	ck_assert_float_eq(ae_score(2.5f, 2.5f), 0.5f);
	ck_assert_float_eq(ae_score(0, 2.5f), 0);
	ck_assert_float_eq(ae_score(INFINITY, 2.5f), 1);
	ck_assert_float_eq(ae_score(NAN, 2.5f), 1);
	ck_assert_float_eq(ae_score(1, 0), 1);
	ck_assert_float_eq(ae_score(0, 0), 0);
	ck_assert(ae_score(2.4f, 2.5f) < 0.5f);
	ck_assert(ae_score(2.6f, 2.5f) > 0.5f);
	for (i = 0, e = 0; i < 1000; i++, e += 0.01f) {
		float	 s = ae_score(e, 1), s2 = ae_score(e + 0.01f, 1);

		ck_assert(s >= 0 && s <= 1);
		ck_assert(s2 >= s);
	}
}
END_TEST

/* Training and quantizing refuse bad input before touching it. */
START_TEST(test_refuse)
{
	struct ae_params	 p;
	struct ae_report	 rep;
	struct ae		*ae = NULL;
	float			*x = ae_fixture_subspace(SUB_N, 14, NULL);
	char			*cause;
	static const struct {
		size_t		 n;
		uint32_t	 dim;
		int		 hidden, epochs, batch;
		float		 lr, holdout;
		const char	*kind, *want;
	} bad[] = {
		{ SUB_N, 0, 0, 300, 16, .003f, .2f, "raw", "dim" },
		{ 10, AE_MAX_DIM + 1, 0, 300, 16, .003f, .2f, "raw", "dim" },
		{ 4, SUB_DIM, 0, 300, 16, .003f, .2f, "raw", "windows" },
		{ AE_MAX_N + 1, 1, 0, 300, 16, .003f, .2f, "raw", "windows" },
		{ SUB_N, SUB_DIM, AE_MAX_HIDDEN + 1, 300, 16, .003f, .2f,
		    "raw", "hidden" },
		{ SUB_N, SUB_DIM, -1, 300, 16, .003f, .2f, "raw", "hidden" },
		{ SUB_N, SUB_DIM, 0, 0, 16, .003f, .2f, "raw", "epochs" },
		{ SUB_N, SUB_DIM, 0, AE_MAX_EPOCHS + 1, 16, .003f, .2f,
		    "raw", "epochs" },
		{ SUB_N, SUB_DIM, 0, 300, 0, .003f, .2f, "raw", "batch" },
		{ SUB_N, SUB_DIM, 0, 300, 16, 0, .2f, "raw", "lr" },
		{ SUB_N, SUB_DIM, 0, 300, 16, NAN, .2f, "raw", "lr" },
		{ SUB_N, SUB_DIM, 0, 300, 16, .003f, 0, "raw", "holdout" },
		{ SUB_N, SUB_DIM, 0, 300, 16, .003f, .95f, "raw", "holdout" },
		{ SUB_N, SUB_DIM, 0, 300, 16, .003f, .2f, "", "kind" },
		{ SUB_N, SUB_DIM, 0, 300, 16, .003f, .2f, "Spectral", "kind" },
		{ SUB_N, SUB_DIM, 0, 300, 16, .003f, .2f, NULL, "kind" },
		{ SUB_N, SUB_DIM, 0, 300, 16, .003f, .2f,
		    "abcdefghijklmnopqrstuvwxyz012345", "kind" },
	};
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ae_params_default(&p);
		p.hidden = bad[i].hidden;
		p.max_epochs = bad[i].epochs;
		p.batch = bad[i].batch;
		p.lr = bad[i].lr;
		p.holdout = bad[i].holdout;
		p.kind = bad[i].kind;
		cause = NULL;
		ae = (struct ae *)1;
		ck_assert_int_eq(ae_train(x, bad[i].n, bad[i].dim, &p, &ae,
		    &rep, &cause), -1);
		ck_assert_ptr_null(ae);
		ck_assert_msg(cause != NULL && strstr(cause, bad[i].want) !=
		    NULL, "case %zu: %s", i, cause);
		free(cause);
	}
	free(x);
}
END_TEST

/*
 * Values ae_train() and ae_quantize() refuse: NaN and infinity (naming
 * the place), windows all the same; the smallest set trains.
 */
START_TEST(test_refuse_values)
{
	struct ae_params	 p;
	struct ae_report	 rep;
	struct ae		*ae = NULL;
	struct ae_quant		*q;
	float			*x = ae_fixture_subspace(SUB_N, 14, NULL);
	char			*cause;
	size_t			 i;

	ae_params_default(&p);
	for (i = 1; i < SUB_N; i++)
		memcpy(x + i * SUB_DIM, x, SUB_DIM * sizeof *x);
	ck_assert_int_eq(ae_train(x, SUB_N, SUB_DIM, &p, &ae, &rep, &cause),
	    -1);
	ck_assert_msg(strstr(cause, "all the same") != NULL, "%s", cause);
	free(cause);
	free(x);
	x = ae_fixture_subspace(SUB_N, 14, NULL);
	/* NaN and infinity anywhere: refused, naming the place */
	x[5 * SUB_DIM + 3] = NAN;
	ck_assert_int_eq(ae_train(x, SUB_N, SUB_DIM, &p, &ae, &rep, &cause),
	    -1);
	ck_assert_msg(strstr(cause, "window 5 feature 3") != NULL, "%s", cause);
	free(cause);
	x[5 * SUB_DIM + 3] = 0;
	x[SUB_N * SUB_DIM - 1] = -INFINITY;
	ck_assert_int_eq(ae_train(x, SUB_N, SUB_DIM, &p, &ae, &rep, &cause),
	    -1);
	ck_assert_msg(strstr(cause, "not finite") != NULL, "%s", cause);
	free(cause);
	/* the smallest set trains (4 trained, 1 held) */
	x[SUB_N * SUB_DIM - 1] = 0;
	ck_assert_int_eq(ae_train(x, AE_MIN_N, SUB_DIM, &p, &ae, &rep, NULL),
	    0);
	ck_assert_uint_eq(rep.nheld, 1);
	ae_report_free(&rep);
	/* calibration: none, too many, or not finite */
	ae_set_threshold(ae, 1);
	ck_assert_int_eq(ae_quantize(ae, x, 0, AE_INPUT_STD, &q, NULL), -1);
	ck_assert_int_eq(ae_quantize(ae, x, AE_MAX_N + 1, AE_INPUT_STD, &q,
	    NULL), -1);
	ck_assert_int_eq(ae_quantize(ae, x, SUB_N, 2, &q, &cause), -1);
	ck_assert_msg(strstr(cause, "input kind") != NULL, "%s", cause);
	free(cause);
	x[7] = INFINITY;
	ck_assert_int_eq(ae_quantize(ae, x, SUB_N, AE_INPUT_RAW, &q, &cause),
	    -1);
	ck_assert_msg(strstr(cause, "window 0 feature 7") != NULL, "%s", cause);
	free(cause);
	ck_assert_ptr_null(q);
	ae_free(ae);
	free(x);
}
END_TEST

/* A valid entry of dim 3, kind "mfcc", into buf (24 + 4 + 24 bytes). */
static size_t
meta_valid(uint8_t *buf)
{
	float		 mean[3] = { 1, -2, 3.5f }, std[3] = { 0.5f, 2, 1e-3f };
	struct ae_meta	 m = { .dim = 3, .threshold = 0.75f, .kind = "mfcc",
	    .mean = mean, .std = std };
	uint8_t		*b;
	size_t		 len;

	ck_assert_int_eq(ae_meta_encode(&m, &b, &len, NULL), 0);
	ck_assert_uint_eq(len, 52);
	memcpy(buf, b, len);
	free(b);
	return (len);
}

/* Round trip, the documented layout; encoding refuses what parsing would. */
START_TEST(test_meta)
{
	uint8_t		 v[52];
	struct ae_meta	 m;
	size_t		 len = meta_valid(v);
	float		 mean[1] = { 0 }, std[1] = { 0 };
	struct ae_meta	 e = { .dim = 1, .threshold = 1, .kind = "raw",
	    .mean = mean, .std = std };
	uint8_t		*o;

	ck_assert_int_eq(ae_meta_parse(v, len, &m, NULL), 0);
	ck_assert_uint_eq(m.dim, 3);
	ck_assert_uint_eq(m.input, AE_INPUT_STD);
	ck_assert_float_eq(m.threshold, 0.75f);
	ck_assert_str_eq(m.kind, "mfcc");
	ck_assert_float_eq(m.mean[1], -2);
	ck_assert_float_eq(m.std[2], 1e-3f);
	ae_meta_free(&m);
	/* the layout of ae.h, byte for byte */
	ck_assert_mem_eq(v, "TEAE\001\0\0\0\003\0\0\0", 12);
	ck_assert_mem_eq(v + 12, "\0\0\100\077\0\0\0\0\004\0\0\0mfcc",
	    16);
	ck_assert_mem_eq(v + 28, "\0\0\200\077", 4);		/* mean 0 = 1 */
	ck_assert_mem_eq(v + 40, "\0\0\0\077", 4);		/* std 0 = .5 */
	ck_assert_int_eq(ae_meta_encode(&e, &o, &len, NULL), -1);
	ck_assert_ptr_null(o);
}
END_TEST

/* A table of malformed entries, and every truncation of a valid one. */
START_TEST(test_meta_bad)
{
	uint8_t		 v[52], b[64];
	struct ae_meta	 m;
	char		*cause;
	size_t		 len = meta_valid(v), i;
	static const struct {
		int		 off;	/* -1: no byte changed */
		uint32_t	 val;	/* a uint32 stored at off */
		int		 byte;	/* 1: store only the low byte */
		int		 dlen;	/* length change */
		const char	*want;
	} bad[] = {
		{ -1, 0, 0, -1, "bytes" },
		{ -1, 0, 0, 1, "bytes" },
		{ -1, 0, 0, -28, "bytes" },
		{ -1, 0, 0, -29, "too short" },
		{ -1, 0, 0, -52, "too short" },
		{ 0, 'X', 1, 0, "magic" },
		{ 4, 2, 0, 0, "version" },
		{ 4, 0, 0, 0, "version" },
		{ 8, 0, 0, 0, "dim" },
		{ 8, AE_MAX_DIM + 1, 0, 0, "dim" },
		{ 8, 0xffffffff, 0, 0, "dim" },
		{ 8, 2, 0, 0, "bytes" },
		{ 8, 4, 0, 0, "bytes" },
		{ 12, 0x7fc00000, 0, 0, "threshold" },	/* NaN */
		{ 12, 0x7f800000, 0, 0, "threshold" },	/* +inf */
		{ 12, 0xbf800000, 0, 0, "threshold" },	/* -1 */
		{ 16, 2, 0, 0, "input" },
		{ 16, 0x100, 0, 0, "input" },
		{ 20, 0, 0, 0, "kind length" },
		{ 20, AE_KIND_MAX + 1, 0, 0, "kind length" },
		{ 20, 0xffffffff, 0, 0, "kind length" },
		{ 20, 3, 0, 0, "bytes" },
		{ 20, 5, 0, 0, "bytes" },
		{ 24, 'M', 1, 0, "kind" },
		{ 25, 0, 1, 0, "kind" },
		{ 27, '/', 1, 0, "kind" },
		{ 28, 0x7fc00000, 0, 0, "mean 0" },
		{ 36, 0xff800000, 0, 0, "mean 2" },
		{ 40, 0, 0, 0, "std 0" },
		{ 44, 0xbf800000, 0, 0, "std 1" },
		{ 48, 0x7f800000, 0, 0, "std 2" },
		{ 48, 0x80000000, 0, 0, "std 2" },	/* -0 */
	};

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(b, 0, sizeof b);
		memcpy(b, v, len);
		if (bad[i].off >= 0 && bad[i].byte)
			b[bad[i].off] = (uint8_t)bad[i].val;
		else if (bad[i].off >= 0)
			lu_wr32(b + bad[i].off, bad[i].val);
		cause = NULL;
		memset(&m, 0xa5, sizeof m);
		ck_assert_int_eq(ae_meta_parse(b, len + bad[i].dlen, &m,
		    &cause), -1);
		ck_assert_msg(cause != NULL && strstr(cause, bad[i].want) !=
		    NULL, "case %zu: %s", i, cause);
		ck_assert_ptr_null(m.mean);
		ck_assert_ptr_null(m.std);
		free(cause);
	}
	/* every truncation of a valid entry is refused */
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(ae_meta_parse(v, i, &m, NULL), -1);
		ae_meta_free(&m);
	}
}
END_TEST

/* Run the tests. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_converge, 0 },
		{ test_deterministic, 0 },
		{ test_fold, 0 },
		{ test_constant, 0 },
		{ test_quant_hand, 0 },
		{ test_quantile_score, 0 },
		{ test_refuse, 0 },
		{ test_refuse_values, 0 },
		{ test_meta, 0 },
		{ test_meta_bad, 0 },
	};

	return (testutil_run("ae", 120, cases, sizeof cases / sizeof cases[0]));
}
