/*
 * fuzz_message.c - libFuzzer target for the message parsers: a first byte
 * below 0x80 picks inference, window or heartbeat JSON or a serial line
 * (byte % 4, bit 2: a default node for lines); from 0x80 it is a stored
 * body read back with message_parse_stored(), of kind (byte >> 4) & 7
 * (kind 5 is a SenML pack; 0, 6 and 7 are no kind).  The rest is the
 * body.  A parse must succeed with a consistent message or fail with a
 * diagnostic; what a
 * parse accepts, stored as it gives it, must read back through
 * message_parse_stored() as the same message; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort unless m, parsed from kind (a store kind), is self-consistent. */
static void
check_message(const struct message *m, int kind)
{
	if (m->body == NULL)
		abort();
	if (m->type == MESSAGE_WINDOW &&
	    (m->values == NULL || m->frames == 0 || m->axes == 0))
		abort();
	if ((m->fields != NULL) != (m->type == MESSAGE_HEARTBEAT))
		abort();
	if (m->tier != (kind == STORE_KIND_TIER2 ? 2 : 1))
		abort();
	if (kind != STORE_KIND_TIER2 && message_store_kind(m->type) !=
	    (enum store_kind)kind)
		abort();
	if (kind == STORE_KIND_TIER2 && m->type != MESSAGE_INFERENCE)
		abort();
}

/* Abort unless m's stored body reads back as the same message. */
static void
check_read_back(const struct message *m, int kind)
{
	struct message	*r = NULL;
	char		*cause = NULL;

	if (message_parse_stored((enum store_kind)kind, m->node, m->body,
	    m->body_len, &r, &cause) != 0)
		abort();
	if (r->type != m->type || r->seq != m->seq || r->boot != m->boot ||
	    r->has_result != m->has_result || r->score != m->score ||
	    strcmp(r->label, m->label) != 0 || r->frames != m->frames ||
	    r->axes != m->axes || r->body_len != m->body_len ||
	    memcmp(r->body, m->body, m->body_len) != 0)
		abort();
	if (m->values != NULL && memcmp(r->values, m->values,
	    (size_t)m->frames * m->axes * sizeof *m->values) != 0)
		abort();
	message_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message	*m = NULL;
	char		*cause = NULL;
	int		 rc, kind;

	if (size < 1)
		return (0);
	if (data[0] & 0x80) {
		kind = (data[0] >> 4) & 7;
		rc = message_parse_stored((enum store_kind)kind, "n1",
		    data + 1, size - 1, &m, &cause);
	} else {
		switch (data[0] % 4) {
		case 0:
			rc = message_parse_json(MESSAGE_INFERENCE, "n1",
			    data + 1, size - 1, &m, &cause);
			break;
		case 1:
			rc = message_parse_json(MESSAGE_WINDOW, "n1",
			    data + 1, size - 1, &m, &cause);
			break;
		case 2:
			rc = message_parse_json(MESSAGE_HEARTBEAT, "n1",
			    data + 1, size - 1, &m, &cause);
			break;
		default:
			rc = message_parse_line((const char *)data + 1,
			    size - 1, (data[0] & 4) ? "dflt" : NULL, &m,
			    &cause);
			break;
		}
		kind = rc == 0 ? (int)message_store_kind(m->type) : 0;
	}
	if (rc == 0) {
		if (m == NULL || cause != NULL)
			abort();
		check_message(m, kind);
		check_read_back(m, kind);
	} else if (m != NULL || cause == NULL || *cause == '\0')
		abort();
	message_free(m);
	free(cause);
	return (0);
}
