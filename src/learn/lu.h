/*
 * lu.h - what both families of the learning library (fl_*, federated
 * aggregation; ae_*, the gateway's autoencoders) share: the cause helper
 * and little-endian float32 and uint32 loads and stores.  The files they
 * read (heads, updates, validation sets, the autoencoder's metadata entry)
 * are little-endian on the wire, and their buffers come from the network
 * or a file with no alignment.
 */
#ifndef TE_LU_H
#define TE_LU_H

#include <stdint.h>
#include <string.h>

int	lu_fail(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Little-endian uint32 at p. */
static inline uint32_t
lu_rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

/* Little-endian float32 at p. */
static inline float
lu_rdf(const uint8_t *p)
{
	uint32_t	u = lu_rd32(p);
	float		f;

	memcpy(&f, &u, 4);
	return (f);
}

/* Store v little-endian at p. */
static inline void
lu_wr32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Store f as float32 little-endian at p. */
static inline void
lu_wrf(uint8_t *p, float f)
{
	uint32_t	u;

	memcpy(&u, &f, 4);
	lu_wr32(p, u);
}

#endif
