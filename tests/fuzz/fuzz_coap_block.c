/*
 * fuzz_coap_block.c - libFuzzer target for Block1 reassembly
 * (ingest_coap_block.c): the input is a sequence of 6-byte block puts
 * (peer, Request-Tag, block number, more/szx, length, time step) against
 * a small body limit, with housekeeping checks in between.  Nothing may
 * crash or leak; a finished body is never over the limit, is as long as
 * the blocks before its last one plus that one, and the open uploads stay
 * within BLOCK_MAX.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_coap_int.h"

#define FUZZ_MAX	300	/* max_body for the run */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One input: a sequence of block puts, checked as they go. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	*tags[] = { NULL, "", "a", "b", "12345678",
				    "123456789" };
	static const char	*nodes[] = { "n1", "n2" };
	coap_address_t		 a;
	coap_block_b_t		 b;
	struct block_key	 k;
	struct upload		*u;
	enum block_step		 step;
	uint8_t			 buf[1024];
	const uint8_t		*body;
	uint64_t		 now = 1000;
	size_t			 len, blen, i;

	memset(buf, 'x', sizeof buf);
	for (i = 0; i + 6 <= size; i += 6) {
		const uint8_t	*op = data + i;

		coap_address_init(&a);
		a.size = sizeof a.addr.sin;
		a.addr.sin.sin_family = AF_INET;
		a.addr.sin.sin_addr.s_addr = htonl(0x7f000000u | (op[0] >> 4));
		a.addr.sin.sin_port = htons((uint16_t)(5000 + (op[0] & 15)));
		memset(&k, 0, sizeof k);
		k.peer = &a;
		k.node = nodes[op[1] >> 7];
		k.type = (op[1] >> 6) & 1;
		k.rtaglen = -1;
		if (tags[(op[1] & 7) % 6] != NULL) {
			k.rtag = (const uint8_t *)tags[(op[1] & 7) % 6];
			k.rtaglen = (int)strlen(tags[(op[1] & 7) % 6]);
		}
		memset(&b, 0, sizeof b);
		b.defined = 1;
		b.num = op[2] & 31;
		b.m = op[3] >> 7;
		b.szx = op[3] & 3;
		len = op[4] % 80;
		now += (uint64_t)op[5] * 500;
		if (op[5] == 255) {
			ingest_coap_block_check(now);
			continue;
		}
		step = ingest_coap_block_put(&k, (op[3] >> 4) & 1 ?
		    COAP_CF_OCTETS : COAP_CF_JSON, &b, buf, len, FUZZ_MAX,
		    now, &u);
		if (ingest_coap_block_count() > BLOCK_MAX)
			abort();
		if (step == BLOCK_DONE) {
			body = ingest_coap_block_body(u, &blen);
			if (body == NULL || blen > FUZZ_MAX ||
			    blen != ((size_t)b.num << (b.szx + 4)) + len)
				abort();
			ingest_coap_block_done(u, (op[3] & 64) ? 0 :
			    COAP_RESPONSE_CODE_CHANGED);
		} else if (step == BLOCK_REPEAT && u == NULL)
			abort();
		else if (step != BLOCK_DONE && step != BLOCK_REPEAT &&
		    u != NULL)
			abort();
	}
	ingest_coap_block_clear();
	if (ingest_coap_block_count() != 0)
		abort();
	return (0);
}
