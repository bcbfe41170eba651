/*
 * fuzz_fl_update.c - libFuzzer target for the federated-learning update
 * parser (fl_update_parse, SPEC section 10) and the parsers that share its
 * conventions (the head layout, the validation file).  The first two bytes
 * pick a small head shape (1 to 4 rows, 1 to 8 cols) so that well-formed
 * updates are reachable; the rest is the update.  Every call must either
 * fail with a one-line cause or give a parse whose invariants hold; an
 * accepted update is aggregated onto a zero head, which must stay finite.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn/fl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A failed parse must leave a one-line cause. */
static void
check_cause(char *cause)
{
	if (cause == NULL || strchr(cause, '\n') != NULL)
		abort();
	free(cause);
}

/* Aggregate an accepted update (twice, clipped) onto a zero head. */
static void
check_agg(const struct fl_update *u, uint32_t rows, uint32_t cols)
{
	struct fl_agg	*a = fl_agg_new(rows, cols, 1.0, 5);
	float		 w[32] = { 0 }, b[4] = { 0 };
	struct fl_head	 h = { rows, cols, w, b }, n;
	size_t		 i;

	if (a == NULL || fl_agg_add(a, u) != 0 || fl_agg_add(a, u) != 0 ||
	    fl_agg_count(a) != 2 || fl_agg_apply(a, &h, &n) != 0)
		abort();
	/* clipped to norm 1, the mean of two equal deltas stays within 1 */
	for (i = 0; i < (size_t)rows * cols + rows; i++) {
		float	v = i < (size_t)rows * cols ? n.w[i] :
		    n.b[i - (size_t)rows * cols];

		if (!isfinite(v) || fabsf(v) > 1.0001f)
			abort();
	}
	fl_head_free(&n);
	fl_agg_free(a);
}

/* One input: parse as an update, a head and a validation file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_update	 u;
	struct fl_head		 h;
	struct fl_val		 v;
	uint32_t		 rows, cols;
	char			*cause = NULL;

	if (size < 2)
		return (0);
	rows = 1 + data[0] % 4;
	cols = 1 + data[1] % 8;
	data += 2;
	size -= 2;
	if (fl_update_parse(data, size, rows, cols, &u, &cause) == 0) {
		if (u.samples == 0 || u.delta != data + FL_UPDATE_HEADER ||
		    size != FL_UPDATE_HEADER + 4 * ((size_t)rows * cols + rows))
			abort();
		check_agg(&u, rows, cols);
	} else
		check_cause(cause);
	cause = NULL;
	if (fl_head_parse(data, size, rows, cols, &h, &cause) == 0) {
		if (fl_head_size(&h) != size)
			abort();
		fl_head_free(&h);
	} else
		check_cause(cause);
	cause = NULL;
	if (fl_val_parse(data, size, rows, cols, &v, &cause) == 0) {
		float		 w[32] = { 0 }, b[4] = { 0 };
		struct fl_head	 z = { rows, cols, w, b };
		double		 acc = fl_val_accuracy(&z, &v);

		if (v.n == 0 || !(acc >= 0 && acc <= 1))
			abort();
		fl_val_free(&v);
	} else
		check_cause(cause);
	return (0);
}
