/*
 * fuzz_summary_record.c - libFuzzer target for the record of open events
 * (summary_record.c), which the daemon reads back from its database at
 * start.  Whatever the decoder accepts must encode again to the very same
 * bytes (it checks everything before handing anything out, and there is
 * one encoding of each record); a refusal must come with a cause and hand
 * nothing out.  Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "summary_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct summary_buf	fz_out;
static int			fz_seen;

/* Re-encode each event handed out. */
static void
fz_event(const struct summary_rec *r, void *arg)
{
	(void)arg;
	summary_record_add(&fz_out, r);
	fz_seen++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*cause = NULL;
	int	 n;

	summary_record_begin(&fz_out);
	fz_seen = 0;
	n = summary_record_parse(data, size, fz_event, NULL, &cause);
	if (n < 0) {
		if (cause == NULL || fz_seen != 0)
			abort();
		free(cause);
		return (0);
	}
	/* NaN scores are refused, so the bits compare as well as the values. */
	if (n != fz_seen || fz_out.len != size ||
	    memcmp(fz_out.data, data, size) != 0)
		abort();
	return (0);
}
