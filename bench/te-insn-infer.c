/* te-insn-infer.c - load one .tflite model and invoke it N times, for
 * counting instructions under qemu (bench/neon-count).
 *
 * The inputs are filled with a fixed pseudo-random pattern (floats in
 * [-1, 1)), so every build runs the same arithmetic; a checksum of the
 * outputs is printed so that two builds can be seen to agree.  Counting
 * the same program with N = 1 and N = 3 and halving the difference gives
 * the instructions of one inference without loading and preparing.
 *
 * usage: te-insn-infer MODEL N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite.h"

/* Fill an input tensor with a fixed pattern. */
static void
fill(void *p, const struct tflite_tensor_info *ti)
{
	uint32_t s = 12345;
	size_t esz = ti->dtype == TFLITE_FLOAT32 ? 4 : 1;
	for (size_t i = 0; i < ti->bytes / esz; i++) {
		s = s * 1664525u + 1013904223u;
		if (ti->dtype == TFLITE_FLOAT32) {
			float f = (float)(s >> 8) / 8388608.0f - 1.0f;
			memcpy((char *)p + 4 * i, &f, 4);
		} else
			((uint8_t *)p)[i] = (uint8_t)(s >> 24);
	}
}

/* Load, fill, invoke n times, print the output checksum. */
int
main(int argc, char **argv)
{
	struct tflite_model *m;
	struct tflite_tensor_info ti;
	char *cause = NULL;
	if (argc != 3) {
		fprintf(stderr, "usage: te-insn-infer MODEL N\n");
		return 2;
	}
	if (tflite_model_load_file(argv[1], &m, &cause) < 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	for (int i = 0; i < tflite_model_ninputs(m); i++) {
		tflite_model_input_info(m, i, &ti);
		fill(tflite_model_input(m, i), &ti);
	}
	int n = atoi(argv[2]);
	for (int r = 0; r < n; r++)
		if (tflite_model_invoke(m, &cause) < 0) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			return 1;
		}
	uint32_t sum = 0;
	for (int i = 0; i < tflite_model_noutputs(m); i++) {
		tflite_model_output_info(m, i, &ti);
		const uint8_t *o = tflite_model_output(m, i);
		for (size_t j = 0; j < ti.bytes; j++)
			sum = sum * 31 + o[j];
	}
	printf("checksum %08x\n", sum);
	tflite_model_free(m);
	return 0;
}
