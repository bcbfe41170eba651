/*
 * tflite_write_dense.c - the int8 dense stacks of tflite_write.h: the
 * autoencoders the gateway learns, laid out as TFLite's converter would
 * (input [1,in] int8; per layer weights [out,in] int8 per channel with
 * zero point 0, bias [out] int32 at input scale x weight scale, output
 * [1,out] int8; FULLY_CONNECTED with FullyConnectedOptions) and written by
 * tflite_write().  The tensors are named input, dense_K/weights,
 * dense_K/bias, dense_K/output and output.
 */
#include "tflite/tflite_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_int.h"

#define LAYERS	TFLITE_WRITE_MAX_LAYERS

/* What tflite_write_dense() lays out before handing it to tflite_write(). */
struct dense {
	struct tflite_write_tensor	 t[1 + 3 * LAYERS];
	struct tflite_write_op		 op[LAYERS];
	struct tflite_write_opt		 opt[LAYERS][3];
	int32_t				 io[LAYERS][4];
	char				 name[LAYERS][3][32];
	int64_t				 zp[LAYERS + 1];
	float				*bscale;
	int64_t				*zero;
};

/* Check the dense-specific parts of a stack (the rest is tflite_write's). */
static int
check_dense(const struct tflite_write_dense_model *dm, char **cause)
{
	const struct tflite_write_dense	*l;
	int				 k;
	size_t				 j;

	if (dm->nlayers < 1 || dm->nlayers > LAYERS ||
	    dm->layers == NULL)
		return (te_cause(cause, "%d layers", dm->nlayers));
	for (k = 0; k < dm->nlayers; k++) {
		l = &dm->layers[k];
		if (l->in < 1 || l->in > TFLITE_WRITE_MAX_WIDTH ||
		    l->out < 1 || l->out > TFLITE_WRITE_MAX_WIDTH)
			return (te_cause(cause, "layer %d: %d x %d", k, l->in,
			    l->out));
		if (k > 0 && l->in != dm->layers[k - 1].out)
			return (te_cause(cause, "layer %d: %d inputs after %d "
			    "outputs", k, l->in, dm->layers[k - 1].out));
		if (l->weights == NULL || l->w_scales == NULL ||
		    l->bias == NULL)
			return (te_cause(cause, "layer %d: no weights", k));
		if (l->relu != 0 && l->relu != 1)
			return (te_cause(cause, "layer %d: activation %d", k,
			    l->relu));
		/* TFLite's int8 scheme: symmetric weights in -127..127 */
		for (j = 0; j < (size_t)l->in * (size_t)l->out; j++)
			if (l->weights[j] == -128)
				return (te_cause(cause, "layer %d: weight %zu is "
				    "-128", k, j));
	}
	return (0);
}

/* Fill layer k's three tensors, its operator and its bias scales. */
static void
dense_layer(struct dense *d, const struct tflite_write_dense_model *dm,
    int k, float in_scale, float *bscale)
{
	const struct tflite_write_dense	*l = &dm->layers[k];
	struct tflite_write_tensor	*w = &d->t[1 + 3 * k];
	struct tflite_write_tensor	*b = w + 1, *o = w + 2;
	struct tflite_write_op		*op = &d->op[k];
	int				 c;

	for (c = 0; c < l->out; c++)
		bscale[c] = (float)((double)in_scale * l->w_scales[c]);
	snprintf(d->name[k][0], sizeof d->name[k][0], "dense_%d/weights", k);
	snprintf(d->name[k][1], sizeof d->name[k][1], "dense_%d/bias", k);
	if (k == dm->nlayers - 1)
		snprintf(d->name[k][2], sizeof d->name[k][2], "output");
	else
		snprintf(d->name[k][2], sizeof d->name[k][2],
		    "dense_%d/output", k);
	*w = (struct tflite_write_tensor){ .name = d->name[k][0], .type = 9,
	    .ndims = 2, .dims = { l->out, l->in }, .data = l->weights,
	    .bytes = (size_t)l->in * (size_t)l->out, .nq = l->out,
	    .scales = l->w_scales, .zero_points = d->zero, .qdim = 0 };
	*b = (struct tflite_write_tensor){ .name = d->name[k][1], .type = 2,
	    .ndims = 1, .dims = { l->out }, .data = l->bias,
	    .bytes = 4 * (size_t)l->out, .nq = l->out, .scales = bscale,
	    .zero_points = d->zero, .qdim = 0 };
	*o = (struct tflite_write_tensor){ .name = d->name[k][2], .type = 9,
	    .ndims = 2, .dims = { 1, l->out }, .nq = 1,
	    .scales = &l->out_scale, .zero_points = &d->zp[k + 1] };
	d->zp[k + 1] = l->out_zp;
	d->io[k][0] = 3 * k;
	d->io[k][1] = 1 + 3 * k;
	d->io[k][2] = 2 + 3 * k;
	d->io[k][3] = 3 + 3 * k;
	/* FullyConnectedOptions: activation 0, weights_format 1,
	 * keep_num_dims 2 */
	d->opt[k][0] = (struct tflite_write_opt){ 0, 'b', l->relu, 0 };
	d->opt[k][1] = (struct tflite_write_opt){ 1, 'b', 0, 0 };
	d->opt[k][2] = (struct tflite_write_opt){ 2, 'b', 0, 0 };
	*op = (struct tflite_write_op){ .code = 9, .options_type = 8,
	    .nin = 3, .nout = 1, .in = d->io[k], .out = &d->io[k][3],
	    .nopt = 3, .opt = d->opt[k] };
}

/* Write a stack of int8 FULLY_CONNECTED layers; *out is malloc'd. */
int
tflite_write_dense(const struct tflite_write_dense_model *dm, uint8_t **out,
    size_t *len, char **cause)
{
	struct tflite_write_graph	 g;
	struct dense			*d;
	size_t				 nb = 0, wmax = 0;
	float				 in_scale;
	int32_t				 gin = 0, gout;
	int				 k, rc;

	if (check_dense(dm, cause) == -1)
		return (-1);
	for (k = 0; k < dm->nlayers; k++) {
		nb += (size_t)dm->layers[k].out;
		if ((size_t)dm->layers[k].out > wmax)
			wmax = (size_t)dm->layers[k].out;
	}
	if ((d = calloc(1, sizeof *d)) == NULL ||
	    (d->bscale = calloc(nb, sizeof *d->bscale)) == NULL ||
	    (d->zero = calloc(wmax, sizeof *d->zero)) == NULL) {
		if (d != NULL)
			free(d->bscale);
		free(d);
		return (te_cause(cause, "out of memory"));
	}
	d->zp[0] = dm->in_zp;
	d->t[0] = (struct tflite_write_tensor){ .name = "input", .type = 9,
	    .ndims = 2, .dims = { 1, dm->layers[0].in }, .nq = 1,
	    .scales = &dm->in_scale, .zero_points = &d->zp[0] };
	in_scale = dm->in_scale;
	nb = 0;
	for (k = 0; k < dm->nlayers; k++) {
		dense_layer(d, dm, k, in_scale, d->bscale + nb);
		nb += (size_t)dm->layers[k].out;
		in_scale = dm->layers[k].out_scale;
	}
	gout = 3 * dm->nlayers;
	memset(&g, 0, sizeof g);
	g.tensors = d->t;
	g.ntensors = 1 + 3 * dm->nlayers;
	g.ops = d->op;
	g.nops = dm->nlayers;
	g.inputs = &gin;
	g.ninputs = 1;
	g.outputs = &gout;
	g.noutputs = 1;
	g.meta = dm->meta;
	g.nmeta = dm->nmeta;
	g.description = dm->description;
	rc = tflite_write(&g, out, len, cause);
	free(d->zero);
	free(d->bscale);
	free(d);
	return (rc);
}
