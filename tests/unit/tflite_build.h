/* tflite_build.h - a tiny .tflite writer for tests, fuzz seeds and tools.
 *
 * Builds a single-subgraph model from plain C descriptions of tensors and
 * operators.  It exists so unit tests can exercise one operator with
 * hand-computed numbers, and so malformed-file tests can craft hostile
 * files (huge shapes, out-of-range indices) without shipping binaries.
 * It writes only what the runtime reads; it is not a general FlatBuffers
 * builder.
 */
#ifndef TFLITE_BUILD_H
#define TFLITE_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* One tensor to write. */
struct tb_tensor {
	int type;               /* schema TensorType (9 = int8, 0 = float32) */
	int ndims;
	int32_t dims[8];
	const void *data;       /* constant data or NULL */
	size_t bytes;
	int nq;                 /* number of scales (0: no quantization) */
	const float *scales;
	const int64_t *zps;
	int qdim;
	uint32_t buffer;        /* 0: automatic; else forced buffer index */
};

/* One scalar option of an operator's options table. */
struct tb_opt {
	int id;
	char kind;              /* 'b' byte, 'i' int32, 'f' float */
	int32_t i;
	float f;
};

/* One operator to write. */
struct tb_op {
	int code;
	int nin, nout;
	const int32_t *in, *out;
	int nopt;
	const struct tb_opt *opt;
	int deprecated;         /* write the code in deprecated_builtin_code */
};

int tb_build(const struct tb_tensor *t, int nt, const struct tb_op *ops,
	     int nops, const int32_t *inputs, int nin, const int32_t *outputs,
	     int nout, uint8_t **out, size_t *len);

#endif
