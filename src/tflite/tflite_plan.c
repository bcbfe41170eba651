/* tflite_plan.c - the tensor arena planner.
 *
 * Every activation tensor lives from the first to the last operator that
 * touches it (graph inputs from before the first operator, graph outputs
 * until after the last, variables for the whole run); every operator's
 * scratch buffer lives during that operator only.  Blocks are placed
 * greedily, largest first, at the lowest offset that does not overlap a
 * block already placed whose lifetime intersects theirs.  Two tensors used
 * by the same operator always overlap in time, so an operator's inputs,
 * outputs and scratch never share memory.  The arena is allocated once.
 */
#include "tflite/tflite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARENA_BYTES ((size_t)1 << 30)
#define ARENA_ALIGN 64

/* One block for the planner: a tensor or an operator's scratch. */
struct block {
	size_t size;
	int first, last;
	size_t *off;
};

/* Order blocks by decreasing size (ties by first use) for greedy placement. */
static int block_cmp(const void *a, const void *b)
{
	const struct block *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->first - y->first;
}

/* Order placed blocks by offset. */
static int off_cmp(const void *a, const void *b)
{
	const struct block *x = *(const struct block *const *)a;
	const struct block *y = *(const struct block *const *)b;
	return *x->off < *y->off ? -1 : *x->off > *y->off;
}

/*
 * Lifetimes: [first, last] over every operator touching a tensor; graph
 * inputs from before the first operator (-1), outputs until after the
 * last (nops), variables for the whole run.
 */
static void plan_lifetimes(struct te_tensor *t, size_t nt,
			   const struct te_op *ops, int nops,
			   const int32_t *inputs, int nin,
			   const int32_t *outputs, int nout)
{
	for (int i = 0; i < nops; i++) {
		const struct te_op *op = &ops[i];
		for (int k = 0; k < op->nin + op->nout; k++) {
			int32_t ti = k < op->nin ? op->in[k] : op->out[k - op->nin];
			if (ti < 0)
				continue;
			if (t[ti].first == -2 || t[ti].first > i)
				t[ti].first = i;
			if (t[ti].last < i)
				t[ti].last = i;
		}
	}
	for (int i = 0; i < nin; i++) {
		t[inputs[i]].first = -1;
		if (t[inputs[i]].last < -1)
			t[inputs[i]].last = -1;
	}
	for (int i = 0; i < nout; i++) {
		if (t[outputs[i]].first == -2)
			t[outputs[i]].first = -1;
		t[outputs[i]].last = nops;
	}
	for (size_t i = 0; i < nt; i++)
		if (!t[i].is_const && t[i].first != -2 && t[i].is_var) {
			t[i].first = -1;
			t[i].last = nops;
		}
}

/* The blocks to place, into bl: used non-constant tensors, then scratch. */
static size_t plan_blocks(struct te_tensor *t, size_t nt, struct te_op *ops,
			  int nops, struct block *bl)
{
	size_t nb = 0;
	for (size_t i = 0; i < nt; i++) {
		if (t[i].is_const || t[i].first == -2)
			continue;
		bl[nb++] = (struct block){ (t[i].bytes + 15) / 16 * 16,
					   t[i].first, t[i].last, &t[i].off };
	}
	for (int i = 0; i < nops; i++)
		if (ops[i].scratch)
			bl[nb++] = (struct block){ (ops[i].scratch + 15) / 16 * 16,
						   i, i, &ops[i].scratch_off };
	return nb;
}

/*
 * Place the blocks, largest first, each at the lowest offset clear of the
 * placed blocks whose lifetimes meet its own.  placed has room for 2 * nb:
 * the blocks placed so far, then those of them overlapping in time.
 * The arena size goes to *total; -1 past MAX_ARENA_BYTES.
 */
static int plan_place(struct block *bl, size_t nb, struct block **placed,
		      size_t *total, char *err, size_t errlen)
{
	size_t np = 0;
	*total = 0;
	qsort(bl, nb, sizeof *bl, block_cmp);
	for (size_t i = 0; i < nb; i++) {
		/* lowest gap among time-overlapping placed blocks */
		size_t nov = 0;
		for (size_t j = 0; j < np; j++)
			if (placed[j]->first <= bl[i].last &&
			    bl[i].first <= placed[j]->last)
				placed[np + nov++] = placed[j];
		qsort(placed + np, nov, sizeof *placed, off_cmp);
		size_t off = 0;
		for (size_t j = 0; j < nov; j++) {
			struct block *o = placed[np + j];
			if (off + bl[i].size <= *o->off)
				break;
			if (*o->off + o->size > off)
				off = *o->off + o->size;
		}
		*bl[i].off = off;
		placed[np++] = &bl[i];
		if (off + bl[i].size > *total)
			*total = off + bl[i].size;
		if (*total > MAX_ARENA_BYTES) {
			snprintf(err, errlen, "arena would exceed %zu bytes",
				 MAX_ARENA_BYTES);
			return -1;
		}
	}
	return 0;
}

/* Compute lifetimes and give every non-constant block an arena offset. */
int te_plan_arena(struct te_tensor *tensors, size_t nt, struct te_op *ops,
		  int nops, const int32_t *inputs, int nin,
		  const int32_t *outputs, int nout, uint8_t **arena,
		  size_t *arena_bytes, char *err, size_t errlen)
{
	size_t max = nt + (size_t)nops + 1, nb, total;
	int rc;
	plan_lifetimes(tensors, nt, ops, nops, inputs, nin, outputs, nout);
	struct block *bl = calloc(max, sizeof *bl);
	struct block **placed = calloc(2 * max, sizeof *placed);
	if (!bl || !placed) {
		free(bl);
		free(placed);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nb = plan_blocks(tensors, nt, ops, nops, bl);
	rc = plan_place(bl, nb, placed, &total, err, errlen);
	free(bl);
	free(placed);
	if (rc < 0)
		return -1;
	*arena_bytes = total;
	*arena = aligned_alloc(ARENA_ALIGN, total ? (total + 63) / 64 * 64 : 64);
	if (!*arena) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(*arena, 0, total ? (total + 63) / 64 * 64 : 64);
	for (size_t i = 0; i < nt; i++) {
		struct te_tensor *t = &tensors[i];
		if (!t->is_const && t->first != -2)
			t->data = *arena + t->off;
	}
	return 0;
}
