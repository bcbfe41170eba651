/*
 * fuzz_senml.c - libFuzzer target for SenML packs (message_parse_senml):
 * the first byte's low bit picks senml+cbor (1) or senml+json (0), the
 * rest is the pack.  A parse must succeed with resolved records (each
 * named, times absolute) whose stored body reads back through
 * message_parse_stored() as the same records and body, or fail with a
 * diagnostic; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

#define FUZZ_NOW_MS	INT64_C(1750000000000)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort unless m's records are resolved and read back the same. */
static void
check_pack(const struct message *m)
{
	struct message	*r = NULL;
	char		*cause = NULL;
	size_t		 i;

	if (m->type != MESSAGE_SENML || m->body == NULL || m->nsenml == 0 ||
	    m->nsenml > MESSAGE_SENML_RECORDS_MAX)
		abort();
	for (i = 0; i < m->nsenml; i++) {
		if (m->senml[i].name[0] == '\0' || m->senml[i].t_ms < 0)
			abort();
	}
	if (message_parse_stored(STORE_KIND_SENML, m->node, m->body,
	    m->body_len, &r, &cause) != 0)
		abort();
	if (r->nsenml != m->nsenml || r->body_len != m->body_len ||
	    memcmp(r->body, m->body, m->body_len) != 0)
		abort();
	for (i = 0; i < m->nsenml; i++) {
		if (strcmp(r->senml[i].name, m->senml[i].name) != 0 ||
		    r->senml[i].has_v != m->senml[i].has_v ||
		    r->senml[i].t_ms != m->senml[i].t_ms)
			abort();
	}
	message_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message	*m = NULL;
	char		*cause = NULL;
	int		 rc;

	if (size < 1)
		return (0);
	rc = message_parse_senml("n1", data[0] & 1, data + 1, size - 1,
	    FUZZ_NOW_MS, &m, &cause);
	if (rc == 0) {
		if (m == NULL || cause != NULL)
			abort();
		check_pack(m);
	} else if (m != NULL || cause == NULL || *cause == '\0')
		abort();
	message_free(m);
	free(cause);
	return (0);
}
