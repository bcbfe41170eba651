/*
 * fl_int.h - what the files of the federated-learning library share: the
 * cause helper and little-endian float32 loads and stores (the head, the
 * update and the validation file are all little-endian on the wire, and
 * their buffers come from the network or a file with no alignment).
 */
#ifndef TE_FL_INT_H
#define TE_FL_INT_H

#include <stdint.h>
#include <string.h>

/* Bounds on what a head may hold: the flatbuffer reader allows more. */
#define FL_MAX_VALUES	(1u << 24)	/* rows * cols + rows */

/* The validation file (docs/federated.md) and its bounds. */
#define FL_VAL_HEADER		12
#define FL_VAL_MAX_N		100000u		/* examples */
#define FL_VAL_MAX_VALUES	(1u << 24)	/* examples x inputs */

int	fl_fail(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Little-endian uint32 at p. */
static inline uint32_t
fl_rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

/* Little-endian float32 at p. */
static inline float
fl_rdf(const uint8_t *p)
{
	uint32_t	u = fl_rd32(p);
	float		f;

	memcpy(&f, &u, 4);
	return (f);
}

/* Store v little-endian at p. */
static inline void
fl_wr32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Store f as float32 little-endian at p. */
static inline void
fl_wrf(uint8_t *p, float f)
{
	uint32_t	u;

	memcpy(&u, &f, 4);
	fl_wr32(p, u);
}

#endif
