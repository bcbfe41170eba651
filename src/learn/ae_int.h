/*
 * ae_int.h - what the files of the autoencoder library share: the model's
 * layout (private to the library; tests include this header to build
 * models by hand), the cause helper, the seeded generator and
 * little-endian loads and stores for the metadata entry.
 */
#ifndef TE_AE_INT_H
#define TE_AE_INT_H

#include <stdint.h>
#include <string.h>

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

int		 ae_fail(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
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

/* Little-endian uint32 at p. */
static inline uint32_t
ae_rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

/* Little-endian float32 at p. */
static inline float
ae_rdf(const uint8_t *p)
{
	uint32_t	 u = ae_rd32(p);
	float		 f;

	memcpy(&f, &u, 4);
	return (f);
}

/* Store v little-endian at p. */
static inline void
ae_wr32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Store f as float32 little-endian at p. */
static inline void
ae_wrf(uint8_t *p, float f)
{
	uint32_t	 u;

	memcpy(&u, &f, 4);
	ae_wr32(p, u);
}

#endif
