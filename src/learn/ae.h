/*
 * ae.h - the gateway's own anomaly models (SPEC section 11): a small dense
 * autoencoder trained in float on one node's feature vectors, then
 * quantized to int8 for the .tflite writer (src/tflite/tflite_write.h).
 * A pure library: no libuv, no config, no logging, no global state;
 * deterministic for a given seed.  Recoverable failures return -1 and
 * store a malloc'd one-line message in *cause (when cause is not NULL).
 *
 * The model.  Four FULLY_CONNECTED layers, dim -> hidden -> code ->
 * hidden -> dim, ReLU after the two hidden layers, none after the code
 * and the output.  Its output is the reconstruction IN STANDARDIZED SPACE
 * (zhat), so that every feature weighs the same in the error and the int8
 * output tensor has one range for all features.
 *
 * Its input.  The float model takes RAW feature vectors: the per-feature
 * standardization z = (x - mean) / std is folded into its first layer
 * (ae_forward()).  The int8 model takes z by default (AE_INPUT_STD): one
 * int8 scale per tensor cannot hold raw features of different scales
 * (the spectral kind mixes a gravity mean of ~10 with band powers of
 * ~1e-4); on test_ae's subspace problem, features 1e-2..1e2 apart, the
 * int8 model's mean error was 1.19 with raw input and 0.0038 with
 * standardized input, the float model's 0.0030.  Whoever runs it
 * standardizes with the metadata's mean and std, then quantizes
 * (ae_input() does both).
 * AE_INPUT_RAW (standardization folded, raw int8 input) is there for
 * features of one scale.  The metadata says which one a file takes.
 *
 * The reconstruction error of a window is
 *
 *	error = (1 / dim) * sum_i (zhat_i - (x_i - mean_i) / std_i)^2
 *
 * computed in float (double accumulator) by ae_error() from the model's
 * output (dequantized for the int8 model) and the metadata below; a node
 * that runs the model computes it the same way.
 *
 * Metadata.  The .tflite file carries one metadata entry named
 * AE_META_NAME whose buffer is, all little-endian, unaligned:
 *
 *	offset	size	field
 *	0	4	magic "TEAE"
 *	4	4	uint32 version, 1
 *	8	4	uint32 dim, 1..AE_MAX_DIM
 *	12	4	float32 threshold on the error, finite, >= 0
 *	16	4	uint32 input: 0 standardized z (AE_INPUT_STD), 1 raw x
 *	20	4	uint32 kind length k, 1..AE_KIND_MAX
 *	24	k	feature kind name ("spectral", "mfcc", "raw"; [a-z0-9_-])
 *	24+k	4*dim	float32 mean[dim], finite
 *	..	4*dim	float32 std[dim], finite, > 0 (already floored)
 *
 * and nothing after (the length must be exactly 24 + k + 8 * dim).
 *
 * Typical use (the module, in the libuv pool):
 *	ae_params_default(&p); p.seed = ...; p.kind = "spectral";
 *	ae_train(x, n, dim, &p, &ae, &rep, &cause);
 *	thr = ae_quantile(rep.held_errors, rep.nheld, 0.995);
 *	ae_set_threshold(ae, thr);
 *	ae_quantize(ae, x, n, AE_INPUT_STD, &q, &cause);
 *	tflite_write_dense(ae_quant_model(q), &buf, &len, &cause);
 * and per later window, with the written file (after a restart too):
 *	ae_runner_open(buf, len, &r, &cause);		once
 *	err = ae_runner_error(r, x);
 *	score = ae_score(err, ae_runner_meta(r)->threshold);
 * which is, step by step, what a node does with the runtime:
 *	ae_input(meta, x, in_info.scale, in_info.zero_point, input tensor);
 *	tflite_model_invoke(); ae_dequant(output, dim, scale, zp, out);
 *	err = ae_error(meta, x, out);
 */
#ifndef TE_AE_H
#define TE_AE_H

#include <stddef.h>
#include <stdint.h>

#include "../tflite/tflite_write.h"

/* Bounds (requests over them are refused with a cause). */
#define AE_MAX_DIM	1024		/* features per window */
#define AE_MAX_N	100000		/* windows per training */
#define AE_MAX_HIDDEN	256		/* widest hidden layer */
#define AE_MAX_EPOCHS	10000
#define AE_MIN_N	5		/* at least 4 to train, 1 held out */
#define AE_KIND_MAX	31		/* feature kind name length */
#define AE_NLAYERS	4

#define AE_META_NAME	"tinyedge_ae"	/* the .tflite metadata entry */
#define AE_META_VERSION	1

#define AE_INPUT_STD	0		/* the int8 model takes z */
#define AE_INPUT_RAW	1		/* the int8 model takes raw x */

/* Training settings; ae_params_default() fills every field. */
struct ae_params {
	int		 hidden;	/* 0: dim / 2 in 8..32 (int8 model of
					   dim 128: under 20 KB) */
	int		 code;		/* 0: hidden / 3 in 4..16, <= hidden */
	int		 max_epochs;	/* 300 */
	int		 patience;	/* 25 epochs without a better held loss */
	int		 batch;		/* 16 windows per step */
	float		 lr;		/* Adam step, 0.003 */
	float		 holdout;	/* 0.2 of the windows, >= 1 window */
	float		 std_floor;	/* 1e-3: a std under this fraction of the
					   largest feature std is raised to it
					   (all features constant: std 1) */
	uint64_t	 seed;		/* split, init, shuffling */
	const char	*kind;		/* feature kind for the metadata */
};

/* What a training run reports (ae_report_free() frees the arrays). */
struct ae_report {
	int		 epochs;	/* run (<= max_epochs) */
	int		 best_epoch;	/* 1-based epoch whose weights are kept */
	float		*train_loss;	/* [epochs] mean error on the trained part */
	float		*held_loss;	/* [epochs] mean error on the held part */
	size_t		 nheld;
	size_t		*held_index;	/* [nheld] window indices held out */
	float		*held_errors;	/* [nheld] ae_error() of the kept model */
	uint32_t	 hidden, code;	/* the sizes used */
};

/* What scoring needs besides the model's output (the metadata entry). */
struct ae_meta {
	uint32_t	 dim;
	float		 threshold;	/* NaN until ae_set_threshold() */
	uint32_t	 input;		/* AE_INPUT_* of the int8 model: set in
					   the entry ae_quantize() encodes
					   (ae_meta(ae) keeps AE_INPUT_STD) */
	char		 kind[AE_KIND_MAX + 1];
	float		*mean;		/* [dim] */
	float		*std;		/* [dim] */
};

struct ae;		/* a trained float model (standardization folded) */
struct ae_quant;	/* its int8 form, arrays owned */
struct ae_runner;	/* a written model loaded by the runtime */

void	ae_params_default(struct ae_params *);

/*
 * Train on n windows of dim floats (row-major x[n * dim]).  Refuses with a
 * cause: NaN or infinite values (before any training), windows that are
 * all the same, n < AE_MIN_N or > AE_MAX_N, dim 0 or > AE_MAX_DIM, sizes
 * or settings out of range.  On
 * success *out is the kept model (best held-out loss) and *rep is filled.
 */
int	ae_train(const float *, size_t, uint32_t, const struct ae_params *,
	    struct ae **, struct ae_report *, char **);
void	ae_report_free(struct ae_report *);
void	ae_free(struct ae *);

uint32_t ae_dim(const struct ae *);
/* The sizes of layer i (0..AE_NLAYERS-1): inputs and outputs. */
void	ae_layer_size(const struct ae *, int, uint32_t *, uint32_t *);
/* Float inference: raw x[dim] -> standardized reconstruction out[dim]. */
void	ae_forward(const struct ae *, const float *, float *);
/* The model's metadata (threshold NaN until set). */
const struct ae_meta *ae_meta(const struct ae *);
void	ae_set_threshold(struct ae *, float);
/* ae_forward() then ae_error() on one raw window. */
float	ae_model_error(const struct ae *, const float *);

/* A raw window to the int8 input tensor of scale, zero point (standardized
 * first when meta->input says so; rounded, clamped to [-128, 127]). */
void	ae_input(const struct ae_meta *, const float *, float, int32_t,
	    int8_t *);
/* n int8 values of scale, zero point to floats. */
void	ae_dequant(const int8_t *, uint32_t, float, int32_t, float *);
/* The reconstruction error as documented above (NaN if out has NaN). */
float	ae_error(const struct ae_meta *, const float *, const float *);
/* Quantile q in [0,1] of n values (linear between order statistics);
 * NaN if n is 0.  The values are not modified. */
float	ae_quantile(const float *, size_t, double);
/* Anomaly score err / (err + thr): monotonic in err, 0.5 at the
 * threshold, in [0,1]; NaN err scores 1; thr <= 0 gives 1 for err > 0. */
float	ae_score(float, float);

/* The metadata entry's bytes (malloc'd into *buf), or -1 on bad fields. */
int	ae_meta_encode(const struct ae_meta *, uint8_t **, size_t *, char **);
/* Parse an entry (outside input: every field checked); ae_meta_free(). */
int	ae_meta_parse(const void *, size_t, struct ae_meta *, char **);
void	ae_meta_free(struct ae_meta *);

/*
 * Post-training int8 quantization with calibration windows (raw, n x dim,
 * the node's own; NaN/inf refused).  TFLite's conventions: per-channel
 * symmetric weights (int8 in [-127, 127], zero point 0, scale max|w| /
 * 127), int32 bias at input scale x weight scale, per-tensor asymmetric
 * int8 activations from the observed min/max of each layer's float output
 * widened to include 0, the input from the range of the calibration
 * windows (standardized or raw: AE_INPUT_*).  The threshold must be set
 * first; the metadata entry is part of the result.
 */
int	ae_quantize(const struct ae *, const float *, size_t, uint32_t,
	    struct ae_quant **, char **);
/* The description to hand to tflite_write_dense() (valid until freed). */
const struct tflite_write_dense_model *ae_quant_model(const struct ae_quant *);
/*
 * Change the threshold in the int8 model's metadata entry (the model is
 * unchanged): for a threshold taken from the int8 model's own held-out
 * errors (ae_runner_error() on rep.held_index), which run a little over
 * the float model's by the quantization noise.  Write the model again.
 */
int	ae_quant_set_threshold(struct ae_quant *, float, char **);
/* ae_input() and ae_dequant() with this model's tensors. */
void	ae_quant_input(const struct ae_quant *, const float *, int8_t *);
void	ae_quant_output(const struct ae_quant *, const int8_t *, float *);
void	ae_quant_free(struct ae_quant *);

/*
 * Score with a written .tflite (outside input: the runtime checks the
 * file, then the metadata entry must parse and the tensors be int8
 * [1, dim] in and out).  The bytes are copied.  One thread at a time per
 * runner.  ae_runner_error() gives NaN for a window that is not finite.
 */
int	ae_runner_open(const void *, size_t, struct ae_runner **, char **);
const struct ae_meta *ae_runner_meta(const struct ae_runner *);
float	ae_runner_error(struct ae_runner *, const float *);
void	ae_runner_free(struct ae_runner *);

#endif
