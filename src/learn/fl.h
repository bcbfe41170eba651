/*
 * fl.h - federated learning of a model's head (SPEC section 10), as a pure
 * library: no libuv, no config, no logging.  Errors return -1 with a
 * malloc'd cause.  The daemon (src/fl.c) wraps it.
 *
 * The head is a .tflite model's last FULLY_CONNECTED layer: rows outputs
 * by cols inputs, weights row-major then biases, as float32 (dequantized
 * for int8 models).  fl_head_write() puts a head back into a copy of the
 * model: float weights as they are; int8 weights requantized with their
 * scales recomputed and the int32 bias on input scale x weight scale, as
 * TFLite expects, so the runtime loads the copy.
 */
#ifndef TE_FL_H
#define TE_FL_H

#include <stddef.h>
#include <stdint.h>

#define FL_UPDATE_HEADER	44	/* bytes before the delta */

/* A head in float32. */
struct fl_head {
	uint32_t	 rows;		/* outputs */
	uint32_t	 cols;		/* inputs */
	float		*w;		/* rows x cols, row-major */
	float		*b;		/* rows */
};

/* One node's update as parsed (delta points into the parsed buffer). */
struct fl_update {
	uint32_t	 round;
	uint8_t		 base[32];	/* sha256 of the head trained from */
	uint32_t	 samples;
	const uint8_t	*delta;		/* rows*cols + rows float32 LE */
};

/* Labelled head inputs for the validation gate (format: docs). */
struct fl_val {
	uint32_t	 n;		/* examples */
	uint32_t	 cols;
	float		*x;		/* n x cols */
	uint32_t	*label;		/* n, each < rows */
};

struct fl_agg;

int	fl_head_extract(const uint8_t *, size_t, struct fl_head *, char **);
int	fl_head_write(const uint8_t *, size_t, const struct fl_head *,
	    uint8_t **, size_t *, char **);
void	fl_head_free(struct fl_head *);
size_t	fl_head_size(const struct fl_head *);
void	fl_head_serialize(const struct fl_head *, uint8_t *);
int	fl_head_parse(const uint8_t *, size_t, uint32_t, uint32_t,
	    struct fl_head *, char **);

int	fl_update_parse(const uint8_t *, size_t, uint32_t, uint32_t,
	    struct fl_update *, char **);

struct fl_agg *fl_agg_new(uint32_t, uint32_t, double, double);
int	fl_agg_add(struct fl_agg *, const struct fl_update *);
uint32_t fl_agg_count(const struct fl_agg *);
uint64_t fl_agg_samples(const struct fl_agg *);
int	fl_agg_apply(const struct fl_agg *, const struct fl_head *,
	    struct fl_head *);
void	fl_agg_free(struct fl_agg *);

int	fl_val_parse(const uint8_t *, size_t, uint32_t, uint32_t,
	    struct fl_val *, char **);
double	fl_val_accuracy(const struct fl_head *, const struct fl_val *);
void	fl_val_free(struct fl_val *);

#endif
