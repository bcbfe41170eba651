/*
 * fuzz_learn_rec.c - libFuzzer target for the learn module's records
 * (learn_rec.c), which the daemon reads back from its database at start:
 * the key, the status record (JSON) and a window record.  The first byte
 * picks the parser.  An accepted key must build again to the same text;
 * an accepted status must encode and parse again to the same fields; a
 * refused one must come with a cause; an accepted window has only finite
 * values and encodes back to the same bytes.  Nothing may crash or leak.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A key: parse, build again, compare. */
static void
fz_key(const uint8_t *data, size_t size)
{
	struct learn_key	k;
	char			in[LEARN_KEY_MAX * 2], out[LEARN_KEY_MAX];

	if (size >= sizeof in)
		return;
	memcpy(in, data, size);
	in[size] = '\0';
	if (learn_key_parse(in, &k) != 0)
		return;
	learn_key(out, sizeof out, k.sect, k.node, k.kind, k.index);
	if (strcmp(in, out) != 0)
		abort();
}

/* A status record: parse, encode, parse again to the same fields. */
static void
fz_state(const uint8_t *data, size_t size)
{
	struct learn_node	a, b;
	char			*cause = NULL, *s;

	memset(&a, 0, sizeof a);
	if (learn_state_parse(data, size, &a, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	s = learn_state_encode(&a);
	memset(&b, 0, sizeof b);
	if (learn_state_parse(s, strlen(s), &b, &cause) != 0)
		abort();
	if (a.state != b.state || a.dim != b.dim || a.frames != b.frames ||
	    a.axes != b.axes || a.interval_us != b.interval_us ||
	    a.trainings != b.trainings || strcmp(a.reason, b.reason) != 0 ||
	    strcmp(a.sha256, b.sha256) != 0)
		abort();
	free(s);
}

/* A window record of size / 4 values. */
static void
fz_window(const uint8_t *data, size_t size)
{
	float		 f[LEARN_DIM_MAX];
	uint8_t		 back[LEARN_DIM_MAX * 4];
	uint32_t	 dim = (uint32_t)(size / 4), i;

	if (dim == 0 || dim > LEARN_DIM_MAX ||
	    learn_window_decode(data, size, dim, f) != 0)
		return;
	for (i = 0; i < dim; i++) {
		if (!isfinite(f[i]))
			abort();
	}
	learn_window_encode(f, dim, back);
	if (memcmp(back, data, size) != 0)
		abort();
}

/* libFuzzer's entry: the first byte picks the parser. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return (0);
	switch (data[0] % 3) {
	case 0:
		fz_key(data + 1, size - 1);
		break;
	case 1:
		fz_state(data + 1, size - 1);
		break;
	default:
		fz_window(data + 1, size - 1);
		break;
	}
	return (0);
}
