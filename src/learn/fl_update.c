/*
 * fl_update.c - a node's update (SPEC section 10) and the aggregation of a
 * round's updates into a new head.
 *
 * An update is a 44-byte header (magic "FL", version 1, dtype 3 = float32,
 * round, the base head's sha256, samples > 0) and exactly rows x cols + rows
 * finite float32 little-endian values: a delta laid out like the head.
 * Every other input is rejected with the reason (the daemon answers 4.00
 * with it); the round and base are the daemon's to compare.
 *
 * The aggregator keeps the weighted sum of the deltas and of the weights in
 * double: each delta is scaled by min(1, clip_norm / ||delta||2) when
 * clip_norm > 0 (the norm over weights and biases together), weighted by
 * samples or min(samples, max_weight) when max_weight > 0, and the new head
 * is head + sum(w * delta) / sum(w), stored as float32.  It sums whatever
 * it is given: replacing a node's earlier update in a round is the
 * daemon's business (it rebuilds the sum from the updates it keeps).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl.h"
#include "fl_int.h"

/* A round's running sums. */
struct fl_agg {
	uint32_t	 rows;
	uint32_t	 cols;
	double		 clip_norm;	/* <= 0: no clipping */
	double		 max_weight;	/* <= 0: weight = samples */
	double		*sum;		/* sum of w * delta, rows*cols + rows */
	double		 wsum;		/* sum of w */
	uint32_t	 count;
	uint64_t	 samples;
};

/* Parse update buf (len bytes) for a rows x cols head. */
int
fl_update_parse(const uint8_t *buf, size_t len, uint32_t rows, uint32_t cols,
    struct fl_update *u, char **cause)
{
	uint64_t	 n = (uint64_t)rows * cols + rows;
	size_t		 i;
	float		 v;

	memset(u, 0, sizeof *u);
	if (rows == 0 || cols == 0 || n > FL_MAX_VALUES)
		return (lu_fail(cause, "bad head shape %ux%u", rows, cols));
	if (len < FL_UPDATE_HEADER)
		return (lu_fail(cause, "update of %zu bytes is shorter than "
		    "its %d-byte header", len, FL_UPDATE_HEADER));
	if (buf[0] != 'F' || buf[1] != 'L')
		return (lu_fail(cause, "update: bad magic (not \"FL\")"));
	if (buf[2] != 1)
		return (lu_fail(cause, "update: version %u, expected 1",
		    buf[2]));
	if (buf[3] != 3)
		return (lu_fail(cause, "update: dtype %u, expected 3 "
		    "(float32)", buf[3]));
	u->round = lu_rd32(buf + 4);
	memcpy(u->base, buf + 8, sizeof u->base);
	u->samples = lu_rd32(buf + 40);
	if (u->samples == 0)
		return (lu_fail(cause, "update: samples is 0"));
	if (len - FL_UPDATE_HEADER != 4 * n)
		return (lu_fail(cause, "update: delta of %zu bytes, a %ux%u "
		    "head needs %llu", len - FL_UPDATE_HEADER, rows, cols,
		    (unsigned long long)(4 * n)));
	for (i = 0; i < n; i++) {
		v = lu_rdf(buf + FL_UPDATE_HEADER + 4 * i);
		if (!isfinite(v))
			return (lu_fail(cause, "update: delta value %zu is "
			    "%s", i, isnan(v) ? "NaN" : "infinite"));
	}
	u->delta = buf + FL_UPDATE_HEADER;
	return (0);
}

/* A new aggregator for rows x cols heads (NULL if out of memory). */
struct fl_agg *
fl_agg_new(uint32_t rows, uint32_t cols, double clip_norm, double max_weight)
{
	struct fl_agg	*a;
	size_t		 n = (size_t)rows * cols + rows;

	if (rows == 0 || cols == 0 || (uint64_t)rows * cols + rows >
	    FL_MAX_VALUES)
		return (NULL);
	if ((a = calloc(1, sizeof *a)) == NULL)
		return (NULL);
	if ((a->sum = calloc(n, sizeof *a->sum)) == NULL) {
		free(a);
		return (NULL);
	}
	a->rows = rows;
	a->cols = cols;
	a->clip_norm = clip_norm;
	a->max_weight = max_weight;
	return (a);
}

/*
 * Add a parsed update (fl_update_parse() with the aggregator's shape);
 * -1 only for an update no parse would give (samples 0, a value not finite).
 */
int
fl_agg_add(struct fl_agg *a, const struct fl_update *u)
{
	size_t	 i, n = (size_t)a->rows * a->cols + a->rows;
	double	 norm = 0, scale = 1, w, v;

	if (u->samples == 0 || u->delta == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		v = lu_rdf(u->delta + 4 * i);
		if (!isfinite(v))
			return (-1);
		norm += v * v;
	}
	norm = sqrt(norm);
	if (a->clip_norm > 0 && norm > a->clip_norm)
		scale = a->clip_norm / norm;
	w = u->samples;
	if (a->max_weight > 0 && w > a->max_weight)
		w = a->max_weight;
	for (i = 0; i < n; i++)
		a->sum[i] += w * scale * lu_rdf(u->delta + 4 * i);
	a->wsum += w;
	a->count++;
	a->samples += u->samples;
	return (0);
}

/* Updates added. */
uint32_t
fl_agg_count(const struct fl_agg *a)
{
	return (a->count);
}

/* Sum of the updates' samples (before any weight cap). */
uint64_t
fl_agg_samples(const struct fl_agg *a)
{
	return (a->samples);
}

/*
 * The new head: head + sum(w * delta) / sum(w) into out (freed with
 * fl_head_free()); -1 with no update, another shape, a value that does not
 * fit a float, or out of memory.
 */
int
fl_agg_apply(const struct fl_agg *a, const struct fl_head *h,
    struct fl_head *out)
{
	size_t	 i, n = (size_t)a->rows * a->cols;
	double	 v;

	memset(out, 0, sizeof *out);
	if (a->count == 0 || !(a->wsum > 0) || h->rows != a->rows ||
	    h->cols != a->cols)
		return (-1);
	out->w = malloc(n * sizeof *out->w);
	out->b = malloc((size_t)a->rows * sizeof *out->b);
	if (out->w == NULL || out->b == NULL) {
		fl_head_free(out);
		return (-1);
	}
	out->rows = a->rows;
	out->cols = a->cols;
	for (i = 0; i < n + a->rows; i++) {
		v = (i < n ? h->w[i] : h->b[i - n]) + a->sum[i] / a->wsum;
		if (!isfinite((float)v)) {
			fl_head_free(out);
			return (-1);
		}
		if (i < n)
			out->w[i] = (float)v;
		else
			out->b[i - n] = (float)v;
	}
	return (0);
}

/* Free an aggregator. */
void
fl_agg_free(struct fl_agg *a)
{
	if (a == NULL)
		return;
	free(a->sum);
	free(a);
}
