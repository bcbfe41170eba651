/*
 * test_ae.c - unit tests of the autoencoder library (src/learn/ae_*.c):
 * training converges on points near a low-dimensional linear subspace
 * (a held-out loss under a bound derived from the noise) and windows off
 * the subspace score higher; runs are deterministic for a seed; folding
 * the standardization gives what standardizing by hand gives; the
 * quantizer against scales computed by hand on a tiny layer; quantile and
 * score; NaN/inf, wrong shapes and bounds refused; the metadata entry's
 * round trip and a table of malformed entries; the quantized model
 * written by tflite_write_dense(), loaded by the runtime, against the
 * float model within a bound derived from its scales.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/ae.h"
#include "learn/ae_int.h"
#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_write.h"

#define SUB_DIM		16	/* features */
#define SUB_RANK	3	/* dimension of the subspace */
#define SUB_N		200	/* windows */
#define SUB_NOISE	0.05	/* noise std, before the per-feature scale */

/* A standard normal draw (Box-Muller on the library's generator). */
static double
gauss(uint64_t *rng)
{
	double	 u = ae_rand01(rng), v = ae_rand01(rng);

	return (sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v));
}

/*
 * n windows x_j = scale_j * (sum_k a[j][k] s_k + noise_j) + off_j, with
 * s ~ N(0, I) of rank SUB_RANK; a, scale, off drawn once from seed 7 so
 * every call shares the subspace.  nvar[j] (if not NULL) gets the share
 * of feature j's variance that is noise, sigma^2 / var_j.
 */
static float *
subspace(size_t n, uint64_t seed, double *nvar)
{
	static double	 a[SUB_DIM][SUB_RANK], sc[SUB_DIM], off[SUB_DIM];
	uint64_t	 g = 7, rng = seed;
	float		*x = calloc(n * SUB_DIM, sizeof *x);
	double		 s[SUB_RANK], v;
	size_t		 i;
	int		 j, k;

	ck_assert_ptr_nonnull(x);
	for (j = 0; j < SUB_DIM; j++) {
		v = 0;
		for (k = 0; k < SUB_RANK; k++) {
			a[j][k] = 2 * ae_rand01(&g) - 1;
			v += a[j][k] * a[j][k];
		}
		/* features of very different scales and offsets */
		sc[j] = pow(10, 4 * ae_rand01(&g) - 2);
		off[j] = 100 * (ae_rand01(&g) - 0.5);
		if (nvar != NULL)
			nvar[j] = SUB_NOISE * SUB_NOISE /
			    (v + SUB_NOISE * SUB_NOISE);
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < SUB_RANK; k++)
			s[k] = gauss(&rng);
		for (j = 0; j < SUB_DIM; j++) {
			v = SUB_NOISE * gauss(&rng);
			for (k = 0; k < SUB_RANK; k++)
				v += a[j][k] * s[k];
			x[i * SUB_DIM + j] = (float)(sc[j] * v + off[j]);
		}
	}
	return (x);
}

/* Train on the subspace problem with the defaults and a seed. */
static struct ae *
train_sub(const float *x, uint64_t seed, struct ae_report *rep)
{
	struct ae_params	 p;
	struct ae		*ae;
	char			*cause = NULL;

	ae_params_default(&p);
	p.seed = seed;
	p.kind = "spectral";
	ck_assert_msg(ae_train(x, SUB_N, SUB_DIM, &p, &ae, rep, &cause) == 0,
	    "%s", cause);
	return (ae);
}

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
	float			*x = subspace(SUB_N, 11, nvar), *y, err, mx;
	size_t			 i;
	int			 j;

	for (j = 0; j < SUB_DIM; j++)
		bound += nvar[j] / SUB_DIM;
	bound *= 3;
	ae = train_sub(x, 1, &rep);
	ck_assert_uint_eq(rep.nheld, 40);
	ck_assert_int_ge(rep.epochs, rep.best_epoch);
	ck_assert_int_ge(rep.best_epoch, 1);
	ck_assert_msg(rep.held_loss[rep.best_epoch - 1] < bound,
	    "held loss %g, bound %g", rep.held_loss[rep.best_epoch - 1],
	    bound);
	/* the loss fell from where it started */
	ck_assert(rep.train_loss[rep.epochs - 1] < rep.train_loss[0] / 4);
	mx = ae_quantile(rep.held_errors, rep.nheld, 1.0);
	ck_assert(mx < 4 * bound);
	/* fresh normal windows: mostly under the threshold */
	y = subspace(SUB_N, 99, NULL);
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
	float			*x = subspace(SUB_N, 12, NULL);

	a1 = train_sub(x, 5, &r1);
	a2 = train_sub(x, 5, &r2);
	a3 = train_sub(x, 6, &r3);
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
	sx = subspace(SUB_N, 13, NULL);
	t = train_sub(sx, 2, &rep);
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
	struct ae_quant		*q;
	float			*x = subspace(SUB_N, 14, NULL);
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
	/* NaN and infinity anywhere: refused, naming the place */
	ae_params_default(&p);
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

/* Round trip, the documented layout, and a table of malformed entries. */
START_TEST(test_meta)
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

	/* round trip */
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
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(b, 0, sizeof b);
		memcpy(b, v, len);
		if (bad[i].off >= 0 && bad[i].byte)
			b[bad[i].off] = (uint8_t)bad[i].val;
		else if (bad[i].off >= 0)
			ae_wr32(b + bad[i].off, bad[i].val);
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
	/* encoding refuses what parsing would */
	{
		float		 mean[1] = { 0 }, std[1] = { 0 };
		struct ae_meta	 e = { .dim = 1, .threshold = 1, .kind = "raw",
		    .mean = mean, .std = std };
		uint8_t		*o;

		ck_assert_int_eq(ae_meta_encode(&e, &o, &len, NULL), -1);
		ck_assert_ptr_null(o);
	}
}
END_TEST

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
	float			*x = subspace(SUB_N, 15, NULL), thr;

	ae = train_sub(x, 3, &rep);
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
		x[k] = (float)gauss(&rng);
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

int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_converge, 0 },
		{ test_deterministic, 0 },
		{ test_fold, 0 },
		{ test_quant_hand, 0 },
		{ test_quantile_score, 0 },
		{ test_refuse, 0 },
		{ test_meta, 0 },
		{ test_written, 0 },
		{ test_size, 0 },
	};

	return (testutil_run("ae", 120, cases, sizeof cases / sizeof cases[0]));
}
