/*
 * tflite_write.h - writing .tflite files (SPEC section 11): the models the
 * gateway learns itself, and the hand-made models of the tests.
 *
 * Two levels.  tflite_write() takes plain C descriptions of tensors and
 * operators and writes one schema-conformant single-subgraph flatbuffer
 * (file identifier "TFL3", version 3, operator codes in both builtin_code
 * and deprecated_builtin_code, buffer 0 empty, every constant buffer
 * 16-byte aligned, optional metadata entries).  tflite_write_dense() builds
 * on it for a stack of int8 FULLY_CONNECTED layers, the shape of the
 * autoencoders the gateway trains (src/learn/ae.h), with TFLite's
 * conventions: per-channel weight scales with zero point 0, int32 bias at
 * scale input_scale * weight_scale, int8 activations per tensor.
 *
 * A pure library like the runtime: no allocation that outlives a call but
 * the output buffer, no global state, no logging.  Recoverable failures
 * return -1 and store a malloc'd one-line message in *cause (when cause is
 * not NULL).
 */
#ifndef TFLITE_WRITE_H
#define TFLITE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#define TFLITE_WRITE_MAX_DIMS	8

/* Bounds of what the writer accepts (anything larger is refused). */
#define TFLITE_WRITE_MAX_TENSORS	4096
#define TFLITE_WRITE_MAX_OPS		4096
#define TFLITE_WRITE_MAX_OP_IO		16	/* inputs or outputs of one op */
#define TFLITE_WRITE_MAX_OPT_ID		31	/* options table field index */
#define TFLITE_WRITE_MAX_META		16
#define TFLITE_WRITE_MAX_STRING		4096	/* names, description */
#define TFLITE_WRITE_MAX_LAYERS		64	/* dense stack */
#define TFLITE_WRITE_MAX_WIDTH		65536	/* dense layer width */

/* One tensor to write. */
struct tflite_write_tensor {
	const char	*name;		/* NULL: no name */
	int		 type;		/* schema TensorType (9 int8, 0 float32, 2 int32) */
	int		 ndims;
	int32_t		 dims[TFLITE_WRITE_MAX_DIMS];
	const void	*data;		/* constant data, or NULL */
	size_t		 bytes;
	int		 nq;		/* number of scales (0: not quantized) */
	const float	*scales;
	const int64_t	*zero_points;
	int		 qdim;		/* quantized_dimension */
};

/* One scalar field of an operator's builtin options table. */
struct tflite_write_opt {
	int		 id;		/* field index in the options table */
	char		 kind;		/* 'b' byte, 'i' int32, 'f' float */
	int32_t		 i;
	float		 f;
};

/* One operator to write. */
struct tflite_write_op {
	int				 code;	/* BuiltinOperator */
	int				 options_type; /* BuiltinOptions union type, 0 none */
	int				 nin, nout;
	const int32_t			*in, *out;	/* tensor indices, -1 optional */
	int				 nopt;
	const struct tflite_write_opt	*opt;
};

/* One metadata entry (name and the bytes of its buffer). */
struct tflite_write_meta {
	const char	*name;
	const void	*data;
	size_t		 len;
};

/* A whole single-subgraph model. */
struct tflite_write_graph {
	const struct tflite_write_tensor *tensors;
	int				 ntensors;
	const struct tflite_write_op	*ops;
	int				 nops;
	const int32_t			*inputs, *outputs;
	int				 ninputs, noutputs;
	const struct tflite_write_meta	*meta;
	int				 nmeta;
	const char			*description;	/* NULL: none */
};

/* One int8 FULLY_CONNECTED layer of a dense stack. */
struct tflite_write_dense {
	int		 in, out;	/* widths */
	const int8_t	*weights;	/* out rows of in values, row-major */
	const float	*w_scales;	/* out per-channel scales, zero point 0 */
	const int32_t	*bias;		/* out values, scale in_scale * w_scales[c] */
	float		 out_scale;	/* the layer's int8 output tensor */
	int32_t		 out_zp;
	int		 relu;		/* fused RELU (1) or none (0) */
};

/* A stack of int8 dense layers with int8 input and output. */
struct tflite_write_dense_model {
	const struct tflite_write_dense	*layers;
	int				 nlayers;
	float				 in_scale;	/* the int8 input tensor */
	int32_t				 in_zp;
	const struct tflite_write_meta	*meta;
	int				 nmeta;
	const char			*description;
};

/*
 * Write a model into a new malloc'd buffer (*out, *len; 16-byte aligned, for
 * tflite_model_load_mem, which may use its constant data in place).  Every
 * description is checked first: -1 and *cause for anything out of the
 * bounds above or inconsistent.  Constant tensors get buffers 1, 2, ... in
 * tensor order, then the metadata entries in their order.
 */
int	tflite_write(const struct tflite_write_graph *, uint8_t **, size_t *,
	    char **);
/* The same for a dense stack: tensors input, dense_K/weights,
 * dense_K/bias, dense_K/output, output; weights of -128 are refused. */
int	tflite_write_dense(const struct tflite_write_dense_model *, uint8_t **,
	    size_t *, char **);
/* Find metadata entry name in any .tflite (untrusted): 0 and a pointer to
 * its bytes inside the buffer and their length, or -1 if absent or
 * malformed. */
int	tflite_write_metadata(const void *, size_t, const char *,
	    const void **, size_t *);

#endif
