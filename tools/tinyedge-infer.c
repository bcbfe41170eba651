/* tinyedge-infer.c - run a .tflite model with tinyedge's built-in runtime.
 *
 * SPEC section 7: --info describes the model (inputs, outputs, operators,
 * arena bytes); --input feeds raw tensor bytes and writes the raw output
 * (--output) or prints it one number per line; --bench N reports median and
 * p90 latency of N invocations after a warm-up.  A malformed model or an
 * unsupported operator is a one-line error and exit status 1; a usage error
 * is exit status 2.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "tflite/tflite.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Print the usage text to f. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: tinyedge-infer MODEL.tflite --info\n"
		"       tinyedge-infer MODEL.tflite --input IN [--output OUT]\n"
		"       tinyedge-infer MODEL.tflite --bench N\n"
		"  -i, --info         describe inputs, outputs, operators, arena\n"
		"  -I, --input FILE   raw input tensor bytes\n"
		"  -o, --output FILE  write raw output tensor bytes\n"
		"  -b, --bench N      time N invocations (after warm-up)\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n");
}

/* Print one tensor description line. */
static void print_tensor(const char *kind, int i,
			 const struct tflite_tensor_info *ti)
{
	printf("%s %d: name=%s dtype=%s shape=[", kind, i, ti->name,
	       tflite_dtype_name(ti->dtype));
	for (int d = 0; d < ti->ndims; d++)
		printf("%s%d", d ? "," : "", (int)ti->dims[d]);
	printf("] bytes=%zu", ti->bytes);
	if (ti->scale != 0)
		printf(" scale=%.9g zero_point=%d", (double)ti->scale,
		       (int)ti->zero_point);
	printf("\n");
}

/* --info. */
static int do_info(struct tflite_model *m)
{
	struct tflite_tensor_info ti;
	for (int i = 0; i < tflite_model_ninputs(m); i++)
		if (tflite_model_input_info(m, i, &ti) == 0)
			print_tensor("input", i, &ti);
	for (int i = 0; i < tflite_model_noutputs(m); i++)
		if (tflite_model_output_info(m, i, &ti) == 0)
			print_tensor("output", i, &ti);
	printf("operators: %d\n", tflite_model_nops(m));
	for (int i = 0; i < tflite_model_nops(m); i++)
		printf("  %d: %s\n", i, tflite_model_op_name(m, i));
	printf("arena_bytes=%zu\n", tflite_model_arena_bytes(m));
	return 0;
}

/* Read exactly n bytes of file path into dst. */
static int read_input(const char *path, void *dst, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "tinyedge-infer: %s: cannot open\n", path);
		return -1;
	}
	size_t got = fread(dst, 1, n, f);
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (got != n || extra) {
		fprintf(stderr, "tinyedge-infer: %s: expected %zu bytes\n", path, n);
		return -1;
	}
	return 0;
}

/* Print output tensor values one per line. */
static void print_values(const struct tflite_tensor_info *ti, const void *d)
{
	size_t n = ti->bytes;
	switch (ti->dtype) {
	case TFLITE_FLOAT32:
		for (size_t i = 0; i < n / 4; i++)
			printf("%.9g\n", (double)((const float *)d)[i]);
		break;
	case TFLITE_INT8:
		for (size_t i = 0; i < n; i++)
			printf("%d\n", ((const int8_t *)d)[i]);
		break;
	case TFLITE_UINT8:
		for (size_t i = 0; i < n; i++)
			printf("%u\n", ((const uint8_t *)d)[i]);
		break;
	case TFLITE_INT16:
		for (size_t i = 0; i < n / 2; i++)
			printf("%d\n", ((const int16_t *)d)[i]);
		break;
	case TFLITE_INT32:
		for (size_t i = 0; i < n / 4; i++)
			printf("%d\n", (int)((const int32_t *)d)[i]);
		break;
	default:
		for (size_t i = 0; i < n; i++)
			printf("%u\n", ((const uint8_t *)d)[i]);
	}
}

/* --input / --output. */
static int do_run(struct tflite_model *m, const char *in, const char *out)
{
	struct tflite_tensor_info ti;
	if (tflite_model_ninputs(m) != 1 || tflite_model_noutputs(m) < 1) {
		fprintf(stderr, "tinyedge-infer: model needs exactly one input\n");
		return 1;
	}
	tflite_model_input_info(m, 0, &ti);
	if (read_input(in, tflite_model_input(m, 0), ti.bytes) < 0)
		return 1;
	char *cause = NULL;
	if (tflite_model_invoke(m, &cause) < 0) {
		fprintf(stderr, "tinyedge-infer: %s\n", cause ? cause : "invoke failed");
		free(cause);
		return 1;
	}
	tflite_model_output_info(m, 0, &ti);
	const void *d = tflite_model_output(m, 0);
	if (!out) {
		print_values(&ti, d);
		return 0;
	}
	FILE *f = fopen(out, "wb");
	if (!f || fwrite(d, 1, ti.bytes, f) != ti.bytes) {
		fprintf(stderr, "tinyedge-infer: %s: cannot write\n", out);
		if (f)
			fclose(f);
		return 1;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "tinyedge-infer: %s: cannot write\n", out);
		return 1;
	}
	return 0;
}

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Ascending comparison for qsort. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* --bench: deterministic input, warm-up, N timed runs. */
static int do_bench(struct tflite_model *m, long n)
{
	struct tflite_tensor_info ti;
	for (int i = 0; i < tflite_model_ninputs(m); i++) {
		tflite_model_input_info(m, i, &ti);
		uint8_t *p = tflite_model_input(m, i);
		uint32_t s = 12345;
		for (size_t k = 0; k < ti.bytes; k++) {
			s = s * 1103515245u + 12345u;
			p[k] = (uint8_t)(s >> 16);
		}
		if (ti.dtype == TFLITE_FLOAT32)
			for (size_t k = 0; k < ti.bytes / 4; k++)
				((float *)(void *)p)[k] = (float)((p[k * 4] % 200) - 100) / 50.0f;
	}
	uint64_t *t = malloc(sizeof(uint64_t) * (size_t)n);
	if (!t) {
		fprintf(stderr, "tinyedge-infer: out of memory\n");
		return 1;
	}
	uint64_t w0 = now_ns();
	/* warm-up: at least 3 runs and about 100 ms */
	for (int i = 0; i < 3 || now_ns() - w0 < 100000000u; i++)
		tflite_model_invoke(m, NULL);
	for (long i = 0; i < n; i++) {
		uint64_t a = now_ns();
		tflite_model_invoke(m, NULL);
		t[i] = now_ns() - a;
	}
	qsort(t, (size_t)n, sizeof *t, cmp_u64);
	double med = n % 2 ? (double)t[n / 2] :
		     ((double)t[n / 2 - 1] + (double)t[n / 2]) / 2;
	size_t p90 = (size_t)((double)(n - 1) * 0.9 + 0.5);
	printf("runs=%ld median_us=%.1f p90_us=%.1f arena_bytes=%zu\n", n,
	       med / 1000.0, (double)t[p90] / 1000.0, tflite_model_arena_bytes(m));
	free(t);
	return 0;
}

/* Parse arguments, load the model, run the requested mode. */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "info", no_argument, NULL, 'i' },
		{ "input", required_argument, NULL, 'I' },
		{ "output", required_argument, NULL, 'o' },
		{ "bench", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int info = 0, c;
	const char *in = NULL, *out = NULL;
	long bench = 0;
	char *end;
	while ((c = getopt_long(argc, argv, "iI:o:b:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'i': info = 1; break;
		case 'I': in = optarg; break;
		case 'o': out = optarg; break;
		case 'b':
			bench = strtol(optarg, &end, 10);
			if (*end || bench < 1 || bench > 10000000) {
				fprintf(stderr, "tinyedge-infer: bad --bench count\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tinyedge-infer %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || info + !!in + !!bench != 1 || (out && !in)) {
		usage(stderr);
		return 2;
	}
	struct tflite_model *m;
	char *cause = NULL;
	if (tflite_model_load_file(argv[optind], &m, &cause) < 0) {
		fprintf(stderr, "tinyedge-infer: %s\n", cause ? cause : "load failed");
		free(cause);
		return 1;
	}
	int rc = info ? do_info(m) : in ? do_run(m, in, out) : do_bench(m, bench);
	tflite_model_free(m);
	return rc;
}
