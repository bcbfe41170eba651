/*
 * ae_fixture.h - the autoencoder tests' shared problem (ae_fixture.c):
 * SUB_N windows of SUB_DIM features near a SUB_RANK-dimensional linear
 * subspace plus noise, the same subspace for every seed.
 */
#ifndef AE_FIXTURE_H
#define AE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define SUB_DIM		16	/* features */
#define SUB_RANK	3	/* dimension of the subspace */
#define SUB_N		200	/* windows */
#define SUB_NOISE	0.05	/* noise std, before the per-feature scale */

struct ae;
struct ae_report;

double		 ae_fixture_gauss(uint64_t *);
float		*ae_fixture_subspace(size_t, uint64_t, double *);
struct ae	*ae_fixture_train(const float *, uint64_t, struct ae_report *);

#endif
