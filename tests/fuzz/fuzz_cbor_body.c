/*
 * fuzz_cbor_body.c - libFuzzer target for CBOR bodies (content-format 60,
 * message_parse_cbor): the first byte % 3 picks inference, window or
 * heartbeat, the rest is the body.  A parse must succeed with a message
 * whose stored body (compact JSON) reads back through
 * message_parse_stored() as the same message (the score to 1e-12: cJSON
 * prints 15 digits when they read back nearly equal), or fail with a diagnostic;
 * nothing may crash or leak.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort unless m's stored body reads back as the same message. */
static void
check_read_back(const struct message *m)
{
	struct message	*r = NULL;
	char		*cause = NULL;

	if (m->body == NULL || m->body_len == 0 || m->body[0] != '{')
		abort();
	if (message_parse_stored(message_store_kind(m->type), m->node,
	    m->body, m->body_len, &r, &cause) != 0)
		abort();
	/* cJSON prints 15 digits when they read back nearly equal. */
	if (r->type != m->type || r->seq != m->seq || r->boot != m->boot ||
	    r->has_result != m->has_result ||
	    fabs(r->score - m->score) > 1e-12 * fabs(m->score) ||
	    strcmp(r->label, m->label) != 0 || r->frames != m->frames ||
	    r->axes != m->axes)
		abort();
	if (m->values != NULL && memcmp(r->values, m->values,
	    (size_t)m->frames * m->axes * sizeof *m->values) != 0)
		abort();
	message_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum message_type types[] = { MESSAGE_INFERENCE,
	    MESSAGE_WINDOW, MESSAGE_HEARTBEAT };
	struct message	*m = NULL;
	char		*cause = NULL;
	int		 rc;

	if (size < 1)
		return (0);
	rc = message_parse_cbor(types[data[0] % 3], "n1", data + 1, size - 1,
	    &m, &cause);
	if (rc == 0) {
		if (m == NULL || cause != NULL)
			abort();
		check_read_back(m);
	} else if (m != NULL || cause == NULL || *cause == '\0')
		abort();
	message_free(m);
	free(cause);
	return (0);
}
