/*
 * fuzz_tier2_labels.c - libFuzzer target for the tier-2 labels file parser
 * (tier2_model_labels_parse): any bytes give labels or a one-line error,
 * never a crash; every label returned is 1 to 64 bytes without control
 * characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tier2_model.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One input: parse, check the invariants, free. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	**labels, *cause = NULL;
	size_t	  n, i, j, len;

	if (tier2_model_labels_parse((const char *)data, size, &labels, &n,
	    &cause) != 0) {
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		return (0);
	}
	if (n == 0)
		abort();
	for (i = 0; i < n; i++) {
		len = strlen(labels[i]);
		if (len == 0 || len > TIER2_MODEL_LABEL_MAX)
			abort();
		for (j = 0; j < len; j++) {
			if ((unsigned char)labels[i][j] < 0x20)
				abort();
		}
	}
	tier2_model_labels_free(labels, n);
	return (0);
}
