/* tflite_int.h - runtime internals shared by the loader and the kernels.
 *
 * The loader (tflite.c) turns the flatbuffer into arrays of te_tensor and
 * te_op, then calls each operator's prepare function, which checks operand
 * counts, dtypes and shapes, precomputes everything that does not depend on
 * the input values (requantization multipliers, folded zero-point
 * corrections, repacked weights) and picks an eval function.  Eval functions
 * run with all checks already done, so they never fail.  Scratch memory an
 * operator needs during eval is requested at prepare time and placed in the
 * arena by the planner.
 */
#ifndef TFLITE_INT_H
#define TFLITE_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tflite/tflite_fb.h"

#define TE_MAXD 8

/* TensorType values from the schema that the kernels use. */
enum {
	TT_FLOAT32 = 0,
	TT_INT32 = 2,
	TT_UINT8 = 3,
	TT_INT64 = 4,
	TT_INT16 = 7,
	TT_INT8 = 9
};

/* BuiltinOperator values from the schema that have kernels. */
enum {
	OP_ADD = 0,
	OP_AVERAGE_POOL_2D = 1,
	OP_CONCATENATION = 2,
	OP_CONV_2D = 3,
	OP_DEPTHWISE_CONV_2D = 4,
	OP_DEQUANTIZE = 6,
	OP_FULLY_CONNECTED = 9,
	OP_LOGISTIC = 14,
	OP_MAX_POOL_2D = 17,
	OP_MUL = 18,
	OP_RESHAPE = 22,
	OP_SOFTMAX = 25,
	OP_TANH = 28,
	OP_MEAN = 40,
	OP_QUANTIZE = 114
};

/* Fused activation functions. */
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3 };

/* One tensor of the (single) subgraph. */
struct te_tensor {
	int type;
	int ndims;
	int32_t dims[TE_MAXD];
	size_t nelem;
	size_t bytes;
	float scale;        /* first (or only) scale, 0 if none */
	int32_t zp;
	int nq;             /* number of per-axis scales (0: not quantized) */
	float *scales;      /* owned copies */
	int32_t *zps;
	int qdim;
	uint8_t *data;      /* constant data, or the tensor's place in the arena */
	int is_const;
	int is_var;
	int first, last;    /* lifetime in operator indices, for the planner */
	size_t off;
	char *name;
};

struct te_op;
typedef void (*te_eval_fn)(const struct te_op *op, struct te_tensor *t,
			   uint8_t *scratch);

/* One operator, after prepare. */
struct te_op {
	int code;
	int nin, nout;
	int32_t *in;        /* tensor indices, -1 = optional input left out */
	int32_t *out;
	void *data;         /* kernel parameters (one malloc block) */
	size_t scratch;     /* scratch bytes needed during eval */
	size_t scratch_off;
	te_eval_fn eval;
};

/* What a prepare function gets to see. */
struct te_prep {
	const struct fb *fb;
	struct fb_table opt;
	int has_opt;
	struct te_tensor *t;
	size_t nt;
	struct te_op *op;
	char *err;
	size_t errlen;
};

int te_fail(struct te_prep *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int te_cause(char **cause, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct te_tensor *te_input(struct te_prep *p, int i);
struct te_tensor *te_output(struct te_prep *p, int i);
int te_check_io(struct te_prep *p, int min_in, int max_in, int nout);
int te_act_range_q(struct te_prep *p, int act, const struct te_tensor *out,
		   int32_t *lo, int32_t *hi);
int te_act_range_f(struct te_prep *p, int act, float *lo, float *hi);
int te_same_shape(const struct te_tensor *a, const struct te_tensor *b);
int te_opt_i32(struct te_prep *p, int id, int32_t def, int32_t *v);
int te_opt_u8(struct te_prep *p, int id, uint8_t def, uint8_t *v);
int te_opt_f32(struct te_prep *p, int id, float def, float *v);
void *te_alloc(struct te_prep *p, size_t bytes);

int te_plan_arena(struct te_tensor *tensors, size_t nt, struct te_op *ops,
		  int nops, const int32_t *inputs, int nin,
		  const int32_t *outputs, int nout, uint8_t **arena,
		  size_t *arena_bytes, char *err, size_t errlen);

/* Kernel prepare functions (tflite_ops_conv.c, tflite_ops_misc.c). */
int te_prep_conv(struct te_prep *p);
int te_prep_dwconv(struct te_prep *p);
int te_prep_fc(struct te_prep *p);
int te_prep_pool(struct te_prep *p);
int te_prep_add_mul(struct te_prep *p);
int te_prep_reshape(struct te_prep *p);
int te_prep_softmax(struct te_prep *p);
int te_prep_quantize(struct te_prep *p);
int te_prep_dequantize(struct te_prep *p);
int te_prep_logistic_tanh(struct te_prep *p);
int te_prep_concat(struct te_prep *p);
int te_prep_mean(struct te_prep *p);

/* Clamp helper for int32 values. */
static inline int32_t te_clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Clamp helper for floats. */
static inline float te_clampf(float v, float lo, float hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Round-to-nearest float to int32, saturating, NaN to 0. */
static inline int32_t te_f2i(float f)
{
	if (!(f == f))
		return 0;
	if (f >= 2147483520.0f)
		return INT32_MAX;
	if (f <= -2147483648.0f)
		return INT32_MIN;
	return (int32_t)roundf(f);
}

#endif
