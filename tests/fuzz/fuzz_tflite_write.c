/*
 * fuzz_tflite_write.c - libFuzzer target for the .tflite writer and the
 * runtime on what it writes.
 *
 * The input's first byte picks a description the rest fills in: an int8
 * dense stack (widths, scales, zero points, weights, bias, a metadata
 * entry) or one operator of any code over a few tensors of any shape, type,
 * quantization and constant data, with any options.  The writer must
 * refuse it with a one-line cause or write it; what it writes must load
 * (dense) or be refused by the runtime with a one-line cause (any
 * operator), run when it loads, and give back its metadata entry byte for
 * byte.  The metadata reader also runs on the raw input.  Seeds are in
 * tests/fuzz/corpus/tflite_write.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite.h"
#include "tflite/tflite_write.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input, consumed byte by byte (0 past its end). */
struct in {
	const uint8_t	*p;
	size_t		 n;
};

/* Next byte of the input. */
static uint8_t
next(struct in *in)
{
	if (in->n == 0)
		return (0);
	in->n--;
	return (*in->p++);
}

/* A power-of-two scale from one byte: 2^-12 .. 2^3. */
static float
scale(struct in *in)
{
	return (1.0f / (float)(1 << 12) * (float)(1 << (next(in) % 16)));
}

/* A cause must exist and be one line. */
static void
check_cause(char *cause)
{
	if (cause == NULL || strchr(cause, '\n') != NULL)
		abort();
	free(cause);
}

/* Load what was written, run it on a pattern, free it. */
static void
load_run(const uint8_t *buf, size_t len, int must_load)
{
	struct tflite_model		*m;
	struct tflite_tensor_info	 ti;
	char				*cause = NULL;
	int				 i;

	if (tflite_model_load_mem(buf, len, "fuzz", &m, &cause) == -1) {
		if (must_load)
			abort();
		check_cause(cause);
		return;
	}
	for (i = 0; i < tflite_model_ninputs(m); i++) {
		if (tflite_model_input_info(m, i, &ti) == 0)
			memset(tflite_model_input(m, i), 0x35, ti.bytes);
	}
	if (tflite_model_invoke(m, NULL) == -1 && must_load)
		abort();
	tflite_model_free(m);
}

/* Fill and write a dense stack of up to 4 layers of widths up to 16. */
static void
fuzz_dense(struct in *in)
{
	struct tflite_write_dense	 l[4];
	struct tflite_write_dense_model	 dm;
	struct tflite_write_meta	 meta;
	static int8_t			 w[4][256];
	static float			 ws[4][16];
	static int32_t			 b[4][16];
	const void			*d;
	uint8_t				*buf;
	size_t				 len, dl;
	char				*cause = NULL;
	int				 k, j, width, raw;

	memset(&dm, 0, sizeof dm);
	dm.nlayers = 1 + next(in) % 4;
	/* keep -128 weights sometimes, for the writer to refuse */
	raw = next(in) & 1;
	dm.in_scale = scale(in);
	dm.in_zp = (int8_t)next(in);
	width = 1 + next(in) % 16;
	for (k = 0; k < dm.nlayers; k++) {
		l[k].in = width;
		l[k].out = width = 1 + next(in) % 16;
		for (j = 0; j < l[k].in * l[k].out; j++) {
			w[k][j] = (int8_t)next(in);
			if (w[k][j] == -128 && !raw)
				w[k][j] = -127;
		}
		for (j = 0; j < l[k].out; j++) {
			ws[k][j] = scale(in);
			b[k][j] = (int16_t)(next(in) << 8 | next(in));
		}
		l[k].weights = w[k];
		l[k].w_scales = ws[k];
		l[k].bias = b[k];
		l[k].out_scale = scale(in);
		l[k].out_zp = (int8_t)next(in);
		l[k].relu = next(in) & 1;
	}
	dm.layers = l;
	meta = (struct tflite_write_meta){ "fz", in->p, in->n };
	dm.meta = &meta;
	dm.nmeta = 1;
	if (tflite_write_dense(&dm, &buf, &len, &cause) == -1) {
		check_cause(cause);
		return;
	}
	if (tflite_write_metadata(buf, len, "fz", &d, &dl) == -1 ||
	    dl != in->n || (dl > 0 && memcmp(d, in->p, dl) != 0))
		abort();
	load_run(buf, len, 1);
	free(buf);
}

/* Fill one tensor of a generic graph. */
static void
fuzz_tensor(struct in *in, struct tflite_write_tensor *t, uint8_t *data,
    float *s, int64_t *z)
{
	static const int	 types[4] = { 9, 0, 2, 5 };
	size_t			 n = 1;
	int			 d, k;

	memset(t, 0, sizeof *t);
	t->type = types[next(in) % 4];
	t->ndims = next(in) % 5;
	for (d = 0; d < t->ndims; d++)
		n *= (size_t)(t->dims[d] = 1 + next(in) % 4);
	if (next(in) & 1) {
		t->nq = next(in) % 5;
		t->qdim = next(in) % 4;
		for (k = 0; k < t->nq; k++) {
			s[k] = scale(in);
			z[k] = (int8_t)next(in);
		}
		t->scales = s;
		t->zero_points = z;
	}
	if (next(in) & 1) {
		/* int8 or 4-byte elements: n * 4 bytes is enough for both */
		for (k = 0; k < (int)n * 4; k++)
			data[k] = next(in);
		t->data = data;
		t->bytes = n * (t->type == 9 ? 1 : 4);
	}
}

/* Fill and write one operator of any code over up to 4 tensors. */
static void
fuzz_op(struct in *in)
{
	struct tflite_write_tensor	 t[4];
	struct tflite_write_op		 op;
	struct tflite_write_opt		 opt[4];
	struct tflite_write_graph	 g;
	static uint8_t			 data[4][256 * 4];
	float				 s[4][4];
	int64_t				 z[4][4];
	int32_t				 io[8], gin, gout;
	uint8_t				*buf;
	size_t				 len;
	char				*cause = NULL;
	int				 nt, k;

	memset(&op, 0, sizeof op);
	nt = 1 + next(in) % 4;
	for (k = 0; k < nt; k++)
		fuzz_tensor(in, &t[k], data[k], s[k], z[k]);
	op.code = next(in);
	op.options_type = next(in) % 32;
	op.nin = next(in) % 4;
	op.nout = 1 + next(in) % 2;
	for (k = 0; k < 8; k++)
		io[k] = (int32_t)(next(in) % (nt + 1)) - 1;
	op.in = io;
	op.out = io + 4;
	op.nopt = next(in) % 5;
	for (k = 0; k < op.nopt; k++) {
		opt[k].id = next(in) % 8;
		opt[k].kind = "bif"[next(in) % 3];
		opt[k].i = (int8_t)next(in);
		opt[k].f = (float)(int8_t)next(in) / 8;
	}
	op.opt = opt;
	gin = next(in) % nt;
	gout = next(in) % nt;
	g = (struct tflite_write_graph){ .tensors = t, .ntensors = nt,
	    .ops = &op, .nops = 1, .inputs = &gin, .ninputs = 1,
	    .outputs = &gout, .noutputs = 1 };
	if (tflite_write(&g, &buf, &len, &cause) == -1) {
		check_cause(cause);
		return;
	}
	load_run(buf, len, 0);
	free(buf);
}

/* One fuzz iteration. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in	 in = { data, size };
	const void	*d;
	size_t		 dl;

	if (tflite_write_metadata(data, size, "fz", &d, &dl) == 0 &&
	    ((const uint8_t *)d < data || dl > size ||
	    (const uint8_t *)d - data > (ptrdiff_t)(size - dl)))
		abort();
	if (next(&in) & 1)
		fuzz_op(&in);
	else
		fuzz_dense(&in);
	return (0);
}
