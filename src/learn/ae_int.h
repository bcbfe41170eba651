/*
 * ae_int.h - what the files of the autoencoder library share: the model's
 * layout (private to the library; tests include this header to build
 * models by hand) and the seeded generator (the cause helper and the
 * little-endian loads and stores come from lu.h).
 */
#ifndef TE_AE_INT_H
#define TE_AE_INT_H

#include <stdint.h>
#include <string.h>

#include "lu.h"

#include "ae.h"

/* One dense layer in float: out = W x + b, then ReLU when relu is set. */
struct ae_layer {
	uint32_t	 in, out;
	float		*w;		/* out rows of in values, row-major */
	float		*b;		/* out */
	int		 relu;
};

/*
 * A float model; once trained, the standardization is folded into l[0],
 * and z0 keeps the first layer as trained, on standardized input (what
 * an AE_INPUT_STD int8 model quantizes).
 */
struct ae {
	uint32_t	 dim;
	struct ae_layer	 l[AE_NLAYERS];
	struct ae_layer	 z0;
	struct ae_meta	 meta;
};

struct ae	*ae_alloc(uint32_t, uint32_t, uint32_t);
void		 ae_layer_forward(const struct ae_layer *, const float *,
		    float *);
void		 ae_fold(struct ae *);
int		 ae_kind_ok(const uint8_t *, size_t);
int		 ae_check_finite(const float *, size_t, uint32_t, char **);

/* Next value of a splitmix64 sequence kept in *s. */
static inline uint64_t
ae_rand(uint64_t *s)
{
	uint64_t	 z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Uniform double in [0, 1) from the top 53 bits. */
static inline double
ae_rand01(uint64_t *s)
{
	return ((double)(ae_rand(s) >> 11) * (1.0 / 9007199254740992.0));
}

#endif
