/*
 * fl_val.c - the validation gate's examples and the accuracy of a head on
 * them (docs/federated.md has the file format).
 *
 * A validation file holds head inputs (the features the frozen part of the
 * model gives the head) with their labels: a 12-byte header (magic "FV",
 * version 1, dtype 3 = float32, cols, n) then n records of a uint32 label
 * and cols float32 values, all little-endian.  The accuracy is that of
 * argmax(W x + b), the float path of a FULLY_CONNECTED layer (the
 * activation and any softmax after it do not change the argmax).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl.h"
#include "fl_int.h"

/* Parse a validation file for a rows x cols head. */
int
fl_val_parse(const uint8_t *buf, size_t len, uint32_t rows, uint32_t cols,
    struct fl_val *v, char **cause)
{
	uint32_t	 n, fc, i, j;
	const uint8_t	*p;
	float		 x;

	memset(v, 0, sizeof *v);
	if (len < FL_VAL_HEADER)
		return (lu_fail(cause, "validation file of %zu bytes is "
		    "shorter than its header", len));
	if (buf[0] != 'F' || buf[1] != 'V')
		return (lu_fail(cause, "validation file: bad magic (not "
		    "\"FV\")"));
	if (buf[2] != 1 || buf[3] != 3)
		return (lu_fail(cause, "validation file: version %u dtype %u, "
		    "expected 1 and 3", buf[2], buf[3]));
	fc = lu_rd32(buf + 4);
	n = lu_rd32(buf + 8);
	if (fc != cols)
		return (lu_fail(cause, "validation file: %u inputs, the head "
		    "has %u", fc, cols));
	if (n == 0 || n > FL_VAL_MAX_N)
		return (lu_fail(cause, "validation file: %u examples (1 to %u)",
		    n, FL_VAL_MAX_N));
	if (cols == 0 || (uint64_t)n * cols > FL_VAL_MAX_VALUES)
		return (lu_fail(cause, "validation file: %u x %u values is "
		    "more than %u", n, cols, FL_VAL_MAX_VALUES));
	if (len - FL_VAL_HEADER != (uint64_t)n * (4 + 4 * (uint64_t)cols))
		return (lu_fail(cause, "validation file: %zu bytes of "
		    "records, %u of %u inputs need %llu", len - FL_VAL_HEADER,
		    n, cols, (unsigned long long)n * (4 + 4 *
		    (unsigned long long)cols)));
	v->x = malloc((size_t)n * cols * sizeof *v->x);
	v->label = malloc((size_t)n * sizeof *v->label);
	if (v->x == NULL || v->label == NULL) {
		fl_val_free(v);
		return (lu_fail(cause, "out of memory for the validation "
		    "file"));
	}
	p = buf + FL_VAL_HEADER;
	for (i = 0; i < n; i++, p += 4 + 4 * (size_t)cols) {
		if ((v->label[i] = lu_rd32(p)) >= rows) {
			fl_val_free(v);
			return (lu_fail(cause, "validation file: example %u: "
			    "label %u, the head has %u outputs", i,
			    lu_rd32(p), rows));
		}
		for (j = 0; j < cols; j++) {
			x = lu_rdf(p + 4 + 4 * (size_t)j);
			if (!isfinite(x)) {
				fl_val_free(v);
				return (lu_fail(cause, "validation file: "
				    "example %u: value %u is not finite", i,
				    j));
			}
			v->x[(size_t)i * cols + j] = x;
		}
	}
	v->n = n;
	v->cols = cols;
	return (0);
}

/*
 * Fraction of v's examples whose argmax(W x + b) is their label (the first
 * maximum on ties); -1 if the head does not take v's inputs.
 */
double
fl_val_accuracy(const struct fl_head *h, const struct fl_val *v)
{
	const float	*x;
	uint32_t	 i, r, c, best, hit = 0;
	float		 y, besty;

	if (v->n == 0 || h->cols != v->cols || h->rows == 0)
		return (-1);
	for (i = 0; i < v->n; i++) {
		x = v->x + (size_t)i * v->cols;
		best = 0;
		besty = -INFINITY;
		for (r = 0; r < h->rows; r++) {
			const float	*w = h->w + (size_t)r * h->cols;

			y = h->b[r];
			for (c = 0; c < h->cols; c++)
				y += w[c] * x[c];
			if (y > besty || r == 0) {
				besty = y;
				best = r;
			}
		}
		if (best == v->label[i])
			hit++;
	}
	return ((double)hit / v->n);
}

/* Free what a validation set holds (not the struct itself). */
void
fl_val_free(struct fl_val *v)
{
	if (v == NULL)
		return;
	free(v->x);
	free(v->label);
	v->x = NULL;
	v->label = NULL;
	v->n = v->cols = 0;
}
