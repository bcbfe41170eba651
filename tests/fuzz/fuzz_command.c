/*
 * fuzz_command.c - libFuzzer target for the command parser
 * (command_parse): the input is a topic and a payload split at the first
 * NUL byte (no NUL: all topic, empty payload); a last byte of 0xff asks
 * for the uplink's over-limit marker instead of the payload.  Any input
 * gives a command or an error text, never a crash; an id, when read, is
 * of the allowed bytes and length, and a good command has a known verb.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command_int.h"

#define FUZZ_MAX	4096	/* command_max for the run */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One input: split, parse, check the invariants, free. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct command_req	 r;
	const uint8_t		*nul;
	char			*topic, err[256];
	const void		*payload = NULL;
	size_t			 tlen = size, plen = 0, i;
	int			 rc;

	if ((nul = memchr(data, '\0', size)) != NULL) {
		tlen = (size_t)(nul - data);
		payload = nul + 1;
		plen = size - tlen - 1;
		if (plen > 0 && data[size - 1] == 0xff) {
			payload = NULL;
			plen = SIZE_MAX;
		}
	}
	if ((topic = malloc(tlen + 1)) == NULL)
		return (0);
	memcpy(topic, data, tlen);
	topic[tlen] = '\0';
	err[0] = '\0';
	rc = command_parse(topic, payload, plen, FUZZ_MAX, &r, err,
	    sizeof err);
	if (rc != 0 && (err[0] == '\0' || strchr(err, '\n') != NULL))
		abort();
	if (rc == 0 && r.verb == COMMAND_NONE)
		abort();
	if (r.id[0] != '\0') {
		if (strlen(r.id) > COMMAND_RID_MAX)
			abort();
		for (i = 0; r.id[i] != '\0'; i++)
			if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
			    "RSTUVWXYZ0123456789_.:-", r.id[i]) == NULL)
				abort();
	}
	command_req_free(&r);
	free(topic);
	return (0);
}
