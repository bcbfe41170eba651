/*
 * tflite_build.h - hostile .tflite files for the runtime's tests.
 *
 * The models themselves come from the real writer (src/tflite/
 * tflite_write.h); these helpers then change one field of a written file in
 * place, to make what the writer refuses to write: out-of-range buffer and
 * tensor indices, bad dimensions, a buffer shared by two tensors, operator
 * codes it does not write (CUSTOM without a name, the code only in the
 * deprecated field).  Each returns 0, or -1 if the field is not in the file.
 */
#ifndef TFLITE_BUILD_H
#define TFLITE_BUILD_H

#include <stddef.h>
#include <stdint.h>

int	tb_set_tensor_buffer(uint8_t *, size_t, int, uint32_t);
int	tb_set_tensor_dim(uint8_t *, size_t, int, int, int32_t);
int	tb_set_op_input(uint8_t *, size_t, int, int, int32_t);
int	tb_set_opcode(uint8_t *, size_t, int, int, int32_t);

#endif
