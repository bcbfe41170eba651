/*
 * fuzz_coap_path.c - libFuzzer target for what a CoAP request asks for
 * (ingest_coap_path.c): the input's first 8 bytes are a Block2 request
 * (size, asked, num, szx, room), the rest a path and, after a NUL, a
 * query.  Nothing may crash; a routed id is valid and NUL-terminated, and
 * a slice never reaches past the body nor exceeds its block size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_coap_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One input: a route, a model query and a Block2 slice, checked. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coap_route	 r;
	struct coap_block2	 s;
	char			 v[MODELS_VERSION_MAX + 1];
	const uint8_t		*nul;
	size_t			 body, room, plen;
	uint32_t		 num;

	if (size < 8)
		return (0);
	body = (size_t)data[0] << 16 | (size_t)data[1] << 8 | data[2];
	num = ((uint32_t)data[3] << 16 | (uint32_t)data[4] << 8 | data[5]) &
	    0xfffff;
	room = (size_t)data[6] << 4;
	if (ingest_coap_path_block2(body, data[7] & 1, num, (data[7] >> 1) & 7,
	    room, &s) == 0) {
		if (s.offset + s.len > body || s.len > ((size_t)16 << s.szx) ||
		    s.szx > COAP_BLOCK2_SZX)
			abort();
		if (s.more != (s.offset + s.len < body))
			abort();
	}
	data += 8;
	size -= 8;
	nul = memchr(data, '\0', size);
	plen = nul != NULL ? (size_t)(nul - data) : size;
	ingest_coap_path_route(data, plen, &r);
	if (strlen(r.node) > MESSAGE_NODE_MAX ||
	    strlen(r.model) > MODELS_NAME_MAX)
		abort();
	if (nul != NULL && ingest_coap_path_version(nul + 1,
	    size - plen - 1, v) == 0 && strlen(v) > MODELS_VERSION_MAX)
		abort();
	return (0);
}
