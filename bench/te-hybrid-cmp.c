/* te-hybrid-cmp.c - a model's outputs against reference vectors, as the
 * relative error max |ours - ref| / max |ref| per vector (bench/hybrid-check).
 *
 * Reads DIR/input_NN.bin and DIR/expected_NN.bin (raw float32, one input
 * and one output tensor) for NN = 00, 01, ... until one is missing.
 *
 * usage: te-hybrid-cmp MODEL DIR
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite.h"

/* Read a whole file; NULL if it cannot be read. */
static void *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	void *b = NULL;
	long len;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)len)) != NULL &&
	    fread(b, 1, (size_t)len, f) != (size_t)len) {
		free(b);
		b = NULL;
	}
	*n = b ? (size_t)len : 0;
	fclose(f);
	return b;
}

/* Run every vector; print the relative error of each and the worst. */
int
main(int argc, char **argv)
{
	struct tflite_model *m;
	struct tflite_tensor_info ii, oi;
	char *cause = NULL, path[4096];
	double worst = 0;
	if (argc != 3) {
		fprintf(stderr, "usage: te-hybrid-cmp MODEL DIR\n");
		return 2;
	}
	if (tflite_model_load_file(argv[1], &m, &cause) < 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	tflite_model_input_info(m, 0, &ii);
	tflite_model_output_info(m, 0, &oi);
	int v = 0;
	for (;; v++) {
		size_t ni, ne;
		snprintf(path, sizeof path, "%s/input_%02d.bin", argv[2], v);
		float *x = slurp(path, &ni);
		snprintf(path, sizeof path, "%s/expected_%02d.bin", argv[2], v);
		float *e = slurp(path, &ne);
		if (x == NULL || e == NULL || ni != ii.bytes || ne != oi.bytes) {
			free(x);
			free(e);
			break;
		}
		memcpy(tflite_model_input(m, 0), x, ni);
		if (tflite_model_invoke(m, &cause) < 0) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			return 1;
		}
		const float *o = tflite_model_output(m, 0);
		double mx = 0, md = 0;
		for (size_t i = 0; i < ne / 4; i++) {
			mx = fmax(mx, fabs(e[i]));
			md = fmax(md, fabs((double)o[i] - e[i]));
		}
		double rel = mx > 0 ? md / mx : md;
		printf("vector %02d: max |diff| %.3g, max |ref| %.3g, relative %.3g\n",
		       v, md, mx, rel);
		worst = fmax(worst, rel);
		free(x);
		free(e);
	}
	printf("%d vectors, worst relative error %.3g\n", v, worst);
	tflite_model_free(m);
	return v > 0 ? 0 : 1;
}
