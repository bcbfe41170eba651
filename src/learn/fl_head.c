/*
 * fl_head.c - a head as bytes: the layout of GET /v1/fl/{NAME}/head and of
 * the daemon's head file (SPEC section 10): rows x cols float32
 * little-endian weights, row-major, then rows float32 biases.  Also the
 * library's cause helper.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl.h"
#include "fl_int.h"

/* Free what a head holds (not the struct itself). */
void
fl_head_free(struct fl_head *h)
{
	if (h == NULL)
		return;
	free(h->w);
	free(h->b);
	h->w = h->b = NULL;
	h->rows = h->cols = 0;
}

/* Bytes of the serialized head. */
size_t
fl_head_size(const struct fl_head *h)
{
	return (4 * ((size_t)h->rows * h->cols + h->rows));
}

/* Serialize h into out, which holds fl_head_size(h) bytes. */
void
fl_head_serialize(const struct fl_head *h, uint8_t *out)
{
	size_t	 i, n = (size_t)h->rows * h->cols;

	for (i = 0; i < n; i++)
		lu_wrf(out + 4 * i, h->w[i]);
	for (i = 0; i < h->rows; i++)
		lu_wrf(out + 4 * (n + i), h->b[i]);
}

/* Parse a serialized head of rows x cols; every value must be finite. */
int
fl_head_parse(const uint8_t *buf, size_t len, uint32_t rows, uint32_t cols,
    struct fl_head *h, char **cause)
{
	size_t	 i, n = (size_t)rows * cols;

	memset(h, 0, sizeof *h);
	if (rows == 0 || cols == 0 || (uint64_t)rows * cols + rows >
	    FL_MAX_VALUES)
		return (lu_fail(cause, "bad head shape %ux%u", rows, cols));
	if (len != 4 * (n + rows))
		return (lu_fail(cause, "head is %zu bytes, %ux%u needs %zu",
		    len, rows, cols, 4 * (n + rows)));
	h->w = malloc(n * sizeof *h->w);
	h->b = malloc((size_t)rows * sizeof *h->b);
	if (h->w == NULL || h->b == NULL) {
		fl_head_free(h);
		return (lu_fail(cause, "out of memory for the head"));
	}
	h->rows = rows;
	h->cols = cols;
	for (i = 0; i < n + rows; i++) {
		float	v = lu_rdf(buf + 4 * i);

		if (!isfinite(v)) {
			fl_head_free(h);
			return (lu_fail(cause, "head value %zu is not finite",
			    i));
		}
		if (i < n)
			h->w[i] = v;
		else
			h->b[i - n] = v;
	}
	return (0);
}
