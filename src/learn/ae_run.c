/*
 * ae_run.c - scoring with a written autoencoder as a node does: the
 * .tflite file (bytes from disk or from the writer) loaded by the
 * built-in runtime, its metadata entry parsed, and each raw window turned
 * into the int8 input (ae_input()), run, dequantized (ae_dequant()) and
 * measured (ae_error()).  The file is outside input: the runtime checks
 * the flatbuffer, and here the tensors must be int8 [1, dim] in and out
 * with dim the metadata's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_int.h"
#include "../tflite/tflite.h"

/* A loaded model and what scoring with it needs. */
struct ae_runner {
	struct tflite_model		*tm;
	struct ae_meta			 meta;
	struct tflite_tensor_info	 in, out;
	float				*deq;	/* [dim] dequantized output */
};

/* Check that a tensor is int8 [1, dim] (or [dim]) and quantized. */
static int
ae_run_tensor(const struct tflite_tensor_info *t, uint32_t dim,
    const char *what, char **cause)
{
	int	 shape;

	shape = (t->ndims == 2 && t->dims[0] == 1 &&
	    t->dims[1] == (int32_t)dim) || (t->ndims == 1 &&
	    t->dims[0] == (int32_t)dim);
	if (t->dtype != TFLITE_INT8 || !shape)
		return (lu_fail(cause, "%s tensor is not int8 [1, %u]", what,
		    dim));
	if (!(t->scale > 0) || !isfinite(t->scale) || t->zero_point < -128 ||
	    t->zero_point > 127)
		return (lu_fail(cause, "%s tensor is not quantized", what));
	return (0);
}

/* Load a written model and its metadata; see ae.h. */
int
ae_runner_open(const void *buf, size_t len, struct ae_runner **out,
    char **cause)
{
	struct ae_runner	*r;
	const void		*md;
	size_t			 mlen;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return (lu_fail(cause, "out of memory"));
	if (tflite_write_metadata(buf, len, AE_META_NAME, &md, &mlen) != 0) {
		free(r);
		return (lu_fail(cause, "no %s metadata entry", AE_META_NAME));
	}
	if (ae_meta_parse(md, mlen, &r->meta, cause) != 0) {
		free(r);
		return (-1);
	}
	if (tflite_model_load_mem(buf, len, "learned model", &r->tm,
	    cause) != 0)
		goto fail;
	if (tflite_model_ninputs(r->tm) != 1 ||
	    tflite_model_noutputs(r->tm) != 1) {
		lu_fail(cause, "model has not one input and one output");
		goto fail;
	}
	if (tflite_model_input_info(r->tm, 0, &r->in) != 0 ||
	    tflite_model_output_info(r->tm, 0, &r->out) != 0 ||
	    ae_run_tensor(&r->in, r->meta.dim, "input", cause) != 0 ||
	    ae_run_tensor(&r->out, r->meta.dim, "output", cause) != 0)
		goto fail;
	if ((r->deq = calloc(r->meta.dim, sizeof *r->deq)) == NULL) {
		lu_fail(cause, "out of memory");
		goto fail;
	}
	*out = r;
	return (0);
fail:
	ae_runner_free(r);
	return (-1);
}

/* The metadata of a loaded model. */
const struct ae_meta *
ae_runner_meta(const struct ae_runner *r)
{
	return (&r->meta);
}

/* Reconstruction error of one raw window under the int8 model. */
float
ae_runner_error(struct ae_runner *r, const float *x)
{
	if (ae_check_finite(x, 1, r->meta.dim, NULL) != 0)
		return (NAN);
	ae_input(&r->meta, x, r->in.scale, r->in.zero_point,
	    tflite_model_input(r->tm, 0));
	/* a prepared model cannot fail to invoke (tflite.h) */
	if (tflite_model_invoke(r->tm, NULL) != 0)
		return (NAN);
	ae_dequant(tflite_model_output(r->tm, 0), r->meta.dim, r->out.scale,
	    r->out.zero_point, r->deq);
	return (ae_error(&r->meta, x, r->deq));
}

/* Free a runner. */
void
ae_runner_free(struct ae_runner *r)
{
	if (r == NULL)
		return;
	tflite_model_free(r->tm);
	ae_meta_free(&r->meta);
	free(r->deq);
	free(r);
}
