/*
 * ae_fixture.c - what the autoencoder tests share: normal draws on the
 * library's seeded generator, windows near a low-dimensional linear
 * subspace with features of very different scales, and a training run on
 * them with the defaults.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ae_fixture.h"
#include "learn/ae.h"
#include "learn/ae_int.h"

/* A standard normal draw (Box-Muller on the library's generator). */
double
ae_fixture_gauss(uint64_t *rng)
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
float *
ae_fixture_subspace(size_t n, uint64_t seed, double *nvar)
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
			s[k] = ae_fixture_gauss(&rng);
		for (j = 0; j < SUB_DIM; j++) {
			v = SUB_NOISE * ae_fixture_gauss(&rng);
			for (k = 0; k < SUB_RANK; k++)
				v += a[j][k] * s[k];
			x[i * SUB_DIM + j] = (float)(sc[j] * v + off[j]);
		}
	}
	return (x);
}

/* Train on the subspace problem with the defaults and a seed. */
struct ae *
ae_fixture_train(const float *x, uint64_t seed, struct ae_report *rep)
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
