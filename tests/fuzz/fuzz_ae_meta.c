/*
 * fuzz_ae_meta.c - libFuzzer target for the autoencoder's metadata entry
 * parser (ae_meta_parse, src/learn/ae.h), the bytes a .tflite file
 * carries next to a learned model.  Every call must either fail with a
 * one-line cause and nothing allocated, or give a parse whose fields hold
 * the documented bounds; an accepted entry must encode back to the very
 * same bytes and score a window to a finite or NaN-free error.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn/ae.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Check an accepted entry's fields, round trip and error. */
static void
check_ok(const uint8_t *data, size_t size, struct ae_meta *m)
{
	uint8_t		*buf;
	size_t		 len;
	float		*x;
	uint32_t	 i;

	if (m->dim == 0 || m->dim > AE_MAX_DIM || !isfinite(m->threshold) ||
	    m->threshold < 0 || strlen(m->kind) == 0 ||
	    strlen(m->kind) > AE_KIND_MAX || m->input > AE_INPUT_RAW)
		abort();
	for (i = 0; i < m->dim; i++) {
		if (!isfinite(m->mean[i]) || !(m->std[i] > 0) ||
		    !isfinite(m->std[i]))
			abort();
	}
	if (ae_meta_encode(m, &buf, &len, NULL) != 0 || len != size ||
	    memcmp(buf, data, len) != 0)
		abort();
	free(buf);
	/* the mean window reconstructed as 0 has error 0 */
	if ((x = calloc(m->dim, sizeof *x)) == NULL)
		abort();
	if (ae_error(m, m->mean, x) != 0)
		abort();
	free(x);
}

/* One input: the entry's bytes. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ae_meta	 m;
	char		*cause = NULL;

	if (ae_meta_parse(data, size, &m, &cause) != 0) {
		if (cause == NULL || strchr(cause, '\n') != NULL ||
		    m.mean != NULL || m.std != NULL)
			abort();
		free(cause);
		return (0);
	}
	check_ok(data, size, &m);
	ae_meta_free(&m);
	return (0);
}
